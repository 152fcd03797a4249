//! Benchmark of the CloudControl emulator: requests per second for `GET server/server` (a page of 50)
//! and `GET server/server/{id}` with 1,000 servers in the store, and the memory used with 10,000
//! resources.
//! Run with `cargo run --release --example bench_emulator [-- --json] [--quick]` (`--quick`: shorter
//! throughput samples).

#[path = "bench_support/mod.rs"]
mod bench_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use emulator::http::Client;
use emulator::{Emulator, EmulatorConfig, RunningEmulator};

const NS: &str = "urn:didata.com:api:cloud:types";

fn rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn info(body: &str, name: &str) -> String {
    let v = emulator::http::xml_to_json(body).expect("XML");
    let infos = match &v["info"] {
        serde_json::Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    infos
        .iter()
        .find(|i| i["name"] == name)
        .and_then(|i| i["value"].as_str())
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

struct Api {
    c: Client,
    base: String,
}

impl Api {
    fn new(emu: &RunningEmulator) -> Api {
        Api {
            c: Client::new(emu.url(), "plumbery", "plumbery").unwrap(),
            base: format!("/caas/2.4/{}", emu.org_id()),
        }
    }
    fn post(&mut self, op: &str, body: &str) -> String {
        let r = self
            .c
            .post_xml(&format!("{}/{op}", self.base), body)
            .unwrap();
        assert_eq!(r.status, 200, "{op}: {}", r.body);
        r.body
    }
    fn wait_normal(&mut self, path: &str) {
        loop {
            let r = self.c.get(&format!("{}/{path}", self.base), false).unwrap();
            if r.body.contains("<state>NORMAL</state>") {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    fn domain(&mut self, name: &str) -> String {
        let b = self.post("network/deployNetworkDomain", &format!("<deployNetworkDomain xmlns=\"{NS}\"><datacenterId>NA9</datacenterId><name>{name}</name><type>ESSENTIALS</type></deployNetworkDomain>"));
        let id = info(&b, "networkDomainId");
        self.wait_normal(&format!("network/networkDomain/{id}"));
        id
    }
    fn vlan(&mut self, d: &str, name: &str, base: &str, prefix: u8) -> String {
        let b = self.post("network/deployVlan", &format!("<deployVlan xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><name>{name}</name><privateIpv4BaseAddress>{base}</privateIpv4BaseAddress><privateIpv4PrefixSize>{prefix}</privateIpv4PrefixSize></deployVlan>"));
        let id = info(&b, "vlanId");
        self.wait_normal(&format!("network/vlan/{id}"));
        id
    }
    fn image(&mut self) -> String {
        let r = self
            .c
            .get(
                &format!(
                    "{}/image/osImage?datacenterId=NA9&name=Ubuntu%2022.04%2064-bit%202%20CPU",
                    self.base
                ),
                true,
            )
            .unwrap();
        r.json()["osImage"][0]["id"].as_str().unwrap().to_string()
    }
    fn server(&mut self, name: &str, d: &str, v: &str, image: &str) -> String {
        let b = self.post("server/deployServer", &format!("<deployServer xmlns=\"{NS}\"><name>{name}</name><imageId>{image}</imageId><start>true</start><administratorPassword>Passw0rd-Here</administratorPassword><networkInfo networkDomainId=\"{d}\"><primaryNic><vlanId>{v}</vlanId></primaryNic></networkInfo></deployServer>"));
        info(&b, "serverId")
    }
}

fn start(dir: &std::path::Path) -> RunningEmulator {
    let mut cfg = EmulatorConfig::new(dir);
    cfg.time_scale = 0.0;
    Emulator::start(cfg).unwrap()
}

/// Requests per second of GET `path` from `threads` keep-alive clients for `secs`.
fn throughput(
    emu: &RunningEmulator,
    path: &str,
    json: bool,
    threads: usize,
    secs: f64,
) -> (f64, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (stop, count, bytes) = (stop.clone(), count.clone(), bytes.clone());
            let mut c = Client::new(emu.url(), "plumbery", "plumbery").unwrap();
            let path = path.to_string();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let r = c.get(&path, json).unwrap();
                    assert_eq!(r.status, 200, "{}", r.body);
                    count.fetch_add(1, Ordering::Relaxed);
                    bytes.store(r.body.len() as u64, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    (
        count.load(Ordering::Relaxed) as f64 / t0.elapsed().as_secs_f64(),
        bytes.load(Ordering::Relaxed) as usize,
    )
}

fn main() {
    bench_support::init();
    let seconds = if bench_support::quick() { 1.0 } else { 3.0 };
    // Part 1: 1,000 servers, GET server/server.
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path());
    let mut api = Api::new(&emu);
    let t0 = Instant::now();
    let d = api.domain("bench");
    let v = api.vlan(&d, "lan", "10.0.0.0", 20);
    let image = api.image();
    let mut ids = Vec::new();
    for i in 0..1000 {
        ids.push(api.server(&format!("node{i:04}"), &d, &v, &image));
    }
    println!(
        "setup: 1,000 servers deployed in {:.1} s ({:.0} deploys/s)",
        t0.elapsed().as_secs_f64(),
        1000.0 / t0.elapsed().as_secs_f64()
    );
    let base = api.base.clone();
    let cases = [
        (
            format!("{base}/server/server?pageSize=250"),
            false,
            "list, 250 per page, XML",
        ),
        (
            format!("{base}/server/server?pageSize=50"),
            false,
            "list, 50 per page, XML (Go client default)",
        ),
        (
            format!("{base}/server/server?pageSize=50"),
            true,
            "list, 50 per page, JSON",
        ),
        (
            format!("{base}/server/server?name=node0500"),
            false,
            "list filtered by name, XML",
        ),
        (
            format!("{base}/server/server/{}", ids[500]),
            false,
            "get one server by id, XML",
        ),
    ];
    let target = 10_000.0;
    let mut headline = 0.0;
    let mut single = 0.0;
    for (i, (path, json, label)) in cases.iter().enumerate() {
        let (rps, size) = throughput(&emu, path, *json, 2, seconds);
        if i == 1 {
            headline = rps;
        }
        if i == 4 {
            single = rps;
        }
        println!("GET server/server [{label}]: {rps:.0} req/s ({size} bytes per answer)");
    }
    let single_target = 20_000.0;
    println!(
        "RESULT requests/s, GET server/server/{{id}} with 1,000 servers (2 client threads): {single:.0} (target >= {single_target:.0}) {}",
        bench_support::verdict(bench_support::figure(
            "emulator: GET server/server/{id}, 1,000 servers",
            single.round(),
            "req/s",
            Some(bench_support::Target::AtLeast(single_target)),
        ))
    );
    println!(
        "RESULT requests/s, GET server/server with 1,000 servers (50 per page, 2 client threads): {headline:.0} (target >= {target:.0}) {}",
        bench_support::verdict(bench_support::figure(
            "emulator: GET server/server, 1,000 servers, 50 per page",
            headline.round(),
            "req/s",
            Some(bench_support::Target::AtLeast(target)),
        ))
    );
    emu.shutdown();

    // Part 2: memory with 10,000 resources.
    let before = rss_mb();
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path());
    let mut api = Api::new(&emu);
    let t0 = Instant::now();
    let image = api.image();
    let mut made = 0usize;
    let mut domains = Vec::new();
    for i in 0..10 {
        domains.push(api.domain(&format!("dom{i}")));
        made += 1 + 5; // the domain and its CCDEFAULT rules
    }
    let mut vlans = Vec::new();
    for (i, d) in domains.iter().enumerate() {
        vlans.push(api.vlan(d, "lan", &format!("10.{}.0.0", i * 16), 19));
        made += 1;
    }
    for (i, d) in domains.iter().enumerate() {
        for _ in 0..20 {
            api.post("network/addPublicIpBlock", &format!("<addPublicIpBlock xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId></addPublicIpBlock>"));
            made += 1;
        }
        for k in 0..40 {
            let ip = format!("10.{}.{}.{}", i * 16, 1 + k / 200, 10 + k % 200);
            api.post("network/createNatRule", &format!("<createNatRule xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><internalIp>{ip}</internalIp></createNatRule>"));
            made += 1;
        }
        for k in 0..30 {
            api.post("network/createFirewallRule", &format!("<createFirewallRule xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><name>rule{k}</name><action>ACCEPT_DECISIVELY</action><ipVersion>IPV4</ipVersion><protocol>TCP</protocol><source><ip address=\"ANY\"/></source><destination><ip address=\"ANY\"/><port begin=\"{}\"/></destination><enabled>true</enabled><placement position=\"LAST\"/></createFirewallRule>", 1000 + k));
            made += 1;
        }
    }
    let mut n = 0;
    while made < 10_000 {
        let k = n % domains.len();
        api.server(&format!("s{n}"), &domains[k], &vlans[k], &image);
        made += 1;
        n += 1;
    }
    // Let every pending completion land.
    std::thread::sleep(Duration::from_millis(500));
    let stats = emu.stats();
    let r = &stats.resources;
    let total: u64 = r.network_domain
        + r.vlan
        + r.public_ip_block
        + r.nat_rule
        + r.firewall_rule
        + r.default_firewall_rule
        + r.server;
    let after = rss_mb();
    println!(
        "setup: {total} resources ({}) in {:.1} s",
        r,
        t0.elapsed().as_secs_f64()
    );
    let (rps, _) = throughput(
        &emu,
        &format!(
            "{}/server/server?pageSize=50&networkDomainId={}",
            api.base, domains[0]
        ),
        false,
        2,
        2.0,
    );
    println!(
        "GET server/server with {} servers [50 per page, one domain, XML]: {rps:.0} req/s",
        r.server
    );
    let used = after;
    println!("memory: process RSS {used:.1} MB (before the emulator started: {before:.1} MB)");
    println!(
        "RESULT memory with {total} resources: {used:.1} MB RSS (target < 50 MB) {}",
        bench_support::verdict(
            bench_support::figure(
                &format!("emulator: memory (RSS) with {total} resources"),
                (used * 10.0).round() / 10.0,
                "MB",
                Some(bench_support::Target::Below(50.0)),
            ) && total >= 10_000
        )
    );
    emu.shutdown();
}
