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

use plan::{Desired, DomainInventory, Inventory, Server, State, Step, StepPlan};

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
        for node in nodes {
            servers(inv, node, &mut plan, &mut nat_steps, &mut notes);
        }
        if prune_blocks {
            let internet = want
                .nodes
                .iter()
                .filter(|n| n.domain == inv.domain.name && n.internet);
            let needed = internet
                .filter(|n| {
                    let ip = inv.server(&n.name).and_then(|s| s.private_ipv4());
                    ip.is_none_or(|ip| inv.nat_for(ip).is_none())
                })
                .count();
            blocks(inv, needed, &nat_steps, &mut plan, &mut notes);
        }
    }
    (plan, notes)
}

/// The servers named `node` in `inv` beyond the oldest: their NAT rules, then themselves.
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
    group.sort_by(|a, b| {
        age_key(a.create_time.as_deref(), &a.id).cmp(&age_key(b.create_time.as_deref(), &b.id))
    });
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

/// Public IP blocks that no NAT rule uses, newest first, while the free addresses left still
/// cover the `needed` internet nodes that have no NAT rule yet.
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
        .collect();
    let mut free = inv.free_public_ips().len();
    let mut unused: Vec<_> = inv
        .ip_blocks
        .iter()
        .filter(|b| b.addresses().iter().all(|a| !used.contains(&a.to_string())))
        .cloned()
        .collect();
    unused.sort_by(|a, b| {
        age_key(b.create_time.as_deref(), &b.id).cmp(&age_key(a.create_time.as_deref(), &a.id))
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
            Step::RemoveIpBlock {
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
            Doomed::Block(domain, id, base_ip) => Step::RemoveIpBlock {
                domain,
                id,
                base_ip,
            },
        };
        plan.add(step, []);
    }
    plan
}
