//! The client's reserved private IPv4 calls against the in-process emulator: list, reserve,
//! unreserve, "already reserved" as success, an address held by a server as an error, and lost
//! answers (the change applied, the answer dropped) that must not fail the call.

mod engine_support;

use cloud::*;
use emulator::FaultSpec;
use engine_support::{fast_client as client, network_domain, start, vlan};

/// A NORMAL domain and VLAN 10.7.0.0/24; returns (domain id, VLAN id).
async fn network(c: &CloudClient) -> (String, String) {
    let dom = network_domain(c, "res").await;
    let vlan = vlan(c, &dom, "lan", "10.7.0.0").await;
    (dom, vlan)
}

async fn held(c: &CloudClient, vlan: &str) -> Vec<String> {
    let mut v: Vec<String> = c
        .list_reserved_private_ipv4(vlan)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.ip_address)
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_list_unreserve() {
    let (emu, _dir) = start(0.001);
    let c = client(&emu);
    let (dom, vlan) = network(&c).await;
    assert!(held(&c, &vlan).await.is_empty());
    c.reserve_private_ipv4(&vlan, "10.7.0.10", Some("#plumbery"))
        .await
        .unwrap();
    c.reserve_private_ipv4(&vlan, "10.7.0.11", None)
        .await
        .unwrap();
    let list = c.list_reserved_private_ipv4(&vlan).await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].vlan_id, vlan);
    assert_eq!(list[0].datacenter_id, "NA9");
    assert_eq!(list[0].description.as_deref(), Some("#plumbery"));
    // Reserving again is success: it is reserved on this VLAN.
    c.reserve_private_ipv4(&vlan, "10.7.0.10", None)
        .await
        .unwrap();
    assert_eq!(held(&c, &vlan).await, ["10.7.0.10", "10.7.0.11"]);
    // An address a server holds is an error, not "already reserved".
    let images = c.list_os_images(Some("NA9")).await.unwrap();
    let image = images.iter().find(|i| i.name.contains("Ubuntu")).unwrap();
    let sid = c
        .deploy_server(&NewServer {
            name: "holder".into(),
            description: String::new(),
            image_id: image.id.clone(),
            start: false,
            administrator_password: Some(Secret::new("Passw0rd-Here")),
            cpu: None,
            memory_gb: None,
            network_domain_id: dom.clone(),
            primary_vlan_id: Some(vlan.clone()),
            primary_ipv4: None,
        })
        .await
        .unwrap();
    let s = c.get_server(&sid).await.unwrap().unwrap();
    let ip = s.private_ipv4().unwrap().to_string();
    assert!(!["10.7.0.10", "10.7.0.11"].contains(&ip.as_str()), "{ip}");
    let e = c.reserve_private_ipv4(&vlan, &ip, None).await.unwrap_err();
    assert_eq!(e.code(), Some("IP_ADDRESS_NOT_UNIQUE"), "{e}");
    let e = c
        .reserve_private_ipv4(&vlan, "10.8.0.5", None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("IP_ADDRESS_OUT_OF_RANGE"), "{e}");
    c.unreserve_private_ipv4(&vlan, "10.7.0.11").await.unwrap();
    let e = c
        .unreserve_private_ipv4(&vlan, "10.7.0.11")
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert_eq!(held(&c, &vlan).await, ["10.7.0.10"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_do_not_fail_a_reserve() {
    let (emu, _dir) = start(0.001);
    let c = client(&emu);
    let (_dom, vlan) = network(&c).await;
    // Every successful change loses its answer: the reserve is applied, re-sent, refused as
    // IP_ADDRESS_NOT_UNIQUE, and found reserved on the VLAN.
    emu.set_faults(
        FaultSpec {
            reset: 1.0,
            ..FaultSpec::default()
        },
        Some(1),
    );
    c.reserve_private_ipv4(&vlan, "10.7.0.20", None)
        .await
        .unwrap();
    emu.set_faults(FaultSpec::default(), None);
    assert_eq!(held(&c, &vlan).await, ["10.7.0.20"]);
    // Mixed faults over several seeds: every call succeeds, no address is reserved twice.
    let want: Vec<String> = (30..40).map(|i| format!("10.7.0.{i}")).collect();
    for seed in 1..=4u64 {
        emu.set_faults(
            FaultSpec::parse("busy=0.2,unexpected=0.05,http503=0.05,reset=0.1").unwrap(),
            Some(seed),
        );
        for ip in &want {
            c.reserve_private_ipv4(&vlan, ip, Some("#plumbery"))
                .await
                .unwrap_or_else(|e| panic!("seed {seed} reserve {ip}: {e}"));
        }
        emu.set_faults(FaultSpec::default(), None);
        let mut expect = want.clone();
        expect.push("10.7.0.20".into());
        expect.sort();
        assert_eq!(held(&c, &vlan).await, expect, "seed {seed}");
        emu.set_faults(
            FaultSpec::parse("busy=0.2,unexpected=0.05,http503=0.05,reset=0.1").unwrap(),
            Some(seed + 100),
        );
        for ip in &want {
            match c.unreserve_private_ipv4(&vlan, ip).await {
                Ok(()) => {}
                // A re-sent unreserve whose first answer was lost.
                Err(e) if e.is_not_found() => {}
                Err(e) => panic!("seed {seed} unreserve {ip}: {e}"),
            }
        }
        emu.set_faults(FaultSpec::default(), None);
        assert_eq!(held(&c, &vlan).await, ["10.7.0.20"], "seed {seed}");
    }
    let codes = emu.stats().requests;
    assert!(
        codes.code("IP_ADDRESS_NOT_UNIQUE") > 0,
        "re-sent reserves were refused and observed: {codes}"
    );
}
