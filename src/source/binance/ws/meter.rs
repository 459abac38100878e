//! What the market streams report for `/metrics`, read from their [`Counters`] when a scrape
//! asks: each connection's feed lag, frames by kind, reconnects, gaps and back-filled bars.
//! Owns those five series; must never be updated by the streams (they count in [`Counters`]) and
//! reads only the wall clock the connections stamp their messages with.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::{Counters, FrameKind, SlotId};
use crate::clock::wall_ms;
use crate::model::TimeMs;

/// The streams' series, as a collector over their counters.
#[derive(Debug)]
pub struct FeedMeter {
    counters: Arc<Counters>,
    /// When a connection without a message yet was first seen: its lag counts from there.
    first_seen: Mutex<BTreeMap<SlotId, TimeMs>>,
    /// Epoch milliseconds now: the connections' clock (tests set their own).
    clock: fn() -> TimeMs,
}

impl FeedMeter {
    /// Reports `counters` in `registry`.
    pub fn register(registry: &mut Registry, counters: Arc<Counters>) {
        registry.register_collector(Box::new(FeedMeter::with_clock(counters, wall_ms)));
    }

    fn with_clock(counters: Arc<Counters>, clock: fn() -> TimeMs) -> FeedMeter {
        FeedMeter {
            counters,
            first_seen: Mutex::default(),
            clock,
        }
    }

    /// Seconds since each live connection's last market data, never negative (a clock behind ours
    /// is no lag); a connection forgotten by the streams is forgotten here too.
    fn lags(&self, now: TimeMs) -> Vec<(SlotId, f64)> {
        let clocks = self.counters.last_message();
        let mut first_seen = self
            .first_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        first_seen.retain(|slot, _| clocks.contains_key(slot));
        let lag = |(slot, last)| {
            let since = match last {
                0 => *first_seen.entry(slot).or_insert(now),
                last => last,
            };
            (slot, (now - since).max(0) as f64 / 1000.0)
        };
        clocks.into_iter().map(lag).collect()
    }
}

impl Collector for FeedMeter {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let help = "Seconds since the market-stream connection's last market data.";
        let name = "liqwave_feed_lag_seconds";
        let mut lags = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
        for (slot, seconds) in self.lags((self.clock)()) {
            let slot = slot.to_string();
            let labels = [("connection", slot.as_str())];
            ConstGauge::new(seconds).encode(lags.encode_family(&labels)?)?;
        }
        let help = "Market-stream text frames by what they were.";
        let name = "liqwave_ws_frames";
        let mut frames = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
        for kind in FrameKind::ALL {
            let labels = [("kind", kind.as_str())];
            let count = ConstCounter::new(self.counters.frames(kind));
            count.encode(frames.encode_family(&labels)?)?;
        }
        let feeds = &self.counters;
        #[rustfmt::skip]
        let counters = [
            ("liqwave_ws_reconnects", "Market-stream links that came back after being lost.", &feeds.reconnects),
            ("liqwave_gaps", "Holes found in a pair's series of closed bars.", &feeds.gaps),
            ("liqwave_bars_backfilled", "Bars fetched from REST to fill holes.", &feeds.bars_backfilled),
        ];
        for (name, help, counter) in counters {
            let family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            ConstCounter::new(counter.load(Ordering::Relaxed)).encode(family)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::sync::atomic::AtomicU64;

    use super::*;
    use crate::metrics::Metrics;

    thread_local! {
        /// The scrape's clock: the test sets it before each scrape (scrapes run on its thread).
        static NOW: Cell<TimeMs> = const { Cell::new(0) };
    }

    fn test_clock() -> TimeMs {
        NOW.with(Cell::get)
    }

    fn bump(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Applies `actions` (`;`-separated) to the streams' counters, scrapes at `now` (ms) and
    /// returns the samples of `series`, joined by `; `.
    fn check(actions: &str, now: TimeMs, series: &str) -> String {
        let metrics = Metrics::default();
        let counters = Arc::new(Counters::default());
        let meter = FeedMeter::with_clock(Arc::clone(&counters), test_clock);
        metrics.register(|r| r.register_collector(Box::new(meter)));
        for action in actions.split(';').map(str::trim).filter(|a| !a.is_empty()) {
            match action.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["frame", kind] => {
                    let kind = FrameKind::ALL.iter().find(|k| k.as_str() == *kind);
                    counters.count_frame(*kind.unwrap());
                }
                ["reconnect"] => bump(&counters.reconnects, 1),
                ["gap"] => bump(&counters.gaps, 1),
                ["backfilled", n] => bump(&counters.bars_backfilled, n.parse().unwrap()),
                ["connection", slot, last_ms] => counters
                    .register(slot.parse().unwrap())
                    .store(last_ms.parse().unwrap(), Ordering::Relaxed),
                ["retire", slot] => counters.retire(slot.parse().unwrap()),
                ["scrape", at] => {
                    NOW.with(|now| now.set(at.parse().unwrap()));
                    drop(metrics.render().unwrap());
                }
                _ => panic!("unknown action {action:?}"),
            }
        }
        NOW.with(|clock| clock.set(now));
        metrics.samples(series)
    }

    #[test]
    fn series_follow_what_the_streams_did() {
        #[rustfmt::skip]
        let cases = [
            ("reconnect; reconnect", 0, "liqwave_ws_reconnects_total", "liqwave_ws_reconnects_total 2"),
            ("gap", 0, "liqwave_gaps_total", "liqwave_gaps_total 1"),
            ("backfilled 12; backfilled 3", 0, "liqwave_bars_backfilled_total", "liqwave_bars_backfilled_total 15"),
            ("", 0, "liqwave_feed_lag_seconds", ""),
            ("connection 0 1000; connection 7 4500", 6_250, "liqwave_feed_lag_seconds",
             r#"liqwave_feed_lag_seconds{connection="0"} 5.25; liqwave_feed_lag_seconds{connection="7"} 1.75"#),
            // Before its first message, a connection's lag counts from the first scrape that saw it.
            ("connection 3 0; scrape 2000", 9_000, "liqwave_feed_lag_seconds", r#"liqwave_feed_lag_seconds{connection="3"} 7.0"#),
            ("connection 3 0", 9_000, "liqwave_feed_lag_seconds", r#"liqwave_feed_lag_seconds{connection="3"} 0.0"#),
            // A retired connection leaves; coming back, it counts from its new first sighting.
            ("connection 3 0; scrape 2000; retire 3; scrape 3000; connection 3 0; scrape 8000", 9_000,
             "liqwave_feed_lag_seconds", r#"liqwave_feed_lag_seconds{connection="3"} 1.0"#),
            // A clock behind ours is no negative lag.
            ("connection 1 9500", 9_000, "liqwave_feed_lag_seconds", r#"liqwave_feed_lag_seconds{connection="1"} 0.0"#),
        ];
        for (actions, now, series, want) in cases {
            assert_eq!(check(actions, now, series), want, "{actions} / {series}");
        }
        let frames = check(
            "frame candle; frame candle; frame malformed",
            0,
            "liqwave_ws_frames_total",
        );
        let counted: Vec<&str> = frames.split("; ").filter(|l| !l.ends_with(" 0")).collect();
        #[rustfmt::skip]
        assert_eq!(counted, [r#"liqwave_ws_frames_total{kind="candle"} 2"#, r#"liqwave_ws_frames_total{kind="malformed"} 1"#]);
        assert_eq!(frames.split("; ").count(), FrameKind::ALL.len(), "{frames}");
    }
}
