//! Integration tests of the emulator's API: auth, the rules real clients meet, paging, filters,
//! the clock, bad input, and the JSON form.

mod emulator_support;

use emulator_support::{Emu, NS, code, info, x};
use serde_json::json;

#[test]
fn basic_auth_is_required() {
    let mut e = Emu::start(0.001);
    let url = e.emu().url().to_string();
    let mut anon = emulator::http::Client::new(&url, "", "")
        .unwrap()
        .without_auth();
    assert_eq!(anon.get("/oec/0.9/myaccount", false).unwrap().status, 401);
    let mut wrong = emulator::http::Client::new(&url, "plumbery", "nope").unwrap();
    assert_eq!(
        wrong
            .get(&format!("{}/network/networkDomain", e.base), false)
            .unwrap()
            .status,
        401
    );
    let r = e.c.get("/oec/0.9/myaccount", false).unwrap();
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .contains("http://oec.api.opsource.net/schemas/directory")
    );
    assert!(
        r.body
            .contains(&format!("<ns3:orgId>{}</ns3:orgId>", e.emu().org_id()))
    );
}

#[test]
fn versions_and_org_are_checked() {
    let mut e = Emu::start(0.001);
    let org = e.emu().org_id();
    for v in ["2.2", "2.9", "2.13"] {
        let r =
            e.c.get(&format!("/caas/{v}/{org}/infrastructure/datacenter"), false)
                .unwrap();
        assert_eq!(r.status, 200, "{v}");
    }
    for v in ["2.1", "2.14", "3.0", "x"] {
        let r =
            e.c.get(&format!("/caas/{v}/{org}/infrastructure/datacenter"), false)
                .unwrap();
        assert_eq!(
            (r.status, code(&r).as_str()),
            (400, "INVALID_INPUT_DATA"),
            "{v}"
        );
    }
    let r =
        e.c.get("/caas/2.4/not-my-org/network/networkDomain", false)
            .unwrap();
    assert_eq!(code(&r), "AUTHORIZATION_FAILURE");
    let r = e.get("network/noSuchThing");
    assert_eq!((r.status, code(&r).as_str()), (404, "RESOURCE_NOT_FOUND"));
}

#[test]
fn catalogue_lists_datacenters_and_images() {
    let mut e = Emu::start(0.001);
    let v = e.get_json("infrastructure/datacenter");
    let ids: Vec<&str> = v["datacenter"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "NA9", "NA12", "EU6", "EU7", "AU9", "AP3", "EU8", "AU10", "AU11", "AP4", "AP5", "AF3",
            "CA2"
        ]
    );
    assert!(
        v["datacenter"][0]["displayName"]
            .as_str()
            .unwrap()
            .contains("MCP 2.0")
    );
    let v = e.get_json("image/osImage?datacenterId=EU6");
    assert_eq!(v["totalCount"], 10);
    let names: Vec<&str> = v["osImage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    for n in [
        "Ubuntu 14.04 64-bit 2 CPU",
        "Ubuntu 24.04 64-bit 2 CPU",
        "Debian 12 64-bit 2 CPU",
        "CentOS 7 64-bit 2 CPU",
        "RedHat 7 64-bit 2 CPU",
        "Win2019 DC 64-bit 2 CPU",
    ] {
        assert!(names.contains(&n), "{n}");
    }
    let id = v["osImage"][0]["id"].as_str().unwrap().to_string();
    let r = e.get(&format!("image/osImage/{id}"));
    let img = x(&r);
    assert_eq!(img["guest"]["operatingSystem"]["family"], "UNIX");
    let r = e.get("image/osImage/2ffa36c8-1848-49eb-b4fa-9d908775f68c");
    assert_eq!((r.status, code(&r).as_str()), (400, "RESOURCE_NOT_FOUND"));
    assert!(r.body.contains("<operation>GET_OS_IMAGE</operation>"));
    let r = e.get("image/customerImage/2ffa36c8-1848-49eb-b4fa-9d908775f68c");
    assert_eq!(code(&r), "RESOURCE_NOT_FOUND");
}

#[test]
fn network_domain_lifecycle_and_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Emu::config(dir.path(), 0.001);
    cfg.profile.delete_network_domain = 100.0; // 0.1 s: long enough to observe PENDING_DELETE
    let mut e = Emu::start_with(dir, cfg);
    let r = e.deploy_domain("web", "NA9");
    assert_eq!((r.status, code(&r).as_str()), (200, "IN_PROGRESS"));
    let id = info(&r, "networkDomainId");
    let d = x(&e.get(&format!("network/networkDomain/{id}")));
    assert_eq!(d["state"], "PENDING_ADD");
    assert!(d["snatIpv4Address"].as_str().unwrap().starts_with("127."));
    e.wait_state(&format!("network/networkDomain/{id}"), "NORMAL");
    // NAME_NOT_UNIQUE in the same datacenter, fine in another.
    assert_eq!(code(&e.deploy_domain("web", "NA9")), "NAME_NOT_UNIQUE");
    assert_eq!(code(&e.deploy_domain("web", "EU6")), "IN_PROGRESS");
    assert_eq!(code(&e.deploy_domain("web", "XX1")), "INVALID_INPUT_DATA");
    // CCDEFAULT rules.
    let v = e.get_json(&format!("network/firewallRule?networkDomainId={id}"));
    let rules = v["firewallRule"].as_array().unwrap();
    assert!(rules.len() >= 5);
    assert!(rules.iter().all(|r| r["ruleType"] == "DEFAULT_RULE"
        && r["name"].as_str().unwrap().starts_with("CCDEFAULT.")));
    // edit
    let r = e.post(
        "network/editNetworkDomain",
        &format!(
            "<editNetworkDomain xmlns=\"{NS}\" id=\"{id}\"><name>web2</name></editNetworkDomain>"
        ),
    );
    assert_eq!(code(&r), "OK", "{}", r.body);
    // delete: PENDING_DELETE, busy meanwhile, then gone (default rules go with it).
    let r = e.post(
        "network/deleteNetworkDomain",
        &format!("<deleteNetworkDomain xmlns=\"{NS}\" id=\"{id}\"/>"),
    );
    assert_eq!(code(&r), "IN_PROGRESS");
    assert_eq!(
        x(&e.get(&format!("network/networkDomain/{id}")))["state"],
        "PENDING_DELETE"
    );
    let r = e.post(
        "network/editNetworkDomain",
        &format!(
            "<editNetworkDomain xmlns=\"{NS}\" id=\"{id}\"><name>x</name></editNetworkDomain>"
        ),
    );
    assert_eq!(code(&r), "RESOURCE_BUSY");
    e.wait_state(&format!("network/networkDomain/{id}"), "GONE");
    let v = e.get_json(&format!("network/firewallRule?networkDomainId={id}"));
    assert_eq!(v["totalCount"], 0);
}

#[test]
fn changes_to_pending_resources_are_busy() {
    // Real-time latencies: nothing completes during this test.
    let mut e = Emu::start(1.0);
    let r = e.deploy_domain("slow", "NA9");
    let id = info(&r, "networkDomainId");
    assert_eq!(
        code(&e.deploy_vlan(&id, "v", "10.0.0.0", 24)),
        "RESOURCE_BUSY"
    );
    let r = e.post(
        "network/deleteNetworkDomain",
        &format!("<deleteNetworkDomain xmlns=\"{NS}\" id=\"{id}\"/>"),
    );
    assert_eq!(code(&r), "RESOURCE_BUSY");
    let r = e.post("network/addPublicIpBlock", &format!("<addPublicIpBlock xmlns=\"{NS}\"><networkDomainId>{id}</networkDomainId></addPublicIpBlock>"));
    assert_eq!(code(&r), "RESOURCE_BUSY");
}

#[test]
fn vlan_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Emu::config(dir.path(), 0.001);
    cfg.profile.deploy_vlan = 200.0; // 0.2 s
    let mut e = Emu::start_with(dir, cfg);
    let d = e.domain("net");
    // ≤2.8 XML form
    let r = e.deploy_vlan(&d, "front", "10.0.1.0", 24);
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    let front = info(&r, "vlanId");
    // another VLAN of the same domain while one is pending
    assert_eq!(
        code(&e.deploy_vlan(&d, "back", "10.0.2.0", 24)),
        "RESOURCE_BUSY"
    );
    e.wait_state(&format!("network/vlan/{front}"), "NORMAL");
    assert_eq!(
        code(&e.deploy_vlan(&d, "front", "10.0.9.0", 24)),
        "NAME_NOT_UNIQUE"
    );
    assert_eq!(
        code(&e.deploy_vlan(&d, "over", "10.0.0.0", 16)),
        "IP_ADDRESS_NOT_UNIQUE"
    );
    let r = e.deploy_vlan(&d, "public", "8.8.8.0", 24);
    assert_eq!(code(&r), "INVALID_INPUT_DATA");
    assert!(r.body.contains("privateIpv4BaseAddress"), "{}", r.body);
    let r = e.deploy_vlan(&d, "unaligned", "10.0.3.5", 24);
    assert_eq!(code(&r), "INVALID_INPUT_DATA");
    // ≥2.9 JSON form with HIGH gateway addressing
    let path = format!("/caas/2.9/{}/network/deployVlan", e.emu().org_id());
    let body = json!({"networkDomainId": d, "name": "back", "privateIpv4NetworkAddress": "10.0.2.0",
        "privateIpv4PrefixSize": 24, "attachedVlan": {"gatewayAddressing": "HIGH"}});
    let r = e.c.post_json(&path, &body).unwrap();
    assert_eq!(r.json()["responseCode"], "IN_PROGRESS", "{}", r.body);
    let back = r.json()["info"][0]["value"].as_str().unwrap().to_string();
    let v = e.wait_state(&format!("network/vlan/{back}"), "NORMAL");
    assert_eq!(v["ipv4GatewayAddress"], "10.0.2.254");
    assert_eq!(v["networkDomain"]["id"], d.as_str());
    assert!(
        v["ipv6Range"]["address"]
            .as_str()
            .unwrap()
            .starts_with("fd")
    );
    // edit, and HAS_DEPENDENCY for the domain
    let r = e.post(
        "network/editVlan",
        &format!("<editVlan xmlns=\"{NS}\" id=\"{back}\"><name>front</name></editVlan>"),
    );
    assert_eq!(code(&r), "NAME_NOT_UNIQUE");
    let r = e.post(
        "network/deleteNetworkDomain",
        &format!("<deleteNetworkDomain xmlns=\"{NS}\" id=\"{d}\"/>"),
    );
    assert_eq!(code(&r), "HAS_DEPENDENCY");
    let r = e.post(
        "network/deleteVlan",
        &format!("<deleteVlan xmlns=\"{NS}\" id=\"{back}\"/>"),
    );
    assert_eq!(code(&r), "IN_PROGRESS");
    e.wait_state(&format!("network/vlan/{back}"), "GONE");
}

#[test]
fn server_deploy_actions_and_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Emu::config(dir.path(), 0.001);
    cfg.profile.deploy_server = 300.0; // 0.3 s (+0.03 s when started)
    let mut e = Emu::start_with(dir, cfg);
    let d = e.domain("srv");
    let v = e.vlan(&d, "lan", "10.1.0.0");
    let r = e.deploy_server("web", &d, &v, true);
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    assert!(r.body.contains("<operation>DEPLOY_SERVER</operation>"));
    let s1 = info(&r, "serverId");
    let s = x(&e.get(&format!("server/server/{s1}")));
    assert_eq!(s["state"], "PENDING_ADD");
    assert_eq!(s["progress"]["action"], "DEPLOY_SERVER");
    assert_eq!(
        s["started"], "true",
        "started shows the target while deploying with start"
    );
    assert_eq!(s["deployed"], "false");
    // busy while pending
    assert_eq!(code(&e.action("startServer", &s1)), "RESOURCE_BUSY");
    assert_eq!(code(&e.action("deleteServer", &s1)), "RESOURCE_BUSY");
    // the same name again gives a second server (names are not unique)
    let r = e.deploy_server("web", &d, &v, false);
    let s2 = info(&r, "serverId");
    assert_ne!(s1, s2);
    let s = e.wait_state(&format!("server/server/{s1}"), "NORMAL");
    assert_eq!(s["started"], "true");
    assert_eq!(s["deployed"], "true");
    assert!(s.get("progress").is_none());
    let ip = s["networkInfo"]["primaryNic"]["privateIpv4"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ip.starts_with("10.1.0."), "{ip}");
    let s = e.wait_state(&format!("server/server/{s2}"), "NORMAL");
    assert_eq!(s["started"], "false");
    assert_ne!(
        s["networkInfo"]["primaryNic"]["privateIpv4"]
            .as_str()
            .unwrap(),
        ip
    );
    // deleting a started server is refused; power off, then delete
    assert_eq!(code(&e.action("deleteServer", &s1)), "SERVER_STARTED");
    assert_eq!(code(&e.action("startServer", &s1)), "SERVER_STARTED");
    assert_eq!(code(&e.action("shutdownServer", &s2)), "SERVER_STOPPED");
    assert_eq!(code(&e.action("powerOffServer", &s1)), "IN_PROGRESS");
    let s = x(&e.get(&format!("server/server/{s1}")));
    assert_eq!(s["progress"]["action"], "POWER_OFF_SERVER");
    e.wait_state(&format!("server/server/{s1}"), "NORMAL");
    for op in [
        "startServer",
        "rebootServer",
        "resetServer",
        "shutdownServer",
    ] {
        assert_eq!(code(&e.action(op, &s1)), "IN_PROGRESS", "{op}");
        let s = e.wait_state(&format!("server/server/{s1}"), "NORMAL");
        assert_eq!(
            s["started"],
            if op == "shutdownServer" {
                "false"
            } else {
                "true"
            },
            "{op}"
        );
    }
    // VLAN with servers: HAS_DEPENDENCY
    let r = e.post(
        "network/deleteVlan",
        &format!("<deleteVlan xmlns=\"{NS}\" id=\"{v}\"/>"),
    );
    assert_eq!(code(&r), "HAS_DEPENDENCY");
    // monitoring
    let r = e.post("server/enableServerMonitoring", &format!("<enableServerMonitoring xmlns=\"{NS}\" id=\"{s1}\"><servicePlan>ESSENTIALS</servicePlan></enableServerMonitoring>"));
    assert_eq!(code(&r), "OK");
    let r = e.post("server/enableServerMonitoring", &format!("<enableServerMonitoring xmlns=\"{NS}\" id=\"{s1}\"><servicePlan>ESSENTIALS</servicePlan></enableServerMonitoring>"));
    assert_eq!(code(&r), "NO_CHANGE");
    let r = e.post("server/changeServerMonitoringPlan", &format!("<changeServerMonitoringPlan xmlns=\"{NS}\" id=\"{s1}\"><servicePlan>ADVANCED</servicePlan></changeServerMonitoringPlan>"));
    assert_eq!(code(&r), "OK");
    assert_eq!(
        x(&e.get(&format!("server/server/{s1}")))["monitoring"]["servicePlan"],
        "ADVANCED"
    );
    let r = e.post(
        "server/disableServerMonitoring",
        &format!("<disableServerMonitoring xmlns=\"{NS}\" id=\"{s1}\"/>"),
    );
    assert_eq!(code(&r), "OK");
    // delete
    assert_eq!(code(&e.action("deleteServer", &s1)), "IN_PROGRESS");
    assert_eq!(
        x(&e.get(&format!("server/server/{s1}")))["state"],
        "PENDING_DELETE"
    );
    e.wait_state(&format!("server/server/{s1}"), "GONE");
    assert_eq!(code(&e.action("cleanServer", &s2)), "INVALID_INPUT_DATA");
    assert_eq!(
        code(&e.action("startServer", "no-such-id")),
        "RESOURCE_NOT_FOUND"
    );
}

#[test]
fn server_addresses_and_input_checks() {
    let mut e = Emu::start(0.001);
    let d = e.domain("addr");
    let v = e.vlan(&d, "lan", "10.2.0.0");
    let image = e.image("NA9", "Debian 12 64-bit 2 CPU");
    let deploy = |nic: &str, pw: &str| {
        format!(
            "<deployServer xmlns=\"{NS}\"><name>n</name><imageId>{image}</imageId><start>false</start>{pw}<networkInfo networkDomainId=\"{d}\"><primaryNic>{nic}</primaryNic></networkInfo></deployServer>"
        )
    };
    let pw = "<administratorPassword>Passw0rd-Here</administratorPassword>";
    let r = e.post(
        "server/deployServer",
        &deploy("<privateIpv4>10.2.0.50</privateIpv4>", pw),
    );
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    let r = e.post(
        "server/deployServer",
        &deploy("<privateIpv4>10.2.0.50</privateIpv4>", pw),
    );
    assert_eq!(code(&r), "IP_ADDRESS_NOT_UNIQUE");
    let r = e.post(
        "server/deployServer",
        &deploy("<privateIpv4>10.9.0.50</privateIpv4>", pw),
    );
    assert_eq!(code(&r), "IP_ADDRESS_OUT_OF_RANGE");
    let r = e.post(
        "server/deployServer",
        &deploy("<privateIpv4>10.2.0.1</privateIpv4>", pw),
    );
    assert_eq!(
        code(&r),
        "IP_ADDRESS_OUT_OF_RANGE",
        "the gateway is reserved"
    );
    let r = e.post(
        "server/deployServer",
        &deploy(&format!("<vlanId>{v}</vlanId>"), ""),
    );
    assert_eq!(code(&r), "INVALID_INPUT_DATA");
    assert!(r.body.contains("administratorPassword"));
    let r = e.post("server/deployServer", &deploy("", pw));
    assert_eq!(code(&r), "INVALID_INPUT_DATA");
    assert!(r.body.contains("networkInfo.primaryNic"), "{}", r.body);
    // An image of another datacenter.
    let eu = e.image("EU6", "Debian 12 64-bit 2 CPU");
    let r = e.post(
        "server/deployServer",
        &deploy(&format!("<vlanId>{v}</vlanId>"), pw).replace(&image, &eu),
    );
    assert_eq!(code(&r), "INVALID_INPUT_DATA");
    assert!(r.body.contains("imageId"));
    // JSON form (GO client shape)
    let body = json!({"name": "j", "imageId": image, "start": false, "administratorPassword": "Passw0rd-Here",
        "cpu": {"count": 4, "coresPerSocket": 2, "speed": "STANDARD"}, "memoryGb": 8,
        "networkInfo": {"networkDomainId": d, "primaryNic": {"vlanId": v}, "additionalNic": []},
        "disk": [{"scsiId": "0", "speed": "STANDARD"}]});
    let r = e.post_json("server/deployServer", body);
    assert_eq!(r.json()["responseCode"], "IN_PROGRESS", "{}", r.body);
    let id = r.json()["info"][0]["value"].as_str().unwrap().to_string();
    let s = e.wait_state(&format!("server/server/{id}"), "NORMAL");
    assert_eq!(s["cpu"]["count"], "4");
    assert_eq!(s["memoryGb"], "8");
    // The password never reaches the request log.
    std::thread::sleep(std::time::Duration::from_millis(100));
    let log = std::fs::read_to_string(e.dir.path().join("requests.log")).unwrap();
    assert!(log.contains("DEPLOY_SERVER"));
    assert!(
        !log.contains("Passw0rd-Here"),
        "password leaked into the request log"
    );
    for line in log.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for k in [
            "time",
            "method",
            "path",
            "operation",
            "responseCode",
            "status",
            "ms",
        ] {
            assert!(v.get(k).is_some(), "{k} missing in {line}");
        }
    }
}

#[test]
fn malformed_requests_get_codes_and_change_nothing() {
    let mut e = Emu::start(0.001);
    let d = e.domain("bad");
    let before = e.stats().resources;
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "network/deployVlan",
            "<deployVlan><name>x</deployVlan>".into(),
            "body",
        ),
        ("network/deployVlan", "not xml at all".into(), "body"),
        (
            "network/deployVlan",
            format!(
                "<deployVlan xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><privateIpv4BaseAddress>10.0.0.0</privateIpv4BaseAddress></deployVlan>"
            ),
            "name",
        ),
        (
            "network/deployVlan",
            format!(
                "<deployVlan xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><name>v</name><privateIpv4BaseAddress>10.0.0.0</privateIpv4BaseAddress><privateIpv4PrefixSize>big</privateIpv4PrefixSize></deployVlan>"
            ),
            "privateIpv4PrefixSize",
        ),
        (
            "network/deployNetworkDomain",
            "<editVlan id=\"x\"/>".into(),
            "body",
        ),
        (
            "network/deployNetworkDomain",
            format!(
                "<deployNetworkDomain xmlns=\"{NS}\"><datacenterId>NA9</datacenterId><name>n</name><type>CHEAP</type></deployNetworkDomain>"
            ),
            "type",
        ),
        (
            "network/createFirewallRule",
            format!(
                "<createFirewallRule xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><name>r</name><action>ACCEPT_DECISIVELY</action><ipVersion>IPV4</ipVersion><protocol>TCP</protocol><enabled>maybe</enabled><placement position=\"FIRST\"/></createFirewallRule>"
            ),
            "enabled",
        ),
        (
            "network/createNatRule",
            format!(
                "<createNatRule xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><internalIp>10.0.0.999</internalIp></createNatRule>"
            ),
            "internalIp",
        ),
        (
            "network/deleteVlan",
            format!("<deleteVlan xmlns=\"{NS}\"/>"),
            "id",
        ),
        (
            "network/deployVlan",
            "<deployVlan>".to_string()
                + &"<description>x</description>".repeat(20_000)
                + "</deployVlan>",
            "body",
        ),
    ];
    for (op, body, field) in cases {
        let r = e.post(op, &body);
        assert_eq!(r.status, 400, "{op}: {}", r.body);
        assert_eq!(code(&r), "INVALID_INPUT_DATA", "{op}: {}", r.body);
        assert!(
            x(&r)["message"].as_str().unwrap().contains(field),
            "{op}: message should name {field}: {}",
            r.body
        );
    }
    let r = e.post_json(
        "network/deployVlan",
        json!({"networkDomainId": d, "name": 5, "privateIpv4BaseAddress": ["x"]}),
    );
    assert_eq!(r.json()["responseCode"], "INVALID_INPUT_DATA");
    let r =
        e.c.request(
            "POST",
            &format!("{}/network/deployVlan", e.base),
            &[("Content-Type", "application/json")],
            Some(b"{\"name\":"),
        )
        .unwrap();
    assert_eq!(code(&r), "INVALID_INPUT_DATA");
    let r = e.post(
        "network/deleteVlan",
        &format!("<deleteVlan xmlns=\"{NS}\" id=\"nope\"/>"),
    );
    assert_eq!(code(&r), "RESOURCE_NOT_FOUND");
    assert_eq!(e.stats().resources, before, "nothing changed");
}

#[test]
fn nat_public_ip_and_firewall_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Emu::config(dir.path(), 0.001);
    // 0.3 s: long enough to observe a new rule's PENDING_ADD on a loaded machine (2 ms was not).
    cfg.profile.create_firewall_rule = 300.0;
    let mut e = Emu::start_with(dir, cfg);
    let d = e.domain("pub");
    let lan = e.vlan(&d, "lan", "10.3.0.0");
    let nat = |int: &str, ext: Option<&str>| {
        let ext = ext
            .map(|x| format!("<externalIp>{x}</externalIp>"))
            .unwrap_or_default();
        format!(
            "<createNatRule xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><internalIp>{int}</internalIp>{ext}</createNatRule>"
        )
    };
    assert_eq!(
        code(&e.post("network/createNatRule", &nat("10.3.0.10", None))),
        "NO_IP_ADDRESS_AVAILABLE"
    );
    let r = e.post("network/addPublicIpBlock", &format!("<addPublicIpBlock xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId></addPublicIpBlock>"));
    assert_eq!(code(&r), "OK", "{}", r.body);
    let block = info(&r, "ipBlockId");
    let b = x(&e.get(&format!("network/publicIpBlock/{block}")));
    assert_eq!(b["size"], "2");
    let base: std::net::Ipv4Addr = b["baseIp"].as_str().unwrap().parse().unwrap();
    assert_eq!(&base.octets()[..2], &[127, 77]);
    let r = e.post("network/createNatRule", &nat("192.168.1.1", None));
    assert_eq!(code(&r), "INVALID_INPUT_DATA");
    assert!(r.body.contains("internalIp"));
    let r = e.post(
        "network/createNatRule",
        &nat("10.3.0.10", Some("127.77.255.254")),
    );
    assert_eq!(code(&r), "INVALID_INPUT_DATA");
    assert!(r.body.contains("externalIp"));
    let r = e.post("network/createNatRule", &nat("10.3.0.10", None));
    assert_eq!(code(&r), "OK", "{}", r.body);
    let n1 = info(&r, "natRuleId");
    let ext1 = x(&e.get(&format!("network/natRule/{n1}")))["externalIp"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(ext1, base.to_string());
    assert_eq!(
        code(&e.post("network/createNatRule", &nat("10.3.0.11", Some(&ext1)))),
        "IP_ADDRESS_NOT_UNIQUE"
    );
    assert_eq!(
        code(&e.post("network/createNatRule", &nat("10.3.0.10", None))),
        "IP_ADDRESS_NOT_UNIQUE"
    );
    assert_eq!(
        code(&e.post("network/createNatRule", &nat("10.3.0.11", None))),
        "OK"
    );
    assert_eq!(
        code(&e.post("network/createNatRule", &nat("10.3.0.12", None))),
        "NO_IP_ADDRESS_AVAILABLE"
    );
    let v = e.get_json(&format!(
        "network/reservedPublicIpv4Address?networkDomainId={d}"
    ));
    assert_eq!(v["totalCount"], 2);
    assert_eq!(v["ip"][0]["ipBlockId"], block.as_str());
    let r = e.post(
        "network/removePublicIpBlock",
        &format!("<removePublicIpBlock xmlns=\"{NS}\" id=\"{block}\"/>"),
    );
    assert_eq!(code(&r), "HAS_DEPENDENCY");
    // firewall
    let fw = |name: &str, placement: &str| {
        format!(
            "<createFirewallRule xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><name>{name}</name><action>ACCEPT_DECISIVELY</action><ipVersion>IPV4</ipVersion><protocol>TCP</protocol><source><ip address=\"ANY\"/></source><destination><ip address=\"{ext1}\"/><port begin=\"22\"/></destination><enabled>true</enabled>{placement}</createFirewallRule>"
        )
    };
    let r = e.post(
        "network/createFirewallRule",
        &fw("ssh", "<placement position=\"LAST\"/>"),
    );
    assert_eq!(code(&r), "OK", "{}", r.body);
    let f1 = info(&r, "firewallRuleId");
    assert_eq!(
        x(&e.get(&format!("network/firewallRule/{f1}")))["state"],
        "PENDING_ADD"
    );
    assert_eq!(
        code(&e.post(
            "network/createFirewallRule",
            &fw("ssh", "<placement position=\"LAST\"/>")
        )),
        "NAME_NOT_UNIQUE"
    );
    assert_eq!(
        code(&e.post(
            "network/createFirewallRule",
            &fw("first", "<placement position=\"FIRST\"/>")
        )),
        "OK"
    );
    assert_eq!(
        code(&e.post(
            "network/createFirewallRule",
            &fw(
                "after",
                "<placement position=\"AFTER\" relativeToRule=\"first\"/>"
            )
        )),
        "OK"
    );
    let r = e.post(
        "network/createFirewallRule",
        &fw(
            "x",
            "<placement position=\"BEFORE\" relativeToRule=\"nope\"/>",
        ),
    );
    assert_eq!(code(&r), "INVALID_INPUT_DATA");
    let v = e.get_json(&format!("network/firewallRule?networkDomainId={d}"));
    let names: Vec<&str> = v["firewallRule"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .filter(|n| !n.starts_with("CCDEFAULT"))
        .collect();
    assert_eq!(names, ["first", "after", "ssh"]);
    e.wait_state(&format!("network/firewallRule/{f1}"), "NORMAL");
    let r = e.post("network/editFirewallRule", &format!("<editFirewallRule xmlns=\"{NS}\" id=\"{f1}\"><enabled>false</enabled></editFirewallRule>"));
    assert_eq!(code(&r), "OK");
    let default_rule = v["firewallRule"][0]["id"].as_str().unwrap().to_string();
    let r = e.post(
        "network/deleteFirewallRule",
        &format!("<deleteFirewallRule xmlns=\"{NS}\" id=\"{default_rule}\"/>"),
    );
    assert_eq!(code(&r), "OPERATION_NOT_SUPPORTED");
    // A default rule can be disabled and enabled again (the original disables
    // CCDEFAULT.DenyExternalInboundIPv6), not deleted.
    for enabled in ["false", "true"] {
        let r = e.post("network/editFirewallRule", &format!("<editFirewallRule xmlns=\"{NS}\" id=\"{default_rule}\"><enabled>{enabled}</enabled></editFirewallRule>"));
        assert_eq!(code(&r), "OK", "{}", r.body);
        let rule = e.get_json(&format!("network/firewallRule/{default_rule}"));
        assert_eq!(rule["enabled"].to_string(), enabled, "{rule}");
    }
    let stats = e.stats();
    assert_eq!(stats.resources.firewall_rule, 3);
    assert_eq!(stats.resources.nat_rule, 2);
    // HAS_DEPENDENCY for the domain while NAT, IP block, firewall rules remain
    let r = e.post(
        "network/deleteNetworkDomain",
        &format!("<deleteNetworkDomain xmlns=\"{NS}\" id=\"{d}\"/>"),
    );
    assert_eq!(code(&r), "HAS_DEPENDENCY");
    let msg = x(&r)["message"].as_str().unwrap().to_string();
    for dep in ["VLAN", "public IP block", "NAT rule", "firewall rule"] {
        assert!(msg.contains(dep), "{msg}");
    }
    // Stats show the server's public address.
    let image = e.image("NA9", "CentOS 7 64-bit 2 CPU");
    let r = e.post("server/deployServer", &format!("<deployServer xmlns=\"{NS}\"><name>pubsrv</name><imageId>{image}</imageId><start>true</start><administratorPassword>Passw0rd-Here</administratorPassword><networkInfo networkDomainId=\"{d}\"><primaryNic><privateIpv4>10.3.0.10</privateIpv4></primaryNic></networkInfo></deployServer>"));
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    let sid = info(&r, "serverId");
    assert_eq!(
        x(&e.get(&format!("server/server/{sid}")))["networkInfo"]["primaryNic"]["vlanId"],
        lan.as_str()
    );
    let s = e.stats();
    assert_eq!(s.servers[0].public_ipv4[0], ext1.as_str());
}

/// The evaluation order survives many rules placed at one spot (each new rule halves the room
/// between two order keys, until the domain's keys are spread again) and a restart.
#[test]
fn firewall_rules_keep_their_order_when_placed_many_times_at_one_spot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let mut e = Emu::start_with(dir, Emu::config(&path, 0.001));
    let d = e.domain("order");
    let fw = |name: &str, placement: &str| {
        format!(
            "<createFirewallRule xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><name>{name}</name><action>ACCEPT_DECISIVELY</action><ipVersion>IPV4</ipVersion><protocol>TCP</protocol><source><ip address=\"ANY\"/></source><destination><ip address=\"ANY\"/><port begin=\"22\"/></destination><enabled>true</enabled>{placement}</createFirewallRule>"
        )
    };
    let mut post = |name: &str, placement: &str| {
        let r = e.post("network/createFirewallRule", &fw(name, placement));
        assert_eq!(code(&r), "OK", "{name}: {}", r.body);
    };
    post("last", "<placement position=\"LAST\"/>");
    post("first", "<placement position=\"FIRST\"/>");
    // 30 rules, each right after "first": more than the 20 halvings the room allows.
    for i in 1..=30 {
        post(
            &format!("r{i}"),
            "<placement position=\"AFTER\" relativeToRule=\"first\"/>",
        );
    }
    post("top", "<placement position=\"FIRST\"/>");
    post(
        "before-last",
        "<placement position=\"BEFORE\" relativeToRule=\"last\"/>",
    );
    let mut want = vec!["top".to_string(), "first".to_string()];
    want.extend((1..=30).rev().map(|i| format!("r{i}")));
    want.extend(["before-last".to_string(), "last".to_string()]);
    let names = |e: &mut Emu| -> Vec<String> {
        let v = e.get_json(&format!(
            "network/firewallRule?networkDomainId={d}&pageSize=250"
        ));
        v["firewallRule"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    let got = names(&mut e);
    assert!(
        got[..5].iter().all(|n| n.starts_with("CCDEFAULT.")),
        "{got:?}"
    );
    assert_eq!(got[5..], want[..]);
    e.emu.take().unwrap().shutdown();
    let mut e = Emu::start_with(e.dir, Emu::config(&path, 0.001));
    assert_eq!(names(&mut e)[5..], want[..]);
}

#[test]
fn paging_past_the_end_gives_an_empty_page() {
    let mut e = Emu::start(0.001);
    for i in 0..7 {
        assert_eq!(
            code(&e.deploy_domain(&format!("d{i}"), "NA9")),
            "IN_PROGRESS"
        );
    }
    let r = e.get("network/networkDomain?pageSize=3&pageNumber=3");
    let v = x(&r);
    assert_eq!(
        (
            v["pageNumber"].as_str(),
            v["pageCount"].as_str(),
            v["totalCount"].as_str(),
            v["pageSize"].as_str()
        ),
        (Some("3"), Some("1"), Some("7"), Some("3"))
    );
    let r = e.get("network/networkDomain?pageSize=3&pageNumber=4");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("pageCount=\"0\""), "{}", r.body);
    assert!(!r.body.contains("<networkDomain "), "{}", r.body);
    let v = e.get_json("network/networkDomain?pageSize=3&pageNumber=9");
    assert_eq!(v["networkDomain"], json!([]));
    assert_eq!(v["pageCount"], 0);
    // All pages together list every domain once.
    let mut seen = std::collections::BTreeSet::new();
    for p in 1..=3 {
        let v = e.get_json(&format!("network/networkDomain?pageSize=3&pageNumber={p}"));
        for d in v["networkDomain"].as_array().unwrap() {
            assert!(seen.insert(d["id"].as_str().unwrap().to_string()));
        }
    }
    assert_eq!(seen.len(), 7);
    for bad in ["pageSize=251", "pageSize=0", "pageNumber=0", "pageSize=abc"] {
        let r = e.get(&format!("network/networkDomain?{bad}"));
        assert_eq!(code(&r), "INVALID_INPUT_DATA", "{bad}");
    }
    // filters
    let v = e.get_json("network/networkDomain?name=d3");
    assert_eq!(v["totalCount"], 1);
    let v = e.get_json("network/networkDomain?datacenterId=EU6");
    assert_eq!(v["totalCount"], 0);
}

#[test]
fn server_list_filters() {
    let mut e = Emu::start(0.001);
    let d = e.domain("f");
    let v = e.vlan(&d, "lan", "10.5.0.0");
    for n in ["a", "b", "b"] {
        assert_eq!(code(&e.deploy_server(n, &d, &v, false)), "IN_PROGRESS");
    }
    assert_eq!(e.get_json("server/server?name=b")["totalCount"], 2);
    assert_eq!(
        e.get_json(&format!("server/server?networkDomainId={d}&name=a"))["totalCount"],
        1
    );
    assert_eq!(
        e.get_json(&format!("server/server?vlanId={v}"))["totalCount"],
        3
    );
    assert_eq!(e.get_json("server/server?started=true")["totalCount"], 0);
    assert_eq!(
        e.get_json("server/server?datacenterId=EU6")["totalCount"],
        0
    );
    let all = e.get_json("server/server");
    let ip = all["server"][0]["networkInfo"]["primaryNic"]["privateIpv4"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        e.get_json(&format!("server/server?privateIpv4={ip}"))["totalCount"],
        1
    );
}

#[test]
fn stats_count_requests_and_list_servers() {
    let mut e = Emu::start(0.001);
    let d = e.domain("s");
    let v = e.vlan(&d, "lan", "10.6.0.0");
    let id = info(&e.deploy_server("node1", &d, &v, true), "serverId");
    e.wait_state(&format!("server/server/{id}"), "NORMAL");
    let _ = e.post("network/deployVlan", "<broken");
    let s = e.stats();
    assert!(s.requests.total >= 5);
    assert_eq!(s.requests.operation("DEPLOY_SERVER"), 1);
    assert!(s.requests.code("INVALID_INPUT_DATA") >= 1);
    assert_eq!(s.resources.server, 1);
    assert!(s.resources.default_firewall_rule >= 5);
    assert_eq!(s.servers[0].name, "node1");
    assert!(s.servers[0].started);
    assert!(s.servers[0].private_ipv4[0].starts_with("10.6.0."));
    // Over HTTP too (the wire names, then typed), and reset.
    let r = e.c.get("/emulator/v1/stats", true).unwrap();
    assert_eq!(r.json()["resources"]["server"], 1);
    assert_eq!(
        r.json()["servers"][0]["privateIpv4"],
        serde_json::json!(s.servers[0].private_ipv4)
    );
    let over_http = e.c.stats().unwrap();
    assert_eq!(over_http.resources, s.resources);
    assert_eq!(over_http.servers, s.servers);
    let r =
        e.c.request("POST", "/emulator/v1/reset", &[], None)
            .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(e.stats().resources.network_domain, 0);
    assert_eq!(e.stats().requests.total, 0, "reset zeroes the counters");
    assert_eq!(e.get_json("server/server")["totalCount"], 0);
}

#[test]
fn concurrent_deploys_get_distinct_addresses() {
    let mut e = Emu::start(0.001);
    let d = e.domain("par");
    let v = e.vlan(&d, "lan", "10.12.0.0");
    let image = e.image("NA9", "Ubuntu 20.04 64-bit 2 CPU");
    let url = e.emu().url().to_string();
    let base = e.base.clone();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let (url, base, d, v, image) = (url.clone(), base.clone(), d.clone(), v.clone(), image.clone());
            std::thread::spawn(move || {
                let mut c = emulator::http::Client::new(&url, "plumbery", "plumbery").unwrap();
                for i in 0..25 {
                    let body = format!("<deployServer xmlns=\"{NS}\"><name>t{t}-{i}</name><imageId>{image}</imageId><start>false</start><administratorPassword>Passw0rd-Here</administratorPassword><networkInfo networkDomainId=\"{d}\"><primaryNic><vlanId>{v}</vlanId></primaryNic></networkInfo></deployServer>");
                    let r = c.post_xml(&format!("{base}/server/deployServer"), &body).unwrap();
                    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let all = e.get_json("server/server");
    assert_eq!(all["totalCount"], 100);
    let ips: std::collections::BTreeSet<String> = all["server"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["networkInfo"]["primaryNic"]["privateIpv4"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ips.len(), 100, "every server has its own address");
}
