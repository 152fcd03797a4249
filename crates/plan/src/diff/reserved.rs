//! Reserved private IPv4 addresses (`ethernet: reserved:`) in the diff: the steps that reserve
//! missing addresses right after their VLAN (before any server is deployed on it, so automatic
//! allocation cannot take them), and those that release the plan's addresses before the VLAN is
//! deleted. What the plan wants is in `desired`; running the steps is the engine's.

use std::collections::BTreeSet;

use crate::desired::WantVlan;
use crate::inventory::{DomainInventory, State, Vlan};
use crate::steps::{Step, StepPlan};

/// Addresses observed reserved on VLAN `vlan_id`.
fn reserved_on<'a>(inv: &'a DomainInventory, vlan_id: &'a str) -> BTreeSet<&'a str> {
    inv.reserved
        .iter()
        .filter(|r| r.vlan_id == vlan_id)
        .map(|r| r.ip_address.as_str())
        .collect()
}

/// Build: one `ReservePrivateIpv4` step per address of `wv` not reserved yet, chained after `ds`
/// (domain) and `vs` (VLAN) steps. Returns the step after which the VLAN is ready for servers (the
/// last reservation, else `vs`). An address a server already holds gets a note instead.
pub(super) fn build(
    wv: &WantVlan,
    inv: Option<&DomainInventory>,
    ds: Option<usize>,
    vs: Option<usize>,
    plan: &mut StepPlan,
    notes: &mut Vec<String>,
) -> Option<usize> {
    let vlan = inv.and_then(|i| i.vlan(&wv.name));
    if vlan.is_some_and(|v| !v.state.is_pending() && v.state != State::Normal) {
        return vs;
    }
    let (have, servers) = match (inv, vlan) {
        (Some(i), Some(v)) => (reserved_on(i, &v.id), held_by_servers(i, v)),
        _ => (BTreeSet::new(), Vec::new()),
    };
    let mut last = vs;
    for ip in wv.reserved.iter().filter(|ip| !have.contains(ip.as_str())) {
        if let Some((_, name)) = servers.iter().find(|(a, _)| a == ip) {
            notes.push(format!(
                "VLAN {}: {ip} is held by server {name}; it is not reserved",
                wv.name
            ));
            continue;
        }
        last = Some(plan.add(
            Step::ReservePrivateIpv4 {
                domain: wv.domain.clone(),
                vlan: wv.name.clone(),
                ip: ip.clone(),
            },
            [ds, last],
        ));
    }
    last
}

/// (address, server name) of the servers' primary NICs on VLAN `v`.
fn held_by_servers(inv: &DomainInventory, v: &Vlan) -> Vec<(String, String)> {
    inv.servers
        .iter()
        .filter(|s| {
            s.primary_nic
                .as_ref()
                .and_then(|nic| nic.vlan_id.as_deref())
                == Some(v.id.as_str())
        })
        .filter_map(|s| s.private_ipv4().map(|a| (a.to_string(), s.name.clone())))
        .collect()
}

/// Destroy: the `UnreservePrivateIpv4` steps that must precede deleting VLAN `v` (the plan's
/// addresses observed reserved on it). `Err(note)` when the VLAN holds reservations the plan does
/// not list: the VLAN cannot be deleted, so it is kept with its reservations.
pub(super) fn release(
    wv: &WantVlan,
    v: &Vlan,
    inv: &DomainInventory,
    plan: &mut StepPlan,
) -> Result<Vec<Option<usize>>, String> {
    let have = reserved_on(inv, &v.id);
    let foreign: Vec<&str> = have
        .iter()
        .copied()
        .filter(|a| !wv.reserved.iter().any(|w| w == a))
        .collect();
    if !foreign.is_empty() {
        return Err(format!(
            "VLAN {} holds reserved addresses the plan does not list ({}); kept",
            wv.name,
            foreign.join(", ")
        ));
    }
    Ok(wv
        .reserved
        .iter()
        .filter(|ip| have.contains(ip.as_str()))
        .map(|ip| {
            Some(plan.add(
                Step::UnreservePrivateIpv4 {
                    domain: wv.domain.clone(),
                    vlan: wv.name.clone(),
                    id: v.id.clone(),
                    ip: ip.clone(),
                },
                [],
            ))
        })
        .collect())
}
