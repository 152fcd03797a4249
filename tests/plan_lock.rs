//! The plan lock of the real binary: three builds of one plan started together on one machine (one
//! state dir) run one after the other, the later ones saying whom they wait for, and all exit 0
//! with exactly the plan's resources; a run killed with SIGKILL leaves no lock behind; with
//! `--lock-timeout 0` a run fails at once (exit 1) naming the holder.

mod engine_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use engine_support::{DEFAULT_ACCOUNT, REDIS_COUNTS, assert_counts, assert_empty, start};

const PLAN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fittings/redis-cluster.yaml");

/// The binary on `plan action` against `url` with state in `state`.
fn plumbery(url: &str, state: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plumbery"));
    cmd.env("PLUMBERY_STATE_DIR", state)
        .env("MCP_ENDPOINT", url)
        .env("MCP_USERNAME", DEFAULT_ACCOUNT.user)
        .env("MCP_PASSWORD", DEFAULT_ACCOUNT.password)
        .env("SHARED_SECRET", DEFAULT_ACCOUNT.admin_password)
        .env_remove("RUST_LOG")
        .arg("-q")
        .arg(PLAN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// Kills (SIGKILL) and reaps the child when dropped, so that a failing test leaves no process.
struct Reaped(Option<Child>);

impl Reaped {
    fn spawn(mut cmd: Command) -> Reaped {
        Reaped(Some(cmd.spawn().unwrap()))
    }

    fn child(&mut self) -> &mut Child {
        self.0.as_mut().unwrap()
    }

    /// Waits for the run to end; its output.
    fn finish(mut self) -> Output {
        let child = self.0.take().unwrap();
        tokio::task::block_in_place(|| child.wait_with_output()).unwrap()
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The plan's lock file under the state dir, once a run made it.
fn lock_file(state: &Path) -> Option<PathBuf> {
    let plans = std::fs::read_dir(state.join("plans")).ok()?;
    plans
        .flatten()
        .map(|e| e.path().join("lock"))
        .find(|p| p.exists())
}

/// Waits until the lock file says `pid` holds it.
fn wait_for_holder(state: &Path, pid: u32) {
    let t0 = Instant::now();
    let want = format!("pid {pid},");
    loop {
        let text = lock_file(state).and_then(|p| std::fs::read_to_string(p).ok());
        if text.is_some_and(|t| t.starts_with(&want)) {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "pid {pid} never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The seconds in `plan lock taken after waiting X s`, if the run waited.
fn waited(err: &str) -> Option<f64> {
    let rest = err.split("plan lock taken after waiting ").nth(1)?;
    rest.split(' ').next()?.parse().ok()
}

/// Three builds of one plan with one state dir, started together (the emulator injecting `faults`
/// when given): all exit 0, the two later ones after waiting for the lock, with exactly the plan's
/// resources; then a dispose empties the cloud.
async fn three_builds_take_turns(faults: Option<&str>) {
    let (emu, _dir) = start(0.01);
    if let Some(f) = faults {
        emu.set_faults(emulator::FaultSpec::parse(f).unwrap(), Some(7));
    }
    let context = format!("three builds, one state dir, faults {faults:?}");
    let state = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let children: Vec<Reaped> = (0..3)
        .map(|_| Reaped::spawn(plumbery(emu.url(), state.path(), &["build"])))
        .collect();
    let outputs: Vec<Output> = children.into_iter().map(Reaped::finish).collect();
    let total = t0.elapsed();
    let mut waits = Vec::new();
    for o in &outputs {
        let err = stderr(o);
        assert_eq!(o.status.code(), Some(0), "{context}: {err}");
        if err.contains("waiting for another run of this plan to finish: pid ") {
            assert!(err.contains(", 'build' since "), "{err}");
            waits.push(waited(&err).expect(&err));
        }
    }
    assert_eq!(waits.len(), 2, "{context}: two of the three runs waited");
    eprintln!("{context}: {total:?} in all; the later runs waited {waits:?} s");
    emu.set_faults(emulator::FaultSpec::default(), None);
    assert_counts(&emu, &REDIS_COUNTS, &context);
    let dispose = tokio::task::block_in_place(|| {
        plumbery(emu.url(), state.path(), &["dispose"])
            .output()
            .unwrap()
    });
    assert_eq!(dispose.status.code(), Some(0), "{}", stderr(&dispose));
    assert_empty(&emu, &format!("{context}: disposed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_builds_on_one_machine_take_turns() {
    three_builds_take_turns(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_builds_on_one_machine_take_turns_under_faults() {
    three_builds_take_turns(Some(engine_support::MIXED_FAULTS)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_holder_leaves_no_lock_and_timeout_zero_fails_at_once() {
    let (emu, _dir) = start(0.05);
    let state = tempfile::tempdir().unwrap();
    let mut holder = Reaped::spawn(plumbery(emu.url(), state.path(), &["build"]));
    let pid = holder.child().id();
    wait_for_holder(state.path(), pid);

    // While it runs: --lock-timeout 0 fails at once, naming the holder; a short timeout says whom
    // it waits for, then gives up. Read-only actions and safe mode take no lock.
    let run = |args: &[&str]| {
        let t = Instant::now();
        let o = plumbery(emu.url(), state.path(), args).output().unwrap();
        (o, t.elapsed())
    };
    let (o, took) = tokio::task::block_in_place(|| run(&["build", "--lock-timeout", "0"]));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "another run holds the plan lock (pid {pid}, 'build' since "
        )),
        "{err}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    let (o, _) = tokio::task::block_in_place(|| run(&["stop", "--lock-timeout", "1"]));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "waiting for another run of this plan to finish: pid {pid}, 'build' since "
        )),
        "{err}"
    );
    assert!(
        err.contains("gave up after 1 s (--lock-timeout 1)"),
        "{err}"
    );
    let (o, _) = tokio::task::block_in_place(|| run(&["-s", "build", "--lock-timeout", "0"]));
    assert_eq!(
        o.status.code(),
        Some(0),
        "safe mode takes no lock: {}",
        stderr(&o)
    );

    // SIGKILL: the kernel lets the lock go; the next run takes it at once and finishes the build.
    holder.child().kill().unwrap();
    holder.child().wait().unwrap();
    let (o, _) = tokio::task::block_in_place(|| run(&["build", "--lock-timeout", "0"]));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains("waiting"), "{err}");
    assert_counts(&emu, &REDIS_COUNTS, "the build after the kill");
    let (o, _) = tokio::task::block_in_place(|| run(&["dispose", "--lock-timeout", "0"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_empty(&emu, "disposed");
}
