//! Which public TCP ports a NAT rule exposes, given the domain's firewall rules in evaluation order.
//!
//! For a port, the first enabled rule whose protocol covers TCP (`TCP` or `IP`), whose destination
//! matches the NAT rule (its external *or* internal address; `None` = ANY) and whose port range holds
//! the port decides: ACCEPT opens it, DROP keeps it closed. No matching rule: closed.
//!
//! A userspace listener needs finite ports, so the candidates are: every port of explicit TCP ranges
//! of up to [`MAX_EXPANDED_RANGE`] ports; for larger ranges, their first port and the [`WELL_KNOWN`]
//! ports inside them; for rules without ports (ANY, or protocol IP), the [`WELL_KNOWN`] ports.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use emulator::backend::{FirewallRuleSpec, NatSpec};

/// Ports opened for rules that accept any port.
pub const WELL_KNOWN: &[u16] = &[
    21, 22, 25, 53, 80, 110, 143, 443, 465, 587, 993, 995, 2049, 3000, 3306, 5000, 5432, 5601,
    5672, 5984, 6379, 6443, 8000, 8080, 8443, 8888, 9000, 9090, 9200, 9300, 11211, 15672, 26379,
    27017,
];

/// Explicit port ranges up to this size are opened port by port.
pub const MAX_EXPANDED_RANGE: u32 = 256;

fn dest_matches(rule: &FirewallRuleSpec, addr: Ipv4Addr) -> bool {
    match (rule.dest_ip, rule.dest_prefix) {
        (None, _) => true,
        (Some(ip), None) | (Some(ip), Some(32)) => ip == addr,
        (Some(ip), Some(p)) => {
            let mask = if p == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(p.min(32)))
            };
            u32::from(ip) & mask == u32::from(addr) & mask
        }
    }
}

fn applies(rule: &FirewallRuleSpec, nat: &NatSpec) -> bool {
    rule.enabled
        && matches!(rule.protocol.to_ascii_uppercase().as_str(), "TCP" | "IP")
        && (dest_matches(rule, nat.external) || dest_matches(rule, nat.internal))
}

fn port_matches(rule: &FirewallRuleSpec, port: u16) -> bool {
    match rule.dest_ports {
        None => true,
        Some((lo, hi)) => lo <= port && port <= hi,
    }
}

/// The first applicable rule for `port` decides; `true` when it accepts.
pub fn accepts(nat: &NatSpec, rules: &[FirewallRuleSpec], port: u16) -> bool {
    rules
        .iter()
        .find(|r| applies(r, nat) && port_matches(r, port))
        .is_some_and(|r| r.accept)
}

/// The TCP ports to listen on for `nat`.
pub fn open_ports(nat: &NatSpec, rules: &[FirewallRuleSpec]) -> BTreeSet<u16> {
    let mut candidates: BTreeSet<u16> = BTreeSet::new();
    for r in rules.iter().filter(|r| applies(r, nat) && r.accept) {
        match r.dest_ports {
            None => candidates.extend(WELL_KNOWN),
            Some((lo, hi)) if lo <= hi => {
                if u32::from(hi) - u32::from(lo) < MAX_EXPANDED_RANGE {
                    candidates.extend(lo..=hi);
                } else {
                    candidates.insert(lo);
                    candidates.extend(WELL_KNOWN.iter().filter(|p| (lo..=hi).contains(*p)));
                }
            }
            Some(_) => {}
        }
    }
    candidates.retain(|p| *p != 0 && accepts(nat, rules, *p));
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nat() -> NatSpec {
        NatSpec {
            id: "n".into(),
            internal: Ipv4Addr::new(10, 0, 0, 11),
            external: Ipv4Addr::new(127, 77, 0, 11),
        }
    }

    fn rule(
        accept: bool,
        proto: &str,
        dest: Option<Ipv4Addr>,
        ports: Option<(u16, u16)>,
    ) -> FirewallRuleSpec {
        FirewallRuleSpec {
            id: "r".into(),
            accept,
            enabled: true,
            protocol: proto.into(),
            dest_ip: dest,
            dest_prefix: None,
            dest_ports: ports,
        }
    }

    #[test]
    fn nothing_open_without_rules() {
        assert!(open_ports(&nat(), &[]).is_empty());
    }

    #[test]
    fn single_port_rule_opens_that_port_only() {
        let rules = [rule(
            true,
            "TCP",
            Some(Ipv4Addr::new(127, 77, 0, 11)),
            Some((22, 22)),
        )];
        assert_eq!(open_ports(&nat(), &rules), BTreeSet::from([22]));
    }

    #[test]
    fn internal_address_and_networks_match_too() {
        let mut r = rule(
            true,
            "TCP",
            Some(Ipv4Addr::new(10, 0, 0, 0)),
            Some((6379, 6379)),
        );
        r.dest_prefix = Some(24);
        assert_eq!(open_ports(&nat(), &[r]), BTreeSet::from([6379]));
        let other = rule(
            true,
            "TCP",
            Some(Ipv4Addr::new(10, 0, 0, 12)),
            Some((22, 22)),
        );
        assert!(open_ports(&nat(), &[other]).is_empty());
    }

    #[test]
    fn earlier_drop_wins_and_placement_matters() {
        let drop22 = rule(false, "TCP", None, Some((22, 22)));
        let any = rule(true, "IP", None, None);
        let open = open_ports(&nat(), &[drop22.clone(), any.clone()]);
        assert!(!open.contains(&22));
        assert!(open.contains(&6379) && open.contains(&80));
        assert!(open_ports(&nat(), &[any, drop22]).contains(&22));
    }

    #[test]
    fn disabled_and_udp_rules_are_ignored() {
        let mut r = rule(true, "TCP", None, Some((22, 22)));
        r.enabled = false;
        let udp_drop = rule(false, "UDP", None, Some((22, 22)));
        let tcp = rule(true, "TCP", None, Some((22, 22)));
        assert!(open_ports(&nat(), &[r]).is_empty());
        assert_eq!(open_ports(&nat(), &[udp_drop, tcp]), BTreeSet::from([22]));
    }

    #[test]
    fn ranges_expand_up_to_a_limit() {
        let small = rule(true, "TCP", None, Some((8000, 8009)));
        assert_eq!(open_ports(&nat(), &[small]).len(), 10);
        let big = rule(true, "TCP", None, Some((1024, 65535)));
        let open = open_ports(&nat(), &[big]);
        assert!(open.contains(&1024) && open.contains(&6379) && !open.contains(&22));
        assert!(open.len() < 40);
    }
}
