//! The report of a run ([`Report`]): per location ([`LocationReport`]) its phases and their step
//! outcomes, the nodes' facts, the bootstrap, the checks and the access details.

use serde::Serialize;

use crate::action::Action;
use crate::outcome::{StepOutcome, StepStatus};
use crate::polish::access::NodeAccess;
use crate::polish::checks::CheckOutcome;
use crate::polish::facts::NodeFacts;
use crate::polish::sentinel::RedisCluster;

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
    pub nodes: Vec<NodeFacts>,
    /// Load balancer listeners as observed at the end (information).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub listeners: Vec<crate::polish::balancers::ListenerFacts>,
    /// Notes.
    pub notes: Vec<String>,
    /// The SSH bootstrap of each node (deploy, refresh, prepare).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bootstrap: Vec<bootstrap::NodeOutcome>,
    /// Checks after the bootstrap (Redis replication).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckOutcome>,
    /// How to reach each node (information, deploy).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access: Vec<NodeAccess>,
    /// The Redis clusters watched by Sentinel, as the Sentinels see them (information, deploy).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redis: Vec<RedisCluster>,
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
