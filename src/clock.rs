//! The one clock of the crate: wall-clock epoch milliseconds ([`wall_ms`]) for the edges that may
//! read time (sources, delivery, the supervisor, the bot), and the market clock of a live source —
//! the wall clock for the daemon, or an accelerated one (market time = origin + elapsed wall time
//! × speed) for tests that run hours of market in seconds. Must never be used by `analytics`,
//! `rules` or the engine (DESIGN.md §2: time is an argument there).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::model::TimeMs;

/// Where "now" comes from. Cheap to copy; every copy of an accelerated clock reads the same time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// Epoch milliseconds from the system clock; waits are what they say.
    #[default]
    Wall,
    /// `origin` at `start`, then `speed` market milliseconds per wall millisecond.
    Accelerated {
        origin: TimeMs,
        start: Instant,
        speed: u32,
    },
}

impl Clock {
    /// An accelerated clock reading `origin` now.
    pub fn accelerated(origin: TimeMs, speed: u32) -> Clock {
        Clock::Accelerated {
            origin,
            start: Instant::now(),
            speed: speed.max(1),
        }
    }

    /// Market time in epoch milliseconds.
    pub fn now(&self) -> TimeMs {
        match *self {
            Clock::Wall => wall_ms(),
            Clock::Accelerated {
                origin,
                start,
                speed,
            } => {
                let elapsed = start
                    .elapsed()
                    .as_millis()
                    .saturating_mul(u128::from(speed));
                origin.saturating_add(TimeMs::try_from(elapsed).unwrap_or(TimeMs::MAX))
            }
        }
    }

    /// The wall time a span of market time takes.
    pub fn wall(&self, market: Duration) -> Duration {
        match *self {
            Clock::Wall => market,
            Clock::Accelerated { speed, .. } => market / speed,
        }
    }

    /// The wall time until market time `at` (zero when it has passed).
    pub fn until(&self, at: TimeMs) -> Duration {
        let ms = u64::try_from(at.saturating_sub(self.now())).unwrap_or(0);
        self.wall(Duration::from_millis(ms))
    }
}

/// The system clock in epoch milliseconds: what the daemon's market clock reads, and what health
/// checks compare against whatever the market clock is.
pub fn wall_ms() -> TimeMs {
    let since = SystemTime::now().duration_since(UNIX_EPOCH);
    since.map_or(0, |d| {
        TimeMs::try_from(d.as_millis()).unwrap_or(TimeMs::MAX)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_accelerated_clock_runs_speed_times_faster() {
        let clock = Clock::accelerated(1_000_000, 1000);
        let t0 = clock.now();
        assert!((1_000_000..1_100_000).contains(&t0), "{t0}");
        // (market span, wall span)
        #[rustfmt::skip]
        let cases = [(Duration::from_secs(300), Duration::from_millis(300)), (Duration::ZERO, Duration::ZERO)];
        for (market, wall) in cases {
            assert_eq!(clock.wall(market), wall);
            assert_eq!(Clock::Wall.wall(market), market);
        }
        assert_eq!(clock.until(t0 - 5), Duration::ZERO);
        assert!(clock.until(t0 + 600_000) <= Duration::from_millis(600));
    }
}
