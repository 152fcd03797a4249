//! Shared helpers of the tests that run the `plumbery` binary against local nodes: an in-process
//! emulator whose servers are local nodes (shut down on drop, even when a test fails), the guard
//! that stops the background emulator of `plumbery --local`, and the check of a run's exit status.
//! Include after `nodes_support` (`#[path = "nodes_support/mod.rs"] mod nodes_support;`).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;

use emulator::{Emulator, EmulatorConfig, Nodes, RunningEmulator};
use nodes::{LocalNodes, LocalNodesConfig};

use crate::nodes_support::Harness;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_plumbery");

/// The emulator in this process with local nodes; the harness shuts the nodes down on drop.
pub struct Cloud {
    pub emu: RunningEmulator,
    pub harness: Harness,
    pub state: tempfile::TempDir,
}

impl Cloud {
    /// An emulator at time-scale 0.01 over local nodes, in a temp dir named `prefix...`.
    pub fn start(prefix: &str) -> Cloud {
        let dir = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
        let nodes = Arc::new(
            LocalNodes::new(LocalNodesConfig::new(dir.path().join("nodes"), BIN)).expect("backend"),
        );
        let mut cfg = EmulatorConfig::new(dir.path().join("emulator"));
        cfg.time_scale = 0.01;
        cfg.nodes = Nodes::Custom(nodes.clone());
        let emu = Emulator::start(cfg).expect("emulator");
        Cloud {
            emu,
            harness: Harness {
                nodes,
                dir,
                public_net: 0,
            },
            state: tempfile::tempdir().unwrap(),
        }
    }

    /// `plumbery ARGS` against this emulator, with its own state dir and home.
    pub fn plumbery(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("MCP_ENDPOINT", self.emu.url())
            .env("MCP_USERNAME", "plumbery")
            .env("MCP_PASSWORD", "plumbery")
            .env("PLUMBERY_STATE_DIR", self.state.path())
            .env("HOME", self.state.path())
            .env_remove("SHARED_SECRET")
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    }
}

/// Stops the background emulator of `plumbery --local` in its state dir.
pub struct LocalGuard(pub PathBuf);

impl Drop for LocalGuard {
    fn drop(&mut self) {
        let _ = Command::new(BIN)
            .args(["emulator", "stop"])
            .env("PLUMBERY_STATE_DIR", &self.0)
            .output();
    }
}

/// Fails the test with the run's output unless it succeeded.
pub fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
