//! Load balancers in the diff. Building: a pool per blueprint with `balancers:`, a VIP node per
//! member node's server (named after its private address, once it is deployed), the pool members,
//! a virtual listener per balancer on a free public address (the domain's new IP blocks come first)
//! and the firewall rule admitting it. Destroying: listeners (and their rules), pool members,
//! pools and VIP nodes go before the servers they front (and before the VLANs and the domain);
//! without the network only the members and VIP nodes of the deleted servers go.

use super::outcome::{BuildSteps, Deleted, Diff};
use crate::desired::{Desired, WantBalancer};
use crate::inventory::{DomainInventory, Inventory};
use crate::steps::Step;

/// Build: every step of balancer `wb`, after the steps of its domain, nodes and IP blocks.
pub(super) fn build(wb: &WantBalancer, have: &Inventory, steps: &BuildSteps<'_>, d: &mut Diff) {
    let Some(ds) = steps.domain.get(wb.domain.as_str()).copied() else {
        return;
    };
    let inv = have.domain(&wb.domain);
    let pool = inv.and_then(|i| i.pool(&wb.pool));
    let pool_step = match pool {
        Some(_) => None,
        None => Some(d.plan.add(
            Step::CreatePool {
                domain: wb.domain.clone(),
                pool: wb.pool.clone(),
                method: wb.method.clone(),
                description: wb.description.clone(),
            },
            [ds],
        )),
    };
    for node in &wb.members {
        let key = (wb.domain.clone(), node.clone());
        let Some(ready) = steps.node_ready.get(&key).copied() else {
            d.notes.push(format!(
                "node {node} is not built: it is not added to pool {}",
                wb.pool
            ));
            continue;
        };
        member(
            wb,
            node,
            inv,
            pool.map(|p| p.id.as_str()),
            [ds, ready, pool_step],
            d,
        );
    }
    let blocks: Vec<Option<usize>> = steps
        .blocks
        .get(wb.domain.as_str())
        .into_iter()
        .flatten()
        .map(|s| Some(*s))
        .collect();
    listeners_build(wb, inv, [ds, pool_step], &blocks, d);
}

/// Build: each missing listener of `wb` (after `after` and the domain's new IP `blocks`) and each
/// missing firewall rule admitting one.
fn listeners_build(
    wb: &WantBalancer,
    inv: Option<&DomainInventory>,
    after: [Option<usize>; 2],
    blocks: &[Option<usize>],
    d: &mut Diff,
) {
    for l in &wb.listeners {
        let lstep = match inv.and_then(|i| i.listener(&l.name)) {
            Some(_) => None,
            None => Some(d.plan.add(
                Step::CreateListener {
                    domain: wb.domain.clone(),
                    listener: l.name.clone(),
                    pool: wb.pool.clone(),
                    protocol: l.protocol.clone(),
                    port: l.port,
                    address: l.address.clone(),
                },
                after.into_iter().chain(blocks.iter().copied()),
            )),
        };
        if inv.and_then(|i| i.rule(&l.rule)).is_none() {
            d.plan.add(
                Step::CreateFirewallRule {
                    domain: wb.domain.clone(),
                    node: l.name.clone(),
                    rule: l.rule.clone(),
                    protocol: l.rule_protocol.clone(),
                    begin: Some(l.port),
                    end: None,
                },
                [after[0], lstep],
            );
        }
    }
}

/// Build: the VIP node of `node` and its membership of the pool, when missing.
fn member(
    wb: &WantBalancer,
    node: &str,
    inv: Option<&DomainInventory>,
    pool_id: Option<&str>,
    after: [Option<usize>; 3],
    d: &mut Diff,
) {
    let ip = inv
        .and_then(|i| i.server(node))
        .and_then(|s| s.private_ipv4());
    let vip = match (inv, ip) {
        (Some(i), Some(ip)) => i.vip_node_for(ip),
        _ => None,
    };
    let vip_step = match vip {
        Some(_) => None,
        None => Some(d.plan.add(
            Step::CreateVipNode {
                domain: wb.domain.clone(),
                node: node.to_string(),
            },
            [after[0], after[1]],
        )),
    };
    let is_member = match (inv, pool_id, vip) {
        (Some(i), Some(p), Some(v)) => i
            .pool_members
            .iter()
            .any(|m| m.pool_id == p && m.node_id == v.id),
        _ => false,
    };
    if !is_member {
        d.plan.add(
            Step::AddPoolMember {
                domain: wb.domain.clone(),
                pool: wb.pool.clone(),
                node: node.to_string(),
            },
            after.into_iter().chain([vip_step]),
        );
    }
}

/// Destroy: the load balancer pieces of every balancer of the plan (see the module comment).
pub(super) fn destroy(
    want: &Desired,
    have: &Inventory,
    (network, stop): (bool, bool),
    deleted: &mut Deleted,
    d: &mut Diff,
) {
    for wb in &want.balancers {
        let Some(inv) = have.domain(&wb.domain) else {
            continue;
        };
        let doomed = doomed(want, wb, inv, stop);
        let mut steps = Vec::new();
        let listeners = if network {
            listeners_destroy(wb, inv, deleted, &mut steps, d)
        } else {
            Vec::new()
        };
        let pool = inv.pool(&wb.pool).filter(|_| network);
        let members: Vec<usize> = inv
            .pool_members
            .iter()
            .filter(|m| {
                pool.is_some_and(|p| p.id == m.pool_id)
                    || doomed.iter().any(|(_, ip)| *ip == m.ip.trim())
            })
            .map(|m| {
                d.plan.add(
                    Step::RemovePoolMember {
                        domain: wb.domain.clone(),
                        id: m.id.clone(),
                        ip: m.ip.trim().to_string(),
                    },
                    listeners.iter().map(|s| Some(*s)),
                )
            })
            .collect();
        steps.extend(&members);
        if let Some(p) = pool {
            steps.push(d.plan.add(
                Step::DeletePool {
                    domain: wb.domain.clone(),
                    pool: p.name.clone(),
                    id: p.id.clone(),
                },
                listeners.iter().chain(&members).map(|s| Some(*s)),
            ));
        }
        vip_nodes_destroy(wb, inv, &doomed, &members, deleted, &mut steps, d);
        deleted
            .per_domain
            .entry(wb.domain.clone())
            .or_default()
            .extend(steps);
    }
}

/// The member nodes of `wb` whose servers this phase deletes, with their addresses: not those
/// never destroyed, nor running ones that the phase does not stop (their deletion is a note).
fn doomed<'a>(
    want: &'a Desired,
    wb: &'a WantBalancer,
    inv: &'a DomainInventory,
    stop: bool,
) -> Vec<(&'a str, &'a str)> {
    wb.members
        .iter()
        .filter_map(|m| {
            let n = want
                .nodes
                .iter()
                .find(|n| n.name == *m && n.domain == wb.domain)?;
            let s = inv.server(m)?;
            let running = s.started || s.pending_action() == Some("START_SERVER");
            let kept = n.destroy_never || (running && (!stop || n.running_always));
            Some((m.as_str(), s.private_ipv4()?)).filter(|_| !kept)
        })
        .collect()
}

/// Destroy: the VIP node of each doomed server (after the member removals); its server's deletion
/// waits for it.
fn vip_nodes_destroy(
    wb: &WantBalancer,
    inv: &DomainInventory,
    doomed: &[(&str, &str)],
    members: &[usize],
    deleted: &mut Deleted,
    steps: &mut Vec<usize>,
    d: &mut Diff,
) {
    for (node, ip) in doomed {
        let Some(v) = inv.vip_node_for(ip) else {
            continue;
        };
        let del = d.plan.add(
            Step::DeleteVipNode {
                domain: wb.domain.clone(),
                id: v.id.clone(),
                ip: ip.to_string(),
            },
            members.iter().map(|s| Some(*s)),
        );
        steps.push(del);
        deleted
            .before_server
            .entry((wb.domain.clone(), node.to_string()))
            .or_default()
            .push(del);
    }
}

/// Destroy: the listeners of `wb` and their firewall rules; returns the listener deletions.
fn listeners_destroy(
    wb: &WantBalancer,
    inv: &DomainInventory,
    deleted: &mut Deleted,
    steps: &mut Vec<usize>,
    d: &mut Diff,
) -> Vec<usize> {
    let mut out = Vec::new();
    for l in &wb.listeners {
        if let Some(r) = inv.rule(&l.rule) {
            steps.push(d.plan.add(
                Step::DeleteFirewallRule {
                    domain: wb.domain.clone(),
                    rule: r.name.clone(),
                    id: r.id.clone(),
                },
                [],
            ));
            deleted.rules.insert(r.id.clone());
        }
        if let Some(x) = inv.listener(&l.name) {
            let del = d.plan.add(
                Step::DeleteListener {
                    domain: wb.domain.clone(),
                    listener: x.name.clone(),
                    id: x.id.clone(),
                },
                [],
            );
            out.push(del);
            deleted.listeners.insert(x.id.clone());
            deleted
                .address_frees
                .entry(wb.domain.clone())
                .or_default()
                .push(del);
        }
    }
    steps.extend(&out);
    out
}
