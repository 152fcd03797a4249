//! One node end to end: boot, ssh in through the NAT once a port-22 rule exists, delete, nothing left.

mod nodes_support;

use emulator::backend::NodeBackend;
use nodes_support::*;

#[test]
fn one_node_boots_and_answers_ssh_through_nat() {
    if !root_or_skip() {
        return;
    }
    let h = Harness::new();
    h.nodes.create_server(&h.spec(1), true).expect("create");
    assert!(!port_open(h.public(1), 22), "no NAT yet");
    h.nodes
        .sync_public(
            DOMAIN,
            &[h.nat(1)],
            &[rule("ssh", Some(h.public(1)), Some(22))],
        )
        .unwrap();
    assert_eq!(ssh_ok(h.public(1), "hostname"), "node1");
    assert!(!ssh_with_password(h.public(1), "wrong-password", "true").ok);
    offline_answers_at_once(h.public(1));
    systemctl_acts_like_systemd(h.public(1));
    h.nodes.delete_server("srv-1").unwrap();
    assert!(!h.dir.path().join("state/nodes/srv-1").exists());
    h.nodes.shutdown();
    h.assert_clean();
}

/// A node has no way off the machine, and says so at once: a name lookup is refused (getent's
/// "not found", 2, not timeout's 124) and a connection outside the domain is refused by its
/// gateway ("No route to host") instead of vanishing until a timeout.
fn offline_answers_at_once(node: std::net::Ipv4Addr) {
    let lookup = ssh_ok(node, "timeout 4 getent hosts deb.debian.org; echo rc=$?");
    assert_eq!(lookup, "rc=2", "lookup: {lookup}");
    let out = ssh(
        node,
        "timeout 4 bash -c 'exec 3<>/dev/tcp/10.255.255.1/80' 2>&1; echo rc=$?",
    );
    assert!(
        out.stdout.contains("No route to host") && out.stdout.contains("rc=1"),
        "connect outside: {}",
        out.stdout
    );
}

/// The shim behaves as systemd does with inactive units: stop does nothing, restart only
/// starts, and several units are handled at once, each unit's output in the order given.
fn systemctl_acts_like_systemd(node: std::net::Ipv4Addr) {
    let stop = ssh_ok(
        node,
        "systemctl stop redis-server redis-sentinel; echo rc=$?",
    );
    assert_eq!(stop, "rc=0", "stop of inactive units: {stop}");
    let restart = ssh_ok(node, "systemctl restart redis-sentinel redis-server 2>&1");
    assert!(!restart.contains("Stopping"), "{restart}");
    let sentinel = restart.find("Starting redis-sentinel").expect(&restart);
    let server = restart.find("Starting redis-server").expect(&restart);
    assert!(sentinel < server, "output in the order given: {restart}");
    let active = ssh_ok(node, "systemctl is-active redis-server redis-sentinel");
    assert_eq!(active, "active\nactive");
    let restart = ssh_ok(node, "systemctl restart redis-server 2>&1");
    assert!(restart.contains("Stopping redis-server"), "{restart}");
    ssh_ok(node, "systemctl stop redis-server redis-sentinel");
    let active = ssh(node, "systemctl is-active redis-server redis-sentinel");
    assert_eq!(active.stdout.trim(), "inactive\ninactive");
}

#[test]
fn a_new_backend_clears_what_a_crashed_one_left() {
    if !root_or_skip() {
        return;
    }
    use nodes::{LocalNodes, LocalNodesConfig};
    let dir = tempfile::Builder::new()
        .prefix("plcrash")
        .tempdir()
        .unwrap();
    let state = dir.path().join("state");
    let cfg = LocalNodesConfig::new(&state, env!("CARGO_BIN_EXE_plumbery"));
    let crashed = LocalNodes::new(cfg.clone()).unwrap();
    crashed.create_domain(DOMAIN).unwrap();
    crashed
        .create_vlan(DOMAIN, VLAN, std::net::Ipv4Addr::new(10, 0, 0, 1), 24)
        .unwrap();
    let h = Harness::new();
    crashed.create_server(&h.spec(1), true).unwrap();
    let keeper = crashed.keeper_pid("srv-1").unwrap();
    let node = crashed.init_pid("srv-1").unwrap();
    let prefix = crashed.prefix().to_string();
    // The crash: the backend disappears without cleaning up.
    std::mem::forget(crashed);
    let listed = |p: &str| {
        let out = std::process::Command::new("ip")
            .args(["netns", "list"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with(p))
            .count()
    };
    assert_eq!(listed(&prefix), 2, "domain and node namespaces exist");

    let fresh = LocalNodes::new(cfg).unwrap();
    assert_eq!(fresh.prefix(), prefix);
    assert_eq!(listed(&prefix), 0, "namespaces left by the crashed run");
    for pid in [keeper, node] {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty() || stat.contains(") Z"),
            "process {pid} survived"
        );
    }
    assert!(!state.join("nodes/srv-1").exists(), "node disk left");
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(keeper), None);
    fresh.shutdown();
}

#[test]
fn vlans_of_a_domain_route_to_each_other_and_deploy_can_leave_a_node_stopped() {
    if !root_or_skip() {
        return;
    }
    use std::net::Ipv4Addr;
    let h = Harness::new();
    h.nodes
        .create_vlan(DOMAIN, "vlan-2", Ipv4Addr::new(10, 0, 1, 1), 24)
        .unwrap();
    h.nodes.create_server(&h.spec(5), true).unwrap();
    let mut other = h.spec(6);
    other.vlan_id = "vlan-2".into();
    other.private_ipv4 = Ipv4Addr::new(10, 0, 1, 16);
    other.gateway = Ipv4Addr::new(10, 0, 1, 1);
    h.nodes.create_server(&other, false).unwrap();
    // Idempotent: deploying again changes nothing.
    h.nodes.create_server(&other, false).unwrap();
    h.nodes
        .sync_public(DOMAIN, &[h.nat(5)], &[rule("ssh", None, Some(22))])
        .unwrap();
    let probe = "timeout 3 bash -c 'exec 3<>/dev/tcp/10.0.1.16/22; head -c 4 <&3' || echo closed";
    assert_eq!(
        ssh_ok(h.public(5), probe),
        "closed",
        "a deployed-stopped node answers"
    );
    h.nodes.start_server(&other.id).unwrap();
    assert_eq!(ssh_ok(h.public(5), probe), "SSH-");
    // sshd restarted inside a node through the systemctl shim keeps the node reachable.
    ssh_ok(h.public(5), "systemctl restart ssh");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(ssh_ok(h.public(5), "hostname"), "node5");
    h.nodes.delete_server(&other.id).unwrap();
    h.nodes.delete_vlan(DOMAIN, "vlan-2").unwrap();
    h.nodes.shutdown();
    h.assert_clean();
}

#[test]
fn a_new_backend_clears_namespaces_of_backends_whose_process_died() {
    if !root_or_skip() {
        return;
    }
    // A backend of a process that no longer exists (wrong start time) left a namespace.
    let fake = format!("pl{:06x}", std::process::id() & 0xff_ffff);
    let ns = format!("{fake}-d1");
    let ok = std::process::Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .unwrap();
    assert!(ok.success());
    std::fs::create_dir_all("/run/plumbery-nodes").unwrap();
    std::fs::write(
        format!("/run/plumbery-nodes/{fake}"),
        "999999 1\n/nonexistent/state\n",
    )
    .unwrap();
    let h = Harness::new();
    let left = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    let left = String::from_utf8_lossy(&left.stdout).to_string();
    if left.contains(&ns) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &ns])
            .status();
        panic!("namespace {ns} of a dead backend was not removed");
    }
    assert!(!std::path::Path::new(&format!("/run/plumbery-nodes/{fake}")).exists());
    drop(h);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_can_be_used_and_dropped_inside_a_tokio_runtime() {
    if !root_or_skip() {
        return;
    }
    let h = tokio::task::spawn_blocking(Harness::new).await.unwrap();
    let addr = h.public(9);
    // Called straight from async code (not spawn_blocking): must work, not panic.
    h.nodes
        .sync_public(DOMAIN, &[h.nat(9)], &[rule("web", None, Some(8080))])
        .unwrap();
    assert!(tokio::net::TcpStream::connect((addr, 8080)).await.is_ok());
    h.nodes.sync_public(DOMAIN, &[], &[]).unwrap();
    assert!(tokio::net::TcpStream::connect((addr, 8080)).await.is_err());
    drop(h); // shuts the backend (and its own runtime) down inside this runtime
}

#[test]
fn a_reconfigured_node_runs_under_its_new_limits() {
    if !root_or_skip() {
        return;
    }
    let h = Harness::new();
    let mut spec = h.spec(1);
    spec.cpu_count = 2;
    spec.memory_gb = 3;
    h.nodes.create_server(&spec, true).expect("create");
    let pid = h.nodes.init_pid("srv-1").unwrap();
    match node_limits(pid) {
        None => eprintln!("no cgroup limits on this machine: nothing to check"),
        Some(limits) => {
            assert_eq!(limits, (2, 3), "limits at creation");
            h.nodes.resize_server("srv-1", 4, 8).unwrap();
            assert_eq!(node_limits(pid), Some((4, 8)), "limits after reconfigure");
        }
    }
    h.nodes.delete_server("srv-1").unwrap();
    h.nodes.shutdown();
    h.assert_clean();
}
