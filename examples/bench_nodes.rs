//! Benchmark of local nodes: time from `create_server` to sshd accepting (one node at a time), time
//! for 20 nodes created in parallel, and memory per idle node. Needs root.
//!
//! Run: `cargo run --release --example bench_nodes`. The example is its own node init (it answers
//! `__node-init` like the plumbery binary), so it needs no separate build of `plumbery`.
//! `-- --json` prints the figures as JSON lines (see `bench_support`).

#[path = "bench_support/mod.rs"]
mod bench_support;
#[path = "bench_support/proc_mem.rs"]
mod proc_mem;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use emulator::backend::{NodeBackend, ServerSpec};
use nodes::{LocalNodes, LocalNodesConfig};
use proc_mem::{KERNEL_FIELDS, kernel_kb, meminfo_kb, pss_kb, tree};

const SINGLE_RUNS: u8 = 5;
const MANY: u8 = 20;

fn spec(i: u8) -> ServerSpec {
    ServerSpec {
        id: format!("bench-{i}"),
        name: format!("bench{i}"),
        domain_id: "dom".into(),
        vlan_id: "vlan".into(),
        private_ipv4: Ipv4Addr::new(10, 0, 0, 10 + i),
        prefix: 24,
        gateway: Ipv4Addr::new(10, 0, 0, 1),
        admin_password: "Bench-Secret-1".into(),
        cpu_count: 1,
        memory_gb: 1,
    }
}

fn report(what: &str, value: f64, unit: &str, target: f64) {
    let verdict = bench_support::verdict(bench_support::figure(
        &format!("nodes: {what}"),
        value,
        unit,
        Some(bench_support::Target::Below(target)),
    ));
    println!("{what:<44} {value:>9.3} {unit:<3} (target < {target} {unit}): {verdict}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__node-init") {
        std::process::exit(nodes::init_main(&args[2..]));
    }
    bench_support::init();
    if !nix::unistd::geteuid().is_root() {
        eprintln!("bench_nodes needs root");
        bench_support::skipped("needs root");
        std::process::exit(2);
    }
    let dir = tempfile::Builder::new()
        .prefix("plbench")
        .tempdir()
        .unwrap();
    // Like `local_backend`: node PID 1s re-execute this very executable.
    let cfg = LocalNodesConfig::new(dir.path().join("state"), "/proc/self/exe");
    let nodes = LocalNodes::new(cfg).unwrap();
    nodes.create_domain("dom").unwrap();
    nodes
        .create_vlan("dom", "vlan", Ipv4Addr::new(10, 0, 0, 1), 24)
        .unwrap();

    // One node at a time (first boot: fresh host key, password, sshd).
    let mut times = Vec::new();
    for i in 0..SINGLE_RUNS {
        let s = spec(200 + i);
        let t = Instant::now();
        nodes.create_server(&s, true).unwrap();
        times.push(t.elapsed().as_secs_f64());
        nodes.delete_server(&s.id).unwrap();
    }
    times.sort_by(f64::total_cmp);
    println!("single node create -> sshd accepting, {SINGLE_RUNS} runs: {times:.3?} s");
    report(
        "create_server -> sshd accepting (median)",
        times[times.len() / 2],
        "s",
        0.5,
    );
    report(
        "create_server -> sshd accepting (worst)",
        times[times.len() - 1],
        "s",
        0.5,
    );

    // Restart of an existing node (keys already on its disk).
    let s = spec(230);
    nodes.create_server(&s, true).unwrap();
    nodes.stop_server(&s.id, false).unwrap();
    let t = Instant::now();
    nodes.start_server(&s.id).unwrap();
    report(
        "start_server of a stopped node",
        t.elapsed().as_secs_f64(),
        "s",
        0.5,
    );
    nodes.delete_server(&s.id).unwrap();

    // Twenty nodes in parallel.
    std::thread::sleep(Duration::from_millis(500));
    let before = meminfo_kb("MemAvailable");
    let kernel_before = kernel_kb();
    let t = Instant::now();
    std::thread::scope(|sc| {
        for i in 1..=MANY {
            let nodes = &nodes;
            sc.spawn(move || nodes.create_server(&spec(i), true).unwrap());
        }
    });
    report(
        &format!("{MANY} nodes, created in parallel"),
        t.elapsed().as_secs_f64(),
        "s",
        10.0,
    );

    // Memory of idle nodes.
    std::thread::sleep(Duration::from_secs(2));
    let after = meminfo_kb("MemAvailable");
    let kernel_after = kernel_kb();
    let mut pss = 0;
    let mut cg = 0;
    for i in 1..=MANY {
        let mut pids = Vec::new();
        tree(nodes.keeper_pid(&spec(i).id).unwrap(), &mut pids);
        pss += pids.iter().map(|p| pss_kb(*p)).sum::<u64>();
        cg += nodes.memory_usage(&spec(i).id).unwrap_or(0);
    }
    let per_pss = pss as f64 / f64::from(MANY) / 1024.0;
    let per_kernel = kernel_after.saturating_sub(kernel_before) as f64 / f64::from(MANY) / 1024.0;
    println!(
        "  PSS of a node's processes {per_pss:.2} MB; kernel objects ({}) {per_kernel:.2} MB",
        KERNEL_FIELDS.join("+")
    );
    report(
        "memory per idle node (PSS + kernel objects)",
        per_pss + per_kernel,
        "MB",
        10.0,
    );
    println!(
        "  for information: MemAvailable fell {:.1} MB per node (noisy: other work on the machine counts); cgroup usage {:.1} MB per node",
        before.saturating_sub(after) as f64 / f64::from(MANY) / 1024.0,
        cg as f64 / f64::from(MANY) / 1_048_576.0
    );

    let t = Instant::now();
    nodes.shutdown();
    println!(
        "shutdown of {MANY} nodes: {:.3} s",
        t.elapsed().as_secs_f64()
    );
}
