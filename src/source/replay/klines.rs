//! Kline CSV files (`klines/<tf>/<SYMBOL>_<tf>.csv[.gz]`): header required, columns found by name.

use std::path::Path;

use super::checks::{PriceTrail, RowLimits, amount, price};
use super::error::{ReplayError, RowError};
use super::lines::{Column, CsvReader, millis, number, optional_number};
use super::report::FileReport;
use crate::model::{Candle, Interval, MarketEvent, Symbol, SymbolEvent, TimeMs};

/// Known columns. Aliases accept Binance's public data-archive headers as they are.
pub(super) const COLUMNS: [Column; 8] = [
    Column::required("open_time_ms", &["open_time"]),
    Column::required("open", &[]),
    Column::required("high", &[]),
    Column::required("low", &[]),
    Column::required("close", &[]),
    Column::required("volume", &[]),
    Column::optional("quote_volume", &[]),
    Column::optional("taker_buy_quote", &["taker_buy_quote_volume"]),
];

/// Turns a kline file's rows into candle events. A row outside `limits` (its time, the
/// `interval` grid, a price jump) is malformed. Rows whose open time is not after the latest
/// one seen are kept and counted in `report.out_of_order`.
pub(super) struct KlineRows {
    symbol: Symbol,
    interval: Interval,
    limits: RowLimits,
    trail: PriceTrail,
    latest: TimeMs,
}

impl KlineRows {
    pub(super) fn new(symbol: Symbol, interval: Interval, limits: &RowLimits) -> Self {
        KlineRows {
            symbol,
            interval,
            limits: *limits,
            trail: PriceTrail::new(limits.max_price_jump),
            latest: TimeMs::MIN,
        }
    }

    pub(super) fn event(
        &mut self,
        fields: [&str; 8],
        report: &mut FileReport,
    ) -> Result<SymbolEvent, RowError> {
        let candle = candle(fields)?;
        self.limits.candle(&candle, self.interval)?;
        self.trail.step(&candle)?;
        if candle.open_time <= self.latest {
            report.out_of_order += 1;
        }
        self.latest = self.latest.max(candle.open_time);
        Ok(SymbolEvent {
            symbol: self.symbol.clone(),
            event: MarketEvent::Candle {
                interval: self.interval,
                candle,
            },
        })
    }
}

/// Reads a whole kline file: its candle events in file order.
pub(super) fn read(
    path: &Path,
    symbol: &Symbol,
    interval: Interval,
    limits: &RowLimits,
    report: &mut FileReport,
) -> Result<Vec<SymbolEvent>, ReplayError> {
    let mut csv = CsvReader::open(path, &COLUMNS)?;
    let mut rows = KlineRows::new(symbol.clone(), interval, limits);
    let mut out = Vec::new();
    while let Some(event) = csv.next_event(report, |f, r| rows.event(f, r))? {
        out.push(event);
    }
    Ok(out)
}

/// One row as a candle, or why it is not one (format and ranges of the row alone).
pub(super) fn candle([t, o, h, l, c, v, qv, tbq]: [&str; 8]) -> Result<Candle, RowError> {
    let candle = Candle {
        open_time: millis(t, "open_time_ms")?,
        open: price(number(o, "open")?, "open")?,
        high: price(number(h, "high")?, "high")?,
        low: price(number(l, "low")?, "low")?,
        close: price(number(c, "close")?, "close")?,
        volume: amount(number(v, "volume")?, "volume")?,
        quote_volume: optional_volume(qv, "quote_volume")?,
        taker_buy_quote: optional_volume(tbq, "taker_buy_quote")?,
    };
    if candle.high < candle.low {
        return Err(RowError::HighBelowLow);
    }
    let inside = |x: f64| candle.low <= x && x <= candle.high;
    if !inside(candle.open) || !inside(candle.close) {
        return Err(RowError::OutsideRange);
    }
    Ok(candle)
}

/// An optional volume: empty (or a column the header lacks) is `None`.
fn optional_volume(field: &str, column: &'static str) -> Result<Option<f64>, RowError> {
    optional_number(field, column)?
        .map(|v| amount(v, column))
        .transpose()
}
