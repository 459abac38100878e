//! Confirmed RSI pivots and regular / hidden divergences with the semantics of TradingView's
//! "RSI Divergence Indicator" (rsi-oracle.md §5.5). Pure: bars in, confirmations out; never looks
//! ahead — a pivot at bar p is known only at p + lbR.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::PivotParams;
use super::regime::{gt, lt};

pub use crate::model::DivergenceKind;

/// One bar of the window: its index in the series, RSI and price extremes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PivotBar {
    pub index: u64,
    pub open_time: i64,
    pub rsi: f64,
    pub low: f64,
    pub high: f64,
}

/// A divergence confirmed on the current bar, between pivot `pivot` and the previous one `prev`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Divergence {
    pub kind: DivergenceKind,
    pub pivot: PivotBar,
    pub prev: PivotBar,
}

/// Tracks the RSI window and the last confirmed pivot of each kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PivotTracker {
    window: VecDeque<PivotBar>,
    last_low: Option<PivotBar>,
    last_high: Option<PivotBar>,
}

impl PivotTracker {
    pub fn new(params: &PivotParams) -> PivotTracker {
        PivotTracker {
            window: VecDeque::with_capacity(params.left + params.right + 1),
            last_low: None,
            last_high: None,
        }
    }

    /// Feeds the next bar that has an RSI value (indices consecutive); returns a divergence
    /// confirmed at this bar.
    /// At most one can confirm per bar: a bar cannot be both a pivot low and a pivot high.
    pub fn push(&mut self, bar: PivotBar, p: &PivotParams) -> Option<Divergence> {
        let span = p.left + p.right + 1;
        if self.window.len() == span {
            self.window.pop_front();
        }
        self.window.push_back(bar);
        if self.window.len() < span {
            return None;
        }
        let candidate = self.window[p.left];
        let left = || self.window.range(..p.left);
        let right = || self.window.range(p.left + 1..);
        // Equal bars are allowed on the left and not on the right, so a flat bottom yields
        // one pivot, at its last bar (TradingView's tie rule).
        let is_low =
            left().all(|b| !lt(b.rsi, candidate.rsi)) && right().all(|b| gt(b.rsi, candidate.rsi));
        let is_high =
            left().all(|b| !gt(b.rsi, candidate.rsi)) && right().all(|b| lt(b.rsi, candidate.rsi));
        if is_low {
            let prev = self.last_low.replace(candidate);
            prev.and_then(|prev| low_divergence(candidate, prev, p))
        } else if is_high {
            let prev = self.last_high.replace(candidate);
            prev.and_then(|prev| high_divergence(candidate, prev, p))
        } else {
            None
        }
    }
}

/// TradingView's `_inRange(plFound[1])`: bars strictly between the two pivots.
fn in_range(pivot: PivotBar, prev: PivotBar, p: &PivotParams) -> bool {
    let between = pivot.index - prev.index - 1;
    (p.range_lower as u64..=p.range_upper as u64).contains(&between)
}

fn low_divergence(pivot: PivotBar, prev: PivotBar, p: &PivotParams) -> Option<Divergence> {
    if !in_range(pivot, prev, p) {
        return None;
    }
    let kind = if gt(pivot.rsi, prev.rsi) && pivot.low < prev.low {
        DivergenceKind::RegularBull
    } else if lt(pivot.rsi, prev.rsi) && pivot.low > prev.low {
        DivergenceKind::HiddenBull
    } else {
        return None;
    };
    Some(Divergence { kind, pivot, prev })
}

fn high_divergence(pivot: PivotBar, prev: PivotBar, p: &PivotParams) -> Option<Divergence> {
    if !in_range(pivot, prev, p) {
        return None;
    }
    let kind = if lt(pivot.rsi, prev.rsi) && pivot.high > prev.high {
        DivergenceKind::RegularBear
    } else if gt(pivot.rsi, prev.rsi) && pivot.high < prev.high {
        DivergenceKind::HiddenBear
    } else {
        return None;
    };
    Some(Divergence { kind, pivot, prev })
}

#[cfg(test)]
mod tests;
