//! Per-symbol series besides klines: funding prints (`funding/<SYMBOL>_funding.csv`) and the
//! Binance 5m metrics archive (`oi/<SYMBOL>_metrics_5m.csv`), from which open interest is taken.

use std::path::Path;

use super::error::{ReplayError, RowError};
use super::lines::{Column, millis, number, optional_number, read_csv, volume};
use super::report::FileReport;
use crate::model::{
    DAY_MS, Funding, HOUR_MS, MINUTE_MS, MarketEvent, OpenInterest, Symbol, SymbolEvent, TimeMs,
};

const FUNDING_COLUMNS: [Column; 2] = [
    Column::required("funding_time_ms", &["calc_time", "funding_time"]),
    Column::required("funding_rate", &["last_funding_rate"]),
];

const OI_COLUMNS: [Column; 4] = [
    Column::required("create_time", &[]),
    Column::optional("symbol", &[]),
    Column::required("sum_open_interest", &[]),
    Column::optional("sum_open_interest_value", &[]),
];

/// The period of a metrics row. A row stamped `t` describes [t, t + 5m) and is known at its end.
const METRICS_PERIOD_MS: TimeMs = 5 * MINUTE_MS;

/// Appends one funding event per valid row, at the row's funding time.
pub(super) fn read_funding(
    path: &Path,
    symbol: &Symbol,
    out: &mut Vec<SymbolEvent>,
    report: &mut FileReport,
) -> Result<(), ReplayError> {
    read_csv(path, &FUNDING_COLUMNS, report, |[t, rate]| {
        let rate = number(rate, "funding_rate")?;
        if !rate.is_finite() {
            return Err(RowError::Number {
                column: "funding_rate",
            });
        }
        let time = millis(t, "funding_time_ms")?;
        out.push(SymbolEvent {
            symbol: symbol.clone(),
            event: MarketEvent::Funding(Funding { time, rate }),
        });
        Ok(())
    })
}

/// Appends one open-interest event per valid row, timed at the END of the row's 5m bar
/// (`create_time + 5 min`): the value is that bar's closing OI, so using it earlier would be
/// look-ahead.
pub(super) fn read_open_interest(
    path: &Path,
    symbol: &Symbol,
    out: &mut Vec<SymbolEvent>,
    report: &mut FileReport,
) -> Result<(), ReplayError> {
    read_csv(
        path,
        &OI_COLUMNS,
        report,
        |[stamp, row_symbol, oi, value]| {
            if !row_symbol.is_empty() && !row_symbol.eq_ignore_ascii_case(symbol.as_str()) {
                return Err(RowError::SymbolMismatch {
                    found: row_symbol.to_owned(),
                });
            }
            let stamp = utc_datetime(stamp).ok_or(RowError::DateTime {
                column: "create_time",
            })?;
            let contracts = volume(number(oi, "sum_open_interest")?, "sum_open_interest")?;
            let value_usd = optional_number(value, "sum_open_interest_value")?
                .map(|v| volume(v, "sum_open_interest_value"))
                .transpose()?;
            out.push(SymbolEvent {
                symbol: symbol.clone(),
                event: MarketEvent::OpenInterest(OpenInterest {
                    time: stamp + METRICS_PERIOD_MS,
                    contracts,
                    value_usd,
                }),
            });
            Ok(())
        },
    )
}

/// Parses `YYYY-MM-DD HH:MM:SS` (UTC) to epoch milliseconds; `None` unless it is a real instant.
pub(super) fn utc_datetime(s: &str) -> Option<TimeMs> {
    let b = s.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let field = |from: usize, to: usize| -> Option<i64> {
        b[from..to].iter().try_fold(0i64, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
        })
    };
    let (year, month, day) = (field(0, 4)?, field(5, 7)?, field(8, 10)?);
    let (hour, minute, second) = (field(11, 13)?, field(14, 16)?, field(17, 19)?);
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    valid.then(|| {
        days_from_civil(year, month, day) * DAY_MS
            + hour * HOUR_MS
            + minute * MINUTE_MS
            + second * 1000
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub(super) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

pub(super) fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}
