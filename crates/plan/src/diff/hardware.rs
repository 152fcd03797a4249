//! Hardware in the diff: the reconfiguration (CPU count, cores per socket, CPU speed, memory) and
//! the disk changes that bring a server to what its node asks. Disks are never shrunk.

use super::outcome::Diff;
use crate::desired::WantNode;
use crate::inventory::Server;
use crate::steps::Step;

/// The hardware steps that bring server `s` (or a server about to be deployed, `None`) to what
/// node `n` asks: CPU count and memory by reconfigureServer (while it runs: the emulator allows it;
/// the real API may refuse a CPU decrease on a running server), missing disks added, smaller ones
/// grown, speeds changed. Disks are never shrunk: a larger disk gets a note. Chained after `ready`;
/// returns the last step.
pub(super) fn steps(
    n: &WantNode,
    s: Option<&Server>,
    ready: Option<usize>,
    d: &mut Diff,
) -> Option<usize> {
    let mut last = ready;
    if let Some(s) = s {
        last = reconfigure(n, s, last, d);
    }
    for (scsi_id, size_gb, speed) in &n.disks {
        let have = s.and_then(|s| s.disks.iter().find(|x| x.scsi_id == Some(*scsi_id)));
        let change = match have {
            None => true,
            Some(x) => {
                if let Some(h) = x.size_gb
                    && h > *size_gb
                {
                    d.notes.push(format!(
                        "node {}: disk {scsi_id} has {h} GB, the plan asks {size_gb} GB (disks are never shrunk)",
                        n.name
                    ));
                }
                x.size_gb.is_some_and(|h| h < *size_gb)
                    || x.speed
                        .as_deref()
                        .is_some_and(|sp| !sp.eq_ignore_ascii_case(speed))
            }
        };
        if change {
            last = Some(d.plan.add(
                Step::SetDisk {
                    domain: n.domain.clone(),
                    node: n.name.clone(),
                    scsi_id: *scsi_id,
                    size_gb: *size_gb,
                    speed: speed.clone(),
                },
                [last],
            ));
        }
    }
    last
}

/// The `ReconfigureServer` step of server `s`, after `last`, when its CPU or memory differ.
fn reconfigure(n: &WantNode, s: &Server, last: Option<usize>, d: &mut Diff) -> Option<usize> {
    let cpu_count = match (&n.cpu, &s.cpu) {
        (Some((want, _, _)), Some(have)) if *want != have.count => Some(*want),
        _ => None,
    };
    let memory_gb = match (n.memory_gb, s.memory_gb) {
        (Some(want), Some(have)) if want != have => Some(want),
        _ => None,
    };
    let cores_per_socket = match (&n.cpu, &s.cpu) {
        (Some((_, want, _)), Some(have)) if have.cores_per_socket != Some(*want) => Some(*want),
        _ => None,
    };
    let cpu_speed = match (&n.cpu, &s.cpu) {
        (Some((_, _, want)), Some(have))
            if !have
                .speed
                .as_deref()
                .is_some_and(|h| h.eq_ignore_ascii_case(want)) =>
        {
            Some(want.clone())
        }
        _ => None,
    };
    if cpu_count.is_none()
        && memory_gb.is_none()
        && cores_per_socket.is_none()
        && cpu_speed.is_none()
    {
        return last;
    }
    Some(d.plan.add(
        Step::ReconfigureServer {
            domain: n.domain.clone(),
            node: n.name.clone(),
            cpu_count,
            memory_gb,
            cores_per_socket,
            cpu_speed,
        },
        [last],
    ))
}
