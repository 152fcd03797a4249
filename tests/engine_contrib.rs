//! Contrib plans with several locations or blueprints deploy and dispose on the emulator.

mod engine_support;

use engine::{self, Action, EventState, Options, Progress, Step};
use engine_support::{assert_empty, client, contrib, options, resources, run_ok, start};
use fittings::{Parameters, load_text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_locations_in_parallel() {
    let (emu, _dir) = start(0.001);
    let plan = contrib(
        "storage__nfs__fittings.yaml",
        &[("primaryId", "EU6"), ("secondaryId", "EU7")],
    );
    assert_eq!(plan.locations.len(), 2);
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = events.clone();
    let opts = Options {
        progress: Progress::callback(move |e| sink.lock().unwrap().push(e.clone())),
        ..options(emu.url())
    };
    let r = engine::run(Action::Deploy, &plan, &opts).await.unwrap();
    let steps: usize = r.locations.iter().map(|l| l.phases[0].steps.len()).sum();
    {
        let ev = events.lock().unwrap();
        let started = ev.iter().filter(|e| e.state == EventState::Started).count();
        let done = ev.iter().filter(|e| e.state == EventState::Done).count();
        assert_eq!((started, done), (steps, steps));
        assert!(ev.iter().any(|e| e.location == "EU7") && ev.iter().any(|e| e.location == "EU6"));
        assert!(ev.iter().all(|e| !e.line().contains("S3cret")));
    }
    assert!(r.ok, "{}", serde_json::to_string_pretty(&r).unwrap());
    assert_eq!(r.locations.len(), 2);
    let res = resources(&emu);
    assert_eq!(res.network_domain, 2, "{res}");
    assert_eq!(res.vlan, 2, "{res}");
    assert_eq!(res.server, 2, "{res}");
    for s in emu.stats().servers {
        assert!(s.started, "{s}");
    }
    // Each VLAN accepts the other location's VLAN: one IPv6 rule each (IPv4 does not cross
    // locations), its source the other VLAN's IPv6 range, looked up while both were being built.
    let c = client(&emu);
    for (here, there) in [("EU6", "EU7"), ("EU7", "EU6")] {
        let dom = &c
            .list_network_domains(&[("datacenterId", here)])
            .await
            .unwrap()[0];
        let rules = c.list_firewall_rules(&dom.id).await.unwrap();
        let name = format!(
            "From{}{}NfsnetworkToNfsnetwork.IPv6.plumbery",
            &there[..1],
            there[1..].to_lowercase()
        );
        let rule = rules
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("{name} missing in {here}: {rules:?}"));
        assert!(!rules.iter().any(|r| r.name.contains(".IP.plumbery")));
        let src_vlan = &c
            .list_vlans(&[("datacenterId", there), ("name", "NfsNetwork")])
            .await
            .unwrap()[0];
        let dst_vlan = &c
            .list_vlans(&[("datacenterId", here), ("name", "NfsNetwork")])
            .await
            .unwrap()[0];
        let src = rule.source.ip.as_ref().unwrap();
        let dst = rule.destination.ip.as_ref().unwrap();
        assert_eq!(src.address, src_vlan.ipv6_range.as_ref().unwrap().address);
        assert_eq!(dst.address, dst_vlan.ipv6_range.as_ref().unwrap().address);
        assert_eq!(rule.ip_version, "IPV6");
    }
    let again = engine::run(Action::Deploy, &plan, &options(emu.url()))
        .await
        .unwrap();
    assert_eq!(again.changes(), 0);
    // Only @EU7 is disposed: EU6 stays.
    let only = Options {
        locations: vec!["EU7".into()],
        ..opts.clone()
    };
    let r = run_ok(Action::Dispose, &plan, &only, "dispose of EU7").await;
    assert_eq!(r.locations.len(), 1);
    assert_eq!(resources(&emu).network_domain, 1);
    // EU6 alone again: its rule from EU7 is still there, and the missing EU7 VLAN is not waited for.
    let eu6 = Options {
        locations: vec!["EU6".into()],
        ..opts.clone()
    };
    let r = run_ok(Action::Deploy, &plan, &eu6, "deploy of EU6 alone").await;
    assert_eq!(r.changes(), 0);
    let r = run_ok(Action::Dispose, &plan, &opts, "dispose").await;
    // The rule from the other location is deleted by name (the original left it behind).
    assert!(r.locations[0].phases[0].steps.iter().any(|s| matches!(
        &s.step,
        Step::DeleteFirewallRule { rule, .. } if rule == "FromEu7NfsnetworkToNfsnetwork.IPv6.plumbery"
    )));
    assert_empty(&emu, "disposed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_blueprints_share_a_domain() {
    let (emu, _dir) = start(0.001);
    let plan = contrib("example__networks__fittings.yaml", &[]);
    let opts = options(emu.url());
    let r = run_ok(Action::Deploy, &plan, &opts, "deploy").await;
    let res = resources(&emu);
    assert_eq!(res.network_domain, 1, "{res}");
    assert_eq!(res.vlan, 3, "{res}");
    // The three VLAN deploys of one domain ran one after the other.
    let steps = &r.locations[0].phases[0].steps;
    let vlans: Vec<_> = steps
        .iter()
        .filter(|s| matches!(s.step, Step::CreateVlan { .. }))
        .collect();
    assert_eq!(vlans.len(), 3);
    // `primary .11` gives node1 a fixed address.
    let stats = emu.stats();
    let node1 = stats.server("node1").unwrap();
    assert_eq!(node1.private_ipv4[0], "10.1.0.11", "{node1}");
    // Its glue adds NICs on the two other VLANs, `.11` completed from each VLAN's subnet.
    assert_eq!(
        node1.private_ipv4,
        ["10.1.0.11", "10.2.0.11", "10.3.0.11"],
        "{node1}"
    );
    assert!(
        !r.locations[0].notes.iter().any(|n| n.contains("extra NIC")),
        "{:?}",
        r.locations[0].notes
    );

    // Dispose of one blueprint keeps the shared domain, and its VLAN, which node1's NIC still uses.
    let one = Options {
        blueprints: vec!["secondary".into()],
        ..opts.clone()
    };
    let r = run_ok(Action::Dispose, &plan, &one, "dispose of one blueprint").await;
    let res = resources(&emu);
    assert_eq!(res.network_domain, 1, "{res}");
    assert_eq!(res.server, 2, "{res}");
    assert_eq!(res.vlan, 3, "{res}");
    assert!(
        r.locations[0].phases[0]
            .notes
            .iter()
            .any(|n| n.contains("SecondaryNetwork") && n.contains("node1")),
        "{:?}",
        r.locations[0].phases[0].notes
    );
    run_ok(Action::Dispose, &plan, &opts, "dispose").await;
    assert_empty(&emu, "disposed");
}

const ACCEPT_PLAN: &str = r#"---
information:
  - "front accepts traffic from back"
---
locationId: EU6
blueprints:
  - back:
      domain:
        name: AcceptFox
      ethernet:
        name: back
        subnet: 10.60.1.0
      nodes:
        - db1:
            appliance: 'Ubuntu 22'
  - front:
      domain:
        name: AcceptFox
      ethernet:
        name: front
        subnet: 10.60.2.0
        accept:
          - back
      nodes:
        - web1:
            appliance: 'Ubuntu 22'
            glue:
              - internet 80 443 icmp
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_rules_between_vlans() {
    let (emu, _dir) = start(0.001);
    let plan = load_text("accept.yaml", ACCEPT_PLAN, &Parameters::new())
        .unwrap()
        .0;
    let opts = options(emu.url());
    run_ok(Action::Deploy, &plan, &opts, "deploy").await;
    let c = client(&emu);
    let dom = &c
        .list_network_domains(&[("name", "AcceptFox")])
        .await
        .unwrap()[0];
    let rules = c.list_firewall_rules(&dom.id).await.unwrap();
    let names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
    for n in [
        "FromBackToFront.IP.plumbery",
        "FromBackToFront.IPv6.plumbery",
        "Web1.TCPv4_80.plumbery",
        "Web1.TCPv4_443.plumbery",
        "Web1.ICMPv4_any.plumbery",
    ] {
        assert!(names.contains(&n), "{n} missing in {names:?}");
    }
    let v4 = rules
        .iter()
        .find(|r| r.name == "FromBackToFront.IP.plumbery")
        .unwrap();
    assert_eq!(v4.source.ip.as_ref().unwrap().address, "10.60.1.0");
    assert_eq!(v4.destination.ip.as_ref().unwrap().prefix_size, Some(24));
    // As in the original, accepting VLANs disables the default rule that denies inbound IPv6.
    let deny6 = rules
        .iter()
        .find(|r| r.name == "CCDEFAULT.DenyExternalInboundIPv6")
        .unwrap();
    assert!(!deny6.enabled, "{deny6:?}");
    assert_eq!(resources(&emu).nat_rule, 1);
    let again = engine::run(Action::Deploy, &plan, &opts).await.unwrap();
    assert_eq!(again.changes(), 0);
    run_ok(Action::Dispose, &plan, &opts, "dispose").await;
    assert_empty(&emu, "disposed");
}

const CROSS_TOKENS: &str = r#"---
information:
  - "a front node that names a node of another location in its cloud-config"
---
locationId: EU6
blueprints:
  - front:
      domain:
        name: CrossFox
      ethernet:
        name: front
        subnet: 10.61.1.0
      nodes:
        - web1:
            appliance: 'Ubuntu 22'
            cloud-config:
              runcmd:
                - "echo backend {{ EU7::db1.ipv6 }} {{ EU7::db1.private }} {{ EU7::db1.public }}"
---
locationId: EU7
blueprints:
  - back:
      domain:
        name: CrossFox
      ethernet:
        name: back
        subnet: 10.61.2.0
      nodes:
        - db1:
            appliance: 'Ubuntu 22'
            glue:
              - internet 22
"#;

/// `{{ EU7::db1.ipv6 }}` in a node of EU6: the facts of a node of another location are read
/// through the API of that location (the same endpoint here), with its public address from its
/// NAT rule; a node that is not deployed gives a line, not facts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_naming_nodes_of_another_location_get_their_facts() {
    use engine::remote::{RemoteNode, Remotes, referenced_nodes};
    let (emu, _dir) = start(0.001);
    let plan = load_text("cross.yaml", CROSS_TOKENS, &Parameters::new())
        .unwrap()
        .0;
    let eu6 = &plan.locations[0];
    let wanted: Vec<RemoteNode> = referenced_nodes(eu6).into_iter().collect();
    assert_eq!(
        wanted,
        [RemoteNode {
            region: None,
            location: "EU7".into(),
            name: "db1".into()
        }]
    );
    let remotes = Remotes::single(client(&emu));
    let (facts, lines) = remotes.referenced_facts(eu6).await;
    assert!(facts.is_empty());
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("db1") && lines[0].contains("not deployed"));

    let opts = options(emu.url());
    let r = engine::run(Action::Deploy, &plan, &opts).await.unwrap();
    assert!(r.ok, "{}", serde_json::to_string_pretty(&r).unwrap());
    let (facts, lines) = remotes.referenced_facts(eu6).await;
    assert!(lines.is_empty(), "{lines:?}");
    let f = &facts[&("EU7".to_string(), "db1".to_string())];
    let db1 = &client(&emu)
        .list_servers(&[("datacenterId", "EU7"), ("name", "db1")])
        .await
        .unwrap()[0];
    assert_eq!(f.id.as_deref(), Some(db1.id.as_str()));
    assert_eq!(f.ipv6.as_deref(), db1.ipv6());
    assert_eq!(f.private.as_deref(), db1.private_ipv4());
    let eu7 = &r.locations[1];
    let public = eu7.nodes[0].public_ipv4.clone();
    assert!(public.is_some());
    assert_eq!(f.public, public);
    let r = engine::run(Action::Dispose, &plan, &opts).await.unwrap();
    assert!(r.ok, "{}", serde_json::to_string_pretty(&r).unwrap());
    assert_empty(&emu, "after dispose");
}

/// One location deployed alone while the other does not exist yet: its rule from the other
/// location's VLAN is a note, not a step, so deploying it again changes nothing; once the other
/// location is deployed, the next deploy of the first creates the rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_from_a_location_not_deployed_waits_for_it() {
    let (emu, _dir) = start(0.001);
    let plan = contrib(
        "storage__nfs__fittings.yaml",
        &[("primaryId", "EU6"), ("secondaryId", "EU7")],
    );
    let at = |loc: &str| Options {
        locations: vec![loc.into()],
        ..options(emu.url())
    };
    let rule = "FromEu7NfsnetworkToNfsnetwork.IPv6.plumbery";
    let creates = |r: &engine::Report| {
        r.locations
            .iter()
            .flat_map(|l| &l.phases)
            .flat_map(|p| &p.steps)
            .filter(|s| matches!(&s.step, Step::CreateAcceptRule { rule: n, .. } if n == rule))
            .count()
    };
    let r = run_ok(Action::Deploy, &plan, &at("EU6"), "EU6 alone").await;
    assert_eq!(creates(&r), 0);
    let notes: Vec<&String> = r.locations[0]
        .phases
        .iter()
        .flat_map(|p| &p.notes)
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains(rule) && n.contains("no VLAN NfsNetwork in EU7")),
        "{notes:?}"
    );
    let again = run_ok(Action::Deploy, &plan, &at("EU6"), "EU6 again").await;
    assert_eq!(again.changes(), 0);
    run_ok(Action::Deploy, &plan, &at("EU7"), "EU7").await;
    let r = run_ok(Action::Deploy, &plan, &at("EU6"), "EU6 after EU7").await;
    assert_eq!(creates(&r), 1);
    assert_eq!(r.changes(), 1);
    run_ok(Action::Dispose, &plan, &options(emu.url()), "dispose").await;
    assert_empty(&emu, "after dispose");
}

const ONE_LOCATION_FAILS: &str = r#"---
information:
  - "two locations accept each other; the second one does not exist"
---
locationId: EU6
blueprints:
  - here:
      domain:
        name: BoardFox
      ethernet:
        name: net
        subnet: 10.62.1.0
        accept:
          - XX9::net
      nodes:
        - here1:
            appliance: 'Ubuntu 22'
---
locationId: XX9
blueprints:
  - there:
      domain:
        name: BoardFox
      ethernet:
        name: net
        subnet: 10.62.2.0
        accept:
          - EU6::net
      nodes:
        - there1:
            appliance: 'Ubuntu 22'
"#;

/// A location whose build fails (the API does not know XX9) ends the wait of the other one for
/// its VLAN: EU6 finishes every step (its rule from XX9 is not made, with a line) instead of
/// failing on a wait timeout; the run as a whole fails because XX9 did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_location_ends_the_wait_for_its_vlan() {
    let (emu, _dir) = start(0.001);
    let plan = load_text("board.yaml", ONE_LOCATION_FAILS, &Parameters::new())
        .unwrap()
        .0;
    let opts = options(emu.url());
    let r = engine::run(Action::Build, &plan, &opts).await.unwrap();
    assert!(!r.ok);
    let eu6 = r.locations.iter().find(|l| l.location_id == "EU6").unwrap();
    for s in eu6.phases.iter().flat_map(|p| &p.steps) {
        assert_eq!(
            s.status,
            engine::StepStatus::Done,
            "{}: {:?}",
            s.description,
            s.error
        );
    }
    let xx9 = r.locations.iter().find(|l| l.location_id == "XX9").unwrap();
    assert!(
        xx9.phases
            .iter()
            .flat_map(|p| &p.steps)
            .any(|s| s.status == engine::StepStatus::Failed)
    );
    run_ok(
        Action::Dispose,
        &plan,
        &Options {
            locations: vec!["EU6".into()],
            ..opts.clone()
        },
        "dispose EU6",
    )
    .await;
    assert_empty(&emu, "after dispose");
}

/// The contrib mqtt-swarm plan: `defaults.blueprints: queen drones` narrows "all" to five of its
/// nine locations (the `bees` ones are left out), every VLAN accepts the others (IPv6 rules across
/// locations, waited for while the run builds them; sources in the locations left out are notes).
/// Build, build again without a change, dispose to nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_swarm_builds_across_five_locations() {
    let (emu, _dir) = start(0.001);
    let plan = contrib("logging__mqtt-swarm__fittings.yaml", &[]);
    assert_eq!(plan.locations.len(), 9);
    let opts = options(emu.url());
    let r = run_ok(Action::Build, &plan, &opts, "build").await;
    let mut built: Vec<&str> = r.locations.iter().map(|l| l.location_id.as_str()).collect();
    built.sort_unstable();
    assert_eq!(built, ["AP3", "AU10", "AU11", "EU6", "NA12"]);
    let res = resources(&emu);
    assert_eq!(res.network_domain, 5, "{res}");
    assert_eq!(res.vlan, 5, "{res}");
    // Every built VLAN accepts the four other built ones (IPv6 only across locations).
    let c = client(&emu);
    for loc in &built {
        let dom = &c
            .list_network_domains(&[("datacenterId", loc)])
            .await
            .unwrap()[0];
        let rules = c.list_firewall_rules(&dom.id).await.unwrap();
        let from_built = rules
            .iter()
            .filter(|r| r.name.starts_with("From") && r.name.ends_with(".IPv6.plumbery"))
            .filter(|r| {
                built.iter().any(|b| {
                    r.name
                        .to_lowercase()
                        .starts_with(&format!("from{}", b.to_lowercase()))
                })
            })
            .count();
        // The queen's VLAN (AU10) accepts the four other built ones; each drone's accepts AU10.
        let want = if *loc == "AU10" { 4 } else { 1 };
        assert_eq!(from_built, want, "{loc}: {rules:?}");
        assert!(
            rules
                .iter()
                .all(|r| r.ip_version == "IPV6" || !r.name.starts_with("From"))
        );
    }
    // The queen's sources in the four locations left out are notes, not steps.
    let au10 = r
        .locations
        .iter()
        .find(|l| l.location_id == "AU10")
        .unwrap();
    let notes = au10
        .phases
        .iter()
        .flat_map(|p| &p.notes)
        .filter(|n| n.contains("not created: no VLAN"))
        .count();
    assert_eq!(notes, 4);
    let again = run_ok(Action::Build, &plan, &opts, "build again").await;
    assert_eq!(again.changes(), 0);
    run_ok(Action::Dispose, &plan, &opts, "dispose").await;
    assert_empty(&emu, "after dispose");
}
