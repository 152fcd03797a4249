//! Job completion: applies a finished operation's backend outcome through the transition of its
//! resource kind.

use super::common::{Job, Kind};
use super::firewall_rule::rules as firewall_rule;
use super::network_domain::rules as network_domain;
use super::server::rules as server;
use super::state::Tx;
use super::vlan::rules as vlan;

/// Completes `job` with its backend `outcome`: the transition of its resource kind (a stale job,
/// whose sequence number no longer matches, changes nothing).
pub fn complete(tx: &mut Tx<'_>, job: &Job, outcome: Result<(), String>) {
    let (id, seq) = (&job.id, job.pending.seq);
    match job.kind {
        Kind::Domain => network_domain::complete(tx, id, seq, outcome),
        Kind::Vlan => vlan::complete(tx, id, seq, outcome),
        Kind::Server => server::complete(tx, id, seq, outcome),
        Kind::Firewall => firewall_rule::complete(tx, id, seq, outcome),
        _ => {}
    }
}
