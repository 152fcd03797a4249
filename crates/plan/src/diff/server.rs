//! Servers in the diff: deployed (or waited for), brought to the plan's hardware and NICs, started,
//! monitored, given their NAT rule and port rules when building (basement servers first); started or
//! stopped by the power phases; stopped if asked and deleted when destroying (basement last).

use super::outcome::{BuildSteps, Deleted, Diff};
use super::{backup, firewall, hardware, nat, nics, tags};
use crate::desired::{Desired, WantNode};
use crate::inventory::{Image, Inventory, Server, State};
use crate::steps::{Step, StepPlan};

/// Picks the image for an appliance substring (the first match, or the first image when none is given).
pub fn pick_image<'a>(images: &'a [Image], appliance: Option<&str>) -> Option<&'a Image> {
    match appliance {
        None => images.first(),
        Some(a) => images.iter().find(|i| i.name.contains(a)),
    }
}

/// Build: every step of node `n`, after its domain's and VLAN's steps in `steps`.
pub(super) fn build(
    want: &Desired,
    have: &Inventory,
    n: &WantNode,
    start: bool,
    steps: &mut BuildSteps<'_>,
    d: &mut Diff,
) {
    let Some(ds) = steps.domain.get(n.domain.as_str()).copied() else {
        return;
    };
    let inv = have.domain(&n.domain);
    let Some(vs) = steps
        .vlan
        .get(&(n.domain.as_str(), n.vlan.as_str()))
        .copied()
    else {
        d.notes
            .push(format!("node {}: VLAN {} is not available", n.name, n.vlan));
        return;
    };
    let server = inv.and_then(|i| i.server(&n.name));
    let barrier: Vec<Option<usize>> = if n.basement {
        Vec::new()
    } else {
        steps.basement_ready.iter().map(|s| Some(*s)).collect()
    };
    let node = NodeBuild {
        want,
        have,
        n,
        server,
        start,
    };
    let Some((deployed, mut ready)) = deploy(&node, [ds, vs], barrier, d) else {
        return;
    };
    ready = hardware::steps(n, server, ready, d);
    ready = nics::attach_steps(want, have, n, server, ready, &steps.vlan, d);
    if start && server.is_some() && !server.is_some_and(|s| s.started && !s.state.is_pending()) {
        ready = Some(d.plan.add(
            Step::StartServer {
                domain: n.domain.clone(),
                node: n.name.clone(),
            },
            [ready],
        ));
    }
    if n.basement {
        steps.basement_ready.extend(ready);
    }
    steps
        .node_ready
        .insert((n.domain.clone(), n.name.clone()), ready);
    monitoring(n, server, [ready, ds], d);
    backup::build(n, server, ready, d);
    tags::build(n, server, ready, &steps.tag_keys, d);
    if n.internet {
        let blocks = steps
            .blocks
            .get(n.domain.as_str())
            .map_or(&[][..], Vec::as_slice);
        let nat_step = nat::build(n, inv, server, [ds, deployed.or(ready)], blocks, d);
        firewall::build_ports(n, inv, nat_step, ds, d);
    }
}

/// The node being built and what the diff knows of it.
struct NodeBuild<'a> {
    want: &'a Desired,
    have: &'a Inventory,
    n: &'a WantNode,
    server: Option<&'a Server>,
    start: bool,
}

/// Build: deploys the server of a node when it is missing (after `network` and `barrier`, then
/// waits for it), waits for it when it is busy (after `network`). Returns (the deploy step, the
/// step after which the server is ready), or `None` when nothing can be done with it (no image, a
/// failed state: a note says so).
fn deploy(
    node: &NodeBuild<'_>,
    network: [Option<usize>; 2],
    barrier: Vec<Option<usize>>,
    d: &mut Diff,
) -> Option<(Option<usize>, Option<usize>)> {
    let NodeBuild {
        want,
        have,
        n,
        server,
        start,
    } = *node;
    match server {
        None => {
            let Some(image) = pick_image(&have.images, n.appliance.as_deref()) else {
                d.notes.push(format!(
                    "node {}: no image matches appliance '{}' in {}",
                    n.name,
                    n.appliance.as_deref().unwrap_or(""),
                    want.location_id
                ));
                return None;
            };
            let dep = d.plan.add(
                Step::DeployServer {
                    domain: n.domain.clone(),
                    vlan: n.vlan.clone(),
                    node: n.name.clone(),
                    image_id: image.id.clone(),
                    image: image.name.clone(),
                    cpu: n.cpu.clone(),
                    memory_gb: n.memory_gb,
                    primary_ipv4: n.primary_ipv4.clone(),
                    description: n.description.clone(),
                    start,
                },
                network.into_iter().chain(barrier),
            );
            let aw = d.plan.add(
                Step::AwaitServer {
                    domain: n.domain.clone(),
                    node: n.name.clone(),
                    fresh: true,
                    started: start,
                    deleting: false,
                },
                [Some(dep)],
            );
            Some((Some(dep), Some(aw)))
        }
        Some(s) if s.state.is_pending() || s.pending_action().is_some() => {
            let aw = d.plan.add(
                Step::AwaitServer {
                    domain: n.domain.clone(),
                    node: n.name.clone(),
                    fresh: false,
                    started: s.started,
                    deleting: false,
                },
                network,
            );
            Some((None, Some(aw)))
        }
        Some(s) if s.state != State::Normal => {
            d.notes
                .push(format!("node {} is {}; left alone", n.name, s.state));
            None
        }
        Some(_) => Some((None, None)),
    }
}

/// Build: enables (or changes) the monitoring the plan asks for, when the server has another.
fn monitoring(n: &WantNode, server: Option<&Server>, after: [Option<usize>; 2], d: &mut Diff) {
    let Some(plan) = &n.monitoring else {
        return;
    };
    let current = server.and_then(|s| s.monitoring.as_deref());
    if current != Some(plan.as_str()) {
        d.plan.add(
            Step::EnableMonitoring {
                domain: n.domain.clone(),
                node: n.name.clone(),
                plan: plan.clone(),
                change: current.is_some(),
            },
            after,
        );
    }
}

/// A wait for a server found with an operation pending, if it has one.
fn pending_wait(n: &WantNode, s: &Server, plan: &mut StepPlan) -> Option<usize> {
    if !(s.state.is_pending() || s.pending_action().is_some()) {
        return None;
    }
    let deleting = s.state == State::PendingDelete || s.pending_action() == Some("DELETE_SERVER");
    Some(plan.add(
        Step::AwaitServer {
            domain: n.domain.clone(),
            node: n.name.clone(),
            fresh: false,
            started: s.started,
            deleting,
        },
        [],
    ))
}

/// Start (`on`) or stop: every deployed node that is not as asked (a stop spares `running: always`).
pub(super) fn power(want: &Desired, have: &Inventory, on: bool, d: &mut Diff) {
    for n in &want.nodes {
        let Some(s) = have.domain(&n.domain).and_then(|i| i.server(&n.name)) else {
            d.notes.push(format!("node {} is not deployed", n.name));
            continue;
        };
        if on && !s.started {
            let pre = pending_wait(n, s, &mut d.plan);
            d.plan.add(
                Step::StartServer {
                    domain: n.domain.clone(),
                    node: n.name.clone(),
                },
                [pre],
            );
        } else if !on && (s.started || s.pending_action() == Some("START_SERVER")) {
            if n.running_always {
                d.notes
                    .push(format!("node {} runs always; not stopped", n.name));
                continue;
            }
            let pre = pending_wait(n, s, &mut d.plan);
            d.plan.add(
                Step::StopServer {
                    domain: n.domain.clone(),
                    node: n.name.clone(),
                },
                [pre],
            );
        }
    }
}

/// Destroy: the server of node `n` (stopped first with `stop`), its port rules and its NAT rule;
/// a basement server after every other server.
pub(super) fn destroy(
    n: &WantNode,
    have: &Inventory,
    stop: bool,
    deleted: &mut Deleted,
    d: &mut Diff,
) {
    let Some(inv) = have.domain(&n.domain) else {
        return;
    };
    let Some(s) = inv.server(&n.name) else {
        return;
    };
    if n.destroy_never {
        d.notes.push(format!("node {} is never destroyed", n.name));
        return;
    }
    // A server busy with an earlier operation (maybe from a killed run) is waited for first.
    let pre = pending_wait(n, s, &mut d.plan);
    let running = s.started || s.pending_action() == Some("START_SERVER");
    let stop_step = if running {
        if n.running_always || !stop {
            d.notes.push(format!(
                "node {} is running; stop it first (or use dispose)",
                n.name
            ));
            return;
        }
        Some(d.plan.add(
            Step::StopServer {
                domain: n.domain.clone(),
                node: n.name.clone(),
            },
            [pre],
        ))
    } else {
        pre
    };
    let mut list = Vec::new();
    firewall::destroy_ports(n, inv, &mut list, deleted, d);
    nat::destroy(n, s, inv, &mut list, deleted, d);
    let backup_off = backup::destroy(n, s, stop_step, d);
    list.extend(backup_off);
    let del = delete(n, s, [stop_step, backup_off], deleted, d);
    list.push(del);
    deleted
        .per_domain
        .entry(n.domain.clone())
        .or_default()
        .extend(list);
}

/// Destroy: the deletion of server `s` itself, after `after` (its stop, its backup's disabling),
/// its VIP node's deletion, and, for a basement server, the other servers' deletions; every VLAN it
/// has a NIC on waits for it.
fn delete(
    n: &WantNode,
    s: &Server,
    after: [Option<usize>; 2],
    deleted: &mut Deleted,
    d: &mut Diff,
) -> usize {
    let mut barrier: Vec<Option<usize>> = if n.basement {
        deleted.non_basement.iter().map(|s| Some(*s)).collect()
    } else {
        Vec::new()
    };
    let key = (n.domain.clone(), n.name.clone());
    barrier.extend(
        deleted
            .before_server
            .get(&key)
            .into_iter()
            .flatten()
            .map(|s| Some(*s)),
    );
    let del = d.plan.add(
        Step::DeleteServer {
            domain: n.domain.clone(),
            node: n.name.clone(),
            id: s.id.clone(),
        },
        after.into_iter().chain(barrier),
    );
    if !n.basement {
        deleted.non_basement.push(del);
    }
    // Every VLAN the server has a NIC on (primary or secondary) waits for its deletion.
    for vlan in s.vlan_ids() {
        deleted
            .server_deletes
            .entry((n.domain.clone(), vlan))
            .or_default()
            .push(del);
    }
    deleted.servers.insert(s.id.clone());
    del
}
