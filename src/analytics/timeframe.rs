//! Everything liqwave derives from the closed bars of one signal timeframe: RSI, regime, the
//! 50-line cross, pivots and divergences, and the entry trigger. Pure: one closed bar in, one
//! `BarSignals` out; it never decides what is worth an alert (rules do).

use serde::{Deserialize, Serialize};

use super::SignalParams;
use super::atr::Atr;
use super::entry::{EntryBar, EntryDirection, EntryTrigger};
use super::pivots::{Divergence, PivotBar, PivotTracker};
use super::regime::{Regime, ge, gt, le, lt};
use super::rsi::{Rsi, RsiValue};
use super::sweeps::{RangeTracker, Sweep};
use super::swings::SwingTracker;
use crate::model::{Candle, Interval, TimeMs};

pub use crate::model::Cross50;

/// What one closed bar produced on its timeframe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BarSignals {
    pub interval: Interval,
    pub candle: Candle,
    /// Closed bars seen on this timeframe, this one included.
    pub bars: u64,
    pub rsi: Option<RsiValue>,
    pub regime_before: Regime,
    pub regime: Regime,
    pub cross50: Option<Cross50>,
    pub divergence: Option<Divergence>,
    pub entry: Option<EntryDirection>,
    /// This bar does not follow the previous one directly: bars are missing in between.
    pub after_gap: bool,
    /// The bar swept an edge of the prior bars' range and closed back inside.
    pub sweep: Option<Sweep>,
    /// The timeframe's ATR before this bar: what an impulse is measured against.
    pub atr_before: Option<f64>,
}

impl BarSignals {
    pub fn regime_changed(&self) -> bool {
        self.regime_before != self.regime
    }

    /// Close time of the bar: the moment its signals became known.
    pub fn close_time(&self) -> TimeMs {
        self.candle.open_time + self.interval.duration_ms()
    }
}

/// Signal state of one (symbol, timeframe).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeframeState {
    interval: Interval,
    rsi: Rsi,
    regime: Regime,
    bars: u64,
    /// Bars that arrived after a hole in the series.
    gaps: u64,
    last: Option<LastBar>,
    pivots: PivotTracker,
    /// Confirmed price swings, with the pivot lookbacks: where a setup's stop goes.
    swings: SwingTracker,
    entry: EntryTrigger,
    /// The prior bars' range, for sweeps (absent in older snapshots: it refills).
    #[serde(default)]
    range: RangeTracker,
    /// Wilder ATR(14) of this timeframe's bars (absent in older snapshots: it warms up again).
    #[serde(default = "fresh_atr")]
    atr: Atr,
}

/// Wilder period of a timeframe's ATR.
const ATR_PERIOD: u32 = 14;

fn fresh_atr() -> Atr {
    Atr::new(ATR_PERIOD)
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct LastBar {
    open_time: TimeMs,
    close: f64,
    rsi: Option<f64>,
}

impl TimeframeState {
    pub fn new(interval: Interval, params: &SignalParams) -> TimeframeState {
        TimeframeState {
            interval,
            rsi: Rsi::new(params.rsi_period),
            regime: Regime::Range,
            bars: 0,
            gaps: 0,
            last: None,
            pivots: PivotTracker::new(&params.pivots_for(interval)),
            swings: SwingTracker::default(),
            entry: EntryTrigger::default(),
            range: RangeTracker::default(),
            atr: fresh_atr(),
        }
    }

    pub fn interval(&self) -> Interval {
        self.interval
    }

    pub fn regime(&self) -> Regime {
        self.regime
    }

    pub fn bars(&self) -> u64 {
        self.bars
    }

    pub fn gaps(&self) -> u64 {
        self.gaps
    }

    pub fn rsi(&self) -> Option<RsiValue> {
        self.rsi.current()
    }

    pub fn swings(&self) -> &SwingTracker {
        &self.swings
    }

    /// The timeframe's ATR after the last bar.
    pub fn atr(&self) -> Option<f64> {
        self.atr.current()
    }

    pub fn last_open(&self) -> Option<TimeMs> {
        self.last.map(|l| l.open_time)
    }

    /// Consumes one closed bar of this timeframe. Bars must come in open-time order; the
    /// aggregator guarantees it.
    pub fn on_close(&mut self, candle: &Candle, params: &SignalParams) -> BarSignals {
        let after_gap = self
            .last
            .is_some_and(|l| candle.open_time != l.open_time + self.interval.duration_ms());
        self.gaps += u64::from(after_gap);
        self.bars += 1;
        let prev = self.last;
        let regime_before = self.regime;
        let value = self.rsi.update(candle.close);
        let pivots = params.pivots_for(self.interval);
        self.swings.push(
            candle.open_time,
            candle.low,
            candle.high,
            pivots.left,
            pivots.right,
        );
        let mut signals = BarSignals {
            interval: self.interval,
            candle: *candle,
            bars: self.bars,
            rsi: value,
            regime_before,
            regime: regime_before,
            cross50: None,
            divergence: None,
            entry: None,
            after_gap,
            sweep: self.range.push(candle),
            atr_before: self.atr.current(),
        };
        self.atr.update(candle);
        if let Some(v) = value {
            let prev_rsi = prev.and_then(|p| p.rsi);
            signals.regime = regime_before.next(v.rsi, &params.regime);
            signals.cross50 = prev_rsi.and_then(|before| cross50(before, v.rsi));
            signals.divergence = self.pivots.push(
                PivotBar {
                    index: self.bars,
                    open_time: candle.open_time,
                    rsi: v.rsi,
                    low: candle.low,
                    high: candle.high,
                },
                &pivots,
            );
            signals.entry = self.entry.step(
                &EntryBar {
                    rsi: v.rsi,
                    close: candle.close,
                    prev_close: prev.map(|p| p.close),
                    regime_before,
                    regime_after: signals.regime,
                    first_rsi_bar: prev_rsi.is_none(),
                },
                &params.entry,
            );
            self.regime = signals.regime;
        }
        self.last = Some(LastBar {
            open_time: candle.open_time,
            close: candle.close,
            rsi: value.map(|v| v.rsi),
        });
        signals
    }
}

fn cross50(before: f64, now: f64) -> Option<Cross50> {
    if gt(now, 50.0) && le(before, 50.0) {
        Some(Cross50::Up)
    } else if lt(now, 50.0) && ge(before, 50.0) {
        Some(Cross50::Down)
    } else {
        None
    }
}
