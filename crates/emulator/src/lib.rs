//! The CloudControl emulator: a real HTTP server speaking the CloudControl 2.x wire format, with an
//! asynchronous clock, the API's rules, fault injection and, optionally, real local nodes.
//!
//! Library use (tests, other engineers):
//! ```no_run
//! use emulator::{Emulator, EmulatorConfig};
//! let dir = tempfile::tempdir().unwrap();
//! let mut cfg = EmulatorConfig::new(dir.path());   // listens on 127.0.0.1:0, user/password plumbery
//! cfg.time_scale = 0.001;                          // a 240 s deploy takes 0.24 s
//! let emu = Emulator::start(cfg).unwrap();
//! let base = emu.api_base(4);                      // http://127.0.0.1:PORT/caas/2.4/ORGID
//! let stats = emu.stats();                         // the GET /emulator/v1/stats document
//! emu.shutdown();
//! # let _ = (base, stats);
//! ```

pub mod backend;
pub mod clock;
pub mod control;
pub mod core;
pub mod errors;
pub mod faults;
pub mod http;
pub mod models;
pub mod responses;
pub mod routes;
pub mod store;
pub mod tls;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use backend::{NoBackend, NodeBackend};
use clock::{Latency, Profile};
use faults::{FaultSpec, Faults};

/// Makes a node backend whose state lives in the given directory.
pub type MakeBackend =
    Arc<dyn Fn(&Path) -> Result<Arc<dyn NodeBackend>, backend::BackendError> + Send + Sync>;

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

/// Why an emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The state could not be loaded or written.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// Binding, files, runtime.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Another emulator uses this state dir.
    #[error("state dir {0} is used by another running emulator")]
    Locked(PathBuf),
    /// The node backend could not start.
    #[error("node backend: {0}")]
    Backend(String),
    /// Invalid settings.
    #[error("{0}")]
    Config(String),
}

fn ioerr(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> EmulatorError {
    let what = what.into();
    move |source| EmulatorError::Io { what, source }
}

/// Entry point: `Emulator::start`.
#[derive(Debug)]
pub struct Emulator;

/// How a running emulator is told to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Stop serving, shut the backend down, write a snapshot.
    Graceful,
    /// Stop serving at once, like a crash (no backend shutdown, no snapshot).
    Crash,
}

/// What `run` reports once it listens.
pub struct Ready {
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    /// The core (for stats and faults).
    pub core: Arc<core::Core>,
    /// CA certificate path with `tls`.
    pub ca: Option<PathBuf>,
}

/// Runs an emulator on the current tokio runtime until `stop` resolves; reports readiness (or the
/// startup error) through `ready`. The URL is written to `STATE_DIR/url` before readiness.
pub async fn run(
    cfg: EmulatorConfig,
    ready: impl FnOnce(Result<Ready, EmulatorError>) + Send,
    stop: impl std::future::Future<Output = Stop> + Send + 'static,
) {
    let prepared = prepare(&cfg).await;
    let (listener, core, lock, url, tls) = match prepared {
        Ok(p) => p,
        Err(e) => {
            ready(Err(e));
            return;
        }
    };
    let ca = tls.as_ref().map(|_| cfg.state_dir.join("ca.pem"));
    ready(Ok(Ready {
        url,
        core: core.clone(),
        ca,
    }));
    let (kind_tx, kind_rx) = tokio::sync::oneshot::channel::<Stop>();
    let signal = async move {
        let k = stop.await;
        let _ = kind_tx.send(k);
    };
    let app = routes::router(core.clone());
    let served = match tls {
        Some(acceptor) => {
            let l = tls::TlsListener::new(listener, acceptor);
            axum::serve(l, app).with_graceful_shutdown(signal).await
        }
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(signal)
                .await
        }
    };
    if let Err(e) = served {
        tracing::error!("server error: {e}");
    }
    let kind = kind_rx.await.unwrap_or(Stop::Graceful);
    if kind == Stop::Graceful {
        let b = core.backend.clone();
        let _ = tokio::task::spawn_blocking(move || b.shutdown()).await;
        core.compact();
    }
    let _ = std::fs::remove_file(cfg.state_dir.join("url"));
    drop(lock);
}

type Prepared = (
    tokio::net::TcpListener,
    Arc<core::Core>,
    nix::fcntl::Flock<std::fs::File>,
    String,
    Option<tls::Acceptor>,
);

async fn prepare(cfg: &EmulatorConfig) -> Result<Prepared, EmulatorError> {
    if !cfg.time_scale.is_finite() || cfg.time_scale < 0.0 {
        return Err(EmulatorError::Config(format!(
            "time scale {} must be a non-negative number",
            cfg.time_scale
        )));
    }
    cfg.faults
        .check()
        .map_err(|e| EmulatorError::Config(e.to_string()))?;
    let dir = &cfg.state_dir;
    std::fs::create_dir_all(dir).map_err(ioerr(format!("create {}", dir.display())))?;
    let lockf = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))
        .map_err(ioerr("open lock file"))?;
    let lock = nix::fcntl::Flock::lock(lockf, nix::fcntl::FlockArg::LockExclusiveNonblock)
        .map_err(|_| EmulatorError::Locked(dir.clone()))?;
    let (store, state) = store::Store::open(dir, cfg.fsync)?;
    let backend: Arc<dyn NodeBackend> = match &cfg.nodes {
        Nodes::None => Arc::new(NoBackend),
        Nodes::Make(make) => {
            make(&dir.join("nodes")).map_err(|e| EmulatorError::Backend(e.to_string()))?
        }
        Nodes::Custom(b) => b.clone(),
    };
    let log =
        control::RequestLog::open(&dir.join("requests.log")).map_err(ioerr("open request log"))?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(ioerr(format!("listen on {}", cfg.listen)))?;
    let addr = listener.local_addr().map_err(ioerr("local address"))?;
    let tls = if cfg.tls {
        Some(tls::setup(dir, addr).map_err(|e| EmulatorError::Config(e.to_string()))?)
    } else {
        None
    };
    let scheme = if cfg.tls { "https" } else { "http" };
    let url = format!("{scheme}://{addr}");
    let core = core::Core::new(
        core::CoreParts {
            state,
            store,
            lat: Latency {
                profile: cfg.profile.clone(),
                time_scale: cfg.time_scale,
            },
            backend,
            user: cfg.user.clone(),
            password: cfg.password.clone(),
            faults: Faults::new(cfg.faults, cfg.seed),
            log,
        },
        tokio::runtime::Handle::current(),
    );
    secrets::write_atomic(&dir.join("url"), format!("{url}\n").as_bytes(), 0o644)
        .map_err(|e| ioerr("write url file")(e.into()))?;
    Ok((listener, core, lock, url, tls))
}

/// A running emulator (own thread and runtime). Dropping it stops it gracefully.
pub struct RunningEmulator {
    url: String,
    core: Arc<core::Core>,
    ca: Option<PathBuf>,
    state_dir: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<Stop>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Emulator {
    /// Starts an emulator on its own thread and tokio runtime (usable from sync and async code);
    /// returns once it listens.
    pub fn start(cfg: EmulatorConfig) -> Result<RunningEmulator, EmulatorError> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<Stop>();
        let state_dir = cfg.state_dir.clone();
        let thread = std::thread::Builder::new()
            .name("emulator".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(EmulatorError::Io {
                            what: "tokio runtime".into(),
                            source: e,
                        }));
                        return;
                    }
                };
                let ready = move |r| {
                    let _ = ready_tx.send(r);
                };
                rt.block_on(run(cfg, ready, async move {
                    stop_rx.await.unwrap_or(Stop::Graceful)
                }));
                rt.shutdown_timeout(std::time::Duration::from_secs(5));
            })
            .map_err(ioerr("spawn emulator thread"))?;
        match ready_rx.recv() {
            Ok(Ok(r)) => Ok(RunningEmulator {
                url: r.url,
                core: r.core,
                ca: r.ca,
                state_dir,
                stop: Some(stop_tx),
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(EmulatorError::Config(
                    "the emulator thread ended before it was ready".into(),
                ))
            }
        }
    }
}

impl RunningEmulator {
    /// Base URL, e.g. `http://127.0.0.1:40123` (`https://` with TLS).
    pub fn url(&self) -> &str {
        &self.url
    }
    /// The organisation id.
    pub fn org_id(&self) -> String {
        self.core.read().org_id.clone()
    }
    /// `URL/caas/2.{minor}/{orgId}`.
    pub fn api_base(&self, minor: u32) -> String {
        format!("{}/caas/2.{minor}/{}", self.url, self.org_id())
    }
    /// The state dir.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }
    /// The CA certificate (PEM) to trust, with TLS.
    pub fn ca_cert_path(&self) -> Option<&Path> {
        self.ca.as_deref()
    }
    /// The `GET /emulator/v1/stats` document.
    pub fn stats(&self) -> serde_json::Value {
        control::stats_json(&self.core)
    }
    /// Replaces the faults (and restarts the generator with `seed`).
    pub fn set_faults(&self, spec: FaultSpec, seed: Option<u64>) {
        self.core.faults.set(spec, seed);
    }
    /// Removes every resource.
    pub fn reset(&self) {
        let _ = self.core.reset();
    }
    /// Stops gracefully (backend shutdown, snapshot) and waits.
    pub fn shutdown(mut self) {
        self.stop_with(Stop::Graceful);
    }
    /// Stops like a crash: no backend shutdown, no snapshot (the journal is all there is).
    pub fn crash(mut self) {
        self.stop_with(Stop::Crash);
    }
    fn stop_with(&mut self, kind: Stop) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(kind);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.stop_with(Stop::Graceful);
    }
}
