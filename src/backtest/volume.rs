//! How many alerts and messages the rules would send: per pair per day as measured, and projected
//! to a universe of N pairs per sink, with Telegram's digest (a bar's alerts go out as one
//! message from `DIGEST_MIN` on) counted as one message. Pure arithmetic on scored alerts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::score::Scored;
use crate::model::{AlertKind, DAY_MS, Interval};
use crate::notify::telegram::DIGEST_MIN;

/// The measured and projected alert volume of one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    /// Alerts per pair per day, by kind (every alert, routed or not).
    pub per_pair_day: BTreeMap<String, f64>,
    /// The universe the projection is for.
    pub pairs: usize,
    pub sinks: Vec<SinkVolume>,
}

/// One sink at `Volume::pairs` pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SinkVolume {
    pub sink: String,
    pub alerts_per_day: f64,
    /// Messages per day: alerts, with a digest counted once where the sink sends digests.
    pub messages_per_day: f64,
}

/// Projects the alerts of `scored` (with the sinks each is routed to and its bar interval; `None`
/// for price-level alerts, judged on every source bar) to `pairs` pairs. Kinds that need the
/// daily bias are rated over `bias_pair_days` (the days they could fire), the others over
/// `pair_days`, so a history whose bias starts late is not read as a quiet one.
///
/// Each kind of slot (a 5-minute close for level alerts, a 4h, 1d or 1w close for bar alerts)
/// gets its measured rate per pair; at N pairs the alerts of one slot are Poisson with mean N ×
/// that rate, all pairs closing the slot together. Telegram sends 1–3 of them singly and a
/// digest from `DIGEST_MIN` on; other sinks send every alert.
pub(super) fn project(
    scored: &[&(Scored, Vec<String>, Option<Interval>)],
    pair_days: f64,
    bias_pair_days: f64,
    pairs: usize,
) -> Volume {
    let days = |kind: AlertKind| {
        let d = if needs_bias(kind) {
            bias_pair_days
        } else {
            pair_days
        };
        d.max(1e-9)
    };
    let mut per_pair_day = BTreeMap::new();
    // Alerts per pair-day, by (sink, slot interval).
    let mut by_slot: BTreeMap<(String, Option<Interval>), f64> = BTreeMap::new();
    for (s, sinks, interval) in scored {
        let w = 1.0 / days(s.kind);
        *per_pair_day.entry(s.kind.to_string()).or_insert(0.0) += w;
        for sink in sinks {
            *by_slot.entry((sink.clone(), *interval)).or_insert(0.0) += w;
        }
    }
    let mut sinks: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for ((sink, interval), rate) in by_slot {
        let slot_ms = interval.map_or(5 * 60_000, Interval::duration_ms);
        let slots_per_day = DAY_MS as f64 / slot_ms as f64;
        let mean = pairs as f64 * rate / slots_per_day;
        let messages = if sink == "telegram" {
            digest_messages(mean)
        } else {
            mean
        };
        let e = sinks.entry(sink).or_default();
        e.0 += mean * slots_per_day;
        e.1 += messages * slots_per_day;
    }
    Volume {
        per_pair_day,
        pairs,
        sinks: sinks
            .into_iter()
            .map(|(sink, (a, m))| SinkVolume {
                sink,
                alerts_per_day: a,
                messages_per_day: m,
            })
            .collect(),
    }
}

/// Kinds the rules raise only once the pair's daily bias is known.
fn needs_bias(kind: AlertKind) -> bool {
    matches!(
        kind,
        AlertKind::ClusterApproach
            | AlertKind::ClusterEdge
            | AlertKind::ClusterSwept
            | AlertKind::SetupEntry
            | AlertKind::DivergenceExit
    )
}

/// Expected messages for a Poisson(`mean`) count of alerts of one slot, when from `DIGEST_MIN`
/// alerts on they go out as one digest.
fn digest_messages(mean: f64) -> f64 {
    let mut p = (-mean).exp();
    let mut singles = 0.0;
    let mut below = p;
    for n in 1..DIGEST_MIN {
        p *= mean / n as f64;
        singles += n as f64 * p;
        below += p;
    }
    singles + (1.0 - below).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_caps_a_busy_slot_at_one_message() {
        assert_eq!(digest_messages(0.0), 0.0);
        // Rare alerts go out singly: messages ≈ alerts.
        assert!((digest_messages(0.01) - 0.01).abs() < 1e-4);
        // Many alerts per slot: about one digest.
        assert!((digest_messages(50.0) - 1.0).abs() < 1e-9);
        // Never more messages than alerts.
        for m in [0.5, 1.0, 2.0, 4.0] {
            assert!(digest_messages(m) <= m + 1e-12, "{m}");
        }
    }
}
