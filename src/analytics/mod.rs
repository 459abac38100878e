//! Pure market analytics: candle aggregation, RSI, regime, pivots and divergences, entry trigger,
//! and the per-pair state that bundles them. No I/O, no clock, no async: time arrives in the data.

pub mod atr;
pub mod brackets;
pub mod candles;
pub mod clusters;
pub mod entry;
pub mod heat_history;
pub mod heat_state;
pub mod heatmap;
pub mod loading;
pub mod pair_state;
pub mod pivots;
pub mod realized;
pub mod regime;
pub mod rsi;
pub mod sweeps;
pub mod swings;
pub mod timeframe;
pub mod trail;
pub mod validation;
pub mod venues;

pub use pair_state::{PairContext, PairOutput, PairState};

/// Tolerance for every comparison between RSI values (rsi-oracle.md §5.0): float RSI may move by
/// one ulp on an unchanged close, and that must not read as a turn or a new pivot.
pub const EPS: f64 = 1e-9;

/// Thresholds of the Cardwell regime, spec v1 (rsi-oracle.md §5.3).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegimeThresholds {
    /// RSI at or above this enters BULL (default 70).
    pub bull_enter: f64,
    /// In BULL, RSI below this falls back to RANGE (default 40).
    pub bull_exit: f64,
    /// RSI at or below this enters BEAR (default 30).
    pub bear_enter: f64,
    /// In BEAR, RSI above this falls back to RANGE (default 60).
    pub bear_exit: f64,
}

impl RegimeThresholds {
    pub const CARDWELL: RegimeThresholds = RegimeThresholds {
        bull_enter: 70.0,
        bull_exit: 40.0,
        bear_enter: 30.0,
        bear_exit: 60.0,
    };
}

/// Pivot and divergence settings with TradingView's defaults (rsi-oracle.md §5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PivotParams {
    /// Bars left of a pivot that must not undercut it (lbL, default 5).
    pub left: usize,
    /// Bars right of a pivot that must stay strictly beyond it; the pivot confirms this many bars
    /// later (lbR, default 5).
    pub right: usize,
    /// Minimum `(p − p') − 1` between two pivots for a divergence (default 5).
    pub range_lower: usize,
    /// Maximum `(p − p') − 1` between two pivots for a divergence (default 60).
    pub range_upper: usize,
}

impl PivotParams {
    pub const TRADINGVIEW: PivotParams = PivotParams {
        left: 5,
        right: 5,
        range_lower: 5,
        range_upper: 60,
    };
}

/// Settings of the pullback-then-turn entry trigger (rsi-oracle.md §5.4).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EntryParams {
    /// RSI must leave the zone by this much past its midline edge before the trigger re-arms
    /// (default 5: unlock above 55 in a bull wave, below 45 in a bear wave).
    pub rearm_gap: f64,
}

/// Everything the per-timeframe signal machinery needs, checked by the config.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SignalParams {
    /// Wilder RSI period (default 14).
    pub rsi_period: usize,
    /// Closed bars before a timeframe's signals count as converged (default 250).
    pub warmup_bars: usize,
    /// Fewest closed bars before any signal, flagged as not converged (default 150).
    pub min_warmup_bars: usize,
    pub regime: RegimeThresholds,
    pub entry: EntryParams,
    /// Pivot settings for 4h, 1d and 1w, in that order (lbR may differ per timeframe).
    pub pivots: [PivotParams; 3],
}

impl SignalParams {
    pub const DEFAULT: SignalParams = SignalParams {
        rsi_period: 14,
        warmup_bars: 250,
        min_warmup_bars: 150,
        regime: RegimeThresholds::CARDWELL,
        entry: EntryParams { rearm_gap: 5.0 },
        pivots: [PivotParams::TRADINGVIEW; 3],
    };

    /// Pivot settings of a signal timeframe; other intervals use the 4h ones.
    pub fn pivots_for(&self, interval: crate::model::Interval) -> PivotParams {
        use crate::model::Interval;
        match interval {
            Interval::D1 => self.pivots[1],
            Interval::W1 => self.pivots[2],
            _ => self.pivots[0],
        }
    }
}
