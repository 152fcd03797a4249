//! Local nodes: emulated servers become real Linux namespace containers (see `backend::NodeBackend`).

use std::path::Path;
use std::sync::Arc;

use super::backend::{BackendError, NodeBackend};

/// Builds the local-nodes backend whose state (node disks, keys, pids) lives under `state_dir`.
pub fn local_backend(_state_dir: &Path) -> Result<Arc<dyn NodeBackend>, BackendError> {
    Err(BackendError::Failed("local nodes are not built yet".into()))
}

/// Entry point of a node's PID 1 when `plumbery` re-executes itself as `plumbery __node-init ARGS...`.
pub fn init_main(_args: &[String]) -> i32 {
    eprintln!("plumbery __node-init: not built yet");
    1
}
