//! Local nodes: emulated servers become real Linux namespace containers (see `backend::NodeBackend`).
//!
//! Files: `local` (the backend), `init` (a node's keeper and PID 1, run as `plumbery __node-init`),
//! `firstboot` (identity and services inside a node), `caps` (capabilities nodes keep), `netns`
//! (namespaces and `ip`), `forward` (public listeners) with `firewall` (which ports they open),
//! `cgroup` (CPU and memory limits), `process` (spawning and reaping keepers), `owners` (clearing
//! what dead backends left), `naming`, `prereq`.

pub mod caps;
mod cgroup;
mod error;
mod firewall;
mod firstboot;
mod forward;
mod init;
mod local;
mod naming;
mod netns;
mod owners;
pub mod prereq;
mod process;

use std::path::Path;
use std::sync::Arc;

use super::backend::{BackendError, NodeBackend};

pub use error::NodesError;
pub use firewall::{MAX_EXPANDED_RANGE, WELL_KNOWN as WELL_KNOWN_PORTS, open_ports};
pub use local::{LocalNodes, LocalNodesConfig};

/// Builds the local-nodes backend whose state (node disks, keys, pids) lives under `state_dir`; node
/// PID 1s run this very executable as `__node-init`. Clears what a crashed earlier run left there.
pub fn local_backend(state_dir: &Path) -> Result<Arc<dyn NodeBackend>, BackendError> {
    let exe = std::env::current_exe()
        .map_err(|e| BackendError::Failed(format!("cannot find the plumbery executable: {e}")))?;
    Ok(Arc::new(LocalNodes::new(LocalNodesConfig::new(
        state_dir, exe,
    ))?))
}

/// Entry point of a node's PID 1 when `plumbery` re-executes itself as `plumbery __node-init ARGS...`.
pub fn init_main(args: &[String]) -> i32 {
    init::main(args)
}
