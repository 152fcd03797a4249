//! The load balancer (network domain VIP) data: pools, VIP nodes, pool members and virtual
//! listeners as stored, and the catalogue every domain offers (default health monitors,
//! persistence profiles and iRules, with the fixtures' ids).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::models::common::ResourceState;

/// A pool of members a virtual listener balances across.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pool {
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
    /// `ROUND_ROBIN`, `LEAST_CONNECTIONS_MEMBER`...
    pub load_balance_method: String,
    /// Default health monitor ids (at most two).
    pub health_monitors: Vec<String>,
    /// `NONE`, `DROP` or `RESELECT`.
    pub service_down_action: String,
    /// Seconds.
    pub slow_ramp_time: u32,
    /// Creation time (ms).
    pub create_ms: i64,
    /// State.
    pub state: ResourceState,
}

/// A VIP node: a private address pool members point at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VipNode {
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
    /// Address.
    pub ipv4: Ipv4Addr,
    /// `ENABLED`, `DISABLED` or `FORCED_OFFLINE`.
    pub status: String,
    /// Node health monitor id (ICMP).
    pub health_monitor: Option<String>,
    /// Connection limit.
    pub connection_limit: u32,
    /// Connection rate limit.
    pub connection_rate_limit: u32,
    /// Creation time (ms).
    pub create_ms: i64,
    /// State.
    pub state: ResourceState,
}

/// A pool member: a VIP node (and port) in a pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolMember {
    /// Id.
    pub id: String,
    /// Network domain id.
    pub domain_id: String,
    /// Datacenter id.
    pub datacenter_id: String,
    /// Pool id.
    pub pool_id: String,
    /// VIP node id.
    pub node_id: String,
    /// Port; `None` = the listener's port.
    pub port: Option<u16>,
    /// `ENABLED`, `DISABLED` or `FORCED_OFFLINE`.
    pub status: String,
    /// Creation time (ms).
    pub create_ms: i64,
    /// State.
    pub state: ResourceState,
}

/// A virtual listener: an address and port that balances across a pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualListener {
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
    /// `STANDARD` or `PERFORMANCE_LAYER_4`.
    pub listener_type: String,
    /// `ANY`, `TCP`, `UDP` or `HTTP`.
    pub protocol: String,
    /// Listener address (a public address of the domain, or a private one of a VLAN).
    pub ip: Ipv4Addr,
    /// Port; `None` = any port.
    pub port: Option<u16>,
    /// Enabled.
    pub enabled: bool,
    /// Connection limit.
    pub connection_limit: u32,
    /// Connection rate limit.
    pub connection_rate_limit: u32,
    /// `PRESERVE`, `PRESERVE_STRICT` or `CHANGE`.
    pub source_port_preservation: String,
    /// Pool id.
    pub pool_id: Option<String>,
    /// Client clone pool id.
    pub client_clone_pool_id: Option<String>,
    /// Persistence profile id.
    pub persistence_profile_id: Option<String>,
    /// Fallback persistence profile id.
    pub fallback_persistence_profile_id: Option<String>,
    /// iRule ids.
    pub irule_ids: Vec<String>,
    /// Creation time (ms).
    pub create_ms: i64,
    /// State.
    pub state: ResourceState,
}

/// One default health monitor: (id, name, node compatible, pool compatible).
pub type HealthMonitor = (&'static str, &'static str, bool, bool);

/// The default health monitors of every domain.
pub const HEALTH_MONITORS: &[HealthMonitor] = &[
    (
        "01683574-d487-11e4-811f-005056806999",
        "CCDEFAULT.Http",
        false,
        true,
    ),
    (
        "0168546c-d487-11e4-811f-005056806999",
        "CCDEFAULT.Https",
        false,
        true,
    ),
    (
        "0168b83a-d487-11e4-811f-005056806999",
        "CCDEFAULT.Icmp",
        true,
        false,
    ),
    (
        "01686f4b-d487-11e4-811f-005056806999",
        "CCDEFAULT.Tcp",
        false,
        true,
    ),
    (
        "0168a2f9-d487-11e4-811f-005056806999",
        "CCDEFAULT.TcpHalfOpen",
        false,
        true,
    ),
    (
        "01688878-d487-11e4-811f-005056806999",
        "CCDEFAULT.Udp",
        false,
        true,
    ),
];

/// Every (type, protocol) a listener may have.
pub const ALL_COMPAT: &[(&str, &str)] = &[
    ("PERFORMANCE_LAYER_4", "HTTP"),
    ("PERFORMANCE_LAYER_4", "TCP"),
    ("STANDARD", "UDP"),
    ("PERFORMANCE_LAYER_4", "UDP"),
    ("PERFORMANCE_LAYER_4", "ANY"),
    ("STANDARD", "TCP"),
    ("STANDARD", "ANY"),
];

const HTTP_ONLY: &[(&str, &str)] = &[("PERFORMANCE_LAYER_4", "HTTP")];
const SIP: &[(&str, &str)] = &[("STANDARD", "UDP"), ("STANDARD", "TCP")];

/// A default persistence profile or iRule: (id, name, fallback compatible, listener compatibility).
pub type Profile = (
    &'static str,
    &'static str,
    bool,
    &'static [(&'static str, &'static str)],
);

/// The default persistence profiles of every domain.
pub const PERSISTENCE_PROFILES: &[Profile] = &[
    (
        "a34ca024-f3db-11e4-b010-005056806999",
        "CCDEFAULT.Cookie",
        false,
        HTTP_ONLY,
    ),
    (
        "a34ca25c-f3db-11e4-b010-005056806999",
        "CCDEFAULT.DestinationAddress",
        true,
        ALL_COMPAT,
    ),
    (
        "a34ca4b7-f3db-11e4-b010-005056806999",
        "CCDEFAULT.Sip",
        false,
        SIP,
    ),
    (
        "a34ca3f6-f3db-11e4-b010-005056806999",
        "CCDEFAULT.SourceAddress",
        true,
        ALL_COMPAT,
    ),
];

/// The default iRules of every domain (the fallback flag is unused).
pub const IRULES: &[Profile] = &[
    (
        "2b20cb2c-ffdc-11e4-b010-005056806999",
        "CCDEFAULT.HttpsRedirect",
        false,
        HTTP_ONLY,
    ),
    (
        "2b20abd9-ffdc-11e4-b010-005056806999",
        "CCDEFAULT.IpProtocolTimers",
        false,
        ALL_COMPAT,
    ),
    (
        "2b20e790-ffdc-11e4-b010-005056806999",
        "CCDEFAULT.Ips",
        false,
        ALL_COMPAT,
    ),
    (
        "2b210846-ffdc-11e4-b010-005056806999",
        "CCDEFAULT.IpsHttp",
        false,
        HTTP_ONLY,
    ),
];

/// The name of health monitor `id`.
pub fn monitor_name(id: &str) -> &'static str {
    HEALTH_MONITORS
        .iter()
        .find(|m| m.0 == id)
        .map_or("", |m| m.1)
}

/// The name of persistence profile or iRule `id`.
pub fn profile_name(id: &str) -> &'static str {
    PERSISTENCE_PROFILES
        .iter()
        .chain(IRULES)
        .find(|p| p.0 == id)
        .map_or("", |p| p.1)
}
