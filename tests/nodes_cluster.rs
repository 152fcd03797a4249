//! Four nodes through the backend: NAT and firewall open ports at once, node-to-node traffic, stop and
//! start keep the disk, reboot and reset, capabilities and isolation inside a node, and delete and
//! shutdown leave no namespace, mount, process or upper directory behind.

mod nodes_support;

use std::net::Ipv4Addr;

use emulator::backend::NodeBackend;
use nodes::caps::{num, parse_status_mask};
use nodes_support::*;

#[test]
fn four_nodes_lifecycle_nat_firewall_and_cleanup() {
    if !root_or_skip() {
        return;
    }
    let host_net = host_network();
    let h = Harness::new();
    std::thread::scope(|s| {
        for i in 1..=4 {
            let h = &h;
            s.spawn(move || h.nodes.create_server(&h.spec(i), true).expect("create"));
        }
    });
    let nats: Vec<_> = (1..=4).map(|i| h.nat(i)).collect();

    // NAT without a firewall rule: nothing is reachable.
    h.nodes.sync_public(DOMAIN, &nats, &[]).unwrap();
    assert!(!ssh(h.public(1), "true").ok, "ssh must fail before a rule");
    assert!(!port_open(h.public(1), 22));

    // A port-22 rule for ANY destination opens ssh on every public address, at once.
    let mut rules = vec![rule("ssh", None, Some(22))];
    h.nodes.sync_public(DOMAIN, &nats, &rules).unwrap();
    for i in 1..=4 {
        assert_eq!(ssh_ok(h.public(i), "hostname"), format!("node{i}"));
    }

    // Redis on node1 (through the systemctl shim); 6379 stays closed until a rule opens it.
    ssh_ok(
        h.public(1),
        "sed -i -e 's/^bind .*/bind 0.0.0.0/' -e 's/^protected-mode yes/protected-mode no/' \
         /etc/redis/redis.conf && systemctl restart redis-server && systemctl is-active redis-server",
    );
    assert!(
        !port_open(h.public(1), 6379),
        "6379 must be closed without a rule"
    );
    rules.push(rule("redis", Some(h.public(1)), Some(6379)));
    h.nodes.sync_public(DOMAIN, &nats, &rules).unwrap();
    assert!(port_open(h.public(1), 6379), "6379 opens with the rule");
    assert!(
        !port_open(h.public(2), 6379),
        "only for the rule's destination"
    );
    let pong = std::process::Command::new("redis-cli")
        .args(["-h", &h.public(1).to_string(), "ping"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&pong.stdout).trim(), "PONG");
    rules[1].enabled = false;
    h.nodes.sync_public(DOMAIN, &nats, &rules).unwrap();
    assert!(
        !port_open(h.public(1), 6379),
        "disabling the rule closes the port"
    );

    // Node-to-node traffic on private addresses.
    assert_eq!(ssh_ok(h.public(2), "redis-cli -h 10.0.0.11 ping"), "PONG");
    assert_eq!(
        ssh_ok(
            h.public(3),
            "timeout 3 bash -c 'exec 3<>/dev/tcp/10.0.0.14/22; head -c 4 <&3'"
        ),
        "SSH-"
    );

    // Inside a node: no clock or module capabilities, /proc/sys read-only, own host key, hidden host.
    let status = ssh_ok(h.public(1), "cat /proc/self/status");
    for field in ["CapBnd", "CapEff", "CapPrm"] {
        let mask = parse_status_mask(&status, field).expect(field);
        assert_eq!(mask & (1 << num::SYS_TIME), 0, "{field} has CAP_SYS_TIME");
        assert_eq!(
            mask & (1 << num::SYS_MODULE),
            0,
            "{field} has CAP_SYS_MODULE"
        );
    }
    let sys = ssh_ok(h.public(1), "grep ' /proc/sys ' /proc/mounts");
    assert!(sys.contains(" ro,"), "/proc/sys is not read-only: {sys}");
    let node_key = ssh_ok(
        h.public(1),
        "cut -d' ' -f2 /etc/ssh/ssh_host_ed25519_key.pub",
    );
    let host_key = std::fs::read_to_string("/etc/ssh/ssh_host_ed25519_key.pub").unwrap_or_default();
    assert!(
        !node_key.is_empty() && !host_key.contains(&node_key),
        "node reuses a host key"
    );
    assert_eq!(
        ssh_ok(h.public(1), "ls /etc/ssh | grep -c rsa_key || true"),
        "0"
    );
    let state = h.dir.path().display().to_string();
    assert_eq!(
        ssh_ok(h.public(1), &format!("ls -A {state} 2>/dev/null | wc -l")),
        "0"
    );
    assert_eq!(ssh_ok(h.public(1), "ip route | grep -c default"), "1");
    // chrony runs as a service without touching the clock (`chronyd -x`).
    let chrony = ssh_ok(
        h.public(1),
        "systemctl start chrony >/dev/null && sleep 0.5 && ps -o args= -p $(cat /run/chrony/chronyd.pid)",
    );
    assert!(
        chrony.contains("chronyd") && chrony.contains("-x"),
        "{chrony}"
    );

    // Stop (graceful) and start keep the disk; so does a hard stop.
    ssh_ok(h.public(2), "echo kept > /root/keep.txt");
    h.nodes.stop_server("srv-2", true).unwrap();
    assert!(!ssh(h.public(2), "true").ok, "stopped node answers");
    h.nodes.start_server("srv-2").unwrap();
    assert_eq!(ssh_ok(h.public(2), "cat /root/keep.txt"), "kept");
    h.nodes.stop_server("srv-2", false).unwrap();
    h.nodes.start_server("srv-2").unwrap();
    assert_eq!(
        ssh_ok(h.public(2), "cat /root/keep.txt && hostname"),
        "kept\nnode2"
    );

    // A service enabled through the shim starts at boot.
    ssh_ok(
        h.public(3),
        "systemctl enable redis-server && systemctl is-enabled redis-server",
    );
    // Reboot and reset: /run is fresh, the disk is not.
    for (graceful, i) in [(true, 3u8), (false, 4u8)] {
        ssh_ok(h.public(i), "touch /run/volatile /root/durable");
        h.nodes
            .restart_server(&format!("srv-{i}"), graceful)
            .unwrap();
        assert_eq!(
            ssh_ok(
                h.public(i),
                "ls /run/volatile 2>/dev/null; ls /root/durable"
            ),
            "/root/durable"
        );
    }
    assert_eq!(
        ssh_ok(
            h.public(3),
            "for i in $(seq 100); do redis-cli ping 2>/dev/null && break; sleep 0.1; done"
        ),
        "PONG"
    );

    // The domain has no way off the machine: its only default route refuses (prohibit), no
    // interface but its bridges and veths.
    for ns in h.netns().iter().filter(|n| n.contains("-d")) {
        assert_eq!(
            ip(&["-n", ns, "route", "show", "default"]),
            "prohibit default",
            "{ns} has a way out"
        );
        for link in ip(&["-n", ns, "-o", "link", "show"]).lines() {
            let name = link
                .split(": ")
                .nth(1)
                .unwrap_or("")
                .split('@')
                .next()
                .unwrap_or("");
            assert!(
                name == "lo" || name.starts_with("br") || name.starts_with('v'),
                "unexpected interface {name} in {ns}"
            );
        }
    }
    // And the host's own network is untouched.
    assert_eq!(host_network(), host_net);

    // The VLAN bridges carry their own fixed address, so that a port leaving never moves the
    // gateway's MAC (the other nodes' ARP entries would point nowhere for ~30 s).
    let bridge_macs = || -> Vec<String> {
        h.netns()
            .iter()
            .filter(|n| n.contains("-d"))
            .flat_map(|ns| {
                ip(&["-n", ns, "-o", "link", "show", "type", "bridge"])
                    .lines()
                    .filter_map(|l| l.split("link/ether ").nth(1))
                    .filter_map(|l| l.split_whitespace().next())
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let macs = bridge_macs();
    assert!(!macs.is_empty(), "no VLAN bridge found");
    assert!(
        macs.iter().all(|m| m.starts_with("02:70:6c:")),
        "bridges without their fixed address: {macs:?}"
    );

    // Delete one node: its namespace, processes and disk go; the others stay.
    let before = h.netns().len();
    let mut tree = Vec::new();
    process_tree(h.nodes.keeper_pid("srv-4").expect("srv-4 runs"), &mut tree);
    assert!(tree.len() >= 3, "keeper, PID 1 and sshd expected: {tree:?}");
    let tree_starts: Vec<(i32, String)> = tree
        .iter()
        .filter_map(|p| Some((*p, start_time(*p)?)))
        .collect();
    let dir4 = h.nodes.node_dir("srv-4");
    assert!(dir4.join("upper").exists());
    h.nodes.delete_server("srv-4").unwrap();
    assert_eq!(h.netns().len(), before - 1);
    assert!(!dir4.exists(), "upper dir left");
    for (pid, start) in &tree_starts {
        assert_ne!(
            start_time(*pid).as_ref(),
            Some(start),
            "process {pid} of srv-4 survived"
        );
    }
    assert_eq!(bridge_macs(), macs, "a bridge changed its address");
    assert_eq!(ssh_ok(h.public(1), "hostname"), "node1");

    h.nodes.shutdown();
    h.assert_clean();
    assert!(
        !port_open(h.public(1), 22),
        "listeners must close on shutdown"
    );
    let _ = Ipv4Addr::LOCALHOST;
}

fn ip(args: &[&str]) -> String {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The host namespace's addresses and routes.
fn host_network() -> String {
    format!("{}\n{}", ip(&["-o", "addr"]), ip(&["route"]))
}

fn process_tree(pid: i32, out: &mut Vec<i32>) {
    out.push(pid);
    let kids =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    for k in kids.split_whitespace().filter_map(|s| s.parse().ok()) {
        process_tree(k, out);
    }
}

/// Start time of a live (non-zombie) process, to tell it from a later process with the same pid.
fn start_time(pid: i32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    (fields[0] != "Z").then(|| fields[19].to_string())
}
