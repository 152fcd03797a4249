//! The client's load balancer, backup, tag, old-API disk and VMware tools calls against the
//! in-process emulator: each create answers an id that the lists and gets then show, the API's
//! dependency rules come back as `HAS_DEPENDENCY` (a pool with members, a server with backup), and
//! every delete leaves nothing.

mod engine_support;

use cloud::*;
use engine_support::{assert_empty, fast_client as client, network_domain, start, vlan};

/// A started server on VLAN `vlan` of `dom`; its id.
async fn server(c: &CloudClient, dom: &str, vlan: &str, name: &str) -> String {
    let images = c.list_os_images(Some("NA9")).await.unwrap();
    let image = images.iter().find(|i| i.name.contains("Ubuntu")).unwrap();
    let id = c
        .deploy_server(&NewServer {
            name: name.into(),
            description: String::new(),
            image_id: image.id.clone(),
            start: true,
            administrator_password: Some(Secret::new("Passw0rd!")),
            cpu: None,
            memory_gb: Some(2),
            network_domain_id: dom.into(),
            primary_vlan_id: Some(vlan.into()),
            primary_ipv4: None,
        })
        .await
        .unwrap();
    let w = Wait::after(AsyncOp::DeployServer { started: true });
    c.wait_server(&id, w, Some(true)).await.unwrap();
    id
}

async fn delete_server(c: &CloudClient, id: &str) {
    c.power_off_server(id).await.unwrap();
    c.wait_server(id, Wait::after(AsyncOp::PowerOffServer), Some(false))
        .await
        .unwrap();
    c.delete_server(id).await.unwrap();
    c.wait_server(id, Wait::after(AsyncOp::DeleteServer), None)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_balancer_round_trip() {
    let (emu, _dir) = start(0.001);
    let c = client(&emu);
    let dom = network_domain(&c, "lbClient").await;
    let v = vlan(&c, &dom, "lb", "10.90.0.0").await;
    let srv = server(&c, &dom, &v, "lb1").await;
    let ip = c.get_server(&srv).await.unwrap().unwrap();
    let ip = ip.private_ipv4().unwrap().trim().to_string();
    let block = c.add_public_ip_block(&dom).await.unwrap();

    let pool = c
        .create_vip_pool(&NewVipPool {
            network_domain_id: dom.clone(),
            name: "p.pool".into(),
            description: "d".into(),
            load_balance_method: "ROUND_ROBIN".into(),
            health_monitor_ids: Vec::new(),
            service_down_action: "NONE".into(),
            slow_ramp_time: 30,
        })
        .await
        .unwrap();
    c.wait_vip(VipKind::Pool, &pool, false).await.unwrap();
    let node = c
        .create_vip_node(&NewVipNode {
            network_domain_id: dom.clone(),
            name: ip.clone(),
            description: "lb1".into(),
            ipv4_address: ip.clone(),
            connection_limit: 25_000,
            connection_rate_limit: 2_000,
        })
        .await
        .unwrap();
    c.wait_vip(VipKind::Node, &node, false).await.unwrap();
    let member = c.add_pool_member(&pool, &node, None).await.unwrap();
    c.wait_vip(VipKind::PoolMember, &member, false)
        .await
        .unwrap();
    let (listener, addr) = c
        .create_virtual_listener(&NewVirtualListener {
            network_domain_id: dom.clone(),
            name: "l.balancer".into(),
            description: "#plumbery".into(),
            listener_type: "STANDARD".into(),
            protocol: "TCP".into(),
            listener_ip_address: None,
            port: Some(80),
            connection_limit: 25_000,
            connection_rate_limit: 2_000,
            source_port_preservation: "PRESERVE".into(),
            pool_id: pool.clone(),
        })
        .await
        .unwrap();
    c.wait_vip(VipKind::VirtualListener, &listener, false)
        .await
        .unwrap();

    assert_eq!(c.list_vip_pools(&dom).await.unwrap()[0].id, pool);
    assert_eq!(c.get_vip_pool(&pool).await.unwrap().unwrap().name, "p.pool");
    let n = c.get_vip_node(&node).await.unwrap().unwrap();
    assert_eq!(n.address().as_deref(), Some(ip.as_str()));
    assert_eq!(c.list_vip_nodes(&dom).await.unwrap().len(), 1);
    let members = c.list_pool_members(&[("poolId", &pool)]).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].node.id, node);
    assert_eq!(
        c.get_pool_member(&member).await.unwrap().unwrap().pool.id,
        pool
    );
    let l = c.get_virtual_listener(&listener).await.unwrap().unwrap();
    assert_eq!(l.address(), addr);
    assert_eq!(l.port, Some(80));
    assert_eq!(c.list_virtual_listeners(&dom).await.unwrap().len(), 1);
    let b = c.get_public_ip_block(&block).await.unwrap().unwrap();
    assert!(
        addr.unwrap()
            .starts_with(b.base_ip.trim().rsplit_once('.').unwrap().0)
    );

    // A pool with a listener and a member, a node in a pool: HAS_DEPENDENCY.
    let e = c.delete_vip_pool(&pool).await.unwrap_err();
    assert!(e.has_code(ErrorCode::HasDependency), "{e}");
    let e = c.delete_vip_node(&node).await.unwrap_err();
    assert!(e.has_code(ErrorCode::HasDependency), "{e}");
    c.delete_virtual_listener(&listener).await.unwrap();
    c.wait_vip(VipKind::VirtualListener, &listener, true)
        .await
        .unwrap();
    c.remove_pool_member(&member).await.unwrap();
    c.wait_vip(VipKind::PoolMember, &member, true)
        .await
        .unwrap();
    c.delete_vip_pool(&pool).await.unwrap();
    c.delete_vip_node(&node).await.unwrap();
    c.wait_vip(VipKind::Pool, &pool, true).await.unwrap();
    c.wait_vip(VipKind::Node, &node, true).await.unwrap();
    assert!(c.list_vip_pools(&dom).await.unwrap().is_empty());

    c.remove_public_ip_block(&block).await.unwrap();
    delete_server(&c, &srv).await;
    c.delete_vlan(&v).await.unwrap();
    c.wait_vlan(&v, Wait::after(AsyncOp::DeleteVlan))
        .await
        .unwrap();
    c.delete_network_domain(&dom).await.unwrap();
    c.wait_network_domain(&dom, Wait::after(AsyncOp::DeleteNetworkDomain))
        .await
        .unwrap();
    assert_empty(&emu, "after the load balancer round trip");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_tags_and_vmware_tools_round_trip() {
    let (emu, _dir) = start(0.001);
    let c = client(&emu);
    let dom = network_domain(&c, "bkClient").await;
    let v = vlan(&c, &dom, "bk", "10.91.0.0").await;
    let srv = server(&c, &dom, &v, "bk1").await;

    // Backup: none, enabled, a client, refused deletion, disabled.
    assert!(c.get_backup_details(&srv).await.unwrap().is_none());
    let asset = c.enable_backup(&srv, "Advanced").await.unwrap();
    assert!(!asset.is_empty());
    let again = c.enable_backup(&srv, "Advanced").await.unwrap_err();
    assert_eq!(again.code(), Some("REASON_550"), "{again}");
    let d = c.get_backup_details(&srv).await.unwrap().unwrap();
    assert_eq!(d.service_plan, "Advanced");
    let s = c.get_server(&srv).await.unwrap().unwrap();
    assert_eq!(s.backup.unwrap().service_plan, "Advanced");
    let types = c.list_backup_client_types(&srv).await.unwrap();
    let fs = types.iter().find(|t| t.is_file_system).unwrap();
    let storage = c.list_backup_storage_policies(&srv).await.unwrap();
    let schedule = c.list_backup_schedule_policies(&srv).await.unwrap();
    assert!(!storage.is_empty() && !schedule.is_empty());
    let client_id = c
        .add_backup_client(
            &srv,
            &NewBackupClient {
                client_type: fs.client_type.clone(),
                storage_policy: storage[0].name.clone(),
                schedule_policy: schedule[0].name.clone(),
                trigger: "ON_FAILURE".into(),
                email: Some("ops@example.com".into()),
            },
        )
        .await
        .unwrap()
        .unwrap();
    let d = c.get_backup_details(&srv).await.unwrap().unwrap();
    assert_eq!(d.clients.len(), 1);
    assert_eq!(d.clients[0].id, client_id);
    assert_eq!(d.clients[0].storage_policy, storage[0].name);
    c.modify_backup(&srv, "Enterprise").await.unwrap();

    // Tags: a key, applied to the server, listed, removed, the key deleted.
    let key = c.create_tag_key("role", "#role").await.unwrap();
    assert_eq!(c.get_tag_key(&key).await.unwrap().unwrap().name, "role");
    let e = c.create_tag_key("role", "again").await.unwrap_err();
    assert!(e.has_code(ErrorCode::NameNotUnique), "{e}");
    c.apply_tags("SERVER", &srv, &[("role", Some("web"))])
        .await
        .unwrap();
    let tags = c.list_tags(&[("assetId", &srv)]).await.unwrap();
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].tag_key_name, "role");
    assert_eq!(tags[0].value.as_deref(), Some("web"));
    c.remove_tags("SERVER", &srv, &["role"]).await.unwrap();
    assert!(c.list_tags(&[("assetId", &srv)]).await.unwrap().is_empty());
    c.delete_tag_key(&key).await.unwrap();
    assert!(
        c.list_tag_keys(&[("name", "role")])
            .await
            .unwrap()
            .is_empty()
    );

    // The old API's disk changes: grow disk 0 by 10 GB, then change its speed.
    let before = c.get_server(&srv).await.unwrap().unwrap().disk[0].clone();
    let size = before.size_gb.unwrap();
    c.oec_change_disk_size(&srv, "0", size + 10).await.unwrap();
    c.wait_server(&srv, Wait::after(AsyncOp::ChangeDisk), Some(true))
        .await
        .unwrap();
    c.oec_change_disk_speed(&srv, "0", "HIGHPERFORMANCE")
        .await
        .unwrap();
    c.wait_server(&srv, Wait::after(AsyncOp::ChangeDisk), Some(true))
        .await
        .unwrap();
    let after = c.get_server(&srv).await.unwrap().unwrap().disk[0].clone();
    assert_eq!(after.size_gb, Some(size + 10));
    assert_eq!(after.speed.as_deref(), Some("HIGHPERFORMANCE"));

    // VMware tools: reported, and the update runs as a server change.
    let s = c.get_server(&srv).await.unwrap().unwrap();
    assert!(s.vm_tools().is_some());
    c.update_vmware_tools(&srv).await.unwrap();
    c.wait_server(&srv, Wait::after(AsyncOp::Quick), Some(true))
        .await
        .unwrap();

    // A stopped server with backup cannot be deleted until its backup is disabled.
    c.power_off_server(&srv).await.unwrap();
    c.wait_server(&srv, Wait::after(AsyncOp::PowerOffServer), Some(false))
        .await
        .unwrap();
    let e = c.delete_server(&srv).await.unwrap_err();
    assert!(e.has_code(ErrorCode::HasDependency), "{e}");
    c.remove_backup_client(&srv, &client_id).await.unwrap();
    c.disable_backup(&srv).await.unwrap();
    assert!(c.get_backup_details(&srv).await.unwrap().is_none());
    c.delete_server(&srv).await.unwrap();
    c.wait_server(&srv, Wait::after(AsyncOp::DeleteServer), None)
        .await
        .unwrap();
    c.delete_vlan(&v).await.unwrap();
    c.wait_vlan(&v, Wait::after(AsyncOp::DeleteVlan))
        .await
        .unwrap();
    c.delete_network_domain(&dom).await.unwrap();
    c.wait_network_domain(&dom, Wait::after(AsyncOp::DeleteNetworkDomain))
        .await
        .unwrap();
    assert_empty(&emu, "after the backup round trip");
}
