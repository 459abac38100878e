//! How a failed request is retried: bounded attempts, capped exponential backoff with jitter.
//! Pure: the jitter is an argument.

use std::time::Duration;

/// Retries of network trouble and Binance's 5xx. A 429 or 418 is not backed off on top: the
/// shared budget already holds every request until the pause or ban is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// Delay before the first retry; doubled per retry.
    pub backoff_initial: Duration,
    /// Longest delay between two attempts.
    pub backoff_max: Duration,
}

impl RetryPolicy {
    pub const DEFAULT: RetryPolicy = RetryPolicy {
        max_attempts: 5,
        backoff_initial: Duration::from_millis(500),
        backoff_max: Duration::from_secs(10),
    };

    /// The pause before retry number `retry` (1 for the first), given `jitter` in [0, 1): the
    /// capped exponential delay, scaled into its upper half so that clients spread out.
    pub fn backoff(&self, retry: u32, jitter: f64) -> Duration {
        let doublings = retry.saturating_sub(1).min(20);
        let full = self
            .backoff_initial
            .saturating_mul(1 << doublings)
            .min(self.backoff_max);
        full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One line per case: retry number, jitter, expected delay in ms (initial 500, cap 10 s).
    #[rustfmt::skip]
    const CASES: &[(u32, f64, u64)] = &[
        (1, 0.0, 250), (1, 0.5, 375), (2, 0.0, 500), (3, 0.5, 1500),
        (5, 0.0, 4000), (6, 0.0, 5000), (6, 1.0, 10_000), (40, 0.0, 5000),
    ];

    #[test]
    fn backoff_doubles_and_is_capped() {
        for &(retry, jitter, want) in CASES {
            let got = RetryPolicy::DEFAULT.backoff(retry, jitter).as_millis() as u64;
            assert_eq!(got, want, "retry {retry} jitter {jitter}");
        }
    }
}
