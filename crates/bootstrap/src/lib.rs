//! Bootstrap: turn running nodes into configured, hardened ones over SSH.
//!
//! The engine hands over plain inputs per node ([`NodeTarget`]) and the run's
//! [`BootstrapOptions`]; [`prepare_nodes`] bootstraps all nodes in parallel (blocking SSH on
//! `spawn_blocking`) and returns one [`NodeOutcome`] per node, in input order. Pieces usable on
//! their own: [`CloudConfig::parse`] and [`render_script`] (cloud-config to one idempotent bash
//! script), [`ssh`] (sessions with pinned host keys), [`redis`] (replication checks through
//! [`replication_info`]).

pub mod cloud_config;
pub mod hostkeys;
pub mod log;
mod node;
pub mod prepare;
pub mod redis;
pub mod render;
pub mod scrub;
pub mod shell;
pub mod ssh;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use cloud_config::{CloudConfig, CloudConfigError};
pub use hostkeys::{HostKeyError, HostKeys};
pub use prepare::{PrepareError, PrepareStep};
pub use redis::{RedisError, ReplicationInfo};
pub use render::{Hardening, RenderError, RenderOptions, Script, render_harden, render_script};
pub use scrub::Scrubber;
pub use ssh::{Auth, Connection, SshError};

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

/// The operator's own public keys (`~/.ssh/*.pub`), to authorise on every node.
pub fn local_public_keys() -> Vec<String> {
    let Some(home) = std::env::var_os("HOME") else {
        return vec![];
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(&home).join(".ssh"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pub"))
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty() && !k.contains('\n'))
        .collect()
}

/// Bootstraps every target in parallel and returns their outcomes in the same order. Never fails
/// as a whole: each node's error is in its outcome.
pub async fn prepare_nodes(targets: Vec<NodeTarget>, opts: &BootstrapOptions) -> Vec<NodeOutcome> {
    let host_keys = Arc::new(HostKeys::new(opts.known_hosts()));
    let opts = Arc::new(opts.clone());
    let limit = if opts.max_parallel == 0 {
        targets.len().max(1)
    } else {
        opts.max_parallel
    };
    let permits = Arc::new(tokio::sync::Semaphore::new(limit));
    let tasks: Vec<_> = targets
        .into_iter()
        .map(|t| {
            let (opts, host_keys, permits) = (opts.clone(), host_keys.clone(), permits.clone());
            let name = t.name.clone();
            let task = tokio::spawn(async move {
                let _permit = permits
                    .acquire_owned()
                    .await
                    .expect("semaphore is never closed");
                tokio::task::spawn_blocking(move || node::bootstrap_node(&t, &opts, &host_keys))
                    .await
            });
            (name, task)
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for (name, task) in tasks {
        match task.await {
            Ok(Ok(outcome)) => out.push(outcome),
            Ok(Err(e)) | Err(e) => out.push(NodeOutcome {
                name,
                status: NodeStatus::Failed,
                ssh_user: opts.user.clone(),
                ssh_key: opts.key.private.clone(),
                log: PathBuf::new(),
                changes: 0,
                hardened: false,
                warnings: vec![],
                error: Some(format!("internal error: {e}")),
                duration: Duration::ZERO,
            }),
        }
    }
    out
}

/// The command a person runs to log in to a bootstrapped node: the plan's key, the plan's pinned
/// host keys, the bootstrap user. For `information`.
pub fn ssh_command(address: SocketAddr, opts: &BootstrapOptions) -> String {
    let port = if address.port() == 22 {
        String::new()
    } else {
        format!(" -p {}", address.port())
    };
    format!(
        "ssh -i {} -o UserKnownHostsFile={}{port} {}@{}",
        shell::quote(&opts.key.private.display().to_string()),
        shell::quote(&opts.known_hosts().display().to_string()),
        opts.user,
        address.ip()
    )
}

/// Forgets the pinned host keys of a node's address: call it when the node is destroyed, so that
/// a new node later given the same address is not refused as a changed host.
pub fn forget_host_keys(address: SocketAddr, opts: &BootstrapOptions) -> Result<(), HostKeyError> {
    HostKeys::new(opts.known_hosts()).forget(&hostkeys::host_label(&address))
}

/// Logs in to a bootstrapped node as [`BootstrapOptions::user`] with the plan's key (host key
/// checked against the pins), waiting up to `wait` for sshd. Blocking.
pub fn connect_admin(
    address: SocketAddr,
    opts: &BootstrapOptions,
    wait: Duration,
) -> Result<Connection, SshError> {
    let host_keys = HostKeys::new(opts.known_hosts());
    let auth = Auth::Key(opts.key.private.clone());
    let ep = ssh::Endpoint {
        addr: address,
        user: &opts.user,
        auth: &auth,
        host_keys: &host_keys,
    };
    ssh::connect(&ep, std::time::Instant::now() + wait)
}

/// `INFO replication` of the Redis server on a bootstrapped node, over SSH as the admin user,
/// with `secret` as the Redis password (sent on stdin, never on a command line).
pub async fn replication_info(
    address: SocketAddr,
    opts: &BootstrapOptions,
    secret: &str,
) -> Result<ReplicationInfo, RedisError> {
    let opts = opts.clone();
    let secret = secret.to_string();
    tokio::task::spawn_blocking(move || {
        let conn = connect_admin(address, &opts, Duration::from_secs(30))?;
        redis::replication_info(&conn, &secret)
    })
    .await
    .unwrap_or_else(|e| {
        Err(RedisError::Cli {
            code: -1,
            output: format!("internal error: {e}"),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_command_and_forgetting_keys() {
        let dir = tempfile::tempdir().unwrap();
        let opts = BootstrapOptions::new(
            dir.path().join("my state"),
            KeyPair {
                private: "/k/id_rsa".into(),
                public: "/k/id_rsa.pub".into(),
            },
        );
        let addr: SocketAddr = "127.77.0.11:22".parse().unwrap();
        let cmd = ssh_command(addr, &opts);
        assert!(
            cmd.starts_with("ssh -i /k/id_rsa -o UserKnownHostsFile='"),
            "{cmd}"
        );
        assert!(
            cmd.ends_with("/my state/known_hosts' ubuntu@127.77.0.11"),
            "{cmd}"
        );
        assert!(ssh_command("127.0.0.1:2222".parse().unwrap(), &opts).contains(" -p 2222 "));
        let keys = HostKeys::new(opts.known_hosts());
        keys.trust("127.77.0.11", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 x")
            .unwrap();
        forget_host_keys(addr, &opts).unwrap();
        let text = std::fs::read_to_string(opts.known_hosts()).unwrap();
        assert!(text.trim().is_empty(), "{text}");
    }

    #[test]
    fn key_pairs_are_written_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let pair = KeyPair::write_files(
            dir.path(),
            "plan_rsa",
            "-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----",
            "ssh-rsa AAAA plan",
        )
        .unwrap();
        assert_eq!(
            std::fs::metadata(&pair.private)
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::read_to_string(&pair.public).unwrap(),
            "ssh-rsa AAAA plan\n"
        );
        let again = KeyPair::write_files(
            dir.path(),
            "plan_rsa",
            "-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----",
            "ssh-rsa AAAA plan",
        )
        .unwrap();
        assert_eq!(again.private, pair.private);
    }
}
