//! Read-only outputs built from the observed facts of the nodes: information (per node state,
//! addresses, monitoring, the plan's information lines with their tokens expanded), inventory
//! (YAML, the fields the original printed), ansible (an INI inventory Ansible uses as it is: the
//! address, the login user, the plan's key and its pinned host keys, the original's groups and host
//! variables) and ping (the reachability found by `ping`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Serialize;

use fittings::Plan;
use fittings::tokens::{
    self, LocationFact, NodeFact, NodeSel, TokenContext, TokenError, TokenKind,
};

use super::balancers::{self, ListenerFacts};
use super::facts::{NicFacts, NodeFacts, ServerSize};
use crate::action::Action;

/// How Ansible logs in to the nodes: the user the bootstrap leaves, the plan's private key and the
/// known_hosts file where plumbery pins the nodes' host keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The user (`ubuntu`).
    pub user: String,
    /// The private key file.
    pub key: PathBuf,
    /// The known_hosts file.
    pub known_hosts: PathBuf,
}

/// The login of the plan whose state key is `plan_key` (its key pair is written to its state
/// directory when not there yet); `None` when its state cannot be opened.
pub fn login(plan_key: &str) -> Option<Login> {
    let opts = super::prepare::PlanState::open(plan_key)
        .and_then(|s| s.bootstrap_options())
        .map_err(|e| tracing::warn!("no login details for the inventory: {e}"))
        .ok()?;
    Some(Login {
        user: opts.user.clone(),
        key: opts.key.private.clone(),
        known_hosts: opts.known_hosts(),
    })
}

/// The text output of an action, if it has one.
pub fn render(
    action: Action,
    plan: &Plan,
    nodes: &[&NodeFacts],
    listeners: &[&ListenerFacts],
    login: Option<&Login>,
) -> Option<String> {
    match action {
        Action::Information | Action::Deploy | Action::Refresh => {
            let mut text = information(plan, nodes);
            text.push_str(&balancers::information(plan, listeners));
            Some(text)
        }
        Action::Inventory => Some(inventory(nodes)),
        Action::Ansible => Some(ansible(&plan.origin, nodes, login)),
        Action::Ping => Some(
            nodes
                .iter()
                .map(|n| {
                    let addr = n
                        .public_ipv4
                        .as_deref()
                        .or(n.private_ipv4.as_deref())
                        .unwrap_or("-");
                    let r = if n.reachable == Some(true) {
                        "reachable"
                    } else {
                        "unreachable"
                    };
                    format!("{} {} {addr}:22 {r}\n", n.name, n.state)
                })
                .collect(),
        ),
        _ => None,
    }
}

fn information(plan: &Plan, nodes: &[&NodeFacts]) -> String {
    let mut out = String::new();
    if !plan.settings.information.is_empty() {
        out.push_str("About this fittings plan:\n");
        for l in &plan.settings.information {
            out.push_str(&format!("  {l}\n"));
        }
    }
    for n in nodes {
        out.push_str(&format!("About '{}' ({}):\n", n.name, n.location_id));
        out.push_str(&format!("  state: {}\n", n.state));
        if let Some(ip) = &n.private_ipv4 {
            out.push_str(&format!("  private: {ip}\n"));
        }
        if let Some(ip) = &n.public_ipv4 {
            out.push_str(&format!("  public: {ip}\n"));
        }
        if let Some(ip) = &n.ipv6 {
            out.push_str(&format!("  ipv6: {ip}\n"));
        }
        for nic in &n.extra_nics {
            out.push_str(&format!("  nic: {} on {}\n", nic.private_ipv4, nic.vlan));
        }
        if let Some(m) = &n.monitoring {
            out.push_str(&format!("  monitoring: {m}\n"));
        }
        let lines = plan
            .locations
            .iter()
            .filter(|l| l.location_id == n.location_id)
            .flat_map(|l| &l.blueprints)
            .flat_map(|b| &b.nodes)
            .find(|x| x.name == n.name)
            .map(|x| x.information.clone())
            .unwrap_or_default();
        for l in lines {
            out.push_str(&format!("  {}\n", expand_node_tokens(&l, n, nodes)));
        }
    }
    out
}

/// Resolves node and location tokens from the observed facts. Secrets, keys and credentials are left
/// as written on purpose: information is printed, and secrets never are.
struct InfoTokens<'a> {
    this: &'a NodeFacts,
    all: &'a [&'a NodeFacts],
}

impl TokenContext for InfoTokens<'_> {
    fn resolve(&self, token: &str, kind: &TokenKind) -> Result<Option<String>, TokenError> {
        match kind {
            TokenKind::Node { node, fact } => {
                let n = match node {
                    NodeSel::This => Some(self.this),
                    NodeSel::Named { location, name, .. } => {
                        let loc = location.as_deref().unwrap_or(&self.this.location_id);
                        self.all
                            .iter()
                            .copied()
                            .find(|n| n.name == *name && n.location_id == loc)
                    }
                };
                let Some(n) = n else {
                    return Ok(None);
                };
                let v = match fact {
                    NodeFact::Private => n.private_ipv4.clone(),
                    NodeFact::Ipv6 => n.ipv6.clone(),
                    NodeFact::Public => n.public_ipv4.clone(),
                    NodeFact::Id => n.id.clone(),
                    NodeFact::Name => Some(n.name.clone()),
                    NodeFact::PrivateHost => n.private_ipv4.as_ref().map(|p| p.replace('.', "-")),
                };
                match v {
                    Some(v) => Ok(Some(v)),
                    None => Err(TokenError {
                        token: token.to_string(),
                        reason: format!("node {} has no such address yet", n.name),
                    }),
                }
            }
            TokenKind::Location(LocationFact::Id) => Ok(Some(self.this.location_id.clone())),
            TokenKind::Version => Ok(Some(env!("CARGO_PKG_VERSION").to_string())),
            _ => Ok(None),
        }
    }
}

/// Expands the tokens of one information line of node `n`; a token that cannot be resolved is left as
/// written with the reason appended.
fn expand_node_tokens(line: &str, n: &NodeFacts, all: &[&NodeFacts]) -> String {
    let ctx = InfoTokens { this: n, all };
    match tokens::expand_str(line, &ctx) {
        Ok(s) => s,
        Err(e) => format!("{line}  ({e})"),
    }
}

/// One node of the `inventory` output: the fields the original printed (libcloud's node and its
/// extras, the location, network and tags), from what plumbery observed.
#[derive(Serialize)]
struct InventoryNode<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    name: &'a str,
    state: &'a str,
    blueprint: &'a str,
    datacenter: &'a str,
    #[serde(rename = "datacenterId")]
    datacenter_id: &'a str,
    #[serde(rename = "networkDomain")]
    network_domain: &'a str,
    ethernet: &'a str,
    public_ips: Vec<&'a str>,
    private_ips: Vec<&'a str>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    size: Option<&'a ServerSize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    private_host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv6: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    monitoring: Option<&'a str>,
    /// Secondary NICs with their VLANs (the original listed their addresses in `private_ips` only).
    #[serde(rename = "extraNics", skip_serializing_if = "<[_]>::is_empty")]
    extra_nics: &'a [NicFacts],
    tags: Vec<String>,
}

fn inventory(nodes: &[&NodeFacts]) -> String {
    let entries: Vec<InventoryNode> = nodes
        .iter()
        .map(|n| {
            let mut tags = vec![
                format!("state_{}", n.state.replace(' ', "_")),
                format!("location_{}", n.location_id),
                format!("domain_{}", n.domain),
                format!("network_{}", n.vlan),
            ];
            tags.extend(n.tags.iter().cloned());
            let mut private_ips: Vec<&str> = n.private_ipv4.iter().map(String::as_str).collect();
            private_ips.extend(n.extra_nics.iter().map(|x| x.private_ipv4.as_str()));
            InventoryNode {
                kind: "node",
                id: n.id.as_deref(),
                name: &n.name,
                state: &n.state,
                blueprint: &n.blueprint,
                datacenter: &n.location_id,
                datacenter_id: &n.location_id,
                network_domain: &n.domain,
                ethernet: &n.vlan,
                public_ips: n.public_ipv4.iter().map(String::as_str).collect(),
                private_ips,
                size: n.size.as_ref(),
                private_host: n.private_ipv4.as_ref().map(|p| p.replace('.', "-")),
                ipv6: n.ipv6.as_deref(),
                monitoring: n.monitoring.as_deref(),
                extra_nics: &n.extra_nics,
                tags,
            }
        })
        .collect();
    serde_yaml::to_string(&entries).unwrap_or_default()
}

/// A value for Ansible's INI parser, which reads a quoted value as a Python literal.
fn ini_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The INI inventory: one line per host (the address Ansible connects to, the original's
/// `ansible_ssh_host` and `private_ipv4`), how to log in under `[all:vars]`, then the original's
/// groups by location (`dc_NA12`) and by hashtag (`role_web`).
fn ansible(origin: &str, nodes: &[&NodeFacts], login: Option<&Login>) -> String {
    let mut out = format!(
        "# Ansible inventory of {origin}, written by plumbery {}\n",
        env!("CARGO_PKG_VERSION")
    );
    let mut hosts: Vec<&&NodeFacts> = nodes.iter().collect();
    hosts.sort_by(|a, b| a.name.cmp(&b.name));
    for n in &hosts {
        let mut line = n.name.clone();
        // where plumbery's own ssh goes: the public IPv4, else the private one
        if let Some(h) = super::expanded::ssh_address(n) {
            line.push_str(&format!(" ansible_host={0} ansible_ssh_host={0}", h.ip()));
        }
        if let Some(p) = &n.private_ipv4 {
            line.push_str(&format!(" private_ipv4={p}"));
        }
        if let Some(p) = &n.public_ipv4 {
            line.push_str(&format!(" public_ipv4={p}"));
        }
        out.push_str(&line);
        out.push('\n');
    }
    if let Some(l) = login {
        out.push_str("\n[all:vars]\n");
        out.push_str(&format!("ansible_user={}\n", l.user));
        out.push_str(&format!(
            "ansible_ssh_private_key_file={}\n",
            ini_quote(&l.key.display().to_string())
        ));
        let args = format!(
            "-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes",
            bootstrap::shell::quote(&l.known_hosts.display().to_string())
        );
        out.push_str(&format!("ansible_ssh_common_args={}\n", ini_quote(&args)));
    }
    let dcs: BTreeSet<&str> = hosts.iter().map(|n| n.location_id.as_str()).collect();
    for dc in dcs {
        out.push_str(&format!("\n[dc_{}]\n", sanitize_group(dc)));
        for n in hosts.iter().filter(|n| n.location_id == dc) {
            out.push_str(&format!("{}\n", n.name));
        }
    }
    let roles: BTreeSet<&str> = hosts
        .iter()
        .flat_map(|n| n.tags.iter().map(String::as_str))
        .collect();
    for role in roles {
        out.push_str(&format!("\n[role_{}]\n", sanitize_group(role)));
        for n in hosts.iter().filter(|n| n.tags.iter().any(|t| t == role)) {
            out.push_str(&format!("{}\n", n.name));
        }
    }
    out
}

/// Ansible group names: letters, digits and underscores.
fn sanitize_group(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(name: &str, public: Option<&str>) -> NodeFacts {
        NodeFacts {
            name: name.into(),
            blueprint: "redis".into(),
            location_id: "NA12".into(),
            domain: "d".into(),
            vlan: "v".into(),
            id: Some("id".into()),
            state: "running".into(),
            private_ipv4: Some("10.0.0.5".into()),
            public_ipv4: public.map(Into::into),
            ipv6: None,
            monitoring: None,
            extra_nics: vec![],
            size: None,
            tags: vec!["redis".into(), "master-node".into()],
            reachable: None,
        }
    }

    #[test]
    fn ansible_inventory_logs_in_and_keeps_the_original_groups() {
        let a = facts("redis01", Some("127.77.0.2"));
        let b = facts("redis02", None);
        let login = Login {
            user: "ubuntu".into(),
            key: "/state/keys/id_rsa".into(),
            known_hosts: "/state/my plan/known_hosts".into(),
        };
        let ini = ansible("redis.yaml", &[&b, &a], Some(&login));
        assert!(ini.contains(
            "\nredis01 ansible_host=127.77.0.2 ansible_ssh_host=127.77.0.2 private_ipv4=10.0.0.5 public_ipv4=127.77.0.2\n"
        ), "{ini}");
        assert!(
            ini.contains(
                "\nredis02 ansible_host=10.0.0.5 ansible_ssh_host=10.0.0.5 private_ipv4=10.0.0.5\n"
            ),
            "{ini}"
        );
        assert!(ini.contains("[all:vars]\nansible_user=ubuntu\nansible_ssh_private_key_file='/state/keys/id_rsa'\n"), "{ini}");
        assert!(ini.contains("ansible_ssh_common_args='-o UserKnownHostsFile=\\'/state/my plan/known_hosts\\' -o StrictHostKeyChecking=yes"), "{ini}");
        assert!(ini.contains("[dc_NA12]\nredis01\nredis02\n"));
        assert!(ini.contains("[role_master_node]\n"));
        assert!(!ansible("p", &[&a], None).contains("[all:vars]"));
    }

    #[test]
    fn inventory_carries_the_original_fields() {
        let mut a = facts("redis01", Some("127.77.0.2"));
        a.size = Some(ServerSize {
            cpu: Some(2),
            cpu_cores_per_socket: Some(1),
            cpu_performance: Some("STANDARD".into()),
            memory: Some(8),
            disks: vec!["0 50 STANDARD".into()],
        });
        let text = inventory(&[&a]);
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let n = &doc[0];
        assert_eq!(n["type"], "node");
        assert_eq!(n["name"], "redis01");
        assert_eq!(n["datacenterId"], "NA12");
        assert_eq!(n["public_ips"][0], "127.77.0.2");
        assert_eq!(n["private_ips"][0], "10.0.0.5");
        assert_eq!(n["private_host"], "10-0-0-5");
        assert_eq!(
            (n["cpu"].as_u64(), n["memory"].as_u64()),
            (Some(2), Some(8))
        );
        assert_eq!(n["cpuCoresPerSocket"], 1);
        assert_eq!(n["cpuPerformance"], "STANDARD");
        assert_eq!(n["disks"][0], "0 50 STANDARD");
        let tags: Vec<&str> = n["tags"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(
            tags,
            [
                "state_running",
                "location_NA12",
                "domain_d",
                "network_v",
                "redis",
                "master-node"
            ]
        );
    }

    #[test]
    fn node_tokens_expand() {
        let n = facts("redis01", Some("127.77.0.2"));
        let mut m = facts("redis02", None);
        m.private_ipv4 = Some("10.0.0.6".into());
        let all = [&n, &m];
        assert_eq!(
            expand_node_tokens("ssh ubuntu@{{ node.public }} # {{node.private}}", &n, &all),
            "ssh ubuntu@127.77.0.2 # 10.0.0.5"
        );
        assert_eq!(
            expand_node_tokens(
                "master at {{ redis02.private }} in {{ NA12::redis02.private }}",
                &n,
                &all
            ),
            "master at 10.0.0.6 in 10.0.0.6"
        );
        assert!(expand_node_tokens("{{ redis02.public }}", &n, &all).contains("no such address"));
        assert_eq!(
            expand_node_tokens("{{ master.secret }}", &n, &all),
            "{{ master.secret }}"
        );
    }
}
