//! The engine with `ethernet: reserved:` against the in-process emulator: deploy reserves exactly
//! the plan's addresses before any server takes one, a second deploy changes nothing, dispose
//! releases them and deletes the VLAN (a `destroy: never` VLAN keeps them), and the same under
//! faults over several seeds.

mod engine_support;

use std::collections::BTreeSet;
use std::time::Duration;

use emulator::FaultSpec;
use emulator::RunningEmulator;
use engine::{self, Action, Options, Step};
use engine_support::{
    MIXED_FAULTS, answers_with, change_requests, client, operation_count, options, resources,
    run_cut, run_ok, start,
};
use fittings::{Parameters, Plan, load_text};

/// The redis-cluster shape: one domain, a VLAN with reserved addresses (the first two are the
/// ones the emulator's allocator hands out first) holding three internet nodes, and a second VLAN
/// without reservations holding one node.
const PLAN: &str = r##"---
information:
  - "Redis nodes on a VLAN with reserved addresses"
---
locationId: NA12
blueprints:
  - redis:
      domain:
        name: ReservedFox
        description: "#redis"
        service: essentials
        ipv4: 8
      ethernet:
        name: ReservedNetwork
        subnet: 192.168.30.0
        reserved: [192.168.30.10, 192.168.30.11, 192.168.30.200]
        DESTROY
      nodes:
        - redis0[1..3]:
            description: "#redis #ubuntu"
            appliance: 'Ubuntu 22'
            cpu: 2
            memory: 4
            glue:
              - internet 22
  - admin:
      domain:
        name: ReservedFox
      ethernet:
        name: AdminNetwork
        subnet: 192.168.31.0
      nodes:
        - admin01:
            appliance: 'Ubuntu 22'
"##;

const RESERVED: [&str; 3] = ["192.168.30.10", "192.168.30.11", "192.168.30.200"];

fn plan(destroy_never: bool) -> Plan {
    let text = PLAN.replace(
        "        DESTROY\n",
        if destroy_never {
            "        destroy: never\n"
        } else {
            ""
        },
    );
    load_text("reserved.yaml", &text, &Parameters::new())
        .unwrap()
        .0
}

/// Every reservation of every VLAN, read through the API, as (VLAN name, address); the list keeps
/// duplicates if there were any.
async fn reservations(emu: &RunningEmulator) -> Vec<(String, String)> {
    let c = client(emu);
    let mut out = Vec::new();
    for v in c.list_vlans(&[]).await.unwrap() {
        for r in c.list_reserved_private_ipv4(&v.id).await.unwrap() {
            assert_eq!(r.vlan_id, v.id);
            out.push((v.name.clone(), r.ip_address));
        }
    }
    out.sort();
    out
}

fn planned_reservations() -> Vec<(String, String)> {
    RESERVED
        .iter()
        .map(|a| ("ReservedNetwork".to_string(), a.to_string()))
        .collect()
}

/// The deploy holds the plan's reservations exactly once, and no server holds a reserved address.
async fn assert_deployed(emu: &RunningEmulator, what: &str) {
    assert_eq!(reservations(emu).await, planned_reservations(), "{what}");
    let r = resources(emu);
    assert_eq!(r.reserved_private_ipv4, 3, "{what}: {r}");
    assert_eq!(r.server, 4, "{what}: {r}");
    assert_eq!(r.vlan, 2, "{what}: {r}");
    let stats = emu.stats();
    let held: BTreeSet<String> = stats
        .servers
        .into_iter()
        .flat_map(|s| s.private_ipv4)
        .collect();
    assert_eq!(held.len(), 4, "{what}: {held:?}");
    for a in RESERVED {
        assert!(!held.contains(a), "{what}: a server holds reserved {a}");
    }
    // The first addresses of the VLAN were reserved before any server was deployed on it, so the
    // allocator handed out others (it starts at .10).
    assert!(
        held.iter().any(|a| a.starts_with("192.168.30.")),
        "{held:?}"
    );
}

/// Nothing of the plan is left, reservations included.
fn assert_empty(emu: &RunningEmulator, what: &str) {
    engine_support::assert_empty(emu, what);
    let r = resources(emu);
    assert_eq!(
        r.reserved_private_ipv4, 0,
        "{what}: reservedPrivateIpv4: {r}"
    );
}

/// The VLAN ids named by the `vlanId` of every reservation list in the request log.
fn listed_vlan_ids(emu: &RunningEmulator) -> Vec<String> {
    let log = emu.state_dir().join("requests.log");
    // The log is written by a background thread: wait until the count matches the stats.
    let want = operation_count(emu, "LIST_RESERVED_PRIVATE_IPV4_ADDRESSES") as usize;
    let t0 = std::time::Instant::now();
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let ids: Vec<String> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["operation"] == "LIST_RESERVED_PRIVATE_IPV4_ADDRESSES")
            .map(|v| {
                let path = v["path"].as_str().unwrap().to_string();
                path.split(['?', '&'])
                    .find_map(|p| p.strip_prefix("vlanId="))
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        if ids.len() >= want {
            return ids;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the request log never caught up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_reserves_and_dispose_releases() {
    let (emu, _dir) = start(0.001);
    let plan = plan(false);
    let opts = options(emu.url());

    let report = run_ok(Action::Deploy, &plan, &opts, "deploy").await;
    // Lists made by the engine (the checks below list every VLAN themselves).
    let engine_lists = operation_count(&emu, "LIST_RESERVED_PRIVATE_IPV4_ADDRESSES") as usize;
    assert_deployed(&emu, "deploy").await;
    let steps = &report.locations[0].phases[0].steps;
    assert_eq!(
        steps
            .iter()
            .filter(|s| matches!(s.step, Step::ReservePrivateIpv4 { .. }))
            .count(),
        3
    );
    // Reservation lists only name the VLAN with reserved addresses (never AdminNetwork).
    let c = client(&emu);
    let vlans = c.list_vlans(&[]).await.unwrap();
    let reserved_vlan = vlans
        .iter()
        .find(|v| v.name == "ReservedNetwork")
        .unwrap()
        .id
        .clone();
    let listed = listed_vlan_ids(&emu)[..engine_lists].to_vec();
    assert!(!listed.is_empty());
    assert!(
        listed.iter().all(|id| *id == reserved_vlan),
        "{listed:?} vs {reserved_vlan}"
    );

    // A second deploy: no change request, one list per observation of the VLAN at most.
    let before = change_requests(&emu);
    let lists_before = operation_count(&emu, "LIST_RESERVED_PRIVATE_IPV4_ADDRESSES");
    let again = run_ok(Action::Deploy, &plan, &opts, "second deploy").await;
    assert_eq!(again.changes(), 0);
    assert_eq!(
        change_requests(&emu),
        before,
        "a second deploy makes no change request"
    );
    let lists = operation_count(&emu, "LIST_RESERVED_PRIVATE_IPV4_ADDRESSES") - lists_before;
    assert!((1..=2).contains(&lists), "{lists} reservation lists");
    assert_deployed(&emu, "redeploy").await;

    // Safe mode shows the releases before the VLAN deletion, and changes nothing.
    let safe = engine::run(
        Action::Dispose,
        &plan,
        &Options {
            safe: true,
            ..opts.clone()
        },
    )
    .await
    .unwrap();
    let steps = &safe.locations[0].phases[0].steps;
    assert_eq!(
        steps
            .iter()
            .filter(|s| matches!(s.step, Step::UnreservePrivateIpv4 { .. }))
            .count(),
        3
    );
    assert!(
        steps
            .iter()
            .any(|s| s.description.starts_with("release 192.168.30.10"))
    );
    // The same diff, read directly: the VLAN deletion waits for every release.
    let want = engine::desired(&plan.locations[0], &[]);
    let have = engine::observe(&c, &want, false).await.unwrap();
    let d = engine::diff(
        &want,
        &have,
        engine::Phase::Destroy {
            network: true,
            stop: true,
        },
    );
    let releases: Vec<usize> = d
        .plan
        .steps
        .iter()
        .filter(|s| matches!(s.step, Step::UnreservePrivateIpv4 { .. }))
        .map(|s| s.id)
        .collect();
    let delete = d
        .plan
        .steps
        .iter()
        .find(|s| matches!(&s.step, Step::DeleteVlan { vlan, .. } if vlan == "ReservedNetwork"))
        .unwrap();
    assert_eq!(releases.len(), 3);
    assert!(
        releases.iter().all(|r| delete.after.contains(r)),
        "{delete:?}"
    );
    assert_deployed(&emu, "safe dispose").await;

    run_ok(Action::Dispose, &plan, &opts, "dispose").await;
    assert_empty(&emu, "dispose");
    let twice = run_ok(Action::Dispose, &plan, &opts, "second dispose").await;
    assert_eq!(twice.changes(), 0);
    assert_empty(&emu, "dispose again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vlan_never_destroyed_keeps_its_reservations() {
    let (emu, _dir) = start(0.001);
    let plan = plan(true);
    let opts = options(emu.url());
    run_ok(Action::Deploy, &plan, &opts, "deploy").await;
    assert_deployed(&emu, "deploy").await;
    run_ok(Action::Dispose, &plan, &opts, "dispose").await;
    let res = resources(&emu);
    assert_eq!(res.server, 0, "{res}");
    assert_eq!(res.vlan, 1, "{res}");
    assert_eq!(res.network_domain, 1, "{res}");
    assert_eq!(reservations(&emu).await, planned_reservations());
    assert_eq!(
        operation_count(&emu, "UNRESERVE_PRIVATE_IPV4_ADDRESS"),
        0,
        "nothing released"
    );
}

async fn cycle_under_faults(seed: u64) {
    let (emu, _dir) = start(0.001);
    let plan = plan(false);
    let opts = options(emu.url());
    emu.set_faults(FaultSpec::parse(MIXED_FAULTS).unwrap(), Some(seed));
    run_ok(Action::Deploy, &plan, &opts, &format!("seed {seed}")).await;
    emu.set_faults(FaultSpec::default(), None);
    assert_deployed(&emu, &format!("seed {seed} deploy")).await;
    emu.set_faults(FaultSpec::parse(MIXED_FAULTS).unwrap(), Some(seed + 1000));
    run_ok(Action::Dispose, &plan, &opts, &format!("seed {seed}")).await;
    assert!(
        answers_with(&emu, "RESOURCE_BUSY") > 0,
        "seed {seed}: faults were injected: {}",
        emu.stats().requests
    );
    emu.set_faults(FaultSpec::default(), None);
    assert_empty(&emu, &format!("seed {seed} dispose"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_seeds_1_to_4() {
    for seed in 1..=4 {
        cycle_under_faults(seed).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_runs_converge_with_exact_reservations() {
    let (emu, _dir) = start(0.001);
    let plan = plan(false);
    let opts = options(emu.url());
    for cut_ms in [5u64, 30, 80, 200] {
        run_cut(Action::Deploy, &plan, &opts, cut_ms).await;
        run_ok(Action::Deploy, &plan, &opts, &format!("cut at {cut_ms} ms")).await;
        assert_deployed(&emu, &format!("deploy cut at {cut_ms} ms")).await;
        run_cut(Action::Dispose, &plan, &opts, cut_ms / 2).await;
        run_ok(
            Action::Dispose,
            &plan,
            &opts,
            &format!("dispose after cut at {cut_ms} ms"),
        )
        .await;
        assert_empty(&emu, &format!("dispose cut at {cut_ms} ms"));
    }
}

/// A reservation the plan does not make, on a VLAN whose plan has no `reserved:` list: dispose
/// sees it (reservations of every plan VLAN are listed when the network goes), keeps that VLAN
/// (and so the domain) with a note and succeeds, instead of failing on HAS_DEPENDENCY. Start and
/// stop list no reservation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_reservation_keeps_its_vlan_on_dispose() {
    let (emu, _dir) = start(0.001);
    let plan = plan(false);
    let opts = options(emu.url());
    let r = engine::run(Action::Deploy, &plan, &opts).await.unwrap();
    assert!(r.ok, "{}", serde_json::to_string_pretty(&r).unwrap());
    let c = client(&emu);
    let admin = c
        .list_vlans(&[("name", "AdminNetwork")])
        .await
        .unwrap()
        .remove(0);
    c.reserve_private_ipv4(&admin.id, "192.168.31.99", Some("someone else"))
        .await
        .unwrap();
    let lists = || operation_count(&emu, "LIST_RESERVED_PRIVATE_IPV4_ADDRESSES");
    let before = lists();
    for action in [Action::Stop, Action::Start] {
        let r = engine::run(action, &plan, &opts).await.unwrap();
        assert!(r.ok, "{}", serde_json::to_string_pretty(&r).unwrap());
    }
    assert_eq!(lists(), before, "start and stop list no reservation");
    let r = engine::run(Action::Dispose, &plan, &opts).await.unwrap();
    assert!(r.ok, "{}", serde_json::to_string_pretty(&r).unwrap());
    let notes: Vec<&String> = r.locations[0]
        .phases
        .iter()
        .flat_map(|p| &p.notes)
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("AdminNetwork") && n.contains("192.168.31.99")),
        "{notes:?}"
    );
    let res = resources(&emu);
    assert_eq!(res.server, 0, "{res}");
    assert_eq!(
        res.vlan, 1,
        "the VLAN with the foreign reservation stays: {res}"
    );
    assert_eq!(res.network_domain, 1, "{res}");
    assert_eq!(
        reservations(&emu).await,
        [("AdminNetwork".to_string(), "192.168.31.99".to_string())]
    );
}
