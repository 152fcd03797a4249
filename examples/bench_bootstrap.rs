//! Benchmark: bootstrap of 4 local nodes in parallel against the slowest single node.
//!
//! The nodes are real local nodes (namespace containers with sshd, redis and chrony, reached
//! through 127.77.x.y public addresses, only port 22 open), configured like the Redis plan: a
//! master and three replicas, hardened, clock-synced. Each single run uses a fresh node; the
//! parallel run uses four other fresh nodes, then runs again to show that nothing changes.
//! Needs root. Run: `cargo run --release --example bench_bootstrap [-- --json]`.

#[path = "bench_support/mod.rs"]
mod bench_support;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bootstrap::{
    BootstrapOptions, KeyPair, NodeOutcome, NodeStatus, NodeTarget, prepare_nodes, replication_info,
};
use emulator::backend::{FirewallRuleSpec, NatSpec, NodeBackend, ServerSpec};
use nodes::{LocalNodes, LocalNodesConfig};

const PASSWORD: &str = "Bench-First-Contact-1";
const SECRET: &str = "Bench-Redis-Secret-42";
const TARGET_RATIO: f64 = 1.3;
const N: u8 = 4;

fn private(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 10 + i)
}

/// Node `i` of a group whose master is node `master`.
fn cloud_config(i: u8, master: u8) -> serde_yaml::Value {
    let replica = if i == master {
        String::new()
    } else {
        format!(
            "      replicaof {} 6379\n      masterauth {SECRET}\n      replica-read-only yes\n",
            private(master)
        )
    };
    let text = format!(
        "hostname: redis{i:02}\nwrite_files:\n  - path: /etc/redis/redis.conf\n    append: true\n    content: |\n      \
         bind {} 127.0.0.1\n      protected-mode yes\n      requirepass {SECRET}\n      \
         maxmemory-policy noeviction\n      tcp-keepalive 60\n      repl-diskless-sync-delay 0\n{replica}\
         runcmd:\n  - service redis-server restart\nusers:\n  - default\ndisable_root: true\nssh_pwauth: false\n",
        private(i)
    );
    serde_yaml::from_str(&text).unwrap()
}

fn check(outcomes: &[NodeOutcome]) {
    for o in outcomes {
        let log = std::fs::read_to_string(&o.log).unwrap_or_default();
        assert_eq!(o.status, NodeStatus::Completed, "{o:?}\n{log}");
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__node-init") {
        std::process::exit(nodes::init_main(&args[2..]));
    }
    bench_support::init();
    if !nix::unistd::geteuid().is_root() {
        eprintln!("bench_bootstrap needs root (local nodes)");
        bench_support::skipped("needs root");
        std::process::exit(2);
    }
    let dir = tempfile::Builder::new()
        .prefix("plbootbench")
        .tempdir()
        .unwrap();
    let nodes = std::sync::Arc::new(
        LocalNodes::new(LocalNodesConfig::new(
            dir.path().join("nodes"),
            "/proc/self/exe",
        ))
        .unwrap(),
    );
    let net = (std::process::id() % 200) as u8 + 20;
    let public = move |i: u8| Ipv4Addr::new(127, 77, net, 10 + i);
    let ids: Vec<u8> = (1..=N).chain(11..11 + N).collect();
    {
        let nodes = nodes.clone();
        let ids = ids.clone();
        tokio::task::spawn_blocking(move || {
            nodes.create_domain("dom").unwrap();
            nodes
                .create_vlan("dom", "vlan", Ipv4Addr::new(10, 0, 0, 1), 24)
                .unwrap();
            let mut nats = Vec::new();
            for &i in &ids {
                let spec = ServerSpec {
                    id: format!("srv-{i}"),
                    name: format!("redis{i:02}"),
                    domain_id: "dom".into(),
                    vlan_id: "vlan".into(),
                    private_ipv4: private(i),
                    prefix: 24,
                    gateway: Ipv4Addr::new(10, 0, 0, 1),
                    admin_password: PASSWORD.into(),
                    cpu_count: 1,
                    memory_gb: 1,
                };
                nodes.create_server(&spec, true).unwrap();
                nats.push(NatSpec {
                    id: format!("nat-{i}"),
                    internal: private(i),
                    external: public(i),
                });
            }
            let ssh_only = FirewallRuleSpec {
                id: "ssh".into(),
                accept: true,
                enabled: true,
                protocol: "TCP".into(),
                dest_ip: None,
                dest_prefix: None,
                dest_ports: Some((22, 22)),
            };
            nodes.sync_public("dom", &nats, &[ssh_only]).unwrap();
        })
        .await
        .unwrap();
    }

    let private_key = dir.path().join("plan_rsa");
    let st = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-f"])
        .arg(&private_key)
        .status()
        .unwrap();
    assert!(st.success());
    let mut opts = BootstrapOptions::new(
        dir.path().join("state"),
        KeyPair {
            public: private_key.with_extension("pub"),
            private: private_key,
        },
    );
    opts.boot_timeout = Duration::from_secs(60);
    opts.secrets = vec![SECRET.into()];
    let target = |i: u8, master: u8| NodeTarget {
        name: format!("redis{i:02}"),
        address: SocketAddr::from((public(i), 22)),
        admin_password: PASSWORD.into(),
        cloud_config: cloud_config(i, master),
        prepare: vec![],
        appliance: None,
    };

    let mut slowest = Duration::ZERO;
    for i in 1..=N {
        let t = Instant::now();
        let out = prepare_nodes(vec![target(i, 1)], &opts).await;
        let d = t.elapsed();
        check(&out);
        println!(
            "single   {}: {:>6.3} s ({} changes)",
            out[0].name,
            d.as_secs_f64(),
            out[0].changes
        );
        slowest = slowest.max(d);
    }

    let group: Vec<NodeTarget> = (11..11 + N).map(|i| target(i, 11)).collect();
    let t = Instant::now();
    let out = prepare_nodes(group.clone(), &opts).await;
    let parallel = t.elapsed();
    check(&out);
    for o in &out {
        println!(
            "parallel {}: {:>6.3} s ({} changes)",
            o.name,
            o.duration.as_secs_f64(),
            o.changes
        );
    }

    let t = Instant::now();
    let again = prepare_nodes(group.clone(), &opts).await;
    let rerun = t.elapsed();
    check(&again);
    let changes: u32 = again.iter().map(|o| o.changes).sum();

    let deadline = Instant::now() + Duration::from_secs(30);
    let slaves = loop {
        let m = replication_info(group[0].address, &opts, SECRET)
            .await
            .unwrap();
        if m.connected_slaves == Some(u32::from(N) - 1) || Instant::now() > deadline {
            break m.connected_slaves.unwrap_or(0);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };

    use bench_support::{Target, figure};
    figure(
        "bootstrap: slowest single node",
        slowest.as_secs_f64(),
        "s",
        None,
    );
    figure(
        &format!("bootstrap: {N} nodes in parallel"),
        parallel.as_secs_f64(),
        "s",
        None,
    );
    let ratio = parallel.as_secs_f64() / slowest.as_secs_f64();
    println!(
        "slowest single node        : {:>6.3} s",
        slowest.as_secs_f64()
    );
    println!(
        "{N} nodes in parallel        : {:>6.3} s",
        parallel.as_secs_f64()
    );
    println!(
        "parallel / slowest single  : {ratio:>6.2}x (target <= {TARGET_RATIO}x) {}",
        bench_support::verdict(figure(
            &format!("bootstrap: {N} nodes in parallel / slowest single"),
            ratio,
            "x",
            Some(Target::AtMost(TARGET_RATIO)),
        ))
    );
    println!(
        "re-run of {N} nodes          : {:>6.3} s, {changes} change(s) (target 0)",
        rerun.as_secs_f64()
    );
    figure(
        &format!("bootstrap: re-run of {N} nodes: changes"),
        f64::from(changes),
        "",
        Some(Target::Equals(0.0)),
    );
    println!("master connected_slaves    : {slaves} (target {})", N - 1);
    figure(
        "bootstrap: replicas connected to the master",
        f64::from(slaves),
        "",
        Some(Target::Equals(f64::from(N - 1))),
    );
    nodes.shutdown();
}
