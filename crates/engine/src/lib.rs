//! The deploy engine: observes a location through the `cloud` client into the plan's
//! [`Inventory`], lets the `plan` crate diff it against the [`Desired`] state into a DAG of
//! [`Step`]s, applies the steps, then runs the polishers (prepare, information, inventory,
//! ansible, ping).
//!
//! One entry point, [`run`]: an [`Action`], a loaded plan and [`Options`] in, a serialisable
//! [`Report`] out. Locations run in parallel; inside a location, steps run as soon as what they
//! depend on is done.
//!
//! Modules, leaves first: `error`, `options`, `outcome` (how a step ended), `action`, `client`
//! (the API client of a location), `watch` (shared server observation), `remote` (other
//! locations), `observe` (the inventory from the API), `apply` (one file per resource kind),
//! `polish` (the polishers), `report`, `location` (the phases of one location), and this file.

mod action;
mod apply;
mod client;
mod error;
mod location;
mod observe;
mod options;
mod outcome;
mod polish;
pub mod progress;
pub mod remote;
mod report;
mod token_source;
mod watch;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use cloud::CloudClient;
use fittings::{Location, Plan};

pub use action::Action;
pub use error::EngineError;
pub use observe::observe;
pub use options::Options;
pub use outcome::{StepOutcome, StepStatus};
pub use plan::{Desired, Diff, Inventory, Phase, PlannedStep, Step, StepPlan, desired, diff};
pub use polish::{
    ExpandedNode, ListenerFacts, NicFacts, NodeFacts, access, checks, prepare, sentinel,
};
pub use progress::{EventState, Progress, ProgressEvent};
pub use report::{LocationReport, PhaseReport, Report};

use polish::access::NodeAccess;
use remote::RunBoard;

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
        RunBoard::new(selected.iter().map(|l| l.location_id.clone()).collect()).with_plan(plan),
    );
    let mut clients: HashMap<String, CloudClient> = HashMap::new();
    // A JoinSet aborts its tasks when dropped: cancelling `run` cancels every location.
    let mut jobs = tokio::task::JoinSet::new();
    for (index, loc) in selected.into_iter().enumerate() {
        let client = client::client_for(loc, opts).map_err(|source| EngineError::Cloud {
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
            let result = location::run_location(action, &loc, client, &opts, board).await;
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
    let nodes: Vec<&NodeFacts> = locations.iter().flat_map(|l| &l.nodes).collect();
    let login = match (action, opts.plan_key.as_deref()) {
        (Action::Ansible, Some(key)) => polish::login(key),
        _ => None,
    };
    let listeners: Vec<&ListenerFacts> = locations.iter().flat_map(|l| &l.listeners).collect();
    let mut output = polish::render(action, plan, &nodes, &listeners, login.as_ref());
    if let Some(text) = output.as_mut() {
        let access: Vec<NodeAccess> = locations.iter().flat_map(|l| l.access.clone()).collect();
        text.push_str(&polish::access::render(&access));
        let clusters: Vec<_> = locations.iter().flat_map(|l| l.redis.clone()).collect();
        text.push_str(&polish::sentinel::render(&clusters));
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
