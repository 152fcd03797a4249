//! Integration tests of the emulator's secondary NICs: addNic (PENDING_CHANGE, then NORMAL with the
//! NIC), its input rules (one of vlanId/privateIpv4, same domain, one NIC per VLAN, free address, at
//! most 10 NICs, busy server), removeNic, deleteVlan refused while a NIC is on the VLAN, deleteServer
//! taking its NICs along, and an addNic journaled across a crash.

mod emulator_support;

use std::time::{Duration, Instant};

use emulator::Emulator;
use emulator::http::{Client, Response};
use emulator_support::{Emu, NS, code, info, x};
use serde_json::{Value, json};

/// The additional NICs of a server as (id, vlanId, privateIpv4, state).
fn extra(s: &Value) -> Vec<(String, String, String, String)> {
    let ni = &s["networkInfo"]["additionalNic"];
    let list = match ni {
        Value::Array(a) => a.clone(),
        Value::Object(_) => vec![ni.clone()],
        _ => vec![],
    };
    list.iter()
        .map(|n| {
            let f = |k: &str| n[k].as_str().unwrap_or_default().to_string();
            (f("id"), f("vlanId"), f("privateIpv4"), f("state"))
        })
        .collect()
}

fn add_nic(e: &mut Emu, server: &str, nic: &str) -> Response {
    e.post(
        "server/addNic",
        &format!("<addNic xmlns=\"{NS}\"><serverId>{server}</serverId><nic>{nic}</nic></addNic>"),
    )
}

fn remove_nic(e: &mut Emu, nic: &str) -> Response {
    e.post(
        "server/removeNic",
        &format!("<removeNic xmlns=\"{NS}\" id=\"{nic}\"/>"),
    )
}

/// A NORMAL stopped server on `vlan`.
fn server(e: &mut Emu, name: &str, domain: &str, vlan: &str) -> String {
    let r = e.deploy_server(name, domain, vlan, false);
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    let id = info(&r, "serverId");
    e.wait_state(&format!("server/server/{id}"), "NORMAL");
    id
}

/// An emulator at time scale 0.001 whose addNic lasts `add_ms` and removeNic `remove_ms` (real
/// milliseconds). Where a test acts while a change is pending, the window is 2 s: generous on a
/// loaded machine.
fn emu_with(add_ms: f64, remove_ms: f64) -> Emu {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Emu::config(dir.path(), 0.001);
    cfg.profile.add_nic = add_ms;
    cfg.profile.remove_nic = remove_ms;
    Emu::start_with(dir, cfg)
}

fn emu(ms: f64) -> Emu {
    emu_with(ms, ms)
}

#[test]
fn add_nic_is_pending_then_the_server_has_the_nic() {
    let mut e = emu(2000.0);
    let d = e.domain("nics");
    let front = e.vlan(&d, "front", "10.3.0.0");
    let back = e.vlan(&d, "back", "10.4.0.0");
    let id = server(&mut e, "web", &d, &front);
    let path = format!("server/server/{id}");

    let r = add_nic(&mut e, &id, &format!("<vlanId>{back}</vlanId>"));
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    assert!(
        r.body.contains("<operation>ADD_NIC</operation>"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("'back'"),
        "the message names the VLAN: {}",
        r.body
    );
    let nic = info(&r, "nicId");
    let s = x(&e.get(&path));
    assert_eq!(s["state"], "PENDING_CHANGE");
    assert_eq!(s["progress"]["action"], "ADD_NIC");
    assert!(
        extra(&s).is_empty(),
        "the NIC appears once the change completes"
    );
    // Busy while pending.
    let r = add_nic(&mut e, &id, &format!("<vlanId>{back}</vlanId>"));
    assert_eq!(code(&r), "RESOURCE_BUSY", "{}", r.body);

    let s = e.wait_state(&path, "NORMAL");
    let nics = extra(&s);
    assert_eq!(nics.len(), 1, "{s}");
    assert_eq!(nics[0].0, nic);
    assert_eq!(nics[0].1, back);
    assert!(nics[0].2.starts_with("10.4.0."), "{:?}", nics[0]);
    assert_eq!(nics[0].3, "NORMAL");
    assert_eq!(s["networkInfo"]["additionalNic"]["vlanName"], "back");
    assert_eq!(s["started"], "false", "a NIC change keeps the power state");

    // A second NIC on the same VLAN, by VLAN or by address: refused.
    let r = add_nic(&mut e, &id, &format!("<vlanId>{back}</vlanId>"));
    assert_eq!(code(&r), "INVALID_INPUT_DATA", "{}", r.body);
    let r = add_nic(&mut e, &id, "<privateIpv4>10.4.0.40</privateIpv4>");
    assert_eq!(code(&r), "INVALID_INPUT_DATA", "{}", r.body);
    // Nor on its primary VLAN.
    let r = add_nic(&mut e, &id, &format!("<vlanId>{front}</vlanId>"));
    assert_eq!(code(&r), "INVALID_INPUT_DATA", "{}", r.body);
    assert_eq!(extra(&x(&e.get(&path))).len(), 1, "refusals change nothing");
}

#[test]
fn add_nic_input_rules() {
    let mut e = emu(20.0);
    let d = e.domain("rules");
    let front = e.vlan(&d, "front", "10.3.0.0");
    let back = e.vlan(&d, "back", "10.4.0.0");
    let other_domain = e.domain("elsewhere");
    let foreign = e.vlan(&other_domain, "foreign", "10.5.0.0");
    let web = server(&mut e, "web", &d, &front);
    let db = server(&mut e, "db", &d, &back);
    let db_ip =
        x(&e.get(&format!("server/server/{db}")))["networkInfo"]["primaryNic"]["privateIpv4"]
            .as_str()
            .unwrap()
            .to_string();

    for (nic, want) in [
        (
            format!("<vlanId>{back}</vlanId><privateIpv4>10.4.0.30</privateIpv4>"),
            "INVALID_INPUT_DATA",
        ),
        (String::new(), "INVALID_INPUT_DATA"),
        (format!("<vlanId>{foreign}</vlanId>"), "INVALID_INPUT_DATA"),
        (
            "<vlanId>no-such-vlan</vlanId>".to_string(),
            "RESOURCE_NOT_FOUND",
        ),
        (
            format!("<privateIpv4>{db_ip}</privateIpv4>"),
            "IP_ADDRESS_NOT_UNIQUE",
        ),
        (
            "<privateIpv4>10.9.9.9</privateIpv4>".to_string(),
            "IP_ADDRESS_OUT_OF_RANGE",
        ),
        (
            format!("<vlanId>{back}</vlanId><networkAdapter>TURBO</networkAdapter>"),
            "INVALID_INPUT_DATA",
        ),
    ] {
        let r = add_nic(&mut e, &web, &nic);
        assert_eq!(code(&r), want, "{nic}: {}", r.body);
    }
    let r = add_nic(
        &mut e,
        "no-such-server",
        &format!("<vlanId>{back}</vlanId>"),
    );
    assert_eq!(code(&r), "RESOURCE_NOT_FOUND", "{}", r.body);
    assert!(extra(&x(&e.get(&format!("server/server/{web}")))).is_empty());

    // A fixed address, in the JSON form of the request (as the JSON sample sends it).
    let r = e.post_json(
        "server/addNic",
        json!({"serverId": web, "nic": {"privateIpv4": "10.4.0.20", "networkAdapter": "E1000"}}),
    );
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    let s = e.wait_state(&format!("server/server/{web}"), "NORMAL");
    assert_eq!(extra(&s)[0].2, "10.4.0.20");
    assert_eq!(
        x(&e.get(&format!("server/server/{web}")))["networkInfo"]["additionalNic"]["vlanId"],
        back.as_str()
    );
}

#[test]
fn a_pending_nic_holds_its_address_and_its_vlan() {
    let mut e = emu(2000.0);
    let d = e.domain("hold");
    let front = e.vlan(&d, "front", "10.3.0.0");
    let back = e.vlan(&d, "back", "10.4.0.0");
    let a = server(&mut e, "a", &d, &front);
    let b = server(&mut e, "b", &d, &front);
    let r = add_nic(&mut e, &a, "<privateIpv4>10.4.0.50</privateIpv4>");
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    // While a's NIC is being added its address is taken and its VLAN cannot go.
    let r = add_nic(&mut e, &b, "<privateIpv4>10.4.0.50</privateIpv4>");
    assert_eq!(code(&r), "IP_ADDRESS_NOT_UNIQUE", "{}", r.body);
    let r = e.post(
        "network/deleteVlan",
        &format!("<deleteVlan xmlns=\"{NS}\" id=\"{back}\"/>"),
    );
    assert_eq!(code(&r), "HAS_DEPENDENCY", "{}", r.body);
    let r = add_nic(&mut e, &b, &format!("<vlanId>{back}</vlanId>"));
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    let sa = e.wait_state(&format!("server/server/{a}"), "NORMAL");
    let sb = e.wait_state(&format!("server/server/{b}"), "NORMAL");
    assert_eq!(extra(&sa)[0].2, "10.4.0.50");
    assert_ne!(extra(&sb)[0].2, "10.4.0.50");
}

#[test]
fn at_most_ten_nics() {
    let mut e = emu(1.0);
    let d = e.domain("many");
    let vlans: Vec<String> = (0..11)
        .map(|i| e.vlan(&d, &format!("net{i}"), &format!("10.{}.0.0", 20 + i)))
        .collect();
    let id = server(&mut e, "many", &d, &vlans[0]);
    let path = format!("server/server/{id}");
    for v in &vlans[1..10] {
        let r = add_nic(&mut e, &id, &format!("<vlanId>{v}</vlanId>"));
        assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
        e.wait_state(&path, "NORMAL");
    }
    assert_eq!(extra(&x(&e.get(&path))).len(), 9);
    let r = add_nic(&mut e, &id, &format!("<vlanId>{}</vlanId>", vlans[10]));
    assert_eq!(code(&r), "INVALID_INPUT_DATA", "{}", r.body);
    assert!(r.body.contains("10 NICs"), "{}", r.body);
}

#[test]
fn remove_nic_and_what_depends_on_nics() {
    let mut e = emu_with(20.0, 2000.0);
    let d = e.domain("rm");
    let front = e.vlan(&d, "front", "10.3.0.0");
    let back = e.vlan(&d, "back", "10.4.0.0");
    let id = server(&mut e, "web", &d, &front);
    let path = format!("server/server/{id}");
    let r = add_nic(&mut e, &id, &format!("<vlanId>{back}</vlanId>"));
    let nic = info(&r, "nicId");
    let s = e.wait_state(&path, "NORMAL");
    let primary = s["networkInfo"]["primaryNic"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The VLAN holds only this additional NIC: it cannot be deleted.
    let delete_vlan = |e: &mut Emu| {
        e.post(
            "network/deleteVlan",
            &format!("<deleteVlan xmlns=\"{NS}\" id=\"{back}\"/>"),
        )
    };
    let r = delete_vlan(&mut e);
    assert_eq!(code(&r), "HAS_DEPENDENCY", "{}", r.body);

    let r = remove_nic(&mut e, &primary);
    assert_eq!(code(&r), "INVALID_INPUT_DATA", "{}", r.body);
    assert!(r.body.contains("primary"), "{}", r.body);
    let r = remove_nic(&mut e, "no-such-nic");
    assert_eq!(code(&r), "RESOURCE_NOT_FOUND", "{}", r.body);

    let r = remove_nic(&mut e, &nic);
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    assert!(
        r.body.contains("<operation>REMOVE_NIC</operation>"),
        "{}",
        r.body
    );
    let s = x(&e.get(&path));
    assert_eq!(s["state"], "PENDING_CHANGE");
    assert_eq!(s["progress"]["action"], "REMOVE_NIC");
    assert_eq!(extra(&s)[0].3, "PENDING_DELETE");
    let r = remove_nic(&mut e, &nic);
    assert_eq!(code(&r), "RESOURCE_BUSY", "{}", r.body);
    let s = e.wait_state(&path, "NORMAL");
    assert!(extra(&s).is_empty(), "{s}");
    let r = remove_nic(&mut e, &nic);
    assert_eq!(code(&r), "RESOURCE_NOT_FOUND", "{}", r.body);

    // deleteServer takes its additional NICs along: the VLAN is free afterwards.
    let r = add_nic(&mut e, &id, &format!("<vlanId>{back}</vlanId>"));
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    e.wait_state(&path, "NORMAL");
    assert_eq!(code(&delete_vlan(&mut e)), "HAS_DEPENDENCY");
    let r = e.action("deleteServer", &id);
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    e.wait_state(&path, "GONE");
    let r = delete_vlan(&mut e);
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    e.wait_state(&format!("network/vlan/{back}"), "GONE");
}

#[test]
fn a_pending_add_nic_survives_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut cfg = Emu::config(&state, 0.001);
    cfg.profile.add_nic = 500.0; // 0.5 s
    let mut e = Emu::start_with(dir, cfg.clone());
    let d = e.domain("crash");
    let front = e.vlan(&d, "front", "10.3.0.0");
    let back = e.vlan(&d, "back", "10.4.0.0");
    let id = server(&mut e, "web", &d, &front);
    let r = add_nic(&mut e, &id, "<privateIpv4>10.4.0.33</privateIpv4>");
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    let nic = info(&r, "nicId");
    let org = e.emu().org_id();
    e.emu.take().unwrap().crash();

    let emu = Emulator::start(cfg).expect("restarts on the same state dir");
    let mut c = Client::new(emu.url(), "plumbery", "plumbery").unwrap();
    let url = format!("/caas/2.4/{org}/server/server/{id}");
    let t0 = Instant::now();
    loop {
        let s = x(&c.get(&url, false).unwrap());
        if s["state"] == "NORMAL" {
            assert_eq!(
                extra(&s),
                vec![(
                    nic.clone(),
                    back.clone(),
                    "10.4.0.33".into(),
                    "NORMAL".into()
                )]
            );
            break;
        }
        assert_eq!(s["progress"]["action"], "ADD_NIC", "{s}");
        assert!(t0.elapsed() < Duration::from_secs(20), "never completed");
        std::thread::sleep(Duration::from_millis(10));
    }
    emu.shutdown();
}
