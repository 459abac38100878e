//! Wilder's average true range, incremental: the daily ATR sizes the cluster window and measures
//! gaps to clusters. Pure: one closed bar in, one value out; never sees time.

use serde::{Deserialize, Serialize};

use crate::model::Candle;

/// ATR state of one series: the SMA of the first `period` true ranges, then Wilder smoothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Atr {
    period: u32,
    seen: u32,
    prev_close: Option<f64>,
    value: f64,
}

impl Atr {
    pub fn new(period: u32) -> Atr {
        Atr {
            period: period.max(1),
            seen: 0,
            prev_close: None,
            value: 0.0,
        }
    }

    /// Feeds one closed bar; returns the ATR once `period` true ranges have been seen.
    pub fn update(&mut self, bar: &Candle) -> Option<f64> {
        let range = bar.high - bar.low;
        let tr = self.prev_close.map_or(range, |pc| {
            range.max((bar.high - pc).abs()).max((bar.low - pc).abs())
        });
        self.prev_close = Some(bar.close);
        let n = f64::from(self.period);
        if self.seen < self.period {
            self.value += tr / n;
            self.seen += 1;
        } else {
            self.value = (self.value * (n - 1.0) + tr) / n;
        }
        self.current()
    }

    pub fn current(&self) -> Option<f64> {
        (self.seen >= self.period).then_some(self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(high: f64, low: f64, close: f64) -> Candle {
        Candle {
            open_time: 0,
            open: close,
            high,
            low,
            close,
            volume: 0.0,
            quote_volume: None,
            taker_buy_quote: None,
        }
    }

    #[test]
    fn seeds_with_the_mean_then_smooths() {
        let mut atr = Atr::new(3);
        // True ranges: 2 (first bar: high − low), 3 (gap up from close 11 to high 14), 2.
        assert_eq!(atr.update(&bar(12.0, 10.0, 11.0)), None);
        assert_eq!(atr.update(&bar(14.0, 12.0, 13.0)), None);
        let seed = atr.update(&bar(14.0, 12.0, 13.0)).unwrap();
        assert!((seed - 7.0 / 3.0).abs() < 1e-12);
        // Next TR 4 (low 9 vs close 13): (7/3·2 + 4)/3.
        let v = atr.update(&bar(12.0, 9.0, 10.0)).unwrap();
        assert!((v - (7.0 / 3.0 * 2.0 + 4.0) / 3.0).abs() < 1e-12);
    }
}
