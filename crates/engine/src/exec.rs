//! The executor: runs a location's step DAG on tokio, each step once everything it depends on has
//! succeeded, as many at once as the DAG allows (the client caps change requests in flight).
//!
//! Every create observes before it creates again: a lost answer (connection reset, 5xx) or
//! NAME_NOT_UNIQUE leads to a lookup by name (by internal address for NAT, by new id for IP blocks), so a
//! run never duplicates a resource, and a run killed at any moment converges when run again.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::task::JoinSet;

use cloud::{
    AsyncOp, CloudClient, CloudError, CloudResult, CpuSpec, FirewallIp, FirewallPort,
    FirewallScope, NewFirewallRule, NewNetworkDomain, NewServer, NewVlan, Placement, Reconfigure,
    Secret, Server, Wait,
};

use super::inventory::Inventory;
use super::progress::{EventState, Progress};
use super::remote::Remotes;
use super::steps::{PlannedStep, Step, StepPlan};
use super::watch::DomainWatch;

/// How many times a create is attempted when its answers keep getting lost.
const CREATE_ATTEMPTS: u32 = 6;

/// What the executor knows about one server.
#[derive(Debug, Clone, Default)]
struct ServerFacts {
    id: String,
    private_ipv4: Option<String>,
    started: bool,
}

/// Ids and addresses known so far, filled from the inventory and by the steps.
#[derive(Debug, Default)]
struct Registry {
    domains: HashMap<String, String>,
    vlans: HashMap<(String, String), (String, String, u8)>,
    servers: HashMap<(String, String), ServerFacts>,
    nat: HashMap<(String, String), String>,
    free_ips: HashMap<String, VecDeque<String>>,
    blocks: HashMap<String, BTreeSet<String>>,
}

impl Registry {
    fn from_inventory(inv: &Inventory) -> Self {
        let mut r = Registry::default();
        for d in &inv.domains {
            let dn = d.domain.name.clone();
            r.domains.insert(dn.clone(), d.domain.id.clone());
            for v in &d.vlans {
                r.vlans.insert(
                    (dn.clone(), v.name.clone()),
                    (
                        v.id.clone(),
                        v.private_ipv4_range.address.clone(),
                        v.private_ipv4_range.prefix_size,
                    ),
                );
            }
            for s in &d.servers {
                r.servers
                    .entry((dn.clone(), s.name.clone()))
                    .or_insert(ServerFacts {
                        id: s.id.clone(),
                        private_ipv4: s.private_ipv4().map(str::to_string),
                        started: s.started,
                    });
                if let Some(n) = s.private_ipv4().and_then(|ip| d.nat_for(ip)) {
                    r.nat.insert(
                        (dn.clone(), s.name.clone()),
                        n.external_ip.trim().to_string(),
                    );
                }
            }
            r.free_ips.insert(dn.clone(), d.free_public_ips().into());
            r.blocks.insert(
                dn.clone(),
                d.ip_blocks.iter().map(|b| b.id.clone()).collect(),
            );
        }
        r
    }
}

/// Everything a step needs while it runs.
pub struct ExecContext {
    /// The API client of the location.
    pub client: CloudClient,
    /// Location id.
    pub location_id: String,
    /// Root password of new servers.
    pub admin_password: Option<Secret>,
    /// Progress output.
    pub progress: Progress,
    registry: Mutex<Registry>,
    watches: Mutex<HashMap<String, Arc<DomainWatch>>>,
    remotes: Arc<Remotes>,
}

impl ExecContext {
    /// A context whose registry starts from the inventory.
    pub fn new(
        client: CloudClient,
        inventory: &Inventory,
        admin_password: Option<Secret>,
        progress: Progress,
    ) -> Self {
        ExecContext {
            client: client.clone(),
            location_id: inventory.location_id.clone(),
            admin_password,
            progress,
            registry: Mutex::new(Registry::from_inventory(inventory)),
            watches: Mutex::new(HashMap::new()),
            remotes: Arc::new(Remotes::single(client)),
        }
    }

    /// Reach VLANs of other locations through `remotes` (default: through this location's client,
    /// looking once).
    pub fn with_remotes(mut self, remotes: Arc<Remotes>) -> Self {
        self.remotes = remotes;
        self
    }

    /// The shared server watch of a domain (by name).
    fn watch(&self, domain: &str) -> CloudResult<Arc<DomainWatch>> {
        let id = self.domain_id(domain)?;
        let mut w = self.watches.lock().expect("watch lock");
        Ok(w.entry(id.clone())
            .or_insert_with(|| Arc::new(DomainWatch::new(self.client.clone(), id)))
            .clone())
    }

    fn reg(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().expect("registry lock")
    }

    fn domain_id(&self, name: &str) -> CloudResult<String> {
        self.reg()
            .domains
            .get(name)
            .cloned()
            .ok_or_else(|| missing(format!("network domain {name}")))
    }

    fn server(&self, domain: &str, node: &str) -> CloudResult<ServerFacts> {
        self.reg()
            .servers
            .get(&(domain.to_string(), node.to_string()))
            .cloned()
            .ok_or_else(|| missing(format!("server {node}")))
    }

    /// The id of a server by domain and node name (from the inventory or an earlier step).
    pub(super) fn server_id(&self, domain: &str, node: &str) -> CloudResult<String> {
        self.server(domain, node).map(|f| f.id)
    }

    fn set_server(&self, domain: &str, node: &str, f: impl FnOnce(&mut ServerFacts)) {
        let mut r = self.reg();
        let e = r
            .servers
            .entry((domain.to_string(), node.to_string()))
            .or_default();
        f(e);
    }
}

pub(super) fn missing(what: String) -> CloudError {
    CloudError::Config(format!(
        "{what} is not known (an earlier step did not complete)"
    ))
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Printed only (safe mode).
    Planned,
    /// Done.
    Done,
    /// Failed with an error.
    Failed,
    /// Not run because a step it depends on failed.
    Skipped,
}

/// The outcome of one step.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepOutcome {
    /// Step id in its plan.
    pub id: usize,
    /// What it is.
    pub step: Step,
    /// Human line.
    pub description: String,
    /// How it ended.
    pub status: StepStatus,
    /// The error, if failed or skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Time spent.
    pub elapsed_ms: u64,
}

/// Runs a plan; returns one outcome per step, in step order.
pub async fn execute(ctx: Arc<ExecContext>, plan: &StepPlan) -> Vec<StepOutcome> {
    let n = plan.steps.len();
    let mut outcomes: Vec<Option<StepOutcome>> = vec![None; n];
    let mut waiting: Vec<usize> = plan.steps.iter().map(|s| s.after.len()).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for s in &plan.steps {
        for a in &s.after {
            dependents[*a].push(s.id);
        }
    }
    let mut set: JoinSet<(usize, CloudResult<()>, Duration)> = JoinSet::new();
    let spawn = |set: &mut JoinSet<_>, st: &PlannedStep| {
        let ctx = ctx.clone();
        let st = st.clone();
        set.spawn(async move {
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
        });
    };
    for s in plan.steps.iter().filter(|s| s.after.is_empty()) {
        spawn(&mut set, s);
    }
    while let Some(joined) = set.join_next().await {
        let (id, result, elapsed) = match joined {
            Ok(x) => x,
            Err(e) => panic!("a step task panicked: {e}"),
        };
        let step = &plan.steps[id];
        let ms = elapsed.as_millis() as u64;
        match result {
            Ok(()) => {
                ctx.progress.step(
                    &ctx.location_id,
                    id,
                    EventState::Done,
                    step.step.describe(),
                    Some(ms),
                );
                outcomes[id] = Some(outcome(step, StepStatus::Done, None, ms));
                for &dep in &dependents[id] {
                    waiting[dep] -= 1;
                    if waiting[dep] == 0 && outcomes[dep].is_none() {
                        spawn(&mut set, &plan.steps[dep]);
                    }
                }
            }
            Err(e) => {
                ctx.progress.step(
                    &ctx.location_id,
                    id,
                    EventState::Failed,
                    format!("{}: {e}", step.step.describe()),
                    Some(ms),
                );
                outcomes[id] = Some(outcome(step, StepStatus::Failed, Some(e.to_string()), ms));
                let mut stack = dependents[id].clone();
                while let Some(dep) = stack.pop() {
                    if outcomes[dep].is_none() {
                        let why = format!("not run: step {id} ({}) failed", step.step.describe());
                        outcomes[dep] =
                            Some(outcome(&plan.steps[dep], StepStatus::Skipped, Some(why), 0));
                        stack.extend(dependents[dep].iter().copied());
                    }
                }
            }
        }
    }
    outcomes
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            o.unwrap_or_else(|| {
                outcome(
                    &plan.steps[i],
                    StepStatus::Skipped,
                    Some("not reached".into()),
                    0,
                )
            })
        })
        .collect()
}

/// Outcomes of a plan that is printed, not run.
pub fn planned(plan: &StepPlan) -> Vec<StepOutcome> {
    plan.steps
        .iter()
        .map(|s| outcome(s, StepStatus::Planned, None, 0))
        .collect()
}

fn outcome(
    s: &PlannedStep,
    status: StepStatus,
    error: Option<String>,
    elapsed_ms: u64,
) -> StepOutcome {
    StepOutcome {
        id: s.id,
        step: s.step.clone(),
        description: s.step.describe(),
        status,
        error,
        elapsed_ms,
    }
}

/// Create with observation: `observe` finds the resource if it exists; `create` makes it. A lost answer
/// or NAME_NOT_UNIQUE leads to observing again before another create. Returns the id and whether this
/// call created it (its answer was seen).
async fn observe_or_create<O, OF, C, CF>(
    what: &str,
    mut observe: O,
    mut create: C,
) -> CloudResult<(String, bool)>
where
    O: FnMut() -> OF,
    OF: std::future::Future<Output = CloudResult<Option<String>>>,
    C: FnMut() -> CF,
    CF: std::future::Future<Output = CloudResult<String>>,
{
    let mut last = None;
    for attempt in 0..CREATE_ATTEMPTS {
        if attempt > 0
            && let Some(id) = observe().await?
        {
            return Ok((id, false));
        }
        match create().await {
            Ok(id) => return Ok((id, true)),
            Err(e) if e.is_ambiguous() || e.has_code(cloud::ErrorCode::NameNotUnique) => {
                tracing::info!(target: "engine", what, error = %e, "observing before creating again");
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| CloudError::Config(format!("could not create {what}"))))
}

/// Ok when the error says the thing is already gone.
fn gone_ok(r: CloudResult<()>) -> CloudResult<()> {
    match r {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

async fn run_step(ctx: &ExecContext, step: &Step) -> CloudResult<()> {
    let c = &ctx.client;
    match step {
        Step::CreateDomain {
            domain,
            description,
            plan,
        } => {
            let req = NewNetworkDomain {
                datacenter_id: ctx.location_id.clone(),
                name: domain.clone(),
                description: Some(description.clone()),
                plan: plan.clone(),
            };
            let loc = ctx.location_id.as_str();
            let (id, fresh) = observe_or_create(
                domain,
                || async move {
                    let found = c
                        .list_network_domains(&[("datacenterId", loc), ("name", domain)])
                        .await?;
                    Ok(found.into_iter().find(|d| &d.name == domain).map(|d| d.id))
                },
                || c.deploy_network_domain(&req),
            )
            .await?;
            ctx.reg().domains.insert(domain.clone(), id.clone());
            ctx.reg().free_ips.entry(domain.clone()).or_default();
            let w = wait_kind(AsyncOp::DeployNetworkDomain, fresh);
            c.wait_network_domain(&id, w).await
        }
        Step::AwaitDomain { domain } => {
            let id = ctx.domain_id(domain)?;
            c.wait_network_domain(&id, Wait::resume(AsyncOp::DeployNetworkDomain))
                .await
        }
        Step::CreateVlan {
            domain,
            vlan,
            description,
            base,
            prefix,
        } => {
            let domain_id = ctx.domain_id(domain)?;
            let req = NewVlan {
                network_domain_id: domain_id.clone(),
                name: vlan.clone(),
                description: Some(description.clone()),
                base_address: base.clone(),
                prefix_size: *prefix,
            };
            let did = domain_id.as_str();
            let (id, fresh) = observe_or_create(
                vlan,
                || async move {
                    let found = c
                        .list_vlans(&[("networkDomainId", did), ("name", vlan)])
                        .await?;
                    Ok(found.into_iter().find(|v| &v.name == vlan).map(|v| v.id))
                },
                || c.deploy_vlan(&req),
            )
            .await?;
            ctx.reg().vlans.insert(
                (domain.clone(), vlan.clone()),
                (id.clone(), base.clone(), *prefix),
            );
            c.wait_vlan(&id, wait_kind(AsyncOp::DeployVlan, fresh))
                .await
        }
        Step::AwaitVlan { domain, vlan } => {
            let id = vlan_id(ctx, domain, vlan)?;
            c.wait_vlan(&id, Wait::resume(AsyncOp::DeployVlan)).await
        }
        Step::ReservePrivateIpv4 { .. } | Step::UnreservePrivateIpv4 { .. } => {
            super::reserve::run(ctx, step).await
        }
        Step::AddIpBlock { domain } => add_ip_block(ctx, domain).await,
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
            let domain_id = ctx.domain_id(domain)?;
            let vid = vlan_id(ctx, domain, vlan)?;
            let req = NewServer {
                name: node.clone(),
                description: description.clone(),
                image_id: image_id.clone(),
                start: *start,
                administrator_password: ctx.admin_password.clone(),
                cpu: cpu.as_ref().map(|(count, cores, speed)| CpuSpec {
                    count: *count,
                    cores_per_socket: *cores,
                    speed: speed.clone(),
                }),
                memory_gb: *memory_gb,
                network_domain_id: domain_id.clone(),
                primary_vlan_id: if primary_ipv4.is_some() {
                    None
                } else {
                    Some(vid)
                },
                primary_ipv4: primary_ipv4.clone(),
            };
            let did = domain_id.as_str();
            let (id, _) = observe_or_create(
                node,
                || async move {
                    let found = c
                        .list_servers(&[("networkDomainId", did), ("name", node)])
                        .await?;
                    Ok(found.into_iter().find(|s| &s.name == node).map(|s| s.id))
                },
                || c.deploy_server(&req),
            )
            .await?;
            let ip = match primary_ipv4 {
                Some(ip) => Some(ip.clone()),
                None => c
                    .get_server(&id)
                    .await?
                    .and_then(|s| s.private_ipv4().map(str::to_string)),
            };
            ctx.set_server(domain, node, |f| {
                f.id = id.clone();
                f.private_ipv4 = ip;
                f.started = false;
            });
            Ok(())
        }
        Step::AwaitServer {
            domain,
            node,
            fresh,
            started,
            deleting,
        } => {
            let facts = ctx.server(domain, node)?;
            if *deleting {
                wait_server(
                    ctx,
                    domain,
                    &facts.id,
                    Wait::resume(AsyncOp::DeleteServer),
                    None,
                )
                .await?;
                return Ok(());
            }
            let op = AsyncOp::DeployServer { started: *started };
            let w = if *fresh {
                Wait::after(op)
            } else {
                Wait::resume(op)
            };
            let want = if *fresh { Some(*started) } else { None };
            let seen = wait_server(ctx, domain, &facts.id, w, want).await?;
            ctx.set_server(domain, node, |f| {
                if let Some(s) = &seen {
                    f.started = s.started;
                    if f.private_ipv4.is_none() {
                        f.private_ipv4 = s.private_ipv4().map(str::to_string);
                    }
                }
            });
            Ok(())
        }
        Step::StartServer { domain, node } => {
            let facts = ctx.server(domain, node)?;
            if facts.started {
                return Ok(());
            }
            match c.start_server(&facts.id).await {
                Ok(()) => {}
                Err(e) if e.has_code(cloud::ErrorCode::ServerStarted) => {}
                Err(e) => {
                    let s = c.get_server(&facts.id).await?;
                    if !s.is_some_and(|s| s.started || s.pending_action() == Some("START_SERVER")) {
                        return Err(e);
                    }
                }
            }
            wait_server(
                ctx,
                domain,
                &facts.id,
                Wait::after(AsyncOp::StartServer),
                Some(true),
            )
            .await?;
            ctx.set_server(domain, node, |f| f.started = true);
            Ok(())
        }
        Step::ReconfigureServer {
            domain,
            node,
            cpu_count,
            memory_gb,
            cores_per_socket,
            cpu_speed,
        } => {
            let facts = ctx.server(domain, node)?;
            let req = Reconfigure {
                cpu_count: *cpu_count,
                memory_gb: *memory_gb,
                cores_per_socket: *cores_per_socket,
                cpu_speed: cpu_speed.clone(),
            };
            super::hardware::reconfigure(c, &facts.id, &req).await
        }
        Step::SetDisk {
            domain,
            node,
            scsi_id,
            size_gb,
            speed,
        } => {
            let facts = ctx.server(domain, node)?;
            super::hardware::set_disk(c, &facts.id, *scsi_id, *size_gb, speed).await
        }
        Step::AttachNic {
            domain,
            node,
            vlan,
            address,
        } => super::nics::attach(ctx, domain, node, vlan, address.as_deref()).await,
        Step::StopServer { domain, node } => {
            let facts = ctx.server(domain, node)?;
            if !facts.started {
                return Ok(());
            }
            let mut op = AsyncOp::ShutdownServer;
            match c.shutdown_server(&facts.id).await {
                Ok(()) => {}
                Err(e) if e.has_code(cloud::ErrorCode::ServerStopped) => {}
                Err(e)
                    if matches!(
                        e.code(),
                        Some(
                            "VMWARE_TOOLS_INVALID_STATUS"
                                | "VM_TOOLS_INVALID_STATUS"
                                | "OPERATION_NOT_SUPPORTED"
                        )
                    ) =>
                {
                    op = AsyncOp::PowerOffServer;
                    match c.power_off_server(&facts.id).await {
                        Ok(()) => {}
                        Err(e) if e.has_code(cloud::ErrorCode::ServerStopped) => {}
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => {
                    let s = c.get_server(&facts.id).await?;
                    let stopping = s.is_some_and(|s| {
                        !s.started
                            || matches!(
                                s.pending_action(),
                                Some("SHUTDOWN_SERVER" | "POWER_OFF_SERVER")
                            )
                    });
                    if !stopping {
                        return Err(e);
                    }
                }
            }
            wait_server(ctx, domain, &facts.id, Wait::after(op), Some(false)).await?;
            ctx.set_server(domain, node, |f| f.started = false);
            Ok(())
        }
        Step::EnableMonitoring {
            domain,
            node,
            plan,
            change,
        } => {
            let facts = ctx.server(domain, node)?;
            let r = if *change {
                c.change_server_monitoring_plan(&facts.id, plan).await
            } else {
                c.enable_server_monitoring(&facts.id, plan).await
            };
            match r {
                Err(e) if e.has_code(cloud::ErrorCode::NoChange) => Ok(()),
                other => other,
            }
        }
        Step::CreateNat { domain, node } => create_nat(ctx, domain, node).await,
        Step::CreateFirewallRule {
            domain,
            node,
            rule,
            protocol,
            begin,
            end,
        } => {
            let domain_id = ctx.domain_id(domain)?;
            let external = ctx
                .reg()
                .nat
                .get(&(domain.clone(), node.clone()))
                .cloned()
                .ok_or_else(|| missing(format!("public address of {node}")))?;
            let req = NewFirewallRule {
                network_domain_id: domain_id.clone(),
                name: rule.clone(),
                action: "ACCEPT_DECISIVELY".into(),
                ip_version: "IPV4".into(),
                protocol: protocol.clone(),
                source: FirewallScope::default(),
                destination: FirewallScope {
                    ip: Some(FirewallIp {
                        address: external,
                        prefix_size: None,
                    }),
                    port: begin.map(|b| FirewallPort {
                        begin: b,
                        end: *end,
                    }),
                    ..FirewallScope::default()
                },
                enabled: true,
                placement: Placement::Last,
            };
            create_rule(c, &domain_id, &req).await
        }
        Step::CreateAcceptRule {
            domain,
            rule,
            from_vlan,
            to_vlan,
            ipv6,
            from_location,
            from_region,
        } => {
            let domain_id = ctx.domain_id(domain)?;
            let mut ranges = Vec::new();
            if let Some(loc) = from_location {
                match ctx
                    .remotes
                    .vlan_ipv6(loc, from_region.as_deref(), from_vlan)
                    .await?
                {
                    Some(r) => ranges.push(r),
                    None => {
                        ctx.progress.line(
                            &ctx.location_id,
                            &format!("{rule} not created: no VLAN {from_vlan} in {loc} (deploy it first, then run again)"),
                        );
                        return Ok(());
                    }
                }
            }
            let local: &[&String] = if from_location.is_some() {
                &[to_vlan]
            } else {
                &[from_vlan, to_vlan]
            };
            for &v in local {
                let (id, base, prefix) = ctx
                    .reg()
                    .vlans
                    .get(&(domain.clone(), v.to_string()))
                    .cloned()
                    .ok_or_else(|| missing(format!("VLAN {v}")))?;
                let ip = if *ipv6 {
                    let vlan = c
                        .get_vlan(&id)
                        .await?
                        .ok_or_else(|| missing(format!("VLAN {v}")))?;
                    let r = vlan
                        .ipv6_range
                        .ok_or_else(|| missing(format!("IPv6 range of VLAN {v}")))?;
                    FirewallIp::from(r)
                } else {
                    FirewallIp {
                        address: base,
                        prefix_size: Some(prefix),
                    }
                };
                ranges.push(ip);
            }
            let to = ranges.pop().expect("two ranges");
            let from = ranges.pop().expect("two ranges");
            let req = NewFirewallRule {
                network_domain_id: domain_id.clone(),
                name: rule.clone(),
                action: "ACCEPT_DECISIVELY".into(),
                ip_version: if *ipv6 { "IPV6" } else { "IPV4" }.into(),
                protocol: "IP".into(),
                source: FirewallScope {
                    ip: Some(from),
                    ..FirewallScope::default()
                },
                destination: FirewallScope {
                    ip: Some(to),
                    ..FirewallScope::default()
                },
                enabled: true,
                placement: Placement::Last,
            };
            create_rule(c, &domain_id, &req).await
        }
        Step::DisableDefaultRule { domain, rule } => {
            let domain_id = ctx.domain_id(domain)?;
            let rules = c.list_firewall_rules(&domain_id).await?;
            match rules.into_iter().find(|r| &r.name == rule) {
                Some(r) if r.enabled => match c.edit_firewall_rule(&r.id, false).await {
                    Err(e) if e.has_code(cloud::ErrorCode::OperationNotSupported) => {
                        ctx.progress.line(
                            &ctx.location_id,
                            &format!("{rule} kept: the API does not let it change ({e})"),
                        );
                        Ok(())
                    }
                    other => other,
                },
                _ => Ok(()),
            }
        }
        Step::DeleteFirewallRule { id, .. } => gone_ok(c.delete_firewall_rule(id).await),
        Step::DeleteNat {
            domain, node, id, ..
        } => {
            gone_ok(c.delete_nat_rule(id).await)?;
            ctx.reg().nat.remove(&(domain.clone(), node.clone()));
            Ok(())
        }
        Step::DeleteServer { domain, id, .. } => {
            match c.delete_server(id).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => return Ok(()),
                Err(e) if e.has_code(cloud::ErrorCode::ServerStarted) => {
                    gone_ok(c.power_off_server(id).await)?;
                    wait_server(
                        ctx,
                        domain,
                        id,
                        Wait::after(AsyncOp::PowerOffServer),
                        Some(false),
                    )
                    .await?;
                    gone_ok(c.delete_server(id).await)?;
                }
                Err(e) => return Err(e),
            }
            wait_server(ctx, domain, id, Wait::after(AsyncOp::DeleteServer), None)
                .await
                .map(drop)
        }
        Step::RemoveIpBlock { id, .. } => gone_ok(c.remove_public_ip_block(id).await),
        Step::DeleteVlan { id, .. } => {
            delete_with_dependency_retry(|| c.delete_vlan(id)).await?;
            c.wait_vlan(id, Wait::after(AsyncOp::DeleteVlan)).await
        }
        Step::DeleteDomain { id, .. } => {
            delete_with_dependency_retry(|| c.delete_network_domain(id)).await?;
            c.wait_network_domain(id, Wait::after(AsyncOp::DeleteNetworkDomain))
                .await
        }
    }
}

fn wait_kind(op: AsyncOp, fresh: bool) -> Wait {
    if fresh {
        Wait::after(op)
    } else {
        Wait::resume(op)
    }
}

/// The id of VLAN `vlan` of `domain`, known from the inventory or the step that created it.
pub(super) fn vlan_id(ctx: &ExecContext, domain: &str, vlan: &str) -> CloudResult<String> {
    ctx.reg()
        .vlans
        .get(&(domain.to_string(), vlan.to_string()))
        .map(|v| v.0.clone())
        .ok_or_else(|| missing(format!("VLAN {vlan}")))
}

/// Waits for a server (observed through its domain's shared watch) and returns the last observation.
async fn wait_server(
    ctx: &ExecContext,
    domain: &str,
    id: &str,
    w: Wait,
    started: Option<bool>,
) -> CloudResult<Option<Server>> {
    let gone = matches!(w.op, AsyncOp::DeleteServer | AsyncOp::CleanServer);
    let watch = ctx.watch(domain)?;
    let seen: Mutex<Option<Server>> = Mutex::new(None);
    let start = Instant::now();
    let floor = ctx.client.wait_policy().min_step / 2;
    ctx.client
        .wait_until(&format!("server {id}"), w, || async {
            // A listing a little older than this poll serves it: 3% of the wait so far keeps the
            // time lost small while letting waits that started together share one request.
            let max_age = floor.max(start.elapsed().mul_f64(0.03));
            let s = watch.server(id, max_age).await?;
            let p = cloud::server_probe(s.as_ref(), gone, started);
            *seen.lock().expect("lock") = s;
            Ok(p)
        })
        .await?;
    Ok(seen.into_inner().expect("lock"))
}

/// HAS_DEPENDENCY right after children were deleted may be transient: retry a few times.
async fn delete_with_dependency_retry<F, Fut>(mut f: F) -> CloudResult<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = CloudResult<()>>,
{
    let mut delay = Duration::from_millis(200);
    for attempt in 0..8 {
        match f().await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) if e.has_code(cloud::ErrorCode::HasDependency) && attempt < 7 => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns on its last attempt")
}

async fn create_rule(c: &CloudClient, domain_id: &str, req: &NewFirewallRule) -> CloudResult<()> {
    let name = req.name.as_str();
    observe_or_create(
        name,
        || async move {
            let rules = c.list_firewall_rules(domain_id).await?;
            Ok(rules.into_iter().find(|r| r.name == name).map(|r| r.id))
        },
        || c.create_firewall_rule(req),
    )
    .await
    .map(drop)
}

async fn add_ip_block(ctx: &ExecContext, domain: &str) -> CloudResult<()> {
    let c = &ctx.client;
    let domain_id = ctx.domain_id(domain)?;
    let known: BTreeSet<String> = ctx.reg().blocks.get(domain).cloned().unwrap_or_default();
    let did = domain_id.as_str();
    let known_ref = &known;
    let observe = || async move {
        let blocks = c.list_public_ip_blocks(did).await?;
        Ok(blocks
            .into_iter()
            .find(|b| !known_ref.contains(&b.id))
            .map(|b| b.id))
    };
    // Blocks have no name: a block this run does not know of may be the add of an earlier run
    // (cancelled, or whose answer was lost) that landed after the inventory was read. Observe
    // before the first add too, and adopt such a block instead of adding one more.
    let id = match observe().await? {
        Some(id) => {
            tracing::info!(target: "engine", domain, block = %id, "adopting a public IP block added since the inventory");
            id
        }
        None => {
            observe_or_create("public IP block", observe, || c.add_public_ip_block(did))
                .await?
                .0
        }
    };
    let block = c
        .get_public_ip_block(&id)
        .await?
        .ok_or_else(|| missing(format!("public IP block {id}")))?;
    let mut r = ctx.reg();
    r.blocks.entry(domain.to_string()).or_default().insert(id);
    let pool = r.free_ips.entry(domain.to_string()).or_default();
    for a in block.addresses() {
        pool.push_back(a.to_string());
    }
    Ok(())
}

async fn create_nat(ctx: &ExecContext, domain: &str, node: &str) -> CloudResult<()> {
    let c = &ctx.client;
    let domain_id = ctx.domain_id(domain)?;
    let facts = ctx.server(domain, node)?;
    let internal = facts
        .private_ipv4
        .clone()
        .ok_or_else(|| missing(format!("private address of {node}")))?;
    let did = domain_id.as_str();
    let internal_ref = internal.as_str();
    let find = || async move {
        let rules = c.list_nat_rules(did).await?;
        Ok(rules
            .into_iter()
            .find(|n| n.internal_ip.trim() == internal_ref))
    };
    let mut last = None;
    for attempt in 0..CREATE_ATTEMPTS {
        if attempt > 0
            && let Some(rule) = find().await?
        {
            let ext = rule.external_ip.trim().to_string();
            let mut r = ctx.reg();
            if let Some(pool) = r.free_ips.get_mut(domain) {
                pool.retain(|a| *a != ext);
            }
            r.nat.insert((domain.to_string(), node.to_string()), ext);
            return Ok(());
        }
        let external = ctx
            .reg()
            .free_ips
            .get_mut(domain)
            .and_then(|q| q.pop_front());
        match c.create_nat_rule(did, &internal, external.as_deref()).await {
            Ok(id) => {
                let ext = match external {
                    Some(e) => e,
                    None => c
                        .get_nat_rule(&id)
                        .await?
                        .map(|n| n.external_ip.trim().to_string())
                        .ok_or_else(|| missing(format!("NAT rule {id}")))?,
                };
                ctx.reg()
                    .nat
                    .insert((domain.to_string(), node.to_string()), ext);
                return Ok(());
            }
            Err(e) if e.is_ambiguous() => {
                // The address may be taken now or not: it goes back to the end of the pool, and the
                // observation above decides whether the rule exists.
                if let Some(ext) = external {
                    ctx.reg()
                        .free_ips
                        .entry(domain.to_string())
                        .or_default()
                        .push_back(ext);
                }
                last = Some(e);
            }
            Err(e)
                if matches!(
                    e.code(),
                    Some("IP_ADDRESS_NOT_UNIQUE" | "RESOURCE_ALREADY_EXISTS")
                ) =>
            {
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| missing(format!("NAT rule for {node}"))))
}
