//! Unit tests of the diff, on values: no runtime, no client. Inventories are built by hand.

use fittings::{Parameters, load_text};

use crate::desired::{Desired, desired};
use crate::diff::diff;
use crate::diff::outcome::Diff;
use crate::inventory::{Domain, DomainInventory, Image, Inventory, ReservedIpv4, State, Vlan};
use crate::phase::Phase;
use crate::steps::{Step, StepPlan};

mod redis {
    use super::*;

    fn redis() -> Desired {
        let path = concat!(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
            "/fittings/redis-cluster.yaml"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let plan = load_text(path, &text, &Parameters::new()).unwrap().0;
        desired(&plan.locations[0], &[])
    }

    fn image() -> Image {
        Image {
            id: "img-1".into(),
            name: "Ubuntu 22.04 64-bit 2 CPU".into(),
        }
    }

    fn count(d: &Diff, f: impl Fn(&Step) -> bool) -> usize {
        d.plan.steps.iter().filter(|s| f(&s.step)).count()
    }

    #[test]
    fn build_from_nothing() {
        let want = redis();
        let have = Inventory {
            location_id: "NA12".into(),
            domains: Vec::new(),
            images: vec![image()],
            ..Inventory::default()
        };
        let d = diff(&want, &have, Phase::Build { start: true });
        assert_eq!(count(&d, |s| matches!(s, Step::CreateDomain { .. })), 1);
        assert_eq!(count(&d, |s| matches!(s, Step::CreateVlan { .. })), 1);
        assert_eq!(
            count(&d, |s| matches!(s, Step::AddIpBlocks { count: 2, .. })),
            1
        );
        assert_eq!(
            count(&d, |s| matches!(s, Step::DeployServer { start: true, .. })),
            4
        );
        assert_eq!(count(&d, |s| matches!(s, Step::EnableMonitoring { .. })), 4);
        assert_eq!(count(&d, |s| matches!(s, Step::CreateNat { .. })), 4);
        let rules: Vec<&str> = d
            .plan
            .steps
            .iter()
            .filter_map(|s| match &s.step {
                Step::CreateFirewallRule { rule, .. } => Some(rule.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            rules,
            [
                "Redis01.TCPv4_22.plumbery",
                "Redis02.TCPv4_22.plumbery",
                "Redis03.TCPv4_22.plumbery",
                "Redis04.TCPv4_22.plumbery"
            ]
        );
        // Every dependency points backwards, so the plan is a DAG in step order.
        assert!(
            d.plan
                .steps
                .iter()
                .all(|s| s.after.iter().all(|a| *a < s.id))
        );
        // Servers wait for the VLAN; NAT waits for the IP blocks.
        let vlan = d
            .plan
            .steps
            .iter()
            .find(|s| matches!(s.step, Step::CreateVlan { .. }))
            .unwrap()
            .id;
        for s in &d.plan.steps {
            if matches!(s.step, Step::DeployServer { .. }) {
                assert!(s.after.contains(&vlan));
            }
            if matches!(s.step, Step::CreateNat { .. }) {
                assert!(s.after.len() >= 3, "{:?}", s.after);
            }
        }
    }

    #[test]
    fn nothing_to_destroy_in_an_empty_location() {
        let want = redis();
        let have = Inventory {
            location_id: "NA12".into(),
            ..Inventory::default()
        };
        let d = diff(
            &want,
            &have,
            Phase::Destroy {
                network: true,
                stop: true,
            },
        );
        assert!(d.plan.is_empty());
        let d = diff(&want, &have, Phase::Start);
        assert!(d.plan.is_empty());
        assert_eq!(d.notes.len(), 4);
    }

    #[test]
    fn unknown_appliance_is_a_note_not_a_step() {
        let mut want = redis();
        want.nodes[0].appliance = Some("Plan 9".into());
        let have = Inventory {
            location_id: "NA12".into(),
            domains: Vec::new(),
            images: vec![image()],
            ..Inventory::default()
        };
        let d = diff(&want, &have, Phase::Build { start: true });
        assert_eq!(count(&d, |s| matches!(s, Step::DeployServer { .. })), 3);
        assert!(d.notes.iter().any(|n| n.contains("Plan 9")));
    }
}

mod basement {
    use super::*;

    const PLAN: &str = r#"---
information:
  - "basement first"
---
locationId: EU6
basement: infra
blueprints:
  - app:
      domain:
        name: Fox
      ethernet:
        name: net
        subnet: 10.9.0.0
      nodes:
        - app1:
            appliance: 'Ubuntu'
  - infra:
      domain:
        name: Fox
      ethernet:
        name: net
        subnet: 10.9.0.0
      nodes:
        - dns1:
            appliance: 'Ubuntu'
"#;

    #[test]
    fn basement_servers_are_deployed_first() {
        let plan = load_text("b.yaml", PLAN, &Parameters::new()).unwrap().0;
        let want = desired(&plan.locations[0], &[]);
        assert_eq!(want.nodes[0].name, "dns1");
        let image = Image {
            id: "i".into(),
            name: "Ubuntu 22.04".into(),
        };
        let have = Inventory {
            location_id: "EU6".into(),
            domains: Vec::new(),
            images: vec![image],
            ..Inventory::default()
        };
        let d = diff(&want, &have, Phase::Build { start: true });
        let id_of = |node: &str, deploy: bool| {
            d.plan
                .steps
                .iter()
                .find(|s| match &s.step {
                    Step::DeployServer { node: n, .. } => deploy && n == node,
                    Step::AwaitServer { node: n, .. } => !deploy && n == node,
                    _ => false,
                })
                .unwrap()
                .clone()
        };
        let dns_ready = id_of("dns1", false).id;
        assert!(id_of("app1", true).after.contains(&dns_ready));
        // One domain and one VLAN although two blueprints name them.
        assert_eq!(
            d.plan
                .steps
                .iter()
                .filter(|s| matches!(s.step, Step::CreateVlan { .. }))
                .count(),
            1
        );
    }
}

mod reserved {
    use super::*;

    const PLAN: &str = r#"---
information:
  - "reserved addresses"
---
locationId: NA9
blueprints:
  - app:
      domain:
        name: Fox
      ethernet:
        name: net
        subnet: 10.9.0.0
        reserved: [10.9.0.10, 10.9.0.11]
      nodes:
        - app1:
            appliance: 'Ubuntu'
  - db:
      domain:
        name: Fox
      ethernet:
        name: net
        subnet: 10.9.0.0
        reserved: [10.9.0.11, 10.9.0.12]
      nodes:
        - db1:
            appliance: 'Ubuntu'
"#;

    fn desired() -> Desired {
        let plan = load_text("r.yaml", PLAN, &Parameters::new()).unwrap().0;
        crate::desired::desired(&plan.locations[0], &[])
    }

    fn inventory(reserved: &[&str]) -> Inventory {
        let mut domain = DomainInventory::new(Domain {
            id: "d1".into(),
            name: "Fox".into(),
            state: State::Normal,
        });
        domain.vlans.push(Vlan {
            id: "v1".into(),
            name: "net".into(),
            ipv4_base: "10.9.0.0".into(),
            ipv4_prefix: 24,
            state: State::Normal,
        });
        domain.reserved = reserved
            .iter()
            .map(|a| ReservedIpv4 {
                ip_address: a.to_string(),
                vlan_id: "v1".into(),
            })
            .collect();
        Inventory {
            location_id: "NA9".into(),
            domains: vec![domain],
            images: vec![Image {
                id: "i".into(),
                name: "Ubuntu 22.04".into(),
            }],
            ..Inventory::default()
        }
    }

    fn reserve_steps(plan: &StepPlan) -> Vec<(usize, String)> {
        plan.steps
            .iter()
            .filter_map(|s| match &s.step {
                Step::ReservePrivateIpv4 { ip, .. } => Some((s.id, ip.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn blueprints_sharing_a_vlan_merge_their_lists() {
        let want = desired();
        assert_eq!(want.vlans.len(), 1);
        assert_eq!(
            want.vlans[0].reserved,
            ["10.9.0.10", "10.9.0.11", "10.9.0.12"]
        );
    }

    #[test]
    fn reservations_come_after_the_vlan_and_before_every_server() {
        let want = desired();
        let have = Inventory {
            location_id: "NA9".into(),
            images: inventory(&[]).images,
            ..Inventory::default()
        };
        let d = diff(&want, &have, Phase::Build { start: true });
        let res = reserve_steps(&d.plan);
        assert_eq!(res.len(), 3);
        let vlan = d
            .plan
            .steps
            .iter()
            .find(|s| matches!(s.step, Step::CreateVlan { .. }))
            .unwrap()
            .id;
        assert!(d.plan.steps[res[0].0].after.contains(&vlan));
        let last = res.last().unwrap().0;
        for s in &d.plan.steps {
            if matches!(s.step, Step::DeployServer { .. }) {
                assert!(s.after.contains(&last), "{s:?}");
            }
        }
    }

    #[test]
    fn only_missing_addresses_are_reserved() {
        let want = desired();
        let d = diff(
            &want,
            &inventory(&["10.9.0.10", "10.9.0.12"]),
            Phase::Build { start: true },
        );
        let res: Vec<String> = reserve_steps(&d.plan).into_iter().map(|r| r.1).collect();
        assert_eq!(res, ["10.9.0.11"]);
        let d = diff(
            &want,
            &inventory(&["10.9.0.10", "10.9.0.11", "10.9.0.12"]),
            Phase::Build { start: true },
        );
        assert!(reserve_steps(&d.plan).is_empty());
    }

    #[test]
    fn destroy_releases_the_plans_addresses_before_the_vlan() {
        let want = desired();
        let destroy = Phase::Destroy {
            network: true,
            stop: true,
        };
        let d = diff(&want, &inventory(&["10.9.0.10", "10.9.0.12"]), destroy);
        let un: Vec<usize> = d
            .plan
            .steps
            .iter()
            .filter(|s| matches!(s.step, Step::UnreservePrivateIpv4 { .. }))
            .map(|s| s.id)
            .collect();
        assert_eq!(un.len(), 2);
        let del = d
            .plan
            .steps
            .iter()
            .find(|s| matches!(s.step, Step::DeleteVlan { .. }))
            .unwrap();
        assert!(un.iter().all(|u| del.after.contains(u)), "{del:?}");
        // An address the plan does not list keeps the VLAN (and the plan's reservations).
        let d = diff(&want, &inventory(&["10.9.0.10", "10.9.0.99"]), destroy);
        assert!(!d.plan.steps.iter().any(|s| matches!(
            s.step,
            Step::DeleteVlan { .. } | Step::UnreservePrivateIpv4 { .. }
        )));
        assert!(
            d.notes.iter().any(|n| n.contains("10.9.0.99")),
            "{:?}",
            d.notes
        );
    }
}

mod nics {
    use crate::diff::nics::full_address;
    use ipnet::Ipv4Net;
    use std::net::Ipv4Addr;

    #[test]
    fn addresses_are_completed_from_the_vlan() {
        let net: Ipv4Net = "10.0.2.0/24".parse().unwrap();
        assert_eq!(full_address(".20", &net), Some(Ipv4Addr::new(10, 0, 2, 20)));
        assert_eq!(
            full_address("10.0.2.7", &net),
            Some(Ipv4Addr::new(10, 0, 2, 7))
        );
        assert_eq!(full_address("10.0.3.7", &net), None);
        assert_eq!(full_address("nonsense", &net), None);
    }
}

/// A location where everything the plan asks for is there, as asked.
mod deployed {
    use super::*;
    use crate::inventory::{Cpu, Disk, FirewallRule, IpBlock, NatRule, Nic, Server};

    fn redis() -> Desired {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fittings/redis-cluster.yaml"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let plan = load_text(path, &text, &Parameters::new()).unwrap().0;
        desired(&plan.locations[0], &[])
    }

    /// The inventory of `want` fully deployed, servers `started` or not.
    fn deployed(want: &Desired, started: bool) -> Inventory {
        let mut domains = Vec::new();
        for (k, wd) in want.domains.iter().enumerate() {
            let mut d = DomainInventory::new(Domain {
                id: format!("dom-{k}"),
                name: wd.name.clone(),
                state: State::Normal,
            });
            for (j, wv) in want
                .vlans
                .iter()
                .filter(|v| v.domain == wd.name)
                .enumerate()
            {
                d.vlans.push(Vlan {
                    id: format!("vlan-{j}"),
                    name: wv.name.clone(),
                    ipv4_base: wv.base.clone(),
                    ipv4_prefix: wv.prefix,
                    state: State::Normal,
                });
            }
            let nodes = want.nodes.iter().filter(|n| n.domain == wd.name);
            for (i, n) in nodes.enumerate() {
                let ip = format!("10.0.0.{}", i + 10);
                d.servers.push(Server {
                    id: format!("srv-{i}"),
                    name: n.name.clone(),
                    state: State::Normal,
                    started,
                    cpu: n.cpu.as_ref().map(|(count, cores, speed)| Cpu {
                        count: *count,
                        cores_per_socket: Some(*cores),
                        speed: Some(speed.clone()),
                    }),
                    memory_gb: n.memory_gb,
                    disks: n
                        .disks
                        .iter()
                        .map(|(scsi, size, speed)| Disk {
                            scsi_id: Some(*scsi),
                            size_gb: Some(*size),
                            speed: Some(speed.clone()),
                        })
                        .collect(),
                    primary_nic: Some(Nic {
                        vlan_id: d.vlan(&n.vlan).map(|v| v.id.clone()),
                        vlan_name: None,
                        private_ipv4: Some(ip.clone()),
                    }),
                    monitoring: n.monitoring.clone(),
                    tags: n.tags.clone(),
                    ..Server::default()
                });
                if n.internet {
                    let external = format!("168.128.0.{i}");
                    if i % 2 == 0 {
                        d.ip_blocks.push(IpBlock {
                            id: format!("blk-{i}"),
                            base_ip: external.clone(),
                            size: 2,
                            create_time: None,
                        });
                    }
                    d.nat_rules.push(NatRule {
                        id: format!("nat-{i}"),
                        internal_ip: ip,
                        external_ip: external,
                        create_time: None,
                    });
                    for p in &n.ports {
                        d.firewall_rules.push(FirewallRule {
                            id: format!("fw-{}", p.rule),
                            name: p.rule.clone(),
                            rule_type: Some("CLIENT_RULE".into()),
                        });
                    }
                }
            }
            domains.push(d);
        }
        Inventory {
            location_id: want.location_id.clone(),
            domains,
            tag_keys: want.nodes.iter().flat_map(|n| n.tags.clone()).collect(),
            ..Inventory::default()
        }
    }

    fn ids(d: &Diff, f: impl Fn(&Step) -> bool) -> Vec<usize> {
        d.plan
            .steps
            .iter()
            .filter(|s| f(&s.step))
            .map(|s| s.id)
            .collect()
    }

    #[test]
    fn a_deployed_plan_builds_nothing() {
        let want = redis();
        let d = diff(&want, &deployed(&want, true), Phase::Build { start: true });
        assert!(d.plan.is_empty(), "{:?}", d.plan);
        assert!(d.notes.is_empty(), "{:?}", d.notes);
        // Stopped servers are started, nothing else.
        let d = diff(&want, &deployed(&want, false), Phase::Build { start: true });
        assert_eq!(d.plan.steps.len(), 4);
        assert_eq!(d.plan.changes(), 4);
        assert!(
            d.plan
                .steps
                .iter()
                .all(|s| matches!(s.step, Step::StartServer { .. }))
        );
    }

    #[test]
    fn dispose_deletes_everything_in_order() {
        let want = redis();
        let destroy = Phase::Destroy {
            network: true,
            stop: true,
        };
        let d = diff(&want, &deployed(&want, true), destroy);
        let stops = ids(&d, |s| matches!(s, Step::StopServer { .. }));
        let deletes = ids(&d, |s| matches!(s, Step::DeleteServer { .. }));
        let nats = ids(&d, |s| matches!(s, Step::DeleteNat { .. }));
        let blocks = ids(&d, |s| matches!(s, Step::RemoveIpBlock { .. }));
        let vlans = ids(&d, |s| matches!(s, Step::DeleteVlan { .. }));
        let domains = ids(&d, |s| matches!(s, Step::DeleteDomain { .. }));
        assert_eq!((stops.len(), deletes.len(), nats.len()), (4, 4, 4));
        assert_eq!((blocks.len(), vlans.len(), domains.len()), (2, 1, 1));
        assert_eq!(
            ids(&d, |s| matches!(s, Step::DeleteFirewallRule { .. })).len(),
            4
        );
        for (stop, del) in stops.iter().zip(&deletes) {
            assert!(d.plan.steps[*del].after.contains(stop));
        }
        // Each block waits for the deletions of the NAT rules on its two addresses, not others.
        let mut covered = Vec::new();
        for b in &blocks {
            let Step::RemoveIpBlock { base_ip, .. } = &d.plan.steps[*b].step else {
                unreachable!()
            };
            let base = u32::from(base_ip.parse::<std::net::Ipv4Addr>().unwrap());
            let after = &d.plan.steps[*b].after;
            assert_eq!(after.len(), 2, "{after:?}");
            for a in after {
                let Step::DeleteNat { external_ip, .. } = &d.plan.steps[*a].step else {
                    panic!("block {base_ip} waits for {:?}", d.plan.steps[*a].step)
                };
                let ip = u32::from(external_ip.parse::<std::net::Ipv4Addr>().unwrap());
                assert!(
                    ip.wrapping_sub(base) < 2,
                    "{external_ip} is not in {base_ip}"
                );
            }
            covered.extend(after.iter().copied());
        }
        covered.sort();
        assert_eq!(covered, nats);
        assert_eq!(d.plan.steps[vlans[0]].after, deletes);
        let last = &d.plan.steps[domains[0]];
        assert_eq!(last.id, d.plan.steps.len() - 1);
        assert_eq!(last.after.len(), d.plan.steps.len() - 1 - stops.len());
    }

    #[test]
    fn destroy_leaves_running_nodes_and_their_network() {
        let want = redis();
        let destroy = Phase::Destroy {
            network: true,
            stop: false,
        };
        let d = diff(&want, &deployed(&want, true), destroy);
        assert!(d.plan.is_empty(), "{:?}", d.plan);
        assert_eq!(
            d.notes.iter().filter(|n| n.contains("is running")).count(),
            4
        );
        assert!(
            d.notes
                .iter()
                .any(|n| n.contains("is not empty") && n.contains("kept")),
            "{:?}",
            d.notes
        );
    }

    #[test]
    fn stop_spares_running_always() {
        let mut want = redis();
        want.nodes[0].running_always = true;
        let d = diff(&want, &deployed(&want, true), Phase::Stop);
        assert_eq!(ids(&d, |s| matches!(s, Step::StopServer { .. })).len(), 3);
        assert!(d.notes.iter().any(|n| n.contains("runs always")));
        let d = diff(&want, &deployed(&want, false), Phase::Start);
        assert_eq!(ids(&d, |s| matches!(s, Step::StartServer { .. })).len(), 4);
    }

    #[test]
    fn a_foreign_nic_keeps_the_vlan() {
        let want = redis();
        let mut have = deployed(&want, false);
        let vlan = have.domains[0].vlans[0].id.clone();
        have.domains[0].servers.push(Server {
            id: "foreign".into(),
            name: "not-in-the-plan".into(),
            state: State::Normal,
            primary_nic: Some(Nic {
                vlan_id: Some("elsewhere".into()),
                ..Nic::default()
            }),
            additional_nics: vec![Nic {
                vlan_id: Some(vlan),
                ..Nic::default()
            }],
            ..Server::default()
        });
        let destroy = Phase::Destroy {
            network: true,
            stop: false,
        };
        let d = diff(&want, &have, destroy);
        assert_eq!(ids(&d, |s| matches!(s, Step::DeleteServer { .. })).len(), 4);
        assert!(ids(&d, |s| matches!(s, Step::DeleteVlan { .. })).is_empty());
        assert!(
            d.notes
                .iter()
                .any(|n| n.contains("still carries NICs of not-in-the-plan")),
            "{:?}",
            d.notes
        );
    }
}
