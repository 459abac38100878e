//! One symbol's price path for scoring: its source bars in time order, with the hourly ATR known
//! at each bar and lookups by time. Pure data built once from the replayed candles; it never
//! decides an outcome (that is `outcome`).

use crate::analytics::atr::Atr;
use crate::model::{Candle, HOUR_MS, Interval, TimeMs};

/// One source bar as the walkers read it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub open_time: TimeMs,
    /// When the bar closed: its open plus the source interval.
    pub close_time: TimeMs,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
}

/// A symbol's bars, strictly increasing in time, and the 14-hour ATR of its hourly bars as known
/// at each bar's close (the last closed hour's value, never a later one).
#[derive(Debug, Clone, Default)]
pub struct Path {
    bars: Vec<Bar>,
    /// `atr_1h[i]`: the hourly ATR known when bar `i` closed.
    atr_1h: Vec<Option<f64>>,
}

/// Builds a [`Path`] one candle at a time, so a replay can grow it as the candles pass by
/// instead of keeping them all a second time.
#[derive(Debug, Clone)]
pub(super) struct PathBuilder {
    path: Path,
    step: TimeMs,
    atr: Atr,
    /// The hour being aggregated for the ATR.
    hour: Option<Candle>,
}

impl PathBuilder {
    /// A builder for candles of `interval`.
    pub(super) fn new(interval: Interval) -> PathBuilder {
        PathBuilder {
            path: Path::default(),
            step: interval.duration_ms(),
            atr: Atr::new(14),
            hour: None,
        }
    }

    /// Adds the next candle; one that does not open after the previous one is dropped (the
    /// replay's aggregator drops it too).
    pub(super) fn push(&mut self, c: &Candle) {
        let path = &mut self.path;
        if path.bars.last().is_some_and(|b| b.open_time >= c.open_time) {
            return;
        }
        let open_hour = c.open_time.div_euclid(HOUR_MS) * HOUR_MS;
        self.hour = Some(match self.hour {
            Some(h) if h.open_time == open_hour => Candle {
                high: h.high.max(c.high),
                low: h.low.min(c.low),
                close: c.close,
                ..h
            },
            Some(h) => {
                self.atr.update(&h);
                Candle {
                    open_time: open_hour,
                    ..*c
                }
            }
            None => Candle {
                open_time: open_hour,
                ..*c
            },
        });
        // An hour is closed once its last bar is: fold it in at once, so the ATR at this bar's
        // close includes it.
        let close_time = c.open_time + self.step;
        if close_time % HOUR_MS == 0
            && let Some(h) = self.hour.take()
        {
            self.atr.update(&h);
        }
        path.bars.push(Bar {
            open_time: c.open_time,
            close_time,
            open: c.open,
            high: c.high,
            low: c.low,
            close: c.close,
        });
        path.atr_1h.push(self.atr.current());
    }

    pub(super) fn finish(self) -> Path {
        self.path
    }
}

impl Path {
    /// The path of candles of `interval` in time order (see [`PathBuilder::push`]).
    pub fn new(interval: Interval, candles: impl IntoIterator<Item = Candle>) -> Path {
        let mut builder = PathBuilder::new(interval);
        for c in candles {
            builder.push(&c);
        }
        builder.finish()
    }

    pub fn bars(&self) -> &[Bar] {
        &self.bars
    }

    /// Index of the first bar that opens at or after `time`: the first bar an alert raised at
    /// `time` has not seen.
    pub fn first_after(&self, time: TimeMs) -> usize {
        self.bars.partition_point(|b| b.open_time < time)
    }

    /// The hourly ATR known at `time` (from the last bar closed by then).
    pub fn atr_1h_at(&self, time: TimeMs) -> Option<f64> {
        let i = self.bars.partition_point(|b| b.close_time <= time);
        i.checked_sub(1).and_then(|i| self.atr_1h[i])
    }

    /// The close of the last bar closed at or before `time`.
    pub fn close_at(&self, time: TimeMs) -> Option<f64> {
        let i = self.bars.partition_point(|b| b.close_time <= time);
        i.checked_sub(1).map(|i| self.bars[i].close)
    }
}
