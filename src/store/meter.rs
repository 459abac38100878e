//! What the store reports for `/metrics`: the alerts waiting in the outbox, per sink, counted
//! when a scrape asks. Owns `liqwave_outbox_depth{sink}`; must never write, and a failed read
//! leaves the series out of that one scrape (logged) instead of failing the whole scrape.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::Store;

/// The outbox depth of one store, as a collector.
#[derive(Debug)]
pub struct OutboxDepth {
    store: Store,
    /// Sinks with a delivery worker: they read 0 while nothing waits for them.
    sinks: Vec<String>,
}

impl OutboxDepth {
    /// Reports the outbox of `store` in `registry`, every sink of `sinks` included.
    pub fn register(registry: &mut Registry, store: Store, sinks: Vec<String>) {
        registry.register_collector(Box::new(OutboxDepth { store, sinks }));
    }
}

impl Collector for OutboxDepth {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut depth = match self.store.outbox_depth() {
            Ok(depth) => depth,
            Err(error) => {
                tracing::warn!(%error, "Cannot read the outbox depth for metrics.");
                return Ok(());
            }
        };
        for sink in &self.sinks {
            depth.entry(sink.clone()).or_insert(0);
        }
        let help = "Alerts waiting in the outbox, per sink.";
        let name = "liqwave_outbox_depth";
        let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
        for (sink, waiting) in depth {
            let labels = [("sink", sink.as_str())];
            let waiting = ConstGauge::new(u64::try_from(waiting).unwrap_or(u64::MAX));
            waiting.encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;
    use crate::model::{Alert, AlertKind, Severity, Symbol, demo_alert};
    use crate::store::{Commit, Routed};

    /// Registers the outbox of a fresh store with the sinks named in `sinks`, queues `queued`
    /// (`sink n; …`) and returns the samples of the depth, joined by `; `.
    fn check(sinks: &str, queued: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 1 << 20).unwrap();
        let metrics = Metrics::default();
        let names = sinks.split_whitespace().map(str::to_owned).collect();
        metrics.register(|r| OutboxDepth::register(r, store.clone(), names));
        for entry in queued.split(';').map(str::trim).filter(|q| !q.is_empty()) {
            let (sink, n) = entry.split_once(' ').unwrap();
            let alerts: Vec<Routed> = (0..n.parse().unwrap())
                .map(|i| Routed::new(alert(i), vec![sink.to_owned()]))
                .collect();
            store.commit(&Commit::alerts(&alerts)).unwrap();
        }
        metrics.samples("liqwave_outbox_depth")
    }

    fn alert(i: i64) -> Alert {
        let symbol: Symbol = "BTCUSDT".parse().unwrap();
        let facts = demo_alert(AlertKind::RegimeChange).facts;
        let text = format!("alert {i}");
        Alert::new(symbol, None, i, i, Severity::Info, text, facts)
    }

    #[test]
    fn the_depth_counts_what_waits_per_sink() {
        #[rustfmt::skip]
        let cases = [
            ("", "", ""),
            ("telegram", "", r#"liqwave_outbox_depth{sink="telegram"} 0"#),
            // A sink without a worker (any more) still shows what waits for it.
            ("telegram", "email 2; telegram 3",
             r#"liqwave_outbox_depth{sink="email"} 2; liqwave_outbox_depth{sink="telegram"} 3"#),
        ];
        for (sinks, queued, want) in cases {
            assert_eq!(check(sinks, queued), want, "{sinks} / {queued}");
        }
    }
}
