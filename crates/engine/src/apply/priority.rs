//! The priority of each step's change requests: the nominal seconds of the longest chain of work
//! from the step to the end of the plan (the step included). The client lets waiting change
//! requests in by priority, so the steps on the critical path (server deploys, shutdowns) are not
//! queued behind many quick steps that nothing long waits for (NAT and firewall rules).

use cloud::AsyncOp;
use plan::{Step, StepPlan};

/// How long a step takes on the real API, in nominal seconds (1 for a plain request).
fn nominal(step: &Step) -> u32 {
    let op = match step {
        Step::AwaitDomain { .. } => AsyncOp::DeployNetworkDomain,
        Step::AwaitVlan { .. } => AsyncOp::DeployVlan,
        Step::AwaitServer { started, .. } => AsyncOp::DeployServer { started: *started },
        Step::StartServer { .. } => AsyncOp::StartServer,
        Step::StopServer { .. } => AsyncOp::ShutdownServer,
        Step::DeleteServer { .. } | Step::DeleteDuplicateServer { .. } => AsyncOp::DeleteServer,
        Step::DeleteVlan { .. } => AsyncOp::DeleteVlan,
        Step::DeleteDomain { .. } => AsyncOp::DeleteNetworkDomain,
        Step::ReconfigureServer { .. } => AsyncOp::ReconfigureServer,
        Step::SetDisk { .. } => AsyncOp::ChangeDisk,
        Step::AttachNic { .. } => AsyncOp::ChangeNic,
        _ => return 1,
    };
    op.nominal().as_secs() as u32
}

/// One priority per step (by step id): its nominal time plus the longest tail of the steps that
/// wait for it. (`after` names only lower ids, so one pass from the last step back suffices.)
pub(super) fn tails(plan: &StepPlan) -> Vec<u32> {
    let mut longest_after = vec![0u32; plan.steps.len()];
    let mut tail = vec![0u32; plan.steps.len()];
    for s in plan.steps.iter().rev() {
        tail[s.id] = nominal(&s.step) + longest_after[s.id];
        for &a in &s.after {
            longest_after[a] = longest_after[a].max(tail[s.id]);
        }
    }
    tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shutdown_outranks_the_rule_deletes_that_nothing_long_waits_for() {
        let d = || "dom".to_string();
        let mut plan = StepPlan::default();
        let rule = plan.add(
            Step::DeleteFirewallRule {
                domain: d(),
                rule: "rule".into(),
                id: "fw".into(),
            },
            [],
        );
        let stop = plan.add(
            Step::StopServer {
                domain: d(),
                node: "n1".into(),
            },
            [],
        );
        let delete = plan.add(
            Step::DeleteServer {
                domain: d(),
                node: "n1".into(),
                id: "s1".into(),
            },
            [Some(stop)],
        );
        let domain = plan.add(
            Step::DeleteDomain {
                domain: d(),
                id: "d1".into(),
            },
            [Some(rule), Some(delete)],
        );
        let t = tails(&plan);
        assert_eq!(t[domain], 45);
        assert_eq!(t[delete], 60 + 45);
        assert_eq!(t[stop], 30 + 60 + 45);
        assert_eq!(t[rule], 1 + 45);
    }
}
