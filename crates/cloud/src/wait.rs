//! Waiting for asynchronous operations: when to poll next so that the time lost after an operation
//! completes stays under about 10% of its duration, without hammering the API.
//!
//! Each operation has a nominal duration (what the real API takes). The [`Pacer`] learns, from the waits
//! it has seen, how real time relates to nominal time (an emulator at time-scale 0.01 is 100 times
//! faster), as an interval `[lo, hi]` of scale factors. Uncalibrated, it polls at geometrically growing
//! intervals (5% of the elapsed time); calibrated, it polls right when the operation should be done,
//! then in small steps through the window where it should end, then 2% of the elapsed time at a time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// An asynchronous operation, with its nominal (real API) duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AsyncOp {
    /// deployNetworkDomain.
    DeployNetworkDomain,
    /// deleteNetworkDomain.
    DeleteNetworkDomain,
    /// deployVlan.
    DeployVlan,
    /// deleteVlan.
    DeleteVlan,
    /// deployServer, started or not.
    DeployServer {
        /// `start=true`.
        started: bool,
    },
    /// startServer.
    StartServer,
    /// shutdownServer.
    ShutdownServer,
    /// powerOffServer.
    PowerOffServer,
    /// rebootServer.
    RebootServer,
    /// resetServer.
    ResetServer,
    /// deleteServer.
    DeleteServer,
    /// cleanServer.
    CleanServer,
    /// A change answered OK that may still show PENDING briefly (firewall rule).
    Quick,
    /// reconfigureServer (CPU, memory).
    ReconfigureServer,
    /// addDisk, expandDisk, changeDiskSpeed.
    ChangeDisk,
    /// addNic, removeNic.
    ChangeNic,
}

impl AsyncOp {
    /// The nominal duration on the real API.
    pub fn nominal(self) -> Duration {
        let secs = match self {
            AsyncOp::DeployNetworkDomain => 60,
            AsyncOp::DeleteNetworkDomain => 45,
            AsyncOp::DeployVlan => 45,
            AsyncOp::DeleteVlan => 30,
            AsyncOp::DeployServer { started: true } => 270,
            AsyncOp::DeployServer { started: false } => 240,
            AsyncOp::StartServer => 30,
            AsyncOp::ShutdownServer => 30,
            AsyncOp::PowerOffServer => 10,
            AsyncOp::RebootServer => 40,
            AsyncOp::ResetServer => 20,
            AsyncOp::DeleteServer => 60,
            AsyncOp::CleanServer => 30,
            AsyncOp::Quick => 2,
            AsyncOp::ReconfigureServer => 20,
            AsyncOp::ChangeDisk => 20,
            AsyncOp::ChangeNic => 20,
        };
        Duration::from_secs(secs)
    }

    /// A stable name for logs and calibration.
    pub fn name(self) -> &'static str {
        match self {
            AsyncOp::DeployNetworkDomain => "deployNetworkDomain",
            AsyncOp::DeleteNetworkDomain => "deleteNetworkDomain",
            AsyncOp::DeployVlan => "deployVlan",
            AsyncOp::DeleteVlan => "deleteVlan",
            AsyncOp::DeployServer { .. } => "deployServer",
            AsyncOp::StartServer => "startServer",
            AsyncOp::ShutdownServer => "shutdownServer",
            AsyncOp::PowerOffServer => "powerOffServer",
            AsyncOp::RebootServer => "rebootServer",
            AsyncOp::ResetServer => "resetServer",
            AsyncOp::DeleteServer => "deleteServer",
            AsyncOp::CleanServer => "cleanServer",
            AsyncOp::Quick => "quick",
            AsyncOp::ReconfigureServer => "reconfigureServer",
            AsyncOp::ChangeDisk => "changeDisk",
            AsyncOp::ChangeNic => "changeNic",
        }
    }
}

/// Limits of every wait.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitPolicy {
    /// Never poll one resource more often than this.
    pub min_step: Duration,
    /// A wait times out after `timeout_factor` times the expected duration...
    pub timeout_factor: f64,
    /// ...but never before this.
    pub min_timeout: Duration,
}

impl Default for WaitPolicy {
    fn default() -> Self {
        WaitPolicy {
            min_step: Duration::from_secs(2),
            timeout_factor: 8.0,
            min_timeout: Duration::from_secs(120),
        }
    }
}

impl WaitPolicy {
    /// For a local emulator at a small time-scale.
    pub fn fast() -> Self {
        WaitPolicy {
            min_step: Duration::from_millis(10),
            timeout_factor: 8.0,
            min_timeout: Duration::from_secs(60),
        }
    }
}

/// Bounds `[lo, hi]` on real seconds per nominal second.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scale {
    lo: f64,
    hi: f64,
}

impl Scale {
    /// Both observations at once: where they overlap, the overlap; when they do not (the scale
    /// varies a little from one operation to the next), the gap between them, so that one odd
    /// observation (such as "done at the first poll": [0, hi]) never widens the window again.
    fn merge(self, other: Scale) -> Scale {
        let lo = self.lo.max(other.lo);
        let hi = self.hi.min(other.hi);
        if lo <= hi {
            Scale { lo, hi }
        } else {
            Scale { lo: hi, hi: lo }
        }
    }
}

/// Learns the time-scale of the API from completed waits and schedules polls.
#[derive(Debug, Default)]
pub struct Pacer {
    scales: Mutex<(Option<Scale>, HashMap<&'static str, Scale>)>,
}

impl Pacer {
    fn scale_for(&self, op: AsyncOp) -> Option<Scale> {
        let g = self.scales.lock().expect("pacer lock");
        g.1.get(op.name()).copied().or(g.0)
    }

    /// The expected real duration of `op`, when calibrated.
    pub fn expected(&self, op: AsyncOp) -> Option<Duration> {
        self.scale_for(op).map(|s| op.nominal().mul_f64(s.hi))
    }

    /// The current global scale estimate (upper bound), if any.
    pub fn scale(&self) -> Option<f64> {
        self.scales.lock().expect("pacer lock").0.map(|s| s.hi)
    }

    /// How long to sleep before the next poll, `elapsed` after the operation was accepted.
    pub fn next_delay(&self, op: AsyncOp, elapsed: Duration, policy: &WaitPolicy) -> Duration {
        let n = op.nominal().as_secs_f64();
        let t = elapsed.as_secs_f64();
        let min = policy.min_step.as_secs_f64();
        let next = match self.scale_for(op) {
            None => t + min.max(0.05 * t),
            Some(s) => {
                // Inside the window where the operation should end, a quarter of the window at a
                // time (between 1% and 5% of the expected time, and at least min_step): a poll
                // that just misses the end costs that step, not the rest of the window. Past the
                // window (later than ever seen), one more such step, then 2% of the time so far
                // at a time.
                let (p_lo, p_hi) = (s.lo * n, s.hi * n);
                let step = min.max((0.25 * (p_hi - p_lo)).clamp(0.01 * p_hi, 0.05 * p_hi));
                if t < p_hi {
                    (t + step).max(p_lo).min(p_hi).max(t + min.min(p_hi - t))
                } else if t < p_hi + step {
                    // Just past the window (a little later than ever seen, as when many
                    // operations end together): one more step of the window's size first.
                    t + step
                } else {
                    t + step.max(0.02 * t)
                }
            }
        };
        // never a zero sleep (right at the window's end the step could round to nothing)
        Duration::from_secs_f64((next - t).max(min.min(1e-3)))
    }

    /// Records a completed wait: not done at `before`, done at `done` (both since acceptance).
    pub fn record(&self, op: AsyncOp, before: Duration, done: Duration) {
        let n = op.nominal().as_secs_f64();
        if n <= 0.0 {
            return;
        }
        let s = Scale {
            lo: before.as_secs_f64() / n,
            hi: done.as_secs_f64() / n,
        };
        let mut g = self.scales.lock().expect("pacer lock");
        g.0 = Some(g.0.map_or(s, |old| old.merge(s)));
        let e = g.1.entry(op.name()).or_insert(s);
        *e = e.merge(s);
    }

    /// The timeout of a wait for `op`.
    pub fn timeout(&self, op: AsyncOp, policy: &WaitPolicy) -> Duration {
        let scale = self.scale_for(op).map_or(1.0, |s| s.hi.max(1e-6));
        op.nominal()
            .mul_f64(scale * policy.timeout_factor)
            .max(policy.min_timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simulate(p: &Pacer, op: AsyncOp, actual: f64, policy: &WaitPolicy) -> (f64, u32) {
        let mut t = 0.0;
        let mut before = 0.0;
        let mut polls = 0;
        loop {
            t += p
                .next_delay(op, Duration::from_secs_f64(t), policy)
                .as_secs_f64();
            polls += 1;
            if t >= actual {
                p.record(
                    op,
                    Duration::from_secs_f64(before),
                    Duration::from_secs_f64(t),
                );
                return (t - actual, polls);
            }
            before = t;
        }
    }

    #[test]
    fn uncalibrated_loses_at_most_five_percent() {
        let p = Pacer::default();
        let policy = WaitPolicy::fast();
        let (lost, polls) = simulate(&p, AsyncOp::DeployNetworkDomain, 0.6, &policy);
        assert!(lost <= 0.03 + 1e-9, "lost {lost}");
        assert!(polls < 50, "polls {polls}");
    }

    #[test]
    fn calibrated_polls_few_times_and_loses_little() {
        let p = Pacer::default();
        let policy = WaitPolicy::fast();
        let scale = 0.01;
        simulate(&p, AsyncOp::DeployNetworkDomain, 60.0 * scale, &policy);
        simulate(&p, AsyncOp::DeployVlan, 45.0 * scale, &policy);
        let (lost, polls) = simulate(
            &p,
            AsyncOp::DeployServer { started: true },
            270.0 * scale,
            &policy,
        );
        assert!(lost <= 0.1 * 2.7, "lost {lost}");
        assert!(polls <= 6, "polls {polls}");
        let (lost, polls) = simulate(
            &p,
            AsyncOp::DeployServer { started: true },
            270.0 * scale,
            &policy,
        );
        assert!(lost <= 0.05 * 2.7, "lost {lost}");
        assert!(polls <= 3, "polls {polls}");
    }

    #[test]
    fn a_poll_that_just_misses_the_end_loses_a_quarter_of_the_window() {
        let p = Pacer::default();
        let policy = WaitPolicy::fast();
        let op = AsyncOp::DeployServer { started: true };
        // Calibrated: the last deployServer was still running at 2.6 s and done at 2.8 s.
        p.record(
            op,
            Duration::from_secs_f64(2.6),
            Duration::from_secs_f64(2.8),
        );
        // This one ends just after the window opens: the next poll comes a quarter of the
        // window later, not at its end.
        let (lost, polls) = simulate(&p, op, 2.601, &policy);
        assert!(lost <= 0.05 + 1e-9, "lost {lost}");
        assert_eq!(polls, 2);
    }

    #[test]
    fn an_end_just_past_a_narrow_window_costs_one_step_not_two_percent() {
        let p = Pacer::default();
        let policy = WaitPolicy::fast();
        let op = AsyncOp::DeployServer { started: true };
        p.record(
            op,
            Duration::from_secs_f64(2.69),
            Duration::from_secs_f64(2.70),
        );
        // The step is 1% of the expected 2.7 s; 2% of the elapsed time would lose 54 ms.
        let (lost, _) = simulate(&p, op, 2.705, &policy);
        assert!(lost <= 0.0275, "lost {lost}");
    }

    #[test]
    fn observations_that_disagree_keep_a_narrow_window() {
        let a = Scale {
            lo: 2.690,
            hi: 2.716,
        };
        // done at its first poll: nothing known below
        let b = Scale { lo: 0.0, hi: 2.688 };
        let m = a.merge(b);
        assert_eq!((m.lo, m.hi), (2.688, 2.690));
        let m = m.merge(Scale { lo: 2.689, hi: 2.7 });
        assert_eq!((m.lo, m.hi), (2.689, 2.690));
    }

    #[test]
    fn slower_than_expected_still_ends() {
        let p = Pacer::default();
        let policy = WaitPolicy::fast();
        simulate(&p, AsyncOp::DeployVlan, 0.45, &policy);
        let (lost, _) = simulate(&p, AsyncOp::DeleteVlan, 3.0, &policy);
        assert!(lost <= 0.3 + 0.01, "lost {lost}");
        assert!(p.timeout(AsyncOp::DeleteVlan, &policy) >= policy.min_timeout);
    }
}
