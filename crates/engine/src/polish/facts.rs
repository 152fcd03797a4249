//! What is known about each node of the plan once observed ([`NodeFacts`]): state, addresses,
//! monitoring, secondary NICs, tags. Built from the desired state and the inventory; every polisher
//! (information, inventory, ansible, ping, prepare) starts from these.

use std::collections::HashMap;

use serde::Serialize;

use plan::{Desired, DomainInventory, Inventory, NatRule, Server, State};

/// What is known about one node of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeFacts {
    /// Node name.
    pub name: String,
    /// Blueprint.
    pub blueprint: String,
    /// Location.
    pub location_id: String,
    /// Network domain name.
    pub domain: String,
    /// VLAN name.
    pub vlan: String,
    /// Server id, when deployed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `running`, `stopped`, `unknown` (not deployed) or the API state.
    pub state: String,
    /// Private IPv4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_ipv4: Option<String>,
    /// Public IPv4 (from its NAT rule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_ipv4: Option<String>,
    /// IPv6.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<String>,
    /// Monitoring plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<String>,
    /// Secondary NICs (VLAN and private IPv4).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_nics: Vec<NicFacts>,
    /// CPU, memory and disks as the cloud reports them (`None` until deployed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<ServerSize>,
    /// Hashtags of the description (ansible roles, inventory tags).
    pub tags: Vec<String>,
    /// SSH port reachable (ping only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reachable: Option<bool>,
}

/// CPU, memory and disks of a deployed server (the `inventory` fields the original printed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerSize {
    /// Virtual CPUs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<u32>,
    /// Cores per socket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_cores_per_socket: Option<u32>,
    /// `STANDARD` or `HIGHPERFORMANCE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_performance: Option<String>,
    /// Memory in GB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<u32>,
    /// Disks as `<scsi id> <size GB> <speed>`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disks: Vec<String>,
}

fn server_size(s: &Server) -> ServerSize {
    ServerSize {
        cpu: s.cpu.as_ref().map(|c| c.count),
        cpu_cores_per_socket: s.cpu.as_ref().and_then(|c| c.cores_per_socket),
        cpu_performance: s.cpu.as_ref().and_then(|c| c.speed.clone()),
        memory: s.memory_gb,
        disks: s
            .disks
            .iter()
            .map(|d| {
                let part = |v: Option<u32>| v.map_or("?".to_string(), |v| v.to_string());
                format!(
                    "{} {} {}",
                    part(d.scsi_id),
                    part(d.size_gb),
                    d.speed.as_deref().unwrap_or("STANDARD")
                )
            })
            .collect(),
    }
}

/// A domain's servers by name and NAT rules by internal address, looked up once per node (a
/// search each was quadratic over 1,000 nodes).
struct Lookup<'a> {
    inv: &'a DomainInventory,
    servers: HashMap<&'a str, &'a Server>,
    nats: HashMap<&'a str, &'a NatRule>,
}

impl<'a> Lookup<'a> {
    fn of(inv: &'a DomainInventory) -> Self {
        Lookup {
            inv,
            servers: inv.servers_by_name(),
            nats: inv.nats_by_internal_ip(),
        }
    }
}

/// Facts of every node of the desired state, from the inventory.
pub fn node_facts(want: &Desired, have: &Inventory) -> Vec<NodeFacts> {
    let index: HashMap<&str, Lookup> = have
        .domains
        .iter()
        .map(|d| (d.domain.name.as_str(), Lookup::of(d)))
        .collect();
    want.nodes
        .iter()
        .map(|n| {
            let at = index.get(n.domain.as_str());
            let inv = at.map(|l| l.inv);
            let s = at.and_then(|l| l.servers.get(n.name.as_str()).copied());
            let private = s.and_then(|s| s.private_ipv4()).map(str::to_string);
            let public = match (at, private.as_deref()) {
                (Some(l), Some(ip)) => l.nats.get(ip).map(|r| r.external_ip.trim().to_string()),
                _ => None,
            };
            let state = match s {
                None => "unknown".to_string(),
                Some(s) if s.state == State::Normal && s.pending_action().is_none() => {
                    if s.started { "running" } else { "stopped" }.to_string()
                }
                Some(s) => format!("{} {}", s.state, s.pending_action().unwrap_or(""))
                    .trim()
                    .to_string(),
            };
            let tags = n
                .description
                .split_whitespace()
                .filter_map(|w| w.strip_prefix('#'))
                .filter(|t| !t.is_empty() && *t != "plumbery")
                .map(str::to_string)
                .collect();
            NodeFacts {
                name: n.name.clone(),
                blueprint: n.blueprint.clone(),
                location_id: want.location_id.clone(),
                domain: n.domain.clone(),
                vlan: n.vlan.clone(),
                id: s.map(|s| s.id.clone()),
                state,
                private_ipv4: private,
                public_ipv4: public,
                ipv6: s.and_then(|s| s.ipv6.clone()),
                monitoring: s.and_then(|s| s.monitoring.clone()),
                extra_nics: s.map_or_else(Vec::new, |s| nic_facts(inv, s)),
                size: s.map(server_size),
                tags,
                reachable: None,
            }
        })
        .collect()
}

/// A secondary NIC as `information` and `inventory` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NicFacts {
    /// VLAN name.
    pub vlan: String,
    /// Private IPv4.
    pub private_ipv4: String,
}

/// The secondary NICs of `s` with their VLAN names (from `inv`, else as the API names them).
fn nic_facts(inv: Option<&DomainInventory>, s: &Server) -> Vec<NicFacts> {
    s.additional_nics
        .iter()
        .filter_map(|n| {
            let ip = n.private_ipv4.as_deref()?.trim().to_string();
            let id = n.vlan_id.as_deref().unwrap_or_default().trim();
            let vlan = inv
                .and_then(|i| i.vlans.iter().find(|v| v.id == id))
                .map(|v| v.name.clone())
                .or_else(|| n.vlan_name.clone())
                .unwrap_or_else(|| id.to_string());
            Some(NicFacts {
                vlan,
                private_ipv4: ip,
            })
        })
        .collect()
}
