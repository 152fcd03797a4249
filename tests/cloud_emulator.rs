//! The CloudControl client against the in-process emulator: every operation, waits, retries under
//! faults with fixed seeds, and lost answers to creates that are never blindly sent again.

mod engine_support;

use std::time::Duration;

use cloud::*;
use emulator::FaultSpec;
use engine_support::{assert_empty, fast_client as client, network_domain, start, vlan};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_round_trip() {
    let (emu, _dir) = start(0.001);
    let c = client(&emu);
    assert_eq!(c.org_id().await.unwrap(), emu.org_id());

    let dcs = c.list_datacenters().await.unwrap();
    assert!(dcs.iter().any(|d| d.id == "NA9"));
    assert_eq!(c.get_datacenter("EU6").await.unwrap().unwrap().id, "EU6");
    let images = c.list_os_images(Some("NA9")).await.unwrap();
    let ubuntu = images
        .iter()
        .find(|i| i.name.contains("Ubuntu 22.04"))
        .unwrap();
    assert_eq!(
        c.get_os_image(&ubuntu.id).await.unwrap().unwrap().name,
        ubuntu.name
    );
    assert!(
        c.get_os_image("00000000-0000-0000-0000-000000000000")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        c.get_customer_image("00000000-0000-0000-0000-000000000000")
            .await
            .unwrap()
            .is_none()
    );

    // Network domain.
    let dom = c
        .deploy_network_domain(&NewNetworkDomain {
            datacenter_id: "NA9".into(),
            name: "clientTest".into(),
            description: Some("d #plumbery".into()),
            plan: "ESSENTIALS".into(),
        })
        .await
        .unwrap();
    c.wait_network_domain(&dom, Wait::after(AsyncOp::DeployNetworkDomain))
        .await
        .unwrap();
    let d = c.get_network_domain(&dom).await.unwrap().unwrap();
    assert_eq!(d.state, ResourceState::Normal);
    c.edit_network_domain(&dom, None, Some("edited"), None)
        .await
        .unwrap();
    let listed = c
        .list_network_domains(&[("datacenterId", "NA9"), ("name", "clientTest")])
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].description.as_deref(), Some("edited"));
    let dup = c
        .deploy_network_domain(&NewNetworkDomain {
            datacenter_id: "NA9".into(),
            name: "clientTest".into(),
            description: None,
            plan: "ESSENTIALS".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(dup.code(), Some("NAME_NOT_UNIQUE"));

    // VLAN.
    let vlan = vlan(&c, &dom, "v1", "10.1.0.0").await;
    c.edit_vlan(&vlan, None, Some("vlan one")).await.unwrap();
    let v = c.get_vlan(&vlan).await.unwrap().unwrap();
    assert_eq!(v.private_ipv4_range.prefix_size, 24);
    assert_eq!(v.network_domain.id, dom);
    assert_eq!(
        c.list_vlans(&[("networkDomainId", &dom)])
            .await
            .unwrap()
            .len(),
        1
    );

    // Public IPs, NAT, firewall.
    let block = c.add_public_ip_block(&dom).await.unwrap();
    let b = c.get_public_ip_block(&block).await.unwrap().unwrap();
    assert_eq!(b.size, 2);
    assert!(b.base_ip.starts_with("127.77."));
    assert_eq!(c.list_public_ip_blocks(&dom).await.unwrap().len(), 1);
    let ext = b.addresses()[0].to_string();
    let nat = c
        .create_nat_rule(&dom, "10.1.0.50", Some(&ext))
        .await
        .unwrap();
    assert_eq!(
        c.get_nat_rule(&nat).await.unwrap().unwrap().external_ip,
        ext
    );
    assert_eq!(c.list_nat_rules(&dom).await.unwrap().len(), 1);
    let reserved = c.list_reserved_public_ipv4(&dom).await.unwrap();
    assert_eq!(reserved.len(), 1);
    assert_eq!(reserved[0].value, ext);
    let rule = c
        .create_firewall_rule(&NewFirewallRule {
            network_domain_id: dom.clone(),
            name: "Test01.TCPv4_22.plumbery".into(),
            action: "ACCEPT_DECISIVELY".into(),
            ip_version: "IPV4".into(),
            protocol: "TCP".into(),
            source: FirewallScope::default(),
            destination: FirewallScope {
                ip: Some(FirewallIp {
                    address: ext.clone(),
                    prefix_size: None,
                }),
                port: Some(FirewallPort {
                    begin: 22,
                    end: None,
                }),
                ..FirewallScope::default()
            },
            enabled: true,
            placement: Placement::Last,
        })
        .await
        .unwrap();
    c.wait_firewall_rule(&rule).await.unwrap();
    c.edit_firewall_rule(&rule, false).await.unwrap();
    let r = c.get_firewall_rule(&rule).await.unwrap().unwrap();
    assert!(!r.enabled);
    assert_eq!(r.destination.port.unwrap().begin, 22);
    let rules = c.list_firewall_rules(&dom).await.unwrap();
    assert!(rules.iter().any(|r| r.name.starts_with("CCDEFAULT.")));
    assert!(rules.iter().any(|r| r.id == rule));

    // Server.
    let srv = c
        .deploy_server(&NewServer {
            name: "s1".into(),
            description: "x".into(),
            image_id: ubuntu.id.clone(),
            start: true,
            administrator_password: Some(Secret::new("Passw0rd!")),
            cpu: Some(CpuSpec {
                count: 2,
                cores_per_socket: 1,
                speed: "STANDARD".into(),
            }),
            memory_gb: Some(4),
            network_domain_id: dom.clone(),
            primary_vlan_id: Some(vlan.clone()),
            primary_ipv4: None,
        })
        .await
        .unwrap();
    c.wait_server(
        &srv,
        Wait::after(AsyncOp::DeployServer { started: true }),
        Some(true),
    )
    .await
    .unwrap();
    let s = c.get_server(&srv).await.unwrap().unwrap();
    assert!(s.started && s.deployed);
    assert!(s.private_ipv4().unwrap().starts_with("10.1.0."));
    assert_eq!(
        c.list_servers(&[("networkDomainId", &dom)])
            .await
            .unwrap()
            .len(),
        1
    );
    c.enable_server_monitoring(&srv, "ESSENTIALS")
        .await
        .unwrap();
    c.change_server_monitoring_plan(&srv, "ADVANCED")
        .await
        .unwrap();
    assert_eq!(
        c.get_server(&srv)
            .await
            .unwrap()
            .unwrap()
            .monitoring
            .unwrap()
            .service_plan,
        "ADVANCED"
    );
    c.disable_server_monitoring(&srv).await.unwrap();
    assert!(
        c.get_server(&srv)
            .await
            .unwrap()
            .unwrap()
            .monitoring
            .is_none()
    );
    c.reboot_server(&srv).await.unwrap();
    c.wait_server(&srv, Wait::after(AsyncOp::RebootServer), Some(true))
        .await
        .unwrap();
    c.reset_server(&srv).await.unwrap();
    c.wait_server(&srv, Wait::after(AsyncOp::ResetServer), Some(true))
        .await
        .unwrap();
    c.shutdown_server(&srv).await.unwrap();
    c.wait_server(&srv, Wait::after(AsyncOp::ShutdownServer), Some(false))
        .await
        .unwrap();
    c.start_server(&srv).await.unwrap();
    c.wait_server(&srv, Wait::after(AsyncOp::StartServer), Some(true))
        .await
        .unwrap();
    let started = c.delete_server(&srv).await.unwrap_err();
    assert!(
        started.code().is_some(),
        "deleting a started server is refused: {started}"
    );
    c.power_off_server(&srv).await.unwrap();
    c.wait_server(&srv, Wait::after(AsyncOp::PowerOffServer), Some(false))
        .await
        .unwrap();
    assert!(
        c.clean_server(&srv).await.is_err(),
        "a NORMAL server cannot be cleaned"
    );
    c.delete_server(&srv).await.unwrap();
    c.wait_server(&srv, Wait::after(AsyncOp::DeleteServer), None)
        .await
        .unwrap();
    assert!(c.get_server(&srv).await.unwrap().is_none());

    // Teardown.
    c.delete_firewall_rule(&rule).await.unwrap();
    c.delete_nat_rule(&nat).await.unwrap();
    c.remove_public_ip_block(&block).await.unwrap();
    c.delete_vlan(&vlan).await.unwrap();
    c.wait_vlan(&vlan, Wait::after(AsyncOp::DeleteVlan))
        .await
        .unwrap();
    c.delete_network_domain(&dom).await.unwrap();
    c.wait_network_domain(&dom, Wait::after(AsyncOp::DeleteNetworkDomain))
        .await
        .unwrap();
    assert_empty(&emu, "teardown");
    // The pacer learned the time-scale from the waits.
    let scale = c.pacer().scale().unwrap();
    assert!(scale < 0.01, "scale {scale}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_reported() {
    let (emu, _dir) = start(0.001);
    let c = CloudClient::new(ClientConfig::new(
        emu.url(),
        "plumbery",
        Secret::new("nope"),
    ))
    .unwrap();
    let e = c.list_datacenters().await.unwrap_err();
    assert!(matches!(e, CloudError::Auth { status: 401 }), "{e}");
    assert!(!e.to_string().contains("nope"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_reads_every_page() {
    let (emu, _dir) = start(0.0);
    let c = client(&emu);
    let dom = network_domain(&c, "paging").await;
    // Default rules plus 260 client rules: more than one page of 250.
    let mut tasks = Vec::new();
    for i in 0..260u16 {
        let c = c.clone();
        let dom = dom.clone();
        tasks.push(tokio::spawn(async move {
            c.create_firewall_rule(&NewFirewallRule {
                network_domain_id: dom,
                name: format!("R{i}.TCPv4_{}.plumbery", 1000 + i),
                action: "ACCEPT_DECISIVELY".into(),
                ip_version: "IPV4".into(),
                protocol: "TCP".into(),
                source: FirewallScope::default(),
                destination: FirewallScope {
                    port: Some(FirewallPort {
                        begin: 1000 + i,
                        end: None,
                    }),
                    ..FirewallScope::default()
                },
                enabled: true,
                placement: Placement::Last,
            })
            .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let rules = c.list_firewall_rules(&dom).await.unwrap();
    let client_rules = rules
        .iter()
        .filter(|r| r.name.ends_with(".plumbery"))
        .count();
    assert_eq!(client_rules, 260);
    assert_eq!(
        rules.len() as u64,
        260 + emu.stats().resources.default_firewall_rule
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_under_faults_with_fixed_seeds() {
    let (emu, _dir) = start(0.001);
    let c = client(&emu);
    let dom = network_domain(&c, "faulty").await;
    for seed in [1u64, 2, 3] {
        emu.set_faults(
            FaultSpec {
                busy: 0.3,
                unexpected: 0.1,
                http503: 0.1,
                reset: 0.0,
                delay_ms: 0,
            },
            Some(seed),
        );
        // Reads and changes by id succeed despite the faults.
        for _ in 0..20 {
            c.get_network_domain(&dom).await.unwrap().unwrap();
            c.edit_network_domain(&dom, None, Some(&format!("seed {seed}")), None)
                .await
                .unwrap();
        }
        // Creates: refusals are retried; a 503 is an answer lost, so the caller observes first.
        let name = format!("Seed{seed}.TCPv4_22.plumbery");
        let mut created = None;
        for _ in 0..10 {
            let found = c
                .list_firewall_rules(&dom)
                .await
                .unwrap()
                .into_iter()
                .find(|r| r.name == name);
            if let Some(r) = found {
                created = Some(r.id);
                break;
            }
            match c
                .create_firewall_rule(&NewFirewallRule {
                    network_domain_id: dom.clone(),
                    name: name.clone(),
                    action: "ACCEPT_DECISIVELY".into(),
                    ip_version: "IPV4".into(),
                    protocol: "TCP".into(),
                    source: FirewallScope::default(),
                    destination: FirewallScope::default(),
                    enabled: true,
                    placement: Placement::Last,
                })
                .await
            {
                Ok(id) => {
                    created = Some(id);
                    break;
                }
                Err(e) => assert!(e.is_ambiguous(), "{e}"),
            }
        }
        assert!(created.is_some());
    }
    emu.set_faults(FaultSpec::default(), None);
    let codes = emu.stats().requests;
    assert!(codes.code("RESOURCE_BUSY") > 0, "{codes}");
    assert!(codes.code("UNEXPECTED_ERROR") > 0, "{codes}");
    let rules = c.list_firewall_rules(&dom).await.unwrap();
    assert_eq!(
        rules.iter().filter(|r| r.name.starts_with("Seed")).count(),
        3,
        "no duplicates"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_create_answer_is_not_resent() {
    let (emu, _dir) = start(0.001);
    let c = client(&emu);
    c.org_id().await.unwrap();
    emu.set_faults(
        FaultSpec {
            reset: 1.0,
            ..FaultSpec::default()
        },
        Some(7),
    );
    let before = emu.stats().requests.total;
    let e = c
        .deploy_network_domain(&NewNetworkDomain {
            datacenter_id: "NA9".into(),
            name: "lost".into(),
            description: None,
            plan: "ESSENTIALS".into(),
        })
        .await
        .unwrap_err();
    assert!(matches!(e, CloudError::AnswerLost { .. }), "{e}");
    let after = emu.stats().requests.total;
    assert_eq!(
        after - before,
        1,
        "exactly one deployNetworkDomain was sent"
    );
    emu.set_faults(FaultSpec::default(), None);
    // The change was applied: the domain exists once.
    let found = c.list_network_domains(&[("name", "lost")]).await.unwrap();
    assert_eq!(found.len(), 1);
    // A reset on an idempotent change is simply retried.
    emu.set_faults(
        FaultSpec {
            reset: 0.5,
            ..FaultSpec::default()
        },
        Some(3),
    );
    for i in 0..10 {
        c.edit_network_domain(&found[0].id, None, Some(&format!("edit {i}")), None)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_wait_has_a_timeout() {
    let (emu, _dir) = start(1.0);
    let mut cfg = ClientConfig::new(emu.url(), "plumbery", Secret::new("plumbery"));
    cfg.wait = WaitPolicy {
        min_step: Duration::from_millis(10),
        timeout_factor: 0.0001,
        min_timeout: Duration::from_millis(200),
    };
    let c = CloudClient::new(cfg).unwrap();
    let dom = c
        .deploy_network_domain(&NewNetworkDomain {
            datacenter_id: "NA9".into(),
            name: "slow".into(),
            description: None,
            plan: "ESSENTIALS".into(),
        })
        .await
        .unwrap();
    let t0 = std::time::Instant::now();
    let e = c
        .wait_network_domain(&dom, Wait::after(AsyncOp::DeployNetworkDomain))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CloudError::WaitTimeout { state, .. } if state == "PENDING_ADD"),
        "{e}"
    );
    assert!(t0.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardware_changes_round_trip() {
    let (emu, _dir) = start(0.001);
    let c = client(&emu);
    let image = c.list_os_images(Some("NA9")).await.unwrap()[0].id.clone();
    let dom = network_domain(&c, "hw").await;
    let vlan = vlan(&c, &dom, "v", "10.2.0.0").await;
    let srv = c
        .deploy_server(&NewServer {
            name: "hw".into(),
            description: String::new(),
            image_id: image,
            start: true,
            administrator_password: Some(Secret::new("Passw0rd!")),
            cpu: None,
            memory_gb: Some(2),
            network_domain_id: dom,
            primary_vlan_id: Some(vlan),
            primary_ipv4: None,
        })
        .await
        .unwrap();
    let after = |op| Wait::after(op);
    c.wait_server(&srv, after(AsyncOp::DeployServer { started: true }), None)
        .await
        .unwrap();
    c.reconfigure_server(
        &srv,
        &Reconfigure {
            cpu_count: Some(4),
            memory_gb: Some(8),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    c.wait_server(&srv, after(AsyncOp::ReconfigureServer), Some(true))
        .await
        .unwrap();
    let s = c.get_server(&srv).await.unwrap().unwrap();
    assert_eq!((s.cpu.unwrap().count, s.memory_gb), (4, Some(8)));
    let bad = c
        .reconfigure_server(
            &srv,
            &Reconfigure {
                memory_gb: Some(999),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some("INVALID_INPUT_DATA"));

    let disk = c.add_disk(&srv, 30, "STANDARD", Some(1)).await.unwrap();
    c.wait_server(&srv, after(AsyncOp::ChangeDisk), None)
        .await
        .unwrap();
    c.expand_disk(&disk, 40).await.unwrap();
    c.wait_server(&srv, after(AsyncOp::ChangeDisk), None)
        .await
        .unwrap();
    c.change_disk_speed(&disk, "HIGHPERFORMANCE").await.unwrap();
    c.wait_server(&srv, after(AsyncOp::ChangeDisk), None)
        .await
        .unwrap();
    let s = c.get_server(&srv).await.unwrap().unwrap();
    let d = s
        .disk
        .iter()
        .find(|d| d.id.as_deref() == Some(&disk))
        .unwrap();
    assert_eq!(
        (d.scsi_id, d.size_gb, d.speed.as_deref()),
        (Some(1), Some(40), Some("HIGHPERFORMANCE"))
    );
    let shrink = c.expand_disk(&disk, 10).await.unwrap_err();
    assert_eq!(shrink.code(), Some("INVALID_INPUT_DATA"));
    emu.shutdown();
}

/// The status listing waits read (its own fast XML reader) says of each server what the full
/// listing says: deployed and pending, started and stopped, with their NICs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_statuses_agree_with_the_full_listing() {
    let (emu, _dir) = start(0.002);
    let c = client(&emu);
    let dom = network_domain(&c, "statuses").await;
    let vlan = vlan(&c, &dom, "statuses", "10.9.0.0").await;
    let image = c.list_os_images(Some("NA9")).await.unwrap()[0].id.clone();
    let deploy = |name: &str, start: bool| NewServer {
        name: name.into(),
        description: "x & y".into(),
        image_id: image.clone(),
        start,
        administrator_password: Some(Secret::new("Passw0rd!")),
        cpu: None,
        memory_gb: Some(2),
        network_domain_id: dom.clone(),
        primary_vlan_id: Some(vlan.clone()),
        primary_ipv4: None,
    };
    let settled = c.deploy_server(&deploy("on", true)).await.unwrap();
    c.wait_server(
        &settled,
        Wait::after(AsyncOp::DeployServer { started: true }),
        Some(true),
    )
    .await
    .unwrap();
    // two more still deploying when listed: one to start, one not
    c.deploy_server(&deploy("a<b", true)).await.unwrap();
    c.deploy_server(&deploy("off", false)).await.unwrap();
    let filter = [("networkDomainId", dom.as_str())];
    let full = c.list_servers(&filter).await.unwrap();
    let statuses = c.list_server_statuses(&filter).await.unwrap();
    assert_eq!(full.len(), 3);
    assert_eq!(statuses.len(), 3);
    assert!(full.iter().any(|s| s.progress.is_some()), "{full:?}");
    for (f, s) in full.iter().zip(&statuses) {
        let as_server = Server::from(s.clone());
        assert_eq!(
            (&f.id, &f.name, &f.state, f.started, f.deployed),
            (&s.id, &s.name, &s.state, s.started, s.deployed)
        );
        assert_eq!(
            (&f.progress, &f.network_info),
            (&s.progress, &s.network_info)
        );
        assert_eq!(
            (&f.create_time, &f.datacenter_id),
            (&as_server.create_time, &as_server.datacenter_id)
        );
    }
}
