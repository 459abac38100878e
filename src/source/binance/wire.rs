//! Binance's wire formats, WebSocket frames and REST bodies, and their conversion to `model` values.
//! Pure: no I/O, no clock. Every Binance field name stays in here; only domain values, [`Frame`],
//! [`Contract`] and [`WireError`] are meant to be used outside `source::binance`.
//!
//! Numbers arrive as decimal strings. Each is parsed once, here, into an `f64` and checked: prices
//! are finite and positive, volumes finite and not negative, rates finite. A value that fails is
//! a [`WireError`], never a panic.

mod exchange_info;
mod frame;
mod rest;
mod ws;

#[cfg(test)]
mod tests;

pub use exchange_info::{
    ExchangeInfo, Filter, RateLimit, SymbolInfo, is_usdt_perpetual, parse_exchange_info,
};
pub use frame::parse_frame;
pub use rest::{
    ApiError, FundingRateRow, KlineRow, Millis, OpenInterestHistRow, OpenInterestNow, PremiumIndex,
    parse_api_error, parse_funding_rates, parse_klines, parse_open_interest,
    parse_open_interest_hist, parse_premium_index,
};
pub use ws::{ForceOrderEvent, Kline, KlineEvent, LiquidationOrder, MarkPriceEvent};

use serde_json::error::Category;

use crate::model::{Candle, Interval, Symbol, SymbolEvent, TimeMs};

/// What one WebSocket text frame means for liqwave.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// Market events: a closed bar, mark prices (one per symbol of an all-market array) or a
    /// liquidation.
    Events(Batch),
    /// A kline update of a bar that is still open: nothing is final yet, so nothing is parsed.
    OpenBar,
    /// The server's reply `{"result":…,"id":…}` to a SUBSCRIBE, UNSUBSCRIBE or other request.
    Ack { id: u64 },
    /// A well-formed frame of a stream liqwave does not consume (trades, book tickers, depth).
    Unused,
}

/// Events converted from one frame or body, with what could not be converted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub events: Vec<SymbolEvent>,
    /// Entries for contracts the domain cannot name, skipped on purpose: delivery contracts such
    /// as `BTCUSDT_250627` and non-ASCII names such as `币安人生USDT`.
    pub skipped: usize,
    /// Entries of an all-market array that were unusable; the rest of the batch is still good.
    pub dropped: Vec<WireError>,
}

impl Batch {
    fn one(event: Option<SymbolEvent>) -> Self {
        let mut batch = Batch::default();
        batch.push(Ok(event));
        batch
    }

    fn push(&mut self, entry: Result<Option<SymbolEvent>, WireError>) {
        match entry {
            Ok(Some(event)) => self.events.push(event),
            Ok(None) => self.skipped += 1,
            Err(error) => self.dropped.push(error),
        }
    }
}

/// Why a frame or body could not be used. Branch with the question methods.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WireError {
    #[error("JSON ends too early: {reason}")]
    Truncated { reason: String },
    #[error("not JSON: {reason}")]
    Syntax { reason: String },
    #[error("JSON of an unexpected shape: {reason}")]
    Shape { reason: String },
    #[error("unknown stream {stream:?}")]
    UnknownStream { stream: String },
    #[error("field `{field}` is not a usable number: {text:?}")]
    Number { field: &'static str, text: String },
    #[error("symbol {text:?} is not a contract name liqwave accepts")]
    Symbol { text: String },
    #[error("interval {text:?} is not one liqwave uses")]
    Interval { text: String },
    #[error("side {text:?} is neither BUY nor SELL")]
    Side { text: String },
    #[error("inconsistent values: {what}")]
    Inconsistent { what: &'static str },
    #[error("Binance refused the request (code {code}): {msg}")]
    Rejected {
        code: i64,
        msg: String,
        /// The request id, for a WebSocket reply that carries one.
        id: Option<u64>,
    },
}

impl WireError {
    /// The text is not JSON, is cut short, or is JSON of the wrong shape (missing field, wrong type).
    pub fn is_malformed(&self) -> bool {
        matches!(
            self,
            WireError::Truncated { .. } | WireError::Syntax { .. } | WireError::Shape { .. }
        )
    }

    /// A well-formed frame of a stream this module does not know.
    pub fn is_unknown_stream(&self) -> bool {
        matches!(self, WireError::UnknownStream { .. })
    }

    /// Well-formed JSON whose values cannot be domain values (a number, symbol, interval or side).
    pub fn is_bad_value(&self) -> bool {
        matches!(
            self,
            WireError::Number { .. }
                | WireError::Symbol { .. }
                | WireError::Interval { .. }
                | WireError::Side { .. }
                | WireError::Inconsistent { .. }
        )
    }

    /// Binance answered with an error body `{"code":…,"msg":…}` instead of data.
    pub fn is_rejected(&self) -> bool {
        matches!(self, WireError::Rejected { .. })
    }

    /// Binance's `-1003 TOO_MANY_REQUESTS`: back off before the next request.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, WireError::Rejected { code: -1003, .. })
    }
}

impl From<serde_json::Error> for WireError {
    fn from(e: serde_json::Error) -> Self {
        let reason = e.to_string();
        match e.classify() {
            Category::Eof => WireError::Truncated { reason },
            Category::Syntax => WireError::Syntax { reason },
            Category::Data | Category::Io => WireError::Shape { reason },
        }
    }
}

/// A tradable USDⓈ-M perpetual as the rest of liqwave sees it, from `exchangeInfo`.
#[derive(Debug, Clone, PartialEq)]
pub struct Contract {
    pub symbol: Symbol,
    /// The price increment (`PRICE_FILTER.tickSize`); it changes over the years (BTCUSDT 0.01 in
    /// 2021, 0.1 in 2025), so read it at start.
    pub tick_size: f64,
    /// When the contract was listed (`onboardDate`), when the venue says.
    pub listed_at: Option<TimeMs>,
    /// The asset the contract is on (`BTC`, `1000PEPE`; empty when the venue left it out).
    pub base_asset: String,
    /// The asset it is priced in, `USDT` for every contract liqwave follows.
    pub quote_asset: String,
}

/// A decimal that must be finite and strictly positive (prices, order quantities).
fn positive(field: &'static str, text: &str) -> Result<f64, WireError> {
    number(text)
        .filter(|v| *v > 0.0)
        .ok_or_else(|| bad_number(field, text))
}

/// A decimal that must be finite and not negative (volumes, open interest).
fn non_negative(field: &'static str, text: &str) -> Result<f64, WireError> {
    number(text)
        .filter(|v| *v >= 0.0)
        .ok_or_else(|| bad_number(field, text))
}

/// A decimal that must be finite, of either sign (funding rates).
fn finite(field: &'static str, text: &str) -> Result<f64, WireError> {
    number(text).ok_or_else(|| bad_number(field, text))
}

/// A rate that may be absent or `""` (delivery contracts, old history rows).
fn optional_rate(field: &'static str, text: Option<&str>) -> Result<Option<f64>, WireError> {
    text.filter(|t| !t.is_empty())
        .map(|t| finite(field, t))
        .transpose()
}

fn number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn bad_number(field: &'static str, text: &str) -> WireError {
    WireError::Number {
        field,
        text: text.to_owned(),
    }
}

/// Epoch milliseconds; a negative time is a bad value.
fn millis(field: &'static str, t: i64) -> Result<TimeMs, WireError> {
    if t >= 0 {
        Ok(t)
    } else {
        Err(bad_number(field, &t.to_string()))
    }
}

/// A contract name as a domain symbol; `None` for a real contract the domain cannot name
/// (a delivery contract with `_`, a non-ASCII name), an error for anything else.
fn symbol(text: &str) -> Result<Option<Symbol>, WireError> {
    match text.parse() {
        Ok(symbol) => Ok(Some(symbol)),
        Err(_) if is_foreign_contract(text) => Ok(None),
        Err(_) => Err(WireError::Symbol {
            text: text.to_owned(),
        }),
    }
}

/// A symbol that must be a domain symbol: the answer to a request for one symbol.
fn domain_symbol(text: &str) -> Result<Symbol, WireError> {
    text.parse().map_err(|_| WireError::Symbol {
        text: text.to_owned(),
    })
}

fn is_foreign_contract(text: &str) -> bool {
    let plausible = (2..=64).contains(&text.len())
        && !text.chars().any(|c| c.is_control() || c.is_whitespace());
    plausible && (text.contains('_') || !text.is_ascii())
}

fn interval(text: &str) -> Result<Interval, WireError> {
    text.parse().map_err(|_| WireError::Interval {
        text: text.to_owned(),
    })
}

/// The decimal strings of one bar, in Binance's order: open, high, low, close, base volume,
/// quote volume, taker-buy quote volume.
struct BarText<'a> {
    open: &'a str,
    high: &'a str,
    low: &'a str,
    close: &'a str,
    volume: &'a str,
    quote_volume: &'a str,
    taker_buy_quote: &'a str,
}

/// One bar as a candle: prices positive, volumes not negative, `low ≤ open, close ≤ high`, and
/// the open time on the interval's boundary.
fn candle(interval: Interval, open_time: i64, bar: &BarText<'_>) -> Result<Candle, WireError> {
    let candle = Candle {
        open_time: millis("t", open_time)?,
        open: positive("o", bar.open)?,
        high: positive("h", bar.high)?,
        low: positive("l", bar.low)?,
        close: positive("c", bar.close)?,
        volume: non_negative("v", bar.volume)?,
        quote_volume: Some(non_negative("q", bar.quote_volume)?),
        taker_buy_quote: Some(non_negative("Q", bar.taker_buy_quote)?),
    };
    let inside = |x: f64| candle.low <= x && x <= candle.high;
    if !inside(candle.open) || !inside(candle.close) {
        return Err(WireError::Inconsistent {
            what: "open or close lies outside [low, high]",
        });
    }
    if !interval.is_bar_open(candle.open_time) {
        return Err(WireError::Inconsistent {
            what: "bar open time is not on the interval's boundary",
        });
    }
    Ok(candle)
}
