//! VMware tools at prepare time, as the original does before it prepares a node: each running
//! server whose tools are not current gets `updateVmwareTools` (NO_CHANGE is fine; the server is
//! waited for until it is NORMAL again). A server without VMware tools (a local node) is skipped,
//! and a line says so; so is one whose tools are current.

use cloud::{AsyncOp, CloudClient, ErrorCode, Wait};
use plan::{Desired, Inventory};

/// Upgrades the VMware tools of the running nodes of `want`; returns one line per node.
pub async fn upgrade(client: &CloudClient, want: &Desired, have: &Inventory) -> Vec<String> {
    let mut lines = Vec::new();
    for n in &want.nodes {
        let Some(s) = have.domain(&n.domain).and_then(|i| i.server(&n.name)) else {
            continue;
        };
        if !s.started {
            continue;
        }
        let line = match s.vm_tools.as_deref() {
            None => format!(
                "{}: no VMware tools on this server; upgrade skipped",
                n.name
            ),
            Some("CURRENT") => format!("{}: VMware tools are current", n.name),
            Some(_) => match client.update_vmware_tools(&s.id).await {
                Ok(()) => {
                    let w = Wait::after(AsyncOp::Quick);
                    match client.wait_server(&s.id, w, Some(true)).await {
                        Ok(()) => format!("{}: VMware tools upgraded", n.name),
                        Err(e) => format!("{}: VMware tools upgrade: {e}", n.name),
                    }
                }
                Err(e) if e.has_code(ErrorCode::NoChange) => {
                    format!("{}: VMware tools are current", n.name)
                }
                Err(e) => format!("{}: VMware tools not upgraded: {e}", n.name),
            },
        };
        lines.push(line);
    }
    lines
}
