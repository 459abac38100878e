//! Plausibility of recorded values: times inside the era of the recordings, prices and amounts in
//! sane ranges, no impossible price jumps between bars. Pure: `now` is an argument, read by the
//! edge that builds the options; nothing here reads the clock.

use super::error::RowError;
use crate::model::{Candle, DAY_MS, Interval, TimeMs};

/// 2017-01-01 00:00 UTC, before Binance's first kline: an earlier time is a corrupt row.
pub const EARLIEST_MS: TimeMs = 1_483_228_800_000;
/// Orders of magnitude above any traded price (BTC is about 1e5). Bounds the heatmap's price grid,
/// whose cost grows with the range it spans.
pub const MAX_PRICE: f64 = 1e9;
/// Orders of magnitude above any bar's volume, open interest or notional, and far below where
/// sums of `f64` overflow (a week of 5m volumes is 2016 of them).
pub const MAX_AMOUNT: f64 = 1e18;
/// A funding rate beyond ±100 % per interval is not a rate Binance prints (its caps are a few %).
pub const MAX_FUNDING_RATE: f64 = 1.0;
/// Default of `[replay] max_price_jump`.
pub const DEFAULT_MAX_PRICE_JUMP: f64 = 10.0;

/// The bounds a row's values must keep; a row outside them is malformed (skipped and counted).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowLimits {
    /// The latest plausible time: a day after the `now` the caller read.
    pub latest: TimeMs,
    /// A bar reaching beyond this factor of the previous bar's close (either way), or whose high
    /// is more than this factor of its low, is malformed. Above 1.
    pub max_price_jump: f64,
}

impl RowLimits {
    pub fn new(now: TimeMs, max_price_jump: f64) -> Self {
        RowLimits {
            latest: now.saturating_add(DAY_MS),
            max_price_jump,
        }
    }

    /// A time between 2017-01-01 and a day after now.
    pub(super) fn time(&self, time: TimeMs, column: &'static str) -> Result<TimeMs, RowError> {
        if (EARLIEST_MS..=self.latest).contains(&time) {
            Ok(time)
        } else {
            Err(RowError::TimeOutOfRange { column, time })
        }
    }

    /// A bar in range on its own: time, grid and the spread of its prices. Its fields are already
    /// finite, positive and ordered (`low ≤ open, close ≤ high`).
    pub(super) fn candle(&self, c: &Candle, grid: Interval) -> Result<(), RowError> {
        self.time(c.open_time, "open_time_ms")?;
        if !grid.is_bar_open(c.open_time) {
            return Err(RowError::OffGrid {
                time: c.open_time,
                interval: grid,
            });
        }
        if c.high > c.low * self.max_price_jump {
            return Err(RowError::PriceJump { from: "its low" });
        }
        Ok(())
    }
}

/// A price: finite, positive and below [`MAX_PRICE`].
pub(super) fn price(value: f64, column: &'static str) -> Result<f64, RowError> {
    positive(value, column)?;
    below(value, MAX_PRICE, column)
}

/// A positive amount (a liquidation's quantity): finite, positive and below [`MAX_AMOUNT`].
pub(super) fn positive_amount(value: f64, column: &'static str) -> Result<f64, RowError> {
    positive(value, column)?;
    below(value, MAX_AMOUNT, column)
}

/// A volume, open interest or notional: finite, not negative and below [`MAX_AMOUNT`].
pub(super) fn amount(value: f64, column: &'static str) -> Result<f64, RowError> {
    if !(value.is_finite() && value >= 0.0) {
        return Err(RowError::Negative { column });
    }
    below(value, MAX_AMOUNT, column)
}

/// A funding rate: finite and within ±[`MAX_FUNDING_RATE`].
pub(super) fn funding_rate(value: f64, column: &'static str) -> Result<f64, RowError> {
    if !value.is_finite() {
        return Err(RowError::Number { column });
    }
    below(value.abs(), MAX_FUNDING_RATE, column).map(|_| value)
}

fn positive(value: f64, column: &'static str) -> Result<f64, RowError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(RowError::NotPositive { column })
    }
}

fn below(value: f64, max: f64, column: &'static str) -> Result<f64, RowError> {
    if value <= max {
        Ok(value)
    } else {
        Err(RowError::TooLarge { column })
    }
}

/// The price level of one kline series, for the jump check. The reference is the close of the
/// last accepted bar. A bar that jumps from it but agrees with the bar rejected just before is a
/// new level (two bars in a row say so: a relisting after a gap, or a corrupt first row), so it is
/// accepted and a lone outlier costs one row, never the rest of the file.
#[derive(Debug)]
pub(super) struct PriceTrail {
    factor: f64,
    close: Option<f64>,
    rejected: Option<f64>,
}

impl PriceTrail {
    pub(super) fn new(factor: f64) -> Self {
        PriceTrail {
            factor,
            close: None,
            rejected: None,
        }
    }

    /// Accepts the bar and moves the reference to its close, or says it jumped.
    pub(super) fn step(&mut self, c: &Candle) -> Result<(), RowError> {
        let within = |r: f64| c.high <= r * self.factor && c.low * self.factor >= r;
        let jumped = self.close.is_some_and(|r| !within(r));
        if jumped && !self.rejected.is_some_and(within) {
            self.rejected = Some(c.close);
            return Err(RowError::PriceJump {
                from: "the previous close",
            });
        }
        self.close = Some(c.close);
        self.rejected = None;
        Ok(())
    }
}
