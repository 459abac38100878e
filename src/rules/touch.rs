//! Noise control for price-level alerts: per (kind, cluster) an arm that a touch spends and that
//! only a move away re-arms, a cooldown between two alerts, and a quiet span a level must stay
//! untouched before a touch alerts again. Pure: times arrive as arguments; it never decides what
//! a touch is (the cluster rules do).

use serde::{Deserialize, Serialize};

use crate::analytics::clusters::ClusterId;
use crate::model::{AlertKind, TimeMs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    kind: AlertKind,
    cluster: ClusterId,
    armed: bool,
    last_fired: Option<TimeMs>,
    /// The last observation that touched the level, alert or not (absent in older snapshots).
    #[serde(default)]
    last_touched: Option<TimeMs>,
}

/// How long a level stays quiet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quiet {
    /// Least time between two alerts of one level.
    pub cooldown: TimeMs,
    /// A touch alerts only when the level was not touched in this span before it; 0 is off.
    /// A level price keeps testing stays quiet until the tests stop.
    pub retouch: TimeMs,
}

/// What a level did on one price observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Price reached it.
    Touched,
    /// Price closed at least the re-arm distance away, on the near side.
    Away,
    /// Neither.
    Near,
}

/// Arms and cooldowns of every level being watched; kept in first-seen order so that snapshots
/// are deterministic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Touches(Vec<Entry>);

impl Touches {
    /// Records what price did to one level and says whether that is an alert: a touch of an armed
    /// level outside the cooldown, not touched within `quiet.retouch` before. Any touch disarms;
    /// only `Away` re-arms. A level seen for the first time is armed unless price already sits on
    /// it (`armed_at_birth`).
    pub fn observe(
        &mut self,
        kind: AlertKind,
        cluster: ClusterId,
        level: Level,
        armed_at_birth: bool,
        time: TimeMs,
        quiet: Quiet,
    ) -> bool {
        let i = match self
            .0
            .iter()
            .position(|e| e.kind == kind && e.cluster == cluster)
        {
            Some(i) => i,
            None => {
                self.0.push(Entry {
                    kind,
                    cluster,
                    armed: armed_at_birth,
                    last_fired: None,
                    last_touched: None,
                });
                self.0.len() - 1
            }
        };
        let e = &mut self.0[i];
        match level {
            Level::Touched => {
                let cool = e.last_fired.is_none_or(|t| time - t >= quiet.cooldown);
                let untouched = e.last_touched.is_none_or(|t| time - t >= quiet.retouch);
                let fire = e.armed && cool && untouched;
                e.armed = false;
                e.last_touched = Some(time);
                if fire {
                    e.last_fired = Some(time);
                }
                fire
            }
            Level::Away => {
                e.armed = true;
                false
            }
            Level::Near => false,
        }
    }

    /// Forgets levels of clusters that are gone, once their cooldown and quiet span are over (a
    /// cluster that returns within them must not alert again).
    pub fn prune(&mut self, alive: impl Fn(ClusterId) -> bool, now: TimeMs, quiet: Quiet) {
        self.0.retain(|e| {
            alive(e.cluster)
                || e.last_fired.is_some_and(|t| now - t < quiet.cooldown)
                || e.last_touched.is_some_and(|t| now - t < quiet.retouch)
        });
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MINUTE_MS, Side};

    const COOLDOWN: TimeMs = 60 * MINUTE_MS;
    const QUIET: Quiet = Quiet {
        cooldown: COOLDOWN,
        retouch: 0,
    };

    type Steps = &'static [(i64, Level)];

    /// Runs (minute, level) observations on one level and returns the minutes that alerted.
    fn fired(armed_at_birth: bool, steps: &[(i64, Level)]) -> Vec<i64> {
        fired_with(QUIET, armed_at_birth, steps)
    }

    fn fired_with(quiet: Quiet, armed_at_birth: bool, steps: &[(i64, Level)]) -> Vec<i64> {
        let mut t = Touches::default();
        let id = ClusterId {
            side: Side::Short,
            bin: 7,
        };
        steps
            .iter()
            .filter(|(minute, level)| {
                t.observe(
                    AlertKind::ClusterEdge,
                    id,
                    *level,
                    armed_at_birth,
                    minute * MINUTE_MS,
                    quiet,
                )
            })
            .map(|(minute, _)| *minute)
            .collect()
    }

    #[test]
    fn a_touch_alerts_once_until_price_moves_away_and_the_cooldown_ends() {
        use Level::*;
        // (armed at birth, observations (minute, level), minutes that alert)
        #[rustfmt::skip]
        let cases: [(bool, Steps, &[i64]); 7] = [
            (true, &[(0, Near), (5, Touched)], &[5]),
            (true, &[(5, Touched), (10, Touched), (15, Touched)], &[5]),
            (true, &[(5, Touched), (10, Near), (15, Touched)], &[5]),
            (true, &[(5, Touched), (10, Away), (15, Touched)], &[5]),
            (true, &[(5, Touched), (30, Away), (70, Touched)], &[5, 70]),
            (true, &[(5, Touched), (30, Away), (50, Touched), (90, Away), (95, Touched)], &[5, 95]),
            (false, &[(5, Touched), (10, Near), (15, Away), (20, Touched)], &[20]),
        ];
        for (armed, steps, want) in cases {
            assert_eq!(fired(armed, steps), want, "{steps:?}");
        }
    }

    #[test]
    fn a_level_price_keeps_testing_stays_quiet_until_the_tests_stop() {
        use Level::*;
        // (observations (minute, level), minutes that alert), quiet span 120 min
        #[rustfmt::skip]
        let cases: [(Steps, &[i64]); 4] = [
            // Away and cooled down, but touched 60 min before: quiet.
            (&[(5, Touched), (30, Away), (65, Touched)], &[5]),
            // Each test restarts the quiet span; the first touch after 2 h untouched alerts.
            (&[(5, Touched), (30, Away), (65, Touched), (90, Away), (150, Touched), (160, Away), (280, Touched)], &[5, 280]),
            (&[(5, Touched), (30, Away), (65, Touched), (90, Away), (185, Touched)], &[5, 185]),
            (&[(5, Touched), (30, Away), (125, Touched)], &[5, 125]),
        ];
        for (steps, want) in cases {
            let quiet = Quiet {
                retouch: 120 * MINUTE_MS,
                ..QUIET
            };
            assert_eq!(fired_with(quiet, true, steps), want, "{steps:?}");
        }
    }

    #[test]
    fn gone_levels_are_forgotten_after_their_cooldown() {
        let mut t = Touches::default();
        let id = |bin| ClusterId {
            side: Side::Long,
            bin,
        };
        t.observe(
            AlertKind::ClusterEdge,
            id(1),
            Level::Touched,
            true,
            0,
            QUIET,
        );
        t.observe(AlertKind::ClusterEdge, id(2), Level::Near, true, 0, QUIET);
        t.prune(|_| false, 10 * MINUTE_MS, QUIET);
        assert_eq!(t.len(), 1, "the fired level stays for its cooldown");
        t.prune(|_| false, COOLDOWN, QUIET);
        assert!(t.is_empty());
    }
}
