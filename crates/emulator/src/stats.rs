//! Statistics: the request counters, and the typed `GET /emulator/v1/stats` document built from
//! them and the state. The same struct is served as JSON and read back by tests and the command
//! line (`emulator stats`), so both sides agree on one shape.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::models::{State, nat_rule};

/// Request counters (`requests` in the stats document).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestCounts {
    /// All requests.
    pub total: u64,
    /// By operation name (`DEPLOY_SERVER`...).
    pub by_operation: BTreeMap<String, u64>,
    /// By responseCode (or `HTTP_<status>` when there is none).
    pub by_response_code: BTreeMap<String, u64>,
}

impl RequestCounts {
    /// Counts one request.
    pub fn count(&mut self, operation: &str, code: &str) {
        self.total += 1;
        // Allocates a key only the first time (this runs under a lock on every request).
        for (map, key) in [
            (&mut self.by_operation, operation),
            (&mut self.by_response_code, code),
        ] {
            match map.get_mut(key) {
                Some(n) => *n += 1,
                None => {
                    map.insert(key.to_string(), 1);
                }
            }
        }
    }

    /// Requests of operation `op` (`DEPLOY_SERVER`...), 0 if none.
    pub fn operation(&self, op: &str) -> u64 {
        self.by_operation.get(op).copied().unwrap_or(0)
    }

    /// Answers with responseCode `code` (`RESOURCE_BUSY`, `HTTP_503`...), 0 if none.
    pub fn code(&self, code: &str) -> u64 {
        self.by_response_code.get(code).copied().unwrap_or(0)
    }
}

/// How many resources of each kind exist (`resources` in the stats document).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceCounts {
    /// Network domains.
    pub network_domain: u64,
    /// VLANs.
    pub vlan: u64,
    /// Reserved private IPv4 addresses, over all VLANs.
    pub reserved_private_ipv4: u64,
    /// Public IPv4 blocks.
    pub public_ip_block: u64,
    /// NAT rules.
    pub nat_rule: u64,
    /// Firewall rules made by the client.
    pub firewall_rule: u64,
    /// The default firewall rules every network domain comes with.
    pub default_firewall_rule: u64,
    /// Servers.
    pub server: u64,
}

/// How many load balancer, tag, address list and backup resources exist (`services` in the stats
/// document; apart from `resources` so that code building a `ResourceCounts` keeps compiling).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceCounts {
    /// Load balancer pools.
    pub pool: u64,
    /// VIP nodes.
    pub vip_node: u64,
    /// Pool members.
    pub pool_member: u64,
    /// Virtual listeners.
    pub virtual_listener: u64,
    /// Tag keys.
    pub tag_key: u64,
    /// Tags applied to assets.
    pub tag: u64,
    /// IP address lists.
    pub ip_address_list: u64,
    /// Port lists.
    pub port_list: u64,
    /// Servers with cloud backup enabled.
    pub backup: u64,
    /// Backup clients, over all servers.
    pub backup_client: u64,
}

impl ServiceCounts {
    /// All of them together (0 when nothing is left).
    pub fn total(&self) -> u64 {
        self.pool
            + self.vip_node
            + self.pool_member
            + self.virtual_listener
            + self.tag_key
            + self.tag
            + self.ip_address_list
            + self.port_list
            + self.backup
            + self.backup_client
    }
}

/// One server as the stats document shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerStats {
    /// Server id.
    pub id: String,
    /// Server name.
    pub name: String,
    /// `NORMAL`, `PENDING_ADD`...
    pub state: String,
    /// Whether it runs.
    pub started: bool,
    /// Whether its deployment completed.
    pub deployed: bool,
    /// The operation under way (`DEPLOY_SERVER`...), if any.
    pub action: Option<String>,
    /// Its network domain.
    pub network_domain_id: String,
    /// Private IPv4 of each NIC, primary first.
    pub private_ipv4: Vec<String>,
    /// Public IPv4 addresses NATed to its private ones.
    pub public_ipv4: Vec<String>,
}

/// The `GET /emulator/v1/stats` document.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Request counters since the start (or the last reset).
    pub requests: RequestCounts,
    /// Resource counts.
    pub resources: ResourceCounts,
    /// Load balancer, tag, address list and backup counts.
    #[serde(default)]
    pub services: ServiceCounts,
    /// Every server.
    pub servers: Vec<ServerStats>,
    /// The organisation id.
    pub org_id: String,
}

impl Stats {
    /// The document for `requests` and the state `st`.
    pub fn new(requests: RequestCounts, st: &State) -> Stats {
        let client_rules = st
            .firewall_rules
            .values()
            .filter(|r| !r.is_default())
            .count();
        let servers = st
            .servers
            .values()
            .map(|s| ServerStats {
                id: s.id.clone(),
                name: s.name.clone(),
                state: s.state.as_str().to_string(),
                started: s.started,
                deployed: s.deployed,
                action: s.pending.map(|p| p.op.action().to_string()),
                network_domain_id: s.domain_id.clone(),
                private_ipv4: s.nics().map(|n| n.ipv4.to_string()).collect(),
                public_ipv4: s
                    .nics()
                    .filter_map(|n| nat_rule::public_of(st, n.ipv4))
                    .map(|a| a.to_string())
                    .collect(),
            })
            .collect();
        let n = |x: usize| x as u64;
        Stats {
            requests,
            resources: ResourceCounts {
                network_domain: n(st.domains.len()),
                vlan: n(st.vlans.len()),
                reserved_private_ipv4: n(st.vlans.values().map(|v| v.reserved.len()).sum()),
                public_ip_block: n(st.ip_blocks.len()),
                nat_rule: n(st.nat_rules.len()),
                firewall_rule: n(client_rules),
                default_firewall_rule: n(st.firewall_rules.len() - client_rules),
                server: n(st.servers.len()),
            },
            services: services(st),
            servers,
            org_id: st.org_id.clone(),
        }
    }

    /// The server named `name`, if any.
    pub fn server(&self, name: &str) -> Option<&ServerStats> {
        self.servers.iter().find(|s| s.name == name)
    }

    /// The document as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

fn services(st: &State) -> ServiceCounts {
    let n = |x: usize| x as u64;
    let lists = |port: bool| {
        n(st.address_lists
            .values()
            .filter(|l| l.is_port_list() == port)
            .count())
    };
    let backups = st.servers.values().filter_map(|s| s.backup.as_ref());
    ServiceCounts {
        pool: n(st.vip_pools.len()),
        vip_node: n(st.vip_nodes.len()),
        pool_member: n(st.pool_members.len()),
        virtual_listener: n(st.listeners.len()),
        tag_key: n(st.tag_keys.len()),
        tag: n(st.tags.len()),
        ip_address_list: lists(false),
        port_list: lists(true),
        backup: n(backups.clone().count()),
        backup_client: n(backups.map(|b| b.clients.len()).sum()),
    }
}

/// Displays a part of the document as its JSON, on one line (for test messages and logs).
macro_rules! display_as_json {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
                write!(f, "{v}")
            }
        }
    )*};
}

display_as_json!(
    Stats,
    RequestCounts,
    ResourceCounts,
    ServiceCounts,
    ServerStats
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_count_by_operation_and_code() {
        let mut s = RequestCounts::default();
        s.count("DEPLOY_SERVER", "IN_PROGRESS");
        s.count("DEPLOY_SERVER", "RESOURCE_BUSY");
        assert_eq!(s.total, 2);
        assert_eq!(s.operation("DEPLOY_SERVER"), 2);
        assert_eq!(s.code("RESOURCE_BUSY"), 1);
        assert_eq!(s.code("HTTP_503"), 0);
    }

    #[test]
    fn the_document_keeps_its_wire_names() {
        let st = State {
            org_id: "org".into(),
            ..State::default()
        };
        let mut c = RequestCounts::default();
        c.count("DEPLOY_SERVER", "IN_PROGRESS");
        let s = Stats::new(c, &st);
        let v = s.to_json();
        assert_eq!(v["requests"]["byOperation"]["DEPLOY_SERVER"], 1);
        assert_eq!(v["requests"]["byResponseCode"]["IN_PROGRESS"], 1);
        assert_eq!(v["resources"]["reservedPrivateIpv4"], 0);
        assert_eq!(v["resources"]["defaultFirewallRule"], 0);
        assert_eq!(v["orgId"], "org");
        let back: Stats = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
    }
}
