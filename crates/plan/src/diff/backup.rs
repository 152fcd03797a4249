//! Cloud backup in the diff: enabled with the node's plan (or changed to it) once the server is
//! ready, then each client the node asks for that the server does not have; disabled before the
//! server is deleted (the API refuses to delete a server with backup).

use super::outcome::Diff;
use crate::desired::WantNode;
use crate::inventory::Server;
use crate::steps::Step;

/// Build: the backup steps of node `n` (after `ready`, the step after which its server is ready).
pub(super) fn build(n: &WantNode, server: Option<&Server>, ready: Option<usize>, d: &mut Diff) {
    let Some(want) = &n.backup else {
        return;
    };
    let current = server.and_then(|s| s.backup.as_ref());
    let enable = match current {
        Some(b) if b.plan.eq_ignore_ascii_case(&want.plan) => None,
        _ => Some(d.plan.add(
            Step::EnableBackup {
                domain: n.domain.clone(),
                node: n.name.clone(),
                plan: want.plan.clone(),
                change: current.is_some(),
            },
            [ready],
        )),
    };
    let observed = current.and_then(|b| b.clients.as_deref()).unwrap_or(&[]);
    let mut taken: Vec<usize> = Vec::new();
    for c in &want.clients {
        let found = observed.iter().enumerate().find(|(i, o)| {
            !taken.contains(i) && c.matches(&o.client_type, &o.description, o.is_file_system)
        });
        if let Some((i, _)) = found {
            taken.push(i);
            continue;
        }
        d.plan.add(
            Step::AddBackupClient {
                domain: n.domain.clone(),
                node: n.name.clone(),
                kind: c.kind.clone(),
                storage_policy: c.storage_policy.clone(),
                schedule_policy: c.schedule_policy.clone(),
                trigger: c.trigger.clone(),
                email: c.email.clone(),
            },
            [ready, enable],
        );
    }
}

/// Destroy: disables the backup of server `s` (after `after`), when it has one.
pub(super) fn destroy(
    n: &WantNode,
    s: &Server,
    after: Option<usize>,
    d: &mut Diff,
) -> Option<usize> {
    s.backup.as_ref()?;
    Some(d.plan.add(
        Step::DisableBackup {
            domain: n.domain.clone(),
            node: n.name.clone(),
            id: s.id.clone(),
        },
        [after],
    ))
}
