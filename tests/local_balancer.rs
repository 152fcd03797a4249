//! A virtual listener really balances on local nodes: two nodes answer their hostname on port 8080,
//! a pool holds both, a listener on a public address (opened by a firewall rule, like NAT) sends
//! connections to them in turn; a member whose server stops answering is skipped, comes back once
//! it answers again, and a DISABLED member gets nothing. Needs root (elsewhere it prints why and
//! passes).

#[path = "../crates/emulator/tests/emulator_support/mod.rs"]
mod emulator_support;
mod nodes_support;

use std::io::Read;
use std::net::{Ipv4Addr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use emulator::{EmulatorConfig, Nodes};
use emulator_support::{Emu, NS, code, info, x};
use nodes::{LocalNodes, LocalNodesConfig};
use nodes_support::{port_open, root_or_skip, ssh_with_password};

const PW: &str = "Sup3r-S3cret-Pw";

fn start() -> Emu {
    let dir = tempfile::Builder::new().prefix("pllb").tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let mut cfg = LocalNodesConfig::new(root.join("nodes"), env!("CARGO_BIN_EXE_plumbery"));
    cfg.keep_disks = true;
    let nodes = Arc::new(LocalNodes::new(cfg).expect("local nodes backend"));
    let mut cfg = EmulatorConfig::new(&root);
    cfg.time_scale = 0.0;
    cfg.nodes = Nodes::Custom(nodes);
    Emu::start_with(dir, cfg)
}

fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < Duration::from_secs(30), "never: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn ssh(addr: Ipv4Addr, cmd: &str) -> String {
    let out = ssh_with_password(addr, PW, cmd);
    assert!(out.ok, "ssh {addr} {cmd:?} failed: {}", out.stderr);
    out.stdout.trim().to_string()
}

fn vip(e: &mut Emu, op: &str, inner: &str) -> emulator::http::Response {
    let r = e.post(
        &format!("networkDomainVip/{op}"),
        &format!("<{op} xmlns=\"{NS}\">{inner}</{op}>"),
    );
    assert_eq!(code(&r), "OK", "{op}: {}", r.body);
    r
}

fn allow(e: &mut Emu, d: &str, name: &str, dest: &str, port: u16) {
    let r = e.post("network/createFirewallRule", &format!("<createFirewallRule xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><name>{name}</name><action>ACCEPT_DECISIVELY</action><ipVersion>IPV4</ipVersion><protocol>TCP</protocol><source><ip address=\"ANY\"/></source><destination><ip address=\"{dest}\"/><port begin=\"{port}\"/></destination><enabled>true</enabled><placement position=\"FIRST\"/></createFirewallRule>"));
    assert_eq!(code(&r), "OK", "{}", r.body);
    let id = info(&r, "firewallRuleId");
    e.wait_state(&format!("network/firewallRule/{id}"), "NORMAL");
}

/// What the listener answers to one connection (the hostname of the node it reached).
fn hit(addr: Ipv4Addr) -> String {
    let mut s = TcpStream::connect_timeout(&(addr, 80).into(), Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.trim().to_string()
}

/// Starts a server answering the node's hostname on port 8080; its pid goes to /tmp/lb.pid.
const SERVER: &str = "cat > /tmp/lb.py <<'EOF'
import socket, socketserver
class H(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(socket.gethostname().encode() + b'\\n')
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(('0.0.0.0', 8080), H).serve_forever()
EOF
setsid python3 /tmp/lb.py </dev/null >/dev/null 2>&1 & echo $! > /tmp/lb.pid";

/// Two started servers on one VLAN with NAT and ssh; returns (domain, private, public addresses).
fn two_nodes(e: &mut Emu) -> (String, Vec<String>, Vec<Ipv4Addr>) {
    let d = e.domain("lb");
    let v = e.vlan(&d, "web", "10.61.0.0");
    let ids: Vec<String> = (1..=2)
        .map(|i| {
            info(
                &e.deploy_server(&format!("web-{i}"), &d, &v, true),
                "serverId",
            )
        })
        .collect();
    let private: Vec<String> = ids
        .iter()
        .map(|id| {
            let s = e.wait_state(&format!("server/server/{id}"), "NORMAL");
            s["networkInfo"]["primaryNic"]["privateIpv4"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for _ in 0..2 {
        let r = e.post("network/addPublicIpBlock", &format!("<addPublicIpBlock xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId></addPublicIpBlock>"));
        assert_eq!(code(&r), "OK", "{}", r.body);
    }
    let public: Vec<Ipv4Addr> = private
        .iter()
        .map(|ip| {
            let r = e.post("network/createNatRule", &format!("<createNatRule xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><internalIp>{ip}</internalIp></createNatRule>"));
            let id = info(&r, "natRuleId");
            x(&e.get(&format!("network/natRule/{id}")))["externalIp"].as_str().unwrap().parse().unwrap()
        })
        .collect();
    allow(e, &d, "ssh", "ANY", 22);
    for p in &public {
        eventually("ssh through NAT", || ssh_with_password(*p, PW, "true").ok);
        ssh(*p, SERVER);
    }
    for p in &public {
        eventually("the hostname server answers", || {
            ssh_with_password(*p, PW, "timeout 2 bash -c 'echo > /dev/tcp/127.0.0.1/8080'").ok
        });
    }
    (d, private, public)
}

#[test]
fn a_virtual_listener_balances_round_robin_and_skips_members_down() {
    if !root_or_skip() {
        return;
    }
    let mut e = start();
    let (d, private, public) = two_nodes(&mut e);
    // Pool, nodes, members, listener: as libcloud's create_balancer does it.
    let pool = info(
        &vip(
            &mut e,
            "createPool",
            &format!(
                "<networkDomainId>{d}</networkDomainId><name>web.pool</name><description>p</description><loadBalanceMethod>ROUND_ROBIN</loadBalanceMethod><serviceDownAction>RESELECT</serviceDownAction><slowRampTime>10</slowRampTime>"
            ),
        ),
        "poolId",
    );
    let mut members = Vec::new();
    for ip in &private {
        let node = info(
            &vip(
                &mut e,
                "createNode",
                &format!(
                    "<networkDomainId>{d}</networkDomainId><name>{ip}</name><description>n</description><ipv4Address>{ip}</ipv4Address><status>ENABLED</status><connectionLimit>25000</connectionLimit><connectionRateLimit>2000</connectionRateLimit>"
                ),
            ),
            "nodeId",
        );
        let r = vip(
            &mut e,
            "addPoolMember",
            &format!(
                "<poolId>{pool}</poolId><nodeId>{node}</nodeId><port>8080</port><status>ENABLED</status>"
            ),
        );
        members.push(info(&r, "poolMemberId"));
    }
    let r = vip(
        &mut e,
        "createVirtualListener",
        &format!(
            "<networkDomainId>{d}</networkDomainId><name>web.balancer</name><description>l</description><type>STANDARD</type><protocol>TCP</protocol><port>80</port><enabled>true</enabled><connectionLimit>25000</connectionLimit><connectionRateLimit>2000</connectionRateLimit><sourcePortPreservation>PRESERVE</sourcePortPreservation><poolId>{pool}</poolId>"
        ),
    );
    let listener = info(&r, "virtualListenerId");
    let addr: Ipv4Addr = info(&r, "listenerIpAddress").parse().unwrap();
    assert_eq!(&addr.octets()[..2], &[127, 77]);
    assert!(!public.contains(&addr));
    assert!(
        !port_open(addr, 80),
        "the listener is open before a firewall rule admits it"
    );
    allow(&mut e, &d, "web.balancer", &addr.to_string(), 80);
    eventually("the listener opens", || port_open(addr, 80));
    let seen: Vec<String> = (0..6).map(|_| hit(addr)).collect();
    for pair in seen.windows(2) {
        assert_ne!(pair[0], pair[1], "not round robin: {seen:?}");
    }
    let mut names = seen.clone();
    names.sort();
    names.dedup();
    assert_eq!(names, ["web-1", "web-2"], "{seen:?}");
    // web-2 stops answering: every connection goes to web-1.
    // (waits until the process is gone, so its listening socket is closed)
    let stop = "p=$(cat /tmp/lb.pid); kill $p; while kill -0 $p 2>/dev/null; do sleep 0.05; done";
    ssh(public[1], stop);
    let seen: Vec<String> = (0..6).map(|_| hit(addr)).collect();
    assert!(seen.iter().all(|h| h == "web-1"), "{seen:?}");
    // It answers again: the health check brings it back.
    ssh(public[1], SERVER);
    eventually("web-2 is back in the pool", || {
        (0..4).any(|_| hit(addr) == "web-2")
    });
    // A DISABLED member gets nothing.
    let r = e.post(
        "networkDomainVip/editPoolMember",
        &format!(
            "<editPoolMember xmlns=\"{NS}\" id=\"{}\"><status>DISABLED</status></editPoolMember>",
            members[0]
        ),
    );
    assert_eq!(code(&r), "OK", "{}", r.body);
    eventually("the listener reopens", || port_open(addr, 80));
    let seen: Vec<String> = (0..4).map(|_| hit(addr)).collect();
    assert!(seen.iter().all(|h| h == "web-2"), "{seen:?}");
    // Deleting the listener closes its port.
    let r = e.post(
        "networkDomainVip/deleteVirtualListener",
        &format!("<deleteVirtualListener xmlns=\"{NS}\" id=\"{listener}\"/>"),
    );
    assert_eq!(code(&r), "OK", "{}", r.body);
    assert!(
        !port_open(addr, 80),
        "the port stays open after the listener went"
    );
}
