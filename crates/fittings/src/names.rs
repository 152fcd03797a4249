//! Cloud resource names the original derived from plan names (firewall rules, load balancer pool and
//! listeners). The engine uses them to find what an earlier run created.

use super::model::{FirewallPort, NetworkRef, title_alnum};

pub use super::model::firewall_rule_name;

/// `<Src>` / `<Dst>` of an accept rule: the last two `::` parts joined with `-`, title-cased, stripped of
/// non-alphanumerics (`gigafox.control` -> `GigafoxControl`, `EU6::front` -> `Eu6Front`).
pub fn network_title(network: &NetworkRef) -> String {
    let text = match &network.location {
        Some(loc) => format!("{loc}-{}", network.name),
        None => network.name.clone(),
    };
    title_alnum(&text)
}

/// Name of the rule accepting traffic from `source` into `destination`: `From<Src>To<Dst>.IP.plumbery`
/// for IPv4 and `From<Src>To<Dst>.IPv6.plumbery` for IPv6.
pub fn accept_rule_name(source: &NetworkRef, destination: &NetworkRef, ipv6: bool) -> String {
    let family = if ipv6 { "IPv6" } else { "IP" };
    format!(
        "From{}To{}.{family}.plumbery",
        network_title(source),
        network_title(destination)
    )
}

/// Load balancer pool of a blueprint: `<blueprint>.<location lower-case>.pool`.
pub fn pool_name(blueprint: &str, location_id: &str) -> String {
    format!("{blueprint}.{}.pool", location_id.to_lowercase())
}

/// Virtual listener of a balancer: `<label>.<blueprint>.<location lower-case>.balancer`.
pub fn listener_name(label: &str, blueprint: &str, location_id: &str) -> String {
    format!(
        "{label}.{blueprint}.{}.balancer",
        location_id.to_lowercase()
    )
}

/// Firewall rule of a listener: `<ListenerTitle>.<port>.plumbery` (`HttpWebEu6Balancer.80.plumbery`).
pub fn listener_rule_name(listener: &str, port: u16) -> String {
    format!("{}.{port}.plumbery", title_alnum(listener))
}

/// Whether a firewall rule belongs to a node: exact `<NodeTitle>.` prefix (the original matched a bare
/// case-insensitive prefix, so `web1` also took the rules of `web10`).
pub fn rule_belongs_to_node(rule_name: &str, node_name: &str) -> bool {
    let prefix = format!("{}.", title_alnum(node_name));
    rule_name.starts_with(&prefix)
}

/// All firewall rule names of a node's `internet` glue ports.
pub fn node_rule_names(node_name: &str, ports: &[FirewallPort]) -> Vec<String> {
    ports
        .iter()
        .map(|p| firewall_rule_name(node_name, p))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Protocol;

    #[test]
    fn names_follow_the_original() {
        let net = |s: &str| NetworkRef::parse(s).unwrap();
        assert_eq!(
            accept_rule_name(&net("gigafox.control"), &net("myNetwork"), false),
            "FromGigafoxControlToMynetwork.IP.plumbery"
        );
        assert_eq!(
            accept_rule_name(&net("dd-eu::EU6::front"), &net("back"), true),
            "FromEu6FrontToBack.IPv6.plumbery"
        );
        assert_eq!(pool_name("web", "EU6"), "web.eu6.pool");
        let listener = listener_name("http", "web", "EU6");
        assert_eq!(listener, "http.web.eu6.balancer");
        assert_eq!(
            listener_rule_name(&listener, 80),
            "HttpWebEu6Balancer.80.plumbery"
        );
        assert!(rule_belongs_to_node("Web1.TCPv4_22.plumbery", "web1"));
        assert!(!rule_belongs_to_node("Web10.TCPv4_22.plumbery", "web1"));
        let p = FirewallPort {
            protocol: Protocol::Udp,
            begin: Some(137),
            end: Some(138),
        };
        assert_eq!(
            node_rule_names("web1", &[p]),
            ["Web1.UDPv4_137..138.plumbery"]
        );
    }
}
