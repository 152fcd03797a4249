//! Decodes the real load balancer (`networkDomainVip_*`), backup (`/oec/0.9` backup documents), tag
//! and VMware tools shapes of the libcloud fixtures into the client's types.

use serde::de::DeserializeOwned;

use super::backup::*;
use super::balancer::*;
use super::model::*;
use super::tags::{Tag, TagKey};
use super::wire::{self, ApiResponse, Page};

const CORPUS: &str = concat!(
    concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
    "/../shared/corpus/"
);

fn fx(name: &str) -> String {
    std::fs::read_to_string(format!("{CORPUS}{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn one<T: DeserializeOwned>(name: &str) -> T {
    wire::decode(name, &fx(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const LB: &str = "libcloud-fixtures-lb/networkDomainVip_";
const BK: &str = "libcloud-fixtures-backup/";

#[test]
fn pools() {
    let p: Page<VipPool> = one(&format!("{LB}pool.xml"));
    assert_eq!(p.items.len(), 2);
    let first = &p.items[0];
    assert_eq!(first.id, "4d360b1f-bc2c-4ab7-9884-1f03ba2768f7");
    assert_eq!(first.name, "myDevelopmentPool.1");
    assert_eq!(first.load_balance_method, "ROUND_ROBIN");
    assert_eq!(first.service_down_action.as_deref(), Some("RESELECT"));
    assert_eq!(first.slow_ramp_time, Some(10));
    assert_eq!(first.state, ResourceState::Normal);
    let one_pool: VipPool = one(&format!(
        "{LB}pool_4d360b1f_bc2c_4ab7_9884_1f03ba2768f7.xml"
    ));
    assert_eq!(one_pool.id, first.id);
}

#[test]
fn vip_nodes() {
    let p: Page<VipNode> = one(&format!("{LB}node.xml"));
    assert_eq!(p.items.len(), 2);
    assert_eq!(p.items[0].name, "ProductionNode.1");
    assert_eq!(p.items[0].address().as_deref(), Some("10.10.10.101"));
    assert_eq!(p.items[0].status.as_deref(), Some("ENABLED"));
    assert_eq!(p.items[1].address().as_deref(), Some("10.5.2.15"));
    let n: VipNode = one(&format!(
        "{LB}node_34de6ed6_46a4_4dae_a753_2f8d3840c6f9.xml"
    ));
    assert_eq!(n.id, "34de6ed6-46a4-4dae-a753-2f8d3840c6f9");
}

#[test]
fn pool_members() {
    let p: Page<PoolMember> = one(&format!("{LB}poolMember.xml"));
    assert_eq!(p.items.len(), 2);
    let m = &p.items[0];
    assert_eq!(m.pool.id, "4d360b1f-bc2c-4ab7-9884-1f03ba2768f7");
    assert_eq!(m.pool.name, "myDevelopmentPool.1");
    assert_eq!(m.node.id, "3c207269-e75e-11e4-811f-005056806999");
    assert_eq!(m.node.ip_address, "10.0.3.13");
    assert_eq!(m.port, Some(9889));
    assert_eq!(m.state, ResourceState::Normal);
    let one_m: PoolMember = one(&format!(
        "{LB}poolMember_3dd806a2_c2c8_4c0c_9a4f_5219ea9266c0.xml"
    ));
    assert_eq!(one_m.id, "3dd806a2-c2c8-4c0c-9a4f-5219ea9266c0");
}

#[test]
fn virtual_listeners() {
    let p: Page<VirtualListener> = one(&format!("{LB}virtualListener.xml"));
    let l = &p.items[0];
    assert_eq!(l.name, "myProduction.Virtual.Listener");
    assert_eq!(l.listener_type.as_deref(), Some("PERFORMANCE_LAYER_4"));
    assert_eq!(l.protocol.as_deref(), Some("HTTP"));
    assert_eq!(l.address().as_deref(), Some("165.180.12.22"));
    assert_eq!(l.port, Some(8899));
    assert!(l.enabled);
    assert_eq!(l.pool.as_ref().unwrap().name, "myProductionPool.1");
    let one_l: VirtualListener = one(&format!(
        "{LB}virtualListener_6115469d_a8bb_445b_bb23_d23b5283f2b9.xml"
    ));
    assert_eq!(one_l.id, "6115469d-a8bb-445b-bb23-d23b5283f2b9");
}

#[test]
fn vip_envelopes_and_new_ids() {
    let cases = [
        ("createPool", Some("poolId")),
        ("createNode", Some("nodeId")),
        ("addPoolMember", Some("poolMemberId")),
        ("createVirtualListener", Some("virtualListenerId")),
        ("deletePool", None),
        ("deleteNode", None),
        ("removePoolMember", None),
        ("deleteVirtualListener", None),
    ];
    for (op, info) in cases {
        let r: ApiResponse = one(&format!("{LB}{op}.xml"));
        assert!(r.response_code.is_success(), "{op}: {}", r.response_code);
        if let Some(name) = info {
            assert!(r.info(name).is_some_and(|v| !v.is_empty()), "{op}: {name}");
        }
    }
    let r: ApiResponse = one(&format!("{LB}createVirtualListener.xml"));
    assert_eq!(r.info("listenerIpAddress"), Some("165.180.12.22"));
}

#[test]
fn backup_details() {
    let d = decode_backup_details(&fx(&format!("{BK}_backup_INFO.xml"))).unwrap();
    assert_eq!(d.asset_id, "12769311-938c-4669-9460-7723eb194269");
    assert_eq!(d.service_plan, "Enterprise");
    assert_eq!(d.state, ResourceState::Normal);
    assert_eq!(d.clients.len(), 1);
    let c = &d.clients[0];
    assert_eq!(c.id, "30b1ff76-c76d-4d7c-b39d-3b72be0384c8");
    assert_eq!(c.client_type, "FA.Linux");
    assert!(c.is_file_system);
    assert_eq!(c.storage_policy, "14 Day Storage Policy");
    assert_eq!(c.schedule_policy, "12AM - 6AM");
    assert_eq!(c.trigger.as_deref(), Some("ON_FAILURE"));
    assert_eq!(c.emails.len(), 2);
    assert_eq!(c.running_job.as_ref().unwrap().percentage_complete, Some(5));
    let none = decode_backup_details(&fx(&format!("{BK}_backup_INFO_NOCLIENT.xml"))).unwrap();
    assert_eq!(none.service_plan, "Essentials");
    assert!(none.clients.is_empty());
    assert!(decode_backup_details(&fx(&format!("{BK}_backup_INFO_DISABLED.xml"))).is_err());
}

#[test]
fn backup_policies_and_types() {
    let t = decode_client_types(&fx(&format!("{BK}_backup_client_type.xml"))).unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].client_type, "FA.Linux");
    assert_eq!(t[0].description, "Linux File system");
    let s = decode_storage_policies(&fx(&format!("{BK}_backup_client_storagePolicy.xml"))).unwrap();
    assert_eq!(s[0].name, "30 Day Storage Policy + Secondary Copy");
    assert_eq!(s[0].retention_period_in_days, Some(30));
    let sc =
        decode_schedule_policies(&fx(&format!("{BK}_backup_client_schedulePolicy.xml"))).unwrap();
    assert_eq!(sc[0].name, "12AM - 6AM");
}

#[test]
fn backup_status_answers() {
    let ok = |f: &str| wire::decode_oec_status(&fx(&format!("{BK}{f}"))).unwrap();
    let en = ok("_backup_ENABLE.xml");
    assert!(!en.is_error());
    assert_eq!(
        en.info("assetId"),
        Some("ee7c4b64-f7af-4a4f-8384-be362273530f")
    );
    let add = ok("_backup_client_SUCCESS_PUT.xml");
    assert_eq!(
        add.info("backupClient.id"),
        Some("a26cead0-6bab-4446-9a16-c227e6ab201f")
    );
    for f in [
        "_backup_DISABLE.xml",
        "_remove_backup_client.xml",
        "_backup_modify.xml",
        "_backup_client_30b1ff76_c76d_4d7c_b39d_3b72be0384c8_cancelJob.xml",
    ] {
        assert!(!ok(f).is_error(), "{f}");
    }
    let exists = ok("_backup_EXISTS.xml");
    assert!(exists.is_error());
    assert_eq!(exists.code, "REASON_550");
    let disabled = ok("_backup_INFO_DISABLED.xml");
    assert!(disabled.is_error() && disabled.code == "REASON_543");
    for f in [
        "_remove_backup_client_FAIL.xml",
        "_backup_client_30b1ff76_c76d_4d7c_b39d_3b72be0384c8_cancelJob_FAIL.xml",
    ] {
        assert!(ok(f).is_error(), "{f}");
    }
    assert!(wire::decode_oec_status(&fx(&format!("{LB}createPool.xml"))).is_none());
}

#[test]
fn servers_show_backup_and_vm_tools() {
    let p: Page<Server> = one(&format!("{BK}server_server.xml"));
    let with = p.items.iter().filter(|s| s.backup.is_some()).count();
    assert!(with > 0);
    let b = p.items.iter().find_map(|s| s.backup.as_ref()).unwrap();
    assert!(!b.service_plan.is_empty());
    let p: Page<Server> = one("libcloud-fixtures/2.4/server_server.xml");
    let t = p.items.iter().find_map(|s| s.vm_tools()).unwrap();
    assert_eq!(t.version_status.as_deref(), Some("NEED_UPGRADE"));
    let old: Page<Server> = one("libcloud-fixtures/server_server.xml");
    assert!(old.items.iter().any(|s| s.vm_tools().is_some()));
    let r: ApiResponse = one("libcloud-fixtures/server_updateVmwareTools.xml");
    assert!(r.response_code.is_success());
}

#[test]
fn tags_and_tag_keys() {
    let keys: Page<TagKey> = one("libcloud-fixtures/tag_tagKey_list.xml");
    assert_eq!(keys.items.len(), 3);
    assert_eq!(keys.items[0].name, "AaronTestModified");
    assert_eq!(
        keys.items[0].description.as_deref(),
        Some("Testing for VMWare")
    );
    assert!(keys.items[0].value_required && keys.items[0].display_on_report);
    let k: TagKey = one("libcloud-fixtures/tag_tagKey_5ab77f5f_5aa9_426f_8459_4eab34e03d54.xml");
    assert_eq!(k.name, "LibcloudTest");
    let tags: Page<Tag> = one("libcloud-fixtures/tag_tag_list.xml");
    assert_eq!(tags.items.len(), 3);
    let t = &tags.items[0];
    assert_eq!(t.asset_type, "SERVER");
    assert_eq!(t.tag_key_name, "ChangeNameTest");
    assert_eq!(t.value.as_deref(), Some("No way!"));
    let r: ApiResponse = one("libcloud-fixtures/tag_createTagKey.xml");
    assert_eq!(
        r.info("tagKeyId"),
        Some("4f921962-402d-438d-aa37-6f6a0392a1a9")
    );
    for f in ["applyTags", "removeTag", "deleteTagKey", "editTagKey"] {
        let r: ApiResponse = one(&format!("libcloud-fixtures/tag_{f}.xml"));
        assert!(r.response_code.is_success(), "{f}");
    }
    let bad: ApiResponse = one("libcloud-fixtures/tag_applyTags_BADREQUEST.xml");
    assert!(!bad.response_code.is_success());
}

#[test]
fn old_api_disk_changes() {
    for op in ["changeSize", "changeSpeed"] {
        let f = format!(
            "libcloud-fixtures/oec_0_9_8a8f6abc_2745_4d8a_9cbc_8dabe5a7d0e4_server_e75ead52_692f_4314_8725_c8a4f4d13a87_disk_1_{op}.xml"
        );
        let st = wire::decode_oec_status(&fx(&f)).unwrap();
        assert!(!st.is_error(), "{op}");
        assert!(st.operation.starts_with("Change Server Disk"), "{op}");
    }
}
