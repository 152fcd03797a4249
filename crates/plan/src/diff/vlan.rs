//! VLANs in the diff: created (one after the other in a domain) or waited for when building, their
//! reserved addresses right after them; deleted when destroying the network, once no server that
//! stays holds a NIC on them and their reservations are released.

use super::outcome::{Deleted, Diff};
use super::{nics, reserved};
use crate::desired::{Desired, WantDomain, WantVlan};
use crate::inventory::DomainInventory;
use crate::steps::Step;

/// Build: the step after which VLAN `wv` takes servers (created or waited for, then its addresses
/// reserved), after `ds` (its domain); a VLAN created here also waits for `last_created`, which it
/// becomes.
pub(super) fn build(
    wv: &WantVlan,
    inv: Option<&DomainInventory>,
    ds: Option<usize>,
    last_created: &mut Option<usize>,
    d: &mut Diff,
) -> Option<usize> {
    let plan = &mut d.plan;
    let vs = match inv.and_then(|i| i.vlan(&wv.name)).map(|v| &v.state) {
        None => {
            let s = plan.add(
                Step::CreateVlan {
                    domain: wv.domain.clone(),
                    vlan: wv.name.clone(),
                    description: wv.description.clone(),
                    base: wv.base.clone(),
                    prefix: wv.prefix,
                },
                [ds, *last_created],
            );
            *last_created = Some(s);
            Some(s)
        }
        Some(s) if s.is_pending() => Some(plan.add(
            Step::AwaitVlan {
                domain: wv.domain.clone(),
                vlan: wv.name.clone(),
            },
            [ds],
        )),
        Some(_) => None,
    };
    reserved::build(wv, inv, ds, vs, plan, &mut d.notes)
}

/// Destroy: deletes the plan's VLANs of domain `wd` that no remaining server uses (after their
/// servers' deletions and the release of their reservations), each deletion added to `all`.
/// Returns how many VLANs of the domain are left.
pub(super) fn destroy(
    want: &Desired,
    wd: &WantDomain,
    inv: &DomainInventory,
    all: &mut Vec<usize>,
    deleted: &Deleted,
    d: &mut Diff,
) -> usize {
    let mut vlans_left = 0;
    for v in &inv.vlans {
        let planned = want
            .vlans
            .iter()
            .find(|w| w.domain == wd.name && w.name == v.name);
        let (primary_users, nic_users) = nics::vlan_users(inv, &v.id, &deleted.servers);
        let busy = !(primary_users.is_empty() && nic_users.is_empty());
        match planned {
            Some(w) if !w.keep && !busy => {
                let unreserved = match reserved::release(w, v, inv, &mut d.plan) {
                    Ok(steps) => steps,
                    Err(note) => {
                        vlans_left += 1;
                        d.notes.push(note);
                        continue;
                    }
                };
                let after: Vec<Option<usize>> = deleted
                    .server_deletes
                    .get(&(wd.name.clone(), v.id.clone()))
                    .into_iter()
                    .flatten()
                    .map(|s| Some(*s))
                    .chain(unreserved)
                    .collect();
                all.push(d.plan.add(
                    Step::DeleteVlan {
                        domain: wd.name.clone(),
                        vlan: v.name.clone(),
                        id: v.id.clone(),
                    },
                    after,
                ));
            }
            Some(w) if busy => {
                vlans_left += 1;
                d.notes
                    .push(nics::kept_vlan_note(&w.name, &primary_users, &nic_users));
            }
            _ => vlans_left += 1,
        }
    }
    vlans_left
}
