//! Public IPv4 blocks: two addresses each, always from 127.77.0.0/16 so that no address handed out
//! leads off this machine; add and remove are synchronous.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::{Kind, Resource, ResourceState, State, Tx, network_domain};
use crate::emulator::errors::{ApiError, ApiResult, Code};

/// Addresses per block.
pub const BLOCK_SIZE: u32 = 2;
/// Where public addresses come from.
pub const PUBLIC_BASE: Ipv4Addr = Ipv4Addr::new(127, 77, 0, 0);

/// A public IPv4 block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicIpBlock {
    /// Id.
    pub id: String,
    /// Network domain id.
    pub domain_id: String,
    /// Datacenter id.
    pub datacenter_id: String,
    /// First address.
    pub base_ip: Ipv4Addr,
    /// Number of addresses.
    pub size: u32,
    /// Creation time (ms).
    pub create_ms: i64,
    /// State.
    pub state: ResourceState,
}

impl PublicIpBlock {
    /// The block's addresses.
    pub fn addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        (0..self.size).map(|i| Ipv4Addr::from(u32::from(self.base_ip) + i))
    }
    /// Whether `ip` is in the block.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let (b, i) = (u32::from(self.base_ip), u32::from(ip));
        i >= b && i < b + self.size
    }
}

/// The public addresses of domain `domain_id` not used by a NAT rule, in order.
pub fn free_addresses(st: &State, domain_id: &str) -> Vec<Ipv4Addr> {
    let used: HashSet<Ipv4Addr> = st.nat_rules.values().map(|r| r.external).collect();
    let mut blocks: Vec<&PublicIpBlock> = st
        .ip_blocks
        .values()
        .filter(|b| b.domain_id == domain_id)
        .collect();
    blocks.sort_by_key(|b| (b.create_ms, b.base_ip));
    blocks
        .iter()
        .flat_map(|b| b.addresses())
        .filter(|a| !used.contains(a))
        .collect()
}

/// Adds a block to a domain; returns its id.
pub fn add(tx: &mut Tx<'_>, domain_id: &str) -> ApiResult<String> {
    let d = network_domain::ready_for_children(tx, domain_id)?;
    let dc = d.datacenter_id.clone();
    let used: HashSet<Ipv4Addr> = tx.st().ip_blocks.values().map(|b| b.base_ip).collect();
    let base = (1..(65536 / BLOCK_SIZE))
        .map(|k| Ipv4Addr::from(u32::from(PUBLIC_BASE) + k * BLOCK_SIZE))
        .find(|a| !used.contains(a))
        .ok_or_else(|| ApiError::new(Code::OutOfResources, "No public IPv4 block is available."))?;
    let id = super::new_id();
    let b = PublicIpBlock {
        id: id.clone(),
        domain_id: domain_id.to_string(),
        datacenter_id: dc,
        base_ip: base,
        size: BLOCK_SIZE,
        create_ms: tx.now,
        state: ResourceState::Normal,
    };
    tx.put(Resource::IpBlock(b));
    Ok(id)
}

/// Removes a block; refused while NAT rules use its addresses.
pub fn remove(tx: &mut Tx<'_>, id: &str) -> ApiResult<()> {
    let b = tx
        .st()
        .ip_blocks
        .get(id)
        .ok_or_else(|| ApiError::not_found("Public IP Block", id))?;
    network_domain::ready_for_children(tx, &b.domain_id)?;
    let n = tx
        .st()
        .nat_rules
        .values()
        .filter(|r| b.contains(r.external))
        .count();
    if n > 0 {
        return Err(ApiError::new(
            Code::HasDependency,
            format!("Public IP Block {id} is used by {n} NAT rule(s)."),
        ));
    }
    tx.del(Kind::IpBlock, id);
    Ok(())
}
