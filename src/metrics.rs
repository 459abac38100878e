//! Prometheus metrics of `liqwave run`: the registry that components register their own series
//! in, its encoding, and the endpoint that serves it ([`server`]). Owns the registry and the
//! series contract below (also in deploy/RUNBOOK.md); must never import a component: the engine,
//! the delivery workers, the live source and the store each define what they count and register
//! it here, and the registry only encodes what it was given.
//!
//! # Series
//!
//! | series | type | what | defined in |
//! |---|---|---|---|
//! | `liqwave_up` | gauge | 1 while the daemon answers | here |
//! | `liqwave_build_info{version}` | gauge | 1, labelled with the crate version | here |
//! | `liqwave_feed_lag_seconds{connection}` | gauge | per market-stream connection: seconds since its last message (since it was first seen, before its first) | `source::binance::ws::meter` |
//! | `liqwave_ws_frames_total{kind}` | counter | text frames by what they were (candle, open_bar, marks, liquidation, ack, unused, malformed, unknown_stream, bad_value, rejected) | `source::binance::ws::meter` |
//! | `liqwave_ws_reconnects_total` | counter | stream links that came back after being lost | `source::binance::ws::meter` |
//! | `liqwave_gaps_total` | counter | holes found in a pair's series of closed bars | `source::binance::ws::meter` |
//! | `liqwave_bars_backfilled_total` | counter | bars fetched from REST to fill those holes | `source::binance::ws::meter` |
//! | `liqwave_rest_weight_used` | gauge | REST weight counted in the current minute (ours or Binance's, the higher) | `source::binance::rest::meter` |
//! | `liqwave_rest_weight_spent_total` | counter | REST weight reserved since start | `source::binance::rest::meter` |
//! | `liqwave_alerts_total{kind}` | counter | alerts the engine raised, by kind | `engine::meter` |
//! | `liqwave_engine_step_seconds` | histogram | engine time per input (analytics, rules, the store commit) | `engine::meter` |
//! | `liqwave_engine_pairs` | gauge | pairs the engine holds state for | `engine::meter` |
//! | `liqwave_outbox_depth{sink}` | gauge | alerts waiting in the outbox per sink | `store::meter` |
//! | `liqwave_alerts_delivered_total{sink}` | counter | alerts a sink delivered (a digest counts each alert) | `notify::meter` |
//! | `liqwave_sink_errors_total{sink}` | counter | failed sends, retriable or not | `notify::meter` |
//!
//! Counters are registered without their `_total`: prometheus-client adds it when it encodes.
//! The text is the Prometheus exposition format 0.0.4, which every scraper reads.
//!
//! # Locking
//!
//! Updates never touch the registry: a component keeps handles to its own atomics. The registry's
//! lock is taken for writing only while a component registers (at start), and for reading while a
//! scrape encodes, so scrapes never wait for each other. The one updater a scrape can delay is
//! the engine, for as long as the scrape copies the step histogram (prometheus-client locks it).

pub mod server;

#[cfg(test)]
mod tests;

use std::sync::{PoisonError, RwLock};

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// The Content-Type of what [`Metrics::render`] writes.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// The registry. Share it as an `Arc`; every method takes `&self`.
#[derive(Debug)]
pub struct Metrics {
    registry: RwLock<Registry>,
}

impl Default for Metrics {
    /// A registry holding the daemon's own two series; components add theirs.
    fn default() -> Self {
        let mut registry = Registry::default();
        registry.register(
            "liqwave_up",
            "1 while the daemon answers",
            ConstGauge::new(1i64),
        );
        let version = [("version", env!("CARGO_PKG_VERSION"))];
        // An info metric: the text format writes it as the gauge `liqwave_build_info{version} 1`.
        registry.register(
            "liqwave_build",
            "Always 1; the version is in the label",
            Info::new(version),
        );
        Metrics {
            registry: RwLock::new(registry),
        }
    }
}

impl Metrics {
    /// Lets a component register its series, and returns what it keeps to update them. Each
    /// component gets a registry of its own inside this one, so its families stay together in
    /// the scrape, in the order components registered.
    pub fn register<T>(&self, add: impl FnOnce(&mut Registry) -> T) -> T {
        // A registration cannot leave the registry half-changed: a poisoned lock is as good.
        let mut registry = self
            .registry
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        add(registry.sub_registry_with_labels(std::iter::empty()))
    }

    /// Every registered series in the text exposition format, read now (collectors read their
    /// sources as they encode). Errs only when a collector could not encode its series.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let registry = self.registry.read().unwrap_or_else(PoisonError::into_inner);
        let mut text = String::new();
        prometheus_text::encode(&mut text, &registry)?;
        Ok(text)
    }

    /// The sample lines of the series `name` (labels and all) in one scrape, joined by `; `:
    /// what the components' tests compare.
    #[cfg(test)]
    pub(crate) fn samples(&self, name: &str) -> String {
        let text = self.render().expect("the registry encodes");
        let labelled = format!("{name}{{");
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with(&labelled) || l.split(' ').next() == Some(name))
            .collect();
        lines.join("; ")
    }
}
