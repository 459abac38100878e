//! Per-symbol series besides klines: funding prints (`funding/<SYMBOL>_funding.csv`) and the
//! Binance 5m metrics archive (`oi/<SYMBOL>_metrics_5m.csv`), from which open interest is taken.

use super::checks::{RowLimits, amount, funding_rate};
use super::error::RowError;
use super::lines::{Column, millis, number, optional_number};
use crate::model::{
    Funding, Interval, MINUTE_MS, MarketEvent, OpenInterest, Symbol, SymbolEvent, TimeMs, parse_utc,
};

pub(super) const FUNDING_COLUMNS: [Column; 2] = [
    Column::required("funding_time_ms", &["calc_time", "funding_time"]),
    Column::required("funding_rate", &["last_funding_rate"]),
];

pub(super) const OI_COLUMNS: [Column; 4] = [
    Column::required("create_time", &[]),
    Column::optional("symbol", &[]),
    Column::required("sum_open_interest", &[]),
    Column::optional("sum_open_interest_value", &[]),
];

/// The period of a metrics row. A row stamped `t` describes [t, t + 5m) and is known at its end.
const METRICS_PERIOD_MS: TimeMs = 5 * MINUTE_MS;

/// Turns a funding file's rows into funding events, at each row's funding time. Funding times
/// carry a few milliseconds of offset (`1741334400001`), so they are not checked against a grid.
pub(super) struct FundingRows {
    symbol: Symbol,
    limits: RowLimits,
}

impl FundingRows {
    pub(super) fn new(symbol: Symbol, limits: &RowLimits) -> Self {
        FundingRows {
            symbol,
            limits: *limits,
        }
    }

    pub(super) fn event(&mut self, [t, rate]: [&str; 2]) -> Result<SymbolEvent, RowError> {
        let rate = funding_rate(number(rate, "funding_rate")?, "funding_rate")?;
        let time = (self.limits).time(millis(t, "funding_time_ms")?, "funding_time_ms")?;
        Ok(SymbolEvent {
            symbol: self.symbol.clone(),
            event: MarketEvent::Funding(Funding { time, rate }),
        })
    }
}

/// Turns a metrics file's rows into open-interest events, timed at the END of the row's 5m bar
/// (`create_time + 5 min`): the value is that bar's closing OI, so using it earlier would be
/// look-ahead. A stamp off the 5m grid, or another symbol's row, is malformed.
pub(super) struct OiRows {
    symbol: Symbol,
    limits: RowLimits,
}

impl OiRows {
    pub(super) fn new(symbol: Symbol, limits: &RowLimits) -> Self {
        OiRows {
            symbol,
            limits: *limits,
        }
    }

    pub(super) fn event(
        &mut self,
        [stamp, row_symbol, oi, value]: [&str; 4],
    ) -> Result<SymbolEvent, RowError> {
        if !row_symbol.is_empty() && !row_symbol.eq_ignore_ascii_case(self.symbol.as_str()) {
            return Err(RowError::SymbolMismatch {
                found: row_symbol.to_owned(),
            });
        }
        let stamp = parse_utc(stamp).ok_or(RowError::DateTime {
            column: "create_time",
        })?;
        let stamp = self.limits.time(stamp, "create_time")?;
        if !Interval::M5.is_bar_open(stamp) {
            return Err(RowError::OffGrid {
                time: stamp,
                interval: Interval::M5,
            });
        }
        let contracts = amount(number(oi, "sum_open_interest")?, "sum_open_interest")?;
        let value_usd = optional_number(value, "sum_open_interest_value")?
            .map(|v| amount(v, "sum_open_interest_value"))
            .transpose()?;
        Ok(SymbolEvent {
            symbol: self.symbol.clone(),
            event: MarketEvent::OpenInterest(OpenInterest {
                time: stamp + METRICS_PERIOD_MS,
                contracts,
                value_usd,
            }),
        })
    }
}
