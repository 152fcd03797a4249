//! The engine attaches secondary NICs from `glue:` lines against the in-process emulator: a node of
//! VLAN `front` glued to `back .20` gets a NIC on `back` with that address (also when `back` is only
//! in the domain, not in the selected blueprints), a second deploy sends no change request, a NIC
//! with another address or on a network that is no VLAN of the domain is a note, dispose deletes
//! `back` only after the server with a NIC on it (twice is fine), keeps a VLAN a foreign server's
//! NIC still uses, and deploy/dispose under injected faults ends with exactly one NIC (3 seeds, 20
//! with `PLUMBERY_FULL_SUITE=1`).

use cloud::{AsyncOp, NewServer, NicTarget, Secret, Server, Wait};
use emulator::FaultSpec;
use emulator::RunningEmulator;
use engine::{self, Action, Options, Phase, Step};
use fittings::{Parameters, Plan, load_text};

mod engine_support;
use engine_support::{change_requests, fast_client, options, start};

/// Two blueprints in one domain: `web01` on `front` glued to `glue`, `db01` on `back`.
fn plan(glue: &str) -> Plan {
    let text = format!(
        r#"---
locationId: NA9
blueprints:
  - front:
      domain:
        name: NicDomain
        service: essentials
      ethernet:
        name: front
        subnet: 10.70.0.0
      nodes:
        - web01:
            appliance: 'Ubuntu 22'
            glue:
              - {glue}
  - back:
      domain:
        name: NicDomain
        service: essentials
      ethernet:
        name: back
        subnet: 10.71.0.0
      nodes:
        - db01:
            appliance: 'Ubuntu 22'
"#
    );
    load_text("nics.yaml", &text, &Parameters::new()).unwrap().0
}

async fn server(emu: &RunningEmulator, name: &str) -> Server {
    let all = fast_client(emu)
        .list_servers(&[("name", name)])
        .await
        .unwrap();
    assert_eq!(all.len(), 1, "{name}: {all:?}");
    all.into_iter().next().unwrap()
}

/// The secondary NICs of a server as (VLAN name, address).
fn nics(s: &Server) -> Vec<(String, String)> {
    s.additional_nics()
        .iter()
        .map(|n| {
            (
                n.vlan_name.clone().unwrap_or_default(),
                n.private_ipv4.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn assert_empty(emu: &RunningEmulator, context: &str) {
    let r = emu.stats().resources;
    for (k, n) in [
        ("networkDomain", r.network_domain),
        ("vlan", r.vlan),
        ("server", r.server),
    ] {
        assert_eq!(n, 0, "{context}: {k}: {r}");
    }
}

async fn run(action: Action, plan: &Plan, opts: &Options) -> engine::Report {
    let r = engine::run(action, plan, opts).await.unwrap();
    assert!(r.ok, "{}", serde_json::to_string_pretty(&r).unwrap());
    r
}

fn notes(r: &engine::Report) -> Vec<String> {
    r.locations
        .iter()
        .flat_map(|l| l.notes.iter().chain(l.phases.iter().flat_map(|p| &p.notes)))
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_glued_node_gets_its_nic_once_and_dispose_cleans_up() {
    let (emu, _dir) = start(0.001);
    let opts = options(emu.url());
    let plan = plan("back .20");

    // The back blueprint alone first: then `back` is a VLAN of the domain that the front blueprint
    // does not declare, and the NIC is attached to it all the same.
    let only = |bp: &str| Options {
        blueprints: vec![bp.into()],
        ..opts.clone()
    };
    run(Action::Deploy, &plan, &only("back")).await;
    let r = run(Action::Deploy, &plan, &only("front")).await;
    let steps = &r.locations[0].phases[0].steps;
    assert_eq!(
        steps
            .iter()
            .filter(|s| matches!(s.step, Step::AttachNic { .. }))
            .count(),
        1
    );
    let web = server(&emu, "web01").await;
    assert_eq!(nics(&web), vec![("back".into(), "10.71.0.20".into())]);
    assert!(web.started, "the node runs with its NIC");
    assert!(nics(&server(&emu, "db01").await).is_empty());
    let out = r.output.as_deref().unwrap_or_default();
    assert!(out.contains("nic: 10.71.0.20 on back"), "{out}");

    // Everything again: no change request at all.
    let before = change_requests(&emu);
    let r = run(Action::Deploy, &plan, &opts).await;
    assert_eq!(r.changes(), 0);
    assert_eq!(
        change_requests(&emu),
        before,
        "a second deploy changed something"
    );
    assert_eq!(nics(&server(&emu, "web01").await).len(), 1);

    let r = run(Action::Inventory, &plan, &opts).await;
    let yaml = r.output.unwrap();
    assert!(yaml.contains("extraNics"), "{yaml}");
    assert!(yaml.contains("10.71.0.20"), "{yaml}");

    // The plan's dispose: the back VLAN goes after web01, which has a NIC on it.
    let c = fast_client(&emu);
    let want = engine::desired(&plan.locations[0], &[]);
    let have = engine::observe(&c, &want, false).await.unwrap();
    let d = engine::diff(
        &want,
        &have,
        Phase::Destroy {
            network: true,
            stop: true,
        },
    );
    let id_of = |f: &dyn Fn(&Step) -> bool| d.plan.steps.iter().find(|s| f(&s.step)).unwrap();
    let del_web = id_of(&|s| matches!(s, Step::DeleteServer { node, .. } if node == "web01")).id;
    let del_back = id_of(&|s| matches!(s, Step::DeleteVlan { vlan, .. } if vlan == "back"));
    assert!(del_back.after.contains(&del_web), "{:?}", d.plan);

    run(Action::Dispose, &plan, &opts).await;
    assert_empty(&emu, "after dispose");
    run(Action::Dispose, &plan, &opts).await;
    assert_empty(&emu, "after a second dispose");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_addresses_and_unknown_networks_are_notes() {
    let (emu, _dir) = start(0.001);
    let opts = options(emu.url());
    run(Action::Deploy, &plan("back"), &opts).await;
    let web = server(&emu, "web01").await;
    let got = nics(&web);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "back");
    assert!(got[0].1.starts_with("10.71.0."), "{got:?}");

    // The NIC is there with another address than the plan now asks: left alone, with a note.
    let before = change_requests(&emu);
    let r = run(Action::Deploy, &plan("back 10.71.0.77"), &opts).await;
    assert_eq!(change_requests(&emu), before);
    let n = notes(&r);
    assert!(
        n.iter()
            .any(|l| l.contains("web01") && l.contains(&got[0].1) && l.contains("10.71.0.77")),
        "{n:?}"
    );
    // A network that is no VLAN of the domain, or an address outside the VLAN: notes, no step.
    for glue in ["nowhere .5", "back 10.99.0.5"] {
        let r = run(Action::Deploy, &plan(glue), &opts).await;
        assert_eq!(change_requests(&emu), before, "{glue}");
        let n = notes(&r);
        assert!(
            n.iter()
                .any(|l| l.contains("extra NIC") && l.contains("web01")),
            "{glue}: {n:?}"
        );
    }
    run(Action::Dispose, &plan("back"), &opts).await;
    assert_empty(&emu, "after dispose");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vlan_with_a_foreign_nic_is_kept() {
    let (emu, _dir) = start(0.001);
    let opts = options(emu.url());
    let plan = plan("back .20");
    run(Action::Deploy, &plan, &opts).await;
    // A server the plan does not know, on front, with a NIC on back.
    let c = fast_client(&emu);
    let web = server(&emu, "web01").await;
    let domain = web.network_domain_id().unwrap().to_string();
    let vlans = c.list_vlans(&[("networkDomainId", &domain)]).await.unwrap();
    let vlan = |name: &str| vlans.iter().find(|v| v.name == name).unwrap().id.clone();
    let image = web.source_image_id.clone().unwrap();
    let outsider = c
        .deploy_server(&NewServer {
            name: "outsider".into(),
            description: String::new(),
            image_id: image,
            start: false,
            administrator_password: Some(Secret::new("S3cret-Passw0rd")),
            cpu: None,
            memory_gb: None,
            network_domain_id: domain.clone(),
            primary_vlan_id: Some(vlan("front")),
            primary_ipv4: None,
        })
        .await
        .unwrap();
    c.wait_server(
        &outsider,
        Wait::after(AsyncOp::DeployServer { started: false }),
        None,
    )
    .await
    .unwrap();
    c.add_nic(&outsider, &NicTarget::Vlan(vlan("back")))
        .await
        .unwrap();
    c.wait_server(&outsider, Wait::after(AsyncOp::ChangeNic), None)
        .await
        .unwrap();

    let r = run(Action::Dispose, &plan, &opts).await;
    let n = notes(&r);
    assert!(
        n.iter().any(|l| l.contains("VLAN back")
            && l.contains("outsider")
            && l.contains("HAS_DEPENDENCY")),
        "{n:?}"
    );
    let res = emu.stats().resources;
    assert_eq!(res.server, 1, "{res}");
    assert_eq!(res.vlan, 2, "{res}");
    assert_eq!(res.network_domain, 1, "{res}");

    c.delete_server(&outsider).await.unwrap();
    c.wait_server(&outsider, Wait::after(AsyncOp::DeleteServer), None)
        .await
        .unwrap();
    run(Action::Dispose, &plan, &opts).await;
    assert_empty(&emu, "after the outsider went");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_and_dispose_under_faults() {
    let plan = plan("back .20");
    // 3 seeds in the quick slice, 20 with PLUMBERY_FULL_SUITE=1.
    let full = std::env::var("PLUMBERY_FULL_SUITE").is_ok_and(|v| v == "1");
    for seed in 1..=if full { 20u64 } else { 3 } {
        let context = format!("seed {seed}");
        let (emu, _dir) = start(0.001);
        let opts = options(emu.url());
        emu.set_faults(
            FaultSpec::parse("busy=0.2,unexpected=0.05,http503=0.05,reset=0.02").unwrap(),
            Some(seed),
        );
        let r = engine::run(Action::Deploy, &plan, &opts).await.unwrap();
        assert!(
            r.ok,
            "{context}: deploy: {}",
            serde_json::to_string_pretty(&r).unwrap()
        );
        let all = fast_client(&emu).list_servers(&[]).await.unwrap();
        assert_eq!(all.len(), 2, "{context}");
        let extra: Vec<(String, String)> = all.iter().flat_map(nics).collect();
        assert_eq!(
            extra,
            vec![("back".into(), "10.71.0.20".into())],
            "{context}"
        );
        let r = engine::run(Action::Dispose, &plan, &opts).await.unwrap();
        assert!(
            r.ok,
            "{context}: dispose: {}",
            serde_json::to_string_pretty(&r).unwrap()
        );
        assert_empty(&emu, &context);
    }
}
