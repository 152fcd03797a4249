//! The plain inputs and outputs of a bootstrap: what the engine hands over per node
//! ([`NodeTarget`]) and per run ([`BootstrapOptions`]), and what comes back ([`NodeOutcome`],
//! [`BootstrapError`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::prepare::PrepareStep;
use crate::render::RenderError;
use crate::ssh::SshError;

/// One node to bootstrap, as the engine knows it.
#[derive(Clone)]
pub struct NodeTarget {
    /// Node name (log file name, messages).
    pub name: String,
    /// Where its sshd answers: the public IPv4 (else a routable private one), port 22 on real
    /// nodes.
    pub address: SocketAddr,
    /// Root password for the first contact (`SHARED_SECRET` or the plan's generated one).
    pub admin_password: String,
    /// The node's merged cloud-config, tokens already expanded (`Null` for none).
    pub cloud_config: serde_yaml::Value,
    /// The node's `prepare:` steps (see [`PrepareStep::parse`]).
    pub prepare: Vec<PrepareStep>,
    /// The plan's `appliance` (image name), which tells the system family; `None`: Debian.
    pub appliance: Option<String>,
}

impl std::fmt::Debug for NodeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeTarget")
            .field("name", &self.name)
            .field("address", &self.address)
            .field("admin_password", &"******")
            .finish_non_exhaustive()
    }
}

/// The plan's generated key pair, as files (OpenSSH public line; PEM or OpenSSH private key).
#[derive(Debug, Clone)]
pub struct KeyPair {
    /// Private key file (mode 0600).
    pub private: PathBuf,
    /// Public key file.
    pub public: PathBuf,
}

impl KeyPair {
    /// Writes a key pair held in memory (e.g. the secrets store's `rsa_private.key` and
    /// `rsa_public.key`) to `<dir>/<name>` (mode 0600) and `<dir>/<name>.pub`, replacing them
    /// atomically only when their content differs.
    pub fn write_files(
        dir: &Path,
        name: &str,
        private: &str,
        public: &str,
    ) -> std::io::Result<KeyPair> {
        std::fs::create_dir_all(dir)?;
        let write = |path: &Path, text: &str, mode: u32| -> std::io::Result<()> {
            let text = if text.ends_with('\n') {
                text.to_string()
            } else {
                format!("{text}\n")
            };
            if std::fs::read_to_string(path).is_ok_and(|t| t == text) {
                return Ok(());
            }
            // Concurrent runs (and locations) may write the same pair: each writes a temporary
            // file of its own name.
            Ok(secrets::write_atomic(path, text.as_bytes(), mode)?)
        };
        let pair = KeyPair {
            private: dir.join(name),
            public: dir.join(format!("{name}.pub")),
        };
        write(&pair.private, private, 0o600)?;
        write(&pair.public, public, 0o644)?;
        Ok(pair)
    }
}

/// Settings shared by all nodes of a run.
#[derive(Debug, Clone)]
pub struct BootstrapOptions {
    /// The plan's state dir: `known_hosts` (pinned host keys) and `logs/<node>.log` go there.
    pub state_dir: PathBuf,
    /// The plan's key pair: authorised for [`BootstrapOptions::user`], used for every login after
    /// the first.
    pub key: KeyPair,
    /// More public keys to authorise (the operator's own, see [`local_public_keys`]).
    pub extra_public_keys: Vec<String>,
    /// The user that logs in once the node is bootstrapped (`ubuntu`), with passwordless sudo.
    pub user: String,
    /// Unsupported cloud-config keys are errors, not warnings.
    pub strict: bool,
    /// Forbid password and root logins once a key login is proven (cloud-config's
    /// `ssh_pwauth: true` / `disable_root: false` keep them).
    pub harden: bool,
    /// Keep the clock with chrony.
    pub clock_sync: bool,
    /// How long to wait for a node's sshd to answer at first.
    pub boot_timeout: Duration,
    /// Limit on each wait for a script's output.
    pub command_timeout: Duration,
    /// Secrets to scrub from logs and messages (the plan's generated secrets); each node's admin
    /// password is added automatically.
    pub secrets: Vec<String>,
    /// At most this many nodes at once (0: all).
    pub max_parallel: usize,
    /// Tests and benchmarks against an sshd on this machine: every file a node's script writes
    /// goes under `<sandbox_root>/<node name>/` instead of `/`. `None` on real nodes.
    pub sandbox_root: Option<PathBuf>,
}

impl BootstrapOptions {
    /// Defaults: user `ubuntu`, hardening and clock sync on, 5 min to boot, 30 min per wait.
    pub fn new(state_dir: impl Into<PathBuf>, key: KeyPair) -> BootstrapOptions {
        BootstrapOptions {
            state_dir: state_dir.into(),
            key,
            extra_public_keys: vec![],
            user: "ubuntu".into(),
            strict: false,
            harden: true,
            clock_sync: true,
            boot_timeout: Duration::from_secs(300),
            command_timeout: Duration::from_secs(1800),
            secrets: vec![],
            max_parallel: 0,
            sandbox_root: None,
        }
    }

    /// The pinned host keys file.
    pub fn known_hosts(&self) -> PathBuf {
        self.state_dir.join("known_hosts")
    }
}

/// How a node's bootstrap ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeStatus {
    /// Everything ran and was proven.
    Completed,
    /// Something failed; see `error` and the log.
    Failed,
    /// sshd never answered.
    Unreachable,
}

/// The result for one node.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeOutcome {
    /// Node name.
    pub name: String,
    /// How it ended.
    pub status: NodeStatus,
    /// The user to log in as from now on.
    pub ssh_user: String,
    /// The private key file to log in with.
    pub ssh_key: PathBuf,
    /// The node's log file.
    pub log: PathBuf,
    /// Changes the scripts made (0 when everything was already right).
    pub changes: u32,
    /// Password/root logins were proven refused (as far as the cloud-config asks).
    pub hardened: bool,
    /// Warnings (unsupported cloud-config keys, ...).
    pub warnings: Vec<String>,
    /// What failed, with the failing step and the end of the log (secrets scrubbed).
    pub error: Option<String>,
    /// Wall time.
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
}

impl NodeOutcome {
    /// A failed outcome of node `name` that got nowhere (no log, no change), with `error`.
    pub fn failed(name: &str, opts: &BootstrapOptions, error: Option<String>) -> NodeOutcome {
        NodeOutcome {
            name: name.to_string(),
            status: NodeStatus::Failed,
            ssh_user: opts.user.clone(),
            ssh_key: opts.key.private.clone(),
            log: PathBuf::new(),
            changes: 0,
            hardened: false,
            warnings: vec![],
            error,
            duration: Duration::ZERO,
        }
    }
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Why a node's bootstrap failed.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The cloud-config could not be turned into a script.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// SSH failed (unreachable, host key changed, login refused).
    #[error(transparent)]
    Ssh(#[from] SshError),
    /// A script exited non-zero.
    #[error(
        "{what} failed in step {step} (exit {code}); full log: {}\n{}",
        log.display(),
        tail.iter().map(|l| format!("  | {l}")).collect::<Vec<_>>().join("\n")
    )]
    ScriptFailed {
        /// Which script.
        what: String,
        /// The failing step and command.
        step: String,
        /// Exit code.
        code: i32,
        /// The last lines of the log.
        tail: Vec<String>,
        /// The log file.
        log: PathBuf,
    },
    /// A login that must work does not, or one that must be refused is accepted.
    #[error("hardening not proven: {0}")]
    NotProven(String),
}
