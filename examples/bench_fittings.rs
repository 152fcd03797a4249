//! Benchmark: load and validate a generated plan of 1,000 nodes (50 blueprints of 20-node ranges,
//! with defaults, a node class, cloud-config and tokens). Target: under 100 ms in a release build.
//! Also times the generation of a key pair for the `rsa_public.X` tokens: RSA 2048 (names ending in
//! `rsa`) and Ed25519 (the default).
//!
//! Run with `cargo run --release --example bench_fittings [-- --json] [--quick]`.

#[path = "bench_support/mod.rs"]
mod bench_support;

use std::fmt::Write;
use std::time::Instant;

use fittings::{Parameters, load_text};

const HEADER: &str = r#"---
information: [generated]
parameters:
  locationId:
    information: [where]
    type: locations.list
    default: EU6
defaults:
  cloud-config:
    disable_root: true
    ssh_pwauth: false
    users:
      - default
      - name: ubuntu
        ssh_authorized_keys: ["{{ rsa_public.key }}"]
  worker:
    appliance: 'Ubuntu 22'
    cpu: 2
    memory: 4
    monitoring: essentials
    glue: [internet 22 80 443]
    disks: ['1 50 standard']
    cloud-config:
      packages: [chrony, redis-server]
      runcmd:
        - systemctl enable --now chrony
---
locationId: "{{ parameter.locationId }}"
blueprints:
"#;

fn generate(blueprints: usize, nodes_per_range: usize) -> String {
    let mut plan = String::from(HEADER);
    for b in 0..blueprints {
        let _ = write!(
            plan,
            "  - bp{b}:\n      domain: {{name: Domain{b}, service: essentials, ipv4: auto}}\n      ethernet: {{name: Net{b}, subnet: 10.{b}.0.0}}\n      nodes:\n        - n{b}x[1..{nodes_per_range}]:\n            default: worker\n            information: [\"ssh ubuntu@{{{{ node.public }}}}\"]\n            cloud-config:\n              write_files:\n                - path: /etc/peer\n                  content: |\n                    peer {{{{ n{b}x1.private }}}}\n                    secret {{{{ cluster.secret }}}}\n"
        );
    }
    plan
}

fn main() {
    bench_support::init();
    let text = generate(50, 20);
    let params = Parameters::new();
    let (plan, warnings) =
        load_text("generated.yaml", &text, &params).expect("the generated plan loads");
    let nodes: usize = plan
        .locations
        .iter()
        .flat_map(|l| &l.blueprints)
        .map(|b| b.nodes.len())
        .sum();
    assert_eq!(nodes, 1000);
    assert!(warnings.is_empty(), "{warnings:?}");
    let runs = if bench_support::quick() { 5 } else { 20 };
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let (plan, _) = load_text("generated.yaml", &text, &params).expect("loads");
        std::hint::black_box(&plan);
        times.push(start.elapsed());
    }
    times.sort();
    let median = times[runs / 2];
    let best = times[0];
    let target_ms = 100.0;
    println!(
        "bench_fittings: load + validate a plan of {nodes} nodes ({} KiB of YAML)",
        text.len() / 1024
    );
    println!(
        "  median {:.1} ms, best {:.1} ms over {runs} runs",
        median.as_secs_f64() * 1e3,
        best.as_secs_f64() * 1e3
    );
    let verdict = bench_support::verdict(bench_support::figure(
        &format!("fittings: load + validate {nodes}-node plan (median)"),
        median.as_secs_f64() * 1e3,
        "ms",
        Some(bench_support::Target::Below(target_ms)),
    ));
    println!("  target: under {target_ms} ms (release build): {verdict}");
    let pairs = 5;
    let start = Instant::now();
    for i in 0..pairs {
        std::hint::black_box(secrets::rsa_key_pair(&format!("bench{i}")).expect("generates"));
    }
    let each = start.elapsed().as_secs_f64() * 1e3 / f64::from(pairs);
    println!(
        "bench_fittings: RSA 2048 key pair (rsa_public.X / rsa_private.X): {each:.0} ms each, mean of {pairs}"
    );
    bench_support::figure("fittings: RSA 2048 key pair", each, "ms", None);
    println!(
        "  no target: generated once per pair name and plan, then read from the secret store; only pairs whose name ends in rsa are RSA"
    );
    let pairs = 100;
    let start = Instant::now();
    for i in 0..pairs {
        std::hint::black_box(secrets::ed25519_key_pair(&format!("bench{i}")).expect("generates"));
    }
    let each = start.elapsed().as_secs_f64() * 1e3 / f64::from(pairs);
    println!(
        "bench_fittings: Ed25519 key pair (the default of new pairs): {each:.3} ms each, mean of {pairs}"
    );
    bench_support::figure(
        "fittings: Ed25519 key pair (default)",
        each,
        "ms",
        Some(bench_support::Target::Below(10.0)),
    );
}
