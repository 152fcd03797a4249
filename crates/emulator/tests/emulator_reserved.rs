//! Integration tests of the emulator's reserved private IPv4 addresses: reserve and unreserve with
//! every refusal, the list (filters, paging, JSON), automatic allocation skipping reservations,
//! deleteVlan refused while addresses are reserved, and reservations surviving restarts.

mod emulator_support;

use std::collections::BTreeSet;

use emulator::Emulator;
use emulator::http::Response;
use emulator_support::{Emu, NS, code, info, x};
use serde_json::{Value, json};

fn reserve(e: &mut Emu, vlan: &str, ip: &str) -> Response {
    e.post(
        "network/reservePrivateIpv4Address",
        &format!("<reservePrivateIpv4Address xmlns=\"{NS}\"><vlanId>{vlan}</vlanId><ipAddress>{ip}</ipAddress><description>kept for a VIP</description></reservePrivateIpv4Address>"),
    )
}

fn unreserve(e: &mut Emu, vlan: &str, ip: &str) -> Response {
    e.post(
        "network/unreservePrivateIpv4Address",
        &format!("<unreservePrivateIpv4Address xmlns=\"{NS}\"><vlanId>{vlan}</vlanId><ipAddress>{ip}</ipAddress></unreservePrivateIpv4Address>"),
    )
}

/// Items of a list as an array (one XML item decodes as an object).
fn items(v: &Value, name: &str) -> Vec<Value> {
    match &v[name] {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        o => vec![o.clone()],
    }
}

/// The addresses reserved on `vlan`, read through the API (XML).
fn reserved(e: &mut Emu, vlan: &str) -> BTreeSet<String> {
    let r = e.get(&format!("network/reservedPrivateIpv4Address?vlanId={vlan}"));
    assert_eq!(r.status, 200, "{}", r.body);
    items(&x(&r), "ipv4")
        .iter()
        .map(|i| i["ipAddress"].as_str().unwrap().to_string())
        .collect()
}

fn private_ipv4(e: &mut Emu, server: &str) -> String {
    let s = x(&e.get(&format!("server/server/{server}")));
    s["networkInfo"]["primaryNic"]["privateIpv4"]
        .as_str()
        .unwrap_or_else(|| panic!("no privateIpv4 in {s}"))
        .to_string()
}

#[test]
fn reserve_and_unreserve_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Emu::config(dir.path(), 0.001);
    // 3 s: the VLAN deployed last stays PENDING_ADD while it is asked for a reservation.
    cfg.profile.deploy_vlan = 3000.0;
    let mut e = Emu::start_with(dir, cfg);
    let d = e.domain("res");
    let v = e.vlan(&d, "lan", "10.0.1.0");

    let r = reserve(&mut e, &v, "10.0.1.10");
    assert_eq!(code(&r), "OK", "{}", r.body);
    assert_eq!(x(&r)["operation"], "RESERVE_PRIVATE_IPV4_ADDRESS");
    assert_eq!(
        code(&reserve(&mut e, &v, "10.0.1.10")),
        "IP_ADDRESS_NOT_UNIQUE"
    );
    assert_eq!(
        code(&reserve(&mut e, "no-such-vlan", "10.0.1.11")),
        "RESOURCE_NOT_FOUND"
    );
    for ip in ["10.0.2.5", "10.0.1.0", "10.0.1.1", "10.0.1.255"] {
        assert_eq!(
            code(&reserve(&mut e, &v, ip)),
            "IP_ADDRESS_OUT_OF_RANGE",
            "{ip}"
        );
    }
    let r = reserve(&mut e, &v, "10.0.1.300");
    assert_eq!(code(&r), "INVALID_INPUT_DATA");
    assert!(r.body.contains("ipAddress"), "{}", r.body);
    let r = e.post(
        "network/reservePrivateIpv4Address",
        &format!("<reservePrivateIpv4Address xmlns=\"{NS}\"><ipAddress>10.0.1.12</ipAddress></reservePrivateIpv4Address>"),
    );
    assert_eq!(code(&r), "INVALID_INPUT_DATA");
    assert!(r.body.contains("vlanId"), "{}", r.body);
    let long = "x".repeat(300);
    let r = e.post(
        "network/reservePrivateIpv4Address",
        &format!("<reservePrivateIpv4Address xmlns=\"{NS}\"><vlanId>{v}</vlanId><ipAddress>10.0.1.12</ipAddress><description>{long}</description></reservePrivateIpv4Address>"),
    );
    assert_eq!(code(&r), "INVALID_INPUT_DATA");
    assert!(r.body.contains("description"), "{}", r.body);

    // An address a server holds cannot be reserved.
    let sid = info(&e.deploy_server("holder", &d, &v, false), "serverId");
    let held = private_ipv4(&mut e, &sid);
    assert_ne!(held, "10.0.1.10");
    assert_eq!(code(&reserve(&mut e, &v, &held)), "IP_ADDRESS_NOT_UNIQUE");

    // JSON body, without description.
    let r = e.post_json(
        "network/reservePrivateIpv4Address",
        json!({"vlanId": v, "ipAddress": "10.0.1.200"}),
    );
    assert_eq!(r.json()["responseCode"], "OK", "{}", r.body);

    // The list: XML shape, filters, paging, JSON.
    let r = e.get(&format!("network/reservedPrivateIpv4Address?vlanId={v}"));
    assert!(
        r.body.contains("<reservedPrivateIpv4Addresses"),
        "{}",
        r.body
    );
    let l = x(&r);
    assert_eq!(l["totalCount"], "2", "{}", r.body);
    let first = &items(&l, "ipv4")[0];
    assert_eq!(first["ipAddress"], "10.0.1.10");
    assert_eq!(first["vlanId"], v.as_str());
    assert_eq!(first["datacenterId"], "NA9");
    assert_eq!(first["description"], "kept for a VIP");
    let l = x(&e.get("network/reservedPrivateIpv4Address?ipAddress=10.0.1.200"));
    assert_eq!(l["totalCount"], "1");
    let l = x(&e.get("network/reservedPrivateIpv4Address?datacenterId=EU6"));
    assert_eq!(l["totalCount"], "0");
    let l = x(&e.get(&format!(
        "network/reservedPrivateIpv4Address?vlanId={v}&pageSize=1&pageNumber=2"
    )));
    assert_eq!(
        (l["pageCount"].as_str(), l["totalCount"].as_str()),
        (Some("1"), Some("2"))
    );
    assert_eq!(items(&l, "ipv4")[0]["ipAddress"], "10.0.1.200");
    let j = e.get_json(&format!("network/reservedPrivateIpv4Address?vlanId={v}"));
    assert_eq!(j["ipv4"].as_array().unwrap().len(), 2, "{j}");
    assert_eq!(j["ipv4"][1]["ipAddress"], "10.0.1.200");
    assert_eq!(e.stats().resources.reserved_private_ipv4, 2);

    // Unreserve, twice.
    let r = unreserve(&mut e, &v, "10.0.1.200");
    assert_eq!(code(&r), "OK", "{}", r.body);
    assert_eq!(x(&r)["operation"], "UNRESERVE_PRIVATE_IPV4_ADDRESS");
    assert_eq!(
        code(&unreserve(&mut e, &v, "10.0.1.200")),
        "RESOURCE_NOT_FOUND"
    );
    assert_eq!(
        code(&unreserve(&mut e, "no-such-vlan", "10.0.1.10")),
        "RESOURCE_NOT_FOUND"
    );
    assert_eq!(
        reserved(&mut e, &v),
        BTreeSet::from(["10.0.1.10".to_string()])
    );

    // A VLAN that is not NORMAL yet.
    let d2 = e.domain("res2");
    let r = e.deploy_vlan(&d2, "slow", "10.0.5.0", 24);
    let slow = info(&r, "vlanId");
    assert_eq!(code(&reserve(&mut e, &slow, "10.0.5.10")), "RESOURCE_BUSY");
    assert!(reserved(&mut e, &slow).is_empty());
}

#[test]
fn allocation_skips_reserved_addresses() {
    let mut e = Emu::start(0.001);
    let d = e.domain("alloc");
    let v = e.vlan(&d, "lan", "10.3.0.0");
    // Find the addresses the allocator hands out first: deploy, read, delete.
    let mut first = Vec::new();
    for i in 0..3 {
        let sid = info(
            &e.deploy_server(&format!("probe{i}"), &d, &v, false),
            "serverId",
        );
        first.push(private_ipv4(&mut e, &sid));
    }
    let ids: Vec<String> = items(
        &e.get_json(&format!("server/server?networkDomainId={d}")),
        "server",
    )
    .iter()
    .map(|s| s["id"].as_str().unwrap().to_string())
    .collect();
    for id in &ids {
        e.wait_state(&format!("server/server/{id}"), "NORMAL");
        assert_eq!(code(&e.action("deleteServer", id)), "IN_PROGRESS");
    }
    for id in &ids {
        e.wait_state(&format!("server/server/{id}"), "GONE");
    }
    for ip in &first {
        assert_eq!(code(&reserve(&mut e, &v, ip)), "OK");
    }
    let sid = info(&e.deploy_server("after", &d, &v, false), "serverId");
    let got = private_ipv4(&mut e, &sid);
    assert!(!first.contains(&got), "{got} is reserved ({first:?})");
    assert!(got.starts_with("10.3.0."), "{got}");
    // An explicit address equal to a reserved one is refused.
    let image = e.image("NA9", "Ubuntu 22.04 64-bit 2 CPU");
    let r = e.post(
        "server/deployServer",
        &format!("<deployServer xmlns=\"{NS}\"><name>fixed</name><imageId>{image}</imageId><start>false</start><administratorPassword>Passw0rd-Here</administratorPassword><networkInfo networkDomainId=\"{d}\"><primaryNic><privateIpv4>{}</privateIpv4></primaryNic></networkInfo></deployServer>", first[0]),
    );
    assert_eq!(code(&r), "IP_ADDRESS_NOT_UNIQUE", "{}", r.body);
    // Unreserved, the address is free again.
    assert_eq!(code(&unreserve(&mut e, &v, &first[0])), "OK");
    let r = e.post(
        "server/deployServer",
        &format!("<deployServer xmlns=\"{NS}\"><name>fixed</name><imageId>{image}</imageId><start>false</start><administratorPassword>Passw0rd-Here</administratorPassword><networkInfo networkDomainId=\"{d}\"><primaryNic><privateIpv4>{}</privateIpv4></primaryNic></networkInfo></deployServer>", first[0]),
    );
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
}

#[test]
fn delete_vlan_is_refused_while_addresses_are_reserved() {
    let mut e = Emu::start(0.001);
    let d = e.domain("dep");
    let v = e.vlan(&d, "lan", "10.4.0.0");
    assert_eq!(code(&reserve(&mut e, &v, "10.4.0.50")), "OK");
    let del = format!("<deleteVlan xmlns=\"{NS}\" id=\"{v}\"/>");
    let r = e.post("network/deleteVlan", &del);
    assert_eq!(code(&r), "HAS_DEPENDENCY", "{}", r.body);
    assert!(r.body.contains("reserved"), "{}", r.body);
    assert_eq!(code(&unreserve(&mut e, &v, "10.4.0.50")), "OK");
    assert_eq!(code(&e.post("network/deleteVlan", &del)), "IN_PROGRESS");
    e.wait_state(&format!("network/vlan/{v}"), "GONE");
    assert_eq!(e.stats().resources.reserved_private_ipv4, 0);
}

#[test]
fn reservations_survive_a_crash_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let cfg = Emu::config(&state, 0.001);
    let mut e = Emu::start_with(dir, cfg.clone());
    let d = e.domain("keep");
    let v = e.vlan(&d, "lan", "10.6.0.0");
    for ip in ["10.6.0.10", "10.6.0.77"] {
        assert_eq!(code(&reserve(&mut e, &v, ip)), "OK");
    }
    assert_eq!(code(&unreserve(&mut e, &v, "10.6.0.77")), "OK");
    assert_eq!(code(&reserve(&mut e, &v, "10.6.0.78")), "OK");
    let want = reserved(&mut e, &v);
    // A crash: only the journal remains.
    e.emu.take().unwrap().crash();
    let emu = Emulator::start(cfg.clone()).expect("restarts after a crash");
    e.c = emulator::http::Client::new(emu.url(), "plumbery", "plumbery").unwrap();
    e.emu = Some(emu);
    assert_eq!(reserved(&mut e, &v), want);
    assert_eq!(e.stats().resources.reserved_private_ipv4, 2);
    assert_eq!(
        code(&reserve(&mut e, &v, "10.6.0.10")),
        "IP_ADDRESS_NOT_UNIQUE"
    );
    // A graceful stop writes a snapshot; the next start reads it.
    e.emu.take().unwrap().shutdown();
    let emu = Emulator::start(cfg).expect("restarts after a shutdown");
    e.c = emulator::http::Client::new(emu.url(), "plumbery", "plumbery").unwrap();
    e.emu = Some(emu);
    assert_eq!(reserved(&mut e, &v), want);
    let r = e.get(&format!("network/reservedPrivateIpv4Address?vlanId={v}"));
    assert!(r.body.contains("kept for a VIP"), "{}", r.body);
}
