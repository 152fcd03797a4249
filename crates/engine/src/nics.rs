//! Secondary NICs (`glue: - <network> [address | .suffix]`): the diff's AttachNic steps, their
//! execution, which VLANs a server's NICs hold (so that destroy deletes a VLAN only after every plan
//! server with a NIC on it, and keeps one a foreign server still uses), and the NIC facts that
//! `information` and `inventory` print.
//!
//! A NIC needs a VLAN of the node's own network domain, in the plan or already in the domain; it is
//! attached once the server is deployed and the VLAN exists. A NIC already on that VLAN is left
//! alone (a note says so when its address is not the plan's). Destroy removes no NIC by itself:
//! deleting the server removes its NICs.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::Serialize;

use cloud::{AsyncOp, CloudResult, NicTarget, Server, Wait};
use fittings::GlueAddress;
use fittings::complete_address;

use super::desired::{Desired, WantNic, WantNode};
use super::diff::Diff;
use super::exec::{ExecContext, vlan_id};
use super::inventory::{DomainInventory, Inventory};
use super::steps::Step;

/// A secondary NIC as `information` and `inventory` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NicFacts {
    /// VLAN name.
    pub vlan: String,
    /// Private IPv4.
    pub private_ipv4: String,
}

/// One line for humans.
pub fn describe(node: &str, vlan: &str, address: Option<&str>) -> String {
    match address {
        Some(a) => format!("attach a NIC on {vlan} ({a}) to {node}"),
        None => format!("attach a NIC on {vlan} to {node}"),
    }
}

/// The VLAN ids of every NIC of `s`, primary first.
pub fn vlan_ids(s: &Server) -> Vec<String> {
    let Some(ni) = &s.network_info else {
        return Vec::new();
    };
    ni.primary_nic
        .iter()
        .chain(ni.additional_nic.iter())
        .filter_map(|n| n.vlan_id.as_deref())
        .map(|v| v.trim().to_string())
        .collect()
}

/// Names of the servers of `inv` not in `deleted` that have a NIC (primary or secondary) on VLAN
/// `vlan_id`, as (primary users, secondary-NIC users).
pub fn vlan_users(
    inv: &DomainInventory,
    vlan_id: &str,
    deleted: &BTreeSet<String>,
) -> (Vec<String>, Vec<String>) {
    let mut primary = Vec::new();
    let mut secondary = Vec::new();
    for s in inv.servers.iter().filter(|s| !deleted.contains(&s.id)) {
        let ids = vlan_ids(s);
        if ids.first().is_some_and(|v| v == vlan_id) {
            primary.push(s.name.clone());
        } else if ids.iter().any(|v| v == vlan_id) {
            secondary.push(s.name.clone());
        }
    }
    (primary, secondary)
}

/// The note for a plan VLAN kept because servers that stay use it.
pub fn kept_vlan_note(vlan: &str, primary: &[String], secondary: &[String]) -> String {
    if primary.is_empty() {
        format!(
            "VLAN {vlan} still carries NICs of {} (HAS_DEPENDENCY); kept",
            secondary.join(", ")
        )
    } else {
        format!("VLAN {vlan} still holds servers; kept")
    }
}

/// The secondary NICs of `s` with their VLAN names (from `inv`, else as the API names them).
pub fn nic_facts(inv: Option<&DomainInventory>, s: &Server) -> Vec<NicFacts> {
    s.additional_nics()
        .iter()
        .filter_map(|n| {
            let ip = n.private_ipv4.as_deref()?.trim().to_string();
            let id = n.vlan_id.as_deref().unwrap_or_default().trim();
            let vlan = inv
                .and_then(|i| i.vlans.iter().find(|v| v.id == id))
                .map(|v| v.name.clone())
                .or_else(|| n.vlan_name.clone())
                .unwrap_or_else(|| id.to_string());
            Some(NicFacts {
                vlan,
                private_ipv4: ip,
            })
        })
        .collect()
}

/// Where a NIC's VLAN comes from: planned (maybe created by step `step`), or found in the domain.
struct Target {
    subnet: Option<Ipv4Net>,
    id: Option<String>,
    step: Option<usize>,
}

fn target(
    want: &Desired,
    inv: Option<&DomainInventory>,
    n: &WantNode,
    nic: &WantNic,
    vlan_step: &BTreeMap<(&str, &str), Option<usize>>,
) -> Option<Target> {
    let found = inv.and_then(|i| i.vlan(&nic.network));
    let id = found.map(|v| v.id.clone());
    let planned = want
        .vlans
        .iter()
        .find(|v| v.domain == n.domain && v.name == nic.network);
    if let Some(p) = planned {
        let step = vlan_step
            .get(&(n.domain.as_str(), nic.network.as_str()))
            .copied()?;
        let subnet = format!("{}/{}", p.base, p.prefix).parse().ok();
        return Some(Target { subnet, id, step });
    }
    let v = found?;
    let r = &v.private_ipv4_range;
    let subnet = format!("{}/{}", r.address.trim(), r.prefix_size)
        .parse()
        .ok();
    Some(Target {
        subnet,
        id,
        step: None,
    })
}

fn full_address(address: &str, subnet: &Ipv4Net) -> Option<Ipv4Addr> {
    let a = if address.starts_with('.') {
        GlueAddress::Suffix(address.to_string())
    } else {
        GlueAddress::Full(address.parse().ok()?)
    };
    complete_address(&a, subnet)
}

/// The AttachNic steps of node `n` (whose server is `server`, or about to be deployed), each after
/// `ready` (the server deployed and changed) and after its VLAN's own step, chained one after the
/// other; returns the last step. A network that is no VLAN of the node's domain, or an address
/// outside its subnet, is a note.
pub fn attach_steps(
    want: &Desired,
    have: &Inventory,
    n: &WantNode,
    server: Option<&Server>,
    ready: Option<usize>,
    vlan_step: &BTreeMap<(&str, &str), Option<usize>>,
    d: &mut Diff,
) -> Option<usize> {
    let inv = have.domain(&n.domain);
    let mut last = ready;
    for nic in &n.extra_nics {
        let Some(t) = target(want, inv, n, nic, vlan_step) else {
            d.notes.push(format!(
                "node {}: the extra NIC on {} is not attached: {} is not a VLAN of network domain {}",
                n.name, nic.network, nic.network, n.domain
            ));
            continue;
        };
        let address = match (&nic.address, &t.subnet) {
            (None, _) => None,
            (Some(a), Some(subnet)) => match full_address(a, subnet) {
                Some(ip) => Some(ip.to_string()),
                None => {
                    d.notes.push(format!(
                        "node {}: the extra NIC on {} is not attached: {a} is not inside {subnet}",
                        n.name, nic.network
                    ));
                    continue;
                }
            },
            (Some(_), None) => {
                d.notes.push(format!(
                    "node {}: the extra NIC on {} is not attached: the subnet of {} is unknown",
                    n.name, nic.network, nic.network
                ));
                continue;
            }
        };
        let existing = t.id.as_deref().and_then(|vid| {
            server.and_then(|s| {
                s.additional_nics()
                    .iter()
                    .find(|x| x.vlan_id.as_deref().map(str::trim) == Some(vid))
            })
        });
        if let Some(x) = existing {
            let have_ip = x.private_ipv4.as_deref().unwrap_or_default().trim();
            if let Some(want_ip) = &address
                && want_ip != have_ip
            {
                d.notes.push(format!(
                    "node {}: its NIC on {} has {have_ip}, the plan asks {want_ip}; left as it is",
                    n.name, nic.network
                ));
            }
            continue;
        }
        last = Some(d.plan.add(
            Step::AttachNic {
                domain: n.domain.clone(),
                node: n.name.clone(),
                vlan: nic.network.clone(),
                address,
            },
            [last, t.step],
        ));
    }
    last
}

/// Runs an AttachNic step: adds the NIC (never twice, see `cloud::nics`) and waits until the
/// server is NORMAL again.
pub async fn attach(
    ctx: &ExecContext,
    domain: &str,
    node: &str,
    vlan: &str,
    address: Option<&str>,
) -> CloudResult<()> {
    let server_id = ctx.server_id(domain, node)?;
    let target = match address {
        Some(a) => NicTarget::Ipv4(a.to_string()),
        None => NicTarget::Vlan(vlan_id(ctx, domain, vlan)?),
    };
    let c = &ctx.client;
    c.add_nic(&server_id, &target).await?;
    c.wait_server(&server_id, Wait::after(AsyncOp::ChangeNic), None)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

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
