//! A VLAN's data: the stored VLAN (with its reserved private addresses), what a deploy asks for,
//! its IPv6 addresses and the allocation of a free private address.

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::models::common::{Pending, ResourceState};

/// A VLAN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vlan {
    /// Id.
    pub id: String,
    /// Network domain id.
    pub domain_id: String,
    /// Datacenter id.
    pub datacenter_id: String,
    /// Name, unique in the domain.
    pub name: String,
    /// Description.
    pub description: String,
    /// Private IPv4 range.
    pub network: Ipv4Net,
    /// IPv4 gateway.
    pub gateway: Ipv4Addr,
    /// First four hextets of the VLAN's /64 (a ULA prefix, fd77:...).
    pub ipv6_prefix: String,
    /// `LOW`/`HIGH` for attached VLANs, `None` for detached.
    pub gateway_addressing: Option<String>,
    /// Creation time (ms).
    pub create_ms: i64,
    /// State.
    pub state: ResourceState,
    /// Operation under way.
    pub pending: Option<Pending>,
    /// Reserved private IPv4 addresses (address -> description): never given to a NIC.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reserved: BTreeMap<Ipv4Addr, String>,
    /// The prefix size an expandVlan under way gives the VLAN when it completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expanding_to: Option<u8>,
}

/// Gateway choice of a deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gateway {
    /// Attached VLAN, gateway at the low (base+1) or high (broadcast-1) end.
    Attached {
        /// `true` for HIGH.
        high: bool,
    },
    /// Detached VLAN with its own gateway address.
    Detached(Ipv4Addr),
}

/// What a deploy asks for.
#[derive(Debug, Clone)]
pub struct DeployVlan {
    /// Network domain id.
    pub domain_id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Base address.
    pub base: Ipv4Addr,
    /// Prefix size.
    pub prefix: u8,
    /// Gateway choice.
    pub gateway: Gateway,
    /// Name of the field holding the base address (for messages).
    pub base_field: &'static str,
}

impl Vlan {
    /// The IPv6 range address as the fixtures print it.
    pub fn ipv6_range(&self) -> String {
        format!("{}:0:0:0:0", self.ipv6_prefix)
    }
    /// The IPv6 gateway.
    pub fn ipv6_gateway(&self) -> String {
        format!("{}:0:0:0:1", self.ipv6_prefix)
    }
    /// The IPv6 address paired with a private IPv4 address.
    pub fn ipv6_for(&self, ip: Ipv4Addr) -> String {
        let o = ip.octets();
        format!(
            "{}:0:0:{:x}:{:x}",
            self.ipv6_prefix,
            u16::from_be_bytes([o[0], o[1]]),
            u16::from_be_bytes([o[2], o[3]])
        )
    }
    /// Whether `ip` may be given to a server (inside, not network/broadcast/gateway).
    pub fn is_host_address(&self, ip: Ipv4Addr) -> bool {
        self.network.contains(&ip)
            && ip != self.network.network()
            && ip != self.network.broadcast()
            && ip != self.gateway
    }
    /// `true` when the VLAN is attached (has gateway addressing).
    pub fn attached(&self) -> bool {
        self.gateway_addressing.is_some()
    }
}

/// The next free host address of `vlan` (from base+10 upwards, then base+2..base+9).
pub fn allocate(vlan: &Vlan, used: &HashSet<Ipv4Addr>) -> Option<Ipv4Addr> {
    let base = u32::from(vlan.network.network());
    let last = u32::from(vlan.network.broadcast());
    (base + 10..last)
        .chain(base + 2..(base + 10).min(last))
        .map(Ipv4Addr::from)
        .find(|a| vlan.is_host_address(*a) && !used.contains(a))
}
