//! The emulator and local nodes together, through the HTTP API of an in-process emulator: servers
//! deployed by the API become nodes reachable by ssh through NAT once the firewall lets them, node
//! disks survive stop/start and an emulator restart, delete and shutdown leave nothing behind.
//! Needs root (elsewhere the tests print why and pass).

// The emulator crate owns these helpers; the tests here that also need the binary share them.
#[path = "../crates/emulator/tests/emulator_support/mod.rs"]
mod emulator_support;
mod nodes_support;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use emulator::{EmulatorConfig, Nodes};
use emulator_support::{Emu, NS, code, info, x};
use nodes::{LocalNodes, LocalNodesConfig};
use nodes_support::{
    mounts_mentioning, netns_with_prefix, node_limits, port_open, processes_mentioning,
    root_or_skip, ssh_with_password,
};

/// The administrator password `Emu::deploy_server` sends.
const PW: &str = "Sup3r-S3cret-Pw";

/// An in-process emulator with local nodes; Drop shuts the emulator (and so the backend) down.
struct Local {
    e: Emu,
    nodes: Arc<LocalNodes>,
    root: PathBuf,
}

fn backend(state_dir: &Path) -> Arc<LocalNodes> {
    let mut cfg = LocalNodesConfig::new(state_dir.join("nodes"), env!("CARGO_BIN_EXE_plumbery"));
    cfg.keep_disks = true; // as `emulator serve --nodes local` does
    Arc::new(LocalNodes::new(cfg).expect("local nodes backend"))
}

impl Local {
    fn start() -> Local {
        let dir = tempfile::Builder::new()
            .prefix("pllocal")
            .tempdir()
            .unwrap();
        Self::start_in(dir)
    }

    fn start_in(dir: tempfile::TempDir) -> Local {
        let root = dir.path().to_path_buf();
        let nodes = backend(&root);
        let mut cfg = EmulatorConfig::new(&root);
        cfg.time_scale = 0.0; // operations end when the node is really up
        cfg.nodes = Nodes::Custom(nodes.clone());
        Local {
            e: Emu::start_with(dir, cfg),
            nodes,
            root,
        }
    }

    /// Names of this backend's network namespaces.
    fn netns(&self) -> Vec<String> {
        netns_with_prefix(self.nodes.prefix())
    }

    /// Asserts that no namespace, mount or process of this emulator's nodes is left.
    fn assert_clean(&self) {
        assert_eq!(self.netns(), Vec::<String>::new(), "namespaces left");
        assert_clean_dir(&self.root);
    }

    /// Deploys a started server; returns its id.
    fn server(&mut self, name: &str, d: &str, v: &str) -> String {
        let r = self.e.deploy_server(name, d, v, true);
        assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
        info(&r, "serverId")
    }

    fn wait_normal(&mut self, id: &str) -> Ipv4Addr {
        let v = self.e.wait_state(&format!("server/server/{id}"), "NORMAL");
        v["networkInfo"]["primaryNic"]["privateIpv4"]
            .as_str()
            .unwrap_or_else(|| panic!("no private address: {v}"))
            .parse()
            .unwrap()
    }

    fn nat(&mut self, d: &str, ip: Ipv4Addr) -> Ipv4Addr {
        let r = self.e.post("network/createNatRule", &format!("<createNatRule xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><internalIp>{ip}</internalIp></createNatRule>"));
        assert_eq!(code(&r), "OK", "{}", r.body);
        let id = info(&r, "natRuleId");
        x(&self.e.get(&format!("network/natRule/{id}")))["externalIp"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    fn allow(&mut self, d: &str, name: &str, port: u16) -> String {
        let r = self.e.post("network/createFirewallRule", &format!("<createFirewallRule xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><name>{name}</name><action>ACCEPT_DECISIVELY</action><ipVersion>IPV4</ipVersion><protocol>TCP</protocol><source><ip address=\"ANY\"/></source><destination><ip address=\"ANY\"/><port begin=\"{port}\"/></destination><enabled>true</enabled><placement position=\"FIRST\"/></createFirewallRule>"));
        assert_eq!(code(&r), "OK", "{}", r.body);
        let id = info(&r, "firewallRuleId");
        // A new rule is PENDING_ADD until the clock completes it (at once at time-scale 0, but on a
        // task of its own): wait for NORMAL like a real client before changing it again.
        self.e
            .wait_state(&format!("network/firewallRule/{id}"), "NORMAL");
        id
    }

    fn action_done(&mut self, op: &str, id: &str) {
        let r = self.e.action(op, id);
        assert_eq!(code(&r), "IN_PROGRESS", "{op}: {}", r.body);
        self.e.wait_state(&format!("server/server/{id}"), "NORMAL");
    }
}

/// Mount lines and processes that mention `dir` (node overlays, node processes).
fn assert_clean_dir(dir: &Path) {
    let d = dir.display().to_string();
    assert_eq!(
        mounts_mentioning(&[&d]),
        Vec::<String>::new(),
        "mounts left"
    );
    assert_eq!(
        processes_mentioning(&d),
        Vec::<i32>::new(),
        "processes left"
    );
}

fn ssh(addr: Ipv4Addr, cmd: &str) -> String {
    let out = ssh_with_password(addr, PW, cmd);
    assert!(out.ok, "ssh {addr} {cmd:?} failed: {}", out.stderr);
    out.stdout.trim().to_string()
}

fn add_block(l: &mut Local, d: &str) {
    let r = l.e.post("network/addPublicIpBlock", &format!("<addPublicIpBlock xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId></addPublicIpBlock>"));
    assert_eq!(code(&r), "OK", "{}", r.body);
}

/// Polls until `f` holds (the public side follows API changes at once, but ssh needs a moment).
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < Duration::from_secs(20), "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn four_servers_through_the_api() {
    if !root_or_skip() {
        return;
    }
    let mut l = Local::start();
    let d = l.e.domain("local");
    let v = l.e.vlan(&d, "backend", "10.60.0.0");
    let ids: Vec<String> = (1..=4)
        .map(|i| l.server(&format!("node-{i}"), &d, &v))
        .collect();
    let private: Vec<Ipv4Addr> = ids.iter().map(|id| l.wait_normal(id)).collect();
    add_block(&mut l, &d);
    add_block(&mut l, &d);
    let public: Vec<Ipv4Addr> = private.iter().map(|ip| l.nat(&d, *ip)).collect();
    for p in &public {
        assert_eq!(&p.octets()[..2], &[127, 77]);
        assert!(!port_open(*p, 22), "ssh open on {p} before any rule");
        assert!(!ssh_with_password(*p, PW, "true").ok);
    }
    l.allow(&d, "ssh", 22);
    for (i, p) in public.iter().enumerate() {
        eventually("ssh through NAT", || ssh_with_password(*p, PW, "true").ok);
        assert_eq!(ssh(*p, "hostname"), format!("node-{}", i + 1));
        assert!(!ssh_with_password(*p, "wrong-password", "true").ok);
    }
    // Node to node on private addresses.
    let peer = private[1];
    ssh(
        public[0],
        &format!("timeout 5 bash -c 'echo > /dev/tcp/{peer}/22'"),
    );
    // Port 6379 stays closed until a rule opens it, and closes again when the rule goes.
    ssh(
        public[0],
        "redis-server --port 6379 --bind 0.0.0.0 --protected-mode no --daemonize yes >/dev/null",
    );
    eventually("redis up inside the node", || {
        ssh_with_password(public[0], PW, "redis-cli -p 6379 ping")
            .stdout
            .contains("PONG")
    });
    assert!(!port_open(public[0], 6379), "6379 open without a rule");
    let rule = l.allow(&d, "redis", 6379);
    assert!(port_open(public[0], 6379), "6379 closed despite its rule");
    let r = l.e.post(
        "network/deleteFirewallRule",
        &format!("<deleteFirewallRule xmlns=\"{NS}\" id=\"{rule}\"/>"),
    );
    assert_eq!(code(&r), "OK", "{}", r.body);
    assert!(!port_open(public[0], 6379), "6379 open after its rule went");
    // Stop and start keep the disk; a reboot really restarts the node (its /tmp is fresh).
    ssh(
        public[2],
        "echo kept > /root/keep.txt && touch /tmp/boot-marker",
    );
    l.action_done("shutdownServer", &ids[2]);
    assert!(!port_open(public[2], 22) || !ssh_with_password(public[2], PW, "true").ok);
    l.action_done("startServer", &ids[2]);
    assert_eq!(ssh(public[2], "cat /root/keep.txt"), "kept");
    assert_eq!(
        ssh(public[2], "ls /tmp/boot-marker 2>/dev/null || echo gone"),
        "gone"
    );
    ssh(public[3], "touch /tmp/boot-marker /root/reboot.txt");
    l.action_done("rebootServer", &ids[3]);
    assert_eq!(
        ssh(public[3], "ls /tmp/boot-marker 2>/dev/null || echo gone"),
        "gone"
    );
    ssh(public[3], "test -f /root/reboot.txt");
    // reconfigureServer changes the limits the node's processes run under.
    let pid = l.nodes.init_pid(&ids[0]).unwrap();
    if node_limits(pid).is_some() {
        let r = l.e.post(
            "server/reconfigureServer",
            &format!("<reconfigureServer xmlns=\"{NS}\" id=\"{}\"><cpuCount>3</cpuCount><memoryGb>5</memoryGb></reconfigureServer>", ids[0]),
        );
        assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
        l.e.wait_state(&format!("server/server/{}", ids[0]), "NORMAL");
        assert_eq!(
            node_limits(pid),
            Some((3, 5)),
            "limits after reconfigureServer"
        );
    }
    // Delete leaves no namespace, mount, process or upper dir of that node.
    let before = l.netns().len();
    let node_dir = l.nodes.node_dir(&ids[3]);
    assert!(node_dir.join("upper").is_dir());
    l.action_done("shutdownServer", &ids[3]);
    let r = l.e.action("deleteServer", &ids[3]);
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    l.e.wait_state(&format!("server/server/{}", ids[3]), "GONE");
    assert_eq!(l.netns().len(), before - 1, "the node's namespace is left");
    assert!(!node_dir.exists(), "upper dir left");
    let nd = node_dir.display().to_string();
    assert_eq!(mounts_mentioning(&[&nd]), Vec::<String>::new());
    assert_eq!(processes_mentioning(&nd), Vec::<i32>::new());
    // Emulator shutdown leaves nothing running.
    let emu = l.e.emu.take().unwrap();
    emu.shutdown();
    l.assert_clean();
}

#[test]
fn an_emulator_restart_brings_servers_back_with_their_disks() {
    if !root_or_skip() {
        return;
    }
    let mut l = Local::start();
    let d = l.e.domain("restart");
    let v = l.e.vlan(&d, "net", "10.61.0.0");
    let id = l.server("keeper", &d, &v);
    let ip = l.wait_normal(&id);
    add_block(&mut l, &d);
    let public = l.nat(&d, ip);
    l.allow(&d, "ssh", 22);
    eventually("ssh through NAT", || {
        ssh_with_password(public, PW, "true").ok
    });
    let keys = ssh(
        public,
        "echo survives > /root/file && cat /etc/ssh/ssh_host_ed25519_key.pub",
    );
    // Graceful stop: every node process goes, the disk stays.
    let Local { mut e, nodes, root } = l;
    e.emu.take().unwrap().shutdown();
    assert_eq!(netns_with_prefix(nodes.prefix()), Vec::<String>::new());
    assert_clean_dir(&root);
    assert!(!port_open(public, 22), "listener left after shutdown");
    drop(nodes);
    // Same state dir again: the replay recreates the server, reachable at the same address, with
    // its file, host keys and password.
    let l2 = Local::start_in(e.dir);
    eventually("ssh after restart", || {
        ssh_with_password(public, PW, "true").ok
    });
    assert_eq!(ssh(public, "cat /root/file"), "survives");
    assert_eq!(
        ssh(public, "cat /etc/ssh/ssh_host_ed25519_key.pub"),
        keys,
        "host keys changed"
    );
    let mut l2 = l2;
    let s = l2.e.wait_state(&format!("server/server/{id}"), "NORMAL");
    assert_eq!(s["started"], "true");
    let emu = l2.e.emu.take().unwrap();
    emu.shutdown();
    l2.assert_clean();
}
