//! Swing failures ("sweeps") on one series of closed bars: a bar that trades beyond the range of
//! the bars before it and closes back inside. Owns the bounded range those bars span; pure:
//! closed bars in, at most one sweep out, and a bar is judged only against bars before it.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::model::{Candle, TimeMs};

/// Bars whose range a new bar is judged against, when nothing else is said.
pub const RANGE_BARS: usize = 20;

/// Which extreme of the prior range a bar swept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SweptEdge {
    /// Traded above the prior high, closed back below it: a failure to go higher.
    High,
    /// Traded below the prior low, closed back above it: a failure to go lower.
    Low,
}

/// A bar that swept an edge of the prior range and closed back inside it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    pub edge: SweptEdge,
    pub open_time: TimeMs,
    /// The prior range's extreme that was swept.
    pub level: f64,
    /// The bar's extreme beyond it (the wick).
    pub wick: f64,
    pub close: f64,
}

/// The lows and highs of the last `len` bars, oldest first. Kept as f32 (a pair snapshot stays
/// small), rounded outward: a bar must clear the stored edge, so rounding never invents a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RangeTracker {
    len: usize,
    bars: VecDeque<(f32, f32)>,
}

/// `x` as the nearest f32 at or below it (`up`: at or above it).
fn outward(x: f64, up: bool) -> f32 {
    let f = x as f32;
    match (up, f64::from(f).total_cmp(&x)) {
        (true, std::cmp::Ordering::Less) => f.next_up(),
        (false, std::cmp::Ordering::Greater) => f.next_down(),
        _ => f,
    }
}

impl Default for RangeTracker {
    fn default() -> Self {
        RangeTracker::new(RANGE_BARS)
    }
}

impl RangeTracker {
    pub fn new(len: usize) -> RangeTracker {
        RangeTracker {
            len: len.max(1),
            bars: VecDeque::new(),
        }
    }

    /// `(low, high)` of the bars seen, once the range is full.
    pub fn range(&self) -> Option<(f64, f64)> {
        (self.bars.len() == self.len).then(|| {
            self.bars
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(l, h)| {
                    (lo.min(f64::from(l)), hi.max(f64::from(h)))
                })
        })
    }

    /// Judges a closed bar against the range before it, then adds it. An outside bar that
    /// swept both edges and closed inside says nothing about direction: no sweep.
    pub fn push(&mut self, bar: &Candle) -> Option<Sweep> {
        let sweep = self.range().and_then(|(low, high)| {
            let up = bar.high > high && bar.close < high;
            let down = bar.low < low && bar.close > low;
            let (edge, level, wick) = match (up, down) {
                (true, false) => (SweptEdge::High, high, bar.high),
                (false, true) => (SweptEdge::Low, low, bar.low),
                _ => return None,
            };
            Some(Sweep {
                edge,
                open_time: bar.open_time,
                level,
                wick,
                close: bar.close,
            })
        });
        if bar.low.is_finite() && bar.high.is_finite() {
            if self.bars.len() == self.len {
                self.bars.pop_front();
            }
            self.bars
                .push_back((outward(bar.low, false), outward(bar.high, true)));
        }
        sweep
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(low: f64, high: f64, close: f64) -> Candle {
        Candle {
            open_time: 0,
            open: close,
            high,
            low,
            close,
            volume: 1.0,
            quote_volume: None,
            taker_buy_quote: None,
        }
    }

    #[test]
    fn a_bar_beyond_the_range_that_closes_back_inside_is_a_sweep() {
        // Prior three bars span 95–105. (low, high, close of the new bar, what it is)
        let cases = [
            (96.0, 107.0, 104.0, Some((SweptEdge::High, 105.0, 107.0))),
            (96.0, 107.0, 106.0, None), // closed beyond: a breakout, not a failure
            (96.0, 105.0, 104.0, None), // equal to the high is not beyond it
            (93.0, 104.0, 96.0, Some((SweptEdge::Low, 95.0, 93.0))),
            (93.0, 104.0, 94.0, None),
            (93.0, 107.0, 100.0, None), // both edges: no direction
            (97.0, 103.0, 100.0, None),
        ];
        for (low, high, close, want) in cases {
            let mut range = RangeTracker::new(3);
            for b in [
                bar(95.0, 100.0, 99.0),
                bar(98.0, 105.0, 101.0),
                bar(97.0, 102.0, 100.0),
            ] {
                assert_eq!(range.push(&b), None, "the range is filling");
            }
            let got = range
                .push(&bar(low, high, close))
                .map(|s| (s.edge, s.level, s.wick));
            assert_eq!(got, want, "bar {low}–{high} close {close}");
        }
    }

    #[test]
    fn the_range_rolls_and_forgets_old_bars() {
        let mut range = RangeTracker::new(2);
        range.push(&bar(90.0, 120.0, 100.0));
        range.push(&bar(99.0, 101.0, 100.0));
        assert_eq!(range.range(), Some((90.0, 120.0)));
        range.push(&bar(98.0, 102.0, 100.0));
        assert_eq!(
            range.range(),
            Some((98.0, 102.0)),
            "the wide bar left the window"
        );
    }
}
