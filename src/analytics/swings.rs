//! Confirmed price swings (pivot lows and highs of the bars' lows and highs) on one timeframe:
//! the invalidation levels a setup's stop sits behind. Pure: closed bars in, confirmed swings out;
//! a swing at bar p is known only at p + `right`, never earlier.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// Swings kept per kind: enough to find one beyond any entry after a long pullback.
const KEEP: usize = 8;

/// A confirmed swing: the bar's open time and its extreme.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Swing {
    pub open_time: i64,
    pub price: f64,
}

/// The price window and the latest confirmed swings, newest last.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SwingTracker {
    window: VecDeque<(i64, f64, f64)>,
    lows: VecDeque<Swing>,
    highs: VecDeque<Swing>,
}

impl SwingTracker {
    /// Feeds the next closed bar; `left` bars before and `right` bars after a swing must not
    /// undercut (lows) / overshoot (highs) it. Ties go to the later bar, as with RSI pivots.
    pub fn push(&mut self, open_time: i64, low: f64, high: f64, left: usize, right: usize) {
        let span = left + right + 1;
        while self.window.len() >= span {
            self.window.pop_front();
        }
        self.window.push_back((open_time, low, high));
        if self.window.len() < span {
            return;
        }
        let (time, c_low, c_high) = self.window[left];
        let before = || self.window.range(..left);
        let after = || self.window.range(left + 1..);
        if before().all(|b| b.1 >= c_low) && after().all(|b| b.1 > c_low) {
            keep(
                &mut self.lows,
                Swing {
                    open_time: time,
                    price: c_low,
                },
            );
        }
        if before().all(|b| b.2 <= c_high) && after().all(|b| b.2 < c_high) {
            keep(
                &mut self.highs,
                Swing {
                    open_time: time,
                    price: c_high,
                },
            );
        }
    }

    /// The most recent confirmed swing low strictly below `price`.
    pub fn low_below(&self, price: f64) -> Option<Swing> {
        self.lows.iter().rev().find(|s| s.price < price).copied()
    }

    /// The most recent confirmed swing high strictly above `price`.
    pub fn high_above(&self, price: f64) -> Option<Swing> {
        self.highs.iter().rev().find(|s| s.price > price).copied()
    }
}

fn keep(list: &mut VecDeque<Swing>, swing: Swing) {
    if list.len() == KEEP {
        list.pop_front();
    }
    list.push_back(swing);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds (low, high) bars with lbL = lbR = 2 and returns (last low below 100, last high
    /// above 100).
    fn run(bars: &[(f64, f64)]) -> (Option<f64>, Option<f64>) {
        let mut t = SwingTracker::default();
        for (i, (low, high)) in bars.iter().enumerate() {
            t.push(i as i64, *low, *high, 2, 2);
        }
        (
            t.low_below(100.0).map(|s| s.price),
            t.high_above(100.0).map(|s| s.price),
        )
    }

    type Found = (Option<f64>, Option<f64>);

    #[test]
    fn swings_confirm_after_right_bars_only() {
        // (bars as (low, high), want (swing low below 100, swing high above 100))
        #[rustfmt::skip]
        let cases: [(&[(f64, f64)], Found); 5] = [
            (&[(95., 101.), (94., 102.), (90., 110.), (93., 103.)], (None, None)),
            (&[(95., 101.), (94., 102.), (90., 110.), (93., 103.), (94., 104.)], (Some(90.), Some(110.))),
            (&[(96., 100.), (95., 101.), (94., 102.), (90., 99.), (90., 99.), (93., 98.), (94., 97.)], (Some(90.), Some(102.))),
            (&[(95., 101.), (94., 102.), (90., 103.), (89., 103.), (93., 103.)], (None, None)),
            (&[(99., 101.), (98., 100.), (97., 99.), (96., 98.), (95., 97.), (94., 96.)], (None, None)),
        ];
        for (bars, want) in cases {
            assert_eq!(run(bars), want, "{bars:?}");
        }
    }
}
