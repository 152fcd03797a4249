//! Network domains in the diff: created or waited for when building; deleted last when destroying,
//! and only when nothing else is left in them.

use super::outcome::Diff;
use crate::desired::WantDomain;
use crate::inventory::{DomainInventory, State};
use crate::steps::Step;

/// Build: the step after which the domain `wd` is ready (`Some(None)`: ready already), or `None`
/// when it is found in a state nothing can be built in (a note says so).
pub(super) fn build(
    wd: &WantDomain,
    inv: Option<&DomainInventory>,
    d: &mut Diff,
) -> Option<Option<usize>> {
    let plan = &mut d.plan;
    match inv.map(|i| &i.domain.state) {
        None => Some(Some(plan.add(
            Step::CreateDomain {
                domain: wd.name.clone(),
                description: wd.description.clone(),
                plan: wd.plan.clone(),
            },
            [],
        ))),
        Some(s) if s.is_pending() => Some(Some(plan.add(
            Step::AwaitDomain {
                domain: wd.name.clone(),
            },
            [],
        ))),
        Some(s) if *s != State::Normal => {
            d.notes.push(format!(
                "network domain {} is {s}; nothing is built in it",
                wd.name
            ));
            None
        }
        Some(_) => Some(None),
    }
}

/// Destroy: what is left in a domain once the plan's elements are deleted.
pub(super) struct Left {
    /// VLANs.
    pub vlans: usize,
    /// Servers.
    pub servers: usize,
    /// Client firewall rules.
    pub rules: usize,
    /// NAT rules.
    pub nat: usize,
    /// Public IP blocks.
    pub blocks: usize,
}

/// Destroy: deletes the domain after every step in `all` when nothing is `left` in it, else notes
/// that it is kept.
pub(super) fn destroy(
    wd: &WantDomain,
    inv: &DomainInventory,
    all: Vec<usize>,
    left: &Left,
    d: &mut Diff,
) {
    if left.vlans + left.servers + left.rules + left.nat + left.blocks == 0 {
        d.plan.add(
            Step::DeleteDomain {
                domain: wd.name.clone(),
                id: inv.domain.id.clone(),
            },
            all.into_iter().map(Some),
        );
    } else {
        d.notes.push(format!(
            "network domain {} is not empty ({} VLANs, {} servers, {} NAT rules, \
             {} client firewall rules, {} IP blocks remain); kept",
            wd.name, left.vlans, left.servers, left.nat, left.rules, left.blocks
        ));
    }
}
