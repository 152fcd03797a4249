//! Conformance: for every libcloud fixture and Go JSON sample that answers an operation the emulator
//! serves, the emulator's answer to the same operation has the same root element, namespace, and
//! element and attribute names (values may differ). Differences are allowed only where listed below,
//! each with its reason.

mod emulator_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use emulator::Nodes;
use emulator::backend::{BackendError, NoBackend, NodeBackend, ServerSpec};
use emulator::http::Response;
use emulator_support::{Emu, NS, code, info};
use quick_xml::events::Event;
use serde_json::Value;

const FX: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/libcloud-fixtures/"
);
const JS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/json-samples/"
);

/// Names the fixtures show that the emulator does not produce, and why.
const NOT_EMULATED: &[(&str, &str)] = &[
    (
        "backup",
        "the servers of this run have no backup enabled (backup: tests/emulator_services.rs)",
    ),
    ("softwareLabel", "images carry no software labels"),
    (
        "nic",
        "MCP 1.0 servers (networkId/networkName NICs) do not exist in an MCP 2.0 emulator",
    ),
    (
        "outsideTransitVlanIpv4Subnet",
        "no transit VLAN is emulated",
    ),
    ("tag", "tags are not emulated"),
    (
        "vmwareTools",
        "the 2.5 JSON mock shows both vmwareTools and guest; 2.4+ answers use guest/vmTools",
    ),
    (
        "operatingSystem",
        "the 2.5 JSON mock shows a top-level operatingSystem; 2.4+ answers use guest",
    ),
    ("osUnitsGroupId", "licensing groups not emulated"),
];

/// Names the emulator adds that a given fixture lacks, and why.
const EXTRA_OK: &[(&str, &str)] = &[
    (
        "additionalNic",
        "the fixture servers have no additional NIC; the emulator always emits the (empty) list in JSON",
    ),
    (
        "progress",
        "the emulator's server is mid-operation; the fixture's is settled",
    ),
    (
        "gatewayAddressing",
        "≥2.9 attached VLANs report their gateway addressing",
    ),
    ("networkAdapter", "≥2.5 NICs report their adapter"),
    (
        "ideController",
        "≥2.5 JSON lists every controller kind, empty",
    ),
    (
        "sataController",
        "≥2.5 JSON lists every controller kind, empty",
    ),
    ("floppy", "≥2.5 JSON lists every controller kind, empty"),
    (
        "cpuSpeed",
        "the older datacenter list fixture predates CPU speeds; the NA9 fixture has them",
    ),
    (
        "guest",
        "2.4+ report the OS under guest (the 2.5 JSON mock shows the older top-level form)",
    ),
    (
        "sourceImageId",
        "kept at 2.10+ next to source for clients that read it",
    ),
    (
        "warning",
        "JSON envelopes always carry the warning and error lists",
    ),
    (
        "error",
        "JSON envelopes always carry the warning and error lists",
    ),
];

/// Flaws of single fixtures (hand-copied from the API docs): (fixture, path, reason).
const FIXTURE_FLAWS: &[(&str, &str, &str)] = &[
    (
        "infrastructure_datacenter_NA9.xml",
        "datacenters/datacenter/consoleAccess@maintenanceStatius",
        "typo in the fixture",
    ),
    (
        "infrastructure_datacenter_NA9.xml",
        "datacenters/datacenter/consoleAccess@maintenanceStatus",
        "the fixture misspells it",
    ),
];

fn flaw(fixture: &str, path: &str) -> bool {
    FIXTURE_FLAWS
        .iter()
        .any(|(f, p, _)| *f == fixture && *p == path)
}

fn last_name(path: &str) -> &str {
    let p = path.rsplit('/').next().unwrap_or(path);
    p.rsplit('@').next().unwrap_or(p)
}

fn allowed(list: &[(&str, &str)], path: &str) -> bool {
    // A path is allowed when one of its element names is listed (its sub-paths follow it).
    path.split('/')
        .flat_map(|seg| seg.split('@'))
        .any(|n| list.iter().any(|(a, _)| *a == n))
        || list.iter().any(|(a, _)| *a == last_name(path))
}

/// (root local name, root namespace, element and attribute paths).
fn xml_shape(text: &str) -> (String, String, BTreeSet<String>) {
    let mut r = quick_xml::Reader::from_str(text);
    let mut stack: Vec<String> = Vec::new();
    let mut paths = BTreeSet::new();
    let mut root = (String::new(), String::new());
    loop {
        let (e, empty) = match r.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(_)) => {
                stack.pop();
                continue;
            }
            Ok(Event::Eof) => break,
            Ok(_) => continue,
            Err(e) => panic!("bad XML: {e}"),
        };
        let local = e.local_name().as_ref().to_string();
        let path = match stack.last() {
            None => local.clone(),
            Some(parent) => format!("{parent}/{local}"),
        };
        if stack.is_empty() {
            let qname = e.name().as_ref().to_string();
            let want = match qname.split_once(':') {
                Some((p, _)) => format!("xmlns:{p}"),
                None => "xmlns".to_string(),
            };
            let ns = e
                .attributes()
                .flatten()
                .find(|a| a.key.as_ref() == want)
                .map(|a| {
                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .unwrap()
                        .into_owned()
                })
                .unwrap_or_default();
            root = (local.clone(), ns);
        }
        for a in e.attributes().flatten() {
            let k = a.key.as_ref().to_string();
            if k == "xmlns" || k.starts_with("xmlns:") {
                continue;
            }
            paths.insert(format!("{path}@{}", a.key.local_name().as_ref()));
        }
        paths.insert(path.clone());
        if !empty {
            stack.push(path);
        }
    }
    (root.0, root.1, paths)
}

fn json_paths(v: &Value, path: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}/{k}")
                };
                out.insert(p.clone());
                json_paths(x, &p, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| json_paths(x, path, out)),
        _ => {}
    }
}

/// Compares one fixture with the emulator's answer; returns the problems found.
fn compare_xml(fixture: &str, answer: &Response) -> Vec<String> {
    let text = std::fs::read_to_string(format!("{FX}{fixture}")).unwrap();
    let (froot, fns, fpaths) = xml_shape(&text);
    let (eroot, ens, epaths) = xml_shape(&answer.body);
    let mut problems = Vec::new();
    if froot != eroot {
        problems.push(format!("{fixture}: root {eroot}, fixture {froot}"));
    }
    if fns != ens {
        problems.push(format!("{fixture}: namespace {ens}, fixture {fns}"));
    }
    for p in fpaths.difference(&epaths) {
        if !allowed(NOT_EMULATED, p) && !flaw(fixture, p) {
            problems.push(format!("{fixture}: missing {p}"));
        }
    }
    for p in epaths.difference(&fpaths) {
        if !allowed(EXTRA_OK, p) && !flaw(fixture, p) {
            problems.push(format!("{fixture}: extra {p}"));
        }
    }
    problems
}

fn compare_json(sample: &str, answer: &Response) -> Vec<String> {
    let text = std::fs::read_to_string(format!("{JS}{sample}")).unwrap();
    let f: Value = serde_json::from_str(&text).unwrap();
    let e: Value = serde_json::from_str(&answer.body)
        .unwrap_or_else(|err| panic!("{sample}: answer not JSON ({err}): {}", answer.body));
    let (mut fp, mut ep) = (BTreeSet::new(), BTreeSet::new());
    json_paths(&f, "", &mut fp);
    json_paths(&e, "", &mut ep);
    let mut problems = Vec::new();
    for p in fp.difference(&ep) {
        if !allowed(NOT_EMULATED, p) {
            problems.push(format!("{sample}: missing {p}"));
        }
    }
    for p in ep.difference(&fp) {
        if !allowed(EXTRA_OK, p) {
            problems.push(format!("{sample}: extra {p}"));
        }
    }
    problems
}

/// Fails the server named "broken" so that cleanServer can be exercised.
struct BreaksOne;
impl NodeBackend for BreaksOne {
    fn create_domain(&self, d: &str) -> Result<(), BackendError> {
        NoBackend.create_domain(d)
    }
    fn delete_domain(&self, d: &str) -> Result<(), BackendError> {
        NoBackend.delete_domain(d)
    }
    fn create_vlan(
        &self,
        d: &str,
        v: &str,
        g: std::net::Ipv4Addr,
        p: u8,
    ) -> Result<(), BackendError> {
        NoBackend.create_vlan(d, v, g, p)
    }
    fn delete_vlan(&self, d: &str, v: &str) -> Result<(), BackendError> {
        NoBackend.delete_vlan(d, v)
    }
    fn create_server(&self, spec: &ServerSpec, start: bool) -> Result<(), BackendError> {
        if spec.name == "broken" {
            return Err(BackendError::Failed("no capacity".into()));
        }
        NoBackend.create_server(spec, start)
    }
    fn start_server(&self, s: &str) -> Result<(), BackendError> {
        NoBackend.start_server(s)
    }
    fn stop_server(&self, s: &str, g: bool) -> Result<(), BackendError> {
        NoBackend.stop_server(s, g)
    }
    fn restart_server(&self, s: &str, g: bool) -> Result<(), BackendError> {
        NoBackend.restart_server(s, g)
    }
    fn delete_server(&self, s: &str) -> Result<(), BackendError> {
        NoBackend.delete_server(s)
    }
    fn sync_public(
        &self,
        d: &str,
        n: &[emulator::backend::NatSpec],
        r: &[emulator::backend::FirewallRuleSpec],
    ) -> Result<(), BackendError> {
        NoBackend.sync_public(d, n, r)
    }
    fn shutdown(&self) {}
}

#[test]
fn answers_have_the_shapes_of_the_fixtures_and_samples() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Emu::config(dir.path(), 0.001);
    cfg.profile.power_off_server = 1.0e6; // stays pending for the whole test
    cfg.nodes = Nodes::Custom(Arc::new(BreaksOne));
    let mut e = Emu::start_with(dir, cfg);
    let mut problems = Vec::new();
    let xmlc =
        |problems: &mut Vec<String>, fx: &str, r: &Response| problems.extend(compare_xml(fx, r));
    let org = e.emu().org_id();
    let json_get = |e: &mut Emu, minor: u32, path: &str| {
        e.c.get(&format!("/caas/2.{minor}/{org}/{path}"), true)
            .unwrap()
    };

    // Account and catalogue.
    let r = e.c.get("/oec/0.9/myaccount", false).unwrap();
    xmlc(&mut problems, "oec_0_9_myaccount.xml", &r);
    xmlc(
        &mut problems,
        "infrastructure_datacenter.xml",
        &e.get("infrastructure/datacenter"),
    );
    xmlc(
        &mut problems,
        "infrastructure_datacenter_NA9.xml",
        &e.get("infrastructure/datacenter?id=NA9"),
    );
    xmlc(
        &mut problems,
        "2.4/image_osImage.xml",
        &e.get("image/osImage?datacenterId=NA9"),
    );
    let img = e.image("NA9", "RedHat 7 64-bit 2 CPU");
    xmlc(
        &mut problems,
        "2.4/image_osImage_c14b1a46_2428_44c1_9c1a_b20e6418d08c.xml",
        &e.get(&format!("image/osImage/{img}")),
    );
    let r =
        e.c.get(
            &format!("/caas/2.3/{org}/image/osImage?datacenterId=NA9"),
            false,
        )
        .unwrap();
    xmlc(&mut problems, "image_osImage.xml", &r);
    let r =
        e.c.get(&format!("/caas/2.3/{org}/image/osImage/{img}"), false)
            .unwrap();
    xmlc(
        &mut problems,
        "image_osImage_c14b1a46_2428_44c1_9c1a_b20e6418d08c.xml",
        &r,
    );
    xmlc(
        &mut problems,
        "image_osImage_BAD_REQUEST.xml",
        &e.get("image/osImage/2ffa36c8-1848-49eb-b4fa-9d908775f68c"),
    );
    xmlc(
        &mut problems,
        "image_customerImage_BAD_REQUEST.xml",
        &e.get("image/customerImage/2ffa36c8-1848-49eb-b4fa-9d908775f68c"),
    );
    let r = json_get(
        &mut e,
        9,
        "image/osImage?name=CentOS%207%2064-bit%202%20CPU&datacenterId=AU9",
    );
    problems.extend(compare_json("os_images__findOSImageTestResponse.json", &r));

    // Network domain.
    let r = e.deploy_domain("conf", "NA9");
    xmlc(&mut problems, "network_deployNetworkDomain.xml", &r);
    let d = info(&r, "networkDomainId");
    e.wait_state(&format!("network/networkDomain/{d}"), "NORMAL");
    xmlc(
        &mut problems,
        "network_networkDomain.xml",
        &e.get("network/networkDomain"),
    );
    xmlc(
        &mut problems,
        "network_networkDomain_8cdfd607_f429_4df6_9352_162cfc0891be.xml",
        &e.get(&format!("network/networkDomain/{d}")),
    );
    problems.extend(compare_json(
        "domains__listNetworkDomainsTestResponse.json",
        &json_get(&mut e, 4, "network/networkDomain"),
    ));
    problems.extend(compare_json(
        "domains__networkDomainTestResponse.json",
        &json_get(&mut e, 4, &format!("network/networkDomain/{d}")),
    ));
    let r = e.post("network/editNetworkDomain", &format!("<editNetworkDomain xmlns=\"{NS}\" id=\"{d}\"><description>x</description></editNetworkDomain>"));
    xmlc(&mut problems, "network_editNetworkDomain.xml", &r);
    let r = e.post_json(
        "network/editNetworkDomain",
        serde_json::json!({"id": d, "description": "y"}),
    );
    problems.extend(compare_json(
        "domains__editNetworkDomainTestResponse.json",
        &r,
    ));
    let r = e.post_json(
        "network/deployNetworkDomain",
        serde_json::json!({"name": "j", "datacenterId": "AU9", "type": "ESSENTIALS"}),
    );
    problems.extend(compare_json(
        "domains__deployNetworkDomainTestResponse.json",
        &r,
    ));
    let d2 = r.json()["info"][0]["value"].as_str().unwrap().to_string();
    e.wait_state(&format!("network/networkDomain/{d2}"), "NORMAL");
    let r = e.post_json("network/deleteNetworkDomain", serde_json::json!({"id": d2}));
    problems.extend(compare_json(
        "domains__deleteNetworkDomainTestResponse.json",
        &r,
    ));
    let r = e.deploy_domain("conf3", "NA9");
    let d3 = info(&r, "networkDomainId");
    e.wait_state(&format!("network/networkDomain/{d3}"), "NORMAL");
    let r = e.post(
        "network/deleteNetworkDomain",
        &format!("<deleteNetworkDomain xmlns=\"{NS}\" id=\"{d3}\"/>"),
    );
    xmlc(&mut problems, "network_deleteNetworkDomain.xml", &r);

    // VLANs.
    let r = e.deploy_vlan(&d, "lan", "10.20.0.0", 24);
    xmlc(&mut problems, "network_deployVlan.xml", &r);
    let v = info(&r, "vlanId");
    e.wait_state(&format!("network/vlan/{v}"), "NORMAL");
    xmlc(&mut problems, "network_vlan.xml", &e.get("network/vlan"));
    xmlc(
        &mut problems,
        "network_vlan_0e56433f_d808_4669_821d_812769517ff8.xml",
        &e.get(&format!("network/vlan/{v}")),
    );
    problems.extend(compare_json(
        "vlans__getVLANTestResponse.json",
        &json_get(&mut e, 4, &format!("network/vlan/{v}")),
    ));
    problems.extend(compare_json(
        "vlans__listVLANsTestResponse.json",
        &json_get(&mut e, 4, "network/vlan"),
    ));
    let r = e.post(
        "network/editVlan",
        &format!("<editVlan xmlns=\"{NS}\" id=\"{v}\"><description>x</description></editVlan>"),
    );
    xmlc(&mut problems, "network_editVlan.xml", &r);
    let r = e.post_json(
        "network/editVlan",
        serde_json::json!({"id": v, "description": "y"}),
    );
    problems.extend(compare_json("vlans__editVLANTestResponse.json", &r));
    let r = e.post_json("network/deployVlan", serde_json::json!({"networkDomainId": d, "name": "other", "privateIpv4BaseAddress": "10.21.0.0", "privateIpv4PrefixSize": 24}));
    problems.extend(compare_json("vlans__deployVLANTestResponse.json", &r));
    let v2 = r.json()["info"][0]["value"].as_str().unwrap().to_string();
    e.wait_state(&format!("network/vlan/{v2}"), "NORMAL");
    let r = e.post_json("network/deleteVlan", serde_json::json!({"id": v2}));
    problems.extend(compare_json("vlans__deleteVLANTestResponse.json", &r));
    e.wait_state(&format!("network/vlan/{v2}"), "GONE");
    let v3 = e.vlan(&d, "third", "10.22.0.0");
    let r = e.post(
        "network/deleteVlan",
        &format!("<deleteVlan xmlns=\"{NS}\" id=\"{v3}\"/>"),
    );
    xmlc(&mut problems, "network_deleteVlan.xml", &r);

    // Public IP blocks, NAT.
    let r = e.post("network/addPublicIpBlock", &format!("<addPublicIpBlock xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId></addPublicIpBlock>"));
    xmlc(&mut problems, "network_addPublicIpBlock.xml", &r);
    let b = info(&r, "ipBlockId");
    xmlc(
        &mut problems,
        "network_publicIpBlock.xml",
        &e.get("network/publicIpBlock"),
    );
    xmlc(
        &mut problems,
        "network_publicIpBlock_9945dc4a_bdce_11e4_8c14_b8ca3a5d9ef8.xml",
        &e.get(&format!("network/publicIpBlock/{b}")),
    );
    xmlc(
        &mut problems,
        "network_publicIpBlock_4487241a_f0ca_11e3_9315_d4bed9b167ba.xml",
        &e.get(&format!("network/publicIpBlock/{b}")),
    );
    problems.extend(compare_json(
        "ipblock__getPublicIPBlockResponse.json",
        &json_get(&mut e, 13, &format!("network/publicIpBlock/{b}")),
    ));
    let r = e.post_json(
        "network/addPublicIpBlock",
        serde_json::json!({"networkDomainId": d}),
    );
    problems.extend(compare_json("ipblock__addPublicIPBlockResponse.json", &r));
    let b2 = r.json()["info"][0]["value"].as_str().unwrap().to_string();
    let r = e.post(
        "network/removePublicIpBlock",
        &format!("<removePublicIpBlock xmlns=\"{NS}\" id=\"{b2}\"/>"),
    );
    xmlc(&mut problems, "network_removePublicIpBlock.xml", &r);
    let r = e.post("network/createNatRule", &format!("<createNatRule xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><internalIp>10.20.0.10</internalIp></createNatRule>"));
    xmlc(&mut problems, "network_createNatRule.xml", &r);
    let n = info(&r, "natRuleId");
    xmlc(
        &mut problems,
        "network_natRule.xml",
        &e.get("network/natRule"),
    );
    xmlc(
        &mut problems,
        "network_natRule_2187a636_7ebb_49a1_a2ff_5d617f496dce.xml",
        &e.get(&format!("network/natRule/{n}")),
    );
    problems.extend(compare_json(
        "ipblock__listReservedPublicIPAddressesResponse.json",
        &json_get(
            &mut e,
            13,
            &format!("network/reservedPublicIpv4Address?networkDomainId={d}"),
        ),
    ));

    // Firewall.
    let r = e.post("network/createFirewallRule", &format!("<createFirewallRule xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><name>My.Rule.2</name><action>ACCEPT_DECISIVELY</action><ipVersion>IPV4</ipVersion><protocol>TCP</protocol><source><ip address=\"ANY\"/></source><destination><ip address=\"127.77.0.2\"/><port begin=\"443\"/></destination><enabled>true</enabled><placement position=\"FIRST\"/></createFirewallRule>"));
    xmlc(&mut problems, "network_createFirewallRule.xml", &r);
    let f = info(&r, "firewallRuleId");
    xmlc(
        &mut problems,
        "network_firewallRule.xml",
        &e.get(&format!("network/firewallRule?networkDomainId={d}")),
    );
    e.wait_state(&format!("network/firewallRule/{f}"), "NORMAL");
    xmlc(
        &mut problems,
        "network_firewallRule_d0a20f59_77b9_4f28_a63b_e58496b73a6c.xml",
        &e.get(&format!("network/firewallRule/{f}")),
    );
    let r = e.post("network/editFirewallRule", &format!("<editFirewallRule xmlns=\"{NS}\" id=\"{f}\"><enabled>false</enabled></editFirewallRule>"));
    xmlc(&mut problems, "network_editFirewallRule.xml", &r);
    let r = e.post(
        "network/deleteFirewallRule",
        &format!("<deleteFirewallRule xmlns=\"{NS}\" id=\"{f}\"/>"),
    );
    xmlc(&mut problems, "network_deleteFirewallRule.xml", &r);
    let r = e.post(
        "network/deleteNatRule",
        &format!("<deleteNatRule xmlns=\"{NS}\" id=\"{n}\"/>"),
    );
    xmlc(&mut problems, "network_deleteNatRule.xml", &r);

    // Servers.
    let r = e.deploy_server("a", &d, &v, true);
    xmlc(&mut problems, "server_deployServer.xml", &r);
    let a = info(&r, "serverId");
    let c_id = info(&e.deploy_server("c", &d, &v, true), "serverId");
    let image = e.image("NA9", "Ubuntu 22.04 64-bit 2 CPU");
    let body = serde_json::json!({"name": "b", "imageId": image, "start": false, "administratorPassword": "Passw0rd-Here",
        "networkInfo": {"networkDomainId": d, "primaryNic": {"vlanId": v}}});
    let r = e.post_json("server/deployServer", body);
    problems.extend(compare_json("servers__deployServerTestResponse.json", &r));
    let b_id = r.json()["info"][0]["value"].as_str().unwrap().to_string();
    for s in [&a, &b_id, &c_id] {
        e.wait_state(&format!("server/server/{s}"), "NORMAL");
    }
    let r = e.post("server/enableServerMonitoring", &format!("<enableServerMonitoring xmlns=\"{NS}\" id=\"{a}\"><servicePlan>ESSENTIALS</servicePlan></enableServerMonitoring>"));
    xmlc(&mut problems, "server_enableServerMonitoring.xml", &r);
    let r = e.post("server/changeServerMonitoringPlan", &format!("<changeServerMonitoringPlan xmlns=\"{NS}\" id=\"{a}\"><servicePlan>ADVANCED</servicePlan></changeServerMonitoringPlan>"));
    xmlc(&mut problems, "server_changeServerMonitoringPlan.xml", &r);
    let r = e.action("powerOffServer", &a);
    xmlc(&mut problems, "server_powerOffServer.xml", &r);
    xmlc(
        &mut problems,
        "2.4/server_server_e75ead52_692f_4314_8725_c8a4f4d13a87.xml",
        &e.get(&format!("server/server/{a}")),
    );
    xmlc(
        &mut problems,
        "2.4/server_server.xml",
        &e.get("server/server"),
    );
    let r =
        e.c.get(&format!("/caas/2.3/{org}/server/server"), false)
            .unwrap();
    xmlc(&mut problems, "server_server.xml", &r);
    let r =
        e.c.get(&format!("/caas/2.3/{org}/server/server/{a}"), false)
            .unwrap();
    xmlc(
        &mut problems,
        "server_server_e75ead52_692f_4314_8725_c8a4f4d13a87.xml",
        &r,
    );
    problems.extend(compare_json(
        "servers__getServerTestResponseV2.json",
        &json_get(&mut e, 10, &format!("server/server/{c_id}")),
    ));
    problems.extend(compare_json(
        "servers__getServerTestResponse.json",
        &json_get(&mut e, 5, &format!("server/server/{a}")),
    ));
    xmlc(
        &mut problems,
        "server_server_paginated_empty.xml",
        &e.get("server/server?pageNumber=9"),
    );
    for (op, fx) in [
        ("powerOffServer", "server_powerOffServer_INPROGRESS.xml"),
        ("rebootServer", "server_rebootServer_RESOURCEBUSY.xml"),
        ("deleteServer", "server_deleteServer_RESOURCEBUSY.xml"),
        ("startServer", "server_startServer_INPROGRESS.xml"),
        ("shutdownServer", "server_shutdownServer_INPROGRESS.xml"),
    ] {
        let r = e.action(op, &a);
        assert_eq!(code(&r), "RESOURCE_BUSY", "{op}");
        xmlc(&mut problems, fx, &r);
    }
    let r = e.action("startServer", &b_id);
    xmlc(&mut problems, "server_startServer.xml", &r);
    e.wait_state(&format!("server/server/{b_id}"), "NORMAL");
    let r = e.action("shutdownServer", &b_id);
    xmlc(&mut problems, "server_shutdownServer.xml", &r);
    e.wait_state(&format!("server/server/{b_id}"), "NORMAL");
    let r = e.action("rebootServer", &c_id);
    xmlc(&mut problems, "server_rebootServer.xml", &r);
    e.wait_state(&format!("server/server/{c_id}"), "NORMAL");
    let r = e.action("resetServer", &c_id);
    xmlc(&mut problems, "server_resetServer.xml", &r);
    e.wait_state(&format!("server/server/{c_id}"), "NORMAL");
    // Secondary NICs.
    e.wait_state(&format!("network/vlan/{v3}"), "GONE");
    let v4 = e.vlan(&d, "nics", "10.23.0.0");
    let r = e.post("server/addNic", &format!("<addNic xmlns=\"{NS}\"><serverId>{c_id}</serverId><nic><vlanId>{v4}</vlanId></nic></addNic>"));
    xmlc(&mut problems, "server_addNic.xml", &r);
    let nic = info(&r, "nicId");
    e.wait_state(&format!("server/server/{c_id}"), "NORMAL");
    let r = e.post(
        "server/removeNic",
        &format!("<removeNic xmlns=\"{NS}\" id=\"{nic}\"/>"),
    );
    xmlc(&mut problems, "server_removeNic.xml", &r);
    e.wait_state(&format!("server/server/{c_id}"), "NORMAL");
    let r = e.post("server/enableServerMonitoring", &format!("<enableServerMonitoring xmlns=\"{NS}\" id=\"{c_id}\"><servicePlan>ESSENTIALS</servicePlan></enableServerMonitoring>"));
    assert_eq!(code(&r), "OK");
    let r = e.post(
        "server/disableServerMonitoring",
        &format!("<disableServerMonitoring xmlns=\"{NS}\" id=\"{c_id}\"/>"),
    );
    xmlc(&mut problems, "server_disableServerMonitoring.xml", &r);
    let r = e.post_json("server/deleteServer", serde_json::json!({"id": b_id}));
    problems.extend(compare_json("servers__deleteServerTestResponse.json", &r));
    e.wait_state(&format!("server/server/{b_id}"), "GONE");
    let r = e.action("powerOffServer", &c_id);
    assert_eq!(code(&r), "IN_PROGRESS");
    let broken = info(&e.deploy_server("broken", &d, &v, false), "serverId");
    e.wait_state(&format!("server/server/{broken}"), "FAILED_ADD");
    let r = e.action("cleanServer", &broken);
    xmlc(&mut problems, "server_cleanServer.xml", &r);
    xmlc(&mut problems, "2.4/server_cleanServer.xml", &r);
    let r = e.action("deleteServer", &broken);
    let _ = r;

    let mut seen = BTreeMap::new();
    for p in &problems {
        *seen.entry(p.clone()).or_insert(0) += 1;
    }
    assert!(
        problems.is_empty(),
        "{} conformance problems:\n{}",
        problems.len(),
        seen.keys().cloned().collect::<Vec<_>>().join("\n")
    );
}
