//! Node keeper processes from the backend's side: spawning them from one long-lived thread (so that
//! their parent-death signal fires only when the backend goes away), waiting with timeouts, reaping,
//! and pid records that a later run can trust (pid plus start time, so a reused pid is never killed).

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::error::{NodesError, Result};

struct Job {
    cmd: Command,
    stdin: Vec<u8>,
    reply: mpsc::Sender<std::io::Result<Pid>>,
}

/// Spawns child processes from one dedicated thread. Children get SIGKILL when that thread ends
/// (the backend was dropped or the process died), so nodes never outlive a crashed backend for long.
pub struct Spawner {
    tx: Mutex<Option<mpsc::Sender<Job>>>,
}

impl Spawner {
    /// Starts the spawning thread.
    pub fn new() -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("plumbery-node-spawner".into())
            .spawn(move || {
                for job in rx {
                    let _ = job.reply.send(spawn_now(job.cmd, job.stdin));
                }
            })
            .expect("spawn thread");
        Spawner {
            tx: Mutex::new(Some(tx)),
        }
    }

    /// Spawns `cmd` with `stdin` written to its standard input (then closed); returns its pid. The
    /// caller owns the child and must reap it ([`wait_exit`]).
    pub fn spawn(&self, cmd: Command, stdin: Vec<u8>) -> Result<Pid> {
        let (reply, rx) = mpsc::channel();
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let tx = tx.ok_or_else(|| NodesError::Invalid("the backend is shut down".into()))?;
        tx.send(Job { cmd, stdin, reply })
            .map_err(|_| NodesError::Invalid("spawner thread is gone".into()))?;
        rx.recv()
            .map_err(|_| NodesError::Invalid("spawner thread is gone".into()))?
            .map_err(|e| NodesError::io("spawn node keeper", e))
    }

    /// Stops the spawning thread (children still running get SIGKILL).
    pub fn stop(&self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

impl Default for Spawner {
    fn default() -> Self {
        Self::new()
    }
}

fn spawn_now(mut cmd: Command, mut stdin: Vec<u8>) -> std::io::Result<Pid> {
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if nix::libc::prctl(nix::libc::PR_SET_PDEATHSIG, nix::libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.stdin(Stdio::piped()).spawn()?;
    let written = child
        .stdin
        .take()
        .map(|mut s| s.write_all(&stdin))
        .unwrap_or(Ok(()));
    stdin.fill(0);
    let pid = Pid::from_raw(child.id() as i32);
    if let Err(e) = written {
        let _ = kill(pid, Signal::SIGKILL);
        let _ = child.wait();
        return Err(e);
    }
    // Dropping `Child` neither kills nor reaps; the backend reaps with waitpid.
    Ok(pid)
}

/// Waits up to `timeout` for our child `pid` to exit and reaps it. `true` when it is gone.
pub fn wait_exit(pid: Pid, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(WaitStatus::Exited(..)) | Ok(WaitStatus::Signaled(..)) | Err(_) => return true,
            Ok(_) => {}
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether our child `pid` has exited (reaping it if so).
pub fn has_exited(pid: Pid) -> bool {
    !matches!(
        waitpid(pid, Some(WaitPidFlag::WNOHANG)),
        Ok(WaitStatus::StillAlive)
    )
}

/// The start time of `pid` in clock ticks since boot (field 22 of `/proc/PID/stat`).
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    after.split(' ').nth(19)?.parse().ok()
}

/// Whether `pid` is alive and not a zombie.
pub fn alive(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rfind(')')
        .and_then(|i| stat.get(i + 2..i + 3))
        .unwrap_or("X");
    state != "Z" && state != "X"
}

/// The children of `pid` (from `/proc/PID/task/PID/children`).
pub fn children(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// Records `pid` with its start time in `file`.
pub fn write_record(file: &Path, pid: Pid) -> Result<()> {
    let st = start_time(pid.as_raw()).unwrap_or(0);
    std::fs::write(file, format!("{} {st}\n", pid.as_raw()))
        .map_err(|e| NodesError::io(format!("write {}", file.display()), e))
}

/// The pid in a record if that very process still runs (same start time).
pub fn live_record(file: &Path) -> Option<i32> {
    live_record_text(&std::fs::read_to_string(file).ok()?)
}

/// Like [`live_record`], for the record's text (`PID STARTTIME`).
pub fn live_record_text(text: &str) -> Option<i32> {
    let mut it = text.split_whitespace();
    let pid: i32 = it.next()?.parse().ok()?;
    let st: u64 = it.next()?.parse().ok()?;
    (pid > 1 && start_time(pid) == Some(st) && alive(pid)).then_some(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_only_for_the_same_process() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pid");
        write_record(&f, nix::unistd::getpid()).unwrap();
        assert_eq!(live_record(&f), Some(std::process::id() as i32));
        std::fs::write(&f, format!("{} 1\n", std::process::id())).unwrap();
        assert_eq!(live_record(&f), None);
    }

    #[test]
    fn spawner_runs_and_reaps() {
        let s = Spawner::new();
        let mut cmd = Command::new("cat");
        cmd.stdout(Stdio::null());
        let pid = s.spawn(cmd, b"hello".to_vec()).unwrap();
        assert!(wait_exit(pid, Duration::from_secs(5)));
        s.stop();
    }
}
