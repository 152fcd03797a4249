//! Firewall rules in the diff: the rules opening a node's ports on its public address; the rules
//! accepting traffic between VLANs (of the same domain, IPv4 and IPv6; of another location, IPv6
//! only) and the default IPv6 deny they make useless; their deletion on destroy.

use super::outcome::{BuildSteps, Deleted, Diff};
use crate::desired::{Desired, WantDomain, WantNode, WantVlan, accept_rule_name};
use crate::inventory::{DomainInventory, Inventory};
use crate::steps::Step;

/// The default rule disabled once VLANs accept each other.
const DENY6: &str = "CCDEFAULT.DenyExternalInboundIPv6";

/// Build: one `CreateFirewallRule` per port of node `n` whose rule is missing, after its NAT rule
/// and its domain.
pub(super) fn build_ports(
    n: &WantNode,
    inv: Option<&DomainInventory>,
    nat_step: Option<usize>,
    ds: Option<usize>,
    d: &mut Diff,
) {
    for p in &n.ports {
        if inv.and_then(|i| i.rule(&p.rule)).is_none() {
            d.plan.add(
                Step::CreateFirewallRule {
                    domain: n.domain.clone(),
                    node: n.name.clone(),
                    rule: p.rule.clone(),
                    protocol: p.protocol.clone(),
                    begin: p.begin,
                    end: p.end,
                },
                [nat_step, ds],
            );
        }
    }
}

/// Build: the accept rules of VLAN `wv` (from the VLANs its `accept:` names) and, in a domain this
/// run creates, the disabling of the default IPv6 deny after them.
pub(super) fn build_accept<'a>(
    wv: &'a WantVlan,
    have: &Inventory,
    steps: &mut BuildSteps<'a>,
    d: &mut Diff,
) {
    let Some(ds) = steps.domain.get(wv.domain.as_str()).copied() else {
        return;
    };
    let inv = have.domain(&wv.domain);
    let own = steps
        .vlan
        .get(&(wv.domain.as_str(), wv.name.as_str()))
        .copied()
        .flatten();
    for src in &wv.accept {
        let Some(src_step) = steps.vlan.get(&(wv.domain.as_str(), src.as_str())).copied() else {
            d.notes.push(format!(
                "VLAN {}: accepted network {src} is not a VLAN of domain {}; no rule",
                wv.name, wv.domain
            ));
            continue;
        };
        for (suffix, ipv6) in [("IP", false), ("IPv6", true)] {
            let rule = accept_rule_name(src, &wv.name, suffix);
            if inv.and_then(|i| i.rule(&rule)).is_none() {
                let s = d.plan.add(
                    Step::CreateAcceptRule {
                        domain: wv.domain.clone(),
                        rule,
                        from_vlan: src.clone(),
                        to_vlan: wv.name.clone(),
                        ipv6,
                        from_location: None,
                        from_region: None,
                    },
                    [ds, src_step, own],
                );
                steps.accept.entry(wv.domain.as_str()).or_default().push(s);
            }
        }
    }
    build_remote_accept(wv, have, inv, [ds, own], steps, d);
    if !wv.accept.is_empty() || !wv.remote_accept.is_empty() {
        disable_deny6(wv, inv, ds, steps, d);
    }
}

/// Build: the IPv6 accept rules from VLANs of other locations (only IPv6 crosses locations, the
/// original's rule). Their ranges are looked up when the step runs: another location of the plan
/// may be creating them.
fn build_remote_accept<'a>(
    wv: &'a WantVlan,
    have: &Inventory,
    inv: Option<&DomainInventory>,
    after: [Option<usize>; 2],
    steps: &mut BuildSteps<'a>,
    d: &mut Diff,
) {
    for src in &wv.remote_accept {
        let rule = accept_rule_name(&src.label, &wv.name, "IPv6");
        if have
            .missing_remote_vlans
            .contains(&(src.location.clone(), src.name.clone()))
        {
            d.notes.push(format!(
                "{rule} not created: no VLAN {} in {} (deploy it, then run again)",
                src.name, src.location
            ));
            continue;
        }
        if inv.and_then(|i| i.rule(&rule)).is_none() {
            let s = d.plan.add(
                Step::CreateAcceptRule {
                    domain: wv.domain.clone(),
                    rule,
                    from_vlan: src.name.clone(),
                    to_vlan: wv.name.clone(),
                    ipv6: true,
                    from_location: Some(src.location.clone()),
                    from_region: src.region.clone(),
                },
                after,
            );
            steps.accept.entry(wv.domain.as_str()).or_default().push(s);
        }
    }
}

/// Build: disables the default IPv6 deny of the domain of `wv`, once, after its accept rules. Only
/// for a domain created by this run: some APIs refuse to change default rules, and a second run
/// must make no change request.
fn disable_deny6(
    wv: &WantVlan,
    inv: Option<&DomainInventory>,
    ds: Option<usize>,
    steps: &BuildSteps<'_>,
    d: &mut Diff,
) {
    let enabled = inv.is_none();
    let done = d.plan.steps.iter().any(
        |s| matches!(&s.step, Step::DisableDefaultRule { domain, .. } if *domain == wv.domain),
    );
    if !enabled || done {
        return;
    }
    let after: Vec<Option<usize>> = std::iter::once(ds)
        .chain(
            steps
                .accept
                .get(wv.domain.as_str())
                .into_iter()
                .flatten()
                .map(|s| Some(*s)),
        )
        .collect();
    d.plan.add(
        Step::DisableDefaultRule {
            domain: wv.domain.clone(),
            rule: DENY6.to_string(),
        },
        after,
    );
}

/// Destroy: the deletions of the port rules of node `n` (added to `list`).
pub(super) fn destroy_ports(
    n: &WantNode,
    inv: &DomainInventory,
    list: &mut Vec<usize>,
    deleted: &mut Deleted,
    d: &mut Diff,
) {
    for p in &n.ports {
        if let Some(r) = inv.rule(&p.rule) {
            list.push(d.plan.add(
                Step::DeleteFirewallRule {
                    domain: n.domain.clone(),
                    rule: r.name.clone(),
                    id: r.id.clone(),
                },
                [],
            ));
            deleted.rules.insert(r.id.clone());
        }
    }
}

/// Destroy: the deletions of the accept rules of the plan's VLANs of domain `wd`, from local VLANs
/// and from VLANs of other locations too (the original left those behind); added to `all`.
pub(super) fn destroy_accept(
    want: &Desired,
    wd: &WantDomain,
    inv: &DomainInventory,
    all: &mut Vec<usize>,
    deleted: &mut Deleted,
    d: &mut Diff,
) {
    for wv in want.vlans.iter().filter(|v| v.domain == wd.name) {
        let sources = wv
            .accept
            .iter()
            .chain(wv.remote_accept.iter().map(|r| &r.label));
        for (src, suffix) in sources.flat_map(|s| [(s, "IP"), (s, "IPv6")]) {
            if let Some(r) = inv.rule(&accept_rule_name(src, &wv.name, suffix)) {
                all.push(d.plan.add(
                    Step::DeleteFirewallRule {
                        domain: wd.name.clone(),
                        rule: r.name.clone(),
                        id: r.id.clone(),
                    },
                    [],
                ));
                deleted.rules.insert(r.id.clone());
            }
        }
    }
}
