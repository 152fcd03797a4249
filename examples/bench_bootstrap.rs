//! Benchmark: bootstrap of N nodes in parallel against the slowest single node.
//!
//! Each node is a throw-away sshd (real sshd, PAM and sudo in a private mount namespace with a
//! copy of /etc, as in the bootstrap tests), so the whole flow runs: first contact as root with a
//! password, the cloud-config script, key login proof, sshd hardening and the refusal proofs.
//! Needs root. Run: `cargo run --release --example bench_bootstrap [N]`.

#[path = "../tests/bootstrap_support/mod.rs"]
mod bootstrap_support;

use std::time::{Duration, Instant};

use bootstrap_support::MiniNode;
use plumbery::bootstrap::{BootstrapOptions, KeyPair, NodeStatus, NodeTarget, prepare_nodes};

const PASSWORD: &str = "Bench-First-Contact-1";
const TARGET_RATIO: f64 = 1.3;

const CLOUD_CONFIG: &str = r#"
write_files:
  - path: /etc/redis-bench.conf
    content: |
      bind 127.0.0.1
      requirepass Bench-Secret-42
      maxmemory-policy noeviction
      tcp-keepalive 60
  - path: /etc/redis-bench.conf
    append: true
    content: |
      protected-mode yes
users:
  - default
disable_root: true
ssh_pwauth: false
final_message: "bench node ready"
"#;

fn target(i: usize, node: &MiniNode) -> NodeTarget {
    NodeTarget {
        name: format!("redis{:02}", i + 1),
        address: node.addr(),
        admin_password: PASSWORD.into(),
        cloud_config: serde_yaml::from_str(CLOUD_CONFIG).unwrap(),
        prepare: vec![],
    }
}

fn options(state: &std::path::Path) -> BootstrapOptions {
    let private = state.join("plan_rsa");
    if !private.exists() {
        let st = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-f"])
            .arg(&private)
            .status()
            .unwrap();
        assert!(st.success());
    }
    let mut o = BootstrapOptions::new(
        state,
        KeyPair {
            public: private.with_extension("pub"),
            private,
        },
    );
    o.clock_sync = false;
    o.boot_timeout = Duration::from_secs(30);
    o.secrets = vec!["Bench-Secret-42".into()];
    o
}

fn check(outcomes: &[plumbery::bootstrap::NodeOutcome]) {
    for o in outcomes {
        assert_eq!(o.status, NodeStatus::Completed, "{o:?}");
    }
}

#[tokio::main]
async fn main() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("bench_bootstrap needs root (it starts sshd in private namespaces)");
        std::process::exit(2);
    }
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(4);
    let state = tempfile::tempdir().unwrap();
    let opts = options(state.path());

    // Each node alone, one after the other, on fresh nodes.
    let mut singles = Vec::new();
    for i in 0..n {
        let node = MiniNode::start(PASSWORD);
        let t = Instant::now();
        let out = prepare_nodes(vec![target(i, &node)], &opts).await;
        let d = t.elapsed();
        check(&out);
        println!(
            "single   {}: {:>6.3} s ({} changes)",
            out[0].name,
            d.as_secs_f64(),
            out[0].changes
        );
        singles.push(d);
    }
    let slowest = singles.iter().max().copied().unwrap_or_default();

    // All nodes at once, on fresh nodes.
    let nodes: Vec<MiniNode> = (0..n).map(|_| MiniNode::start(PASSWORD)).collect();
    let targets: Vec<NodeTarget> = nodes
        .iter()
        .enumerate()
        .map(|(i, node)| target(i, node))
        .collect();
    let t = Instant::now();
    let out = prepare_nodes(targets.clone(), &opts).await;
    let parallel = t.elapsed();
    check(&out);

    // Re-run on the bootstrapped nodes: key login, nothing to change.
    let t = Instant::now();
    let again = prepare_nodes(targets, &opts).await;
    let rerun = t.elapsed();
    check(&again);
    let changes: u32 = again.iter().map(|o| o.changes).sum();

    let ratio = parallel.as_secs_f64() / slowest.as_secs_f64();
    println!(
        "slowest single node        : {:>6.3} s",
        slowest.as_secs_f64()
    );
    println!(
        "{n} nodes in parallel        : {:>6.3} s",
        parallel.as_secs_f64()
    );
    println!(
        "parallel / slowest single  : {ratio:>6.2}x (target <= {TARGET_RATIO}x) {}",
        if ratio <= TARGET_RATIO {
            "OK"
        } else {
            "MISSED"
        }
    );
    println!(
        "re-run of {n} nodes          : {:>6.3} s, {changes} change(s) (target 0)",
        rerun.as_secs_f64()
    );
}
