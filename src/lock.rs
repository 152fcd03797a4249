//! The plan lock: a changing action (build, deploy, start, stop, prepare, dispose, destroy, wipe,
//! refresh) holds an exclusive kernel lock (`flock(2)`, through nix) on `<plan state dir>/lock`
//! while it runs, so that two runs of one plan on one machine never act at once. The kernel
//! releases the lock when the process ends, however it ends (SIGKILL included): a stale lock file
//! never blocks anyone. After taking the lock, the holder writes who it is into the file (pid,
//! action, since when) for the runs that wait.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// The default of `--lock-timeout`, in seconds.
pub const DEFAULT_LOCK_TIMEOUT_SECS: u64 = 600;

/// How often a waiting run tries the lock again.
const POLL: Duration = Duration::from_millis(100);

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The lock file could not be opened or locked.
    #[error("cannot lock {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// Another run held the lock for longer than the timeout.
    #[error(
        "another run holds the plan lock ({holder}); gave up after {waited_secs} s (--lock-timeout {timeout_secs})"
    )]
    Timeout {
        /// Who holds it, as its lock file says.
        holder: String,
        /// How long this run waited.
        waited_secs: u64,
        /// The timeout asked for.
        timeout_secs: u64,
    },
}

/// The lock held by this process; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct PlanLock {
    _lock: Flock<File>,
    /// How long this run waited for it (zero when it was free).
    pub waited: Duration,
}

/// Who holds a lock, as its file says (`pid 123, 'build' since 2026-12-06T21:40:00Z`), or a
/// placeholder while the holder has not written it yet.
pub fn holder(file: &mut File) -> String {
    said_holder(file).unwrap_or_else(|| "a run that has not said who it is yet".to_string())
}

/// The holder's line, once it has written it.
fn said_holder(file: &mut File) -> Option<String> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_string(&mut text))
        .ok()?;
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// How long a waiting run gives the holder to write who it is before saying it waits anyway.
const SAY_WHO_WITHIN: Duration = Duration::from_secs(1);

fn try_lock(file: File) -> Result<Result<Flock<File>, File>, std::io::Error> {
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => Ok(Ok(lock)),
        Err((file, Errno::EWOULDBLOCK)) => Ok(Err(file)),
        Err((_, e)) => Err(std::io::Error::from(e)),
    }
}

/// Takes the lock of the plan whose state directory is `dir` for `action`, waiting up to `timeout`
/// for another run to let it go (`on_wait` is told once who holds it). Zero: fail at once.
pub fn acquire(
    dir: &Path,
    action: &str,
    timeout: Duration,
    mut on_wait: impl FnMut(&str),
) -> Result<PlanLock, LockError> {
    let path = dir.join("lock");
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let t0 = Instant::now();
    let (mut told, mut waited_at_all) = (false, false);
    let mut file = open(&path).map_err(io)?;
    let mut lock = loop {
        match try_lock(file).map_err(io)? {
            Ok(lock) => break lock,
            Err(mut f) => {
                let waited = t0.elapsed();
                if waited >= timeout {
                    return Err(LockError::Timeout {
                        holder: holder(&mut f),
                        waited_secs: waited.as_secs(),
                        timeout_secs: timeout.as_secs(),
                    });
                }
                waited_at_all = true;
                // The holder writes its line just after taking the lock: a run that looks in
                // between waits a moment for it rather than name nobody.
                if !told {
                    if let Some(who) = said_holder(&mut f) {
                        on_wait(&who);
                        told = true;
                    } else if waited >= SAY_WHO_WITHIN {
                        on_wait(&holder(&mut f));
                        told = true;
                    }
                }
                std::thread::sleep(POLL.min(timeout - waited));
                file = f;
            }
        }
    };
    let since = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let me = format!("pid {}, '{action}' since {since}\n", std::process::id());
    lock.set_len(0)
        .and_then(|()| lock.seek(SeekFrom::Start(0)).map(drop))
        .and_then(|()| lock.write_all(me.as_bytes()))
        .and_then(|()| lock.flush())
        .map_err(io)?;
    Ok(PlanLock {
        _lock: lock,
        waited: if waited_at_all {
            t0.elapsed()
        } else {
            Duration::ZERO
        },
    })
}

fn open(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_waits_then_times_out_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), "build", Duration::ZERO, |_| panic!("free")).unwrap();
        let mut told = Vec::new();
        let err = acquire(dir.path(), "deploy", Duration::from_millis(250), |h| {
            told.push(h.to_string())
        })
        .unwrap_err();
        let pid = format!("pid {}, 'build' since ", std::process::id());
        assert!(told.len() == 1 && told[0].starts_with(&pid), "{told:?}");
        assert!(err.to_string().contains(&pid), "{err}");
        drop(first);
        let again = acquire(dir.path(), "deploy", Duration::ZERO, |_| panic!("free")).unwrap();
        drop(again);
    }
}
