//! Redis Sentinel in the flagship plan, as root with local nodes: `plumbery
//! fittings/redis-cluster.yaml deploy` (the real binary, against an in-process emulator) gives a
//! master and three replicas watched by four Sentinels that agree; `SHUTDOWN NOSAVE` on the master
//! makes the Sentinels promote a replica within 60 s (the time is measured and printed), the other
//! two follow it and get its writes, `information --json` names it; `prepare` brings the old master
//! back as a replica of the new one (its node log shows it was told whom to follow before its Redis
//! started: never a second master); a stop/start of every node keeps the roles and Sentinel running. Guards shut the nodes down even when an assertion fails.

#[path = "local_cloud_support/mod.rs"]
mod local_cloud_support;
#[path = "nodes_support/mod.rs"]
mod nodes_support;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use local_cloud_support::{Cloud, assert_ok};
use nodes_support::root_or_skip;

const PLAN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fittings/redis-cluster.yaml");
const NAME: &str = "redis-cluster";

/// `plumbery ARGS` against the cloud, which must succeed.
fn plumbery(cloud: &Cloud, args: &[&str]) -> Output {
    let out = cloud.plumbery(args);
    assert_ok(&out, &format!("plumbery {args:?}"));
    out
}

fn information(cloud: &Cloud) -> serde_json::Value {
    serde_json::from_slice(&plumbery(cloud, &["--json", PLAN, "information"]).stdout).unwrap()
}

/// The nodes (name, public, private), the key, the pinned host keys and both passwords.
struct Access {
    nodes: Vec<(String, Ipv4Addr, String)>,
    key: PathBuf,
    known_hosts: PathBuf,
    secret: String,
    sentinel_secret: String,
}

impl Access {
    fn public(&self, name: &str) -> Ipv4Addr {
        self.nodes.iter().find(|n| n.0 == name).unwrap().1
    }

    fn private(&self, name: &str) -> &str {
        &self.nodes.iter().find(|n| n.0 == name).unwrap().2
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().map(|n| n.0.as_str())
    }
}

fn access(cloud: &Cloud) -> Access {
    let doc = information(cloud);
    let nodes: Vec<(String, Ipv4Addr, String)> = doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().to_string(),
                n["public_ipv4"].as_str().unwrap().parse().unwrap(),
                n["private_ipv4"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(nodes.len(), 4, "{doc}");
    let command = doc["nodes"][0]["ssh_command"].as_str().unwrap();
    let known_hosts = command
        .split_whitespace()
        .find_map(|w| w.strip_prefix("UserKnownHostsFile="))
        .unwrap()
        .trim_matches('\'')
        .into();
    let secrets: serde_json::Value =
        serde_json::from_slice(&plumbery(cloud, &["--json", PLAN, "secrets"]).stdout).unwrap();
    Access {
        nodes,
        key: doc["nodes"][0]["ssh_key"].as_str().unwrap().into(),
        known_hosts,
        secret: secrets["master.secret"].as_str().unwrap().into(),
        sentinel_secret: secrets["sentinel.secret"].as_str().unwrap().into(),
    }
}

/// `CMD` on the node as `ubuntu`, with the plan's key and pinned host keys; its stdout+stderr.
fn ssh(a: &Access, addr: Ipv4Addr, cmd: &str) -> String {
    let out = Command::new("ssh")
        .arg("-i")
        .arg(&a.key)
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", a.known_hosts.display()))
        .args(["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"])
        .args(["-o", "ConnectTimeout=10", "-o", "IdentitiesOnly=yes"])
        .arg(format!("ubuntu@{addr}"))
        .arg(cmd)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c != 255),
        "ssh to {addr} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `redis-cli ARGS` against the node's Redis (port 6379) with the master password.
fn redis(a: &Access, node: &str, args: &str) -> String {
    let cmd = format!(
        "REDISCLI_AUTH='{}' redis-cli -h 127.0.0.1 {args} 2>&1",
        a.secret
    );
    ssh(a, a.public(node), &cmd)
}

/// The master address the node's Sentinel names now.
fn sentinel_master(a: &Access, node: &str) -> String {
    let cmd = format!(
        "REDISCLI_AUTH='{}' redis-cli -h 127.0.0.1 -p 26379 SENTINEL get-master-addr-by-name {NAME} 2>&1 | head -n 1",
        a.sentinel_secret
    );
    ssh(a, a.public(node), &cmd)
}

/// Polls `what` until it holds or `limit` passes; panics with the last value seen.
fn wait_for(limit: Duration, what: &str, mut f: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + limit;
    loop {
        match f() {
            Ok(()) => return,
            Err(last) if Instant::now() >= deadline => {
                panic!("{what}: not within {limit:?}: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

/// Holds when `master` reports `role:master` with `replicas` connected replicas, and each of
/// `followers` is a replica of it with its link up.
fn replication_holds(a: &Access, master: &str, followers: &[&str]) -> Result<(), String> {
    let info = redis(a, master, "INFO replication");
    let want = format!("connected_slaves:{}", followers.len());
    if !info.contains("role:master") || !info.contains(&want) {
        return Err(format!("{master}: {info}"));
    }
    for f in followers {
        let info = redis(a, f, "INFO replication");
        let host = format!("master_host:{}", a.private(master));
        if !info.contains("role:slave")
            || !info.contains(&host)
            || !info.contains("master_link_status:up")
        {
            return Err(format!("{f}: {info}"));
        }
    }
    Ok(())
}

/// Holds when every node's Sentinel names `master`.
fn sentinels_name(a: &Access, master: &str) -> Result<(), String> {
    for n in a.names() {
        let seen = sentinel_master(a, n);
        if seen != a.private(master) {
            return Err(format!("the Sentinel of {n} names {seen:?}"));
        }
    }
    Ok(())
}

/// `key` reads `value` on every one of `nodes`.
fn reads(a: &Access, nodes: &[&str], key: &str, value: &str) -> Result<(), String> {
    for n in nodes {
        let got = redis(a, n, &format!("GET {key}"));
        if got != value {
            return Err(format!("{n} reads {got:?}"));
        }
    }
    Ok(())
}

/// The deploy's checks name every Sentinel and hold.
fn assert_sentinel_checks(deploy: &Output) {
    let report: serde_json::Value = serde_json::from_slice(&deploy.stdout).unwrap();
    let checks = report["locations"][0]["checks"].as_array().unwrap();
    let sentinel: Vec<&serde_json::Value> = checks
        .iter()
        .filter(|c| c["check"] == "redis sentinel")
        .collect();
    assert_eq!(sentinel.len(), 4, "{checks:?}");
    assert!(checks.iter().all(|c| c["ok"] == true), "{checks:?}");
}

#[test]
fn the_cluster_survives_its_master_and_prepare_brings_it_back_as_a_replica() {
    if !root_or_skip() {
        return;
    }
    let cloud = Cloud::start("plfailover");
    assert_sentinel_checks(&plumbery(&cloud, &["--json", PLAN, "deploy"]));
    let a = access(&cloud);
    let all: Vec<&str> = a.names().collect();
    // The seed's check still holds right after deploy.
    let info = redis(&a, "redis01", "INFO replication");
    assert!(info.contains("role:master"), "{info}");
    assert!(info.contains("connected_slaves:3"), "{info}");
    wait_for(Duration::from_secs(30), "Sentinels name redis01", || {
        sentinels_name(&a, "redis01")
    });
    let doc = information(&cloud);
    assert_eq!(doc["redis"]["master"]["name"], "redis01", "{doc}");
    assert_eq!(doc["redis"]["master_name"], NAME, "{doc}");
    assert_eq!(
        doc["redis"]["sentinels"].as_array().unwrap().len(),
        4,
        "{doc}"
    );

    // The master dies; a replica takes over.
    let before = format!("before-{}", std::process::id());
    assert_eq!(
        redis(&a, "redis01", &format!("SET plumbery:k {before}")),
        "OK"
    );
    wait_for(
        Duration::from_secs(20),
        "replicas read the first write",
        || reads(&a, &all[1..], "plumbery:k", &before),
    );
    redis(&a, "redis01", "SHUTDOWN NOSAVE");
    let t0 = Instant::now();
    let mut promoted = None;
    wait_for(Duration::from_secs(60), "a replica is promoted", || {
        for n in &all[1..] {
            if redis(&a, n, "INFO replication").contains("role:master") {
                promoted = Some(n.to_string());
                return Ok(());
            }
        }
        Err("no replica is master".into())
    });
    let failover = t0.elapsed();
    let new = promoted.unwrap();
    println!(
        "failover: {new} is master {:.1} s after SHUTDOWN NOSAVE on redis01",
        failover.as_secs_f64()
    );
    let others: Vec<&str> = all[1..].iter().copied().filter(|n| *n != new).collect();
    wait_for(
        Duration::from_secs(60).saturating_sub(failover),
        "the other replicas follow the new master",
        || replication_holds(&a, &new, &others),
    );
    println!(
        "failover: {new} has its two replicas {:.1} s after the shutdown",
        t0.elapsed().as_secs_f64()
    );
    let after = format!("after-{}", std::process::id());
    assert_eq!(redis(&a, &new, &format!("SET plumbery:k {after}")), "OK");
    wait_for(
        Duration::from_secs(20),
        "the write on the new master reaches its replicas",
        || reads(&a, &others, "plumbery:k", &after),
    );
    wait_for(
        Duration::from_secs(30),
        "Sentinels name the new master",
        || {
            let seen: Vec<String> = others
                .iter()
                .chain([&new.as_str()])
                .map(|n| sentinel_master(&a, n))
                .collect();
            seen.iter()
                .all(|s| s == a.private(&new))
                .then_some(())
                .ok_or(format!("{seen:?}"))
        },
    );
    let doc = information(&cloud);
    assert_eq!(doc["redis"]["master"]["name"], new.as_str(), "{doc}");
    let node = |doc: &serde_json::Value, name: &str| {
        doc["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(node(&doc, &new)["redis"]["role"], "master", "{doc}");
    assert_eq!(node(&doc, "redis01")["redis"]["role"], "replica", "{doc}");
    let old = doc["redis"]["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "redis01")
        .cloned();
    assert_eq!(old.map(|r| r["link"].clone()), Some("down".into()), "{doc}");
    let text =
        String::from_utf8_lossy(&plumbery(&cloud, &[PLAN, "information"]).stdout).to_string();
    assert!(
        text.contains(&format!("  master: {new} ({})\n", a.private(&new))),
        "{text}"
    );

    // prepare: the old master comes back as a replica of the new one; its checks hold.
    assert_sentinel_checks(&plumbery(&cloud, &["--json", PLAN, "prepare"]));
    let followers: Vec<&str> = all.iter().copied().filter(|n| *n != new).collect();
    replication_holds(&a, &new, &followers).unwrap();
    // redis01 was told to follow the new master before its Redis started: never a second master.
    let log = a
        .key
        .parent()
        .and_then(|k| k.parent())
        .unwrap()
        .join("logs/redis01.log");
    let log = std::fs::read_to_string(log).unwrap();
    let prepare = &log[log.rfind("== bootcmd").expect("bootcmd ran")..];
    let told = format!("redis.conf: replicaof {} 6379", a.private(&new));
    let (Some(told_at), Some(started_at)) =
        (prepare.find(&told), prepare.find("Starting redis-server"))
    else {
        panic!("{prepare}");
    };
    assert!(told_at < started_at, "{prepare}");
    reads(&a, &["redis01"], "plumbery:k", &after).unwrap();
    sentinels_name(&a, &new).unwrap();
    let doc = information(&cloud);
    assert_eq!(doc["redis"]["master"]["name"], new.as_str(), "{doc}");
    assert!(
        doc["redis"]["replicas"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["link"] == "up"),
        "{doc}"
    );

    // Stop and start every node: the roles and the Sentinels come back as they were.
    plumbery(&cloud, &[PLAN, "stop"]);
    plumbery(&cloud, &[PLAN, "start"]);
    wait_for(
        Duration::from_secs(60),
        "the cluster after stop/start",
        || {
            sentinels_name(&a, &new)?;
            replication_holds(&a, &new, &followers)
        },
    );
    assert_eq!(information(&cloud)["redis"]["master"]["name"], new.as_str());

    plumbery(&cloud, &[PLAN, "dispose"]);
    assert_eq!(
        cloud.emu.stats().resources,
        emulator::ResourceCounts::default()
    );
    cloud.harness.assert_clean();
}
