//! `plumbery --local`: run against the built-in CloudControl emulator with local nodes.
//!
//! [`ensure_local_emulator`] checks the prerequisites of local nodes, starts
//! `plumbery emulator start --nodes local` in the background when no emulator answers in the local
//! state dir (`emulator/` under `secrets::state_root()`), and points this process's cloud client at
//! it by setting `MCP_ENDPOINT`, `MCP_USERNAME` and `MCP_PASSWORD`. The emulator keeps running after
//! plumbery exits (so the nodes stay up); `plumbery emulator stop` ends it.

use std::path::PathBuf;
use std::process::Command;

use crate::emulator_cli::{default_state_dir, running_url};
use nodes::prereq::{self, PrereqError};

/// Default time scale of the local emulator: a 240 s server deploy takes 2.4 s, yet the
/// operations stay asynchronous enough to exercise the client's waits.
pub const DEFAULT_TIME_SCALE: f64 = 0.01;
/// API user and password of the local emulator.
pub const LOCAL_CREDENTIALS: (&str, &str) = ("plumbery", "plumbery");

/// How to start the local emulator when it does not run yet.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// Latency multiplier (`plumbery --local --time-scale X`); ignored when an emulator already runs.
    pub time_scale: f64,
    /// State dir; `None` = `emulator/` under the plumbery state dir.
    pub state_dir: Option<PathBuf>,
    /// The `plumbery` executable; `None` = this process's executable.
    pub exe: Option<PathBuf>,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            time_scale: DEFAULT_TIME_SCALE,
            state_dir: None,
            exe: None,
        }
    }
}

/// The local emulator the client now talks to.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalEndpoint {
    /// Base URL, e.g. `http://127.0.0.1:40123` (also in `MCP_ENDPOINT`).
    pub url: String,
    /// The emulator's state dir (`emulator.log`, `nodes/`, ...).
    pub state_dir: PathBuf,
    /// API user (also in `MCP_USERNAME`).
    pub user: String,
    /// Whether this call started the emulator (false: it was already running).
    pub started: bool,
}

/// Why local mode could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The machine lacks something local nodes need (a usage problem: exit code 2).
    #[error(transparent)]
    Prereq(#[from] PrereqError),
    /// The emulator could not be started.
    #[error("cannot start the local emulator in {dir}: {why}")]
    Start {
        /// Its state dir.
        dir: PathBuf,
        /// What went wrong (with the end of its log).
        why: String,
    },
}

/// [`ensure_local_emulator_with`] with the default options.
pub fn ensure_local_emulator() -> Result<LocalEndpoint, LocalError> {
    ensure_local_emulator_with(&LocalOptions::default())
}

/// Checks the prerequisites, starts the local emulator unless one answers in its state dir, and
/// sets `MCP_ENDPOINT`, `MCP_USERNAME` and `MCP_PASSWORD` for the rest of this process. Call it
/// before any thread that reads the environment is started.
pub fn ensure_local_emulator_with(opts: &LocalOptions) -> Result<LocalEndpoint, LocalError> {
    prereq::check()?;
    let dir = opts.state_dir.clone().unwrap_or_else(default_state_dir);
    let fail = |why: String| LocalError::Start {
        dir: dir.clone(),
        why,
    };
    let (url, started) = match running_url(&dir) {
        Some(url) => {
            if !runs_local_nodes(&dir) {
                return Err(fail(
                    "an emulator without local nodes already runs there; stop it with \
                     `plumbery emulator stop --state-dir DIR` and run again"
                        .to_string(),
                ));
            }
            tracing::info!(%url, "using the local emulator already running");
            (url, false)
        }
        None => {
            let exe = match &opts.exe {
                Some(e) => e.clone(),
                None => std::env::current_exe().map_err(|e| fail(e.to_string()))?,
            };
            tracing::info!(state_dir = %dir.display(), "starting the local emulator (local nodes)");
            let out = Command::new(exe)
                .args(["emulator", "start", "--nodes", "local", "--listen"])
                .arg("127.0.0.1:0")
                .arg("--state-dir")
                .arg(&dir)
                .arg("--time-scale")
                .arg(opts.time_scale.to_string())
                .env_remove("PLUMBERY_EMULATOR_USER")
                .env_remove("PLUMBERY_EMULATOR_PASSWORD")
                .output()
                .map_err(|e| fail(e.to_string()))?;
            match running_url(&dir) {
                Some(url) if out.status.success() => (url, true),
                // Another `plumbery --local` started it at the same time: use that one.
                Some(url) if runs_local_nodes(&dir) => (url, false),
                _ if out.status.success() => {
                    return Err(fail("it started but does not answer".to_string()));
                }
                _ => {
                    return Err(fail(
                        String::from_utf8_lossy(&out.stderr).trim().to_string(),
                    ));
                }
            }
        }
    };
    let (user, password) = LOCAL_CREDENTIALS;
    // SAFETY: called on the main thread before the action starts any thread that reads the
    // environment (the CLI runs it right after parsing; the engine before building its runtime).
    unsafe {
        std::env::set_var("MCP_ENDPOINT", &url);
        std::env::set_var("MCP_USERNAME", user);
        std::env::set_var("MCP_PASSWORD", password);
    }
    Ok(LocalEndpoint {
        url,
        state_dir: dir,
        user: user.to_string(),
        started,
    })
}

/// Whether the emulator whose pid is recorded in `dir` was started with `--nodes local`.
fn runs_local_nodes(dir: &std::path::Path) -> bool {
    let Some(pid) = std::fs::read_to_string(dir.join("emulator.pid"))
        .ok()
        .and_then(|p| p.trim().parse::<i32>().ok())
    else {
        return false;
    };
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
    args.windows(2)
        .any(|w| w[0] == b"--nodes" && w[1] == b"local")
        || args.contains(&b"--nodes=local".as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let o = LocalOptions::default();
        assert_eq!(o.time_scale, DEFAULT_TIME_SCALE);
        assert!(o.state_dir.is_none() && o.exe.is_none());
    }

    #[test]
    fn prereq_errors_keep_the_apt_line() {
        let e = LocalError::from(PrereqError {
            missing: vec![prereq::Missing::Package {
                package: "redis-server",
                program: "/usr/bin/redis-server",
            }],
        });
        assert!(e.to_string().contains("apt-get install -y redis-server"));
    }
}
