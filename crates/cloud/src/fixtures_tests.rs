//! Decodes the real response shapes we hold (libcloud fixtures, XML; go-dd-cloud-compute samples, JSON)
//! into the client's types, so that the client cannot drift from what the API sends.

use serde::de::DeserializeOwned;

use super::model::*;
use super::wire::{self, ApiResponse, Page};

const FX: &str = concat!(
    concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
    "/../shared/corpus/libcloud-fixtures/"
);
const JS: &str = concat!(
    concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
    "/../shared/corpus/json-samples/"
);

fn fx(name: &str) -> String {
    std::fs::read_to_string(format!("{FX}{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn page<T: DeserializeOwned>(name: &str) -> Page<T> {
    wire::decode(name, &fx(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn one<T: DeserializeOwned>(name: &str) -> T {
    wire::decode(name, &fx(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn myaccount_org_id() {
    assert_eq!(
        wire::decode_org_id(&fx("oec_0_9_myaccount.xml")).unwrap(),
        "8a8f6abc-2745-4d8a-9cbc-8dabe5a7d0e4"
    );
}

#[test]
fn datacenters() {
    let p: Page<Datacenter> = page("infrastructure_datacenter.xml");
    assert!(p.items.len() >= 2);
    assert_eq!(p.items.len() as u32, p.page_count);
    let na9: Page<Datacenter> = page("infrastructure_datacenter_NA9.xml");
    assert_eq!(na9.items[0].id, "NA9");
    assert_eq!(na9.items[0].country.as_deref(), Some("US"));
}

#[test]
fn images() {
    for f in [
        "image_osImage.xml",
        "2.4/image_osImage.xml",
        "image_customerImage.xml",
        "2.4/image_customerImage.xml",
    ] {
        let p: Page<Image> = page(f);
        assert!(!p.items.is_empty(), "{f}");
        assert!(
            p.items
                .iter()
                .all(|i| !i.id.is_empty() && !i.name.is_empty()),
            "{f}"
        );
    }
    let img: Image = one("2.4/image_osImage_c14b1a46_2428_44c1_9c1a_b20e6418d08c.xml");
    assert_eq!(img.id, "c14b1a46-2428-44c1-9c1a-b20e6418d08c");
    assert_eq!(img.os_family(), Some("UNIX"));
    assert_eq!(img.cpu.as_ref().unwrap().count, 2);
    assert_eq!(img.memory_gb, Some(4));
    let old: Image = one("image_osImage_c14b1a46_2428_44c1_9c1a_b20e6418d08c.xml");
    assert!(old.os_family().is_some());
    for f in [
        "image_osImage_6b4fb0c7_a57b_4f58_b59c_9958f94f971a.xml",
        "image_customerImage_2ffa36c8_1848_49eb_b4fa_9d908775f68c.xml",
        "image_customerImage_5234e5c7_01de_4411_8b6e_baeb8d91cf5d.xml",
        "2.4/image_customerImage_5234e5c7_01de_4411_8b6e_baeb8d91cf5d.xml",
    ] {
        let i: Image = one(f);
        assert!(!i.id.is_empty(), "{f}");
    }
}

#[test]
fn network_domains() {
    let p: Page<NetworkDomain> = page("network_networkDomain.xml");
    assert_eq!(p.items.len(), 5);
    assert_eq!(p.total_count, 5);
    assert_eq!(p.items[1].datacenter_id, "NA12");
    assert_eq!(p.items[0].plan.as_deref(), Some("ADVANCED"));
    assert_eq!(p.items[0].state, ResourceState::Normal);
    let d: NetworkDomain = one("network_networkDomain_8cdfd607_f429_4df6_9352_162cfc0891be.xml");
    assert_eq!(d.id, "8cdfd607-f429-4df6-9352-162cfc0891be");
}

#[test]
fn vlans() {
    let p: Page<Vlan> = page("network_vlan.xml");
    assert_eq!(p.items.len(), 2);
    let v = &p.items[0];
    assert_eq!(v.network_domain.id, "8cdfd607-f429-4df6-9352-162cfc0891be");
    assert_eq!(v.private_ipv4_range.address, "10.0.0.0");
    assert_eq!(v.private_ipv4_range.prefix_size, 24);
    assert_eq!(v.ipv4_gateway_address.as_deref(), Some("10.0.0.1"));
    assert_eq!(v.description.as_deref().unwrap_or(""), "");
    let one_vlan: Vlan = one("network_vlan_0e56433f_d808_4669_821d_812769517ff8.xml");
    assert!(one_vlan.ipv6_range.is_some());
}

#[test]
fn ip_blocks_nat_firewall() {
    let p: Page<PublicIpBlock> = page("network_publicIpBlock.xml");
    assert_eq!(p.items[0].base_ip, "168.128.4.18");
    assert_eq!(p.items[0].size, 2);
    assert_eq!(
        p.items[0].addresses(),
        vec![
            "168.128.4.18".parse::<std::net::Ipv4Addr>().unwrap(),
            "168.128.4.19".parse().unwrap()
        ]
    );
    for f in [
        "network_publicIpBlock_4487241a_f0ca_11e3_9315_d4bed9b167ba.xml",
        "network_publicIpBlock_9945dc4a_bdce_11e4_8c14_b8ca3a5d9ef8.xml",
    ] {
        let b: PublicIpBlock = one(f);
        assert_eq!(b.size, 2, "{f}");
    }
    let n: Page<NatRule> = page("network_natRule.xml");
    assert_eq!(n.items.len(), 2);
    assert_eq!(n.items[1].internal_ip, "10.0.0.16");
    assert_eq!(n.items[1].external_ip, "165.180.12.19");
    let _: NatRule = one("network_natRule_2187a636_7ebb_49a1_a2ff_5d617f496dce.xml");
    let f: Page<FirewallRule> = page("network_firewallRule.xml");
    let r = &f.items[0];
    assert_eq!(r.rule_type.as_deref(), Some("DEFAULT_RULE"));
    assert_eq!(r.destination.port.as_ref().unwrap().begin, 25);
    assert_eq!(r.source.ip.as_ref().unwrap().address, "ANY");
    assert!(r.enabled);
    let _: FirewallRule = one("network_firewallRule_d0a20f59_77b9_4f28_a63b_e58496b73a6c.xml");
}

#[test]
fn servers() {
    for f in [
        "server_server.xml",
        "2.4/server_server.xml",
        "server_server_paginated.xml",
        "2.4/server_server_paginated.xml",
        "server_server_NA3.xml",
        "2.4/server_server_NA3.xml",
    ] {
        let p: Page<Server> = page(f);
        assert!(!p.items.is_empty(), "{f}");
    }
    let empty: Page<Server> = page("server_server_paginated_empty.xml");
    assert!(empty.items.is_empty() && empty.is_last(250));
    // The status of each server (what waits decode) says what the whole server says of it.
    for f in ["2.4/server_server.xml", "2.4/server_server_paginated.xml"] {
        let whole: Page<Server> = page(f);
        let status: Page<ServerStatus> = page(f);
        assert_eq!(whole.items.len(), status.items.len(), "{f}");
        for (w, s) in whole.items.iter().zip(status.items) {
            let s = Server::from(s);
            assert_eq!(
                (&s.id, &s.name, s.private_ipv4(), &s.create_time),
                (&w.id, &w.name, w.private_ipv4(), &w.create_time),
                "{f}"
            );
            assert_eq!(
                (s.started, s.deployed, &s.state),
                (w.started, w.deployed, &w.state)
            );
            assert_eq!(
                (&s.progress, &s.network_info),
                (&w.progress, &w.network_info)
            );
        }
    }
    let p: Page<Server> = page("2.4/server_server.xml");
    let starting = &p.items[1];
    assert_eq!(starting.state, ResourceState::PendingAdd);
    assert_eq!(
        starting.pending_action(),
        Some("DEPLOY_SERVER_WITH_DISK_SPEED")
    );
    assert_eq!(
        starting.monitoring.as_ref().unwrap().service_plan,
        "ESSENTIALS"
    );
    let mcp2 = p.items.iter().find(|s| s.network_info.is_some()).unwrap();
    assert_eq!(mcp2.private_ipv4(), Some("10.0.4.8"));
    assert_eq!(
        mcp2.network_domain_id(),
        Some("553f26b6-2a73-42c3-a78b-6116f11291d0")
    );
    let s: Server = one("2.4/server_server_e75ead52_692f_4314_8725_c8a4f4d13a87.xml");
    assert_eq!(s.id, "e75ead52-692f-4314-8725-c8a4f4d13a87");
    assert!(s.cpu.is_some() && s.memory_gb.is_some());
    let _: Server = one("server_server_e75ead52_692f_4314_8725_c8a4f4d13a87.xml");
}

#[test]
fn envelopes_and_new_ids() {
    let cases = [
        ("network_deployNetworkDomain.xml", Some("networkDomainId")),
        ("network_deployVlan.xml", Some("vlanId")),
        ("network_addPublicIpBlock.xml", Some("ipBlockId")),
        ("network_createNatRule.xml", Some("natRuleId")),
        ("network_createFirewallRule.xml", Some("firewallRuleId")),
        ("server_deployServer.xml", Some("serverId")),
        ("server_addNic.xml", Some("nicId")),
        ("server_removeNic.xml", None),
        ("network_deleteNetworkDomain.xml", None),
        ("network_editNetworkDomain.xml", None),
        ("network_deleteVlan.xml", None),
        ("network_editVlan.xml", None),
        ("network_removePublicIpBlock.xml", None),
        ("network_deleteNatRule.xml", None),
        ("network_editFirewallRule.xml", None),
        ("network_deleteFirewallRule.xml", None),
        ("server_startServer.xml", None),
        ("server_shutdownServer.xml", None),
        ("server_powerOffServer.xml", None),
        ("server_rebootServer.xml", None),
        ("server_resetServer.xml", None),
        ("server_deleteServer.xml", None),
        ("server_cleanServer.xml", None),
        ("2.4/server_cleanServer.xml", None),
        ("server_enableServerMonitoring.xml", None),
        ("server_changeServerMonitoringPlan.xml", None),
        ("server_disableServerMonitoring.xml", None),
    ];
    for (f, info) in cases {
        let r: ApiResponse = one(f);
        assert!(
            matches!(r.response_code.as_str(), "OK" | "IN_PROGRESS"),
            "{f}: {}",
            r.response_code
        );
        if let Some(name) = info {
            assert!(
                r.info(name).is_some_and(|v| !v.is_empty()),
                "{f}: no {name}"
            );
        }
    }
    for f in [
        "server_deleteServer_RESOURCEBUSY.xml",
        "server_rebootServer_RESOURCEBUSY.xml",
        "server_startServer_INPROGRESS.xml",
        "server_shutdownServer_INPROGRESS.xml",
        "server_powerOffServer_INPROGRESS.xml",
    ] {
        let r: ApiResponse = one(f);
        assert_eq!(r.response_code, "RESOURCE_BUSY", "{f}");
    }
    for f in [
        "image_osImage_BAD_REQUEST.xml",
        "image_customerImage_BAD_REQUEST.xml",
    ] {
        let r: ApiResponse = one(f);
        assert_eq!(r.response_code, "RESOURCE_NOT_FOUND", "{f}");
    }
}

fn js(name: &str) -> serde_json::Value {
    let text =
        std::fs::read_to_string(format!("{JS}{name}")).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn js_items<T: DeserializeOwned>(name: &str, key: &str) -> Vec<T> {
    let v = js(name);
    serde_json::from_value(v[key].clone()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn js_one<T: DeserializeOwned>(name: &str) -> T {
    serde_json::from_value(js(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn json_samples_fit_the_same_types() {
    let d: Vec<NetworkDomain> = js_items(
        "domains__listNetworkDomainsTestResponse.json",
        "networkDomain",
    );
    assert!(!d.is_empty());
    let d: NetworkDomain = js_one("domains__networkDomainTestResponse.json");
    assert!(!d.id.is_empty());
    let v: Vec<Vlan> = js_items("vlans__listVLANsTestResponse.json", "vlan");
    assert!(!v.is_empty());
    let v: Vlan = js_one("vlans__getVLANTestResponse.json");
    assert!(v.private_ipv4_range.prefix_size > 0);
    let b: PublicIpBlock = js_one("ipblock__getPublicIPBlockResponse.json");
    assert_eq!(b.size, 2);
    let r: Vec<ReservedIp> = js_items("ipblock__listReservedPublicIPAddressesResponse.json", "ip");
    assert_eq!(r[0].value, "165.180.12.12");
    let i: Vec<Image> = js_items("os_images__findOSImageTestResponse.json", "osImage");
    assert!(i[0].os_family().is_some());
    for f in [
        "servers__getServerTestResponse.json",
        "servers__getServerTestResponseV2.json",
    ] {
        let s: Server = js_one(f);
        assert!(s.cpu.is_some(), "{f}");
    }
    for f in [
        "domains__deployNetworkDomainTestResponse.json",
        "domains__deleteNetworkDomainTestResponse.json",
        "domains__editNetworkDomainTestResponse.json",
        "ipblock__addPublicIPBlockResponse.json",
        "servers__deployServerTestResponse.json",
        "servers__deleteServerTestResponse.json",
        "vlans__deployVLANTestResponse.json",
        "vlans__deleteVLANTestResponse.json",
        "vlans__editVLANTestResponse.json",
    ] {
        let v = js(f);
        assert!(
            matches!(v["responseCode"].as_str(), Some("OK" | "IN_PROGRESS")),
            "{f}"
        );
    }
}
