//! Wilder RSI, incremental and bit-identical to TA-Lib 0.8.1. Pure: one close in, one value out;
//! never sees time, candles or signals.

use serde::{Deserialize, Serialize};

/// RSI state of one series: the seed accumulates the first `period` changes, then Wilder steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rsi {
    period: u32,
    /// Price changes consumed so far, saturating once the seed is complete.
    changes: u32,
    prev_close: Option<f64>,
    avg_gain: f64,
    avg_loss: f64,
    /// `period − 1` and `1 / period`, hoisted as TA-Lib does (same values, so same bits).
    keep: f64,
    inv: f64,
}

/// One RSI output with the Wilder averages behind it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RsiValue {
    pub rsi: f64,
    pub avg_gain: f64,
    pub avg_loss: f64,
}

impl Rsi {
    /// `period` must be at least 2 (the config checks it).
    pub fn new(period: usize) -> Rsi {
        debug_assert!(period >= 2);
        let period = u32::try_from(period).unwrap_or(u32::MAX);
        let n = f64::from(period);
        Rsi {
            period,
            changes: 0,
            prev_close: None,
            avg_gain: 0.0,
            avg_loss: 0.0,
            keep: n - 1.0,
            inv: 1.0 / n,
        }
    }

    /// Feeds one closed bar's close; returns the RSI once `period` changes have been seen.
    pub fn update(&mut self, close: f64) -> Option<RsiValue> {
        let value = self.advance(close);
        self.prev_close = Some(close);
        value
    }

    /// The RSI a forming bar would have if it closed at `close`; never changes the state.
    pub fn peek(&self, close: f64) -> Option<RsiValue> {
        self.clone().update(close)
    }

    /// The last value, if the seed is complete.
    pub fn current(&self) -> Option<RsiValue> {
        (self.changes >= self.period).then(|| self.value())
    }

    fn advance(&mut self, close: f64) -> Option<RsiValue> {
        let prev = self.prev_close?;
        // The exact float recipe of TA-Lib >= 0.8: multiply by a hoisted 1/n and update the loss
        // branch-free. Any other arrangement (or a fused multiply-add) moves the last bits.
        let d = close - prev;
        let gain = if d > 0.0 { d } else { 0.0 };
        if self.changes < self.period {
            self.avg_gain += gain;
            self.avg_loss += gain - d;
            self.changes += 1;
            if self.changes < self.period {
                return None;
            }
        } else {
            self.avg_gain *= self.keep;
            self.avg_loss *= self.keep;
            self.avg_gain += gain;
            self.avg_loss += gain - d;
        }
        self.avg_gain *= self.inv;
        self.avg_loss *= self.inv;
        Some(self.value())
    }

    fn value(&self) -> RsiValue {
        let total = self.avg_gain + self.avg_loss;
        // A flat series has no direction: 50, not TA-Lib 0.8.1's 0 (DESIGN.md §4.1).
        let rsi = if total == 0.0 {
            50.0
        } else {
            100.0 * (self.avg_gain / total)
        };
        RsiValue {
            rsi,
            avg_gain: self.avg_gain,
            avg_loss: self.avg_loss,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(closes: &[f64]) -> Vec<Option<f64>> {
        let mut rsi = Rsi::new(14);
        closes
            .iter()
            .map(|&c| rsi.update(c).map(|v| v.rsi))
            .collect()
    }

    #[test]
    fn first_value_arrives_on_the_fifteenth_close() {
        let closes: Vec<f64> = (0..20).map(|i| 100.0 + f64::from(i % 3)).collect();
        let out = series(&closes);
        assert!(out[..14].iter().all(Option::is_none));
        assert!(out[14..].iter().all(Option::is_some));
    }

    #[test]
    fn flat_series_reads_fifty() {
        assert_eq!(series(&[7.0; 30])[29], Some(50.0));
    }

    #[test]
    fn only_gains_read_hundred_and_only_losses_zero() {
        let up: Vec<f64> = (0..20).map(f64::from).collect();
        let down: Vec<f64> = up.iter().rev().copied().collect();
        assert_eq!(series(&up)[19], Some(100.0));
        assert_eq!(series(&down)[19], Some(0.0));
    }

    #[test]
    fn peek_leaves_the_state_alone() {
        let mut rsi = Rsi::new(14);
        for i in 0..30 {
            rsi.update(100.0 + f64::from(i % 5));
        }
        let before = rsi.clone();
        let peeked = rsi.peek(120.0);
        assert_eq!(rsi, before);
        assert_eq!(peeked, rsi.clone().update(120.0));
    }
}
