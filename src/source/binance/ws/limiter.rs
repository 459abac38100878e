//! How often connections may be attempted: a budget shared by every connection of the process
//! (Binance: 300 attempts per 5 minutes per IP) and each connection's capped, jittered backoff.
//! Pure: time is an argument; the connection task does the waiting.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// Connection attempts allowed in any window of [`ATTEMPT_WINDOW`], for the whole process.
pub const MAX_ATTEMPTS: usize = 300;
pub const ATTEMPT_WINDOW: Duration = Duration::from_secs(5 * 60);

/// A sliding-window budget of connection attempts: at most `max` in any `window`.
#[derive(Debug, Clone)]
pub struct AttemptLimiter {
    max: usize,
    window: Duration,
    /// Times of the attempts still inside the window, oldest first; never longer than `max`.
    recent: VecDeque<Instant>,
}

impl Default for AttemptLimiter {
    fn default() -> Self {
        AttemptLimiter::new(MAX_ATTEMPTS, ATTEMPT_WINDOW)
    }
}

impl AttemptLimiter {
    /// `max` is at least 1.
    pub fn new(max: usize, window: Duration) -> Self {
        AttemptLimiter {
            max: max.max(1),
            window,
            recent: VecDeque::new(),
        }
    }

    /// Records an attempt at `now` when the budget allows one; otherwise says how long to wait
    /// before asking again.
    pub fn try_acquire(&mut self, now: Instant) -> Result<(), Duration> {
        while let Some(&oldest) = self.recent.front() {
            if now.saturating_duration_since(oldest) >= self.window {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        if self.recent.len() < self.max {
            self.recent.push_back(now);
            return Ok(());
        }
        let oldest = self.recent[0];
        Err((oldest + self.window).saturating_duration_since(now))
    }

    /// Attempts counted in the window ending at the last one recorded.
    pub fn in_window(&self) -> usize {
        self.recent.len()
    }
}

/// How long to wait before attempt number `failures + 1` after `failures` failures in a row:
/// `base · 2^(failures−1)`, capped at `cap`, then scaled by a factor in [0.5, 1) drawn from
/// `seed` so that connections that failed together do not retry together. Zero failures: no wait.
pub fn backoff(failures: u32, base: Duration, cap: Duration, seed: u64) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let doubling = 2u32.saturating_pow(failures.saturating_sub(1).min(20));
    let ceiling = base.saturating_mul(doubling).min(cap);
    let unit = (mix(seed ^ u64::from(failures)) >> 11) as f64 / (1u64 << 53) as f64;
    ceiling.mul_f64(0.5 + 0.5 * unit)
}

/// SplitMix64's finaliser: a well-spread 64-bit value from any input.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Each case: failures in a row, then the bounds the wait lies in (ms), for base 1 s, cap 60 s.
    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        for (failures, low, high) in [
            (0, 0, 0),
            (1, 500, 1000),
            (2, 1000, 2000),
            (3, 2000, 4000),
            (7, 30_000, 60_000),
            (40, 30_000, 60_000),
            (u32::MAX, 30_000, 60_000),
        ] {
            for seed in 0..200 {
                let wait = backoff(failures, 1000 * MS, 60_000 * MS, seed);
                assert!(
                    wait >= low * MS && wait <= high * MS,
                    "failures {failures} seed {seed}: {wait:?}"
                );
            }
        }
        let spread: std::collections::BTreeSet<Duration> = (0..50)
            .map(|seed| backoff(3, 1000 * MS, 60_000 * MS, seed))
            .collect();
        assert!(
            spread.len() > 40,
            "the jitter spreads retries: {}",
            spread.len()
        );
    }

    #[test]
    fn the_budget_refuses_the_301st_attempt_in_five_minutes() {
        let t0 = Instant::now();
        let mut limiter = AttemptLimiter::default();
        for i in 0..300 {
            assert_eq!(limiter.try_acquire(t0 + i * MS), Ok(()), "attempt {i}");
        }
        assert_eq!(
            limiter.try_acquire(t0 + 300 * MS),
            Err(ATTEMPT_WINDOW - 300 * MS)
        );
        assert_eq!(
            limiter.try_acquire(t0 + ATTEMPT_WINDOW),
            Ok(()),
            "the first one left"
        );
        assert_eq!(limiter.try_acquire(t0 + ATTEMPT_WINDOW), Err(MS));
    }

    /// A reconnect storm: eight connections failing at once and retrying with no backoff at all
    /// for an hour of simulated time, each waiting only as long as the limiter says. No window of
    /// five minutes may ever hold more than 300 attempts.
    #[test]
    fn a_reconnect_storm_never_exceeds_the_budget() {
        let t0 = Instant::now();
        let mut limiter = AttemptLimiter::default();
        let mut attempts: Vec<Instant> = Vec::new();
        let mut next_try = [t0; 8];
        let end = t0 + Duration::from_secs(3600);
        loop {
            let (conn, &now) = next_try
                .iter()
                .enumerate()
                .min_by_key(|(_, t)| **t)
                .unwrap();
            if now >= end {
                break;
            }
            next_try[conn] = match limiter.try_acquire(now) {
                Ok(()) => {
                    attempts.push(now);
                    now + backoff(1, MS, MS, conn as u64)
                }
                Err(wait) => now + wait,
            };
        }
        let busiest = attempts
            .iter()
            .enumerate()
            .map(|(i, &start)| attempts[i..].partition_point(|&t| t < start + ATTEMPT_WINDOW))
            .max()
            .unwrap();
        assert_eq!(
            busiest, MAX_ATTEMPTS,
            "the storm uses the whole budget, never more"
        );
        assert!(
            attempts.len() >= 12 * 300 - 1,
            "{} attempts in an hour",
            attempts.len()
        );
        assert!(
            attempts.len() <= 12 * 300 + 300,
            "{} attempts in an hour",
            attempts.len()
        );
    }
}
