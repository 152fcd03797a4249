//! The diff: from what a location wants ([`Desired`]) and what it holds ([`Inventory`]) to the DAG of
//! steps of one phase (build, start, stop, destroy). Pure functions: no I/O.

use std::collections::{BTreeMap, BTreeSet};

use cloud::{FirewallRule, Image, ResourceState};

use super::desired::{Desired, WantNode, accept_rule_name};
use super::inventory::Inventory;
use super::steps::{Step, StepPlan};

/// What a phase does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Domains, VLANs, IP blocks, servers (started or not), monitoring, NAT, firewall rules.
    Build {
        /// Deploy servers started and start stopped ones.
        start: bool,
    },
    /// Start stopped servers.
    Start,
    /// Stop running servers (not `running: always`).
    Stop,
    /// Remove nodes (their rules too); with `network`, then IP blocks, VLANs and domains left empty;
    /// with `stop`, running servers are stopped first.
    Destroy {
        /// Also the network elements.
        network: bool,
        /// Stop running servers first (dispose).
        stop: bool,
    },
}

/// The steps of a phase plus notes on what was left alone and why.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    /// The DAG.
    pub plan: StepPlan,
    /// Human notes (skipped nodes, kept domains...).
    pub notes: Vec<String>,
}

/// Picks the image for an appliance substring (the first match, or the first image when none is given).
pub fn pick_image<'a>(images: &'a [Image], appliance: Option<&str>) -> Option<&'a Image> {
    match appliance {
        None => images.first(),
        Some(a) => images.iter().find(|i| i.name.contains(a)),
    }
}

/// Computes the steps of `phase`.
pub fn diff(want: &Desired, have: &Inventory, phase: Phase) -> Diff {
    let mut d = Diff::default();
    match phase {
        Phase::Build { start } => build(want, have, start, &mut d),
        Phase::Start => power(want, have, true, &mut d),
        Phase::Stop => power(want, have, false, &mut d),
        Phase::Destroy { network, stop } => destroy(want, have, network, stop, &mut d),
    }
    d
}

fn build(want: &Desired, have: &Inventory, start: bool, d: &mut Diff) {
    let plan = &mut d.plan;
    let mut domain_step: BTreeMap<&str, Option<usize>> = BTreeMap::new();
    let mut vlan_step: BTreeMap<(&str, &str), Option<usize>> = BTreeMap::new();
    let mut block_steps: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for wd in &want.domains {
        let inv = have.domain(&wd.name);
        let ds = match inv.map(|i| &i.domain.state) {
            None => Some(plan.add(
                Step::CreateDomain {
                    domain: wd.name.clone(),
                    description: wd.description.clone(),
                    plan: wd.plan.clone(),
                },
                [],
            )),
            Some(s) if s.is_pending() => Some(plan.add(
                Step::AwaitDomain {
                    domain: wd.name.clone(),
                },
                [],
            )),
            Some(s) if *s != ResourceState::Normal => {
                d.notes.push(format!(
                    "network domain {} is {s}; nothing is built in it",
                    wd.name
                ));
                continue;
            }
            Some(_) => None,
        };
        domain_step.insert(&wd.name, ds);
        let mut last_vlan = None;
        for wv in want.vlans.iter().filter(|v| v.domain == wd.name) {
            let vs = match inv.and_then(|i| i.vlan(&wv.name)).map(|v| &v.state) {
                None => {
                    let s = plan.add(
                        Step::CreateVlan {
                            domain: wd.name.clone(),
                            vlan: wv.name.clone(),
                            description: wv.description.clone(),
                            base: wv.base.clone(),
                            prefix: wv.prefix,
                        },
                        [ds, last_vlan],
                    );
                    last_vlan = Some(s);
                    Some(s)
                }
                Some(s) if s.is_pending() => Some(plan.add(
                    Step::AwaitVlan {
                        domain: wd.name.clone(),
                        vlan: wv.name.clone(),
                    },
                    [ds],
                )),
                Some(_) => None,
            };
            let vs = super::reserve::build(wv, inv, ds, vs, plan, &mut d.notes);
            vlan_step.insert((&wd.name, &wv.name), vs);
        }
        // Public addresses: one per internet node that has no NAT rule yet.
        let nodes = want
            .nodes
            .iter()
            .filter(|n| n.domain == wd.name && n.internet);
        let missing = nodes
            .filter(|n| {
                let server = inv.and_then(|i| i.server(&n.name));
                let ip = server.and_then(|s| s.private_ipv4());
                !matches!((inv, ip), (Some(i), Some(ip)) if i.nat_for(ip).is_some())
            })
            .count();
        let free = inv.map_or(0, |i| i.free_public_ips().len());
        let mut blocks = missing.saturating_sub(free).div_ceil(2);
        if let Some(limit) = wd.ipv4_limit {
            let have_addrs: u32 = inv.map_or(0, |i| i.ip_blocks.iter().map(|b| b.size).sum());
            let room = (limit.saturating_sub(have_addrs) / 2) as usize;
            if blocks > room {
                d.notes.push(format!(
                    "network domain {} needs more public IPv4 addresses than its limit of {limit}",
                    wd.name
                ));
                blocks = room;
            }
        }
        let mut prev = ds;
        let mut steps = Vec::new();
        for _ in 0..blocks {
            let s = plan.add(
                Step::AddIpBlock {
                    domain: wd.name.clone(),
                },
                [ds, prev],
            );
            prev = Some(s);
            steps.push(s);
        }
        block_steps.insert(&wd.name, steps);
    }

    let mut basement_ready: Vec<usize> = Vec::new();
    for n in &want.nodes {
        let Some(ds) = domain_step.get(n.domain.as_str()).copied() else {
            continue;
        };
        let inv = have.domain(&n.domain);
        let Some(vs) = vlan_step
            .get(&(n.domain.as_str(), n.vlan.as_str()))
            .copied()
        else {
            d.notes
                .push(format!("node {}: VLAN {} is not available", n.name, n.vlan));
            continue;
        };
        let server = inv.and_then(|i| i.server(&n.name));
        let barrier: Vec<Option<usize>> = if n.basement {
            Vec::new()
        } else {
            basement_ready.iter().map(|s| Some(*s)).collect()
        };
        let (deployed, mut ready) = match server {
            None => {
                let Some(image) = pick_image(&have.images, n.appliance.as_deref()) else {
                    d.notes.push(format!(
                        "node {}: no image matches appliance '{}' in {}",
                        n.name,
                        n.appliance.as_deref().unwrap_or(""),
                        want.location_id
                    ));
                    continue;
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
                    [ds, vs].into_iter().chain(barrier),
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
                (Some(dep), Some(aw))
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
                    [ds, vs],
                );
                (None, Some(aw))
            }
            Some(s) if s.state != ResourceState::Normal => {
                d.notes
                    .push(format!("node {} is {}; left alone", n.name, s.state));
                continue;
            }
            Some(_) => (None, None),
        };
        ready = hardware_steps(n, server, ready, d);
        ready = super::nics::attach_steps(want, have, n, server, ready, &vlan_step, d);
        if start && server.is_some() && !server.is_some_and(|s| s.started && !s.state.is_pending())
        {
            ready = Some(d.plan.add(
                Step::StartServer {
                    domain: n.domain.clone(),
                    node: n.name.clone(),
                },
                [ready],
            ));
        }
        if n.basement {
            basement_ready.extend(ready);
        }
        if let Some(plan) = &n.monitoring {
            let current = server
                .and_then(|s| s.monitoring.as_ref())
                .map(|m| m.service_plan.as_str());
            if current != Some(plan.as_str()) {
                d.plan.add(
                    Step::EnableMonitoring {
                        domain: n.domain.clone(),
                        node: n.name.clone(),
                        plan: plan.clone(),
                        change: current.is_some(),
                    },
                    [ready, ds],
                );
            }
        }
        if n.internet {
            let ip = server.and_then(|s| s.private_ipv4());
            let nat = match (inv, ip) {
                (Some(i), Some(ip)) => i.nat_for(ip),
                _ => None,
            };
            let nat_step = if nat.is_none() {
                let mut after: Vec<Option<usize>> = vec![ds, deployed.or(ready)];
                after.extend(
                    block_steps
                        .get(n.domain.as_str())
                        .into_iter()
                        .flatten()
                        .map(|s| Some(*s)),
                );
                Some(d.plan.add(
                    Step::CreateNat {
                        domain: n.domain.clone(),
                        node: n.name.clone(),
                    },
                    after,
                ))
            } else {
                None
            };
            for p in &n.ports {
                if inv.and_then(|i| i.rule(&p.rule)).is_none() {
                    d.plan.add(
                        Step::CreateFirewallRule {
                            domain: n.domain.clone(),
                            node: n.name.clone(),
                            rule: p.rule.clone(),
                            protocol: p.protocol.clone(),
                            begin: p.begin,
                            end: p.end,
                        },
                        [nat_step, ds],
                    );
                }
            }
        }
    }

    let mut accept_steps: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for wv in &want.vlans {
        let Some(ds) = domain_step.get(wv.domain.as_str()).copied() else {
            continue;
        };
        let inv = have.domain(&wv.domain);
        for src in &wv.accept {
            let Some(src_step) = vlan_step.get(&(wv.domain.as_str(), src.as_str())).copied() else {
                d.notes.push(format!(
                    "VLAN {}: accepted network {src} is not a VLAN of domain {}; no rule",
                    wv.name, wv.domain
                ));
                continue;
            };
            let own = vlan_step
                .get(&(wv.domain.as_str(), wv.name.as_str()))
                .copied()
                .flatten();
            for (suffix, ipv6) in [("IP", false), ("IPv6", true)] {
                let rule = accept_rule_name(src, &wv.name, suffix);
                if inv.and_then(|i| i.rule(&rule)).is_none() {
                    let s = d.plan.add(
                        Step::CreateAcceptRule {
                            domain: wv.domain.clone(),
                            rule,
                            from_vlan: src.clone(),
                            to_vlan: wv.name.clone(),
                            ipv6,
                            from_location: None,
                            from_region: None,
                        },
                        [ds, src_step, own],
                    );
                    accept_steps.entry(wv.domain.as_str()).or_default().push(s);
                }
            }
        }
        // A VLAN of another location: only IPv6 crosses locations (the original's rule). Its
        // ranges are looked up when the step runs: another location of the plan may be creating it.
        for src in &wv.remote_accept {
            let rule = accept_rule_name(&src.label, &wv.name, "IPv6");
            if have
                .missing_remote_vlans
                .contains(&(src.location.clone(), src.name.clone()))
            {
                d.notes.push(format!(
                    "{rule} not created: no VLAN {} in {} (deploy it, then run again)",
                    src.name, src.location
                ));
                continue;
            }
            if inv.and_then(|i| i.rule(&rule)).is_none() {
                let own = vlan_step
                    .get(&(wv.domain.as_str(), wv.name.as_str()))
                    .copied()
                    .flatten();
                let s = d.plan.add(
                    Step::CreateAcceptRule {
                        domain: wv.domain.clone(),
                        rule,
                        from_vlan: src.name.clone(),
                        to_vlan: wv.name.clone(),
                        ipv6: true,
                        from_location: Some(src.location.clone()),
                        from_region: src.region.clone(),
                    },
                    [ds, own],
                );
                accept_steps.entry(wv.domain.as_str()).or_default().push(s);
            }
        }
        if !wv.accept.is_empty() || !wv.remote_accept.is_empty() {
            const DENY6: &str = "CCDEFAULT.DenyExternalInboundIPv6";
            // Only for a domain created by this run: some APIs refuse to change default rules, and a
            // second run must make no change request.
            let enabled = inv.is_none();
            if enabled && !d.plan.steps.iter().any(|s| matches!(&s.step, Step::DisableDefaultRule { domain, .. } if *domain == wv.domain)) {
                let after: Vec<Option<usize>> = std::iter::once(ds)
                    .chain(accept_steps.get(wv.domain.as_str()).into_iter().flatten().map(|s| Some(*s)))
                    .collect();
                d.plan.add(
                    Step::DisableDefaultRule {
                        domain: wv.domain.clone(),
                        rule: DENY6.to_string(),
                    },
                    after,
                );
            }
        }
    }
}

/// A wait for a server found with an operation pending, if it has one.
fn pending_wait(n: &WantNode, s: &cloud::Server, plan: &mut StepPlan) -> Option<usize> {
    if !(s.state.is_pending() || s.pending_action().is_some()) {
        return None;
    }
    let deleting =
        s.state == ResourceState::PendingDelete || s.pending_action() == Some("DELETE_SERVER");
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

/// The hardware steps that bring server `s` (or a server about to be deployed, `None`) to what
/// node `n` asks: CPU count and memory by reconfigureServer (while it runs: the emulator allows it;
/// the real API may refuse a CPU decrease on a running server), missing disks added, smaller ones
/// grown, speeds changed. Disks are never shrunk: a larger disk gets a note. Chained after `ready`;
/// returns the last step.
fn hardware_steps(
    n: &WantNode,
    s: Option<&cloud::Server>,
    ready: Option<usize>,
    d: &mut Diff,
) -> Option<usize> {
    let mut last = ready;
    if let Some(s) = s {
        let cpu_count = match (&n.cpu, &s.cpu) {
            (Some((want, _, _)), Some(have)) if *want != have.count => Some(*want),
            _ => None,
        };
        let memory_gb = match (n.memory_gb, s.memory_gb) {
            (Some(want), Some(have)) if want != have => Some(want),
            _ => None,
        };
        let cores_per_socket = match (&n.cpu, &s.cpu) {
            (Some((_, want, _)), Some(have)) if have.cores_per_socket != Some(*want) => Some(*want),
            _ => None,
        };
        let cpu_speed = match (&n.cpu, &s.cpu) {
            (Some((_, _, want)), Some(have))
                if !have
                    .speed
                    .as_deref()
                    .is_some_and(|h| h.eq_ignore_ascii_case(want)) =>
            {
                Some(want.clone())
            }
            _ => None,
        };
        if cpu_count.is_some()
            || memory_gb.is_some()
            || cores_per_socket.is_some()
            || cpu_speed.is_some()
        {
            last = Some(d.plan.add(
                Step::ReconfigureServer {
                    domain: n.domain.clone(),
                    node: n.name.clone(),
                    cpu_count,
                    memory_gb,
                    cores_per_socket,
                    cpu_speed,
                },
                [last],
            ));
        }
    }
    for (scsi_id, size_gb, speed) in &n.disks {
        let have = s.and_then(|s| s.disk.iter().find(|x| x.scsi_id == Some(*scsi_id)));
        let change = match have {
            None => true,
            Some(x) => {
                if let Some(h) = x.size_gb
                    && h > *size_gb
                {
                    d.notes.push(format!(
                        "node {}: disk {scsi_id} has {h} GB, the plan asks {size_gb} GB (disks are never shrunk)",
                        n.name
                    ));
                }
                x.size_gb.is_some_and(|h| h < *size_gb)
                    || x.speed
                        .as_deref()
                        .is_some_and(|sp| !sp.eq_ignore_ascii_case(speed))
            }
        };
        if change {
            last = Some(d.plan.add(
                Step::SetDisk {
                    domain: n.domain.clone(),
                    node: n.name.clone(),
                    scsi_id: *scsi_id,
                    size_gb: *size_gb,
                    speed: speed.clone(),
                },
                [last],
            ));
        }
    }
    last
}

fn power(want: &Desired, have: &Inventory, on: bool, d: &mut Diff) {
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

fn is_client_rule(r: &FirewallRule) -> bool {
    r.rule_type.as_deref() != Some("DEFAULT_RULE") && !r.name.starts_with("CCDEFAULT.")
}

fn destroy(want: &Desired, have: &Inventory, network: bool, stop: bool, d: &mut Diff) {
    // Non-basement nodes first, basement last.
    let mut order: Vec<&WantNode> = want.nodes.iter().filter(|n| !n.basement).collect();
    order.extend(want.nodes.iter().filter(|n| n.basement));
    let mut deleted_servers: BTreeSet<String> = BTreeSet::new();
    let mut deleted_nat: BTreeSet<String> = BTreeSet::new();
    let mut deleted_rules: BTreeSet<String> = BTreeSet::new();
    let mut per_domain: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut server_deletes: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    let mut nat_deletes: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut non_basement_deletes: Vec<usize> = Vec::new();
    for n in order {
        let Some(inv) = have.domain(&n.domain) else {
            continue;
        };
        let Some(s) = inv.server(&n.name) else {
            continue;
        };
        if n.destroy_never {
            d.notes.push(format!("node {} is never destroyed", n.name));
            continue;
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
                continue;
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
        let list = per_domain.entry(n.domain.clone()).or_default();
        for p in &n.ports {
            if let Some(r) = inv.rule(&p.rule) {
                list.push(d.plan.add(
                    Step::DeleteFirewallRule {
                        domain: n.domain.clone(),
                        rule: r.name.clone(),
                        id: r.id.clone(),
                    },
                    [],
                ));
                deleted_rules.insert(r.id.clone());
            }
        }
        if let Some(nat) = s.private_ipv4().and_then(|ip| inv.nat_for(ip)) {
            let id = d.plan.add(
                Step::DeleteNat {
                    domain: n.domain.clone(),
                    node: n.name.clone(),
                    id: nat.id.clone(),
                    external_ip: nat.external_ip.trim().to_string(),
                },
                [],
            );
            list.push(id);
            nat_deletes.entry(n.domain.clone()).or_default().push(id);
            deleted_nat.insert(nat.id.clone());
        }
        let barrier: Vec<Option<usize>> = if n.basement {
            non_basement_deletes.iter().map(|s| Some(*s)).collect()
        } else {
            Vec::new()
        };
        let del = d.plan.add(
            Step::DeleteServer {
                domain: n.domain.clone(),
                node: n.name.clone(),
                id: s.id.clone(),
            },
            [stop_step].into_iter().chain(barrier),
        );
        if !n.basement {
            non_basement_deletes.push(del);
        }
        list.push(del);
        // Every VLAN the server has a NIC on (primary or secondary) waits for its deletion.
        for vlan in super::nics::vlan_ids(s) {
            server_deletes
                .entry((n.domain.clone(), vlan))
                .or_default()
                .push(del);
        }
        deleted_servers.insert(s.id.clone());
    }
    if !network {
        return;
    }
    for wd in &want.domains {
        let Some(inv) = have.domain(&wd.name) else {
            continue;
        };
        let mut all = per_domain.get(&wd.name).cloned().unwrap_or_default();
        // Accept rules of the plan's VLANs in this domain.
        for wv in want.vlans.iter().filter(|v| v.domain == wd.name) {
            // Rules from VLANs of other locations too (the original left them behind).
            let sources = wv
                .accept
                .iter()
                .chain(wv.remote_accept.iter().map(|r| &r.label));
            for (src, suffix) in sources.flat_map(|s| [(s, "IP"), (s, "IPv6")]) {
                if let Some(r) = inv.rule(&accept_rule_name(src, &wv.name, suffix)) {
                    all.push(d.plan.add(
                        Step::DeleteFirewallRule {
                            domain: wd.name.clone(),
                            rule: r.name.clone(),
                            id: r.id.clone(),
                        },
                        [],
                    ));
                    deleted_rules.insert(r.id.clone());
                }
            }
        }
        // IP blocks that no remaining NAT rule uses.
        let remaining_nat: Vec<&str> = inv
            .nat_rules
            .iter()
            .filter(|n| !deleted_nat.contains(&n.id))
            .map(|n| n.external_ip.trim())
            .collect();
        let nat_steps: Vec<Option<usize>> = nat_deletes
            .get(&wd.name)
            .into_iter()
            .flatten()
            .map(|s| Some(*s))
            .collect();
        let mut blocks_left = 0;
        for b in &inv.ip_blocks {
            let used = b
                .addresses()
                .iter()
                .any(|a| remaining_nat.contains(&a.to_string().as_str()));
            if used {
                blocks_left += 1;
                continue;
            }
            all.push(d.plan.add(
                Step::RemoveIpBlock {
                    domain: wd.name.clone(),
                    id: b.id.clone(),
                    base_ip: b.base_ip.trim().to_string(),
                },
                nat_steps.clone(),
            ));
        }
        // VLANs of the plan with no server left.
        let mut vlans_left = 0;
        for v in &inv.vlans {
            let planned = want
                .vlans
                .iter()
                .find(|w| w.domain == wd.name && w.name == v.name);
            let (primary_users, nic_users) = super::nics::vlan_users(inv, &v.id, &deleted_servers);
            let busy = !(primary_users.is_empty() && nic_users.is_empty());
            match planned {
                Some(w) if !w.keep && !busy => {
                    let unreserved = match super::reserve::release(w, v, inv, &mut d.plan) {
                        Ok(steps) => steps,
                        Err(note) => {
                            vlans_left += 1;
                            d.notes.push(note);
                            continue;
                        }
                    };
                    let after: Vec<Option<usize>> = server_deletes
                        .get(&(wd.name.clone(), v.id.clone()))
                        .into_iter()
                        .flatten()
                        .map(|s| Some(*s))
                        .chain(unreserved)
                        .collect();
                    all.push(d.plan.add(
                        Step::DeleteVlan {
                            domain: wd.name.clone(),
                            vlan: v.name.clone(),
                            id: v.id.clone(),
                        },
                        after,
                    ));
                }
                Some(w) if busy => {
                    vlans_left += 1;
                    d.notes.push(super::nics::kept_vlan_note(
                        &w.name,
                        &primary_users,
                        &nic_users,
                    ));
                }
                _ => vlans_left += 1,
            }
        }
        let servers_left = inv
            .servers
            .iter()
            .filter(|s| !deleted_servers.contains(&s.id))
            .count();
        let rules_left = inv
            .firewall_rules
            .iter()
            .filter(|r| is_client_rule(r) && !deleted_rules.contains(&r.id))
            .count();
        let nat_left = remaining_nat.len();
        if vlans_left + servers_left + rules_left + nat_left + blocks_left == 0 {
            d.plan.add(
                Step::DeleteDomain {
                    domain: wd.name.clone(),
                    id: inv.domain.id.clone(),
                },
                all.into_iter().map(Some),
            );
        } else {
            d.notes.push(format!(
                "network domain {} is not empty ({vlans_left} VLANs, {servers_left} servers, {nat_left} NAT rules, \
                 {rules_left} client firewall rules, {blocks_left} IP blocks remain); kept",
                wd.name
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::desired;
    use fittings::{Parameters, load_text};

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
        cloud::wire::decode(
            "img",
            r#"<osImage xmlns="urn:didata.com:api:cloud:types" id="img-1" datacenterId="NA12">
                 <name>Ubuntu 22.04 64-bit 2 CPU</name></osImage>"#,
        )
        .unwrap()
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
        assert_eq!(count(&d, |s| matches!(s, Step::AddIpBlock { .. })), 2);
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

#[cfg(test)]
mod basement_tests {
    use super::*;
    use crate::desired::desired;
    use fittings::{Parameters, load_text};

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
        let image: Image = cloud::wire::decode(
            "img",
            r#"<osImage xmlns="urn:didata.com:api:cloud:types" id="i"><name>Ubuntu 22.04</name></osImage>"#,
        )
        .unwrap();
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
