//! Read-only outputs built from the observed facts of the nodes: information (per node state,
//! addresses, monitoring, the plan's information lines with their tokens expanded), inventory
//! (YAML), ansible (INI) and ping (the reachability found by `ping`).

use std::collections::BTreeSet;

use fittings::Plan;
use fittings::tokens::{
    self, LocationFact, NodeFact, NodeSel, TokenContext, TokenError, TokenKind,
};

use super::balancers::{self, ListenerFacts};
use super::facts::NodeFacts;
use crate::action::Action;

/// The text output of an action, if it has one.
pub fn render(
    action: Action,
    plan: &Plan,
    nodes: &[&NodeFacts],
    listeners: &[&ListenerFacts],
) -> Option<String> {
    match action {
        Action::Information | Action::Deploy | Action::Refresh => {
            let mut text = information(plan, nodes);
            text.push_str(&balancers::information(plan, listeners));
            Some(text)
        }
        Action::Inventory => Some(serde_yaml::to_string(&nodes).unwrap_or_default()),
        Action::Ansible => Some(ansible(nodes)),
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

fn ansible(nodes: &[&NodeFacts]) -> String {
    let mut out = String::new();
    let mut hosts: Vec<&&NodeFacts> = nodes.iter().collect();
    hosts.sort_by(|a, b| a.name.cmp(&b.name));
    for n in &hosts {
        let host = n
            .public_ipv4
            .as_deref()
            .or(n.ipv6.as_deref())
            .or(n.private_ipv4.as_deref());
        let mut line = n.name.clone();
        if let Some(p) = &n.private_ipv4 {
            line.push_str(&format!(" private_ipv4={p}"));
        }
        if let Some(h) = host {
            line.push_str(&format!(" ansible_host={h}"));
        }
        out.push_str(&line);
        out.push('\n');
    }
    let dcs: BTreeSet<&str> = hosts.iter().map(|n| n.location_id.as_str()).collect();
    for dc in dcs {
        out.push_str(&format!("\n[dc_{dc}]\n"));
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
            tags: vec!["redis".into(), "master-node".into()],
            reachable: None,
        }
    }

    #[test]
    fn ansible_keeps_the_private_address_private() {
        let a = facts("redis01", Some("127.77.0.2"));
        let b = facts("redis02", None);
        let ini = ansible(&[&b, &a]);
        assert!(ini.starts_with("redis01 private_ipv4=10.0.0.5 ansible_host=127.77.0.2\n"));
        assert!(ini.contains("redis02 private_ipv4=10.0.0.5 ansible_host=10.0.0.5\n"));
        assert!(ini.contains("[dc_NA12]\nredis01\nredis02\n"));
        assert!(ini.contains("[role_master_node]\n"));
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
