//! Named network namespaces (as `ip netns` makes them), configuring links with `ip -batch`, and running
//! code inside a namespace on a throw-away thread, so that no thread of the process stays in it.
//!
//! Pitfall handled here: `ip netns add` turns `/run/netns` into a shared self bind-mount and leaves it
//! behind. [`delete`] removes that mount once the directory is empty. A host-wide `flock` serialises
//! these steps between backends (parallel tests, several emulators).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::fcntl::{Flock, FlockArg};
use nix::mount::{MntFlags, umount2};
use nix::sched::{CloneFlags, setns};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};

use super::error::{NodesError, Result};

/// Where `ip netns` keeps its namespace handles.
pub const NETNS_DIR: &str = "/run/netns";
const LOCK_FILE: &str = "/run/plumbery-netns.lock";
const IP: &str = "ip";

/// The handle file of the named namespace.
pub fn path(name: &str) -> PathBuf {
    Path::new(NETNS_DIR).join(name)
}

fn lock() -> Result<Flock<File>> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(LOCK_FILE)
        .map_err(|e| NodesError::io(format!("open {LOCK_FILE}"), e))?;
    Flock::lock(f, FlockArg::LockExclusive).map_err(|(_, e)| NodesError::sys("flock netns lock", e))
}

/// Creates the named network namespace (idempotent) with `lo` up.
pub fn add(name: &str) -> Result<()> {
    let _guard = lock()?;
    if !path(name).exists() {
        run_ip(&["netns", "add", name])?;
    }
    drop(_guard);
    batch(Some(name), &["link set lo up".to_string()])
}

/// Deletes the named namespace if it exists, then drops the `/run/netns` self-mount when no namespace
/// is left in it.
pub fn delete(name: &str) -> Result<()> {
    let _guard = lock()?;
    let result = if path(name).exists() {
        run_ip(&["netns", "delete", name])
    } else {
        Ok(())
    };
    release_run_netns_mount();
    result
}

/// Unmounts the empty `/run/netns` self bind-mount (pitfall 8). Quietly does nothing while it is in use.
fn release_run_netns_mount() {
    let empty = std::fs::read_dir(NETNS_DIR)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false);
    if !empty || !is_mountpoint(NETNS_DIR) {
        return;
    }
    // Not lazy: if a namespace handle was mounted meanwhile this fails with EBUSY, which is fine.
    if umount2(NETNS_DIR, MntFlags::empty()).is_ok() {
        let _ = std::fs::remove_dir(NETNS_DIR);
    }
}

/// Whether `dir` is a mount point in this process's mount namespace.
pub fn is_mountpoint(dir: &str) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|s| s.lines().any(|l| l.split(' ').nth(4) == Some(dir)))
        .unwrap_or(false)
}

/// Names of existing namespaces that start with `prefix`.
pub fn list_with_prefix(prefix: &str) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(NETNS_DIR) else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

fn run_ip(args: &[&str]) -> Result<()> {
    let out = Command::new(IP)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| NodesError::io("run ip", e))?;
    if !out.status.success() {
        return Err(NodesError::Command {
            command: format!("ip {}", args.join(" ")),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// Runs `ip [-n NETNS] -batch -` with one `ip` command (without the leading `ip`) per line.
pub fn batch(netns: Option<&str>, lines: &[String]) -> Result<()> {
    let mut cmd = Command::new(IP);
    if let Some(ns) = netns {
        cmd.args(["-n", ns]);
    }
    let mut child = cmd
        .args(["-batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| NodesError::io("run ip -batch", e))?;
    let text = lines.join("\n") + "\n";
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| NodesError::io("write to ip -batch", e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| NodesError::io("wait for ip -batch", e))?;
    if !out.status.success() {
        return Err(NodesError::Command {
            command: format!(
                "ip -n {} -batch: {}",
                netns.unwrap_or("-"),
                lines.join("; ")
            ),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// Runs `f` on a new thread that first joins the network namespace behind `ns` (an open handle). The
/// thread ends afterwards, so no thread of this process stays in the namespace.
pub fn run_in<T, F>(ns: &File, f: F) -> Result<T>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            setns(ns, CloneFlags::CLONE_NEWNET).map_err(|e| NodesError::sys("setns(net)", e))?;
            Ok(f())
        })
        .join()
        .unwrap_or_else(|_| Err(NodesError::Invalid("netns worker thread panicked".into())))
    })
}

/// Opens the handle of a named namespace.
pub fn open(name: &str) -> Result<File> {
    File::open(path(name)).map_err(|e| NodesError::io(format!("open netns {name}"), e))
}

/// Creates an unconnected, non-blocking TCP socket that belongs to the namespace behind `ns`; it stays
/// there for its whole life, whichever thread uses it.
pub fn tcp_socket_in(ns: &File) -> Result<TcpStream> {
    run_in(ns, || {
        socket(
            AddressFamily::Inet,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            None,
        )
        .map(TcpStream::from)
        .map_err(|e| NodesError::sys("socket in netns", e))
    })?
}

/// Writes a sysctl of the namespace behind `ns` (`key` like `net/ipv4/ip_forward`).
pub fn sysctl(ns: &File, key: &str, value: &str) -> Result<()> {
    let p = format!("/proc/sys/{key}");
    run_in(ns, || std::fs::write(&p, value))?.map_err(|e| NodesError::io(format!("write {p}"), e))
}
