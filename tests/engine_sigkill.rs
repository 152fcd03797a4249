//! A deploy (and a dispose) killed with SIGKILL at 10 different moments, then run again, ends with
//! exactly the resources of a clean run. The killed run is this test binary re-executed as a child
//! process (only the `child_run` test, selected by an environment variable); the emulator lives in the
//! parent process, so it survives the kills.

mod engine_support;

use std::process::{Command, Stdio};
use std::time::Duration;

use cloud::RetryPolicy;
use emulator::RunningEmulator;
use engine::{self, Action, Options};
use engine_support::{
    REDIS_COUNTS, assert_counts, assert_empty, client, redis_plan, resources, run_ok, start,
};

const URL_VAR: &str = "PLUMBERY_SIGKILL_CHILD_URL";
const ACTION_VAR: &str = "PLUMBERY_SIGKILL_CHILD_ACTION";

/// The shared options, with the client's own fast retry policy (10 ms first delay).
fn options(url: &str) -> Options {
    Options {
        retry: RetryPolicy::fast(),
        ..engine_support::options(url)
    }
}

/// The run that gets killed: does nothing unless the parent set the variables.
#[test]
fn child_run() {
    let (Ok(url), Ok(action)) = (std::env::var(URL_VAR), std::env::var(ACTION_VAR)) else {
        return;
    };
    let action: Action = action.parse().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _ = rt.block_on(engine::run(action, &redis_plan(), &options(&url)));
}

/// Starts the child run of `action` and kills it with SIGKILL after `after`.
fn kill_child_after(url: &str, action: &str, after: Duration) {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["child_run", "--exact", "--test-threads=1"])
        .env(URL_VAR, url)
        .env(ACTION_VAR, action)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    // Child::kill sends SIGKILL on Unix; the child may already have finished.
    let _ = child.kill();
    let _ = child.wait();
}

async fn assert_clean_deploy(emu: &RunningEmulator, context: &str) {
    assert_counts(emu, &REDIS_COUNTS, context);
    let servers = client(emu).list_servers(&[]).await.unwrap();
    assert!(servers.iter().all(|s| s.started && s.monitoring.is_some()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_ten_moments_then_rerun() {
    let (emu, _dir) = start(0.002);
    let url = emu.url().to_string();
    let plan = redis_plan();
    let opts = options(&url);
    // At this time-scale a deploy lasts about 0.8 s and a dispose about 0.35 s (plus process start).
    let mut partial = 0;
    for (i, ms) in [40u64, 90, 150, 220, 300, 380, 470, 560, 660, 780]
        .into_iter()
        .enumerate()
    {
        let u = url.clone();
        tokio::task::spawn_blocking(move || {
            kill_child_after(&u, "deploy", Duration::from_millis(ms))
        })
        .await
        .unwrap();
        // The kill must land in the middle of the work for the test to mean something.
        let domains = resources(&emu).network_domain;
        let complete = resources(&emu).firewall_rule == 4 && {
            let servers = client(&emu).list_servers(&[]).await.unwrap();
            servers.len() == 4 && servers.iter().all(|s| s.monitoring.is_some())
        };
        if domains > 0 && !complete {
            partial += 1;
        }
        eprintln!(
            "kill at {ms} ms: complete {complete}, {}",
            emu.stats().resources
        );
        run_ok(
            Action::Deploy,
            &plan,
            &opts,
            &format!("kill {i} at {ms} ms"),
        )
        .await;
        assert_clean_deploy(&emu, &format!("deploy after kill {i}")).await;
        let u = url.clone();
        tokio::task::spawn_blocking(move || {
            kill_child_after(&u, "dispose", Duration::from_millis(ms / 2))
        })
        .await
        .unwrap();
        run_ok(
            Action::Dispose,
            &plan,
            &opts,
            &format!("dispose after kill {i}"),
        )
        .await;
        assert_empty(&emu, &format!("after dispose {i}"));
    }
    assert!(
        partial >= 6,
        "only {partial} of 10 kills interrupted a deploy"
    );
    tokio::task::block_in_place(|| emu.shutdown());
}
