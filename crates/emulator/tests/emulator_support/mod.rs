//! Shared helpers of the emulator integration tests: an in-process emulator with its own temp
//! state dir, and small API helpers over the crate's HTTP client. The root package's tests that
//! also need the `plumbery` binary or the cloud client include this file by `#[path]`.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use emulator::http::{Client, Response};
use emulator::{Emulator, EmulatorConfig, RunningEmulator};
use serde_json::Value;

pub const NS: &str = "urn:didata.com:api:cloud:types";

/// An emulator under test.
pub struct Emu {
    pub emu: Option<RunningEmulator>,
    pub c: Client,
    pub base: String,
    pub dir: tempfile::TempDir,
}

/// XML body -> JSON by the API's mapping rule (root element dropped).
pub fn x(resp: &Response) -> Value {
    resp.xml()
        .unwrap_or_else(|e| panic!("not XML ({e}): {}", resp.body))
}

/// The responseCode of an envelope (XML or JSON).
pub fn code(resp: &Response) -> String {
    let v = if resp.body.trim_start().starts_with('{') {
        resp.json()
    } else {
        x(resp)
    };
    v["responseCode"].as_str().unwrap_or_default().to_string()
}

/// The value of `info name=...`.
pub fn info(resp: &Response, name: &str) -> String {
    let v = if resp.body.trim_start().starts_with('{') {
        resp.json()
    } else {
        x(resp)
    };
    let infos = match &v["info"] {
        Value::Array(a) => a.clone(),
        Value::Object(_) => vec![v["info"].clone()],
        _ => vec![],
    };
    infos
        .iter()
        .find(|i| i["name"] == name)
        .and_then(|i| i["value"].as_str())
        .unwrap_or_else(|| panic!("no info {name} in {}", resp.body))
        .to_string()
}

impl Emu {
    pub fn config(dir: &std::path::Path, scale: f64) -> EmulatorConfig {
        let mut cfg = EmulatorConfig::new(dir);
        cfg.time_scale = scale;
        cfg
    }

    pub fn start(scale: f64) -> Emu {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Self::config(dir.path(), scale);
        Self::start_with(dir, cfg)
    }

    pub fn start_with(dir: tempfile::TempDir, cfg: EmulatorConfig) -> Emu {
        let emu = Emulator::start(cfg).expect("emulator starts");
        let c = Client::new(emu.url(), "plumbery", "plumbery").unwrap();
        let base = format!("/caas/2.4/{}", emu.org_id());
        Emu {
            emu: Some(emu),
            c,
            base,
            dir,
        }
    }

    pub fn emu(&self) -> &RunningEmulator {
        self.emu.as_ref().unwrap()
    }

    pub fn post(&mut self, op: &str, xml: &str) -> Response {
        let path = format!("{}/{op}", self.base);
        self.c.post_xml(&path, xml).unwrap()
    }

    pub fn post_json(&mut self, op: &str, body: Value) -> Response {
        let path = format!("{}/{op}", self.base);
        self.c.post_json(&path, &body).unwrap()
    }

    pub fn get(&mut self, path: &str) -> Response {
        let p = format!("{}/{path}", self.base);
        self.c.get(&p, false).unwrap()
    }

    pub fn get_json(&mut self, path: &str) -> Value {
        let p = format!("{}/{path}", self.base);
        let r = self.c.get(&p, true).unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }

    /// Polls `GET path` until its `state` is `state` (or, for "GONE", RESOURCE_NOT_FOUND).
    pub fn wait_state(&mut self, path: &str, state: &str) -> Value {
        let t0 = Instant::now();
        loop {
            let r = self.get(path);
            if state == "GONE" && r.status == 400 && code(&r) == "RESOURCE_NOT_FOUND" {
                return Value::Null;
            }
            if r.status == 200 {
                let v = x(&r);
                if v["state"] == state {
                    return v;
                }
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "{path} never reached {state}: {}",
                r.body
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn deploy_domain(&mut self, name: &str, dc: &str) -> Response {
        self.post(
            "network/deployNetworkDomain",
            &format!("<deployNetworkDomain xmlns=\"{NS}\"><datacenterId>{dc}</datacenterId><name>{name}</name><description>d</description><type>ESSENTIALS</type></deployNetworkDomain>"),
        )
    }

    /// A NORMAL domain.
    pub fn domain(&mut self, name: &str) -> String {
        let r = self.deploy_domain(name, "NA9");
        assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
        let id = info(&r, "networkDomainId");
        self.wait_state(&format!("network/networkDomain/{id}"), "NORMAL");
        id
    }

    pub fn deploy_vlan(&mut self, domain: &str, name: &str, base: &str, prefix: u8) -> Response {
        self.post(
            "network/deployVlan",
            &format!("<deployVlan xmlns=\"{NS}\"><networkDomainId>{domain}</networkDomainId><name>{name}</name><description></description><privateIpv4BaseAddress>{base}</privateIpv4BaseAddress><privateIpv4PrefixSize>{prefix}</privateIpv4PrefixSize></deployVlan>"),
        )
    }

    /// A NORMAL VLAN.
    pub fn vlan(&mut self, domain: &str, name: &str, base: &str) -> String {
        let r = self.deploy_vlan(domain, name, base, 24);
        assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
        let id = info(&r, "vlanId");
        self.wait_state(&format!("network/vlan/{id}"), "NORMAL");
        id
    }

    /// The id of an image by name in a datacenter.
    pub fn image(&mut self, dc: &str, name: &str) -> String {
        let v = self.get_json(&format!(
            "image/osImage?datacenterId={dc}&name={}",
            name.replace(' ', "%20")
        ));
        v["osImage"][0]["id"].as_str().unwrap().to_string()
    }

    pub fn deploy_server(&mut self, name: &str, domain: &str, vlan: &str, start: bool) -> Response {
        let image = self.image("NA9", "Ubuntu 22.04 64-bit 2 CPU");
        self.post(
            "server/deployServer",
            &format!("<deployServer xmlns=\"{NS}\"><name>{name}</name><description/><imageId>{image}</imageId><start>{start}</start><administratorPassword>Sup3r-S3cret-Pw</administratorPassword><networkInfo networkDomainId=\"{domain}\"><primaryNic><vlanId>{vlan}</vlanId></primaryNic></networkInfo></deployServer>"),
        )
    }

    pub fn action(&mut self, op: &str, id: &str) -> Response {
        self.post(
            &format!("server/{op}"),
            &format!("<{op} xmlns=\"{NS}\" id=\"{id}\"/>"),
        )
    }

    /// The emulator's stats document, typed.
    pub fn stats(&self) -> emulator::Stats {
        self.emu().stats()
    }
}
