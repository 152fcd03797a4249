//! Benchmark of the user's goal: the whole deploy of `fittings/redis-cluster.yaml` (API steps,
//! SSH bootstrap of 4 nodes, replication checks) on an in-process emulator with local nodes at
//! time-scale 0.01, three times (the median counts); then the parallel bootstrap of the 4 nodes
//! against the slowest node bootstrapped alone (one more deploy, one node at a time). Needs root.
//!
//! Run: `cargo run --release --example bench_deploy`. The example answers `__node-init` itself,
//! like the plumbery binary, so it needs no separate build.

#[path = "bench_support/mod.rs"]
mod bench_support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cloud::{RetryPolicy, Secret, WaitPolicy};
use emulator::backend::NodeBackend;
use emulator::{Emulator, EmulatorConfig, Nodes};
use engine::{self, Action, Options, Progress, Report};
use fittings::{Parameters, Plan, load_text};
use nodes::{LocalNodes, LocalNodesConfig};

const PLAN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fittings/redis-cluster.yaml");

fn verdict(value: f64, target: f64) -> &'static str {
    if value < target { "met" } else { "NOT met" }
}

/// One fresh deploy: its report, its wall time, and the wall time of its bootstrap (from the
/// "bootstrapping" line to the last node's outcome line) with the CPU time the whole machine
/// spent meanwhile.
struct Run {
    report: Report,
    wall: Duration,
    bootstrap_wall: Duration,
    bootstrap_cpu: f64,
}

/// CPU seconds the whole machine has spent busy since boot (`/proc/stat`: every state but idle
/// and iowait), all cores together.
fn machine_busy_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let busy: f64 = ticks
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, t)| t)
        .sum();
    // (the kernel counts in USER_HZ, 100 a second on Linux)
    busy / 100.0
}

fn deploy(plan: &Plan, parallel: usize) -> Run {
    let dir = tempfile::Builder::new()
        .prefix("plbench")
        .tempdir()
        .unwrap();
    let ncfg = LocalNodesConfig::new(dir.path().join("nodes"), "/proc/self/exe");
    let nodes = Arc::new(LocalNodes::new(ncfg).expect("local nodes (run as root)"));
    let mut cfg = EmulatorConfig::new(dir.path().join("emulator"));
    cfg.time_scale = 0.01;
    cfg.nodes = Nodes::Custom(nodes.clone());
    let emu = Emulator::start(cfg).expect("emulator");
    let state = dir.path().join("state");
    // SAFETY: set before the runtime and any thread that reads the environment start.
    unsafe { std::env::set_var("PLUMBERY_STATE_DIR", &state) };
    let marks: Arc<Mutex<Vec<(Instant, String, f64)>>> = Arc::default();
    let sink = marks.clone();
    let opts = Options {
        progress: Progress::callback(move |line| {
            let busy = machine_busy_secs();
            sink.lock()
                .unwrap()
                .push((Instant::now(), line.message.clone(), busy))
        }),
        endpoint: Some(emu.url().to_string()),
        credentials: Some(("plumbery".into(), Secret::new("plumbery"))),
        admin_password: Some(Secret::new("Bench-Passw0rd!")),
        retry: RetryPolicy::default(),
        wait: WaitPolicy::default(),
        plan_key: Some(format!("file:{PLAN}")),
        bootstrap_parallel: parallel,
        ..Options::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let t0 = Instant::now();
    let report = rt
        .block_on(engine::run(Action::Deploy, plan, &opts))
        .unwrap();
    let wall = t0.elapsed();
    let marks = marks.lock().unwrap().clone();
    // Where the time goes: every progress line with its offset from the start.
    eprintln!("phases of the deploy (bootstrap parallel {parallel}):");
    for (t, line, _) in &marks {
        eprintln!(
            "  {:>7.3} s  {line}",
            t.saturating_duration_since(t0).as_secs_f64()
        );
    }
    let start = marks.iter().find(|(_, l, _)| l.contains("bootstrapping"));
    let end = marks
        .iter()
        .filter(|(_, l, _)| l.contains(": bootstrap "))
        .max_by_key(|(t, _, _)| *t);
    let (bootstrap_wall, bootstrap_cpu) = match (start, end) {
        (Some(s), Some(e)) => (e.0 - s.0, e.2 - s.2),
        _ => (Duration::ZERO, 0.0),
    };
    // Dispose so the nodes go away with the emulator; the backend is shut down on drop.
    let _ = rt.block_on(engine::run(Action::Dispose, plan, &opts));
    drop(emu);
    nodes.shutdown();
    if std::env::var_os("BENCH_KEEP").is_some() {
        // The node logs (state/plans/*/logs) stay for a look at where the time went.
        eprintln!("kept {}", dir.keep().display());
    }
    Run {
        report,
        wall,
        bootstrap_wall,
        bootstrap_cpu,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__node-init") {
        std::process::exit(nodes::init_main(&args[2..]));
    }
    bench_support::init();
    if !nix::unistd::geteuid().is_root() {
        bench_support::skipped("needs root (local nodes)");
        eprintln!("bench_deploy needs root (local nodes)");
        std::process::exit(if bench_support::json() { 0 } else { 2 });
    }
    let text = std::fs::read_to_string(PLAN).unwrap();
    let plan = load_text(PLAN, &text, &Parameters::new()).unwrap().0;

    // Three fresh deploys (the wall time varies by a few tenths of a second): the median counts.
    let mut runs: Vec<Run> = (0..3).map(|_| deploy(&plan, 0)).collect();
    for r in &runs {
        assert!(
            r.report.ok,
            "deploy failed: {:#?}",
            r.report.locations[0].bootstrap
        );
    }
    runs.sort_by_key(|r| r.wall);
    println!(
        "whole local deploy over {} runs: min {:.2} s  median {:.2} s  max {:.2} s",
        runs.len(),
        runs[0].wall.as_secs_f64(),
        runs[runs.len() / 2].wall.as_secs_f64(),
        runs[runs.len() - 1].wall.as_secs_f64()
    );
    let all = runs.swap_remove(runs.len() / 2);
    let one = deploy(&plan, 1);
    assert!(one.report.ok, "serial deploy failed");
    let slowest = one.report.locations[0]
        .bootstrap
        .iter()
        .map(|b| b.duration)
        .max()
        .unwrap_or_default();
    let wall = all.wall.as_secs_f64();
    use bench_support::{Target, figure};
    figure(
        "deploy: whole local redis deploy (time-scale 0.01)",
        wall,
        "s",
        Some(Target::AtMost(10.0)),
    );
    figure(
        "deploy: API requests of the local redis deploy",
        all.report.requests as f64,
        "req",
        None,
    );
    println!(
        "whole local deploy of the redis plan (time-scale 0.01)  {wall:>8.2} s  (target <= 10 s): {}",
        verdict(wall, 10.0)
    );
    println!(
        "  of which bootstrap of 4 nodes in parallel            {:>8.2} s",
        all.bootstrap_wall.as_secs_f64()
    );
    println!(
        "  API requests                                          {:>8}",
        all.report.requests
    );
    println!(
        "slowest node bootstrapped alone                         {:>8.2} s",
        slowest.as_secs_f64()
    );
    let ratio = all.bootstrap_wall.as_secs_f64() / slowest.as_secs_f64().max(1e-9);
    // Given for information: once a node's bootstrap is CPU (1.1 s alone), 4 of them cannot run
    // in the time of one on 2 cores, whatever plumbery does.
    figure(
        "deploy: parallel bootstrap / slowest single node",
        ratio,
        "x",
        None,
    );
    println!(
        "parallel bootstrap / slowest single node                {ratio:>8.2} x  (for information)"
    );
    // What the parallel bootstrap is held to: the best this machine allows, the slowest node
    // alone or the CPU time the nodes' bootstraps took one after the other spread over every
    // core, whichever is longer.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let bound = slowest.as_secs_f64().max(one.bootstrap_cpu / cores);
    println!(
        "CPU of the bootstrap one node at a time (whole machine)  {:>8.2} s  over {cores} cores: {:.2} s",
        one.bootstrap_cpu,
        one.bootstrap_cpu / cores
    );
    let ratio = all.bootstrap_wall.as_secs_f64() / bound.max(1e-9);
    figure(
        "deploy: parallel bootstrap / max(slowest single node, serial bootstrap CPU / cores)",
        ratio,
        "x",
        Some(Target::AtMost(1.3)),
    );
    println!(
        "parallel bootstrap / max(slowest node, CPU / cores)      {ratio:>8.2} x  (target <= 1.3 x): {}",
        if ratio <= 1.3 { "met" } else { "NOT met" }
    );
}
