//! How to run an emulator: where it listens and keeps its state, its credentials, latencies,
//! faults, and which backend (if any) makes its servers real.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::backend::{BackendError, NodeBackend};
use crate::faults::FaultSpec;
use crate::latency::Profile;

/// Makes a node backend whose state lives in the given directory.
pub type MakeBackend =
    Arc<dyn Fn(&Path) -> Result<Arc<dyn NodeBackend>, BackendError> + Send + Sync>;

/// Which backend makes servers real.
#[derive(Clone, Default)]
pub enum Nodes {
    /// Nothing becomes real (`--nodes none`).
    #[default]
    None,
    /// A backend made by this function once the state dir is locked, from `STATE_DIR/nodes`
    /// (`--nodes local`: the `nodes` crate's local namespace containers).
    Make(MakeBackend),
    /// A backend supplied by the caller (tests).
    Custom(Arc<dyn NodeBackend>),
}

impl std::fmt::Debug for Nodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Nodes::None => "None",
            Nodes::Make(_) => "Make",
            Nodes::Custom(_) => "Custom",
        })
    }
}

/// How to run an emulator.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// Address to listen on; port 0 picks a free port (the default here).
    pub listen: SocketAddr,
    /// Where state, journal, request log, URL and CA live.
    pub state_dir: PathBuf,
    /// API user.
    pub user: String,
    /// API password.
    pub password: String,
    /// Latency multiplier.
    pub time_scale: f64,
    /// Latencies in seconds.
    pub profile: Profile,
    /// Faults at start.
    pub faults: FaultSpec,
    /// Seed of the fault generator.
    pub seed: u64,
    /// Serve HTTPS with a self-signed certificate (CA in `STATE_DIR/ca.pem`).
    pub tls: bool,
    /// Backend.
    pub nodes: Nodes,
    /// fsync every journal write (survives power loss, not only `kill -9`).
    pub fsync: bool,
}

impl std::fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("listen", &self.listen)
            .field("state_dir", &self.state_dir)
            .field("user", &self.user)
            .field("time_scale", &self.time_scale)
            .field("tls", &self.tls)
            .field("nodes", &self.nodes)
            .finish_non_exhaustive()
    }
}

impl EmulatorConfig {
    /// Defaults: 127.0.0.1:0, user and password `plumbery`, time scale 1, default profile, no
    /// faults, seed 0, plain HTTP, no nodes.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            state_dir: state_dir.into(),
            user: "plumbery".into(),
            password: "plumbery".into(),
            time_scale: 1.0,
            profile: Profile::default(),
            faults: FaultSpec::default(),
            seed: 0,
            tls: false,
            nodes: Nodes::None,
            fsync: false,
        }
    }
}
