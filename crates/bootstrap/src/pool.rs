//! Admin SSH sessions kept per node between the checks that follow a bootstrap: checking Redis
//! replication asks every node several times (a round every half second until the links are up),
//! and a fresh SSH handshake and key login per question cost more than the question. A session is
//! taken out of the pool for one use and put back after a success; a failure on a kept session is
//! retried once on a fresh one (the questions only read), and sessions idle for long are dropped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::hostkeys::HostKeys;
use super::redis::RedisError;
use super::ssh::{self, Auth, Connection, SshError};
use super::types::BootstrapOptions;

/// Sessions unused for longer are closed rather than reused.
const IDLE: Duration = Duration::from_secs(20);
/// Most sessions kept (the oldest go first).
const MAX_KEPT: usize = 64;

/// Who a session is for: node address, user, private key file.
type Key = (SocketAddr, String, PathBuf);

static KEPT: Mutex<Vec<(Key, Instant, Connection)>> = Mutex::new(Vec::new());

fn key(address: SocketAddr, opts: &BootstrapOptions) -> Key {
    (address, opts.user.clone(), opts.key.private.clone())
}

fn take(k: &Key) -> Option<Connection> {
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    kept.retain(|(_, used, _)| used.elapsed() < IDLE);
    let i = kept.iter().position(|(key, _, _)| key == k)?;
    Some(kept.swap_remove(i).2)
}

fn give_back(k: Key, conn: Connection) {
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    if kept.len() >= MAX_KEPT {
        kept.remove(0);
    }
    kept.push((k, Instant::now(), conn));
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
    ssh::connect(&ep, Instant::now() + wait)
}

/// Runs `ask` (a read-only question) on an admin session to `address`: a kept one when there is
/// one (asked again on a fresh session if the kept one fails at the SSH level), else a new one; the
/// session is kept after an answer. Blocking.
pub fn with_admin<T>(
    address: SocketAddr,
    opts: &BootstrapOptions,
    wait: Duration,
    ask: impl Fn(&Connection) -> Result<T, RedisError>,
) -> Result<T, RedisError> {
    let k = key(address, opts);
    if let Some(conn) = take(&k) {
        match ask(&conn) {
            Ok(v) => {
                give_back(k, conn);
                return Ok(v);
            }
            // The session is fine, the answer is not: no point asking again.
            Err(e @ RedisError::Cli { .. }) => {
                give_back(k, conn);
                return Err(e);
            }
            Err(RedisError::Ssh(_)) => {}
        }
    }
    let conn = connect_admin(address, opts, wait)?;
    let v = ask(&conn)?;
    give_back(k, conn);
    Ok(v)
}

/// Closes every kept session to `address` (its node is going away or was rebuilt).
pub fn forget(address: SocketAddr) {
    KEPT.lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|((a, _, _), _, _)| *a != address);
}
