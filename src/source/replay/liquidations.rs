//! Recorded forced liquidations (`liquidations/*.csv[.gz]`, `liquidations/*.jsonl[.gz]`).
//!
//! CSV rows have no header: `s,S,o,f,q,p,ap,X,l,z,T[,usd_size]`, the `o` fields of Binance's
//! `forceOrder` event in documented order. JSONL lines are either the bare `o` object
//! (`{"s":"BTCUSDT","S":"SELL","q":"0.014","p":"9910","ap":"9910","z":"0.014","T":1568014460893}`)
//! or the whole event (`{"e":"forceOrder","E":..,"o":{..}}`); numbers may be strings or numbers.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::checks::{RowLimits, positive_amount, price};
use super::error::{ReplayError, RowError};
use super::lines::LineReader;
use super::report::FileReport;
use crate::model::{Liquidation, MarketEvent, Side, Symbol, SymbolEvent, TimeMs};

/// The loaded symbols by name, so rows can be matched without allocating.
pub(super) type Universe = HashMap<String, Symbol>;

/// The loaded symbols by their text, as rows name them.
pub(super) fn universe<'a>(symbols: impl IntoIterator<Item = &'a Symbol>) -> Universe {
    (symbols.into_iter())
        .map(|s| (s.as_str().to_owned(), s.clone()))
        .collect()
}

/// The fields of one order that the mapping uses, however they were written.
#[derive(Debug, Default)]
struct RawOrder<'a> {
    symbol: &'a str,
    side: &'a str,
    q: Option<f64>,
    p: Option<f64>,
    ap: Option<f64>,
    z: Option<f64>,
    time: Option<TimeMs>,
}

/// What a well-formed row turned out to be.
#[derive(Debug, PartialEq)]
pub(super) enum Row {
    Event(Symbol, Liquidation),
    OutsideUniverse,
    /// A delivery contract such as `ETH_250627`: not a perpetual, never loaded.
    NonPerpetual,
}

/// Appends one liquidation event per valid row whose symbol is in `universe`. A row that repeats
/// an earlier one of the file (same symbol, side, time, price and quantity) is counted and
/// dropped: recordings made by two writers at once hold every print twice, and Binance sends at
/// most one print per symbol per second, so two equal prints are one. A print timed outside
/// `limits` is malformed.
pub(super) fn read(
    path: &Path,
    universe: &Universe,
    limits: &RowLimits,
    out: &mut Vec<SymbolEvent>,
    report: &mut FileReport,
) -> Result<(), ReplayError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let jsonl = name.ends_with(".jsonl") || name.ends_with(".jsonl.gz");
    let mut lines = LineReader::open(path)?;
    let mut buf = String::new();
    let mut seen = HashSet::new();
    while let Some((line, text)) = lines.next_line()? {
        let is_header = |t: &str| line == 1 && t.starts_with("s,S,");
        let row = match text {
            Ok(t) if jsonl => json_row(t, universe, &mut buf),
            Ok(t) if is_header(t) => continue,
            Ok(t) => csv_row(t, universe, &mut buf),
            Err(e) => Err(e),
        };
        match row {
            Ok(Row::Event(symbol, liquidation)) => {
                if let Err(error) = limits.time(liquidation.time, "T") {
                    report.malformed(line, error);
                    continue;
                }
                let l = &liquidation;
                let key = (
                    symbol.clone(),
                    l.time,
                    l.side,
                    l.price.to_bits(),
                    l.quantity.to_bits(),
                );
                if !seen.insert(key) {
                    report.duplicates += 1;
                    continue;
                }
                report.events += 1;
                out.push(SymbolEvent {
                    symbol,
                    event: MarketEvent::Liquidation(liquidation),
                });
            }
            Ok(Row::OutsideUniverse) => report.outside_universe += 1,
            Ok(Row::NonPerpetual) => report.non_perpetual += 1,
            Err(error) => report.malformed(line, error),
        }
    }
    Ok(())
}

/// One headerless CSV row: `s,S,o,f,q,p,ap,X,l,z,T` and an optional trailing `usd_size`.
pub(super) fn csv_row(line: &str, universe: &Universe, buf: &mut String) -> Result<Row, RowError> {
    let mut f = [""; 12];
    let mut found = 0;
    for field in line.split(',') {
        if let Some(slot) = f.get_mut(found) {
            *slot = field;
        }
        found += 1;
    }
    if !(11..=12).contains(&found) {
        return Err(RowError::ColumnCount {
            expected: 12,
            found,
        });
    }
    let raw = RawOrder {
        symbol: f[0],
        side: f[1],
        q: f[4].parse().ok(),
        p: f[5].parse().ok(),
        ap: f[6].parse().ok(),
        z: f[9].parse().ok(),
        time: f[10].parse().ok(),
    };
    classify(&raw, universe, buf)
}

/// The `o` object of a `forceOrder` event; other fields are ignored.
#[derive(Deserialize)]
struct JsonOrder {
    s: String,
    #[serde(rename = "S")]
    side: String,
    #[serde(default)]
    q: Value,
    #[serde(default)]
    p: Value,
    #[serde(default)]
    ap: Value,
    #[serde(default)]
    z: Value,
    #[serde(rename = "T", default)]
    time: Value,
}

/// A whole `forceOrder` event or just its order object.
#[derive(Deserialize)]
#[serde(untagged)]
enum JsonLine {
    Event { o: JsonOrder },
    Order(JsonOrder),
}

/// One JSONL line.
pub(super) fn json_row(line: &str, universe: &Universe, buf: &mut String) -> Result<Row, RowError> {
    let (JsonLine::Event { o } | JsonLine::Order(o)) =
        serde_json::from_str(line).map_err(|e| RowError::Json {
            reason: e.to_string(),
        })?;
    let number = |v: &Value| match v {
        Value::String(s) => s.parse().ok(),
        v => v.as_f64(),
    };
    let time = match &o.time {
        Value::String(s) => s.parse().ok(),
        v => v.as_i64(),
    };
    let raw = RawOrder {
        symbol: &o.s,
        side: &o.side,
        q: number(&o.q),
        p: number(&o.p),
        ap: number(&o.ap),
        z: number(&o.z),
        time,
    };
    classify(&raw, universe, buf)
}

/// Maps an order to a liquidation of a loaded symbol. The order side is the closing order's, so
/// SELL closed a long. Price is the average fill `ap` when it is a positive number, else the order
/// price `p`; quantity is the filled `z` when positive, else the order quantity `q`.
fn classify(raw: &RawOrder<'_>, universe: &Universe, buf: &mut String) -> Result<Row, RowError> {
    let name = normalise_symbol(raw.symbol, buf);
    let Some(symbol) = universe.get(name) else {
        let plausible =
            !raw.symbol.trim().is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric());
        return if name.contains('_') {
            Ok(Row::NonPerpetual)
        } else if plausible {
            Ok(Row::OutsideUniverse)
        } else {
            Err(RowError::Symbol {
                found: raw.symbol.to_owned(),
            })
        };
    };
    let side = match raw.side.trim() {
        s if s.eq_ignore_ascii_case("SELL") => Side::Long,
        s if s.eq_ignore_ascii_case("BUY") => Side::Short,
        s => {
            return Err(RowError::Side {
                found: s.to_owned(),
            });
        }
    };
    let usable = |v: &f64| v.is_finite() && *v > 0.0;
    let avg_or_order = raw.ap.filter(usable).or(raw.p);
    let price = price(avg_or_order.ok_or(RowError::Number { column: "p" })?, "p")?;
    let filled_or_order = raw.z.filter(usable).or(raw.q);
    let quantity = positive_amount(
        filled_or_order.ok_or(RowError::Number { column: "q" })?,
        "q",
    )?;
    let time = raw.time.ok_or(RowError::Number { column: "T" })?;
    Ok(Row::Event(
        symbol.clone(),
        Liquidation {
            time,
            side,
            price,
            quantity,
        },
    ))
}

/// The recording stripped `USDT` from symbols (`BTC` is `BTCUSDT`): upper-case the name and append
/// `USDT` unless it already ends in a quote asset (`USDT`, or `USDC` for USDC-margined contracts).
pub(super) fn normalise_symbol<'b>(raw: &str, buf: &'b mut String) -> &'b str {
    buf.clear();
    buf.extend(raw.trim().chars().map(|c| c.to_ascii_uppercase()));
    let quoted = buf.ends_with("USDT") || (buf.len() > 4 && buf.ends_with("USDC"));
    if !quoted {
        buf.push_str("USDT");
    }
    buf
}
