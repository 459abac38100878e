//! What the delivery workers count for `/metrics`: alerts delivered and failed sends, per sink.
//! Owns `liqwave_alerts_delivered_total{sink}` and `liqwave_sink_errors_total{sink}`; must never
//! block a worker: each updates its own atomics, and the list of sinks is locked only when a
//! worker starts and while a scrape copies it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;

/// The counters of one sink's delivery worker.
#[derive(Debug, Default)]
pub struct SinkMeter {
    delivered: Counter,
    errors: Counter,
}

impl SinkMeter {
    pub fn delivered(&self, alerts: u64) {
        self.delivered.inc_by(alerts);
    }

    /// One failed send (of one alert or one digest), retriable or not.
    pub fn error(&self) {
        self.errors.inc();
    }
}

/// Every worker's [`SinkMeter`], by sink name. Clones share them.
#[derive(Debug, Clone, Default)]
pub struct DeliveryMeters {
    sinks: Arc<Mutex<BTreeMap<String, Arc<SinkMeter>>>>,
}

/// Which counter of a [`SinkMeter`] a family reports.
type Field = fn(&SinkMeter) -> &Counter;

#[rustfmt::skip]
const FAMILIES: [(&str, &str, Field); 2] = [
    ("liqwave_alerts_delivered", "Alerts a sink delivered (each alert of a digest counts).", |m| &m.delivered),
    ("liqwave_sink_errors", "Failed sends per sink, retriable or not.", |m| &m.errors),
];

impl DeliveryMeters {
    /// Meters whose series are in `registry`; a sink's appear when its worker takes its meter.
    pub fn register(registry: &mut Registry) -> DeliveryMeters {
        let meters = DeliveryMeters::default();
        registry.register_collector(Box::new(meters.clone()));
        meters
    }

    /// The counters of `sink`'s worker; its series read 0 from now on.
    pub fn sink(&self, sink: &str) -> Arc<SinkMeter> {
        let mut sinks = self.sinks.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(sinks.entry(sink.to_owned()).or_default())
    }
}

impl Collector for DeliveryMeters {
    /// Both families, the sinks in name order (a family is declared even before any sink).
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let sinks: Vec<(String, Arc<SinkMeter>)> = {
            let sinks = self.sinks.lock().unwrap_or_else(PoisonError::into_inner);
            let copied = sinks.iter().map(|(name, m)| (name.clone(), Arc::clone(m)));
            copied.collect()
        };
        for (name, help, field) in FAMILIES {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (sink, meter) in &sinks {
                let labels = [("sink", sink.as_str())];
                field(meter).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    /// Applies `actions` (`;`-separated) to freshly registered meters and returns the samples of
    /// `series`, joined by `; `.
    fn check(actions: &str, series: &str) -> String {
        let metrics = Metrics::default();
        let meters = metrics.register(DeliveryMeters::register);
        for action in actions.split(';').map(str::trim).filter(|a| !a.is_empty()) {
            match action.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["sink", name] => drop(meters.sink(name)),
                ["delivered", name, n] => meters.sink(name).delivered(n.parse().unwrap()),
                ["error", name] => meters.sink(name).error(),
                _ => panic!("unknown action {action:?}"),
            }
        }
        metrics.samples(series)
    }

    #[test]
    fn series_follow_what_the_workers_did() {
        #[rustfmt::skip]
        let cases = [
            ("", "liqwave_alerts_delivered_total", ""),
            ("sink telegram", "liqwave_sink_errors_total", r#"liqwave_sink_errors_total{sink="telegram"} 0"#),
            ("delivered email 3; delivered email 2; error telegram", "liqwave_alerts_delivered_total",
             r#"liqwave_alerts_delivered_total{sink="email"} 5; liqwave_alerts_delivered_total{sink="telegram"} 0"#),
            ("error telegram; error telegram", "liqwave_sink_errors_total", r#"liqwave_sink_errors_total{sink="telegram"} 2"#),
            // Names are label values, escaped as the format wants.
            (r#"delivered say"hi" 1"#, "liqwave_alerts_delivered_total", r#"liqwave_alerts_delivered_total{sink="say\"hi\""} 1"#),
        ];
        for (actions, series, want) in cases {
            assert_eq!(check(actions, series), want, "{actions} / {series}");
        }
    }

    /// A family is declared even while no worker has started.
    #[test]
    fn families_are_declared_before_any_sink() {
        let metrics = Metrics::default();
        let _meters = metrics.register(DeliveryMeters::register);
        let text = metrics.render().unwrap();
        for name in [
            "liqwave_alerts_delivered_total",
            "liqwave_sink_errors_total",
        ] {
            assert!(text.contains(&format!("# TYPE {name} counter\n")), "{text}");
        }
    }
}
