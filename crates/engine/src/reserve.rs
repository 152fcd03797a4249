//! Reserved private IPv4 addresses (`ethernet: reserved:`), end to end in the engine: what the plan
//! wants per VLAN, the one list call per VLAN that has a `reserved` list, the steps that reserve
//! missing addresses right after the VLAN (before any server is deployed on it, so automatic
//! allocation cannot take them) and release the plan's addresses before the VLAN is deleted, and
//! running those steps.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use cloud::{CloudClient, CloudResult, ResourceState, Vlan};

use super::desired::{Desired, WantVlan};
use super::exec::ExecContext;
use super::inventory::DomainInventory;
use super::steps::{Step, StepPlan};

/// Description given to the addresses the engine reserves.
pub const DESCRIPTION: &str = "#plumbery";

/// Adds `addresses` to the reserved list of the VLAN (`domain`, `name`) of the desired state, keeping
/// the first-seen order and no duplicate (blueprints sharing a VLAN merge their lists).
pub fn want(vlans: &mut [WantVlan], domain: &str, name: &str, addresses: &[Ipv4Addr]) {
    if let Some(w) = vlans
        .iter_mut()
        .find(|v| v.domain == domain && v.name == name)
    {
        for a in addresses.iter().map(Ipv4Addr::to_string) {
            if !w.reserved.contains(&a) {
                w.reserved.push(a);
            }
        }
    }
}

/// Which VLANs' reservations an observation lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservations {
    /// None (start, stop, wipe: nothing there depends on them).
    None,
    /// Those of the VLANs the plan reserves addresses on (build, facts).
    Planned,
    /// Those of every VLAN of the plan (destroying the network: a VLAN that holds reservations the
    /// plan does not list is kept, rather than refused by the API).
    All,
}

/// Lists the reservations of the VLANs of `inv` that `which` names (one call per VLAN, in
/// parallel; never one per node) into `inv.reserved`.
pub async fn observe(
    client: &CloudClient,
    want: &Desired,
    which: Reservations,
    mut inv: DomainInventory,
) -> CloudResult<DomainInventory> {
    let ids: Vec<String> = want
        .vlans
        .iter()
        .filter(|w| w.domain == inv.domain.name)
        .filter(|w| match which {
            Reservations::None => false,
            Reservations::Planned => !w.reserved.is_empty(),
            Reservations::All => true,
        })
        .filter_map(|w| inv.vlan(&w.name).map(|v| v.id.clone()))
        .collect();
    let lists = futures_util::future::try_join_all(
        ids.iter().map(|id| client.list_reserved_private_ipv4(id)),
    )
    .await?;
    inv.reserved = lists.into_iter().flatten().collect();
    Ok(inv)
}

/// Addresses observed reserved on VLAN `vlan_id`.
fn reserved_on<'a>(inv: &'a DomainInventory, vlan_id: &'a str) -> BTreeSet<&'a str> {
    inv.reserved
        .iter()
        .filter(|r| r.vlan_id == vlan_id)
        .map(|r| r.ip_address.as_str())
        .collect()
}

/// Build: one `ReservePrivateIpv4` step per address of `wv` not reserved yet, chained after `ds`
/// (domain) and `vs` (VLAN) steps. Returns the step after which the VLAN is ready for servers (the
/// last reservation, else `vs`). An address a server already holds gets a note instead.
pub fn build(
    wv: &WantVlan,
    inv: Option<&DomainInventory>,
    ds: Option<usize>,
    vs: Option<usize>,
    plan: &mut StepPlan,
    notes: &mut Vec<String>,
) -> Option<usize> {
    let vlan = inv.and_then(|i| i.vlan(&wv.name));
    if vlan.is_some_and(|v| !v.state.is_pending() && v.state != ResourceState::Normal) {
        return vs;
    }
    let (have, servers) = match (inv, vlan) {
        (Some(i), Some(v)) => (reserved_on(i, &v.id), held_by_servers(i, v)),
        _ => (BTreeSet::new(), Vec::new()),
    };
    let mut last = vs;
    for ip in wv.reserved.iter().filter(|ip| !have.contains(ip.as_str())) {
        if let Some((_, name)) = servers.iter().find(|(a, _)| a == ip) {
            notes.push(format!(
                "VLAN {}: {ip} is held by server {name}; it is not reserved",
                wv.name
            ));
            continue;
        }
        last = Some(plan.add(
            Step::ReservePrivateIpv4 {
                domain: wv.domain.clone(),
                vlan: wv.name.clone(),
                ip: ip.clone(),
            },
            [ds, last],
        ));
    }
    last
}

/// (address, server name) of the servers' primary NICs on VLAN `v`.
fn held_by_servers(inv: &DomainInventory, v: &Vlan) -> Vec<(String, String)> {
    inv.servers
        .iter()
        .filter(|s| {
            s.network_info
                .as_ref()
                .and_then(|ni| ni.primary_nic.as_ref())
                .and_then(|nic| nic.vlan_id.as_deref())
                == Some(v.id.as_str())
        })
        .filter_map(|s| s.private_ipv4().map(|a| (a.to_string(), s.name.clone())))
        .collect()
}

/// Destroy: the `UnreservePrivateIpv4` steps that must precede deleting VLAN `v` (the plan's
/// addresses observed reserved on it). `Err(note)` when the VLAN holds reservations the plan does
/// not list: the VLAN cannot be deleted, so it is kept with its reservations.
pub fn release(
    wv: &WantVlan,
    v: &Vlan,
    inv: &DomainInventory,
    plan: &mut StepPlan,
) -> Result<Vec<Option<usize>>, String> {
    let have = reserved_on(inv, &v.id);
    let foreign: Vec<&str> = have
        .iter()
        .copied()
        .filter(|a| !wv.reserved.iter().any(|w| w == a))
        .collect();
    if !foreign.is_empty() {
        return Err(format!(
            "VLAN {} holds reserved addresses the plan does not list ({}); kept",
            wv.name,
            foreign.join(", ")
        ));
    }
    Ok(wv
        .reserved
        .iter()
        .filter(|ip| have.contains(ip.as_str()))
        .map(|ip| {
            Some(plan.add(
                Step::UnreservePrivateIpv4 {
                    domain: wv.domain.clone(),
                    vlan: wv.name.clone(),
                    id: v.id.clone(),
                    ip: ip.clone(),
                },
                [],
            ))
        })
        .collect())
}

/// Runs a `ReservePrivateIpv4` or `UnreservePrivateIpv4` step (other steps: nothing). The client
/// retries refusals and counts "already reserved on this VLAN" as done; an address found not
/// reserved on release is done too.
pub async fn run(ctx: &ExecContext, step: &Step) -> CloudResult<()> {
    match step {
        Step::ReservePrivateIpv4 { domain, vlan, ip } => {
            let id = super::exec::vlan_id(ctx, domain, vlan)?;
            ctx.client
                .reserve_private_ipv4(&id, ip, Some(DESCRIPTION))
                .await
        }
        Step::UnreservePrivateIpv4 { id, ip, .. } => {
            match ctx.client.unreserve_private_ipv4(id, ip).await {
                Err(e) if e.is_not_found() => Ok(()),
                other => other,
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{Phase, diff};
    use crate::inventory::Inventory;
    use cloud::{NetworkDomain, ReservedPrivateIpv4};
    use fittings::{Parameters, load_text};

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
        crate::desired(&plan.locations[0], &[])
    }

    fn decode<T: serde::de::DeserializeOwned>(xml: &str) -> T {
        cloud::wire::decode("t", xml).unwrap()
    }

    fn inventory(reserved: &[&str]) -> Inventory {
        let domain: NetworkDomain = decode(
            r#"<networkDomain xmlns="urn:didata.com:api:cloud:types" id="d1" datacenterId="NA9">
                 <name>Fox</name><type>ESSENTIALS</type><state>NORMAL</state></networkDomain>"#,
        );
        let vlan: Vlan = decode(
            r#"<vlan xmlns="urn:didata.com:api:cloud:types" id="v1" datacenterId="NA9">
                 <networkDomain id="d1" name="Fox"/><name>net</name>
                 <privateIpv4Range address="10.9.0.0" prefixSize="24"/><state>NORMAL</state></vlan>"#,
        );
        let reserved = reserved
            .iter()
            .map(|a| ReservedPrivateIpv4 {
                ip_address: a.to_string(),
                vlan_id: "v1".into(),
                datacenter_id: "NA9".into(),
                description: None,
            })
            .collect();
        Inventory {
            location_id: "NA9".into(),
            domains: vec![DomainInventory {
                domain,
                vlans: vec![vlan],
                servers: Vec::new(),
                nat_rules: Vec::new(),
                firewall_rules: Vec::new(),
                ip_blocks: Vec::new(),
                reserved,
            }],
            images: vec![decode(
                r#"<osImage xmlns="urn:didata.com:api:cloud:types" id="i"><name>Ubuntu 22.04</name></osImage>"#,
            )],
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
