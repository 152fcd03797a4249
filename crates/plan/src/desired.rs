//! Desired state: what one location of a plan asks for, flattened and deduplicated (blueprints may share
//! a domain or a VLAN), after the blueprint filter. The want half of every resource kind lives here:
//! domains, VLANs (with their accepted networks and reserved addresses), nodes (with their ports and
//! secondary NICs).

use serde::Serialize;

use std::net::Ipv4Addr;

use fittings::{self, Blueprint, Glue, GlueAddress, Location, Node};

/// A network domain the plan wants.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WantDomain {
    /// Name.
    pub name: String,
    /// Description sent to the cloud (with `#plumbery`).
    pub description: String,
    /// ESSENTIALS | ADVANCED.
    pub plan: String,
    /// Public IPv4 limit (`None`: as many as needed).
    pub ipv4_limit: Option<u32>,
}

/// A VLAN the plan wants.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WantVlan {
    /// Domain name.
    pub domain: String,
    /// Name.
    pub name: String,
    /// Description sent to the cloud.
    pub description: String,
    /// Base address.
    pub base: String,
    /// Prefix length.
    pub prefix: u8,
    /// Keep on destroy.
    pub keep: bool,
    /// Names of local VLANs whose traffic is accepted (same domain).
    pub accept: Vec<String>,
    /// VLANs of other locations whose IPv6 traffic is accepted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remote_accept: Vec<RemoteAccept>,
    /// Private IPv4 addresses to reserve on the VLAN (merged over the blueprints naming it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reserved: Vec<String>,
}

/// A VLAN of another location whose traffic a VLAN accepts (`accept: [LOC::name]`). As in the
/// original, only an IPv6 rule is made for it: IPv4 ranges of two locations are not routed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteAccept {
    /// The reference as written (`EU7::db` or `dd-eu::EU7::db`): the rule's name is made from it.
    pub label: String,
    /// Region, when written.
    pub region: Option<String>,
    /// Location id.
    pub location: String,
    /// VLAN name.
    pub name: String,
}

/// A firewall rule opening one port of a node's public address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WantPort {
    /// Rule name, e.g. `Redis01.TCPv4_22.plumbery`.
    pub rule: String,
    /// IP | TCP | UDP | ICMP.
    pub protocol: String,
    /// First port (None: any).
    pub begin: Option<u16>,
    /// Last port.
    pub end: Option<u16>,
}

/// A node the plan wants.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WantNode {
    /// Blueprint it comes from.
    pub blueprint: String,
    /// True for a basement blueprint.
    pub basement: bool,
    /// Name.
    pub name: String,
    /// Domain name.
    pub domain: String,
    /// VLAN name.
    pub vlan: String,
    /// Image name substring.
    pub appliance: Option<String>,
    /// CPU count, cores per socket, speed.
    pub cpu: Option<(u32, u32, String)>,
    /// Memory.
    pub memory_gb: Option<u32>,
    /// Disks as (SCSI id, size GB, API speed).
    #[serde(default)]
    pub disks: Vec<(u32, u32, String)>,
    /// Fixed primary address.
    pub primary_ipv4: Option<String>,
    /// Monitoring plan (API spelling).
    pub monitoring: Option<String>,
    /// Exposed to the internet (NAT).
    pub internet: bool,
    /// Firewall rules for the public address.
    pub ports: Vec<WantPort>,
    /// Description sent to the cloud.
    pub description: String,
    /// Never stopped.
    pub running_always: bool,
    /// Never destroyed.
    pub destroy_never: bool,
    /// Secondary NICs on other VLANs of the same domain (`glue: - <network> [address]`).
    pub extra_nics: Vec<WantNic>,
    /// Cloud backup (`backup:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<WantBackup>,
    /// Tags applied to the server: the `#hashtags` of its description (`#plumbery` aside).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// The `#hashtags` of a description, without `#`, in order, once each, `#plumbery` aside.
pub fn hashtags(description: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in description
        .split_whitespace()
        .filter_map(|w| w.strip_prefix('#'))
        .filter(|t| !t.is_empty() && *t != "plumbery")
    {
        if !out.iter().any(|x| x == t) {
            out.push(t.to_string());
        }
    }
    out
}

/// The cloud backup a node asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WantBackup {
    /// API spelling: `Essentials`, `Advanced` or `Enterprise`.
    pub plan: String,
    /// Clients (agents) to add.
    pub clients: Vec<WantBackupClient>,
}

/// A backup client a node asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WantBackupClient {
    /// `filesystem`, `file`, a client type (`FA.Linux`) or a description prefix.
    pub kind: String,
    /// Storage policy name.
    pub storage_policy: String,
    /// Schedule policy name.
    pub schedule_policy: String,
    /// Alert trigger.
    pub trigger: String,
    /// Alert address.
    pub email: Option<String>,
}

impl WantBackupClient {
    /// True when an observed client (type, description, file system flag) is this one: `filesystem`
    /// and `file` match a file system agent, anything else the type or a description prefix (case
    /// ignored), as the original matched the client types offered.
    pub fn matches(&self, client_type: &str, description: &str, is_file_system: bool) -> bool {
        let k = self.kind.to_ascii_lowercase();
        match k.as_str() {
            "filesystem" | "file" => is_file_system,
            _ => {
                client_type.eq_ignore_ascii_case(&k)
                    || description.to_ascii_lowercase().starts_with(&k)
            }
        }
    }
}

/// One listener of a balancer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WantListener {
    /// The label as written (`http`).
    pub label: String,
    /// The listener's name in the cloud: `<label>.<blueprint>.<location lower>.balancer`.
    pub name: String,
    /// API protocol: HTTP, TCP or UDP.
    pub protocol: String,
    /// Port.
    pub port: u16,
    /// Fixed address; `None`: a free public address of the domain.
    pub address: Option<String>,
    /// The firewall rule admitting it: `<ListenerTitle>.<port>.plumbery`.
    pub rule: String,
    /// The rule's protocol: TCP or UDP.
    pub rule_protocol: String,
}

/// The load balancer of a blueprint: a pool of its nodes and its listeners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WantBalancer {
    /// Blueprint name.
    pub blueprint: String,
    /// Domain name.
    pub domain: String,
    /// Pool name: `<blueprint>.<location lower>.pool`.
    pub pool: String,
    /// API load balance method (ROUND_ROBIN, LEAST_CONNECTIONS_MEMBER, ...).
    pub method: String,
    /// Pool description sent to the cloud.
    pub description: String,
    /// Member node names (every node of the blueprint).
    pub members: Vec<String>,
    /// Listeners.
    pub listeners: Vec<WantListener>,
}

/// The API load balance method of a plan algorithm: round robin for the ones the API lacks
/// (`random`, `weighted_round_robin`, `persistent_ip`), least connections per member for
/// `least_connections` and `weighted_least_connections`, predictive for `shortest_response`.
pub fn balance_method(algorithm: &str) -> &'static str {
    match algorithm {
        "least_connections" | "weighted_least_connections" => "LEAST_CONNECTIONS_MEMBER",
        "shortest_response" => "PREDICTIVE_MEMBER",
        _ => "ROUND_ROBIN",
    }
}

fn want_balancer(loc: &Location, bp: &Blueprint) -> Option<WantBalancer> {
    if bp.balancers.is_empty() {
        return None;
    }
    let lower = loc.location_id.to_ascii_lowercase();
    let listeners = bp
        .balancers
        .iter()
        .map(|b| {
            let name = format!("{}.{}.{lower}.balancer", b.name, bp.name);
            let (protocol, rule_protocol) = match b.protocol.as_str() {
                "http" => ("HTTP", "TCP"),
                "udp" => ("UDP", "UDP"),
                _ => ("TCP", "TCP"),
            };
            WantListener {
                label: b.name.clone(),
                rule: format!("{}.{}.plumbery", fittings::title_alnum(&name), b.port),
                name,
                protocol: protocol.to_string(),
                rule_protocol: rule_protocol.to_string(),
                port: b.port,
                address: b.address.map(|a| a.to_string()),
            }
        })
        .collect();
    let pool = bp.pool.as_ref();
    Some(WantBalancer {
        blueprint: bp.name.clone(),
        domain: bp.domain.name.clone(),
        pool: format!("{}.{lower}.pool", bp.name),
        method: balance_method(pool.map_or("round_robin", |p| p.algorithm.as_str())).to_string(),
        description: fittings::with_plumbery_tag(pool.map_or("", |p| p.description.as_str())),
        members: bp.nodes.iter().map(|n| n.name.clone()).collect(),
        listeners,
    })
}

fn want_backup(b: &fittings::Backup) -> WantBackup {
    let mut plan = b.plan.to_ascii_lowercase();
    if let Some(first) = plan.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    WantBackup {
        plan,
        clients: b
            .clients
            .iter()
            .map(|c| WantBackupClient {
                kind: c.kind.clone(),
                storage_policy: c.storage_policy.clone(),
                schedule_policy: c.schedule_policy.clone(),
                trigger: c.trigger.clone(),
                email: c.email.clone().or_else(|| b.email.clone()),
            })
            .collect(),
    }
}

/// A secondary NIC a node asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WantNic {
    /// The VLAN's name (in the node's network domain).
    pub network: String,
    /// The address as written: `10.0.2.11`, or `.11` completed from the VLAN's subnet; `None`: any
    /// free address.
    pub address: Option<String>,
}

/// Everything one location wants.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Desired {
    /// Location id.
    pub location_id: String,
    /// Domains, deduplicated by name.
    pub domains: Vec<WantDomain>,
    /// VLANs, deduplicated by (domain, name).
    pub vlans: Vec<WantVlan>,
    /// Nodes, basement blueprints first.
    pub nodes: Vec<WantNode>,
    /// Load balancers, one per blueprint with `balancers:`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub balancers: Vec<WantBalancer>,
    /// Notes about what the plan asks that is not done (remote VLANs ...).
    pub notes: Vec<String>,
}

fn node_want(
    loc: &Location,
    bp: &Blueprint,
    basement: bool,
    n: &Node,
    notes: &mut Vec<String>,
) -> WantNode {
    let mut internet = false;
    let mut ports = Vec::new();
    let mut primary = None;
    let mut extra = Vec::new();
    for g in &n.glue {
        match g {
            Glue::Internet { ports: ps } => {
                internet = true;
                let list = if ps.is_empty() {
                    vec![fittings::FirewallPort {
                        protocol: fittings::Protocol::Tcp,
                        begin: None,
                        end: None,
                    }]
                } else {
                    ps.clone()
                };
                for p in list {
                    let rule = fittings::firewall_rule_name(&n.name, &p);
                    if !ports.iter().any(|w: &WantPort| w.rule == rule) {
                        ports.push(WantPort {
                            rule,
                            protocol: p.protocol.api_name().to_string(),
                            begin: p.begin,
                            end: p.end,
                        });
                    }
                }
            }
            Glue::Primary { address } => primary = Some(address.to_string()),
            Glue::Extra { network, .. }
                if network
                    .location
                    .as_deref()
                    .is_some_and(|l| l != loc.location_id) =>
            {
                notes.push(format!(
                    "node {}: the extra NIC on {network} is not attached: that VLAN lives in another location",
                    n.name
                ));
            }
            Glue::Extra { network, address } => extra.push(WantNic {
                network: network.name.clone(),
                address: address.as_ref().map(|a| match a {
                    GlueAddress::Full(ip) => ip.to_string(),
                    GlueAddress::Suffix(s) => s.clone(),
                }),
            }),
        }
    }
    WantNode {
        blueprint: bp.name.clone(),
        basement,
        name: n.name.clone(),
        domain: bp.domain.name.clone(),
        vlan: bp.ethernet.name.name.clone(),
        appliance: n.appliance.clone(),
        cpu: n
            .cpu
            .map(|c| (c.count, c.cores_per_socket, c.speed.api_name().to_string())),
        memory_gb: n.memory_gb,
        disks: n
            .disks
            .iter()
            .map(|d| {
                (
                    u32::from(d.scsi_id),
                    d.size_gb,
                    d.speed.api_name().to_string(),
                )
            })
            .collect(),
        primary_ipv4: primary,
        monitoring: n.monitoring.map(|m| m.api_name().to_string()),
        internet,
        ports,
        description: fittings::with_plumbery_tag(&n.description),
        running_always: n.running_always,
        destroy_never: n.destroy_never,
        extra_nics: extra,
        backup: n.backup.as_ref().map(want_backup),
        tags: hashtags(&n.description),
    }
}

/// The desired state of one location for the selected blueprints (basement first).
pub fn desired(loc: &Location, blueprint_filter: &[String]) -> Desired {
    let mut d = Desired {
        location_id: loc.location_id.clone(),
        ..Desired::default()
    };
    let mut selected = loc.select_blueprints(blueprint_filter);
    selected.sort_by_key(|b| !loc.basement.contains(&b.name));
    for bp in selected {
        let basement = loc.basement.contains(&bp.name);
        if !d.domains.iter().any(|x| x.name == bp.domain.name) {
            d.domains.push(WantDomain {
                name: bp.domain.name.clone(),
                description: fittings::with_plumbery_tag(&bp.domain.description),
                plan: bp.domain.service.api_name().to_string(),
                ipv4_limit: match bp.domain.ipv4 {
                    fittings::Ipv4Quota::Count(n) => Some(n),
                    _ => None,
                },
            });
        }
        let eth = &bp.ethernet;
        if eth
            .name
            .location
            .as_deref()
            .is_some_and(|l| l != loc.location_id)
        {
            d.notes.push(format!(
                "blueprint {}: VLAN {} lives in another location; its nodes are skipped",
                bp.name, eth.name
            ));
            continue;
        }
        if !d
            .vlans
            .iter()
            .any(|v| v.domain == bp.domain.name && v.name == eth.name.name)
        {
            let (local, remote): (Vec<_>, Vec<_>) = eth.accept.iter().partition(|r| {
                r.location.is_none() || r.location.as_deref() == Some(&loc.location_id)
            });
            let remote_accept = remote
                .into_iter()
                .map(|r| RemoteAccept {
                    label: r.to_string(),
                    region: r.region.clone(),
                    location: r.location.clone().unwrap_or_default(),
                    name: r.name.clone(),
                })
                .collect();
            let accept = local.into_iter().map(|r| r.name.clone()).collect();
            d.vlans.push(WantVlan {
                domain: bp.domain.name.clone(),
                name: eth.name.name.clone(),
                description: fittings::with_plumbery_tag(&eth.description),
                base: eth.subnet.network().to_string(),
                prefix: eth.subnet.prefix_len(),
                keep: eth.destroy_never,
                accept,
                remote_accept,
                reserved: Vec::new(),
            });
        }
        want_reserved(&mut d.vlans, &bp.domain.name, &eth.name.name, &eth.reserved);
        for n in &bp.nodes {
            if d.nodes
                .iter()
                .any(|x| x.name == n.name && x.domain == bp.domain.name)
            {
                d.notes.push(format!(
                    "node {} is declared twice; the first one counts",
                    n.name
                ));
                continue;
            }
            let w = node_want(loc, bp, basement, n, &mut d.notes);
            d.nodes.push(w);
        }
        d.balancers.extend(want_balancer(loc, bp));
    }
    d
}

/// Adds `addresses` to the reserved list of the VLAN (`domain`, `name`) of the desired state, keeping
/// the first-seen order and no duplicate (blueprints sharing a VLAN merge their lists).
fn want_reserved(vlans: &mut [WantVlan], domain: &str, name: &str, addresses: &[Ipv4Addr]) {
    if let Some(w) = vlans
        .iter_mut()
        .find(|v| v.domain == domain && v.name == name)
    {
        for a in addresses.iter().map(Ipv4Addr::to_string) {
            if !w.reserved.contains(&a) {
                w.reserved.push(a);
            }
        }
    }
}

/// The original's name part for an accept rule: last two `::` parts, title-cased, alphanumerics only.
pub fn accept_rule_name(src: &str, dst: &str, suffix: &str) -> String {
    let part = |s: &str| {
        let parts: Vec<&str> = s.split("::").collect();
        let tail = &parts[parts.len().saturating_sub(2)..];
        fittings::title_alnum(&tail.join("-"))
    };
    format!("From{}To{}.{suffix}.plumbery", part(src), part(dst))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_names() {
        assert_eq!(
            accept_rule_name("gigafox.control", "myNetwork", "IP"),
            "FromGigafoxControlToMynetwork.IP.plumbery"
        );
        assert_eq!(
            accept_rule_name("EU6::front", "back", "IPv6"),
            "FromEu6FrontToBack.IPv6.plumbery"
        );
    }
}
