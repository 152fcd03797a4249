//! An emulator on its own thread and tokio runtime, for tests, benchmarks and library users:
//! `Emulator::start` returns a `RunningEmulator` once it listens; stats, faults and reset are at
//! hand without HTTP.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::EmulatorConfig;
use crate::core::Core;
use crate::faults::FaultSpec;
use crate::server::{EmulatorError, Stop, ioerr, run};
use crate::stats::Stats;

/// Entry point: `Emulator::start`.
#[derive(Debug)]
pub struct Emulator;
/// A running emulator (own thread and runtime). Dropping it stops it gracefully.
pub struct RunningEmulator {
    url: String,
    core: Arc<Core>,
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
    /// The `GET /emulator/v1/stats` document, typed.
    pub fn stats(&self) -> Stats {
        crate::control::stats(&self.core)
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
