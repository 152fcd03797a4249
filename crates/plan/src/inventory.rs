//! The observed [`Inventory`]: what the cloud holds for the domains a plan names, as plain data.
//!
//! These are the plan's own types, not the API client's: only what the diff and the reports read.
//! The engine observes the cloud and converts what it lists into them; tests build them by hand.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::net::Ipv4Addr;

use serde::Serialize;

/// The state of any observed resource (the API's `<state>`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(into = "String")]
pub enum State {
    /// Ready.
    Normal,
    /// Being created.
    PendingAdd,
    /// Being changed (edits, server power operations).
    PendingChange,
    /// Being deleted.
    PendingDelete,
    /// Creation failed.
    FailedAdd,
    /// A change failed.
    FailedChange,
    /// Deletion failed.
    FailedDelete,
    /// The provider must intervene.
    RequiresSupport,
    /// Anything else, kept verbatim.
    Other(String),
    /// Not reported.
    #[default]
    Unknown,
}

impl State {
    /// The wire spelling (`NORMAL`, `PENDING_ADD`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            State::Normal => "NORMAL",
            State::PendingAdd => "PENDING_ADD",
            State::PendingChange => "PENDING_CHANGE",
            State::PendingDelete => "PENDING_DELETE",
            State::FailedAdd => "FAILED_ADD",
            State::FailedChange => "FAILED_CHANGE",
            State::FailedDelete => "FAILED_DELETE",
            State::RequiresSupport => "REQUIRES_SUPPORT",
            State::Other(s) => s,
            State::Unknown => "",
        }
    }

    /// The state of a wire spelling (unknown spellings kept verbatim).
    pub fn from_wire(s: &str) -> State {
        match s.trim() {
            "NORMAL" => State::Normal,
            "PENDING_ADD" => State::PendingAdd,
            "PENDING_CHANGE" => State::PendingChange,
            "PENDING_DELETE" => State::PendingDelete,
            "FAILED_ADD" => State::FailedAdd,
            "FAILED_CHANGE" => State::FailedChange,
            "FAILED_DELETE" => State::FailedDelete,
            "REQUIRES_SUPPORT" => State::RequiresSupport,
            "" => State::Unknown,
            other => State::Other(other.to_string()),
        }
    }

    /// True for PENDING_*.
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            State::PendingAdd | State::PendingChange | State::PendingDelete
        )
    }
}

impl From<State> for String {
    fn from(s: State) -> Self {
        s.as_str().to_string()
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An observed network domain.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Domain {
    /// Id.
    pub id: String,
    /// Name (unique per location).
    pub name: String,
    /// State.
    pub state: State,
}

/// An observed VLAN.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Vlan {
    /// Id.
    pub id: String,
    /// Name (unique per domain).
    pub name: String,
    /// IPv4 base address.
    pub ipv4_base: String,
    /// IPv4 prefix length.
    pub ipv4_prefix: u8,
    /// State.
    pub state: State,
}

/// A NIC of an observed server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Nic {
    /// VLAN id.
    pub vlan_id: Option<String>,
    /// VLAN name, as the API names it.
    pub vlan_name: Option<String>,
    /// Private IPv4.
    pub private_ipv4: Option<String>,
}

/// CPU of an observed server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cpu {
    /// Number of virtual CPUs.
    pub count: u32,
    /// Cores per socket.
    pub cores_per_socket: Option<u32>,
    /// STANDARD | HIGHPERFORMANCE.
    pub speed: Option<String>,
}

/// A disk of an observed server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Disk {
    /// SCSI id.
    pub scsi_id: Option<u32>,
    /// Size in GB.
    pub size_gb: Option<u32>,
    /// Speed class.
    pub speed: Option<String>,
}

/// An observed server.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Server {
    /// Id.
    pub id: String,
    /// Name (not unique).
    pub name: String,
    /// State.
    pub state: State,
    /// Started flag.
    pub started: bool,
    /// The pending operation (`DEPLOY_SERVER`, `START_SERVER`, ...), if any.
    pub pending_action: Option<String>,
    /// CPU.
    pub cpu: Option<Cpu>,
    /// Memory.
    pub memory_gb: Option<u32>,
    /// Disks.
    pub disks: Vec<Disk>,
    /// Primary NIC.
    pub primary_nic: Option<Nic>,
    /// Primary IPv6.
    pub ipv6: Option<String>,
    /// Secondary NICs.
    pub additional_nics: Vec<Nic>,
    /// Monitoring plan, when monitoring is on.
    pub monitoring: Option<String>,
    /// Creation time (`createTime`, ISO 8601 UTC), when the API gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    /// Cloud backup, when enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<ServerBackup>,
    /// The tag keys applied to it (observed only when the plan tags servers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The version status of its VMware tools (`CURRENT`, `NEED_UPGRADE`, ...); `None` when the
    /// server has none (local nodes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_tools: Option<String>,
}

/// The cloud backup of an observed server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerBackup {
    /// `Essentials`, `Advanced` or `Enterprise`.
    pub plan: String,
    /// State.
    pub state: State,
    /// Its clients, when they were observed (only for servers whose node asks for clients).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clients: Option<Vec<BackupClient>>,
}

/// An observed backup client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupClient {
    /// Id.
    pub id: String,
    /// Type, e.g. `FA.Linux`.
    pub client_type: String,
    /// Description.
    pub description: String,
    /// File system agent.
    pub is_file_system: bool,
}

/// An observed load balancer pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VipPool {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// State.
    pub state: State,
}

/// An observed VIP node (an address pools balance to).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VipNode {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Address.
    pub ip: String,
    /// State.
    pub state: State,
}

/// An observed pool member.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolMember {
    /// Id.
    pub id: String,
    /// Pool id.
    pub pool_id: String,
    /// VIP node id.
    pub node_id: String,
    /// VIP node address.
    pub ip: String,
}

/// An observed virtual listener.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Address.
    pub ip: Option<String>,
    /// Port.
    pub port: Option<u16>,
    /// State.
    pub state: State,
}

impl Server {
    /// The primary private IPv4, if known.
    pub fn private_ipv4(&self) -> Option<&str> {
        self.primary_nic.as_ref()?.private_ipv4.as_deref()
    }

    /// The pending action, if any.
    pub fn pending_action(&self) -> Option<&str> {
        self.pending_action.as_deref()
    }

    /// The VLAN ids of every NIC, primary first.
    pub fn vlan_ids(&self) -> Vec<String> {
        self.primary_nic
            .iter()
            .chain(self.additional_nics.iter())
            .filter_map(|n| n.vlan_id.as_deref())
            .map(|v| v.trim().to_string())
            .collect()
    }
}

/// An observed NAT rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NatRule {
    /// Id.
    pub id: String,
    /// Private address.
    pub internal_ip: String,
    /// Public address.
    pub external_ip: String,
    /// Creation time (`createTime`, ISO 8601 UTC), when the API gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
}

/// An observed firewall rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FirewallRule {
    /// Id.
    pub id: String,
    /// Name (unique per domain).
    pub name: String,
    /// DEFAULT_RULE | CLIENT_RULE.
    pub rule_type: Option<String>,
}

impl FirewallRule {
    /// True for a rule a client made (not a `CCDEFAULT.` default rule).
    pub fn is_client_rule(&self) -> bool {
        self.rule_type.as_deref() != Some("DEFAULT_RULE") && !self.name.starts_with("CCDEFAULT.")
    }
}

/// An observed public IPv4 block.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IpBlock {
    /// Id.
    pub id: String,
    /// First address.
    pub base_ip: String,
    /// Number of addresses.
    pub size: u32,
    /// Creation time (`createTime`, ISO 8601 UTC), when the API gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
}

impl IpBlock {
    /// Every address of the block, in order.
    pub fn addresses(&self) -> Vec<Ipv4Addr> {
        let Ok(base) = self.base_ip.trim().parse::<Ipv4Addr>() else {
            return Vec::new();
        };
        let b = u32::from(base);
        (0..self.size).map(|i| Ipv4Addr::from(b + i)).collect()
    }
}

/// A private IPv4 address observed reserved on a VLAN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReservedIpv4 {
    /// The address.
    pub ip_address: String,
    /// The VLAN id.
    pub vlan_id: String,
}

/// An OS image of the location.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// Id.
    pub id: String,
    /// Name, e.g. `Ubuntu 22.04 64-bit 2 CPU`.
    pub name: String,
}

/// One observed network domain and everything in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainInventory {
    /// The domain.
    pub domain: Domain,
    /// Its VLANs.
    pub vlans: Vec<Vlan>,
    /// Its servers.
    pub servers: Vec<Server>,
    /// Its NAT rules.
    pub nat_rules: Vec<NatRule>,
    /// Its firewall rules (default and client rules).
    pub firewall_rules: Vec<FirewallRule>,
    /// Its public IP blocks.
    pub ip_blocks: Vec<IpBlock>,
    /// Private addresses reserved on the VLANs whose reservations were observed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reserved: Vec<ReservedIpv4>,
    /// Load balancer pools.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<VipPool>,
    /// VIP nodes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vip_nodes: Vec<VipNode>,
    /// Pool members.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pool_members: Vec<PoolMember>,
    /// Virtual listeners.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub listeners: Vec<Listener>,
}

impl DomainInventory {
    /// An empty inventory of `domain`.
    pub fn new(domain: Domain) -> Self {
        DomainInventory {
            domain,
            vlans: Vec::new(),
            servers: Vec::new(),
            nat_rules: Vec::new(),
            firewall_rules: Vec::new(),
            ip_blocks: Vec::new(),
            reserved: Vec::new(),
            pools: Vec::new(),
            vip_nodes: Vec::new(),
            pool_members: Vec::new(),
            listeners: Vec::new(),
        }
    }

    /// The pool of that name.
    pub fn pool(&self, name: &str) -> Option<&VipPool> {
        self.pools.iter().find(|p| p.name == name)
    }

    /// The VIP node for address `ip`.
    pub fn vip_node_for(&self, ip: &str) -> Option<&VipNode> {
        self.vip_nodes.iter().find(|n| n.ip.trim() == ip)
    }

    /// The virtual listener of that name.
    pub fn listener(&self, name: &str) -> Option<&Listener> {
        self.listeners.iter().find(|l| l.name == name)
    }

    /// The server of that name (the first one, when the API holds duplicates).
    pub fn server(&self, name: &str) -> Option<&Server> {
        self.servers.iter().find(|s| s.name == name)
    }

    /// The VLAN of that name.
    pub fn vlan(&self, name: &str) -> Option<&Vlan> {
        self.vlans.iter().find(|v| v.name == name)
    }

    /// The NAT rule whose internal address is `ip`.
    pub fn nat_for(&self, ip: &str) -> Option<&NatRule> {
        self.nat_rules.iter().find(|n| n.internal_ip.trim() == ip)
    }

    /// [`server`](Self::server) for every name at once (the first server of each name): for
    /// loops over many nodes, where a search each is quadratic.
    pub fn servers_by_name(&self) -> HashMap<&str, &Server> {
        let mut m = HashMap::with_capacity(self.servers.len());
        for s in &self.servers {
            m.entry(s.name.as_str()).or_insert(s);
        }
        m
    }

    /// [`nat_for`](Self::nat_for) for every internal address at once (the first rule of each).
    pub fn nats_by_internal_ip(&self) -> HashMap<&str, &NatRule> {
        let mut m = HashMap::with_capacity(self.nat_rules.len());
        for n in &self.nat_rules {
            m.entry(n.internal_ip.trim()).or_insert(n);
        }
        m
    }

    /// The firewall rule of that exact name.
    pub fn rule(&self, name: &str) -> Option<&FirewallRule> {
        self.firewall_rules.iter().find(|r| r.name == name)
    }

    /// Public addresses of the domain's blocks not used by any NAT rule or virtual listener, in
    /// order.
    pub fn free_public_ips(&self) -> Vec<String> {
        let used: HashSet<&str> = self
            .nat_rules
            .iter()
            .map(|n| n.external_ip.trim())
            .chain(self.listeners.iter().filter_map(|l| l.ip.as_deref()))
            .map(str::trim)
            .collect();
        self.ip_blocks
            .iter()
            .flat_map(|b| b.addresses())
            .map(|a| a.to_string())
            .filter(|a| !used.contains(&a.as_str()))
            .collect()
    }
}

/// What one location holds for a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    /// Location id.
    pub location_id: String,
    /// Domains named by the plan that exist.
    pub domains: Vec<DomainInventory>,
    /// OS images of the location (only fetched when a server must be deployed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
    /// The organisation's tag key names (observed only when the plan tags servers).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tag_keys: Vec<String>,
    /// VLANs of other locations (location, name) that `accept:` names, looked for and not found
    /// in a location this run does not build: no rule is planned from them.
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub missing_remote_vlans: BTreeSet<(String, String)>,
}

impl Inventory {
    /// The observed domain of that name.
    pub fn domain(&self, name: &str) -> Option<&DomainInventory> {
        self.domains.iter().find(|d| d.domain.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain() -> DomainInventory {
        let mut d = DomainInventory::new(Domain {
            id: "d".into(),
            name: "D".into(),
            state: State::Normal,
        });
        for (id, name) in [("s1", "web"), ("s2", "db"), ("s3", "web")] {
            d.servers.push(Server {
                id: id.into(),
                name: name.into(),
                ..Server::default()
            });
        }
        for (id, internal, external) in [
            ("n1", " 10.0.0.5 ", "168.0.0.1"),
            ("n2", "10.0.0.6", "168.0.0.2"),
            ("n3", "10.0.0.5", "168.0.0.3"),
        ] {
            d.nat_rules.push(NatRule {
                id: id.into(),
                internal_ip: internal.into(),
                external_ip: external.into(),
                create_time: None,
            });
        }
        d.ip_blocks.push(IpBlock {
            id: "b".into(),
            base_ip: "168.0.0.2".into(),
            size: 2,
            create_time: None,
        });
        d
    }

    #[test]
    fn the_lookup_maps_answer_as_the_searches_do() {
        let d = domain();
        let (servers, nats) = (d.servers_by_name(), d.nats_by_internal_ip());
        for name in ["web", "db", "none"] {
            assert_eq!(servers.get(name).copied(), d.server(name), "{name}");
        }
        for ip in ["10.0.0.5", "10.0.0.6", "10.0.0.7"] {
            assert_eq!(nats.get(ip).copied(), d.nat_for(ip), "{ip}");
        }
        assert_eq!(servers["web"].id, "s1");
        assert_eq!(nats["10.0.0.5"].id, "n1");
    }

    #[test]
    fn free_public_ips_skip_the_natted_ones() {
        // 168.0.0.2 is NATed, 168.0.0.3 too (by a rule on another address's block)
        assert!(domain().free_public_ips().is_empty());
        let mut d = domain();
        d.nat_rules.retain(|n| n.id != "n2");
        assert_eq!(d.free_public_ips(), ["168.0.0.2"]);
    }
}
