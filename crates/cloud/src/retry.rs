//! Retry rules: capped exponential backoff with jitter, under a deadline per operation.

use std::time::Duration;

/// How transient failures (RESOURCE_BUSY, UNEXPECTED_ERROR, HTTP 5xx, transport errors) are retried.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Delay before the second attempt (before jitter).
    pub initial: Duration,
    /// Largest delay between two attempts.
    pub max_delay: Duration,
    /// Total time one operation may spend retrying before it gives up.
    pub deadline: Duration,
    /// Timeout of a single HTTP request.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            deadline: Duration::from_secs(600),
            request_timeout: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy for a fast local emulator: short delays, same shape.
    pub fn fast() -> Self {
        RetryPolicy {
            initial: Duration::from_millis(10),
            max_delay: Duration::from_millis(500),
            deadline: Duration::from_secs(60),
            request_timeout: Duration::from_secs(20),
        }
    }

    /// The delay after failed attempt number `attempt` (1-based): `min(max, initial·2^(n-1))`, with
    /// "equal jitter" (half fixed, half random) so that parallel clients spread out.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .initial
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.max_delay);
        let half = exp / 2;
        half + half.mul_f64(rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            initial: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        for _ in 0..50 {
            let d1 = p.delay(1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d3 = p.delay(3);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400));
            let d30 = p.delay(30);
            assert!(d30 >= Duration::from_millis(500) && d30 <= Duration::from_secs(1));
        }
    }
}
