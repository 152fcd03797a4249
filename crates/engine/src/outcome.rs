//! How each step of a run ended ([`StepOutcome`], [`StepStatus`]): what the executor hands back and
//! the reports carry.

use serde::Serialize;

use plan::{PlannedStep, Step, StepPlan};

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

impl StepOutcome {
    /// The outcome of step `s`.
    pub fn new(
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
}

/// Outcomes of a plan that is printed, not run.
pub fn planned(plan: &StepPlan) -> Vec<StepOutcome> {
    plan.steps
        .iter()
        .map(|s| StepOutcome::new(s, StepStatus::Planned, None, 0))
        .collect()
}
