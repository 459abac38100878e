//! Prometheus metrics of `liqwave run`: one registry of atomics that the engine task, the delivery
//! workers and the live source update, plus readers (the streams' counters, the REST client, the
//! store) asked at scrape time, and the endpoint that serves them ([`server`]). Owns the series
//! names below — a contract, also listed in deploy/RUNBOOK.md — and never blocks an updater:
//! updates are relaxed atomic adds; locks guard only registration and are never held across I/O.
//!
//! # Series
//!
//! | series | type | what |
//! |---|---|---|
//! | `liqwave_up` | gauge | 1 while the daemon answers |
//! | `liqwave_build_info{version}` | gauge | 1, labelled with the crate version |
//! | `liqwave_feed_lag_seconds{connection}` | gauge | per market-stream connection: seconds since its last message (since it was first seen, before its first) |
//! | `liqwave_ws_frames_total{kind}` | counter | text frames by what they were (candle, open_bar, marks, liquidation, ack, unused, malformed, unknown_stream, bad_value, rejected) |
//! | `liqwave_ws_reconnects_total` | counter | stream links that came back after being lost |
//! | `liqwave_gaps_total` | counter | holes found in a pair's series of closed bars |
//! | `liqwave_bars_backfilled_total` | counter | bars fetched from REST to fill those holes |
//! | `liqwave_rest_weight_used` | gauge | REST weight counted in the current minute (ours or Binance's, the higher) |
//! | `liqwave_rest_weight_spent_total` | counter | REST weight reserved since start |
//! | `liqwave_alerts_total{kind}` | counter | alerts the engine raised, by kind |
//! | `liqwave_engine_step_seconds` | histogram | engine time per input (analytics, rules, the store commit) |
//! | `liqwave_engine_pairs` | gauge | pairs the engine holds state for |
//! | `liqwave_outbox_depth{sink}` | gauge | alerts waiting in the outbox per sink |
//! | `liqwave_alerts_delivered_total{sink}` | counter | alerts a sink delivered (a digest counts each alert) |
//! | `liqwave_sink_errors_total{sink}` | counter | failed sends, retriable or not |

pub mod server;
pub mod text;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::model::{AlertKind, TimeMs};
use crate::source::binance::rest::RestClient;
use crate::source::binance::ws::{Counters, FrameKind, SlotId};
use crate::store::Store;
use text::{Exposition, Histogram, Kind};

/// Upper bounds of the engine step histogram, in seconds: a batch of market events takes tens
/// of microseconds, a 5-minute close over 600 pairs a few milliseconds, a cold start longer.
#[rustfmt::skip]
const STEP_BOUNDS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005,
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The registry. Share it as an `Arc`; every method takes `&self`.
#[derive(Debug)]
pub struct Metrics {
    version: &'static str,
    alerts: [AtomicU64; AlertKind::ALL.len()],
    engine_step: Histogram,
    engine_pairs: AtomicU64,
    /// Delivery counters by sink name, registered when the worker starts.
    sinks: Mutex<BTreeMap<String, Arc<SinkMeter>>>,
    readers: Mutex<Readers>,
}

/// What is read at scrape time, registered by whoever owns it.
#[derive(Debug, Default)]
struct Readers {
    feeds: Option<Arc<Counters>>,
    rest: Option<RestClient>,
    store: Option<Store>,
    /// When a connection without a message yet was first seen: its lag counts from there.
    first_seen: BTreeMap<SlotId, TimeMs>,
}

/// Which counter of a [`SinkMeter`] a family reports.
type MeterField = fn(&SinkMeter) -> &AtomicU64;

/// One scrape's view of the readers.
struct Read {
    feeds: Arc<Counters>,
    /// Seconds since each connection's last message.
    lags: Vec<(SlotId, f64)>,
    rest: Option<RestClient>,
    store: Option<Store>,
}

/// The counters of one sink's delivery worker.
#[derive(Debug, Default)]
pub struct SinkMeter {
    delivered: AtomicU64,
    errors: AtomicU64,
}

impl SinkMeter {
    pub fn delivered(&self, alerts: u64) {
        self.delivered.fetch_add(alerts, Ordering::Relaxed);
    }

    /// One failed send (of one alert or one digest), retriable or not.
    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            version: env!("CARGO_PKG_VERSION"),
            alerts: Default::default(),
            engine_step: Histogram::new(STEP_BOUNDS),
            engine_pairs: AtomicU64::new(0),
            sinks: Mutex::default(),
            readers: Mutex::default(),
        }
    }
}

/// A lock whose holder cannot leave the data half-changed: a poisoned one is as good as any.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Metrics {
    /// The market streams' counters and connection clocks (the live source registers them).
    pub fn watch_feeds(&self, counters: Arc<Counters>) {
        lock(&self.readers).feeds = Some(counters);
    }

    /// The REST client whose weight budget is reported.
    pub fn watch_rest(&self, client: RestClient) {
        lock(&self.readers).rest = Some(client);
    }

    /// The store whose outbox depth is reported.
    pub fn watch_store(&self, store: Store) {
        lock(&self.readers).store = Some(store);
    }

    /// The counters of `sink`'s delivery worker; its series read 0 from now on.
    pub fn sink(&self, sink: &str) -> Arc<SinkMeter> {
        Arc::clone(lock(&self.sinks).entry(sink.to_owned()).or_default())
    }

    pub fn alert(&self, kind: AlertKind) {
        let i = AlertKind::ALL.iter().position(|k| *k == kind);
        if let Some(counter) = i.and_then(|i| self.alerts.get(i)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The engine spent `seconds` on one input.
    pub fn engine_step(&self, seconds: f64) {
        self.engine_step.observe(seconds);
    }

    pub fn set_engine_pairs(&self, pairs: usize) {
        self.engine_pairs.store(pairs as u64, Ordering::Relaxed);
    }

    /// Every series in the text exposition format; `now` (epoch ms) dates the feed lag.
    pub fn render(&self, now: TimeMs) -> String {
        let mut out = Exposition::default();
        out.family("liqwave_up", Kind::Gauge, "1 while the daemon answers.");
        out.sample("liqwave_up", &[], 1u64);
        out.family(
            "liqwave_build_info",
            Kind::Gauge,
            "Always 1; the version is in the label.",
        );
        out.sample("liqwave_build_info", &[("version", self.version)], 1u64);
        let read = self.read(now);
        render_feeds(&mut out, &read.feeds, &read.lags);
        render_rest(&mut out, read.rest.as_ref());
        self.render_engine(&mut out);
        self.render_sinks(&mut out, read.store.as_ref());
        out.into_string()
    }

    /// The readers, cloned out of the lock (no I/O under it), and each connection's lag.
    fn read(&self, now: TimeMs) -> Read {
        let mut readers = lock(&self.readers);
        let feeds = readers.feeds.clone().unwrap_or_default();
        let clocks = feeds.last_message();
        readers
            .first_seen
            .retain(|slot, _| clocks.contains_key(slot));
        let lags = clocks
            .into_iter()
            .map(|(slot, last)| {
                let since = match last {
                    0 => *readers.first_seen.entry(slot).or_insert(now),
                    last => last,
                };
                (slot, (now - since).max(0) as f64 / 1000.0)
            })
            .collect();
        Read {
            feeds,
            lags,
            rest: readers.rest.clone(),
            store: readers.store.clone(),
        }
    }

    fn render_engine(&self, out: &mut Exposition) {
        let alerts = "liqwave_alerts_total";
        out.family(alerts, Kind::Counter, "Alerts the engine raised, by kind.");
        for (kind, counter) in AlertKind::ALL.iter().zip(&self.alerts) {
            out.sample(
                alerts,
                &[("kind", kind.as_str())],
                counter.load(Ordering::Relaxed),
            );
        }
        out.histogram(
            "liqwave_engine_step_seconds",
            "Engine time per input: analytics, rules and the store commit.",
            &self.engine_step,
        );
        let pairs = "liqwave_engine_pairs";
        out.family(pairs, Kind::Gauge, "Pairs the engine holds state for.");
        out.sample(pairs, &[], self.engine_pairs.load(Ordering::Relaxed));
    }

    fn render_sinks(&self, out: &mut Exposition, store: Option<&Store>) {
        let sinks: Vec<(String, Arc<SinkMeter>)> = lock(&self.sinks)
            .iter()
            .map(|(name, meter)| (name.clone(), Arc::clone(meter)))
            .collect();
        if let Some(store) = store {
            match store.outbox_depth() {
                Ok(mut depth) => {
                    for (name, _) in &sinks {
                        depth.entry(name.clone()).or_insert(0);
                    }
                    let name = "liqwave_outbox_depth";
                    out.family(name, Kind::Gauge, "Alerts waiting in the outbox, per sink.");
                    for (sink, n) in depth {
                        out.sample(name, &[("sink", &sink)], n as u64);
                    }
                }
                Err(error) => tracing::warn!(%error, "Cannot read the outbox depth for metrics."),
            }
        }
        #[rustfmt::skip]
        let families: [(&str, &str, MeterField); 2] = [
            ("liqwave_alerts_delivered_total", "Alerts a sink delivered (each alert of a digest counts).", |m| &m.delivered),
            ("liqwave_sink_errors_total", "Failed sends per sink, retriable or not.", |m| &m.errors),
        ];
        for (name, help, counter) in families {
            out.family(name, Kind::Counter, help);
            for (sink, meter) in &sinks {
                out.sample(
                    name,
                    &[("sink", sink)],
                    counter(meter).load(Ordering::Relaxed),
                );
            }
        }
    }
}

fn render_feeds(out: &mut Exposition, feeds: &Counters, lags: &[(SlotId, f64)]) {
    let lag = "liqwave_feed_lag_seconds";
    out.family(
        lag,
        Kind::Gauge,
        "Seconds since the market-stream connection's last message.",
    );
    for (slot, seconds) in lags {
        out.sample(lag, &[("connection", &slot.to_string())], *seconds);
    }
    let frames = "liqwave_ws_frames_total";
    out.family(
        frames,
        Kind::Counter,
        "Market-stream text frames by what they were.",
    );
    for kind in FrameKind::ALL {
        out.sample(frames, &[("kind", kind.as_str())], feeds.frames(kind));
    }
    #[rustfmt::skip]
    let counters = [
        ("liqwave_ws_reconnects_total", "Market-stream links that came back after being lost.", &feeds.reconnects),
        ("liqwave_gaps_total", "Holes found in a pair's series of closed bars.", &feeds.gaps),
        ("liqwave_bars_backfilled_total", "Bars fetched from REST to fill holes.", &feeds.bars_backfilled),
    ];
    for (name, help, counter) in counters {
        out.family(name, Kind::Counter, help);
        out.sample(name, &[], counter.load(Ordering::Relaxed));
    }
}

fn render_rest(out: &mut Exposition, rest: Option<&RestClient>) {
    let used = "liqwave_rest_weight_used";
    out.family(
        used,
        Kind::Gauge,
        "REST weight counted in the current minute.",
    );
    out.sample(used, &[], rest.map_or(0, |r| u64::from(r.weight_used())));
    let spent = "liqwave_rest_weight_spent_total";
    out.family(spent, Kind::Counter, "REST weight reserved since start.");
    out.sample(spent, &[], rest.map_or(0, RestClient::weight_spent));
}
