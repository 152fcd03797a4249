//! The user's goal end to end, as root with local nodes: `plumbery fittings/redis-cluster.yaml
//! deploy` (the real binary, against an in-process emulator at time-scale 0.01) ends with a
//! hardened Redis master and three replicas that follow it, watched by Sentinels that name it; a
//! second deploy changes nothing; dispose leaves the emulator empty and no namespace, mount or
//! process behind. The same flow runs through `plumbery --local`. Guards shut the nodes (and the
//! background emulator) down even when an assertion fails.

mod ansible_support;
mod engine_support;
#[path = "local_cloud_support/mod.rs"]
mod local_cloud_support;
#[path = "nodes_support/mod.rs"]
mod nodes_support;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use local_cloud_support::{BIN, Cloud, LocalGuard, assert_ok};
use nodes_support::{mounts_mentioning, processes_mentioning, root_or_skip, ssh_with_password};

const PLAN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fittings/redis-cluster.yaml");

/// Per node (name -> (public, private)), the key file and the pinned host keys, from
/// `information --json`.
struct Access {
    nodes: Vec<(String, Ipv4Addr, String)>,
    key: PathBuf,
    known_hosts: PathBuf,
    secret: String,
}

fn access(info: &Output, secrets: &Output) -> Access {
    let doc: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    let nodes: Vec<(String, Ipv4Addr, String)> = doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            for k in [
                "name",
                "state",
                "private_ipv4",
                "public_ipv4",
                "ssh_user",
                "ssh_key",
            ] {
                assert!(n[k].is_string(), "{k} missing in {n}");
            }
            assert_eq!(n["state"], "running");
            assert_eq!(n["ssh_user"], "ubuntu");
            (
                n["name"].as_str().unwrap().to_string(),
                n["public_ipv4"].as_str().unwrap().parse().unwrap(),
                n["private_ipv4"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(nodes.len(), 4);
    let key = PathBuf::from(doc["nodes"][0]["ssh_key"].as_str().unwrap());
    let command = doc["nodes"][0]["ssh_command"].as_str().unwrap();
    let known_hosts = command
        .split_whitespace()
        .find_map(|w| w.strip_prefix("UserKnownHostsFile="))
        .unwrap()
        .trim_matches('\'')
        .into();
    let master = &doc["nodes"][0]["redis"];
    assert_eq!(master["role"], "master", "{doc}");
    assert_eq!(doc["redis"]["master"]["name"], "redis01", "{doc}");
    assert_eq!(doc["redis"]["master_name"], "redis-cluster", "{doc}");
    assert_eq!(master["replication"]["connected_slaves"], "3", "{doc}");
    let secrets: serde_json::Value = serde_json::from_slice(&secrets.stdout).unwrap();
    let secret = secrets["master.secret"].as_str().unwrap().to_string();
    assert!(
        master["cli"].as_str().unwrap().ends_with(&secret),
        "{master}"
    );
    Access {
        nodes,
        key,
        known_hosts,
        secret,
    }
}

/// `ssh -i KEY USER@ADDR CMD` with the OpenSSH client, host key checked against the plan's pins.
fn ssh_as(a: &Access, user: &str, addr: Ipv4Addr, cmd: &str) -> Output {
    Command::new("ssh")
        .arg("-i")
        .arg(&a.key)
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", a.known_hosts.display()))
        .args([
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "IdentitiesOnly=yes",
        ])
        .arg(format!("{user}@{addr}"))
        .arg(cmd)
        .output()
        .unwrap()
}

/// `redis-cli ARGS` on the node with the secret; its whole output (an error reply included).
fn redis(a: &Access, addr: Ipv4Addr, args: &str) -> String {
    let out = ssh_as(
        a,
        "ubuntu",
        addr,
        &format!(
            "REDISCLI_AUTH='{}' redis-cli -h 127.0.0.1 {args} 2>&1",
            a.secret
        ),
    );
    assert!(
        out.status.code().is_some_and(|c| c != 255),
        "ssh to {addr} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// What the test checks on a deployed cluster, through ssh as `ubuntu` with the plan's key.
fn check_cluster(a: &Access) {
    let master = a.nodes.iter().find(|n| n.0 == "redis01").unwrap().1;
    let info = redis(a, master, "INFO replication");
    assert!(info.contains("role:master"), "{info}");
    assert!(info.contains("connected_slaves:3"), "{info}");
    let value = format!("v{}", std::process::id());
    assert_eq!(
        redis(a, master, &format!("SET plumbery:test {value}")),
        "OK"
    );
    for (name, public, _) in a.nodes.iter().filter(|n| n.0 != "redis01") {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = redis(a, *public, "GET plumbery:test");
            if got == value {
                break;
            }
            assert!(Instant::now() < deadline, "{name} reads {got:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
        let write = redis(a, *public, "SET plumbery:other x");
        assert!(
            write.contains("READONLY"),
            "{name} accepted a write: {write}"
        );
    }
    let noauth = ssh_as(
        a,
        "ubuntu",
        master,
        "redis-cli -h 127.0.0.1 GET plumbery:test 2>&1",
    );
    let text = String::from_utf8_lossy(&noauth.stdout).to_string()
        + &String::from_utf8_lossy(&noauth.stderr);
    assert!(text.contains("NOAUTH"), "{text}");
    // Root is refused with the plan's key, and with the admin password.
    let root = ssh_as(a, "root", master, "true");
    assert!(!root.status.success(), "root login accepted");
    let secrets = std::fs::read_to_string(
        a.key
            .parent()
            .and_then(Path::parent)
            .unwrap()
            .join("secrets.json"),
    )
    .unwrap();
    let secrets: serde_json::Value = serde_json::from_str(&secrets).unwrap();
    let admin = secrets["admin.secret"].as_str().unwrap();
    let by_password = ssh_with_password(master, admin, "true");
    assert!(!by_password.ok, "root password login accepted");
    // sshd offers no password authentication to anyone.
    let tcp = std::net::TcpStream::connect((master, 22)).unwrap();
    let mut sess = ssh2::Session::new().unwrap();
    sess.set_tcp_stream(tcp);
    sess.handshake().unwrap();
    let methods = sess.auth_methods("ubuntu").unwrap_or("").to_string();
    assert!(!methods.contains("password"), "offered: {methods}");
    assert!(
        !methods.contains("keyboard-interactive"),
        "offered: {methods}"
    );
}

#[test]
fn deploy_gives_a_hardened_redis_cluster_and_dispose_leaves_nothing() {
    if !root_or_skip() {
        return;
    }
    let cloud = Cloud::start("pldeploy");
    let out = cloud.plumbery(&[PLAN, "deploy"]);
    assert_ok(&out, "deploy");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let info = cloud.plumbery(&["--json", PLAN, "information"]);
    assert_ok(&info, "information");
    let secrets = cloud.plumbery(&["--json", PLAN, "secrets"]);
    assert_ok(&secrets, "secrets");
    let a = access(&info, &secrets);
    assert!(!stderr.contains(&a.secret), "secret in the log");
    check_cluster(&a);
    // the ansible inventory reaches every node as it is (Ansible's ping, else ssh with its settings)
    let inv = cloud.plumbery(&[PLAN, "ansible"]);
    assert_ok(&inv, "ansible");
    let file = cloud.state.path().join("inventory.ini");
    std::fs::write(&file, &inv.stdout).unwrap();
    ansible_support::every_host_answers(&file, cloud.state.path());

    let before = engine_support::change_requests(&cloud.emu);
    let again = cloud.plumbery(&["--json", PLAN, "deploy"]);
    assert_ok(&again, "second deploy");
    assert_eq!(
        engine_support::change_requests(&cloud.emu),
        before,
        "second deploy changed the cloud"
    );
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    for b in report["locations"][0]["bootstrap"].as_array().unwrap() {
        assert_eq!(b["changes"], 0, "second bootstrap changed {b}");
    }

    assert_ok(&cloud.plumbery(&[PLAN, "dispose"]), "dispose");
    let stats = cloud.emu.stats();
    assert_eq!(
        stats.resources,
        emulator::ResourceCounts::default(),
        "left: {stats}"
    );
    let known = std::fs::read_to_string(&a.known_hosts).unwrap_or_default();
    assert!(known.trim().is_empty(), "host keys kept: {known}");
    cloud.harness.assert_clean();
}

#[test]
fn the_same_through_plumbery_local() {
    if !root_or_skip() {
        return;
    }
    let root = tempfile::Builder::new().prefix("plloc").tempdir().unwrap();
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
    let info = run(&["--json", PLAN, "information"]);
    assert_ok(&info, "information");
    let secrets = run(&["--json", PLAN, "secrets"]);
    let a = access(&info, &secrets);
    check_cluster(&a);
    assert_ok(&run(&[PLAN, "dispose"]), "dispose");
    drop(guard);
    let dir = root.path().join("emulator");
    let d = dir.display().to_string();
    assert_eq!(mounts_mentioning(&[&d]), Vec::<String>::new());
    assert_eq!(processes_mentioning(&d), Vec::<i32>::new());
}
