//! One location of a run: its phases (observe, diff, then print the steps in safe mode or apply
//! them), then, for the actions that need them, the nodes' facts and the polishers.

use std::sync::Arc;

use cloud::{CloudClient, CloudError, Secret};
use fittings::Location;
use plan::{Desired, Inventory, Phase, StepPlan, desired, diff};

use crate::action::Action;
use crate::apply::{self, ExecContext, execute};
use crate::error::EngineError;
use crate::observe::{observe, observe_phase};
use crate::options::Options;
use crate::outcome::{StepOutcome, StepStatus, planned};
use crate::polish::{self, prepare};
use crate::remote::{Remotes, RunBoard};
use crate::report::{LocationReport, PhaseReport};

/// The name of the reports of the steps that remove duplicates.
const CONVERGE: &str = "converge";

/// What the phases of a location share.
struct Run<'a> {
    loc: &'a Location,
    client: CloudClient,
    opts: &'a Options,
    want: Desired,
    password: Option<Secret>,
    remotes: Arc<Remotes>,
}

/// Runs `action` on one location.
pub(crate) async fn run_location(
    action: Action,
    loc: &Location,
    client: CloudClient,
    opts: &Options,
    board: Arc<RunBoard>,
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
        listeners: Vec::new(),
        notes: want.notes.clone(),
        bootstrap: Vec::new(),
        checks: Vec::new(),
        access: Vec::new(),
        redis: Vec::new(),
        errors: Vec::new(),
    };
    let password = opts.admin_password.clone().or_else(|| {
        secrets::shared_secret()
            .filter(|s| s.len() >= 3)
            .map(Secret::new)
    });
    // Marks this location's phases over when they end, however they end.
    let phases_guard = board.guard(&loc.location_id);
    let remotes = Arc::new(Remotes::new(client.clone(), opts, board.clone()));
    let run = Run {
        loc,
        client,
        opts,
        want,
        password,
        remotes,
    };
    let mut last_inventory = None;
    for phase in action.phases() {
        let (ps, have) = run.phase(phase, &mut report).await.map_err(cloud_err)?;
        let failed = ps
            .iter()
            .flat_map(|p| &p.steps)
            .any(|s| s.status == StepStatus::Failed);
        report.phases.extend(ps);
        last_inventory = Some(have);
        if failed {
            break;
        }
    }
    drop(phases_guard);
    run.polish(action, last_inventory, &mut report)
        .await
        .map_err(cloud_err)?;
    Ok(report)
}

impl Run<'_> {
    /// One phase: observe, converge duplicates, diff, print or apply the steps, remove what this
    /// run created twice; after a destroy, forget the host keys of the addresses it released.
    /// Returns the phase's report, with a `converge` report before and after it when duplicates
    /// were removed.
    async fn phase(
        &self,
        phase: Phase,
        report: &mut LocationReport,
    ) -> Result<(Vec<PhaseReport>, Inventory), CloudError> {
        let (loc, opts, want) = (self.loc, self.opts, &self.want);
        let mut have = observe_phase(&self.client, want, phase).await?;
        let mut reports = Vec::new();
        let prune = matches!(phase, Phase::Build { .. }) && opts.blueprints.is_empty();
        let (dups, dup_notes) = apply::converge(want, &mut have, prune);
        if !dups.is_empty() {
            for n in &dup_notes {
                opts.progress.line(&loc.location_id, n);
            }
            let (steps, _) = self.steps(CONVERGE, &dups, &have).await;
            reports.push(PhaseReport {
                phase: CONVERGE.to_string(),
                steps,
                notes: dup_notes,
            });
        }
        if matches!(phase, Phase::Build { .. }) {
            have.missing_remote_vlans = self.remotes.missing_sources(want, &have).await?;
        }
        let d = diff(want, &have, phase);
        let name = phase.name();
        let (steps, leftovers) = self.steps(name, &d.plan, &have).await;
        for n in &d.notes {
            opts.progress.line(&loc.location_id, n);
        }
        if let (Phase::Destroy { .. }, Some(key)) = (phase, opts.plan_key.as_deref()) {
            let before = polish::node_facts(want, &have);
            let released = prepare::released_addresses(&steps, &before);
            report
                .notes
                .extend(prepare::forget_released(&released, key));
        }
        reports.push(PhaseReport {
            phase: name.to_string(),
            steps,
            notes: d.notes,
        });
        if let Some(p) = leftovers {
            reports.push(p);
        }
        Ok((reports, have))
    }

    /// The steps of a plan: printed in safe mode, else applied; then, when the steps adopted
    /// another run's older twin of something this run created, the removal of this run's one
    /// (as a `converge` report).
    async fn steps(
        &self,
        name: &str,
        plan: &StepPlan,
        have: &Inventory,
    ) -> (Vec<StepOutcome>, Option<PhaseReport>) {
        let (loc, opts) = (&self.loc.location_id, self.opts);
        if opts.safe {
            for s in &plan.steps {
                opts.progress.line(loc, &s.would(name));
            }
            (planned(plan), None)
        } else if plan.is_empty() {
            opts.progress
                .line(loc, &format!("{name}: nothing to change"));
            (Vec::new(), None)
        } else {
            let ctx = ExecContext::new(
                self.client.clone(),
                have,
                self.password.clone(),
                opts.progress.clone(),
            )
            .with_remotes(self.remotes.clone());
            let ctx = Arc::new(ctx);
            let outcomes = execute(ctx.clone(), plan).await;
            let extra = apply::leftovers(&ctx);
            if extra.is_empty() {
                return (outcomes, None);
            }
            let notes: Vec<String> = extra
                .steps
                .iter()
                .map(|s| format!("removing a duplicate: {}", s.step.describe()))
                .collect();
            for n in &notes {
                opts.progress.line(loc, n);
            }
            let steps = execute(ctx, &extra).await;
            let p = PhaseReport {
                phase: CONVERGE.to_string(),
                steps,
                notes,
            };
            (outcomes, Some(p))
        }
    }

    /// After the phases: the nodes' facts (observed again unless in safe mode), ping, and when
    /// every phase went well the polishers.
    async fn polish(
        &self,
        action: Action,
        last_inventory: Option<Inventory>,
        report: &mut LocationReport,
    ) -> Result<(), CloudError> {
        let (loc, opts, want) = (self.loc, self.opts, &self.want);
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
        if !needs_facts {
            return Ok(());
        }
        let have = match last_inventory {
            Some(inv) if opts.safe => inv,
            _ => observe(&self.client, want, false).await?,
        };
        report.nodes = polish::node_facts(want, &have);
        report.listeners = polish::listener_facts(want, &have);
        if action == Action::Ping {
            polish::ping_all(&mut report.nodes).await;
        }
        if !phases_ok {
            return Ok(());
        }
        let expands = matches!(
            action,
            Action::Deploy | Action::Refresh | Action::Prepare | Action::Information
        );
        let remote = if expands && !opts.safe {
            let (facts, lines) = self.remotes.referenced_facts(loc).await;
            for l in lines {
                opts.progress.line(&loc.location_id, &l);
                report.notes.push(l);
            }
            facts
        } else {
            Default::default()
        };
        let bootstrapping = matches!(action, Action::Deploy | Action::Refresh | Action::Prepare);
        if bootstrapping && !opts.safe {
            for l in polish::upgrade_vm_tools(&self.client, want, &have).await {
                opts.progress.line(&loc.location_id, &l);
                report.notes.push(l);
            }
        }
        let password = self.password.as_ref();
        prepare::finish(action, loc, want, report, password, opts, &remote).await;
        Ok(())
    }
}
