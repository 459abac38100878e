//! Candle aggregation: closed 1m/5m bars into closed 4h/1d/1w bars on UTC boundaries (weekly bars
//! open Monday 00:00 UTC). Pure: no I/O, no clock; time comes from the bars. A higher bar is
//! emitted only when every one of its source bars arrived; bad input is counted, never a panic.

use serde::{Deserialize, Serialize};

use crate::model::{Candle, Interval, TimeMs};

/// What the aggregator saw, for logs and the replay summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregationStats {
    pub accepted: u64,
    /// Same open time as the last accepted bar.
    pub duplicates: u64,
    /// Older than the last accepted bar.
    pub out_of_order: u64,
    /// Open time not on the source interval's boundary.
    pub misaligned: u64,
    /// Higher buckets abandoned because source bars were missing (all targets together).
    pub incomplete: u64,
    pub emitted: u64,
}

/// The open bucket of one target interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Bucket {
    interval: Interval,
    /// Source bars in one complete bucket.
    needed: u32,
    /// `None` until the first bar of a bucket arrives.
    open: Option<Partial>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Partial {
    candle: Candle,
    count: u32,
}

/// Aggregates the closed bars of one source interval into closed bars of higher intervals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aggregator {
    source: Interval,
    buckets: Vec<Bucket>,
    last_open: Option<TimeMs>,
    stats: AggregationStats,
}

impl Aggregator {
    /// Every target must be a whole multiple of `source` (checked in debug builds).
    pub fn new(source: Interval, targets: &[Interval]) -> Aggregator {
        let mut targets = targets.to_vec();
        targets.sort();
        let buckets = targets
            .into_iter()
            .map(|interval| {
                debug_assert!(interval.duration_ms() % source.duration_ms() == 0);
                let needed = interval.duration_ms() / source.duration_ms();
                Bucket {
                    interval,
                    needed: u32::try_from(needed).unwrap_or(u32::MAX),
                    open: None,
                }
            })
            .collect();
        Aggregator {
            source,
            buckets,
            last_open: None,
            stats: AggregationStats::default(),
        }
    }

    pub fn source(&self) -> Interval {
        self.source
    }

    pub fn stats(&self) -> &AggregationStats {
        &self.stats
    }

    /// Open time of the last accepted source bar.
    pub fn last_open(&self) -> Option<TimeMs> {
        self.last_open
    }

    /// Feeds one closed source bar; pushes every higher bar it completes onto `out`, smallest
    /// interval first.
    pub fn push(&mut self, bar: &Candle, out: &mut Vec<(Interval, Candle)>) {
        let t = bar.open_time;
        if !self.source.is_bar_open(t) {
            self.stats.misaligned += 1;
            return;
        }
        match self.last_open {
            Some(last) if t == last => {
                self.stats.duplicates += 1;
                return;
            }
            Some(last) if t < last => {
                self.stats.out_of_order += 1;
                return;
            }
            _ => {}
        }
        self.last_open = Some(t);
        self.stats.accepted += 1;
        let close = t + self.source.duration_ms();
        for bucket in &mut self.buckets {
            let start = bucket.interval.bar_open(t);
            match &mut bucket.open {
                Some(p) if p.candle.open_time == start => {
                    merge(&mut p.candle, bar);
                    p.count += 1;
                }
                slot => {
                    // A bar of a new bucket: whatever was open was missing bars.
                    self.stats.incomplete += u64::from(slot.is_some());
                    *slot = Some(Partial {
                        candle: Candle {
                            open_time: start,
                            ..*bar
                        },
                        count: 1,
                    });
                }
            }
            if close == start + bucket.interval.duration_ms() {
                let Some(p) = bucket.open.take() else {
                    continue;
                };
                if p.count == bucket.needed {
                    self.stats.emitted += 1;
                    out.push((bucket.interval, p.candle));
                } else {
                    self.stats.incomplete += 1;
                }
            }
        }
    }
}

fn merge(acc: &mut Candle, bar: &Candle) {
    acc.high = acc.high.max(bar.high);
    acc.low = acc.low.min(bar.low);
    acc.close = bar.close;
    acc.volume += bar.volume;
    acc.quote_volume = acc.quote_volume.zip(bar.quote_volume).map(|(a, b)| a + b);
    acc.taker_buy_quote = acc
        .taker_buy_quote
        .zip(bar.taker_buy_quote)
        .map(|(a, b)| a + b);
}

#[cfg(test)]
mod tests;
