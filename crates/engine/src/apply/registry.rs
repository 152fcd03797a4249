//! The registry of what the executor knows while it runs: per network domain (by name) its id, its
//! VLANs, its servers, the public address of each NATed node and of each virtual listener, its free
//! public addresses, its public IP blocks, its load balancer pools and VIP nodes. Filled from the
//! inventory, then by the steps that create things.

use std::collections::{BTreeSet, HashMap, VecDeque};

use plan::Inventory;

/// What the executor knows about one server.
#[derive(Debug, Clone, Default)]
pub(super) struct ServerFacts {
    /// Server id.
    pub id: String,
    /// Primary private IPv4, once known.
    pub private_ipv4: Option<String>,
    /// Started, as last seen.
    pub started: bool,
    /// Another run's server with the node's name, kept instead of the one this run deployed.
    pub adopted: bool,
    /// When the API accepted this run's deploy of it (its wait counts from there).
    pub accepted: Option<std::time::Instant>,
}

/// What the executor knows about one VLAN.
#[derive(Debug, Clone)]
pub(super) struct VlanFacts {
    /// VLAN id.
    pub id: String,
    /// IPv4 base address.
    pub base: String,
    /// IPv4 prefix length.
    pub prefix: u8,
}

/// What the executor knows about one network domain.
#[derive(Debug, Default)]
pub(super) struct DomainFacts {
    /// Domain id.
    pub id: String,
    /// VLANs by name.
    pub vlans: HashMap<String, VlanFacts>,
    /// Servers by node name.
    pub servers: HashMap<String, ServerFacts>,
    /// Public address of each NATed node (by node name) and of each virtual listener (by
    /// listener name).
    pub public_ips: HashMap<String, String>,
    /// Load balancer pool ids by name.
    pub pools: HashMap<String, String>,
    /// VIP node ids by address.
    pub vip_nodes: HashMap<String, String>,
    /// Public addresses of the domain's blocks that no NAT rule uses yet, in order.
    pub free_ips: VecDeque<String>,
    /// Ids of the domain's public IP blocks.
    pub blocks: BTreeSet<String>,
}

/// Something this run created and then found duplicated by another run's older one: removed once
/// the steps are over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Doomed {
    /// A server: (domain, node, id, id of the server kept).
    Server(String, String, String, String),
    /// A public IP block: (domain, id, base address).
    Block(String, String, String),
}

/// Ids and addresses known so far, by domain name.
#[derive(Debug, Default)]
pub(super) struct Registry {
    domains: HashMap<String, DomainFacts>,
    /// What this run created and must remove (see [`Doomed`]).
    pub doomed: Vec<Doomed>,
    /// Per domain name: how many public IP blocks it holds once this run's are added (runs that
    /// race agree on it, and keep the oldest that many).
    pub block_targets: HashMap<String, usize>,
}

impl Registry {
    /// The registry of what `inv` holds.
    pub fn from_inventory(inv: &Inventory) -> Self {
        let mut r = Registry::default();
        for d in &inv.domains {
            let mut facts = DomainFacts {
                id: d.domain.id.clone(),
                free_ips: d.free_public_ips().into(),
                blocks: d.ip_blocks.iter().map(|b| b.id.clone()).collect(),
                ..DomainFacts::default()
            };
            for v in &d.vlans {
                facts.vlans.insert(
                    v.name.clone(),
                    VlanFacts {
                        id: v.id.clone(),
                        base: v.ipv4_base.clone(),
                        prefix: v.ipv4_prefix,
                    },
                );
            }
            let nats = d.nats_by_internal_ip();
            for s in &d.servers {
                facts.servers.entry(s.name.clone()).or_insert(ServerFacts {
                    id: s.id.clone(),
                    private_ipv4: s.private_ipv4().map(str::to_string),
                    started: s.started,
                    adopted: false,
                    accepted: None,
                });
                if let Some(n) = s.private_ipv4().and_then(|ip| nats.get(ip)) {
                    facts
                        .public_ips
                        .insert(s.name.clone(), n.external_ip.trim().to_string());
                }
            }
            for p in &d.pools {
                facts.pools.insert(p.name.clone(), p.id.clone());
            }
            for n in &d.vip_nodes {
                facts
                    .vip_nodes
                    .insert(n.ip.trim().to_string(), n.id.clone());
            }
            for l in &d.listeners {
                if let Some(ip) = &l.ip {
                    facts
                        .public_ips
                        .insert(l.name.clone(), ip.trim().to_string());
                }
            }
            r.domains.insert(d.domain.name.clone(), facts);
        }
        r
    }

    /// The domain of that name, if known.
    pub fn domain(&self, name: &str) -> Option<&DomainFacts> {
        self.domains.get(name)
    }

    /// The domain of that name, if known, to change.
    pub fn domain_mut(&mut self, name: &str) -> Option<&mut DomainFacts> {
        self.domains.get_mut(name)
    }

    /// Records the id of a domain just created (what was known of it is kept).
    pub fn add_domain(&mut self, name: &str, id: String) {
        self.domains.entry(name.to_string()).or_default().id = id;
    }
}
