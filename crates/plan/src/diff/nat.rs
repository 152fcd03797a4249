//! NAT rules in the diff: one per internet node that has none, once its server is deployed and the
//! domain's new public IP blocks are there; deleted with the node's server, or with the network
//! when no server holds their internal address any more.

use super::outcome::{Deleted, Diff};
use crate::desired::{WantDomain, WantNode};
use crate::inventory::{DomainInventory, Server};
use crate::steps::Step;

/// Build: the `CreateNat` step of internet node `n` when it has no NAT rule (after `after` and
/// `blocks`), else `None`.
pub(super) fn build(
    n: &WantNode,
    inv: Option<&DomainInventory>,
    server: Option<&Server>,
    after: [Option<usize>; 2],
    blocks: &[usize],
    d: &mut Diff,
) -> Option<usize> {
    let ip = server.and_then(|s| s.private_ipv4());
    let nat = match (inv, ip) {
        (Some(i), Some(ip)) => i.nat_for(ip),
        _ => None,
    };
    if nat.is_some() {
        return None;
    }
    let mut deps: Vec<Option<usize>> = after.to_vec();
    deps.extend(blocks.iter().map(|s| Some(*s)));
    Some(d.plan.add(
        Step::CreateNat {
            domain: n.domain.clone(),
            node: n.name.clone(),
        },
        deps,
    ))
}

/// Destroy: the deletion of the NAT rule of server `s`, if it has one (added to `list`).
pub(super) fn destroy(
    n: &WantNode,
    s: &Server,
    inv: &DomainInventory,
    list: &mut Vec<usize>,
    deleted: &mut Deleted,
    d: &mut Diff,
) {
    let Some(nat) = s.private_ipv4().and_then(|ip| inv.nat_for(ip)) else {
        return;
    };
    let id = d.plan.add(
        Step::DeleteNat {
            domain: n.domain.clone(),
            node: n.name.clone(),
            id: nat.id.clone(),
            external_ip: nat.external_ip.trim().to_string(),
        },
        [],
    );
    list.push(id);
    deleted
        .nat_deletes
        .entry(n.domain.clone())
        .or_default()
        .push(id);
    deleted.nat.insert(nat.id.clone());
}

/// Destroy (the network): the deletion of each NAT rule of domain `wd` whose internal address no
/// server of the domain holds (its server went while a racing run created the rule), added to
/// `all`.
pub(super) fn destroy_orphans(
    wd: &WantDomain,
    inv: &DomainInventory,
    all: &mut Vec<usize>,
    deleted: &mut Deleted,
    d: &mut Diff,
) {
    let held: Vec<&str> = inv
        .servers
        .iter()
        .flat_map(|s| s.primary_nic.iter().chain(&s.additional_nics))
        .filter_map(|n| n.private_ipv4.as_deref())
        .map(str::trim)
        .collect();
    for nat in &inv.nat_rules {
        if deleted.nat.contains(&nat.id) || held.contains(&nat.internal_ip.trim()) {
            continue;
        }
        let id = d.plan.add(
            Step::DeleteNat {
                domain: wd.name.clone(),
                node: nat.internal_ip.trim().to_string(),
                id: nat.id.clone(),
                external_ip: nat.external_ip.trim().to_string(),
            },
            [],
        );
        all.push(id);
        deleted
            .nat_deletes
            .entry(wd.name.clone())
            .or_default()
            .push(id);
        deleted.nat.insert(nat.id.clone());
    }
}
