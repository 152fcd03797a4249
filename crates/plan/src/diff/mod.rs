//! The diff: from what a location wants ([`Desired`]) and what it holds ([`Inventory`]) to the DAG of
//! steps of one phase (build, start, stop, destroy). Pure functions: no I/O.
//!
//! This file only orders the resource kinds; each kind's rules live in its own file: `domain`,
//! `vlan`, `reserved` (addresses reserved on a VLAN), `public_ips`, `server` (deploy, power,
//! monitoring, delete), `hardware`, `nics`, `nat`, `firewall`, `balancer` (pools, VIP nodes,
//! members, listeners), `backup` and `tags`.

mod backup;
mod balancer;
mod domain;
mod firewall;
mod hardware;
mod nat;
mod nics;
pub(crate) mod outcome;
mod public_ips;
mod reserved;
mod server;
mod tags;
mod vlan;

#[cfg(test)]
mod balancer_tests;
#[cfg(test)]
mod tests;

use crate::desired::{Desired, WantNode};
use crate::inventory::Inventory;
use crate::phase::Phase;
use outcome::{BuildSteps, Deleted, Diff};

pub use server::pick_image;

/// Computes the steps of `phase`.
pub fn diff(want: &Desired, have: &Inventory, phase: Phase) -> Diff {
    let mut d = Diff::default();
    match phase {
        Phase::Build { start } => build(want, have, start, &mut d),
        Phase::Start => server::power(want, have, true, &mut d),
        Phase::Stop => server::power(want, have, false, &mut d),
        Phase::Destroy { network, stop } => destroy(want, have, network, stop, &mut d),
    }
    d
}

/// Build: the network of each domain (domain, VLANs with their reservations, public IP blocks),
/// then each node (server, hardware, NICs, power, monitoring, NAT, port rules), then the rules
/// between VLANs.
fn build(want: &Desired, have: &Inventory, start: bool, d: &mut Diff) {
    let mut steps = BuildSteps {
        tag_keys: tags::build_keys(want, have, d),
        ..BuildSteps::default()
    };
    for wd in &want.domains {
        let inv = have.domain(&wd.name);
        let Some(ds) = domain::build(wd, inv, d) else {
            continue;
        };
        steps.domain.insert(&wd.name, ds);
        let mut last_vlan = None;
        for wv in want.vlans.iter().filter(|v| v.domain == wd.name) {
            let vs = vlan::build(wv, inv, ds, &mut last_vlan, d);
            steps.vlan.insert((&wd.name, &wv.name), vs);
        }
        let blocks = public_ips::build(want, wd, inv, ds, d);
        steps.blocks.insert(&wd.name, blocks);
    }
    for n in &want.nodes {
        server::build(want, have, n, start, &mut steps, d);
    }
    for wv in &want.vlans {
        firewall::build_accept(wv, have, &mut steps, d);
    }
    for wb in &want.balancers {
        balancer::build(wb, have, &steps, d);
    }
}

/// Destroy: the nodes (non-basement first), then with `network` what each domain holds for the
/// plan, the domain last when nothing else is left in it.
fn destroy(want: &Desired, have: &Inventory, network: bool, stop: bool, d: &mut Diff) {
    let mut order: Vec<&WantNode> = want.nodes.iter().filter(|n| !n.basement).collect();
    order.extend(want.nodes.iter().filter(|n| n.basement));
    let mut deleted = Deleted::default();
    // Listeners, pool members, pools and VIP nodes go before the servers they front.
    balancer::destroy(want, have, (network, stop), &mut deleted, d);
    for n in order {
        server::destroy(n, have, stop, &mut deleted, d);
    }
    if !network {
        return;
    }
    for wd in &want.domains {
        let Some(inv) = have.domain(&wd.name) else {
            continue;
        };
        let mut all = deleted
            .per_domain
            .get(&wd.name)
            .cloned()
            .unwrap_or_default();
        // What a run that raced this one (a build after the servers went) may have left: port
        // rules of nodes that have no server, NAT rules to addresses no server holds.
        let servers = inv.servers_by_name();
        for n in want.nodes.iter().filter(|n| n.domain == wd.name) {
            if !servers.contains_key(n.name.as_str()) && !n.destroy_never {
                firewall::destroy_ports(n, inv, &mut all, &mut deleted, d);
            }
        }
        nat::destroy_orphans(wd, inv, &mut all, &mut deleted, d);
        firewall::destroy_accept(want, wd, inv, &mut all, &mut deleted, d);
        let left = domain::Left {
            blocks: public_ips::destroy(wd, inv, &mut all, &deleted, d),
            vlans: vlan::destroy(want, wd, inv, &mut all, &deleted, d),
            servers: inv
                .servers
                .iter()
                .filter(|s| !deleted.servers.contains(&s.id))
                .count(),
            rules: inv
                .firewall_rules
                .iter()
                .filter(|r| r.is_client_rule() && !deleted.rules.contains(&r.id))
                .count(),
            nat: inv
                .nat_rules
                .iter()
                .filter(|n| !deleted.nat.contains(&n.id))
                .count(),
        };
        domain::destroy(wd, inv, all, &left, d);
    }
}
