//! Local nodes: emulated servers become real Linux namespace containers, behind the emulator's
//! backend trait (`emulator::backend::NodeBackend`).
//!
//! Main types: [`LocalNodes`] (the backend) built from a [`LocalNodesConfig`], [`NodesError`];
//! [`local_backend`] is what `emulator --nodes local` plugs in (`emulator::Nodes::Make`), and
//! [`init_main`] the entry point of a node's PID 1 (`plumbery __node-init`). `prereq` checks the
//! host can run nodes; `caps` reads capability sets (narrowly public for tests and the checks).
//!
//! Files: `local` (the backend), `init` (a node's keeper and PID 1, run as `plumbery __node-init`),
//! `firstboot` (identity and services inside a node), `caps` (capabilities nodes keep), `netns`
//! (namespaces and `ip`), `forward` (public listeners) with `firewall` (which ports they open),
//! `cgroup` (CPU and memory limits), `process` (spawning and reaping keepers), `owners` (clearing
//! what dead backends left), `naming`, `prereq`.
//!
//! For callers (the emulator):
//! - `create_server(spec, true)`, `start_server` and `restart_server` block until sshd accepts on the
//!   private address (about 0.1-0.3 s; bounded by `LocalNodesConfig::boot_timeout`, 60 s).
//!   `stop_server(graceful)` blocks until every process of the node is gone (graceful: TERM, then
//!   KILL after 5 s). `delete_server` also removes the disk. `attach_nic` adds a veth from the node
//!   to another VLAN's bridge with the NIC's address (`eth1`...), `detach_nic` removes it; deleting
//!   the node or the VLAN removes it too. Call them from `spawn_blocking`.
//! - All methods take `&self`, are idempotent and may run concurrently (a per-server lock orders
//!   operations on one server). `sync_public` gets the complete NAT and firewall sets of a domain and
//!   returns when listeners are open or closed; a public address already taken on this host (another
//!   emulator) is reported as an error after the other changes are applied.
//! - Public ports: see `firewall` (rules for any port open [`WELL_KNOWN_PORTS`]).
//! - `shutdown` (also run on drop) removes everything; a new backend clears its state dir's leftovers
//!   (node disks too, unless `LocalNodesConfig::keep_disks`, which the emulator's `local_backend`
//!   sets) and those of backends whose process died (their disks included).
//! - Tests that are not the `plumbery` binary build `LocalNodes::new(LocalNodesConfig::new(dir,
//!   env!("CARGO_BIN_EXE_plumbery")))` instead of calling [`local_backend`].

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

use emulator::backend::{BackendError, NodeBackend};

pub use error::NodesError;
pub use firewall::{MAX_EXPANDED_RANGE, WELL_KNOWN as WELL_KNOWN_PORTS, open_ports};
pub use local::{LocalNodes, LocalNodesConfig};

/// Builds the local-nodes backend whose state (node disks, keys, pids) lives under `state_dir`; node
/// PID 1s run this very executable as `__node-init`. Clears the namespaces and processes a crashed
/// earlier run left there but keeps node disks (`keep_disks`), since the emulator replays its state
/// into the new backend and its servers must come back with their files.
pub fn local_backend(state_dir: &Path) -> Result<Arc<dyn NodeBackend>, BackendError> {
    let exe = std::env::current_exe()
        .map_err(|e| BackendError::Failed(format!("cannot find the plumbery executable: {e}")))?;
    let mut cfg = LocalNodesConfig::new(state_dir, exe);
    cfg.keep_disks = true;
    Ok(Arc::new(LocalNodes::new(cfg)?))
}

/// Entry point of a node's PID 1 when `plumbery` re-executes itself as `plumbery __node-init ARGS...`.
pub fn init_main(args: &[String]) -> i32 {
    init::main(args)
}
