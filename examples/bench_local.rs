//! Benchmark of the emulator with local nodes, through its HTTP API at time scale 0: time from
//! `deployServer` to the server being NORMAL *and* its sshd answering with its banner through the
//! public NAT address; time for 20 servers deployed at once; memory per idle node. Needs root.
//!
//! Run: `cargo run --release --example bench_local`. The example is its own node init (it answers
//! `__node-init` like the plumbery binary), so it needs no separate build of `plumbery`.

#[path = "bench_support/mod.rs"]
mod bench_support;
#[path = "bench_support/proc_mem.rs"]
mod proc_mem;

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use emulator::http::xml_to_json;
use emulator::http::{Client, Response};
use emulator::{Emulator, EmulatorConfig, Nodes};
use nodes::{LocalNodes, LocalNodesConfig};
use proc_mem::{KERNEL_FIELDS, kernel_kb, pss_kb, tree};
use serde_json::Value;

const NS: &str = "urn:didata.com:api:cloud:types";
const SINGLE_RUNS: u32 = 5;
const MANY: u32 = 20;

/// One human line, and the figure for `examples/bench.rs` (`local: ...`).
fn report(what: &str, value: f64, unit: &str, target: f64) {
    let met = bench_support::figure(
        &format!("local: {what}"),
        value,
        unit,
        Some(bench_support::Target::Below(target)),
    );
    let verdict = bench_support::verdict(met);
    println!("{what:<52} {value:>9.3} {unit:<3} (target < {target} {unit}): {verdict}");
}

/// A small API session.
struct Api {
    c: Client,
    base: String,
}

impl Api {
    fn post(&mut self, op: &str, xml: &str) -> Value {
        let r = self
            .c
            .post_xml(&format!("{}/{op}", self.base), xml)
            .unwrap();
        body(&r)
    }
    fn get(&mut self, path: &str) -> Response {
        self.c.get(&format!("{}/{path}", self.base), false).unwrap()
    }
    /// Polls until the resource is NORMAL.
    fn wait_normal(&mut self, path: &str) {
        let t0 = Instant::now();
        loop {
            let r = self.get(path);
            if r.status == 200 && body(&r)["state"] == "NORMAL" {
                return;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(120),
                "{path}: {}",
                r.body
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

fn body(r: &Response) -> Value {
    xml_to_json(&r.body).unwrap_or_else(|e| panic!("not XML ({e}): {}", r.body))
}

fn info(v: &Value, name: &str) -> String {
    let infos = match &v["info"] {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    infos
        .iter()
        .find(|i| i["name"] == name)
        .and_then(|i| i["value"].as_str())
        .unwrap_or_else(|| panic!("no {name} in {v}"))
        .to_string()
}

/// Whether sshd answers on `addr:22` with its banner.
fn ssh_banner(addr: Ipv4Addr) -> bool {
    let Ok(mut s) =
        TcpStream::connect_timeout(&SocketAddr::from((addr, 22)), Duration::from_secs(1))
    else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 8];
    s.read_exact(&mut buf).is_ok() && buf.starts_with(b"SSH-")
}

fn wait_banner(addr: Ipv4Addr) {
    let t0 = Instant::now();
    while !ssh_banner(addr) {
        assert!(t0.elapsed() < Duration::from_secs(60), "no sshd on {addr}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The network of the benchmark: a domain, a VLAN 10.70.0.0/24, enough public addresses, ssh allowed.
struct Net {
    domain: String,
    image: String,
    publics: Vec<Ipv4Addr>,
}

fn network(api: &mut Api) -> Net {
    let r = api.post("network/deployNetworkDomain", &format!("<deployNetworkDomain xmlns=\"{NS}\"><datacenterId>NA9</datacenterId><name>bench</name><type>ESSENTIALS</type></deployNetworkDomain>"));
    let domain = info(&r, "networkDomainId");
    api.wait_normal(&format!("network/networkDomain/{domain}"));
    let r = api.post("network/deployVlan", &format!("<deployVlan xmlns=\"{NS}\"><networkDomainId>{domain}</networkDomainId><name>bench</name><privateIpv4BaseAddress>10.70.0.0</privateIpv4BaseAddress><privateIpv4PrefixSize>24</privateIpv4PrefixSize></deployVlan>"));
    let vlan = info(&r, "vlanId");
    api.wait_normal(&format!("network/vlan/{vlan}"));
    let r = api.post("network/createFirewallRule", &format!("<createFirewallRule xmlns=\"{NS}\"><networkDomainId>{domain}</networkDomainId><name>ssh</name><action>ACCEPT_DECISIVELY</action><ipVersion>IPV4</ipVersion><protocol>TCP</protocol><source><ip address=\"ANY\"/></source><destination><ip address=\"ANY\"/><port begin=\"22\"/></destination><enabled>true</enabled><placement position=\"FIRST\"/></createFirewallRule>"));
    info(&r, "firewallRuleId");
    let n = SINGLE_RUNS + MANY;
    for _ in 0..n.div_ceil(2) {
        let r = api.post("network/addPublicIpBlock", &format!("<addPublicIpBlock xmlns=\"{NS}\"><networkDomainId>{domain}</networkDomainId></addPublicIpBlock>"));
        info(&r, "ipBlockId");
    }
    let mut publics = Vec::new();
    for i in 0..n {
        let r = api.post("network/createNatRule", &format!("<createNatRule xmlns=\"{NS}\"><networkDomainId>{domain}</networkDomainId><internalIp>{}</internalIp></createNatRule>", private(i)));
        let id = info(&r, "natRuleId");
        let v = body(&api.get(&format!("network/natRule/{id}")));
        publics.push(v["externalIp"].as_str().unwrap().parse().unwrap());
    }
    let v: Value = api
        .c
        .get(
            &format!(
                "{}/image/osImage?datacenterId=NA9&name=Ubuntu%2022.04%2064-bit%202%20CPU",
                api.base
            ),
            true,
        )
        .unwrap()
        .json();
    let image = v["osImage"][0]["id"].as_str().unwrap().to_string();
    Net {
        domain,
        image,
        publics,
    }
}

fn private(i: u32) -> Ipv4Addr {
    Ipv4Addr::new(10, 70, 0, 10 + i as u8)
}

/// The id of the server named `bench-{i}`.
fn deploy_id(api: &mut Api, i: u32) -> String {
    let v: Value = api
        .c
        .get(&format!("{}/server/server?name=bench-{i}", api.base), true)
        .unwrap()
        .json();
    v["server"][0]["id"].as_str().unwrap().to_string()
}

/// POSTs deployServer (started) with a fixed private address; returns the server id.
fn deploy(api: &mut Api, net: &Net, i: u32) -> String {
    let r = api.post("server/deployServer", &format!("<deployServer xmlns=\"{NS}\"><name>bench-{i}</name><imageId>{}</imageId><start>true</start><administratorPassword>Bench-Secret-1</administratorPassword><networkInfo networkDomainId=\"{}\"><primaryNic><privateIpv4>{}</privateIpv4></primaryNic></networkInfo></deployServer>", net.image, net.domain, private(i)));
    info(&r, "serverId")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__node-init") {
        std::process::exit(nodes::init_main(&args[2..]));
    }
    bench_support::init();
    if !nix::unistd::geteuid().is_root() {
        bench_support::skipped("needs root");
        eprintln!("bench_local needs root");
        std::process::exit(if bench_support::json() { 0 } else { 2 });
    }
    let dir = tempfile::Builder::new()
        .prefix("plbenchlocal")
        .tempdir()
        .unwrap();
    let mut ncfg = LocalNodesConfig::new(dir.path().join("nodes"), "/proc/self/exe");
    ncfg.keep_disks = true;
    let nodes = Arc::new(LocalNodes::new(ncfg).unwrap());
    let mut cfg = EmulatorConfig::new(dir.path());
    cfg.time_scale = 0.0;
    cfg.nodes = Nodes::Custom(nodes.clone());
    let emu = Emulator::start(cfg).unwrap();
    let mut api = Api {
        c: Client::new(emu.url(), "plumbery", "plumbery").unwrap(),
        base: emu.api_base(4),
    };
    let net = network(&mut api);

    // One server at a time: deployServer -> NORMAL -> sshd banner on its public address.
    let mut times = Vec::new();
    for i in 0..SINGLE_RUNS {
        let t = Instant::now();
        let id = deploy(&mut api, &net, i);
        api.wait_normal(&format!("server/server/{id}"));
        wait_banner(net.publics[i as usize]);
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!("deployServer -> NORMAL and sshd answering, {SINGLE_RUNS} runs: {times:.3?} s");
    report(
        "deployServer -> NORMAL + sshd (median)",
        times[times.len() / 2],
        "s",
        0.5,
    );
    report(
        "deployServer -> NORMAL + sshd (worst)",
        times[times.len() - 1],
        "s",
        0.5,
    );

    // Lifecycle of one running server, for information.
    let id = deploy_id(&mut api, 0);
    for op in ["shutdownServer", "startServer", "rebootServer"] {
        let t = Instant::now();
        let r = api.post(
            &format!("server/{op}"),
            &format!("<{op} xmlns=\"{NS}\" id=\"{id}\"/>"),
        );
        assert_eq!(r["responseCode"], "IN_PROGRESS", "{op}: {r}");
        api.wait_normal(&format!("server/server/{id}"));
        if op != "shutdownServer" {
            wait_banner(net.publics[0]);
        }
        println!(
            "  {op} -> NORMAL{}: {:.3} s",
            if op == "shutdownServer" {
                ""
            } else {
                " + sshd"
            },
            t.elapsed().as_secs_f64()
        );
    }

    // Twenty at once.
    std::thread::sleep(Duration::from_millis(500));
    let kernel_before = kernel_kb();
    let t = Instant::now();
    let ids: Vec<String> = (SINGLE_RUNS..SINGLE_RUNS + MANY)
        .map(|i| deploy(&mut api, &net, i))
        .collect();
    for (k, id) in ids.iter().enumerate() {
        api.wait_normal(&format!("server/server/{id}"));
        wait_banner(net.publics[SINGLE_RUNS as usize + k]);
    }
    report(
        &format!("{MANY} servers deployed at once -> all NORMAL + sshd"),
        t.elapsed().as_secs_f64(),
        "s",
        10.0,
    );

    // Memory of idle nodes.
    std::thread::sleep(Duration::from_secs(2));
    let kernel_after = kernel_kb();
    let mut pss = 0;
    for id in &ids {
        let mut pids = Vec::new();
        tree(nodes.keeper_pid(id).expect("node runs"), &mut pids);
        pss += pids.iter().map(|p| pss_kb(*p)).sum::<u64>();
    }
    let per_pss = pss as f64 / f64::from(MANY) / 1024.0;
    let per_kernel = kernel_after.saturating_sub(kernel_before) as f64 / f64::from(MANY) / 1024.0;
    println!(
        "  PSS of a node's processes {per_pss:.2} MB; kernel objects ({}) {per_kernel:.2} MB",
        KERNEL_FIELDS.join("+")
    );
    report(
        "memory per idle node (PSS + kernel objects)",
        per_pss + per_kernel,
        "MB",
        10.0,
    );

    let t = Instant::now();
    emu.shutdown();
    println!(
        "emulator shutdown with {} nodes: {:.3} s",
        SINGLE_RUNS + MANY,
        t.elapsed().as_secs_f64()
    );
}
