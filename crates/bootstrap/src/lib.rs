//! Bootstrap: turn running nodes into configured, hardened ones over SSH.
//!
//! The engine hands over plain inputs per node ([`NodeTarget`]) and the run's
//! [`BootstrapOptions`]; [`prepare_nodes`] bootstraps all nodes in parallel (blocking SSH on
//! `spawn_blocking`) and returns one [`NodeOutcome`] per node, in input order. Pieces usable on
//! their own: [`CloudConfig::parse`] and [`render_script`] (cloud-config to one idempotent bash
//! script), [`ssh`] (sessions with pinned host keys), [`redis`] (replication checks through
//! [`replication_info`], what a Sentinel sees through [`sentinel_view`]).

pub mod cloud_config;
pub mod hostkeys;
pub mod log;
mod node;
mod pool;
pub mod prepare;
pub mod redis;
pub mod render;
pub mod scrub;
pub mod shell;
pub mod ssh;
mod types;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use cloud_config::{CloudConfig, CloudConfigError};
pub use hostkeys::{HostKeyError, HostKeys};
pub use prepare::{PrepareError, PrepareStep};
pub use redis::{RedisError, ReplicationInfo, SentinelView};
pub use render::{
    Family, Hardening, RenderError, RenderOptions, Script, render_harden, render_script,
};
pub use scrub::Scrubber;
pub use ssh::{Auth, Connection, SshError};
pub use types::{BootstrapError, BootstrapOptions, KeyPair, NodeOutcome, NodeStatus, NodeTarget};

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
            Ok(Err(e)) | Err(e) => out.push(NodeOutcome::failed(
                &name,
                &opts,
                Some(format!("internal error: {e}")),
            )),
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
    pool::forget(address);
    HostKeys::new(opts.known_hosts()).forget(&hostkeys::host_label(&address))
}

pub use pool::connect_admin;

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
        pool::with_admin(address, &opts, Duration::from_secs(30), |conn| {
            redis::replication_info(conn, &secret)
        })
    })
    .await
    .unwrap_or_else(|e| {
        Err(RedisError::Cli {
            code: -1,
            output: format!("internal error: {e}"),
        })
    })
}

/// What the Sentinel on the node at `address` sees of the master it watches as `name`, asked
/// with Sentinel's password `secret` (never on a command line, never in the error).
pub async fn sentinel_view(
    address: SocketAddr,
    opts: &BootstrapOptions,
    secret: &str,
    name: &str,
) -> Result<SentinelView, RedisError> {
    let opts = opts.clone();
    let (secret, name) = (secret.to_string(), name.to_string());
    tokio::task::spawn_blocking(move || {
        pool::with_admin(address, &opts, Duration::from_secs(30), |conn| {
            redis::sentinel_view(conn, &secret, &name)
        })
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
