//! Noise control for price-level alerts: per (kind, cluster) an arm that a touch spends and that
//! only a move away re-arms, and a cooldown between two alerts. Pure: times arrive as arguments;
//! it never decides what a touch is (the cluster rules do).

use serde::{Deserialize, Serialize};

use crate::analytics::clusters::ClusterId;
use crate::model::{AlertKind, TimeMs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    kind: AlertKind,
    cluster: ClusterId,
    armed: bool,
    last_fired: Option<TimeMs>,
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
    /// level outside the cooldown. Any touch disarms; only `Away` re-arms. A level seen for the
    /// first time is armed unless price already sits on it (`armed_at_birth`).
    pub fn observe(
        &mut self,
        kind: AlertKind,
        cluster: ClusterId,
        level: Level,
        armed_at_birth: bool,
        time: TimeMs,
        cooldown: TimeMs,
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
                });
                self.0.len() - 1
            }
        };
        let e = &mut self.0[i];
        match level {
            Level::Touched => {
                let cool = e.last_fired.is_none_or(|t| time - t >= cooldown);
                let fire = e.armed && cool;
                e.armed = false;
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

    /// Forgets levels of clusters that are gone, once their cooldown is over (a cluster that
    /// returns within it must not alert again).
    pub fn prune(&mut self, alive: impl Fn(ClusterId) -> bool, now: TimeMs, cooldown: TimeMs) {
        self.0
            .retain(|e| alive(e.cluster) || e.last_fired.is_some_and(|t| now - t < cooldown));
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

    type Steps = &'static [(i64, Level)];

    /// Runs (minute, level) observations on one level and returns the minutes that alerted.
    fn fired(armed_at_birth: bool, steps: &[(i64, Level)]) -> Vec<i64> {
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
                    COOLDOWN,
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
            COOLDOWN,
        );
        t.observe(
            AlertKind::ClusterEdge,
            id(2),
            Level::Near,
            true,
            0,
            COOLDOWN,
        );
        t.prune(|_| false, 10 * MINUTE_MS, COOLDOWN);
        assert_eq!(t.len(), 1, "the fired level stays for its cooldown");
        t.prune(|_| false, COOLDOWN, COOLDOWN);
        assert!(t.is_empty());
    }
}
