//! The rest of what real clients call: cloud backup (MCP 1.0), tags, IP address lists and port
//! lists, expandVlan, updateVmwareTools, and the MCP 1.0 server edit and disk changeSize and
//! changeSpeed. Each answer has the shape of its libcloud fixture; the rules hold (a server with
//! backup enabled cannot be deleted, NAME_NOT_UNIQUE, NO_CHANGE, HAS_DEPENDENCY for lists in use).

mod emulator_support;
#[path = "emulator_support/shape.rs"]
mod shape;

use emulator::http::Response;
use emulator_support::{Emu, NS, code, info, x};
use shape::shape;

const FX: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/libcloud-fixtures/"
);
const BK: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/libcloud-fixtures-backup/"
);

/// A NORMAL started server in a new domain; returns (domain, vlan, server).
fn server(e: &mut Emu) -> (String, String, String) {
    let d = e.domain("svc");
    let v = e.vlan(&d, "v", "10.0.0.0");
    let r = e.deploy_server("web", &d, &v, true);
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    let s = info(&r, "serverId");
    e.wait_state(&format!("server/server/{s}"), "NORMAL");
    (d, v, s)
}

fn oec(e: &mut Emu, post: Option<&str>, tail: &str) -> Response {
    let path = format!("/oec/0.9/{}/server/{tail}", e.emu().org_id());
    match post {
        Some(body) => e.c.post_xml(&path, body).unwrap(),
        None => e.c.get(&path, false).unwrap(),
    }
}

const BNS: &str = "http://oec.api.opsource.net/schemas/backup";

#[test]
fn backup_follows_the_mcp1_api() {
    let mut e = Emu::start(0.001);
    let (_, _, s) = server(&mut e);
    let mut p = Vec::new();
    let r = oec(&mut e, None, &format!("{s}/backup"));
    assert_eq!(r.status, 400);
    p.extend(shape(BK, "_backup_INFO_DISABLED.xml", &r, &[]));
    let enable = format!("<NewBackup xmlns=\"{BNS}\" servicePlan=\"Enterprise\"/>");
    let r = oec(&mut e, Some(&enable), &format!("{s}/backup"));
    assert_eq!(r.status, 200, "{}", r.body);
    p.extend(shape(BK, "_backup_ENABLE.xml", &r, &[]));
    let r = oec(&mut e, Some(&enable), &format!("{s}/backup"));
    assert_eq!(
        (r.status, x(&r)["resultCode"].as_str()),
        (400, Some("REASON_550"))
    );
    p.extend(shape(BK, "_backup_EXISTS.xml", &r, &[]));
    let r = e.get(&format!("server/server/{s}"));
    assert_eq!(x(&r)["backup"]["servicePlan"], "Enterprise", "{}", r.body);
    for (tail, fx) in [
        ("type", "_backup_client_type.xml"),
        ("storagePolicy", "_backup_client_storagePolicy.xml"),
        ("schedulePolicy", "_backup_client_schedulePolicy.xml"),
    ] {
        p.extend(shape(
            BK,
            fx,
            &oec(&mut e, None, &format!("{s}/backup/client/{tail}")),
            &[],
        ));
    }
    let add = format!(
        "<NewBackupClient xmlns=\"{BNS}\"><type>FA.Linux</type><storagePolicyName>14 Day Storage Policy</storagePolicyName><schedulePolicyName>12AM - 6AM</schedulePolicyName><alerting trigger=\"ON_FAILURE\"><emailAddress>a@example.com</emailAddress></alerting></NewBackupClient>"
    );
    let r = oec(&mut e, Some(&add), &format!("{s}/backup/client"));
    assert_eq!(r.status, 200, "{}", r.body);
    p.extend(shape(BK, "_backup_client_SUCCESS_PUT.xml", &r, &[]));
    let client = x(&r)["additionalInformation"][0]["value"]
        .as_str()
        .unwrap()
        .to_string();
    let r = oec(
        &mut e,
        Some(&add.replace("14 Day", "15 Day")),
        &format!("{s}/backup/client"),
    );
    assert_eq!(r.status, 400, "unknown storage policy: {}", r.body);
    let r = oec(&mut e, None, &format!("{s}/backup"));
    p.extend(shape(BK, "_backup_INFO.xml", &r, &["times", "runningJob"]));
    let counts = e.stats().services;
    assert_eq!((counts.backup, counts.backup_client), (1, 1), "{counts}");
    let r = oec(
        &mut e,
        None,
        &format!("{s}/backup/client/{client}?cancelJob"),
    );
    p.extend(shape(
        BK,
        "_backup_client_30b1ff76_c76d_4d7c_b39d_3b72be0384c8_cancelJob_FAIL.xml",
        &r,
        &[],
    ));
    let modify = format!("<ModifyBackup xmlns=\"{BNS}\" servicePlan=\"Advanced\"/>");
    p.extend(shape(
        BK,
        "_backup_modify.xml",
        &oec(&mut e, Some(&modify), &format!("{s}/backup/modify")),
        &[],
    ));
    // A server with backup cannot be deleted (stopped first, so only backup is in the way).
    let r = e.action("powerOffServer", &s);
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    e.wait_state(&format!("server/server/{s}"), "NORMAL");
    let r = e.action("deleteServer", &s);
    assert_eq!(code(&r), "HAS_DEPENDENCY", "{}", r.body);
    let r = oec(&mut e, None, &format!("{s}/backup/client/{client}?disable"));
    p.extend(shape(BK, "_remove_backup_client.xml", &r, &[]));
    let r = oec(&mut e, None, &format!("{s}/backup?disable"));
    p.extend(shape(BK, "_backup_DISABLE.xml", &r, &[]));
    assert!(p.is_empty(), "shape problems:\n{}", p.join("\n"));
    assert_eq!(e.stats().services.total(), 0, "{}", e.stats().services);
    let r = e.action("deleteServer", &s);
    assert_eq!(code(&r), "IN_PROGRESS", "{}", r.body);
    let r = oec(&mut e, None, "nosuch/backup");
    assert_eq!(x(&r)["resultCode"], "REASON_395");
    let r = oec(&mut e, None, &format!("{s}/nothing"));
    assert_eq!(r.status, 404);
}

fn tag_post(e: &mut Emu, op: &str, attrs: &str, inner: &str) -> Response {
    e.post(
        &format!("tag/{op}"),
        &format!("<{op} xmlns=\"{NS}\"{attrs}>{inner}</{op}>"),
    )
}

#[test]
fn tags_follow_the_fixtures() {
    let mut e = Emu::start(0.001);
    let (d, _, s) = server(&mut e);
    let mut p = Vec::new();
    let key = "<name>role</name><description>what it does</description><valueRequired>true</valueRequired><displayOnReport>true</displayOnReport>";
    let r = tag_post(&mut e, "createTagKey", "", key);
    p.extend(shape(FX, "tag_createTagKey.xml", &r, &[]));
    let k = info(&r, "tagKeyId");
    p.extend(shape(
        FX,
        "tag_createTagKey_BADREQUEST.xml",
        &tag_post(&mut e, "createTagKey", "", key),
        &[],
    ));
    let r = tag_post(
        &mut e,
        "createTagKey",
        "",
        "<name>free</name><valueRequired>false</valueRequired>",
    );
    let free = info(&r, "tagKeyId");
    p.extend(shape(FX, "tag_tagKey_list.xml", &e.get("tag/tagKey"), &[]));
    let r = e.get(&format!("tag/tagKey/{free}"));
    p.extend(shape(
        FX,
        "tag_tagKey_5ab77f5f_5aa9_426f_8459_4eab34e03d54.xml",
        &r,
        &[],
    ));
    let r = e.get("tag/tagKey/nosuch");
    p.extend(shape(
        FX,
        "tag_tagKey_5ab77f5f_5aa9_426f_8459_4eab34e03d54_BADREQUEST.xml",
        &r,
        &[],
    ));
    let attrs = format!(" id=\"{k}\"");
    p.extend(shape(
        FX,
        "tag_editTagKey.xml",
        &tag_post(&mut e, "editTagKey", &attrs, "<name>Role</name>"),
        &[],
    ));
    let r = tag_post(&mut e, "editTagKey", &attrs, "<name>Role</name>");
    assert_eq!(code(&r), "NO_CHANGE");
    p.extend(shape(FX, "tag_editTagKey_BADREQUEST.xml", &r, &[]));
    let apply = |asset_type: &str, id: &str, inner: &str| {
        format!("<assetType>{asset_type}</assetType><assetId>{id}</assetId>{inner}")
    };
    let inner = apply(
        "SERVER",
        &s,
        "<tag><tagKeyName>Role</tagKeyName><value>web</value></tag>",
    );
    p.extend(shape(
        FX,
        "tag_applyTags.xml",
        &tag_post(&mut e, "applyTags", "", &inner),
        &[],
    ));
    let inner2 = apply(
        "NETWORK_DOMAIN",
        &d,
        "<tag><tagKeyName>Role</tagKeyName><value>net</value></tag>",
    );
    assert_eq!(code(&tag_post(&mut e, "applyTags", "", &inner2)), "OK");
    let r = tag_post(
        &mut e,
        "applyTags",
        "",
        &apply("SERVER", &s, "<tag><tagKeyName>Nope</tagKeyName></tag>"),
    );
    p.extend(shape(FX, "tag_applyTags_BADREQUEST.xml", &r, &[]));
    let r = tag_post(
        &mut e,
        "applyTags",
        "",
        &apply("SERVER", &s, "<tag><tagKeyName>Role</tagKeyName></tag>"),
    );
    assert_eq!(
        code(&r),
        "INVALID_INPUT_DATA",
        "a value is required: {}",
        r.body
    );
    let r = e.get(&format!("tag/tag?assetId={s}"));
    p.extend(shape(FX, "tag_tag_list.xml", &r, &[]));
    assert_eq!(x(&r)["tag"]["value"], "web");
    assert_eq!(x(&r)["tag"]["assetName"], "web");
    let rm = apply("SERVER", &s, "<tagKeyName>Role</tagKeyName>");
    p.extend(shape(
        FX,
        "tag_removeTag.xml",
        &tag_post(&mut e, "removeTags", "", &rm),
        &[],
    ));
    p.extend(shape(
        FX,
        "tag_removeTag_BADREQUEST.xml",
        &tag_post(&mut e, "removeTags", "", &rm),
        &[],
    ));
    p.extend(shape(
        FX,
        "tag_deleteTagKey.xml",
        &tag_post(&mut e, "deleteTagKey", &attrs, ""),
        &[],
    ));
    let r = tag_post(&mut e, "deleteTagKey", &attrs, "");
    p.extend(shape(FX, "tag_deleteTagKey_BADREQUEST.xml", &r, &[]));
    assert_eq!(
        x(&e.get("tag/tag"))["totalCount"],
        "0",
        "a key's tags go with it"
    );
    assert!(p.is_empty(), "shape problems:\n{}", p.join("\n"));
}

#[test]
fn address_and_port_lists_follow_the_fixtures() {
    let mut e = Emu::start(0.001);
    let d = e.domain("lists");
    let mut p = Vec::new();
    let ips = "<ipAddress begin=\"190.1.1.0\"/><ipAddress begin=\"190.1.1.10\" end=\"190.1.1.20\"/><ipAddress begin=\"190.1.2.0\" prefixSize=\"24\"/>";
    let body = |name: &str, child: &str| {
        format!(
            "<createIpAddressList xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><name>{name}</name><description>x</description><ipVersion>IPV4</ipVersion>{ips}{child}</createIpAddressList>"
        )
    };
    let r = e.post("network/createIpAddressList", &body("a", ""));
    p.extend(shape(FX, "ip_address_list_create.xml", &r, &[]));
    let a = info(&r, "ipAddressListId");
    let r = e.post(
        "network/createIpAddressList",
        &body(
            "b",
            &format!("<childIpAddressListId>{a}</childIpAddressListId>"),
        ),
    );
    let b = info(&r, "ipAddressListId");
    assert_eq!(
        code(&e.post("network/createIpAddressList", &body("a", ""))),
        "NAME_NOT_UNIQUE"
    );
    p.extend(shape(
        FX,
        "ip_address_lists.xml",
        &e.get("network/ipAddressList"),
        &[],
    ));
    p.extend(shape(
        FX,
        "ip_address_lists_FILTERBYNAME.xml",
        &e.get("network/ipAddressList?name=b"),
        &[],
    ));
    let r = e.post(
        "network/deleteIpAddressList",
        &format!("<deleteIpAddressList xmlns=\"{NS}\" id=\"{a}\"/>"),
    );
    assert_eq!(code(&r), "HAS_DEPENDENCY", "a child of b: {}", r.body);
    let edit = format!(
        "<editIpAddressList xmlns=\"{NS}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" id=\"{b}\"><description>y</description><ipAddress begin=\"10.1.1.1\"/><childIpAddressListId xsi:nil=\"true\"/></editIpAddressList>"
    );
    p.extend(shape(
        FX,
        "ip_address_list_edit.xml",
        &e.post("network/editIpAddressList", &edit),
        &[],
    ));
    assert_eq!(
        x(&e.get(&format!("network/ipAddressList/{b}")))["ipAddress"]["begin"],
        "10.1.1.1"
    );
    let r = e.post(
        "network/deleteIpAddressList",
        &format!("<deleteIpAddressList xmlns=\"{NS}\" id=\"{a}\"/>"),
    );
    p.extend(shape(FX, "ip_address_list_delete.xml", &r, &[]));
    let ports = "<port begin=\"8000\" end=\"9600\"/><port begin=\"25\"/>";
    let body = |name: &str, child: &str| {
        format!(
            "<createPortList xmlns=\"{NS}\"><networkDomainId>{d}</networkDomainId><name>{name}</name><description>x</description>{ports}{child}</createPortList>"
        )
    };
    let r = e.post("network/createPortList", &body("web", ""));
    p.extend(shape(FX, "port_list_create.xml", &r, &[]));
    let w = info(&r, "portListId");
    let r = e.post(
        "network/createPortList",
        &body("all", &format!("<childPortListId>{w}</childPortListId>")),
    );
    let all = info(&r, "portListId");
    p.extend(shape(
        FX,
        "port_list_lists.xml",
        &e.get("network/portList"),
        &[],
    ));
    p.extend(shape(
        FX,
        "port_list_get.xml",
        &e.get(&format!("network/portList/{all}")),
        &[],
    ));
    let edit = format!(
        "<editPortList xmlns=\"{NS}\" id=\"{all}\"><description>z</description><port begin=\"443\"/></editPortList>"
    );
    p.extend(shape(
        FX,
        "port_list_edit.xml",
        &e.post("network/editPortList", &edit),
        &[],
    ));
    let r = e.post(
        "network/deletePortList",
        &format!("<deletePortList xmlns=\"{NS}\" id=\"{all}\"/>"),
    );
    p.extend(shape(FX, "port_list_delete.xml", &r, &[]));
    let r = e.post(
        "network/deleteNetworkDomain",
        &format!("<deleteNetworkDomain xmlns=\"{NS}\" id=\"{d}\"/>"),
    );
    assert_eq!(code(&r), "HAS_DEPENDENCY", "lists left: {}", r.body);
    assert!(p.is_empty(), "shape problems:\n{}", p.join("\n"));
}

#[test]
fn vlan_expand_vmware_tools_and_mcp1_server_calls() {
    let mut e = Emu::start(0.001);
    let (_, v, s) = server(&mut e);
    let mut p = Vec::new();
    let r = e.post("network/expandVlan", &format!("<expandVlan xmlns=\"{NS}\" id=\"{v}\"><privateIpv4PrefixSize>23</privateIpv4PrefixSize></expandVlan>"));
    p.extend(shape(FX, "network_expandVlan.xml", &r, &[]));
    let got = e.wait_state(&format!("network/vlan/{v}"), "NORMAL");
    assert_eq!(got["privateIpv4Range"]["prefixSize"], "23");
    let r = e.post("network/expandVlan", &format!("<expandVlan xmlns=\"{NS}\" id=\"{v}\"><privateIpv4PrefixSize>24</privateIpv4PrefixSize></expandVlan>"));
    assert_eq!(code(&r), "INVALID_INPUT_DATA", "never shrinks: {}", r.body);
    let r = e.action("updateVmwareTools", &s);
    p.extend(shape(FX, "server_updateVmwareTools.xml", &r, &[]));
    assert_eq!(
        x(&e.get(&format!("server/server/{s}")))["state"],
        "PENDING_CHANGE"
    );
    e.wait_state(&format!("server/server/{s}"), "NORMAL");
    let disk = x(&e.get(&format!("server/server/{s}")))["disk"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = oec(
        &mut e,
        Some(
            "<ChangeDiskSize xmlns=\"http://oec.api.opsource.net/schemas/server\"><newSizeGb>100</newSizeGb></ChangeDiskSize>",
        ),
        &format!("{s}/disk/{disk}/changeSize"),
    );
    p.extend(shape(FX, "oec_0_9_8a8f6abc_2745_4d8a_9cbc_8dabe5a7d0e4_server_e75ead52_692f_4314_8725_c8a4f4d13a87_disk_1_changeSize.xml", &r, &[]));
    let v = e.wait_state(&format!("server/server/{s}"), "NORMAL");
    assert_eq!(v["disk"]["sizeGb"], "100");
    // The MCP 1.0 path names the disk by its SCSI id too.
    let r = oec(
        &mut e,
        Some(
            "<ChangeDiskSpeed xmlns=\"http://oec.api.opsource.net/schemas/server\"><speed>HIGHPERFORMANCE</speed></ChangeDiskSpeed>",
        ),
        &format!("{s}/disk/0/changeSpeed"),
    );
    p.extend(shape(FX, "oec_0_9_8a8f6abc_2745_4d8a_9cbc_8dabe5a7d0e4_server_e75ead52_692f_4314_8725_c8a4f4d13a87_disk_1_changeSpeed.xml", &r, &[]));
    let v = e.wait_state(&format!("server/server/{s}"), "NORMAL");
    assert_eq!(v["disk"]["speed"], "HIGHPERFORMANCE");
    let r = oec(
        &mut e,
        Some("name=renamed&description=new+text&cpuCount=4"),
        &s,
    );
    p.extend(shape(FX, "oec_0_9_8a8f6abc_2745_4d8a_9cbc_8dabe5a7d0e4_server_e75ead52_692f_4314_8725_c8a4f4d13a87_POST.xml", &r, &[]));
    let v = e.wait_state(&format!("server/server/{s}"), "NORMAL");
    assert_eq!(
        (v["name"].as_str(), v["cpu"]["count"].as_str()),
        (Some("renamed"), Some("4"))
    );
    assert_eq!(v["description"], "new text");
    let r = oec(&mut e, Some("name="), &s);
    assert_eq!(r.status, 400, "an empty name is refused: {}", r.body);
    assert!(p.is_empty(), "shape problems:\n{}", p.join("\n"));
}
