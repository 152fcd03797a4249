//! Load balancers (`networkDomainVip/...`): every operation answers in the shape of its libcloud
//! fixture (root element, namespace, element and attribute names), and the rules hold: names
//! unique in the domain, HAS_DEPENDENCY for a pool with members or a listener, a node with
//! members, a VLAN or public IP block holding a listener's address, a domain with LB resources;
//! listeners take a free public address (never a NAT rule's) or a VLAN address.

mod emulator_support;
#[path = "emulator_support/shape.rs"]
mod shape;

use emulator::http::Response;
use emulator_support::{Emu, NS, code, info, x};
use shape::shape;

const LB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/libcloud-fixtures-lb/"
);

fn post(e: &mut Emu, op: &str, inner: &str, id: Option<&str>) -> Response {
    let id = id.map(|i| format!(" id=\"{i}\"")).unwrap_or_default();
    e.post(
        &format!("networkDomainVip/{op}"),
        &format!("<{op} xmlns=\"{NS}\"{id}>{inner}</{op}>"),
    )
}

/// A domain with a VLAN 10.0.0.0/24 and one public IP block; returns (domain, vlan, block base).
fn setup(e: &mut Emu) -> (String, String, String) {
    let d = e.domain("lb");
    let v = e.vlan(&d, "v", "10.0.0.0");
    let r = e.post(
        "network/addPublicIpBlock",
        &format!("<addPublicIpBlock xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId></addPublicIpBlock>"),
    );
    assert_eq!(code(&r), "OK", "{}", r.body);
    let b = info(&r, "ipBlockId");
    let base = x(&e.get(&format!("network/publicIpBlock/{b}")))["baseIp"]
        .as_str()
        .unwrap()
        .to_string();
    (d, v, base)
}

fn pool_xml(d: &str, name: &str) -> String {
    format!(
        "<networkDomainId>{d}</networkDomainId><name>{name}</name><description>p</description><loadBalanceMethod>ROUND_ROBIN</loadBalanceMethod><healthMonitorId>01683574-d487-11e4-811f-005056806999</healthMonitorId><healthMonitorId>0168546c-d487-11e4-811f-005056806999</healthMonitorId><serviceDownAction>RESELECT</serviceDownAction><slowRampTime>10</slowRampTime>"
    )
}

fn node_xml(d: &str, name: &str, ip: &str) -> String {
    format!(
        "<networkDomainId>{d}</networkDomainId><name>{name}</name><description>n</description><ipv4Address>{ip}</ipv4Address><status>ENABLED</status><healthMonitorId>0168b83a-d487-11e4-811f-005056806999</healthMonitorId><connectionLimit>10000</connectionLimit><connectionRateLimit>2000</connectionRateLimit>"
    )
}

fn listener_xml(
    d: &str,
    name: &str,
    ip: Option<&str>,
    port: u16,
    pool: &str,
    clone: &str,
) -> String {
    let ip = ip
        .map(|i| format!("<listenerIpAddress>{i}</listenerIpAddress>"))
        .unwrap_or_default();
    format!(
        "<networkDomainId>{d}</networkDomainId><name>{name}</name><description>l</description><type>PERFORMANCE_LAYER_4</type><protocol>HTTP</protocol>{ip}<port>{port}</port><enabled>true</enabled><connectionLimit>10000</connectionLimit><connectionRateLimit>400</connectionRateLimit><sourcePortPreservation>PRESERVE</sourcePortPreservation><poolId>{pool}</poolId><clientClonePoolId>{clone}</clientClonePoolId><persistenceProfileId>a34ca25c-f3db-11e4-b010-005056806999</persistenceProfileId><fallbackPersistenceProfileId>a34ca3f6-f3db-11e4-b010-005056806999</fallbackPersistenceProfileId><iruleId>2b20abd9-ffdc-11e4-b010-005056806999</iruleId><iruleId>2b20e790-ffdc-11e4-b010-005056806999</iruleId>"
    )
}

#[test]
fn every_lb_operation_answers_in_the_fixture_shape() {
    let mut e = Emu::start(0.001);
    let (d, _v, base) = setup(&mut e);
    let mut p = Vec::new();
    let r = post(&mut e, "createPool", &pool_xml(&d, "p1"), None);
    p.extend(shape(LB, "networkDomainVip_createPool.xml", &r, &[]));
    let pool = info(&r, "poolId");
    let pool2 = info(
        &post(&mut e, "createPool", &pool_xml(&d, "p2"), None),
        "poolId",
    );
    p.extend(shape(
        LB,
        "networkDomainVip_pool.xml",
        &e.get("networkDomainVip/pool"),
        &[],
    ));
    let r = e.get(&format!("networkDomainVip/pool/{pool}"));
    p.extend(shape(
        LB,
        "networkDomainVip_pool_4d360b1f_bc2c_4ab7_9884_1f03ba2768f7.xml",
        &r,
        &[],
    ));
    let r = post(&mut e, "createNode", &node_xml(&d, "n1", "10.0.0.21"), None);
    p.extend(shape(LB, "networkDomainVip_createNode.xml", &r, &[]));
    let node = info(&r, "nodeId");
    let r = e.get(&format!("networkDomainVip/node?networkDomainId={d}"));
    p.extend(shape(LB, "networkDomainVip_node.xml", &r, &[]));
    let r = e.get(&format!("networkDomainVip/node/{node}"));
    p.extend(shape(
        LB,
        "networkDomainVip_node_34de6ed6_46a4_4dae_a753_2f8d3840c6f9.xml",
        &r,
        &[],
    ));
    let inner = format!(
        "<poolId>{pool}</poolId><nodeId>{node}</nodeId><port>9889</port><status>ENABLED</status>"
    );
    let r = post(&mut e, "addPoolMember", &inner, None);
    p.extend(shape(LB, "networkDomainVip_addPoolMember.xml", &r, &[]));
    assert_eq!(info(&r, "nodeName"), "n1");
    let member = info(&r, "poolMemberId");
    let r = e.get(&format!("networkDomainVip/poolMember?poolId={pool}"));
    p.extend(shape(LB, "networkDomainVip_poolMember.xml", &r, &[]));
    let r = e.get(&format!("networkDomainVip/poolMember/{member}"));
    p.extend(shape(
        LB,
        "networkDomainVip_poolMember_3dd806a2_c2c8_4c0c_9a4f_5219ea9266c0.xml",
        &r,
        &[],
    ));
    let r = post(
        &mut e,
        "createVirtualListener",
        &listener_xml(&d, "l1", None, 8899, &pool, &pool2),
        None,
    );
    p.extend(shape(
        LB,
        "networkDomainVip_createVirtualListener.xml",
        &r,
        &[],
    ));
    let listener = info(&r, "virtualListenerId");
    assert_eq!(
        info(&r, "listenerIpAddress"),
        base,
        "the first free public address"
    );
    let r = e.get("networkDomainVip/virtualListener");
    p.extend(shape(LB, "networkDomainVip_virtualListener.xml", &r, &[]));
    let r = e.get(&format!("networkDomainVip/virtualListener/{listener}"));
    p.extend(shape(
        LB,
        "networkDomainVip_virtualListener_6115469d_a8bb_445b_bb23_d23b5283f2b9.xml",
        &r,
        &[],
    ));
    for (what, fx) in [
        (
            "defaultHealthMonitor",
            "networkDomainVip_defaultHealthMonitor.xml",
        ),
        (
            "defaultPersistenceProfile",
            "networkDomainVip_defaultPersistenceProfile.xml",
        ),
        ("defaultIrule", "networkDomainVip_defaultIrule.xml"),
    ] {
        let r = e.get(&format!("networkDomainVip/{what}?networkDomainId={d}"));
        p.extend(shape(LB, fx, &r, &[]));
    }
    // The same documents in JSON (the API's mapping rule): lists as arrays named by the item.
    for (path, item) in [
        ("networkDomainVip/pool", "pool"),
        ("networkDomainVip/node", "node"),
        ("networkDomainVip/poolMember", "poolMember"),
        ("networkDomainVip/virtualListener", "virtualListener"),
        (
            &format!("networkDomainVip/defaultIrule?networkDomainId={d}"),
            "defaultIrule",
        ),
    ] {
        let j = e.get_json(path);
        assert!(
            j[item][0]["id"].is_string() || j[item][0]["irule"]["id"].is_string(),
            "{path}: {j}"
        );
    }
    let j = e.get_json(&format!("networkDomainVip/virtualListener/{listener}"));
    assert_eq!(j["irule"][1]["name"], "CCDEFAULT.Ips", "{j}");
    assert_eq!(
        j["pool"]["healthMonitor"][0]["name"], "CCDEFAULT.Http",
        "{j}"
    );
    assert_eq!(j["port"], 8899, "{j}");
    let inner = "<loadBalanceMethod>LEAST_CONNECTIONS_MEMBER</loadBalanceMethod><serviceDownAction>NONE</serviceDownAction><slowRampTime>5</slowRampTime>";
    let r = post(&mut e, "editPool", inner, Some(&pool));
    p.extend(shape(LB, "networkDomainVip_editPool.xml", &r, &[]));
    let r = post(
        &mut e,
        "editNode",
        "<status>DISABLED</status><connectionLimit>50</connectionLimit>",
        Some(&node),
    );
    p.extend(shape(LB, "networkDomainVip_editNode.xml", &r, &[]));
    let r = post(
        &mut e,
        "editPoolMember",
        "<status>DISABLED</status>",
        Some(&member),
    );
    p.extend(shape(LB, "networkDomainVip_editPoolMember.xml", &r, &[]));
    let v = x(&e.get(&format!("networkDomainVip/pool/{pool}")));
    assert_eq!(v["loadBalanceMethod"], "LEAST_CONNECTIONS_MEMBER");
    assert_eq!(
        x(&e.get(&format!("networkDomainVip/node/{node}")))["status"],
        "DISABLED"
    );
    let r = post(&mut e, "deleteVirtualListener", "", Some(&listener));
    p.extend(shape(
        LB,
        "networkDomainVip_deleteVirtualListener.xml",
        &r,
        &[],
    ));
    let r = post(&mut e, "removePoolMember", "", Some(&member));
    p.extend(shape(LB, "networkDomainVip_removePoolMember.xml", &r, &[]));
    let r = post(&mut e, "deleteNode", "", Some(&node));
    p.extend(shape(LB, "networkDomainVip_deleteNode.xml", &r, &[]));
    let r = post(&mut e, "deletePool", "", Some(&pool));
    p.extend(shape(LB, "networkDomainVip_deletePool.xml", &r, &[]));
    assert!(p.is_empty(), "shape problems:\n{}", p.join("\n"));
    // JSON works too (the API's mapping rule).
    let j = e.get_json(&format!("networkDomainVip/pool?networkDomainId={d}"));
    assert_eq!(j["pool"][0]["healthMonitor"][1]["name"], "CCDEFAULT.Https");
}

#[test]
fn lb_rules_hold() {
    let mut e = Emu::start(0.001);
    let (d, v, base) = setup(&mut e);
    let pool = info(
        &post(&mut e, "createPool", &pool_xml(&d, "p1"), None),
        "poolId",
    );
    let r = post(&mut e, "createPool", &pool_xml(&d, "p1"), None);
    assert_eq!(code(&r), "NAME_NOT_UNIQUE", "{}", r.body);
    let r = post(
        &mut e,
        "createPool",
        &pool_xml(&d, "p3").replace("ROUND_ROBIN", "RANDOM"),
        None,
    );
    assert_eq!(code(&r), "INVALID_INPUT_DATA", "{}", r.body);
    let node = info(
        &post(&mut e, "createNode", &node_xml(&d, "n1", "10.0.0.21"), None),
        "nodeId",
    );
    let r = post(&mut e, "createNode", &node_xml(&d, "n2", "10.0.0.21"), None);
    assert_eq!(code(&r), "IP_ADDRESS_NOT_UNIQUE", "{}", r.body);
    let inner = format!(
        "<poolId>{pool}</poolId><nodeId>{node}</nodeId><port>80</port><status>ENABLED</status>"
    );
    let member = info(&post(&mut e, "addPoolMember", &inner, None), "poolMemberId");
    let r = post(&mut e, "addPoolMember", &inner, None);
    assert_eq!(code(&r), "NAME_NOT_UNIQUE", "{}", r.body);
    let r = post(&mut e, "deletePool", "", Some(&pool));
    assert_eq!(code(&r), "HAS_DEPENDENCY", "pool with members: {}", r.body);
    let r = post(&mut e, "deleteNode", "", Some(&node));
    assert_eq!(code(&r), "HAS_DEPENDENCY", "node with members: {}", r.body);
    // A public listener on the block's first address; a NAT rule then takes the second.
    let lx = listener_xml(&d, "pub", Some(&base), 80, &pool, &pool)
        .replace("<clientClonePoolId>", "<x>")
        .replace("</clientClonePoolId>", "</x>");
    let lx = lx.replace(&format!("<x>{pool}</x>"), "");
    let r = post(&mut e, "createVirtualListener", &lx, None);
    assert_eq!(code(&r), "OK", "{}", r.body);
    let public = info(&r, "virtualListenerId");
    let r = post(
        &mut e,
        "createVirtualListener",
        &lx.replace("<name>pub</name>", "<name>pub2</name>"),
        None,
    );
    assert_eq!(
        code(&r),
        "IP_ADDRESS_NOT_UNIQUE",
        "same address and port: {}",
        r.body
    );
    let r = e.post("network/createNatRule", &format!("<createNatRule xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><internalIp>10.0.0.21</internalIp></createNatRule>"));
    assert_eq!(code(&r), "OK", "{}", r.body);
    let nat = info(&r, "natRuleId");
    let ext = x(&e.get(&format!("network/natRule/{nat}")))["externalIp"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(ext, base, "NAT never takes a listener's address");
    // No public address left: a listener without an address is refused.
    let r = post(
        &mut e,
        "createVirtualListener",
        &listener_xml(&d, "none", None, 81, &pool, &pool),
        None,
    );
    assert_eq!(code(&r), "NO_IP_ADDRESS_AVAILABLE", "{}", r.body);
    // A private listener on a VLAN address blocks the VLAN's deletion.
    let r = post(
        &mut e,
        "createVirtualListener",
        &listener_xml(&d, "priv", Some("10.0.0.99"), 80, &pool, &pool),
        None,
    );
    assert_eq!(code(&r), "OK", "{}", r.body);
    let private = info(&r, "virtualListenerId");
    let r = post(
        &mut e,
        "createVirtualListener",
        &listener_xml(&d, "out", Some("192.168.9.9"), 80, &pool, &pool),
        None,
    );
    assert_eq!(code(&r), "IP_ADDRESS_OUT_OF_RANGE", "{}", r.body);
    let r = e.post(
        "network/deleteVlan",
        &format!("<deleteVlan xmlns=\"{NS}\" id=\"{v}\"/>"),
    );
    assert_eq!(
        code(&r),
        "HAS_DEPENDENCY",
        "VLAN holding a listener address: {}",
        r.body
    );
    let block =
        x(&e.get(&format!("network/publicIpBlock?networkDomainId={d}")))["publicIpBlock"]["id"]
            .as_str()
            .unwrap()
            .to_string();
    e.post(
        "network/deleteNatRule",
        &format!("<deleteNatRule xmlns=\"{NS}\" id=\"{nat}\"/>"),
    );
    let r = e.post(
        "network/removePublicIpBlock",
        &format!("<removePublicIpBlock xmlns=\"{NS}\" id=\"{block}\"/>"),
    );
    assert_eq!(
        code(&r),
        "HAS_DEPENDENCY",
        "block holding a listener address: {}",
        r.body
    );
    let r = e.post(
        "network/deleteNetworkDomain",
        &format!("<deleteNetworkDomain xmlns=\"{NS}\" id=\"{d}\"/>"),
    );
    assert_eq!(code(&r), "HAS_DEPENDENCY", "{}", r.body);
    assert!(
        x(&r)["message"]
            .as_str()
            .unwrap()
            .contains("virtual listener"),
        "{}",
        r.body
    );
    let r = post(&mut e, "deletePool", "", Some(&pool));
    assert_eq!(
        code(&r),
        "HAS_DEPENDENCY",
        "pool used by listeners: {}",
        r.body
    );
    // Torn down in order, everything goes.
    for l in [&public, &private] {
        assert_eq!(
            code(&post(&mut e, "deleteVirtualListener", "", Some(l))),
            "OK"
        );
    }
    assert_eq!(
        code(&post(&mut e, "removePoolMember", "", Some(&member))),
        "OK"
    );
    assert_eq!(code(&post(&mut e, "deleteNode", "", Some(&node))), "OK");
    assert_eq!(code(&post(&mut e, "deletePool", "", Some(&pool))), "OK");
    let r = post(&mut e, "deletePool", "", Some(&pool));
    assert_eq!(code(&r), "RESOURCE_NOT_FOUND", "{}", r.body);
    assert_eq!(e.stats().services.total(), 0, "{}", e.stats().services);
    let r = e.post(
        "network/removePublicIpBlock",
        &format!("<removePublicIpBlock xmlns=\"{NS}\" id=\"{block}\"/>"),
    );
    assert_eq!(code(&r), "OK", "{}", r.body);
    let r = e.post(
        "network/deleteVlan",
        &format!("<deleteVlan xmlns=\"{NS}\" id=\"{v}\"/>"),
    );
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
}

#[test]
fn lb_changes_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Emu::config(dir.path(), 0.001);
    let path = dir.path().to_path_buf();
    let mut e = Emu::start_with(dir, cfg);
    let (d, _, _) = setup(&mut e);
    let pool = info(
        &post(&mut e, "createPool", &pool_xml(&d, "p1"), None),
        "poolId",
    );
    e.emu.take().unwrap().shutdown();
    let dir = e.dir;
    let cfg = Emu::config(&path, 0.001);
    let mut e = Emu::start_with(dir, cfg);
    let v = x(&e.get(&format!("networkDomainVip/pool/{pool}")));
    assert_eq!(v["name"], "p1");
}

#[test]
fn injected_faults_refuse_lb_and_mcp1_changes_without_applying_them() {
    let mut e = Emu::start(0.001);
    let (d, _, _) = setup(&mut e);
    e.emu()
        .set_faults(emulator::FaultSpec::parse("busy=1").unwrap(), Some(7));
    let r = post(&mut e, "createPool", &pool_xml(&d, "p1"), None);
    assert_eq!(code(&r), "RESOURCE_BUSY", "{}", r.body);
    let path = format!("/oec/0.9/{}/server/x/backup", e.emu().org_id());
    let r =
        e.c.post_xml(&path, "<NewBackup servicePlan=\"Essentials\"/>")
            .unwrap();
    assert_eq!(
        (r.status, x(&r)["resultCode"].as_str()),
        (400, Some("REASON_392"))
    );
    e.emu()
        .set_faults(emulator::FaultSpec::parse("").unwrap(), None);
    assert_eq!(
        x(&e.get("networkDomainVip/pool"))["totalCount"],
        "0",
        "nothing applied"
    );
    let r = post(&mut e, "createPool", &pool_xml(&d, "p1"), None);
    assert_eq!(code(&r), "OK", "{}", r.body);
}
