//! Public IPv4 blocks in the diff: enough blocks (2 addresses each) for the internet nodes that have
//! no NAT rule yet and the listeners to create, within the domain's limit, when building; the
//! blocks no remaining NAT rule or listener uses, when destroying the network.

use std::collections::HashMap;

use super::outcome::{Deleted, Diff};
use crate::desired::{Desired, WantDomain};
use crate::inventory::DomainInventory;
use crate::steps::Step;

/// Build: the `AddIpBlocks` step of domain `wd` (after `ds`), if it needs blocks.
pub(super) fn build(
    want: &Desired,
    wd: &WantDomain,
    inv: Option<&DomainInventory>,
    ds: Option<usize>,
    d: &mut Diff,
) -> Vec<usize> {
    // Public addresses: one per internet node that has no NAT rule yet, one per listener to create
    // without a fixed address.
    let nodes = want
        .nodes
        .iter()
        .filter(|n| n.domain == wd.name && n.internet);
    let listeners = want
        .balancers
        .iter()
        .filter(|b| b.domain == wd.name)
        .flat_map(|b| &b.listeners)
        .filter(|l| l.address.is_none() && inv.and_then(|i| i.listener(&l.name)).is_none())
        .count();
    let (servers, nats) = inv.map_or_else(Default::default, |i| {
        (i.servers_by_name(), i.nats_by_internal_ip())
    });
    let missing = listeners
        + nodes
            .filter(|n| {
                let server = servers.get(n.name.as_str());
                let ip = server.and_then(|s| s.private_ipv4());
                !ip.is_some_and(|ip| nats.contains_key(ip))
            })
            .count();
    let free = inv.map_or(0, |i| i.free_public_ips().len());
    let mut blocks = missing.saturating_sub(free).div_ceil(2);
    if let Some(limit) = wd.ipv4_limit {
        let have_addrs: u32 = inv.map_or(0, |i| i.ip_blocks.iter().map(|b| b.size).sum());
        let room = (limit.saturating_sub(have_addrs) / 2) as usize;
        if blocks > room {
            d.notes.push(format!(
                "network domain {} needs more public IPv4 addresses than its limit of {limit}",
                wd.name
            ));
            blocks = room;
        }
    }
    if blocks == 0 {
        return Vec::new();
    }
    let step = Step::AddIpBlocks {
        domain: wd.name.clone(),
        count: blocks,
    };
    vec![d.plan.add(step, [ds])]
}

/// Destroy: removes the blocks of domain `wd` that no remaining NAT rule uses (after the NAT
/// deletions), each removal added to `all`. Returns how many blocks are left.
pub(super) fn destroy(
    wd: &WantDomain,
    inv: &DomainInventory,
    all: &mut Vec<usize>,
    deleted: &Deleted,
    d: &mut Diff,
) -> usize {
    let remaining_nat: Vec<&str> = inv
        .nat_rules
        .iter()
        .filter(|n| !deleted.nat.contains(&n.id))
        .map(|n| n.external_ip.trim())
        .chain(
            inv.listeners
                .iter()
                .filter(|l| !deleted.listeners.contains(&l.id))
                .filter_map(|l| l.ip.as_deref().map(str::trim)),
        )
        .collect();
    // A block waits for the deletions of the NAT rules on its addresses (a NAT rule uses one
    // address: every block waiting for every deletion made 500,000 edges at 1,000 nodes) and for
    // the listener deletions.
    let mut nat_by_ip: HashMap<String, Vec<usize>> = HashMap::new();
    for &s in deleted.nat_deletes.get(&wd.name).into_iter().flatten() {
        if let Step::DeleteNat { external_ip, .. } = &d.plan.steps[s].step {
            nat_by_ip.entry(external_ip.clone()).or_default().push(s);
        }
    }
    let frees: Vec<usize> = deleted
        .address_frees
        .get(&wd.name)
        .cloned()
        .unwrap_or_default();
    let mut blocks_left = 0;
    for b in &inv.ip_blocks {
        let used = b
            .addresses()
            .iter()
            .any(|a| remaining_nat.contains(&a.to_string().as_str()));
        if used {
            blocks_left += 1;
            continue;
        }
        let addresses: Vec<String> = b.addresses().iter().map(|a| a.to_string()).collect();
        let after: Vec<Option<usize>> = addresses
            .iter()
            .flat_map(|a| nat_by_ip.get(a.as_str()).into_iter().flatten())
            .chain(&frees)
            .map(|s| Some(*s))
            .collect();
        let step = Step::RemoveIpBlock {
            domain: wd.name.clone(),
            id: b.id.clone(),
            base_ip: b.base_ip.trim().to_string(),
        };
        all.push(d.plan.add(step, after));
    }
    blocks_left
}
