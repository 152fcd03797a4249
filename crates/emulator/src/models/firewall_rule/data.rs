//! A firewall rule's data: the stored rule and its scopes, the backend's view of it, the
//! CCDEFAULT.* rules of a new domain, and what a create asks for.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::backend::FirewallRuleSpec;
use crate::models::common::{Pending, ResourceState, new_id};

/// An address side of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Scope {
    /// `None` or `Some("ANY")` for any address; else an IP address.
    pub address: Option<String>,
    /// Prefix size when the address is a network.
    pub prefix: Option<u8>,
    /// An IP address list id instead of an address.
    pub ip_address_list_id: Option<String>,
    /// Port range (`end` `None` for a single port).
    pub port: Option<(u16, Option<u16>)>,
    /// A port list id instead of a port.
    pub port_list_id: Option<String>,
}

impl Scope {
    fn any() -> Scope {
        Scope {
            address: Some("ANY".into()),
            ..Scope::default()
        }
    }
    fn any_port(port: u16) -> Scope {
        Scope {
            address: Some("ANY".into()),
            port: Some((port, None)),
            ..Scope::default()
        }
    }
}

/// A firewall rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirewallRule {
    /// Id.
    pub id: String,
    /// Network domain id.
    pub domain_id: String,
    /// Datacenter id.
    pub datacenter_id: String,
    /// `DEFAULT_RULE` or `CLIENT_RULE`.
    pub rule_type: String,
    /// Name, unique in the domain.
    pub name: String,
    /// `ACCEPT_DECISIVELY` or `DROP`.
    pub action: String,
    /// `IPV4` or `IPV6`.
    pub ip_version: String,
    /// `IP`, `TCP`, `UDP` or `ICMP`.
    pub protocol: String,
    /// Source.
    pub source: Scope,
    /// Destination.
    pub destination: Scope,
    /// Enabled.
    pub enabled: bool,
    /// Creation time (ms).
    pub create_ms: i64,
    /// State.
    pub state: ResourceState,
    /// Operation under way.
    pub pending: Option<Pending>,
    /// Its place in the domain's evaluation order: rules are evaluated by increasing key (kept in
    /// each rule, so that adding or deleting one changes that rule alone).
    #[serde(default)]
    pub order: i64,
}

impl FirewallRule {
    /// Whether this is one of the CCDEFAULT.* rules.
    pub fn is_default(&self) -> bool {
        self.rule_type == "DEFAULT_RULE"
    }

    /// The backend's view of an IPv4 rule (`None` for IPv6 rules).
    pub fn spec(&self) -> Option<FirewallRuleSpec> {
        if self.ip_version != "IPV4" {
            return None;
        }
        let d = &self.destination;
        let dest_ip = d
            .address
            .as_deref()
            .filter(|a| *a != "ANY")
            .and_then(|a| a.parse::<Ipv4Addr>().ok());
        Some(FirewallRuleSpec {
            id: self.id.clone(),
            accept: self.action == "ACCEPT_DECISIVELY",
            enabled: self.enabled,
            protocol: self.protocol.clone(),
            dest_ip,
            dest_prefix: if dest_ip.is_some() { d.prefix } else { None },
            dest_ports: d.port.map(|(b, e)| (b, e.unwrap_or(b))),
        })
    }
}

/// The gap between the order keys of rules placed one after the other.
pub const ORDER_GAP: i64 = 1 << 20;

/// The CCDEFAULT.* rules of a new domain.
pub fn default_rules(domain_id: &str, dc: &str, now: i64) -> Vec<FirewallRule> {
    let mut order = 0;
    let mut rule = |name: &str, ipv: &str, protocol: &str, dest: Scope| FirewallRule {
        id: new_id(),
        domain_id: domain_id.to_string(),
        datacenter_id: dc.to_string(),
        rule_type: "DEFAULT_RULE".into(),
        name: name.into(),
        action: "DROP".into(),
        ip_version: ipv.into(),
        protocol: protocol.into(),
        source: Scope::any(),
        destination: dest,
        enabled: true,
        create_ms: now,
        state: ResourceState::Normal,
        pending: None,
        order: {
            order += ORDER_GAP;
            order
        },
    };
    vec![
        rule(
            "CCDEFAULT.BlockOutboundMailIPv4",
            "IPV4",
            "TCP",
            Scope::any_port(25),
        ),
        rule(
            "CCDEFAULT.BlockOutboundMailIPv4Secure",
            "IPV4",
            "TCP",
            Scope::any_port(587),
        ),
        rule(
            "CCDEFAULT.BlockOutboundMailIPv6",
            "IPV6",
            "TCP",
            Scope::any_port(25),
        ),
        rule(
            "CCDEFAULT.BlockOutboundMailIPv6Secure",
            "IPV6",
            "TCP",
            Scope::any_port(587),
        ),
        rule(
            "CCDEFAULT.DenyExternalInboundIPv6",
            "IPV6",
            "IP",
            Scope::any(),
        ),
    ]
}

/// Where a new rule goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// First client rule.
    First,
    /// Last rule.
    Last,
    /// Before the named rule.
    Before(String),
    /// After the named rule.
    After(String),
}

/// What a create asks for.
#[derive(Debug, Clone)]
pub struct CreateRule {
    /// Network domain id.
    pub domain_id: String,
    /// Name.
    pub name: String,
    /// Action.
    pub action: String,
    /// IP version.
    pub ip_version: String,
    /// Protocol.
    pub protocol: String,
    /// Source.
    pub source: Scope,
    /// Destination.
    pub destination: Scope,
    /// Enabled.
    pub enabled: bool,
    /// Placement.
    pub placement: Placement,
}
