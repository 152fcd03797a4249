//! Secondary NICs (`glue: - <network> [address | .suffix]`) in the diff: the AttachNic steps, and
//! which VLANs the servers' NICs hold (so that destroy deletes a VLAN only after every plan server
//! with a NIC on it, and keeps one a foreign server still uses).
//!
//! A NIC needs a VLAN of the node's own network domain, in the plan or already in the domain; it is
//! attached once the server is deployed and the VLAN exists. A NIC already on that VLAN is left
//! alone (a note says so when its address is not the plan's). Destroy removes no NIC by itself:
//! deleting the server removes its NICs.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use fittings::GlueAddress;
use fittings::complete_address;
use ipnet::Ipv4Net;

use super::outcome::Diff;
use crate::desired::{Desired, WantNic, WantNode};
use crate::inventory::{DomainInventory, Inventory, Server};
use crate::steps::Step;

/// Names of the servers of `inv` not in `deleted` that have a NIC (primary or secondary) on VLAN
/// `vlan_id`, as (primary users, secondary-NIC users).
pub(super) fn vlan_users(
    inv: &DomainInventory,
    vlan_id: &str,
    deleted: &BTreeSet<String>,
) -> (Vec<String>, Vec<String>) {
    let mut primary = Vec::new();
    let mut secondary = Vec::new();
    for s in inv.servers.iter().filter(|s| !deleted.contains(&s.id)) {
        let ids = s.vlan_ids();
        if ids.first().is_some_and(|v| v == vlan_id) {
            primary.push(s.name.clone());
        } else if ids.iter().any(|v| v == vlan_id) {
            secondary.push(s.name.clone());
        }
    }
    (primary, secondary)
}

/// The note for a plan VLAN kept because servers that stay use it.
pub(super) fn kept_vlan_note(vlan: &str, primary: &[String], secondary: &[String]) -> String {
    if primary.is_empty() {
        format!(
            "VLAN {vlan} still carries NICs of {} (HAS_DEPENDENCY); kept",
            secondary.join(", ")
        )
    } else {
        format!("VLAN {vlan} still holds servers; kept")
    }
}

/// Where a NIC's VLAN comes from: planned (maybe created by step `step`), or found in the domain.
struct Target {
    subnet: Option<Ipv4Net>,
    id: Option<String>,
    step: Option<usize>,
}

fn target(
    want: &Desired,
    inv: Option<&DomainInventory>,
    n: &WantNode,
    nic: &WantNic,
    vlan_step: &BTreeMap<(&str, &str), Option<usize>>,
) -> Option<Target> {
    let found = inv.and_then(|i| i.vlan(&nic.network));
    let id = found.map(|v| v.id.clone());
    let planned = want
        .vlans
        .iter()
        .find(|v| v.domain == n.domain && v.name == nic.network);
    if let Some(p) = planned {
        let step = vlan_step
            .get(&(n.domain.as_str(), nic.network.as_str()))
            .copied()?;
        let subnet = format!("{}/{}", p.base, p.prefix).parse().ok();
        return Some(Target { subnet, id, step });
    }
    let v = found?;
    let subnet = format!("{}/{}", v.ipv4_base.trim(), v.ipv4_prefix)
        .parse()
        .ok();
    Some(Target {
        subnet,
        id,
        step: None,
    })
}

pub(super) fn full_address(address: &str, subnet: &Ipv4Net) -> Option<Ipv4Addr> {
    let a = if address.starts_with('.') {
        GlueAddress::Suffix(address.to_string())
    } else {
        GlueAddress::Full(address.parse().ok()?)
    };
    complete_address(&a, subnet)
}

/// The full address the NIC asks for (`Ok(None)`: any free one), or the note on why it cannot be
/// attached.
fn nic_address(n: &WantNode, nic: &WantNic, t: &Target) -> Result<Option<String>, String> {
    match (&nic.address, &t.subnet) {
        (None, _) => Ok(None),
        (Some(a), Some(subnet)) => match full_address(a, subnet) {
            Some(ip) => Ok(Some(ip.to_string())),
            None => Err(format!(
                "node {}: the extra NIC on {} is not attached: {a} is not inside {subnet}",
                n.name, nic.network
            )),
        },
        (Some(_), None) => Err(format!(
            "node {}: the extra NIC on {} is not attached: the subnet of {} is unknown",
            n.name, nic.network, nic.network
        )),
    }
}

/// The AttachNic steps of node `n` (whose server is `server`, or about to be deployed), each after
/// `ready` (the server deployed and changed) and after its VLAN's own step, chained one after the
/// other; returns the last step. A network that is no VLAN of the node's domain, or an address
/// outside its subnet, is a note.
pub(super) fn attach_steps(
    want: &Desired,
    have: &Inventory,
    n: &WantNode,
    server: Option<&Server>,
    ready: Option<usize>,
    vlan_step: &BTreeMap<(&str, &str), Option<usize>>,
    d: &mut Diff,
) -> Option<usize> {
    let inv = have.domain(&n.domain);
    let mut last = ready;
    for nic in &n.extra_nics {
        let Some(t) = target(want, inv, n, nic, vlan_step) else {
            d.notes.push(format!(
                "node {}: the extra NIC on {} is not attached: {} is not a VLAN of network domain {}",
                n.name, nic.network, nic.network, n.domain
            ));
            continue;
        };
        let address = match nic_address(n, nic, &t) {
            Ok(a) => a,
            Err(note) => {
                d.notes.push(note);
                continue;
            }
        };
        let existing = t.id.as_deref().and_then(|vid| {
            server.and_then(|s| {
                s.additional_nics
                    .iter()
                    .find(|x| x.vlan_id.as_deref().map(str::trim) == Some(vid))
            })
        });
        if let Some(x) = existing {
            let have_ip = x.private_ipv4.as_deref().unwrap_or_default().trim();
            if let Some(want_ip) = &address
                && want_ip != have_ip
            {
                d.notes.push(format!(
                    "node {}: its NIC on {} has {have_ip}, the plan asks {want_ip}; left as it is",
                    n.name, nic.network
                ));
            }
            continue;
        }
        last = Some(d.plan.add(
            Step::AttachNic {
                domain: n.domain.clone(),
                node: n.name.clone(),
                vlan: nic.network.clone(),
                address,
            },
            [last, t.step],
        ));
    }
    last
}
