//! Secondary NICs on local nodes: a NIC on another VLAN is a real interface with the NIC's address,
//! so the node reaches that VLAN directly (not through the domain's gateway), both through the
//! backend and through the emulator's addNic/removeNic; it survives stop/start and an emulator
//! restart, and nothing is left when the NIC, the VLAN, the node or the backend goes. Needs root
//! (elsewhere the tests print why and pass).

// The emulator crate owns these helpers; the tests here that also need the binary share them.
#[path = "../crates/emulator/tests/emulator_support/mod.rs"]
mod emulator_support;
mod nodes_support;

use std::fs::File;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use emulator::backend::{NicSpec, NodeBackend};
use emulator::{EmulatorConfig, Nodes};
use emulator_support::{Emu, NS, code, info};
use nodes::{LocalNodes, LocalNodesConfig};
use nodes_support::*;

/// Connects from inside the network namespace of server `id` to `to:22`; returns the local address
/// the kernel chose (which tells the interface) and the first bytes of the SSH banner.
fn connect_from(nodes: &LocalNodes, id: &str, to: Ipv4Addr) -> Result<(Ipv4Addr, String), String> {
    let pid = nodes.init_pid(id).ok_or("the node is not running")?;
    let ns = File::open(format!("/proc/{pid}/ns/net")).map_err(|e| e.to_string())?;
    std::thread::spawn(move || {
        nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| format!("setns: {e}"))?;
        let mut s = TcpStream::connect_timeout(&SocketAddr::from((to, 22)), Duration::from_secs(3))
            .map_err(|e| format!("connect {to}:22: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| e.to_string())?;
        let mut banner = [0u8; 4];
        s.read_exact(&mut banner).map_err(|e| e.to_string())?;
        let local = match s.local_addr().map_err(|e| e.to_string())?.ip() {
            IpAddr::V4(a) => a,
            other => return Err(format!("IPv6 local address {other}")),
        };
        Ok((local, String::from_utf8_lossy(&banner).into_owned()))
    })
    .join()
    .map_err(|_| "the netns thread panicked".to_string())?
}

/// Polls until a connection from `id` to `to` works; returns its local address.
fn reach(nodes: &LocalNodes, id: &str, to: Ipv4Addr) -> Ipv4Addr {
    let t0 = Instant::now();
    loop {
        match connect_from(nodes, id, to) {
            Ok((local, banner)) => {
                assert_eq!(banner, "SSH-");
                return local;
            }
            Err(e) => assert!(
                t0.elapsed() < Duration::from_secs(20),
                "{id} never reached {to}: {e}"
            ),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Number of veth interfaces in the namespace `ns`.
fn veths(ns: &str) -> usize {
    let out = Command::new("ip")
        .args(["-n", ns, "-o", "link", "show", "type", "veth"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// Waits until the namespace `ns` holds `n` veths: a deleted namespace takes its veth pairs along
/// once the kernel has torn it down, which it does in the background.
fn wait_veths(ns: &str, n: usize) {
    let t0 = Instant::now();
    while veths(ns) != n {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "{ns} holds {} veths, not {n}",
            veths(ns)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn domain_netns(h: &Harness) -> String {
    let ns: Vec<String> = h.netns().into_iter().filter(|n| n.contains("-d")).collect();
    assert_eq!(ns.len(), 1, "{ns:?}");
    ns[0].clone()
}

#[test]
fn a_second_nic_reaches_the_other_vlan_directly() {
    if !root_or_skip() {
        return;
    }
    let h = Harness::new();
    let back_gw = Ipv4Addr::new(10, 0, 1, 1);
    h.nodes.create_vlan(DOMAIN, "vlan-2", back_gw, 24).unwrap();
    h.nodes.create_server(&h.spec(1), true).expect("front node");
    let mut spec = h.spec(2);
    spec.vlan_id = "vlan-2".into();
    spec.private_ipv4 = Ipv4Addr::new(10, 0, 1, 12);
    spec.gateway = back_gw;
    h.nodes.create_server(&spec, true).expect("back node");
    let back = spec.private_ipv4;
    let dns = domain_netns(&h);
    assert_eq!(veths(&dns), 2);

    // Without a NIC on the back VLAN, the front node goes through the domain's gateway.
    assert_eq!(reach(&h.nodes, "srv-1", back), private(1));

    let nic = NicSpec {
        id: "nic-1".into(),
        vlan_id: "vlan-2".into(),
        private_ipv4: Ipv4Addr::new(10, 0, 1, 20),
        prefix: 24,
    };
    h.nodes.attach_nic("srv-1", &nic).expect("attach");
    h.nodes
        .attach_nic("srv-1", &nic)
        .expect("attach is idempotent");
    assert_eq!(veths(&dns), 3);
    assert_eq!(reach(&h.nodes, "srv-1", back), nic.private_ipv4);
    // The back node reaches the front one on its new address, on its own VLAN.
    assert_eq!(reach(&h.nodes, "srv-2", nic.private_ipv4), back);

    // A stop and a start keep the NIC.
    h.nodes.stop_server("srv-1", true).unwrap();
    h.nodes.start_server("srv-1").unwrap();
    assert_eq!(reach(&h.nodes, "srv-1", back), nic.private_ipv4);

    h.nodes.detach_nic("srv-1", "nic-1").expect("detach");
    h.nodes
        .detach_nic("srv-1", "nic-1")
        .expect("detach is idempotent");
    h.nodes
        .detach_nic("srv-9", "nic-1")
        .expect("unknown server");
    assert_eq!(veths(&dns), 2, "the veth pair is gone");
    assert_eq!(reach(&h.nodes, "srv-1", back), private(1));
    assert!(connect_from(&h.nodes, "srv-2", nic.private_ipv4).is_err());

    // A NIC on an unknown VLAN or server is refused.
    let mut bad = nic.clone();
    bad.vlan_id = "vlan-9".into();
    assert!(h.nodes.attach_nic("srv-1", &bad).is_err());
    assert!(h.nodes.attach_nic("srv-9", &nic).is_err());

    // A VLAN deleted under a NIC takes its veth along.
    h.nodes.attach_nic("srv-1", &nic).unwrap();
    assert_eq!(veths(&dns), 3);
    h.nodes.delete_server("srv-2").unwrap();
    h.nodes.delete_vlan(DOMAIN, "vlan-2").unwrap();
    wait_veths(&dns, 1);
    // A server deleted with a NIC leaves nothing either.
    h.nodes.create_vlan(DOMAIN, "vlan-2", back_gw, 24).unwrap();
    h.nodes.attach_nic("srv-1", &nic).unwrap();
    assert_eq!(veths(&dns), 2);
    h.nodes.delete_server("srv-1").unwrap();
    wait_veths(&dns, 0);
    h.nodes.create_server(&h.spec(3), true).unwrap();
    h.nodes.attach_nic("srv-3", &nic).unwrap();
    h.nodes.shutdown();
    h.assert_clean();
}

fn backend(state_dir: &Path) -> Arc<LocalNodes> {
    let mut cfg = LocalNodesConfig::new(state_dir.join("nodes"), env!("CARGO_BIN_EXE_plumbery"));
    cfg.keep_disks = true; // as `emulator serve --nodes local` does
    Arc::new(LocalNodes::new(cfg).expect("local nodes backend"))
}

fn start(dir: tempfile::TempDir) -> (Emu, Arc<LocalNodes>) {
    let nodes = backend(dir.path());
    let mut cfg = EmulatorConfig::new(dir.path());
    cfg.time_scale = 0.0; // operations end when the node is really up
    cfg.nodes = Nodes::Custom(nodes.clone());
    (Emu::start_with(dir, cfg), nodes)
}

fn primary(e: &mut Emu, id: &str) -> Ipv4Addr {
    let v = e.wait_state(&format!("server/server/{id}"), "NORMAL");
    v["networkInfo"]["primaryNic"]["privateIpv4"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn add_nic_and_remove_nic_through_the_api_with_a_restart() {
    if !root_or_skip() {
        return;
    }
    let dir = tempfile::Builder::new().prefix("plnics").tempdir().unwrap();
    let (mut e, nodes) = start(dir);
    let d = e.domain("nics");
    let front = e.vlan(&d, "front", "10.62.0.0");
    let back = e.vlan(&d, "back", "10.63.0.0");
    let web = info(&e.deploy_server("web", &d, &front, true), "serverId");
    let db = info(&e.deploy_server("db", &d, &back, true), "serverId");
    let web_ip = primary(&mut e, &web);
    let db_ip = primary(&mut e, &db);
    assert_eq!(reach(&nodes, &web, db_ip), web_ip);

    let r = e.post(
        "server/addNic",
        &format!("<addNic xmlns=\"{NS}\"><serverId>{web}</serverId><nic><privateIpv4>10.63.0.20</privateIpv4></nic></addNic>"),
    );
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    let nic = info(&r, "nicId");
    primary(&mut e, &web);
    let nic_ip = Ipv4Addr::new(10, 63, 0, 20);
    assert_eq!(reach(&nodes, &web, db_ip), nic_ip);

    // An emulator restart replays the NIC into the new backend.
    let prefix = nodes.prefix().to_string();
    e.emu.take().unwrap().shutdown();
    drop(nodes);
    assert_eq!(netns_with_prefix(&prefix), Vec::<String>::new());
    let (mut e, nodes) = start(e.dir);
    primary(&mut e, &web);
    assert_eq!(reach(&nodes, &web, db_ip), nic_ip);

    let r = e.post(
        "server/removeNic",
        &format!("<removeNic xmlns=\"{NS}\" id=\"{nic}\"/>"),
    );
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    primary(&mut e, &web);
    assert_eq!(reach(&nodes, &web, db_ip), web_ip);
    assert!(connect_from(&nodes, &db, nic_ip).is_err());
    e.emu.take().unwrap().shutdown();
    drop(nodes);
    assert_eq!(
        netns_with_prefix(&prefix),
        Vec::<String>::new(),
        "namespaces left"
    );
}

/// The engine deploys a plan whose `web01` (VLAN front) is glued to `back .20` onto local nodes:
/// web01 reaches db01 (VLAN back) from 10.73.0.20, through its NIC; dispose leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_deploys_a_glued_node_that_reaches_the_other_vlan() {
    use cloud::{RetryPolicy, Secret, WaitPolicy};
    use engine::{self, Action, Options, Progress};
    use fittings::{Parameters, load_text};

    if !root_or_skip() {
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("plnicseng")
        .tempdir()
        .unwrap();
    let nodes = backend(dir.path());
    let prefix = nodes.prefix().to_string();
    let mut cfg = EmulatorConfig::new(dir.path());
    cfg.time_scale = 0.0;
    cfg.nodes = Nodes::Custom(nodes.clone());
    let emu = tokio::task::block_in_place(|| emulator::Emulator::start(cfg)).unwrap();
    let text = r#"---
locationId: NA9
blueprints:
  - front:
      domain:
        name: LocalNics
        service: essentials
      ethernet:
        name: front
        subnet: 10.72.0.0
      nodes:
        - web01:
            appliance: 'Ubuntu 22'
            glue:
              - back .20
  - back:
      domain:
        name: LocalNics
        service: essentials
      ethernet:
        name: back
        subnet: 10.73.0.0
      nodes:
        - db01:
            appliance: 'Ubuntu 22'
"#;
    let plan = load_text("local-nics.yaml", text, &Parameters::new())
        .unwrap()
        .0;
    let opts = Options {
        progress: Progress::quiet(),
        endpoint: Some(emu.url().to_string()),
        credentials: Some(("plumbery".into(), Secret::new("plumbery"))),
        admin_password: Some(Secret::new("S3cret-Passw0rd")),
        retry: RetryPolicy::fast(),
        wait: WaitPolicy::fast(),
        ..Options::default()
    };
    let r = engine::run(Action::Deploy, &plan, &opts).await.unwrap();
    assert!(r.ok, "{}", serde_json::to_string_pretty(&r).unwrap());
    let node = |name: &str| {
        r.locations[0]
            .nodes
            .iter()
            .find(|n| n.name == name)
            .unwrap()
            .clone()
    };
    let (web, db) = (node("web01"), node("db01"));
    assert_eq!(web.extra_nics.len(), 1);
    assert_eq!(web.extra_nics[0].private_ipv4, "10.73.0.20");
    let db_ip: Ipv4Addr = db.private_ipv4.unwrap().parse().unwrap();
    let web_id = web.id.unwrap();
    let n2 = nodes.clone();
    let local = tokio::task::spawn_blocking(move || reach(&n2, &web_id, db_ip))
        .await
        .unwrap();
    assert_eq!(local, Ipv4Addr::new(10, 73, 0, 20));

    let r = engine::run(Action::Dispose, &plan, &opts).await.unwrap();
    assert!(r.ok, "{}", serde_json::to_string_pretty(&r).unwrap());
    assert_eq!(emu.stats().resources.server, 0);
    tokio::task::block_in_place(|| emu.shutdown());
    drop(nodes);
    assert_eq!(
        netns_with_prefix(&prefix),
        Vec::<String>::new(),
        "namespaces left"
    );
}
