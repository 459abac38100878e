//! The recent 4h bars of a pair with their RSI and regime: what a chart shows beside the current
//! heatmap. A bounded ring, persisted with the pair so a chart after a restart looks the same.
//! Pure: bars in, nothing out.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::regime::Regime;
use crate::model::Candle;

/// Bars a chart shows: 60 × 4h = 10 days, enough to see the current wave and its pullbacks.
pub const TRAIL_BARS: usize = 60;

/// One closed bar as the chart draws it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrailBar {
    pub candle: Candle,
    pub rsi: Option<f64>,
    pub regime: Regime,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Trail {
    bars: VecDeque<TrailBar>,
}

impl Trail {
    pub fn push(&mut self, bar: TrailBar) {
        if self.bars.len() == TRAIL_BARS {
            self.bars.pop_front();
        }
        self.bars.push_back(bar);
    }

    /// Oldest first.
    pub fn bars(&self) -> impl ExactSizeIterator<Item = &TrailBar> {
        self.bars.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(open_time: i64) -> TrailBar {
        TrailBar {
            candle: Candle {
                open_time,
                open: 1.0,
                high: 2.0,
                low: 0.5,
                close: 1.5,
                volume: 1.0,
                quote_volume: None,
                taker_buy_quote: None,
            },
            rsi: Some(55.0),
            regime: Regime::Bull,
        }
    }

    #[test]
    fn keeps_the_latest_bars_oldest_first() {
        let mut trail = Trail::default();
        for t in 0..(TRAIL_BARS as i64 + 5) {
            trail.push(bar(t));
        }
        let times: Vec<i64> = trail.bars().map(|b| b.candle.open_time).collect();
        assert_eq!(times.len(), TRAIL_BARS);
        assert_eq!(times[0], 5);
        assert_eq!(*times.last().unwrap(), TRAIL_BARS as i64 + 4);
    }
}
