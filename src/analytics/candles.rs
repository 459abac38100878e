//! Candle aggregation: turns closed bars of one source interval (1m or 5m) into closed bars of
//! higher intervals (4h, 1d, 1w, …). Pure: no I/O, no clock, no async; time comes from the bars.
//! It must never emit a bar it has not seen every source bar of, and never panic on bad data.

use serde::{Deserialize, Serialize};

use crate::model::{Candle, Interval, TimeMs};

/// What the aggregator did with the bars it was fed, for telemetry and the replay report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregationStats {
    /// Source bars taken into the running buckets.
    pub accepted: u64,
    /// Source bars dropped because their open time equals the last accepted one.
    pub duplicates: u64,
    /// Source bars dropped because they open before the last accepted one.
    pub out_of_order: u64,
    /// Source bars dropped because their open time is not on the source interval's boundary.
    pub misaligned: u64,
    /// Higher buckets, over all targets, that received some but not all of their source bars
    /// (a gap, or data starting mid-bucket) and were abandoned without being emitted. Counted
    /// when the first bar of a later bucket arrives; the trailing unfinished bucket is not.
    pub incomplete: u64,
    /// Higher bars emitted, over all targets.
    pub emitted: u64,
}

/// Aggregates closed bars of one source interval (1m or 5m) into closed bars of higher intervals.
///
/// A higher bar is emitted only when all of its source bars were accepted, at the moment its last
/// source bar arrives. Per target it keeps the open bucket's bounds, the running OHLCV and a
/// count, so [`Aggregator::push`] never allocates (beyond growing `out`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aggregator {
    source: Interval,
    /// One per target, smallest interval first, so bars completed together come out in that order.
    buckets: Vec<Bucket>,
    last_open: Option<TimeMs>,
    stats: AggregationStats,
}

/// The open bucket of one target interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Bucket {
    interval: Interval,
    /// Source bars in a complete bucket: target duration / source duration.
    need: u32,
    /// Source bars accumulated so far; 0 means no bucket is open.
    count: u32,
    /// Open time of the bucket being filled.
    open_time: TimeMs,
    /// Open time of the next bucket: a source bar at or after it starts a new bucket.
    end: TimeMs,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
    quote_volume: f64,
    taker_buy_quote: f64,
    /// Every source bar so far carried a quote volume.
    has_quote: bool,
    /// Every source bar so far carried a taker-buy quote volume.
    has_taker: bool,
}

impl Bucket {
    fn new(interval: Interval, need: u32) -> Bucket {
        Bucket {
            interval,
            need,
            count: 0,
            open_time: TimeMs::MIN,
            end: TimeMs::MIN,
            open: 0.0,
            high: 0.0,
            low: 0.0,
            close: 0.0,
            volume: 0.0,
            quote_volume: 0.0,
            taker_buy_quote: 0.0,
            has_quote: true,
            has_taker: true,
        }
    }

    /// Opens the bucket that contains `bar`, seeded with it.
    fn start(&mut self, bar: &Candle) {
        self.open_time = self.interval.bar_open(bar.open_time);
        self.end = self.open_time + self.interval.duration_ms();
        self.count = 1;
        self.open = bar.open;
        self.high = bar.high;
        self.low = bar.low;
        self.close = bar.close;
        self.volume = bar.volume;
        self.quote_volume = bar.quote_volume.unwrap_or(0.0);
        self.taker_buy_quote = bar.taker_buy_quote.unwrap_or(0.0);
        self.has_quote = bar.quote_volume.is_some();
        self.has_taker = bar.taker_buy_quote.is_some();
    }

    fn add(&mut self, bar: &Candle) {
        self.count += 1;
        self.high = self.high.max(bar.high);
        self.low = self.low.min(bar.low);
        self.close = bar.close;
        self.volume += bar.volume;
        self.quote_volume += bar.quote_volume.unwrap_or(0.0);
        self.taker_buy_quote += bar.taker_buy_quote.unwrap_or(0.0);
        self.has_quote &= bar.quote_volume.is_some();
        self.has_taker &= bar.taker_buy_quote.is_some();
    }

    fn candle(&self) -> Candle {
        Candle {
            open_time: self.open_time,
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            volume: self.volume,
            quote_volume: self.has_quote.then_some(self.quote_volume),
            taker_buy_quote: self.has_taker.then_some(self.taker_buy_quote),
        }
    }
}

impl Aggregator {
    /// An aggregator of `source` bars into each of `targets` (order and repeats do not matter).
    ///
    /// Every target must be a whole multiple, greater than one, of the source interval: with a
    /// 1m or 5m source, 15m through 1w qualify (weekly bars open on Monday 00:00 UTC, which is
    /// on every such boundary). This is checked by a debug assertion; a release build ignores a
    /// target that breaks it.
    pub fn new(source: Interval, targets: &[Interval]) -> Aggregator {
        let src = source.duration_ms();
        let mut targets = targets.to_vec();
        targets.sort_by_key(|t| t.duration_ms());
        targets.dedup();
        let buckets = targets
            .into_iter()
            .filter(|t| {
                let ok = t.duration_ms() > src && t.duration_ms() % src == 0;
                debug_assert!(ok, "target {t} is not a multiple of source {source}");
                ok
            })
            .map(|t| {
                let need = u32::try_from(t.duration_ms() / src).unwrap_or(u32::MAX);
                Bucket::new(t, need)
            })
            .collect();
        Aggregator {
            source,
            buckets,
            last_open: None,
            stats: AggregationStats::default(),
        }
    }

    /// Feeds one closed source bar; pushes every higher bar it completes onto `out`, smallest
    /// interval first. A misaligned, duplicate or out-of-order bar is counted and dropped (a bar
    /// both misaligned and early counts as misaligned).
    pub fn push(&mut self, bar: &Candle, out: &mut Vec<(Interval, Candle)>) {
        let t = bar.open_time;
        if !self.source.is_bar_open(t) {
            self.stats.misaligned += 1;
            return;
        }
        if let Some(last) = self.last_open {
            if t == last {
                self.stats.duplicates += 1;
                return;
            }
            if t < last {
                self.stats.out_of_order += 1;
                return;
            }
        }
        self.last_open = Some(t);
        self.stats.accepted += 1;
        for b in &mut self.buckets {
            // Accepted bars only move forward, so a bar belongs to the open bucket or a later one.
            if t >= b.end {
                if b.count > 0 {
                    self.stats.incomplete += 1;
                }
                b.start(bar);
            } else {
                b.add(bar);
            }
            // Bars in a bucket are distinct, aligned and inside it: `need` of them means all of
            // them, and this one is the last.
            if b.count == b.need {
                out.push((b.interval, b.candle()));
                self.stats.emitted += 1;
                b.count = 0;
            }
        }
    }

    pub fn stats(&self) -> &AggregationStats {
        &self.stats
    }

    /// Open time of the last accepted source bar.
    pub fn last_open(&self) -> Option<TimeMs> {
        self.last_open
    }

    pub fn source(&self) -> Interval {
        self.source
    }

    /// The target intervals, smallest first.
    pub fn targets(&self) -> impl Iterator<Item = Interval> + '_ {
        self.buckets.iter().map(|b| b.interval)
    }
}

#[cfg(test)]
mod tests;
