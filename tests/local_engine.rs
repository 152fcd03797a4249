//! The whole local chain as the CLI will run it: `cli::local::ensure_local_emulator_with` starts the
//! local emulator (real binary, local nodes) and sets `MCP_*`; the deploy engine, given no endpoint
//! or credentials of its own, deploys the Redis plan there; every node then answers `ssh root@PUBLIC`
//! with the admin password through NAT (the plan's `internet 22`). Needs root.
//!
//! One test in its own binary: it changes this process's environment.

mod nodes_support;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use cloud::Secret;
use emulator::http::Client;
use engine::{self, Action, Options, Progress};
use fittings::{Parameters, load_text};
use nodes_support::{root_or_skip, ssh_with_password};
use plumbery::local::{LocalOptions, ensure_local_emulator_with};

const BIN: &str = env!("CARGO_BIN_EXE_plumbery");
const PW: &str = "Local-Eng1ne-Pw";

/// Stops the emulator of the state dir on drop.
struct StopGuard(PathBuf);

impl Drop for StopGuard {
    fn drop(&mut self) {
        let _ = Command::new(BIN)
            .args(["emulator", "stop", "--state-dir"])
            .arg(&self.0)
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_deploys_the_redis_plan_onto_local_nodes() {
    if !root_or_skip() {
        return;
    }
    let tmp = tempfile::Builder::new()
        .prefix("plengine")
        .tempdir()
        .unwrap();
    let dir = tmp.path().join("emulator");
    let _guard = StopGuard(dir.clone());
    let opts = LocalOptions {
        time_scale: 0.01,
        state_dir: Some(dir.clone()),
        exe: Some(BIN.into()),
    };
    let ep = ensure_local_emulator_with(&opts).expect("local emulator");
    assert!(ep.started);
    assert_eq!(std::env::var("MCP_ENDPOINT").unwrap(), ep.url);
    assert_eq!(std::env::var("MCP_USERNAME").unwrap(), "plumbery");

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fittings/redis-cluster.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let plan = load_text(path, &text, &Parameters::new()).unwrap().0;
    let eopts = Options {
        progress: Progress::quiet(),
        admin_password: Some(Secret::new(PW)),
        ..Options::default()
    };
    let t0 = Instant::now();
    let report = engine::run(Action::Deploy, &plan, &eopts)
        .await
        .expect("deploy");
    assert!(
        report.ok,
        "{}",
        serde_json::to_string_pretty(&report).unwrap()
    );
    eprintln!(
        "deploy onto local nodes: {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    let stats = tokio::task::spawn_blocking(move || {
        let mut c = Client::new(&ep.url, "plumbery", "plumbery").unwrap();
        c.stats().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(stats.servers.len(), 4, "{stats}");
    for s in &stats.servers {
        assert_eq!(s.state, "NORMAL");
        assert!(s.started);
        let public: Ipv4Addr = s.public_ipv4[0].parse().unwrap();
        let name = s.name.clone();
        let t = Instant::now();
        let out = loop {
            let out =
                tokio::task::spawn_blocking(move || ssh_with_password(public, PW, "hostname"))
                    .await
                    .unwrap();
            if out.ok || t.elapsed() > Duration::from_secs(20) {
                break out;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(out.ok, "ssh root@{public}: {}", out.stderr);
        assert_eq!(out.stdout.trim(), name);
    }
}
