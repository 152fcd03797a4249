//! Faults on demand, reproducible with a seed: RESOURCE_BUSY and UNEXPECTED_ERROR on changes (not
//! applied), HTTP 503 on any API request, a dropped connection after a change was applied, and a
//! delay added to every request. One random draw per API request keeps a seeded run reproducible.

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// Fault probabilities (0..1) and the added delay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultSpec {
    /// Probability of RESOURCE_BUSY on a change.
    pub busy: f64,
    /// Probability of UNEXPECTED_ERROR on a change.
    pub unexpected: f64,
    /// Probability of HTTP 503 on any request.
    pub http503: f64,
    /// Probability of a dropped connection after a change was applied.
    pub reset: f64,
    /// Delay added to every request, in milliseconds.
    pub delay_ms: u64,
}

/// A malformed fault specification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fault spec: {0}")]
pub struct FaultSpecError(pub String);

impl FaultSpec {
    /// Parses `busy=0.1,unexpected=0.02,http503=0.02,reset=0.01,delay=50ms` (any subset; `none` or
    /// the empty string for no faults).
    pub fn parse(s: &str) -> Result<FaultSpec, FaultSpecError> {
        let mut f = FaultSpec::default();
        let s = s.trim();
        if s.is_empty() || s == "none" {
            return Ok(f);
        }
        for part in s.split(',') {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| FaultSpecError(format!("'{part}' is not KEY=VALUE")))?;
            let (k, v) = (k.trim(), v.trim());
            let prob = || -> Result<f64, FaultSpecError> {
                let p: f64 = v
                    .parse()
                    .map_err(|_| FaultSpecError(format!("{k}: '{v}' is not a number")))?;
                if !(0.0..=1.0).contains(&p) {
                    return Err(FaultSpecError(format!(
                        "{k}: {p} is not a probability within 0..1"
                    )));
                }
                Ok(p)
            };
            match k {
                "busy" => f.busy = prob()?,
                "unexpected" => f.unexpected = prob()?,
                "http503" => f.http503 = prob()?,
                "reset" => f.reset = prob()?,
                "delay" => {
                    f.delay_ms = parse_ms(v).ok_or_else(|| {
                        FaultSpecError(format!("delay: '{v}' is not a duration such as 50ms or 1s"))
                    })?
                }
                _ => {
                    return Err(FaultSpecError(format!(
                        "unknown fault '{k}' (busy, unexpected, http503, reset, delay)"
                    )));
                }
            }
        }
        f.check()?;
        Ok(f)
    }

    /// Checks that the probabilities are valid and sum to at most 1.
    pub fn check(&self) -> Result<(), FaultSpecError> {
        let ps = [self.busy, self.unexpected, self.http503, self.reset];
        if ps.iter().any(|p| !(0.0..=1.0).contains(p)) {
            return Err(FaultSpecError("probabilities must be within 0..1".into()));
        }
        if ps.iter().sum::<f64>() > 1.0 + 1e-9 {
            return Err(FaultSpecError("probabilities must sum to at most 1".into()));
        }
        Ok(())
    }
}

fn parse_ms(v: &str) -> Option<u64> {
    if let Some(n) = v.strip_suffix("ms") {
        n.trim().parse().ok()
    } else if let Some(n) = v.strip_suffix('s') {
        n.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| *x >= 0.0)
            .map(|x| (x * 1000.0) as u64)
    } else {
        v.parse().ok()
    }
}

/// What to do to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Nothing.
    None,
    /// Answer RESOURCE_BUSY without applying.
    Busy,
    /// Answer UNEXPECTED_ERROR without applying.
    Unexpected,
    /// Answer HTTP 503.
    Http503,
    /// Apply, then drop the connection.
    Reset,
}

/// The run-time fault state: spec plus seeded generator.
#[derive(Debug)]
pub struct Faults {
    inner: Mutex<(FaultSpec, StdRng)>,
}

impl Faults {
    /// Faults per `spec`, drawn from a generator seeded with `seed`.
    pub fn new(spec: FaultSpec, seed: u64) -> Self {
        Faults {
            inner: Mutex::new((spec, StdRng::seed_from_u64(seed))),
        }
    }

    /// The current spec.
    pub fn spec(&self) -> FaultSpec {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    /// Replaces the spec; with `seed`, restarts the generator.
    pub fn set(&self, spec: FaultSpec, seed: Option<u64>) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.0 = spec;
        if let Some(s) = seed {
            g.1 = StdRng::seed_from_u64(s);
        }
    }

    /// Draws the fault for one request (`change` is true for mutating calls) and its delay.
    pub fn draw(&self, change: bool) -> (Fault, Duration) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let spec = g.0;
        let delay = Duration::from_millis(spec.delay_ms);
        if spec.busy + spec.unexpected + spec.http503 + spec.reset <= 0.0 {
            return (Fault::None, delay);
        }
        let u: f64 = g.1.random();
        let mut acc = 0.0;
        for (p, f) in [
            (spec.busy, Fault::Busy),
            (spec.unexpected, Fault::Unexpected),
            (spec.http503, Fault::Http503),
            (spec.reset, Fault::Reset),
        ] {
            acc += p;
            if u < acc {
                let applies = change || f == Fault::Http503;
                return (if applies { f } else { Fault::None }, delay);
            }
        }
        (Fault::None, delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_spec() {
        let f = FaultSpec::parse("busy=0.1,unexpected=0.02,http503=0.02,reset=0.01,delay=50ms")
            .unwrap();
        assert_eq!(
            f,
            FaultSpec {
                busy: 0.1,
                unexpected: 0.02,
                http503: 0.02,
                reset: 0.01,
                delay_ms: 50
            }
        );
        assert_eq!(FaultSpec::parse("delay=1.5s").unwrap().delay_ms, 1500);
        assert!(FaultSpec::parse("busy=2").is_err());
        assert!(FaultSpec::parse("bsy=0.1").is_err());
        assert!(FaultSpec::parse("busy=0.6,reset=0.6").is_err());
        assert_eq!(FaultSpec::parse("none").unwrap(), FaultSpec::default());
    }

    #[test]
    fn a_seed_reproduces_the_same_faults() {
        let spec = FaultSpec::parse("busy=0.3,http503=0.3").unwrap();
        let run = |seed| {
            let f = Faults::new(spec, seed);
            (0..200).map(|_| f.draw(true).0).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let r = run(7);
        let busy = r.iter().filter(|f| **f == Fault::Busy).count();
        assert!((30..90).contains(&busy), "busy {busy} of 200 at p=0.3");
        let f = Faults::new(FaultSpec::parse("busy=1").unwrap(), 1);
        assert_eq!(
            f.draw(false).0,
            Fault::None,
            "reads never get RESOURCE_BUSY"
        );
    }
}
