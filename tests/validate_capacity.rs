//! Capacity checks of `plumbery validate`, made before any API call: a VLAN whose nodes (with extra
//! NICs and reserved addresses) do not fit its subnet, and internet nodes beyond the domain's
//! `ipv4: N` (load balancer listeners included), are refused with exit 2, the file:line:column of the blueprint and the numbers.

use std::process::{Command, Output};

/// Runs `plumbery PLAN validate` with an endpoint nothing listens on (no API call may be made).
fn validate(plan: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capacity.yaml");
    std::fs::write(&path, plan).unwrap();
    Command::new(env!("CARGO_BIN_EXE_plumbery"))
        .arg(&path)
        .arg("validate")
        .env("PLUMBERY_STATE_DIR", dir.path().join("state"))
        .env("MCP_ENDPOINT", "http://127.0.0.1:9")
        .output()
        .unwrap()
}

/// A plan of one blueprint with `nodes` nodes on `subnet`, `internet` glue when asked, and the
/// extra lines of the ethernet block.
fn plan(nodes: usize, subnet: &str, ethernet_extra: &str, ipv4: &str, internet: bool) -> String {
    let glue = if internet {
        "\n            glue:\n              - internet 22"
    } else {
        ""
    };
    format!(
        "---\nlocationId: NA9\n\nblueprints:\n\n  - big:\n      domain:\n        name: BigDomain\n        ipv4: {ipv4}\n      ethernet:\n        name: BigNetwork\n        subnet: {subnet}\n{ethernet_extra}      nodes:\n        - node[1..{nodes}]:\n            appliance: 'Ubuntu'{glue}\n"
    )
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn three_hundred_nodes_on_a_24_are_refused() {
    let out = validate(&plan(300, "10.0.0.0", "", "2", false));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("capacity.yaml:6:5:"),
        "file:line of the blueprint: {err}"
    );
    assert!(err.contains("needed 300 addresses"), "{err}");
    assert!(err.contains("available 253"), "{err}");
    assert!(err.contains("BigNetwork"), "{err}");
}

#[test]
fn the_same_nodes_on_a_larger_subnet_validate() {
    let out = validate(&plan(300, "10.0.0.0/23", "", "2", false));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn reserved_addresses_count() {
    // A /28 has 16 addresses, 13 usable: 12 nodes and 2 reserved addresses are one too many.
    let reserved = "        reserved:\n          - 10.0.0.5\n          - 10.0.0.6\n";
    let out = validate(&plan(12, "10.0.0.0/28 low", reserved, "2", false));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("needed 14 addresses"), "{err}");
    assert!(err.contains("2 reserved"), "{err}");
    assert!(err.contains("available 13"), "{err}");
    let out = validate(&plan(11, "10.0.0.0/28 low", reserved, "2", false));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn internet_nodes_beyond_the_ipv4_quota_are_refused() {
    let out = validate(&plan(5, "10.0.0.0", "", "4", true));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("capacity.yaml:6:5:"), "{err}");
    assert!(err.contains("needs 5 public IPv4 addresses"), "{err}");
    assert!(err.contains("ipv4: 4"), "{err}");
    let out = validate(&plan(4, "10.0.0.0", "", "4", true));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = validate(&plan(5, "10.0.0.0", "", "auto", true));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn load_balancer_listeners_count_against_the_ipv4_quota() {
    // Four internet nodes fill `ipv4: 4`; a listener without a fixed address needs a fifth.
    let listener = "      balancers:\n        - http:\n            port: 80\n";
    let with = |ipv4: &str| plan(4, "10.0.0.0", "", ipv4, true) + listener;
    let out = validate(&with("4"));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("needs 5 public IPv4 addresses"), "{err}");
    let out = validate(&with("6"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
