//! `plumbery --local fittings/web-balancer.yaml deploy` (the real binary, its own background
//! emulator with local nodes) ends with two web nodes behind a load balancer: `information` (and
//! its `--json` form) names the listener's public address, and HTTP requests to it are answered by
//! web01 and web02 in turn; a second deploy has nothing to change; dispose leaves no mount or
//! process behind. Needs root (elsewhere it prints why and passes). A guard stops the background
//! emulator even when an assertion fails.

#[path = "local_cloud_support/mod.rs"]
mod local_cloud_support;
#[path = "nodes_support/mod.rs"]
mod nodes_support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use local_cloud_support::{BIN, LocalGuard, assert_ok};
use nodes_support::{mounts_mentioning, processes_mentioning, root_or_skip};

const PLAN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fittings/web-balancer.yaml");

/// The listener's address from the `information` text (`listener: HTTP a.b.c.d:80`).
fn listener_address(info: &str) -> Ipv4Addr {
    let line = info
        .lines()
        .find_map(|l| l.trim().strip_prefix("listener: HTTP "))
        .unwrap_or_else(|| panic!("no listener line in:\n{info}"));
    line.strip_suffix(":80").unwrap().parse().unwrap()
}

/// The body of `GET /` on `addr:80`, or `None` when it cannot be read.
fn get(addr: Ipv4Addr) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&(addr, 80).into(), Duration::from_secs(5)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: web\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let (head, body) = out.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200")
        .then(|| body.trim().to_string())
}

#[test]
fn web_nodes_answer_in_turn_behind_the_listener() {
    if !root_or_skip() {
        return;
    }
    let root = tempfile::Builder::new().prefix("plweb").tempdir().unwrap();
    let guard = LocalGuard(root.path().to_path_buf());
    let run = |args: &[&str]| {
        Command::new(BIN)
            .arg("--local")
            .args(args)
            .env("PLUMBERY_STATE_DIR", root.path())
            .env("HOME", root.path())
            .env_remove("SHARED_SECRET")
            .env_remove("MCP_ENDPOINT")
            .output()
            .unwrap()
    };
    assert_ok(&run(&[PLAN, "deploy"]), "plumbery --local deploy");
    let info = run(&[PLAN, "information"]);
    assert_ok(&info, "information");
    let info = String::from_utf8_lossy(&info.stdout).to_string();
    let addr = listener_address(&info);
    assert!(
        info.contains(&format!("curl http://{addr}:80/ answers web01 and web02")),
        "{info}"
    );
    let json = run(&["--json", PLAN, "information"]);
    assert_ok(&json, "information --json");
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let l = &doc["listeners"][0];
    assert_eq!(l["name"], "http.web.na12.balancer", "{doc}");
    assert_eq!(l["address"], addr.to_string(), "{doc}");
    assert_eq!(l["port"], 80, "{doc}");
    // The page servers start with the bootstrap, and the listener's health check takes a member
    // back about a second after it answers: wait until both nodes have answered, then look at which
    // node answers each request.
    let t0 = Instant::now();
    let mut answered: Vec<String> = Vec::new();
    while !(answered.iter().any(|a| a == "web01") && answered.iter().any(|a| a == "web02")) {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "{addr}:80 answered only {answered:?}"
        );
        answered.extend(get(addr));
        std::thread::sleep(Duration::from_millis(200));
    }
    let seen: Vec<String> = (0..6).map(|_| get(addr).unwrap_or_default()).collect();
    for pair in seen.windows(2) {
        assert_ne!(pair[0], pair[1], "not in turn: {seen:?}");
    }
    let mut names = seen.clone();
    names.sort();
    names.dedup();
    assert_eq!(names, ["web01", "web02"], "{seen:?}");

    let again = run(&["--json", PLAN, "deploy"]);
    assert_ok(&again, "second deploy");
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    for p in report["locations"][0]["phases"].as_array().unwrap() {
        assert_eq!(
            p["steps"].as_array().unwrap().len(),
            0,
            "second deploy: {p}"
        );
    }

    assert_ok(&run(&[PLAN, "dispose"]), "dispose");
    assert!(
        get(addr).is_none(),
        "the listener still answers after dispose"
    );
    drop(guard);
    let dir = root.path().join("emulator");
    let d = dir.display().to_string();
    assert_eq!(mounts_mentioning(&[&d]), Vec::<String>::new());
    assert_eq!(processes_mentioning(&d), Vec::<i32>::new());
}
