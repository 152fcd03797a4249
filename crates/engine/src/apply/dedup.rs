//! Duplicates, converged: the API keeps neither server names nor public IP blocks unique, so runs
//! on machines that share only the cloud (CI runners) can each create "the" server of a node, or
//! "the" block a domain needs. Every run keeps the same one ([`age_key`]: oldest, then smallest
//! id) and removes the others:
//!
//! - [`converge`]: before the diff of any phase, in what was just observed (no extra request):
//!   servers of one plan node's name beyond the oldest (their NAT rules first), and, when building,
//!   public IP blocks that no NAT rule uses beyond what the plan's internet nodes still need. The
//!   inventory the diff sees is the one that remains. Duplicates left by a crash, by a race or by
//!   another tool are cleaned up this way on any later run, and named in its output.
//! - [`leftovers`]: after a phase's steps, what this run itself created and then found a racing
//!   run's older twin of (the steps adopted the older one at once; see `server` and `network`).

use std::collections::BTreeSet;

use plan::{Desired, DomainInventory, Inventory, IpBlock, NatRule, Server, State, Step, StepPlan};

use super::context::ExecContext;
use super::converge::age_key;
use super::registry::Doomed;

/// True for a server on its way out already.
fn being_deleted(s: &Server) -> bool {
    s.state == State::PendingDelete || s.pending_action() == Some("DELETE_SERVER")
}

/// The steps that remove the duplicates `have` holds for `want` (and the notes that name them);
/// what they remove is taken out of `have`. `prune_blocks`: also release public IP blocks that no
/// NAT rule uses and that the plan's internet nodes do not need (a build of the whole plan).
pub fn converge(
    want: &Desired,
    have: &mut Inventory,
    prune_blocks: bool,
) -> (StepPlan, Vec<String>) {
    let mut plan = StepPlan::default();
    let mut notes = Vec::new();
    for inv in &mut have.domains {
        let nodes: BTreeSet<&str> = want
            .nodes
            .iter()
            .filter(|n| n.domain == inv.domain.name)
            .map(|n| n.name.as_str())
            .collect();
        let mut nat_steps = Vec::new();
        let shared = shared_names(inv);
        for node in nodes.into_iter().filter(|n| shared.contains(*n)) {
            servers(inv, node, &mut plan, &mut nat_steps, &mut notes);
        }
        nat_rules(inv, &mut plan, &mut nat_steps, &mut notes);
        if prune_blocks {
            let internet = want
                .nodes
                .iter()
                .filter(|n| n.domain == inv.domain.name && n.internet);
            let (by_name, nats) = (inv.servers_by_name(), inv.nats_by_internal_ip());
            let needed = internet
                .filter(|n| {
                    let ip = by_name.get(n.name.as_str()).and_then(|s| s.private_ipv4());
                    ip.is_none_or(|ip| !nats.contains_key(ip))
                })
                .count();
            let listeners = want
                .balancers
                .iter()
                .filter(|b| b.domain == inv.domain.name)
                .flat_map(|b| &b.listeners)
                .filter(|l| l.address.is_none() && inv.listener(&l.name).is_none())
                .count();
            blocks(inv, needed + listeners, &nat_steps, &mut plan, &mut notes);
        }
    }
    (plan, notes)
}

/// The servers named `node` in `inv` beyond the oldest: their NAT rules, then themselves.
/// The names that two servers or more not being deleted hold (only those can have duplicates:
/// looking through every server for each node was quadratic).
fn shared_names(inv: &DomainInventory) -> BTreeSet<String> {
    let mut seen = std::collections::HashMap::<&str, usize>::new();
    for s in inv.servers.iter().filter(|s| !being_deleted(s)) {
        *seen.entry(s.name.as_str()).or_default() += 1;
    }
    seen.into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(name, _)| name.to_string())
        .collect()
}

fn servers(
    inv: &mut DomainInventory,
    node: &str,
    plan: &mut StepPlan,
    nat_steps: &mut Vec<Option<usize>>,
    notes: &mut Vec<String>,
) {
    let mut group: Vec<&Server> = inv
        .servers
        .iter()
        .filter(|s| s.name == node && !being_deleted(s))
        .collect();
    if group.len() < 2 {
        return;
    }
    group.sort_by_key(|s| age_key(s.create_time.as_deref(), s.private_ipv4(), &s.id));
    let kept = group[0].clone();
    let losers: Vec<Server> = group[1..].iter().map(|s| (*s).clone()).collect();
    let domain = inv.domain.name.clone();
    let when = |s: &Server| s.create_time.clone().unwrap_or_else(|| "?".into());
    for loser in &losers {
        notes.push(format!(
            "node {node}: {} servers have its name in network domain {domain}; keeping {} (created {}), deleting the duplicate {} (created {})",
            losers.len() + 1,
            kept.id,
            when(&kept),
            loser.id,
            when(loser)
        ));
        let ip = loser.private_ipv4().map(str::to_string);
        let mut after = Vec::new();
        for nat in inv
            .nat_rules
            .iter()
            .filter(|n| ip.as_deref() == Some(n.internal_ip.trim()))
        {
            let s = plan.add(
                Step::DeleteNat {
                    domain: domain.clone(),
                    node: node.to_string(),
                    id: nat.id.clone(),
                    external_ip: nat.external_ip.trim().to_string(),
                },
                [],
            );
            after.push(Some(s));
            nat_steps.push(Some(s));
        }
        plan.add(
            Step::DeleteDuplicateServer {
                domain: domain.clone(),
                node: node.to_string(),
                id: loser.id.clone(),
                kept: kept.id.clone(),
            },
            after,
        );
        inv.nat_rules
            .retain(|n| ip.as_deref() != Some(n.internal_ip.trim()));
        inv.servers.retain(|s| s.id != loser.id);
    }
}

/// NAT rules of one internal address beyond the oldest (the emulator refuses them, as the real
/// API is expected to; another tool, or an API that lets them through, may still leave some).
fn nat_rules(
    inv: &mut DomainInventory,
    plan: &mut StepPlan,
    nat_steps: &mut Vec<Option<usize>>,
    notes: &mut Vec<String>,
) {
    let mut rules: Vec<&NatRule> = inv.nat_rules.iter().collect();
    rules.sort_by(|a, b| {
        let (x, y) = (a.internal_ip.trim(), b.internal_ip.trim());
        x.cmp(y).then_with(|| {
            let (ea, eb) = (Some(a.external_ip.as_str()), Some(b.external_ip.as_str()));
            age_key(a.create_time.as_deref(), ea, &a.id).cmp(&age_key(
                b.create_time.as_deref(),
                eb,
                &b.id,
            ))
        })
    });
    let mut seen = BTreeSet::new();
    let mut losers = Vec::new();
    for r in rules {
        if !seen.insert(r.internal_ip.trim()) {
            losers.push(r.clone());
        }
    }
    let domain = inv.domain.name.clone();
    for r in losers {
        let internal = r.internal_ip.trim().to_string();
        notes.push(format!(
            "network domain {domain}: {internal} has more than one NAT rule; deleting {} ({} -> {internal})",
            r.id,
            r.external_ip.trim()
        ));
        nat_steps.push(Some(plan.add(
            Step::DeleteNat {
                domain: domain.clone(),
                node: internal,
                id: r.id.clone(),
                external_ip: r.external_ip.trim().to_string(),
            },
            [],
        )));
        inv.nat_rules.retain(|n| n.id != r.id);
    }
}

/// Public IP blocks that no NAT rule or listener uses, newest first, while the free addresses left
/// still cover the `needed` public addresses (internet nodes without a NAT rule, listeners to make).
fn blocks(
    inv: &mut DomainInventory,
    needed: usize,
    nat_steps: &[Option<usize>],
    plan: &mut StepPlan,
    notes: &mut Vec<String>,
) {
    let used: BTreeSet<String> = inv
        .nat_rules
        .iter()
        .map(|n| n.external_ip.trim().to_string())
        .chain(
            inv.listeners
                .iter()
                .filter_map(|l| l.ip.as_deref())
                .map(|a| a.trim().to_string()),
        )
        .collect();
    let mut free = inv.free_public_ips().len();
    let mut unused: Vec<_> = inv
        .ip_blocks
        .iter()
        .filter(|b| b.addresses().iter().all(|a| !used.contains(&a.to_string())))
        .cloned()
        .collect();
    unused.sort_by(|a, b| {
        let key = |x: &IpBlock| {
            let k = age_key(x.create_time.as_deref(), Some(&x.base_ip), &x.id);
            (k.0, k.1.to_string(), k.2, k.3.to_string())
        };
        key(b).cmp(&key(a))
    });
    let domain = inv.domain.name.clone();
    for b in unused {
        let size = b.size as usize;
        if free < needed + size {
            continue;
        }
        free -= size;
        notes.push(format!(
            "network domain {domain}: public IPv4 block {} ({}) is not used and not needed; releasing it",
            b.base_ip.trim(),
            b.id
        ));
        plan.add(
            Step::RemoveSpareIpBlock {
                domain: domain.clone(),
                id: b.id.clone(),
                base_ip: b.base_ip.trim().to_string(),
            },
            nat_steps.iter().copied(),
        );
        inv.ip_blocks.retain(|x| x.id != b.id);
    }
}

/// The steps that remove what this run created and then adopted another run's older twin of.
pub fn leftovers(ctx: &ExecContext) -> StepPlan {
    let doomed = std::mem::take(&mut ctx.reg().doomed);
    let mut plan = StepPlan::default();
    for d in doomed {
        let step = match d {
            Doomed::Server(domain, node, id, kept) => Step::DeleteDuplicateServer {
                domain,
                node,
                id,
                kept,
            },
            Doomed::Block(domain, id, base_ip) => Step::RemoveSpareIpBlock {
                domain,
                id,
                base_ip,
            },
        };
        plan.add(step, []);
    }
    plan
}

#[cfg(test)]
mod tests {
    use plan::{Domain, IpBlock, Nic};

    use super::*;

    fn want() -> Desired {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fittings/redis-cluster.yaml"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let plan = fittings::load_text(path, &text, &fittings::Parameters::new())
            .unwrap()
            .0;
        plan::desired(&plan.locations[0], &[])
    }

    fn server(id: &str, name: &str, ip: &str, created: &str) -> Server {
        Server {
            id: id.into(),
            name: name.into(),
            state: State::Normal,
            primary_nic: Some(Nic {
                private_ipv4: Some(ip.into()),
                ..Nic::default()
            }),
            create_time: Some(created.into()),
            ..Server::default()
        }
    }

    fn nat(id: &str, internal: &str, external: &str, created: &str) -> NatRule {
        NatRule {
            id: id.into(),
            internal_ip: internal.into(),
            external_ip: external.into(),
            create_time: Some(created.into()),
        }
    }

    fn block(id: &str, base: &str, created: &str) -> IpBlock {
        IpBlock {
            id: id.into(),
            base_ip: base.into(),
            size: 2,
            create_time: Some(created.into()),
        }
    }

    /// The redis plan deployed once (servers s1..s4, 10.0.0.11..14, NATed to the two blocks).
    fn deployed(want: &Desired) -> Inventory {
        let mut d = DomainInventory::new(Domain {
            id: "dom".into(),
            name: want.domains[0].name.clone(),
            state: State::Normal,
        });
        let t = "2026-12-06T10:00:00.000Z";
        for i in 1..=4 {
            let (ip, ext) = (format!("10.0.0.1{i}"), format!("168.0.0.{i}"));
            d.servers
                .push(server(&format!("s{i}"), &format!("redis0{i}"), &ip, t));
            d.nat_rules.push(nat(&format!("n{i}"), &ip, &ext, t));
        }
        d.ip_blocks = vec![block("b1", "168.0.0.1", t), block("b2", "168.0.0.3", t)];
        Inventory {
            location_id: want.location_id.clone(),
            domains: vec![d],
            ..Inventory::default()
        }
    }

    #[test]
    fn nothing_to_converge_costs_nothing() {
        let want = want();
        let mut have = deployed(&want);
        let before = have.clone();
        let (plan, notes) = converge(&want, &mut have, true);
        assert!(plan.is_empty() && notes.is_empty(), "{plan:?} {notes:?}");
        assert_eq!(have, before);
    }

    #[test]
    fn the_oldest_is_kept_and_the_rest_goes_nat_rules_first() {
        let want = want();
        let mut have = deployed(&want);
        let d = &mut have.domains[0];
        // Another tool deployed redis02 again later, with a block and a NAT rule of its own; an
        // older redis03 without a creation time loses to the one that has one.
        let later = "2026-12-06T11:00:00.000Z";
        d.servers
            .push(server("z-dup", "redis02", "10.0.0.20", later));
        d.servers.push(Server {
            create_time: None,
            ..server("a-dup", "redis03", "10.0.0.21", later)
        });
        d.ip_blocks.push(block("b3", "168.0.0.5", later));
        d.nat_rules
            .push(nat("n-dup", "10.0.0.20", "168.0.0.5", later));
        d.nat_rules
            .push(nat("n-twice", "10.0.0.11", "168.0.0.6", later));
        let (plan, notes) = converge(&want, &mut have, true);
        let steps: Vec<String> = plan.steps.iter().map(|s| s.step.describe()).collect();
        assert_eq!(
            steps,
            [
                "delete NAT rule 168.0.0.5 -> redis02",
                "delete duplicate server redis02 (z-dup; s2 is kept)",
                "delete duplicate server redis03 (a-dup; s3 is kept)",
                "delete NAT rule 168.0.0.6 -> 10.0.0.11",
                "release spare public IPv4 block 168.0.0.5",
            ]
        );
        assert_eq!(plan.steps[1].after, [0]);
        assert_eq!(plan.steps[4].after, [0, 3]);
        assert_eq!(notes.len(), 4, "{notes:?}");
        assert!(notes[0].contains("keeping s2 (created 2026-12-06T10:00:00.000Z)"));
        // The diff sees the plan as deployed once.
        assert_eq!(have, deployed(&want));
    }

    #[test]
    fn blocks_still_needed_are_kept() {
        let want = want();
        let mut have = deployed(&want);
        // Nothing NATed yet: the four internet nodes need two blocks; a third is released (newest
        // first), the two others kept.
        let d = &mut have.domains[0];
        d.nat_rules.clear();
        d.ip_blocks
            .push(block("b3", "168.0.0.5", "2026-12-06T11:00:00.000Z"));
        let (plan, _) = converge(&want, &mut have, true);
        let steps: Vec<String> = plan.steps.iter().map(|s| s.step.describe()).collect();
        assert_eq!(steps, ["release spare public IPv4 block 168.0.0.5"]);
        assert_eq!(have.domains[0].ip_blocks.len(), 2);
    }

    #[test]
    fn a_block_holding_a_listener_is_kept() {
        let want = want();
        let mut have = deployed(&want);
        // A newest block whose first address a load balancer listener took (no NAT rule uses it,
        // the listener does) and an older spare one: the spare goes, the listener's block stays
        // (the API would refuse its release: HAS_DEPENDENCY).
        let d = &mut have.domains[0];
        d.ip_blocks
            .push(block("b4", "168.0.0.7", "2026-12-06T10:30:00.000Z"));
        d.ip_blocks
            .push(block("b3", "168.0.0.5", "2026-12-06T11:00:00.000Z"));
        d.listeners.push(plan::Listener {
            id: "l1".into(),
            name: "http.web.eu6.balancer".into(),
            ip: Some("168.0.0.5".into()),
            port: Some(80),
            state: State::Normal,
        });
        let (plan, _) = converge(&want, &mut have, true);
        let steps: Vec<String> = plan.steps.iter().map(|s| s.step.describe()).collect();
        assert_eq!(steps, ["release spare public IPv4 block 168.0.0.7"]);
        assert_eq!(have.domains[0].ip_blocks.len(), 3);
    }
}
