//! Serving: `run` checks the settings, locks the state dir, recovers the state, starts the backend,
//! listens (HTTP or HTTPS), writes `STATE_DIR/url`, serves until told to stop, then shuts the
//! backend down and writes a snapshot (unless it stops like a crash).

use std::path::PathBuf;
use std::sync::Arc;

use crate::backend::{NoBackend, NodeBackend};
use crate::config::{EmulatorConfig, Nodes};
use crate::core::{self, Core};
use crate::faults::Faults;
use crate::latency::Latency;
use crate::request_log::RequestLog;
use crate::{routes, store, tls};

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

/// Maps an I/O error to `EmulatorError::Io`, saying what was being done.
pub(crate) fn ioerr(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> EmulatorError {
    let what = what.into();
    move |source| EmulatorError::Io { what, source }
}

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
    pub(crate) core: Arc<Core>,
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
    Arc<Core>,
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
    let log = RequestLog::open(&dir.join("requests.log")).map_err(ioerr("open request log"))?;
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
