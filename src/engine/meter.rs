//! What the engine task counts for `/metrics`: alerts raised by kind, the time each input takes,
//! and the pairs it holds. Owns these series (`liqwave_alerts_total`,
//! `liqwave_engine_step_seconds`, `liqwave_engine_pairs`, `liqwave_alerts_stale_total`); must never read a clock (the task
//! measures and hands it durations) nor block the engine beyond the histogram's own short lock,
//! which a scrape holds only while it copies the buckets.

use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::model::AlertKind;

/// Upper bounds of the engine step histogram, in seconds: a batch of market events takes tens
/// of microseconds, a 5-minute close over 600 pairs a few milliseconds, a cold start longer.
#[rustfmt::skip]
const STEP_BOUNDS: [f64; 15] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005,
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The engine task's series. Clones share the counters; [`EngineMeter::default`] counts into
/// series nobody registered (a replay, a test).
#[derive(Debug, Clone)]
pub struct EngineMeter {
    alerts: AlertCounts,
    step: Histogram,
    pairs: Gauge,
    stale: Counter,
}

impl Default for EngineMeter {
    fn default() -> Self {
        EngineMeter {
            alerts: AlertCounts::default(),
            step: Histogram::new(STEP_BOUNDS),
            pairs: Gauge::default(),
            stale: Counter::default(),
        }
    }
}

impl EngineMeter {
    /// A meter whose series are in `registry`.
    pub fn register(registry: &mut Registry) -> EngineMeter {
        let meter = EngineMeter::default();
        #[rustfmt::skip]
        registry.register("liqwave_alerts", "Alerts the engine raised, by kind", meter.alerts.clone());
        registry.register(
            "liqwave_engine_step_seconds",
            "Engine time per input: analytics, rules and the store commit",
            meter.step.clone(),
        );
        #[rustfmt::skip]
        registry.register("liqwave_engine_pairs", "Pairs the engine holds state for", meter.pairs.clone());
        registry.register(
            "liqwave_alerts_stale",
            "Alerts too old when raised (warm-up, back-fill) to reach people",
            meter.stale.clone(),
        );
        meter
    }

    pub fn alert(&self, kind: AlertKind) {
        let i = AlertKind::ALL.iter().position(|k| *k == kind);
        if let Some(counter) = i.and_then(|i| self.alerts.0.get(i)) {
            counter.inc();
        }
    }

    /// An alert was kept from the sinks people read: too old when raised.
    pub fn held_stale(&self) {
        self.stale.inc();
    }

    /// The engine spent `seconds` on one input.
    pub fn step(&self, seconds: f64) {
        self.step.observe(seconds);
    }

    pub fn set_pairs(&self, pairs: usize) {
        self.pairs.set(i64::try_from(pairs).unwrap_or(i64::MAX));
    }
}

/// One counter per alert kind, every kind present from the start and encoded in
/// [`AlertKind::ALL`]'s order (a labelled family would list only the kinds seen, in hash order).
#[derive(Debug, Clone, Default)]
struct AlertCounts([Counter; AlertKind::ALL.len()]);

impl EncodeMetric for AlertCounts {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (kind, counter) in AlertKind::ALL.iter().zip(&self.0) {
            let labels = [("kind", kind.as_str())];
            counter.encode(encoder.encode_family(&labels)?)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    /// Applies `actions` (`;`-separated) to a freshly registered meter and returns the samples
    /// of `series`, joined by `; `.
    fn check(actions: &str, series: &str) -> String {
        let metrics = Metrics::default();
        let meter = metrics.register(EngineMeter::register);
        for action in actions.split(';').map(str::trim).filter(|a| !a.is_empty()) {
            match action.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["alert", kind] => meter.alert(kind.parse().unwrap()),
                ["step", seconds] => meter.step(seconds.parse().unwrap()),
                ["pairs", n] => meter.set_pairs(n.parse().unwrap()),
                _ => panic!("unknown action {action:?}"),
            }
        }
        metrics.samples(series)
    }

    #[test]
    fn series_follow_what_the_engine_did() {
        #[rustfmt::skip]
        let cases = [
            ("alert regime_change; alert regime_change; alert setup_entry", "liqwave_alerts_total",
             r#"liqwave_alerts_total{kind="regime_change"} 2; liqwave_alerts_total{kind="midline_cross"} 0; liqwave_alerts_total{kind="divergence"} 0; liqwave_alerts_total{kind="cluster_approach"} 0; liqwave_alerts_total{kind="cluster_edge"} 0; liqwave_alerts_total{kind="cluster_swept"} 0; liqwave_alerts_total{kind="setup_entry"} 1; liqwave_alerts_total{kind="divergence_exit"} 0; liqwave_alerts_total{kind="daily_summary"} 0; liqwave_alerts_total{kind="ignition"} 0; liqwave_alerts_total{kind="second_leg"} 0; liqwave_alerts_total{kind="sweep_reversal"} 0; liqwave_alerts_total{kind="cascade_loading"} 0"#),
            ("step 0.0002; step 0.003", "liqwave_engine_step_seconds_count", "liqwave_engine_step_seconds_count 2"),
            ("step 0.25; step 0.5", "liqwave_engine_step_seconds_sum", "liqwave_engine_step_seconds_sum 0.75"),
            // Bounds are written as Go writes them (5e-05), as every Prometheus client does.
            ("step 0.0002; step 0.003", "liqwave_engine_step_seconds_bucket",
             r#"liqwave_engine_step_seconds_bucket{le="5e-05"} 0; liqwave_engine_step_seconds_bucket{le="0.0001"} 0; liqwave_engine_step_seconds_bucket{le="0.00025"} 1; liqwave_engine_step_seconds_bucket{le="0.0005"} 1; liqwave_engine_step_seconds_bucket{le="0.001"} 1; liqwave_engine_step_seconds_bucket{le="0.0025"} 1; liqwave_engine_step_seconds_bucket{le="0.005"} 2; liqwave_engine_step_seconds_bucket{le="0.01"} 2; liqwave_engine_step_seconds_bucket{le="0.025"} 2; liqwave_engine_step_seconds_bucket{le="0.05"} 2; liqwave_engine_step_seconds_bucket{le="0.1"} 2; liqwave_engine_step_seconds_bucket{le="0.25"} 2; liqwave_engine_step_seconds_bucket{le="0.5"} 2; liqwave_engine_step_seconds_bucket{le="1"} 2; liqwave_engine_step_seconds_bucket{le="2.5"} 2; liqwave_engine_step_seconds_bucket{le="+Inf"} 2"#),
            // Inclusive upper bounds; above the last, only +Inf counts it.
            ("step 0.5; step 8", "liqwave_engine_step_seconds_bucket",
             r#"liqwave_engine_step_seconds_bucket{le="5e-05"} 0; liqwave_engine_step_seconds_bucket{le="0.0001"} 0; liqwave_engine_step_seconds_bucket{le="0.00025"} 0; liqwave_engine_step_seconds_bucket{le="0.0005"} 0; liqwave_engine_step_seconds_bucket{le="0.001"} 0; liqwave_engine_step_seconds_bucket{le="0.0025"} 0; liqwave_engine_step_seconds_bucket{le="0.005"} 0; liqwave_engine_step_seconds_bucket{le="0.01"} 0; liqwave_engine_step_seconds_bucket{le="0.025"} 0; liqwave_engine_step_seconds_bucket{le="0.05"} 0; liqwave_engine_step_seconds_bucket{le="0.1"} 0; liqwave_engine_step_seconds_bucket{le="0.25"} 0; liqwave_engine_step_seconds_bucket{le="0.5"} 1; liqwave_engine_step_seconds_bucket{le="1"} 1; liqwave_engine_step_seconds_bucket{le="2.5"} 1; liqwave_engine_step_seconds_bucket{le="+Inf"} 2"#),
            ("pairs 3; pairs 600", "liqwave_engine_pairs", "liqwave_engine_pairs 600"),
        ];
        for (actions, series, want) in cases {
            assert_eq!(check(actions, series), want, "{actions} / {series}");
        }
    }
}
