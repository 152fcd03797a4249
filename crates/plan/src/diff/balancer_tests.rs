//! Unit tests of the load balancer, backup and tag rules of the diff, on values: a blueprint with two
//! web nodes behind a balancer, one of them backed up with a client, both tagged by their
//! description's hashtags.

use fittings::{Parameters, load_text};

use crate::desired::{Desired, desired};
use crate::diff::diff;
use crate::diff::outcome::Diff;
use crate::inventory::*;
use crate::phase::Phase;
use crate::steps::Step;

const PLAN: &str = r##"---
information:
  - "balancer"
---
locationId: EU6
blueprints:
  - web:
      domain:
        name: Fox
      ethernet:
        name: net
        subnet: 10.9.0.0
      balancers:
        - http:
            port: 80
      pool:
        algorithm: least_connections
      nodes:
        - web1:
            appliance: 'Ubuntu'
            description: "#web #ubuntu"
            backup:
              plan: advanced
              clients:
                - type: filesystem
        - web2:
            appliance: 'Ubuntu'
            description: "front #web"
"##;

fn want() -> Desired {
    let plan = load_text("b.yaml", PLAN, &Parameters::new()).unwrap().0;
    desired(&plan.locations[0], &[])
}

fn count(d: &Diff, f: impl Fn(&Step) -> bool) -> usize {
    d.plan.steps.iter().filter(|s| f(&s.step)).count()
}

fn id_of(d: &Diff, f: impl Fn(&Step) -> bool) -> usize {
    d.plan.steps.iter().find(|s| f(&s.step)).unwrap().id
}

fn after(d: &Diff, id: usize) -> &[usize] {
    &d.plan.steps[id].after
}

fn server(id: &str, name: &str, ip: &str, backup: Option<ServerBackup>) -> Server {
    Server {
        id: id.into(),
        name: name.into(),
        state: State::Normal,
        started: true,
        primary_nic: Some(Nic {
            vlan_id: Some("v1".into()),
            vlan_name: Some("net".into()),
            private_ipv4: Some(ip.into()),
        }),
        backup,
        ..Server::default()
    }
}

/// Everything the plan asks for, built.
fn built() -> Inventory {
    let mut d = DomainInventory::new(Domain {
        id: "d1".into(),
        name: "Fox".into(),
        state: State::Normal,
    });
    d.vlans.push(Vlan {
        id: "v1".into(),
        name: "net".into(),
        ipv4_base: "10.9.0.0".into(),
        ipv4_prefix: 24,
        state: State::Normal,
    });
    let backup = ServerBackup {
        plan: "Advanced".into(),
        state: State::Normal,
        clients: Some(vec![BackupClient {
            id: "c1".into(),
            client_type: "FA.Linux".into(),
            description: "Linux File Agent".into(),
            is_file_system: true,
        }]),
    };
    d.servers = vec![
        server("s1", "web1", "10.9.0.10", Some(backup)),
        server("s2", "web2", "10.9.0.11", None),
    ];
    d.servers[0].tags = vec!["ubuntu".into(), "web".into()];
    d.servers[1].tags = vec!["web".into()];
    d.ip_blocks.push(IpBlock {
        id: "b1".into(),
        base_ip: "168.128.0.4".into(),
        size: 2,
        create_time: None,
    });
    d.pools.push(VipPool {
        id: "p1".into(),
        name: "web.eu6.pool".into(),
        state: State::Normal,
    });
    for (i, ip) in ["10.9.0.10", "10.9.0.11"].iter().enumerate() {
        d.vip_nodes.push(VipNode {
            id: format!("n{i}"),
            name: ip.to_string(),
            ip: ip.to_string(),
            state: State::Normal,
        });
        d.pool_members.push(PoolMember {
            id: format!("m{i}"),
            pool_id: "p1".into(),
            node_id: format!("n{i}"),
            ip: ip.to_string(),
        });
    }
    d.listeners.push(Listener {
        id: "l1".into(),
        name: "http.web.eu6.balancer".into(),
        ip: Some("168.128.0.4".into()),
        port: Some(80),
        state: State::Normal,
    });
    d.firewall_rules.push(FirewallRule {
        id: "r1".into(),
        name: "HttpWebEu6Balancer.80.plumbery".into(),
        rule_type: Some("CLIENT_RULE".into()),
    });
    Inventory {
        location_id: "EU6".into(),
        domains: vec![d],
        tag_keys: vec!["web".into(), "ubuntu".into(), "other".into()],
        ..Inventory::default()
    }
}

#[test]
fn the_desired_balancer_follows_the_original_names() {
    let w = want();
    let b = &w.balancers[0];
    assert_eq!(b.pool, "web.eu6.pool");
    assert_eq!(b.method, "LEAST_CONNECTIONS_MEMBER");
    assert_eq!(b.members, ["web1", "web2"]);
    assert_eq!(b.listeners[0].name, "http.web.eu6.balancer");
    assert_eq!(b.listeners[0].rule, "HttpWebEu6Balancer.80.plumbery");
    assert_eq!(b.listeners[0].protocol, "HTTP");
    let backup = w.nodes[0].backup.as_ref().unwrap();
    assert_eq!(backup.plan, "Advanced");
    assert_eq!(backup.clients[0].storage_policy, "14 Day Storage Policy");
}

#[test]
fn build_from_nothing() {
    let have = Inventory {
        location_id: "EU6".into(),
        images: vec![Image {
            id: "i".into(),
            name: "Ubuntu 22.04".into(),
        }],
        ..Inventory::default()
    };
    let d = diff(&want(), &have, Phase::Build { start: true });
    assert_eq!(count(&d, |s| matches!(s, Step::CreatePool { .. })), 1);
    assert_eq!(count(&d, |s| matches!(s, Step::CreateVipNode { .. })), 2);
    assert_eq!(count(&d, |s| matches!(s, Step::AddPoolMember { .. })), 2);
    assert_eq!(count(&d, |s| matches!(s, Step::CreateListener { .. })), 1);
    // One public address for the listener: one block.
    assert_eq!(
        count(&d, |s| matches!(s, Step::AddIpBlocks { count: 1, .. })),
        1
    );
    assert_eq!(count(&d, |s| matches!(s, Step::EnableBackup { .. })), 1);
    assert_eq!(count(&d, |s| matches!(s, Step::AddBackupClient { .. })), 1);
    let block = id_of(&d, |s| matches!(s, Step::AddIpBlocks { .. }));
    let pool = id_of(&d, |s| matches!(s, Step::CreatePool { .. }));
    let listener = id_of(&d, |s| matches!(s, Step::CreateListener { .. }));
    assert!(after(&d, listener).contains(&block) && after(&d, listener).contains(&pool));
    let rule = id_of(
        &d,
        |s| matches!(s, Step::CreateFirewallRule { rule, begin: Some(80), .. } if rule == "HttpWebEu6Balancer.80.plumbery"),
    );
    assert!(after(&d, rule).contains(&listener));
    for s in &d.plan.steps {
        if let Step::AddPoolMember { node, .. } = &s.step {
            let vip = id_of(
                &d,
                |x| matches!(x, Step::CreateVipNode { node: n, .. } if n == node),
            );
            assert!(s.after.contains(&vip) && s.after.contains(&pool));
        }
        assert!(s.after.iter().all(|a| *a < s.id));
    }
    let enable = id_of(&d, |s| matches!(s, Step::EnableBackup { .. }));
    let client = id_of(&d, |s| matches!(s, Step::AddBackupClient { .. }));
    assert!(after(&d, client).contains(&enable));
}

#[test]
fn a_built_balancer_and_backup_need_nothing() {
    let d = diff(&want(), &built(), Phase::Build { start: true });
    assert!(d.plan.is_empty(), "{:?}", d.plan.steps);
}

#[test]
fn missing_pieces_are_added_alone() {
    let mut have = built();
    let dom = &mut have.domains[0];
    dom.pool_members.retain(|m| m.ip != "10.9.0.11");
    dom.firewall_rules.clear();
    dom.servers[0].backup.as_mut().unwrap().clients = Some(Vec::new());
    let d = diff(&want(), &have, Phase::Build { start: true });
    let kinds: Vec<String> = d.plan.steps.iter().map(|s| s.step.describe()).collect();
    assert_eq!(
        kinds,
        [
            "add a filesystem backup client to web1",
            "add web2 to pool web.eu6.pool",
            "create firewall rule HttpWebEu6Balancer.80.plumbery",
        ]
    );
}

#[test]
fn destroy_takes_the_balancer_down_before_the_servers() {
    let d = diff(
        &want(),
        &built(),
        Phase::Destroy {
            network: true,
            stop: true,
        },
    );
    let listener = id_of(&d, |s| matches!(s, Step::DeleteListener { .. }));
    let pool = id_of(&d, |s| matches!(s, Step::DeletePool { .. }));
    let block = id_of(&d, |s| matches!(s, Step::RemoveIpBlock { .. }));
    assert!(after(&d, block).contains(&listener));
    assert_eq!(count(&d, |s| matches!(s, Step::RemovePoolMember { .. })), 2);
    for s in &d.plan.steps {
        if matches!(s.step, Step::RemovePoolMember { .. }) {
            assert!(s.after.contains(&listener));
            assert!(after(&d, pool).contains(&s.id));
        }
    }
    let backup_off = id_of(&d, |s| matches!(s, Step::DisableBackup { .. }));
    for (node, ip) in [("web1", "10.9.0.10"), ("web2", "10.9.0.11")] {
        let vip = id_of(
            &d,
            |s| matches!(s, Step::DeleteVipNode { ip: i, .. } if i == ip),
        );
        let del = id_of(
            &d,
            |s| matches!(s, Step::DeleteServer { node: n, .. } if n == node),
        );
        assert!(after(&d, del).contains(&vip), "{node}");
        if node == "web1" {
            assert!(after(&d, del).contains(&backup_off));
        }
    }
    assert_eq!(
        count(&d, |s| matches!(s, Step::DeleteFirewallRule { .. })),
        1
    );
    assert_eq!(count(&d, |s| matches!(s, Step::DeleteDomain { .. })), 1);
}

#[test]
fn refresh_keeps_listener_and_pool() {
    let d = diff(
        &want(),
        &built(),
        Phase::Destroy {
            network: false,
            stop: true,
        },
    );
    assert_eq!(count(&d, |s| matches!(s, Step::DeleteListener { .. })), 0);
    assert_eq!(count(&d, |s| matches!(s, Step::DeletePool { .. })), 0);
    assert_eq!(count(&d, |s| matches!(s, Step::RemovePoolMember { .. })), 2);
    assert_eq!(count(&d, |s| matches!(s, Step::DeleteVipNode { .. })), 2);
    assert_eq!(count(&d, |s| matches!(s, Step::DeleteServer { .. })), 2);
}

#[test]
fn hashtags_become_tag_keys_and_tags() {
    let w = want();
    assert_eq!(w.nodes[0].tags, ["web", "ubuntu"]);
    assert_eq!(w.nodes[1].tags, ["web"]);
    let have = Inventory {
        location_id: "EU6".into(),
        images: vec![Image {
            id: "i".into(),
            name: "Ubuntu 22.04".into(),
        }],
        tag_keys: vec!["web".into()],
        ..Inventory::default()
    };
    let d = diff(&w, &have, Phase::Build { start: true });
    let keys: Vec<&str> = d
        .plan
        .steps
        .iter()
        .filter_map(|s| match &s.step {
            Step::CreateTagKey { key } => Some(key.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(keys, ["ubuntu"], "only the missing key");
    let key = id_of(&d, |s| matches!(s, Step::CreateTagKey { .. }));
    let web1 = id_of(
        &d,
        |s| matches!(s, Step::ApplyTags { node, .. } if node == "web1"),
    );
    let await1 = id_of(
        &d,
        |s| matches!(s, Step::AwaitServer { node, .. } if node == "web1"),
    );
    assert!(after(&d, web1).contains(&key));
    assert!(after(&d, web1).iter().any(|a| *a >= await1));
    // A server holding some of its tags gets the others only.
    let mut have = built();
    have.domains[0].servers[0].tags = vec!["web".into()];
    let d = diff(&w, &have, Phase::Build { start: true });
    let kinds: Vec<String> = d.plan.steps.iter().map(|s| s.step.describe()).collect();
    assert_eq!(kinds, ["tag web1 with ubuntu"]);
}

#[test]
fn destroy_without_stop_keeps_the_members_of_running_servers() {
    // `destroy` (network, no stop): the running servers stay, so do their VIP nodes; the listener
    // and the pool go, taking the pool's members with them.
    let d = diff(
        &want(),
        &built(),
        Phase::Destroy {
            network: true,
            stop: false,
        },
    );
    assert_eq!(count(&d, |s| matches!(s, Step::DeleteServer { .. })), 0);
    assert_eq!(count(&d, |s| matches!(s, Step::DeleteVipNode { .. })), 0);
    assert_eq!(count(&d, |s| matches!(s, Step::DeleteListener { .. })), 1);
    assert_eq!(count(&d, |s| matches!(s, Step::DeletePool { .. })), 1);
    // `wipe` of stopped servers removes their members and VIP nodes.
    let mut have = built();
    for s in &mut have.domains[0].servers {
        s.started = false;
    }
    let d = diff(
        &want(),
        &have,
        Phase::Destroy {
            network: false,
            stop: false,
        },
    );
    assert_eq!(count(&d, |s| matches!(s, Step::RemovePoolMember { .. })), 2);
    assert_eq!(count(&d, |s| matches!(s, Step::DeleteVipNode { .. })), 2);
    assert_eq!(count(&d, |s| matches!(s, Step::DeletePool { .. })), 0);
}
