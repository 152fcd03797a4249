//! Apply: runs a location's step DAG on tokio, each step once everything it depends on has
//! succeeded, as many at once as the DAG allows (the client caps change requests in flight).
//!
//! Each resource kind's steps run in their own file: `network` (domains, public IP blocks),
//! `vlan`, `reserve`, `server`, `hardware`, `nics`, `nat`, `firewall`, `balancer` (pools, VIP
//! nodes, members, listeners), `backup`, `tags`; `converge` holds the rules
//! they share so that a run never duplicates a resource, and a run killed at any moment converges
//! when run again: every create observes before it creates again (a lost answer or
//! NAME_NOT_UNIQUE leads to a lookup by name, by internal address for NAT, by new id for IP blocks).
//! `registry` keeps the ids known so far; `context` is what a running step sees; `dedup` removes
//! duplicates that runs on other machines (or crashes, or other tools) left.

mod backup;
mod balancer;
mod context;
mod converge;
mod dedup;
mod firewall;
mod hardware;
mod nat;
mod network;
mod nics;
mod priority;
mod registry;
mod reserve;
mod server;
mod tags;
mod vlan;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use cloud::{CloudResult, Reconfigure};
use plan::{PlannedStep, Step, StepPlan};

use crate::outcome::{StepOutcome, StepStatus};
use crate::progress::EventState;

pub use context::ExecContext;
pub use dedup::{converge, leftovers};

/// The DAG's bookkeeping while it runs: outcomes so far, how many unfinished steps each waits for,
/// who waits for whom.
struct Dag<'a> {
    plan: &'a StepPlan,
    outcomes: Vec<Option<StepOutcome>>,
    waiting: Vec<usize>,
    dependents: Vec<Vec<usize>>,
}

impl<'a> Dag<'a> {
    fn new(plan: &'a StepPlan) -> Self {
        let n = plan.steps.len();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        for s in &plan.steps {
            for a in &s.after {
                dependents[*a].push(s.id);
            }
        }
        Dag {
            plan,
            outcomes: vec![None; n],
            waiting: plan.steps.iter().map(|s| s.after.len()).collect(),
            dependents,
        }
    }

    /// Records step `id` done; returns the steps it made ready.
    fn done(&mut self, id: usize, ms: u64) -> Vec<usize> {
        let step = &self.plan.steps[id];
        self.outcomes[id] = Some(StepOutcome::new(step, StepStatus::Done, None, ms));
        let mut ready = Vec::new();
        for &dep in &self.dependents[id] {
            self.waiting[dep] -= 1;
            if self.waiting[dep] == 0 && self.outcomes[dep].is_none() {
                ready.push(dep);
            }
        }
        ready
    }

    /// Records step `id` failed, and every step after it skipped.
    fn failed(&mut self, id: usize, error: String, ms: u64) {
        let step = &self.plan.steps[id];
        self.outcomes[id] = Some(StepOutcome::new(step, StepStatus::Failed, Some(error), ms));
        let mut stack = self.dependents[id].clone();
        while let Some(dep) = stack.pop() {
            if self.outcomes[dep].is_none() {
                let why = format!("not run: step {id} ({}) failed", step.step.describe());
                self.outcomes[dep] = Some(StepOutcome::new(
                    &self.plan.steps[dep],
                    StepStatus::Skipped,
                    Some(why),
                    0,
                ));
                stack.extend(self.dependents[dep].iter().copied());
            }
        }
    }

    /// One outcome per step, in step order (steps never reached count as skipped).
    fn finish(self) -> Vec<StepOutcome> {
        let plan = self.plan;
        self.outcomes
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                o.unwrap_or_else(|| {
                    let why = Some("not reached".into());
                    StepOutcome::new(&plan.steps[i], StepStatus::Skipped, why, 0)
                })
            })
            .collect()
    }
}

type Running = JoinSet<(usize, CloudResult<()>, Duration)>;

fn spawn(set: &mut Running, ctx: &Arc<ExecContext>, st: &PlannedStep, priority: u32) {
    let ctx = ctx.clone();
    let st = st.clone();
    set.spawn(cloud::with_priority(priority, async move {
        let t0 = Instant::now();
        ctx.progress.step(
            &ctx.location_id,
            st.id,
            EventState::Started,
            st.step.describe(),
            None,
        );
        let r = run_step(&ctx, &st.step).await;
        (st.id, r, t0.elapsed())
    }));
}

/// Runs a plan; returns one outcome per step, in step order.
pub async fn execute(ctx: Arc<ExecContext>, plan: &StepPlan) -> Vec<StepOutcome> {
    set_block_targets(&ctx, plan);
    let mut dag = Dag::new(plan);
    let tails = priority::tails(plan);
    let mut set: Running = JoinSet::new();
    for s in plan.steps.iter().filter(|s| s.after.is_empty()) {
        spawn(&mut set, &ctx, s, tails[s.id]);
    }
    while let Some(joined) = set.join_next().await {
        let (id, result, elapsed) = match joined {
            Ok(x) => x,
            Err(e) => panic!("a step task panicked: {e}"),
        };
        let describe = plan.steps[id].step.describe();
        let ms = elapsed.as_millis() as u64;
        match result {
            Ok(()) => {
                let loc = &ctx.location_id;
                ctx.progress
                    .step(loc, id, EventState::Done, describe, Some(ms));
                for dep in dag.done(id, ms) {
                    spawn(&mut set, &ctx, &plan.steps[dep], tails[dep]);
                }
            }
            Err(e) => {
                let line = format!("{describe}: {e}");
                let loc = &ctx.location_id;
                ctx.progress
                    .step(loc, id, EventState::Failed, line, Some(ms));
                dag.failed(id, e.to_string(), ms);
            }
        }
    }
    dag.finish()
}

/// Records, per domain, how many public IP blocks it holds once the plan's AddIpBlocks steps are
/// done: the blocks known now plus those the steps add (runs racing from the same state agree on
/// it).
fn set_block_targets(ctx: &ExecContext, plan: &StepPlan) {
    let mut r = ctx.reg();
    for s in &plan.steps {
        if let Step::AddIpBlocks { domain, count } = &s.step {
            let known = r.domain(domain).map_or(0, |d| d.blocks.len());
            *r.block_targets.entry(domain.clone()).or_insert(known) += count;
        }
    }
}

/// Runs one step: each kind's file does the work (servers and firewall rules have their own
/// dispatch below, the match here names every step).
async fn run_step(ctx: &ExecContext, step: &Step) -> CloudResult<()> {
    match step {
        Step::CreateDomain {
            domain,
            description,
            plan,
        } => network::create_domain(ctx, domain, description, plan).await,
        Step::AwaitDomain { domain } => network::await_domain(ctx, domain).await,
        Step::DeleteDomain { id, .. } => network::delete_domain(ctx, id).await,
        Step::AddIpBlocks { domain, count } => network::add_ip_blocks(ctx, domain, *count).await,
        Step::RemoveIpBlock { id, .. } => network::remove_ip_block(ctx, id).await,
        Step::RemoveSpareIpBlock { domain, id, .. } => {
            network::remove_spare_ip_block(ctx, domain, id).await
        }
        Step::CreateVlan {
            domain,
            vlan,
            description,
            base,
            prefix,
        } => vlan::create(ctx, domain, vlan, description, base, *prefix).await,
        Step::AwaitVlan { domain, vlan } => vlan::await_vlan(ctx, domain, vlan).await,
        Step::DeleteVlan { id, .. } => vlan::delete(ctx, id).await,
        Step::ReservePrivateIpv4 { domain, vlan, ip } => {
            reserve::reserve(ctx, domain, vlan, ip).await
        }
        Step::UnreservePrivateIpv4 { id, ip, .. } => reserve::unreserve(ctx, id, ip).await,
        Step::AttachNic {
            domain,
            node,
            vlan,
            address,
        } => nics::attach(ctx, domain, node, vlan, address.as_deref()).await,
        Step::CreateNat { domain, node } => nat::create(ctx, domain, node).await,
        Step::DeleteNat {
            domain, node, id, ..
        } => nat::delete(ctx, domain, node, id).await,
        Step::DeployServer { .. }
        | Step::AwaitServer { .. }
        | Step::StartServer { .. }
        | Step::StopServer { .. }
        | Step::EnableMonitoring { .. }
        | Step::DeleteServer { .. }
        | Step::DeleteDuplicateServer { .. }
        | Step::ReconfigureServer { .. }
        | Step::SetDisk { .. } => run_server_step(ctx, step).await,
        Step::CreateFirewallRule { .. }
        | Step::CreateAcceptRule { .. }
        | Step::DisableDefaultRule { .. }
        | Step::DeleteFirewallRule { .. } => run_rule_step(ctx, step).await,
        _ => run_lb_step(ctx, step).await,
    }
}

/// Runs the steps of load balancers and backup.
async fn run_lb_step(ctx: &ExecContext, step: &Step) -> CloudResult<()> {
    match step {
        Step::CreatePool {
            domain,
            pool,
            method,
            description,
        } => balancer::create_pool(ctx, domain, pool, method, description).await,
        Step::CreateVipNode { domain, node } => balancer::create_vip_node(ctx, domain, node).await,
        Step::AddPoolMember { domain, pool, node } => {
            balancer::add_member(ctx, domain, pool, node).await
        }
        Step::CreateListener {
            domain,
            listener,
            pool,
            protocol,
            port,
            address,
        } => {
            let l = balancer::Listener {
                domain,
                name: listener,
                pool,
                protocol,
                port: *port,
                address: address.as_deref(),
            };
            balancer::create_listener(ctx, l).await
        }
        Step::DeleteListener {
            domain,
            listener,
            id,
        } => balancer::delete_listener(ctx, domain, listener, id).await,
        Step::RemovePoolMember { id, .. } => balancer::remove_member(ctx, id).await,
        Step::DeletePool { id, .. } => balancer::delete(ctx, cloud::VipKind::Pool, id).await,
        Step::DeleteVipNode { id, .. } => balancer::delete(ctx, cloud::VipKind::Node, id).await,
        Step::EnableBackup {
            domain,
            node,
            plan,
            change,
        } => backup::enable(ctx, domain, node, plan, *change).await,
        Step::AddBackupClient {
            domain,
            node,
            kind,
            storage_policy,
            schedule_policy,
            trigger,
            email,
        } => {
            let want = plan::WantBackupClient {
                kind: kind.clone(),
                storage_policy: storage_policy.clone(),
                schedule_policy: schedule_policy.clone(),
                trigger: trigger.clone(),
                email: email.clone(),
            };
            backup::add_client(ctx, backup::Client { domain, node, want }).await
        }
        Step::DisableBackup { id, .. } => backup::disable(ctx, id).await,
        Step::CreateTagKey { key } => tags::create_key(ctx, key).await,
        Step::ApplyTags { domain, node, tags } => tags::apply(ctx, domain, node, tags).await,
        other => unreachable!("run_step dispatches {other:?} elsewhere"),
    }
}

/// Runs the steps of servers, their hardware and their firewall rules.
async fn run_server_step(ctx: &ExecContext, step: &Step) -> CloudResult<()> {
    match step {
        Step::DeployServer {
            domain,
            vlan,
            node,
            image_id,
            cpu,
            memory_gb,
            primary_ipv4,
            description,
            start,
            ..
        } => {
            let d = server::Deploy {
                domain,
                vlan,
                node,
                image_id,
                cpu: cpu.as_ref(),
                memory_gb: *memory_gb,
                primary_ipv4: primary_ipv4.as_ref(),
                description,
                start: *start,
            };
            server::deploy(ctx, d).await
        }
        Step::AwaitServer {
            domain,
            node,
            fresh,
            started,
            deleting,
        } => server::await_server(ctx, domain, node, *fresh, *started, *deleting).await,
        Step::StartServer { domain, node } => server::start(ctx, domain, node).await,
        Step::StopServer { domain, node } => server::stop(ctx, domain, node).await,
        Step::EnableMonitoring {
            domain,
            node,
            plan,
            change,
        } => server::monitoring(ctx, domain, node, plan, *change).await,
        Step::DeleteServer { domain, id, .. } => server::delete(ctx, domain, id).await,
        Step::DeleteDuplicateServer { domain, id, .. } => {
            server::delete_duplicate(ctx, domain, id).await
        }
        Step::ReconfigureServer {
            domain,
            node,
            cpu_count,
            memory_gb,
            cores_per_socket,
            cpu_speed,
        } => {
            let req = Reconfigure {
                cpu_count: *cpu_count,
                memory_gb: *memory_gb,
                cores_per_socket: *cores_per_socket,
                cpu_speed: cpu_speed.clone(),
            };
            hardware::reconfigure_step(ctx, domain, node, &req).await
        }
        Step::SetDisk {
            domain,
            node,
            scsi_id,
            size_gb,
            speed,
        } => hardware::set_disk_step(ctx, domain, node, *scsi_id, *size_gb, speed).await,
        other => unreachable!("run_step sends {other:?} elsewhere"),
    }
}

/// Runs the steps of firewall rules.
async fn run_rule_step(ctx: &ExecContext, step: &Step) -> CloudResult<()> {
    match step {
        Step::CreateFirewallRule {
            domain,
            node,
            rule,
            protocol,
            begin,
            end,
        } => firewall::create_port_rule(ctx, domain, node, rule, protocol, (*begin, *end)).await,
        Step::CreateAcceptRule {
            domain,
            rule,
            from_vlan,
            to_vlan,
            ipv6,
            from_location,
            from_region,
        } => {
            let a = firewall::Accept {
                domain,
                rule,
                from_vlan,
                to_vlan,
                ipv6: *ipv6,
                from_location: from_location.as_deref(),
                from_region: from_region.as_deref(),
            };
            firewall::create_accept_rule(ctx, a).await
        }
        Step::DisableDefaultRule { domain, rule } => {
            firewall::disable_default_rule(ctx, domain, rule).await
        }
        Step::DeleteFirewallRule { id, .. } => firewall::delete(ctx, id).await,
        other => unreachable!("run_step dispatches {other:?} elsewhere"),
    }
}
