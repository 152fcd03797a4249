//! Integration tests of the emulator's run-time behaviour: the clock, seeded faults, a crash and
//! restart in the middle of a server deploy, the node backend contract, and TLS.

mod emulator_support;

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use emulator::backend::{BackendError, FirewallRuleSpec, NatSpec, NodeBackend, ServerSpec};
use emulator::http::Client;
use emulator::{Emulator, Nodes};
use emulator_support::{Emu, NS, code, info, x};

#[test]
fn the_clock_completes_after_the_scaled_latency() {
    let mut e = Emu::start(0.002); // deployServer 240 s + 30 s started -> 0.54 s
    let d = e.domain("clock");
    let v = e.vlan(&d, "lan", "10.7.0.0");
    let t0 = Instant::now();
    let id = info(&e.deploy_server("c", &d, &v, true), "serverId");
    assert_eq!(
        x(&e.get(&format!("server/server/{id}")))["state"],
        "PENDING_ADD"
    );
    e.wait_state(&format!("server/server/{id}"), "NORMAL");
    assert!(
        t0.elapsed() >= Duration::from_millis(530),
        "completed after {:?}",
        t0.elapsed()
    );
}

#[test]
fn profile_overrides_apply() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("profile.yaml");
    std::fs::write(&p, "deployNetworkDomain: 0.3\n").unwrap();
    let mut cfg = Emu::config(&dir.path().join("state"), 1.0);
    cfg.profile = emulator::Profile::load(&p).unwrap();
    let mut e = Emu::start_with(dir, cfg);
    let t0 = Instant::now();
    let r = e.deploy_domain("p", "NA9");
    let id = info(&r, "networkDomainId");
    e.wait_state(&format!("network/networkDomain/{id}"), "NORMAL");
    assert!(t0.elapsed() >= Duration::from_millis(290));
}

fn codes_with_faults(e: &mut Emu, domain: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let r = e.post(
                "network/editNetworkDomain",
                &format!("<editNetworkDomain xmlns=\"{NS}\" id=\"{domain}\"><description>run {i}</description></editNetworkDomain>"),
            );
            code(&r)
        })
        .collect()
}

#[test]
fn faults_are_reproducible_with_a_seed() {
    let mut e = Emu::start(0.001);
    let d = e.domain("faulty");
    let put = |e: &mut Emu, body: &str| {
        let r =
            e.c.request(
                "PUT",
                "/emulator/v1/faults",
                &[("Content-Type", "application/json")],
                Some(body.as_bytes()),
            )
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
    };
    put(&mut e, r#"{"spec": "busy=0.4,unexpected=0.2", "seed": 42}"#);
    let a = codes_with_faults(&mut e, &d, 40);
    put(&mut e, r#"{"busy": 0.4, "unexpected": 0.2, "seed": 42}"#);
    let b = codes_with_faults(&mut e, &d, 40);
    assert_eq!(a, b, "same seed, same faults");
    for c in ["OK", "RESOURCE_BUSY", "UNEXPECTED_ERROR"] {
        assert!(a.iter().any(|x| x == c), "{c} never seen in {a:?}");
    }
    put(&mut e, r#"{"spec": "busy=0.4,unexpected=0.2", "seed": 43}"#);
    assert_ne!(
        codes_with_faults(&mut e, &d, 40),
        a,
        "another seed, other faults"
    );
    // Reads never get RESOURCE_BUSY.
    put(&mut e, r#"{"busy": 1.0}"#);
    assert_eq!(e.get(&format!("network/networkDomain/{d}")).status, 200);
    // An injected UNEXPECTED_ERROR applies nothing.
    put(&mut e, r#"{"unexpected": 1.0}"#);
    assert_eq!(code(&e.deploy_domain("never", "NA9")), "UNEXPECTED_ERROR");
    assert_eq!(e.stats().resources.network_domain, 1);
    // HTTP 503 on any request.
    put(&mut e, r#"{"http503": 1.0}"#);
    assert_eq!(e.get("network/networkDomain").status, 503);
    assert_eq!(e.c.get("/oec/0.9/myaccount", false).unwrap().status, 503);
    // A dropped connection after the change was applied.
    put(&mut e, r#"{"reset": 1.0}"#);
    let mut fresh = Client::new(e.emu().url(), "plumbery", "plumbery").unwrap();
    let body = format!(
        "<deployNetworkDomain xmlns=\"{NS}\"><datacenterId>NA9</datacenterId><name>applied</name><type>ESSENTIALS</type></deployNetworkDomain>"
    );
    let res = fresh.post_xml(&format!("{}/network/deployNetworkDomain", e.base), &body);
    assert!(res.is_err(), "the connection should drop, got {res:?}");
    assert_eq!(
        e.stats().resources.network_domain,
        2,
        "the change was applied"
    );
    // Delay on every request; GET faults reports the spec.
    put(&mut e, r#"{"delay_ms": 150}"#);
    let t0 = Instant::now();
    assert_eq!(e.get("network/networkDomain").status, 200);
    assert!(t0.elapsed() >= Duration::from_millis(150));
    let r = e.c.get("/emulator/v1/faults", true).unwrap();
    assert_eq!(r.json()["delay_ms"], 150);
    let r =
        e.c.request("PUT", "/emulator/v1/faults", &[], Some(br#"{"busy": 3}"#))
            .unwrap();
    assert_eq!(r.status, 400);
    assert!(e.stats().requests.code("UNEXPECTED_ERROR") >= 1);
}

#[test]
fn a_crash_in_the_middle_of_a_server_deploy_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut cfg = Emu::config(&state, 0.001);
    cfg.profile.deploy_server = 1500.0; // 1.5 s, +0.03 s when started
    let mut e = Emu::start_with(dir, cfg.clone());
    let d = e.domain("crash");
    let v = e.vlan(&d, "lan", "10.8.0.0");
    let r = e.post("network/addPublicIpBlock", &format!("<addPublicIpBlock xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId></addPublicIpBlock>"));
    assert_eq!(code(&r), "OK");
    let t0 = Instant::now();
    let sid = info(&e.deploy_server("survivor", &d, &v, true), "serverId");
    let r = e.post("network/createNatRule", &format!("<createNatRule xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><internalIp>10.8.0.10</internalIp></createNatRule>"));
    assert_eq!(code(&r), "OK");
    let org = e.emu().org_id();
    e.emu.take().unwrap().crash();

    let emu = Emulator::start(cfg).expect("restarts on the same state dir");
    assert_eq!(emu.org_id(), org);
    let mut c = Client::new(emu.url(), "plumbery", "plumbery").unwrap();
    let base = format!("/caas/2.4/{org}");
    let r = c
        .get(&format!("{base}/server/server/{sid}"), false)
        .unwrap();
    let s = x(&r);
    assert_eq!(s["state"], "PENDING_ADD", "{}", r.body);
    assert_eq!(s["progress"]["action"], "DEPLOY_SERVER");
    let stats = emu.stats();
    assert_eq!(stats.resources.nat_rule, 1);
    assert_eq!(stats.resources.public_ip_block, 1);
    assert_eq!(stats.resources.vlan, 1);
    loop {
        let s = x(&c
            .get(&format!("{base}/server/server/{sid}"), false)
            .unwrap());
        if s["state"] == "NORMAL" {
            assert_eq!(s["started"], "true");
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "deploy never completed after the restart"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(t0.elapsed() >= Duration::from_millis(1500));
    emu.shutdown();
}

/// A backend that records calls, can fail some, and can be slow.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
    specs: Mutex<Vec<ServerSpec>>,
    public: Mutex<Vec<(Vec<NatSpec>, Vec<FirewallRuleSpec>)>>,
    slow_create: Option<Duration>,
}

impl Recorder {
    fn log(&self, s: String) {
        self.calls.lock().unwrap().push(s);
    }
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl NodeBackend for Recorder {
    fn create_domain(&self, d: &str) -> Result<(), BackendError> {
        self.log(format!("create_domain {d}"));
        Ok(())
    }
    fn delete_domain(&self, d: &str) -> Result<(), BackendError> {
        self.log(format!("delete_domain {d}"));
        Ok(())
    }
    fn create_vlan(&self, d: &str, v: &str, gw: Ipv4Addr, p: u8) -> Result<(), BackendError> {
        self.log(format!("create_vlan {d} {v} {gw}/{p}"));
        Ok(())
    }
    fn delete_vlan(&self, _: &str, v: &str) -> Result<(), BackendError> {
        self.log(format!("delete_vlan {v}"));
        Ok(())
    }
    fn create_server(&self, spec: &ServerSpec, start: bool) -> Result<(), BackendError> {
        if let Some(d) = self.slow_create {
            std::thread::sleep(d);
        }
        self.log(format!("create_server {} {start}", spec.name));
        self.specs.lock().unwrap().push(spec.clone());
        if spec.name == "fail" {
            return Err(BackendError::Failed("disk full".into()));
        }
        Ok(())
    }
    fn start_server(&self, s: &str) -> Result<(), BackendError> {
        self.log(format!("start_server {s}"));
        Ok(())
    }
    fn stop_server(&self, s: &str, graceful: bool) -> Result<(), BackendError> {
        self.log(format!("stop_server {s} {graceful}"));
        Ok(())
    }
    fn restart_server(&self, s: &str, graceful: bool) -> Result<(), BackendError> {
        self.log(format!("restart_server {s} {graceful}"));
        Ok(())
    }
    fn delete_server(&self, s: &str) -> Result<(), BackendError> {
        self.log(format!("delete_server {s}"));
        Ok(())
    }
    fn sync_public(
        &self,
        d: &str,
        nats: &[NatSpec],
        rules: &[FirewallRuleSpec],
    ) -> Result<(), BackendError> {
        self.log(format!("sync_public {d} {}", nats.len()));
        if nats
            .iter()
            .any(|n| n.internal == Ipv4Addr::new(10, 9, 0, 66))
        {
            return Err(BackendError::Failed("port in use".into()));
        }
        self.public
            .lock()
            .unwrap()
            .push((nats.to_vec(), rules.to_vec()));
        Ok(())
    }
    fn shutdown(&self) {
        self.log("shutdown".into());
    }
}

#[test]
fn the_backend_is_called_at_the_right_moments() {
    let rec = Arc::new(Recorder::default());
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Emu::config(dir.path(), 0.001);
    cfg.nodes = Nodes::Custom(rec.clone());
    let mut e = Emu::start_with(dir, cfg);
    let d = e.domain("be");
    assert!(rec.calls().contains(&format!("create_domain {d}")));
    let v = e.vlan(&d, "lan", "10.9.0.0");
    assert!(
        rec.calls()
            .contains(&format!("create_vlan {d} {v} 10.9.0.1/24"))
    );
    let sid = info(&e.deploy_server("ok", &d, &v, true), "serverId");
    let s = e.wait_state(&format!("server/server/{sid}"), "NORMAL");
    assert!(rec.calls().contains(&"create_server ok true".to_string()));
    let spec = rec.specs.lock().unwrap()[0].clone();
    assert_eq!(spec.admin_password, "Sup3r-S3cret-Pw");
    assert_eq!(
        spec.private_ipv4.to_string(),
        s["networkInfo"]["primaryNic"]["privateIpv4"]
            .as_str()
            .unwrap()
    );
    assert_eq!(
        (spec.gateway, spec.prefix),
        (Ipv4Addr::new(10, 9, 0, 1), 24)
    );
    assert!(
        !format!("{spec:?}").contains("Sup3r-S3cret-Pw"),
        "Debug redacts the password"
    );
    // A failing create ends in FAILED_ADD, cleanServer removes it.
    let fid = info(&e.deploy_server("fail", &d, &v, false), "serverId");
    e.wait_state(&format!("server/server/{fid}"), "FAILED_ADD");
    assert_eq!(code(&e.action("startServer", &fid)), "INVALID_INPUT_DATA");
    assert_eq!(code(&e.action("cleanServer", &fid)), "IN_PROGRESS");
    e.wait_state(&format!("server/server/{fid}"), "GONE");
    assert!(rec.calls().contains(&format!("delete_server {fid}")));
    // NAT and firewall changes sync the whole public set, rules in evaluation order.
    let r = e.post("network/addPublicIpBlock", &format!("<addPublicIpBlock xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId></addPublicIpBlock>"));
    assert_eq!(code(&r), "OK");
    let ip = spec.private_ipv4;
    let r = e.post("network/createNatRule", &format!("<createNatRule xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><internalIp>{ip}</internalIp></createNatRule>"));
    assert_eq!(code(&r), "OK");
    let r = e.post("network/createFirewallRule", &format!("<createFirewallRule xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><name>web</name><action>ACCEPT_DECISIVELY</action><ipVersion>IPV4</ipVersion><protocol>TCP</protocol><source><ip address=\"ANY\"/></source><destination><ip address=\"ANY\"/><port begin=\"80\" end=\"81\"/></destination><enabled>true</enabled><placement position=\"FIRST\"/></createFirewallRule>"));
    assert_eq!(code(&r), "OK", "{}", r.body);
    let (nats, rules) = rec.public.lock().unwrap().last().unwrap().clone();
    assert_eq!(nats.len(), 1);
    assert_eq!(nats[0].internal, ip);
    assert_eq!(&nats[0].external.octets()[..2], &[127, 77]);
    assert!(rules.iter().all(|r| r.id.len() > 10));
    let web = rules
        .iter()
        .position(|r| r.accept)
        .expect("the client rule is passed");
    assert_eq!(rules[web].dest_ports, Some((80, 81)));
    assert!(
        web >= 2,
        "client rules come after the IPv4 CCDEFAULT rules: {rules:?}"
    );
    // A refused sync undoes the change and answers UNEXPECTED_ERROR.
    let r = e.post("network/createNatRule", &format!("<createNatRule xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><internalIp>10.9.0.66</internalIp></createNatRule>"));
    assert_eq!(code(&r), "UNEXPECTED_ERROR");
    assert_eq!(e.stats().resources.nat_rule, 1);
    // power and delete actions
    assert_eq!(code(&e.action("powerOffServer", &sid)), "IN_PROGRESS");
    e.wait_state(&format!("server/server/{sid}"), "NORMAL");
    assert!(rec.calls().contains(&format!("stop_server {sid} false")));
    assert_eq!(code(&e.action("deleteServer", &sid)), "IN_PROGRESS");
    e.wait_state(&format!("server/server/{sid}"), "GONE");
    assert!(rec.calls().contains(&format!("delete_server {sid}")));
    e.emu.take().unwrap().shutdown();
    assert_eq!(rec.calls().last().map(String::as_str), Some("shutdown"));
}

#[test]
fn a_restart_rebuilds_the_backend_from_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut cfg = Emu::config(&state, 0.001);
    cfg.nodes = Nodes::Custom(Arc::new(Recorder::default()));
    let mut e = Emu::start_with(dir, cfg.clone());
    let d = e.domain("again");
    let v = e.vlan(&d, "lan", "10.11.0.0");
    let up = info(&e.deploy_server("up", &d, &v, true), "serverId");
    let down = info(&e.deploy_server("down", &d, &v, false), "serverId");
    e.wait_state(&format!("server/server/{up}"), "NORMAL");
    e.wait_state(&format!("server/server/{down}"), "NORMAL");
    let r = e.post("network/addPublicIpBlock", &format!("<addPublicIpBlock xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId></addPublicIpBlock>"));
    assert_eq!(code(&r), "OK");
    let r = e.post("network/createNatRule", &format!("<createNatRule xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><internalIp>10.11.0.10</internalIp></createNatRule>"));
    assert_eq!(code(&r), "OK");
    e.emu.take().unwrap().shutdown();

    let rec = Arc::new(Recorder::default());
    cfg.nodes = Nodes::Custom(rec.clone());
    let emu = Emulator::start(cfg).unwrap();
    let t0 = Instant::now();
    while !rec.calls().iter().any(|c| c.starts_with("sync_public")) {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "no replay: {:?}",
            rec.calls()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let calls = rec.calls();
    assert!(calls.contains(&format!("create_domain {d}")), "{calls:?}");
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with(&format!("create_vlan {d} {v}"))),
        "{calls:?}"
    );
    assert!(
        calls.contains(&"create_server up true".to_string()),
        "{calls:?}"
    );
    assert!(
        calls.contains(&"create_server down false".to_string()),
        "{calls:?}"
    );
    assert_eq!(
        rec.public.lock().unwrap().last().unwrap().0.len(),
        1,
        "the NAT rule is restored"
    );
    emu.shutdown();
}

#[test]
fn an_operation_waits_for_a_slow_backend() {
    let rec = Arc::new(Recorder {
        slow_create: Some(Duration::from_millis(400)),
        ..Recorder::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Emu::config(dir.path(), 0.0001); // deployServer latency ~27 ms
    cfg.nodes = Nodes::Custom(rec.clone());
    let mut e = Emu::start_with(dir, cfg);
    let d = e.domain("slow");
    let v = e.vlan(&d, "lan", "10.10.0.0");
    let t0 = Instant::now();
    let sid = info(&e.deploy_server("s", &d, &v, true), "serverId");
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(
        x(&e.get(&format!("server/server/{sid}")))["state"],
        "PENDING_ADD"
    );
    e.wait_state(&format!("server/server/{sid}"), "NORMAL");
    assert!(t0.elapsed() >= Duration::from_millis(400));
}

fn pem_to_der(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

#[test]
fn tls_serves_https_with_a_ca_in_the_state_dir() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::{
        ClientConfig, RootCertStore, pki_types::CertificateDer, pki_types::ServerName,
    };

    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Emu::config(dir.path(), 0.001);
    cfg.tls = true;
    let emu = Emulator::start(cfg).unwrap();
    assert!(emu.url().starts_with("https://127.0.0.1:"));
    let ca = std::fs::read_to_string(emu.ca_cert_path().unwrap()).unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(pem_to_der(&ca))).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let addr: std::net::SocketAddr = emu.url().trim_start_matches("https://").parse().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let text = rt.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let mut tls = connector.connect(ServerName::IpAddress(addr.ip().into()), tcp).await.expect("certificate verifies");
        let req = "GET /oec/0.9/myaccount HTTP/1.1\r\nHost: x\r\nAuthorization: Basic cGx1bWJlcnk6cGx1bWJlcnk=\r\nConnection: close\r\n\r\n";
        tls.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        let _ = tls.read_to_string(&mut out).await;
        out
    });
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("orgId"));
    emu.shutdown();
}
