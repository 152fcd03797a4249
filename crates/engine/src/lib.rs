//! The deploy engine: desired state from a [`Plan`], the [`Inventory`] observed through the `cloud`
//! client, the diff as a DAG of [`Step`]s, and the executor that makes the cloud match.
//!
//! One entry point, [`run`]: an [`Action`], a loaded plan and [`Options`] in, a serialisable [`Report`]
//! out. Locations run in parallel; inside a location, steps run as soon as what they depend on is done.

pub mod access;
pub mod checks;
pub mod desired;
pub mod diff;
pub mod exec;
mod hardware;
pub mod inventory;
pub mod nics;
pub mod polish;
pub mod prepare;
pub mod progress;
pub mod remote;
pub mod reserve;
pub mod steps;
mod token_source;
pub mod watch;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use cloud::{CloudClient, CloudError, EndpointHints, RetryPolicy, Secret, WaitPolicy};
use fittings::{Location, Plan};

pub use desired::{Desired, desired};
pub use diff::{Phase, diff};
pub use exec::{StepOutcome, StepStatus};
pub use inventory::{Inventory, observe};
pub use progress::{EventState, Progress, ProgressEvent};
pub use steps::{PlannedStep, Step, StepPlan};

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Network, servers (stopped), monitoring, NAT, firewall.
    Build,
    /// Build with servers started, start stopped ones, then prepare and information.
    Deploy,
    /// Bootstrap the running nodes over SSH, check the outcome (alias `polish`).
    Prepare,
    /// Start every node.
    Start,
    /// Stop every node (except `running: always`).
    Stop,
    /// Stop, then destroy.
    Dispose,
    /// Destroy stopped nodes and the network elements the plan owns.
    Destroy,
    /// Destroy stopped nodes only.
    Wipe,
    /// Stop, wipe, then deploy again.
    Refresh,
    /// Per node: state, addresses, monitoring, information lines.
    Information,
    /// A YAML inventory of the nodes.
    Inventory,
    /// An INI inventory for Ansible.
    Ansible,
    /// Reachability of each node's SSH port.
    Ping,
}

impl std::str::FromStr for Action {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "build" => Action::Build,
            "deploy" => Action::Deploy,
            "prepare" | "polish" => Action::Prepare,
            "start" => Action::Start,
            "stop" => Action::Stop,
            "dispose" => Action::Dispose,
            "destroy" => Action::Destroy,
            "wipe" => Action::Wipe,
            "refresh" => Action::Refresh,
            "information" => Action::Information,
            "inventory" => Action::Inventory,
            "ansible" => Action::Ansible,
            "ping" => Action::Ping,
            other => return Err(EngineError::UnknownAction(other.to_string())),
        })
    }
}

impl Action {
    fn phases(self) -> Vec<Phase> {
        match self {
            Action::Build => vec![Phase::Build { start: false }],
            Action::Deploy => vec![Phase::Build { start: true }],
            Action::Start => vec![Phase::Start],
            Action::Stop => vec![Phase::Stop],
            Action::Dispose => vec![Phase::Destroy {
                network: true,
                stop: true,
            }],
            Action::Destroy => vec![Phase::Destroy {
                network: true,
                stop: false,
            }],
            Action::Wipe => vec![Phase::Destroy {
                network: false,
                stop: false,
            }],
            Action::Refresh => vec![
                Phase::Destroy {
                    network: false,
                    stop: true,
                },
                Phase::Build { start: true },
            ],
            Action::Prepare
            | Action::Information
            | Action::Inventory
            | Action::Ansible
            | Action::Ping => Vec::new(),
        }
    }
}

/// Errors that stop the engine before or around execution (step failures are in the [`Report`]).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The action is not one the engine knows.
    #[error("unknown action '{0}'")]
    UnknownAction(String),
    /// The filters selected nothing.
    #[error("nothing selected: no location matches {0}")]
    NothingSelected(String),
    /// Talking to the API failed (configuration, credentials, observation).
    #[error("location {location}: {source}")]
    Cloud {
        /// Location id.
        location: String,
        /// The cloud error.
        #[source]
        source: CloudError,
    },
}

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Blueprint names or aliases (empty: all).
    pub blueprints: Vec<String>,
    /// `@LOCATION` filters without the `@` (empty: all).
    pub locations: Vec<String>,
    /// Safe mode: observe and print the steps, change nothing.
    pub safe: bool,
    /// Progress output.
    pub progress: Progress,
    /// Root password of new servers; `None`: `SHARED_SECRET` from the environment, else none sent.
    pub admin_password: Option<Secret>,
    /// Endpoint for every location (overrides `MCP_ENDPOINT`, `apiHost` and region).
    pub endpoint: Option<String>,
    /// Credentials (override `MCP_USERNAME` / `MCP_PASSWORD`).
    pub credentials: Option<(String, Secret)>,
    /// Retry rules of the client.
    pub retry: RetryPolicy,
    /// Wait rules of the client.
    pub wait: WaitPolicy,
    /// Cap on change requests in flight per endpoint.
    pub max_changes_in_flight: usize,
    /// The plan's state key (`PlanText::key`): its secrets, key pair and pinned host keys. `None`:
    /// no bootstrap (deploy notes that it skipped prepare).
    pub plan_key: Option<String>,
    /// How long deploy waits for the checks after the bootstrap to pass (Redis links coming up).
    pub check_patience: std::time::Duration,
    /// At most this many nodes bootstrapped at once (0: all).
    pub bootstrap_parallel: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            blueprints: Vec::new(),
            locations: Vec::new(),
            safe: false,
            progress: Progress::stderr(),
            admin_password: None,
            endpoint: None,
            credentials: None,
            retry: RetryPolicy::default(),
            wait: WaitPolicy::default(),
            max_changes_in_flight: 8,
            plan_key: None,
            check_patience: std::time::Duration::from_secs(120),
            bootstrap_parallel: 0,
        }
    }
}

/// One phase of one location.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseReport {
    /// `build`, `start`, `stop`, `destroy`...
    pub phase: String,
    /// The steps and how they ended.
    pub steps: Vec<StepOutcome>,
    /// Notes: what was left alone and why.
    pub notes: Vec<String>,
}

/// What happened in one location.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationReport {
    /// Location id.
    pub location_id: String,
    /// API endpoint used.
    pub endpoint: String,
    /// Phases, in order.
    pub phases: Vec<PhaseReport>,
    /// Nodes as observed at the end (information, inventory, ansible, ping).
    pub nodes: Vec<polish::NodeFacts>,
    /// Notes.
    pub notes: Vec<String>,
    /// The SSH bootstrap of each node (deploy, refresh, prepare).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bootstrap: Vec<bootstrap::NodeOutcome>,
    /// Checks after the bootstrap (Redis replication).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<checks::CheckOutcome>,
    /// How to reach each node (information, deploy).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access: Vec<access::NodeAccess>,
    /// Failures outside the steps (bootstrap set-up).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl LocationReport {
    /// True when the bootstrap, the checks and the set-up around them went well (steps aside).
    pub fn prepared_ok(&self) -> bool {
        self.errors.is_empty()
            && self
                .bootstrap
                .iter()
                .all(|b| b.status == bootstrap::NodeStatus::Completed)
            && self.checks.iter().all(|c| c.ok)
    }
}

/// The report of a run (printed as JSON with `--json`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The action.
    pub action: Action,
    /// Safe mode: nothing was changed.
    pub safe: bool,
    /// True when no step failed.
    pub ok: bool,
    /// Wall time.
    pub elapsed_ms: u64,
    /// HTTP requests sent to the API.
    pub requests: u64,
    /// Per location.
    pub locations: Vec<LocationReport>,
    /// Text output of information, inventory (YAML), ansible (INI) and ping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

impl Report {
    /// Number of steps that changed something (done, not waits).
    pub fn changes(&self) -> usize {
        self.locations
            .iter()
            .flat_map(|l| &l.phases)
            .flat_map(|p| &p.steps)
            .filter(|s| s.status == StepStatus::Done && !s.step.is_wait())
            .count()
    }
}

fn client_for(loc: &Location, opts: &Options) -> Result<CloudClient, CloudError> {
    let hints = EndpointHints::from_env(
        loc.api_host.as_deref(),
        loc.region_id.as_deref(),
        Some(&loc.location_id),
    );
    client_from_hints(hints, opts)
}

/// A client for the endpoint the hints name (`opts.endpoint` wins), with the run's credentials,
/// retry, wait and in-flight rules: [`cloud::client_from_hints`].
fn client_from_hints(hints: EndpointHints, opts: &Options) -> Result<CloudClient, CloudError> {
    cloud::client_from_hints(
        hints,
        &cloud::ClientOptions {
            endpoint: opts.endpoint.clone(),
            credentials: opts.credentials.clone(),
            retry: opts.retry.clone(),
            wait: opts.wait.clone(),
            max_changes_in_flight: opts.max_changes_in_flight,
        },
    )
}

/// Runs `action` on the selected locations and blueprints of `plan`.
///
/// Observation and client errors stop the location with [`EngineError::Cloud`]; failed steps do not:
/// they are reported with `ok: false`, and the steps that depend on them are skipped.
pub async fn run(action: Action, plan: &Plan, opts: &Options) -> Result<Report, EngineError> {
    let t0 = Instant::now();
    let selected: Vec<&Location> = plan
        .locations
        .iter()
        .filter(|l| l.selected_by(&opts.locations))
        .filter(|l| !l.select_blueprints(&opts.blueprints).is_empty())
        .collect();
    if selected.is_empty() {
        return Err(EngineError::NothingSelected(format!(
            "{:?}",
            opts.locations
        )));
    }
    let board = Arc::new(
        remote::RunBoard::new(selected.iter().map(|l| l.location_id.clone()).collect())
            .with_plan(plan),
    );
    let mut clients: HashMap<String, CloudClient> = HashMap::new();
    // A JoinSet aborts its tasks when dropped: cancelling `run` cancels every location.
    let mut jobs = tokio::task::JoinSet::new();
    for (index, loc) in selected.into_iter().enumerate() {
        let client = client_for(loc, opts).map_err(|source| EngineError::Cloud {
            location: loc.location_id.clone(),
            source,
        })?;
        let client = clients
            .entry(client.endpoint().to_string())
            .or_insert(client)
            .clone();
        let loc = loc.clone();
        let opts = opts.clone();
        let board = board.clone();
        jobs.spawn(async move {
            let result = run_location(action, &loc, client, &opts, board).await;
            (index, result)
        });
    }
    let mut done = Vec::new();
    while let Some(joined) = jobs.join_next().await {
        let (index, result) = joined.expect("location task panicked");
        done.push((index, result?));
    }
    done.sort_by_key(|(i, _)| *i);
    let locations: Vec<LocationReport> = done.into_iter().map(|(_, l)| l).collect();
    let requests = clients.values().map(CloudClient::request_count).sum();
    let ok = locations.iter().all(|l| {
        l.prepared_ok()
            && l.phases.iter().all(|p| {
                p.steps
                    .iter()
                    .all(|s| matches!(s.status, StepStatus::Done | StepStatus::Planned))
            })
    });
    let mut output = polish::render(action, plan, &locations);
    if let Some(text) = output.as_mut() {
        let access: Vec<access::NodeAccess> =
            locations.iter().flat_map(|l| l.access.clone()).collect();
        text.push_str(&access::render(&access));
    }
    Ok(Report {
        action,
        safe: opts.safe,
        ok,
        elapsed_ms: t0.elapsed().as_millis() as u64,
        requests,
        locations,
        output,
    })
}

async fn run_location(
    action: Action,
    loc: &Location,
    client: CloudClient,
    opts: &Options,
    board: Arc<remote::RunBoard>,
) -> Result<LocationReport, EngineError> {
    let cloud_err = |source| EngineError::Cloud {
        location: loc.location_id.clone(),
        source,
    };
    let want = desired(loc, &opts.blueprints);
    let mut report = LocationReport {
        location_id: loc.location_id.clone(),
        endpoint: client.endpoint().to_string(),
        phases: Vec::new(),
        nodes: Vec::new(),
        notes: want.notes.clone(),
        bootstrap: Vec::new(),
        checks: Vec::new(),
        access: Vec::new(),
        errors: Vec::new(),
    };
    let password = opts.admin_password.clone().or_else(|| {
        secrets::shared_secret()
            .filter(|s| s.len() >= 3)
            .map(Secret::new)
    });
    // Marks this location's phases over when they end, however they end.
    let phases_guard = board.guard(&loc.location_id);
    let remotes = Arc::new(remote::Remotes::new(client.clone(), opts, board.clone()));
    let mut last_inventory = None;
    for phase in action.phases() {
        let mut have = inventory::observe_phase(&client, &want, phase)
            .await
            .map_err(cloud_err)?;
        if matches!(phase, Phase::Build { .. }) {
            have.missing_remote_vlans = remotes
                .missing_sources(&want, &have)
                .await
                .map_err(cloud_err)?;
        }
        let d = diff(&want, &have, phase);
        let name = phase_name(phase);
        let steps = if opts.safe {
            for s in &d.plan.steps {
                let after = if s.after.is_empty() {
                    String::new()
                } else {
                    format!(" (after {:?})", s.after)
                };
                opts.progress.line(
                    &loc.location_id,
                    &format!("[{name} #{}] would {}{after}", s.id, s.step.describe()),
                );
            }
            exec::planned(&d.plan)
        } else if d.plan.is_empty() {
            opts.progress
                .line(&loc.location_id, &format!("{name}: nothing to change"));
            Vec::new()
        } else {
            let ctx = Arc::new(
                exec::ExecContext::new(
                    client.clone(),
                    &have,
                    password.clone(),
                    opts.progress.clone(),
                )
                .with_remotes(remotes.clone()),
            );
            exec::execute(ctx, &d.plan).await
        };
        for n in &d.notes {
            opts.progress.line(&loc.location_id, n);
        }
        let failed = steps.iter().any(|s| s.status == StepStatus::Failed);
        if let (Phase::Destroy { .. }, Some(key)) = (phase, opts.plan_key.as_deref()) {
            let before = polish::node_facts(&want, &have);
            let released = prepare::released_addresses(&steps, &before);
            report
                .notes
                .extend(prepare::forget_released(&released, key));
        }
        report.phases.push(PhaseReport {
            phase: name.to_string(),
            steps,
            notes: d.notes,
        });
        last_inventory = Some(have);
        if failed {
            break;
        }
    }
    drop(phases_guard);
    let phases_ok = report
        .phases
        .iter()
        .flat_map(|p| &p.steps)
        .all(|s| s.status != StepStatus::Failed);
    let needs_facts = matches!(
        action,
        Action::Deploy
            | Action::Refresh
            | Action::Prepare
            | Action::Information
            | Action::Inventory
            | Action::Ansible
            | Action::Ping
    );
    if needs_facts {
        let have = match last_inventory {
            Some(inv) if opts.safe => inv,
            _ => observe(&client, &want, false).await.map_err(cloud_err)?,
        };
        report.nodes = polish::node_facts(&want, &have);
        if action == Action::Ping {
            polish::ping_all(&mut report.nodes).await;
        }
        if phases_ok {
            let expands = matches!(
                action,
                Action::Deploy | Action::Refresh | Action::Prepare | Action::Information
            );
            let remote = if expands && !opts.safe {
                let (facts, lines) = remotes.referenced_facts(loc).await;
                for l in lines {
                    opts.progress.line(&loc.location_id, &l);
                    report.notes.push(l);
                }
                facts
            } else {
                Default::default()
            };
            prepare::finish(
                action,
                loc,
                &want,
                &mut report,
                password.as_ref(),
                opts,
                &remote,
            )
            .await;
        }
    }
    Ok(report)
}

fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Build { start: true } => "deploy",
        Phase::Build { start: false } => "build",
        Phase::Start => "start",
        Phase::Stop => "stop",
        Phase::Destroy {
            network: true,
            stop: true,
        } => "dispose",
        Phase::Destroy {
            network: true,
            stop: false,
        } => "destroy",
        Phase::Destroy {
            network: false,
            stop: true,
        } => "stop and wipe",
        Phase::Destroy {
            network: false,
            stop: false,
        } => "wipe",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse() {
        assert_eq!("Deploy".parse::<Action>().unwrap(), Action::Deploy);
        assert!("graph".parse::<Action>().is_err());
        assert_eq!(Action::Refresh.phases().len(), 2);
    }
}
