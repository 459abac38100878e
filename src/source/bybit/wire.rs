//! Bybit v5's wire formats — REST bodies and public WebSocket frames of the linear (USDT
//! perpetual) category — and their conversion to `model` values. Pure: no I/O, no clock. Every
//! Bybit field name stays in here; outside `source::bybit` only domain values, [`Frame`],
//! [`Listing`], [`RiskTier`], [`TickerBook`] and [`WireError`] are used. Facts and sources:
//! docs/venues/bybit.md.
//!
//! Numbers arrive as decimal strings (times as strings in REST, numbers in WebSocket frames).
//! Each is parsed once, here, and checked: prices finite and positive, sizes finite and not
//! negative, rates finite. A value that fails is a [`WireError`], never a panic.

mod rest;
mod ws;

#[cfg(test)]
mod tests;

pub use rest::{
    Listing, Page, RiskTier, first_tier, is_usdt_perpetual, parse_funding, parse_instruments,
    parse_klines, parse_open_interest, parse_risk_limit,
};
pub use ws::{Ack, Frame, TickerBook, TickerState, parse_frame, ping, subscribe};

use serde_json::error::Category;

use crate::model::{Symbol, TimeMs, Venue};

/// Why a frame or body could not be used. Branch with the question methods.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WireError {
    #[error("JSON ends too early: {reason}")]
    Truncated { reason: String },
    #[error("not JSON: {reason}")]
    Syntax { reason: String },
    #[error("JSON of an unexpected shape: {reason}")]
    Shape { reason: String },
    #[error("unknown topic {topic:?}")]
    UnknownTopic { topic: String },
    #[error("field `{field}` is not a usable number: {text:?}")]
    Number { field: &'static str, text: String },
    #[error("symbol {text:?} is not a contract name liqwave accepts")]
    Symbol { text: String },
    #[error("side {text:?} is neither Buy nor Sell")]
    Side { text: String },
    #[error("inconsistent values: {what}")]
    Inconsistent { what: &'static str },
    /// A REST body with a non-zero `retCode`.
    #[error("Bybit refused the request (retCode {code}): {msg}")]
    Rejected { code: i64, msg: String },
}

/// `retCode` of Bybit's per-UID API rate limit ("Too many visits!").
pub const RATE_LIMIT_CODE: i64 = 10006;

impl WireError {
    /// The text is not JSON, is cut short, or is JSON of the wrong shape.
    pub fn is_malformed(&self) -> bool {
        matches!(
            self,
            WireError::Truncated { .. } | WireError::Syntax { .. } | WireError::Shape { .. }
        )
    }

    /// Well-formed JSON whose values cannot be domain values.
    pub fn is_bad_value(&self) -> bool {
        matches!(
            self,
            WireError::Number { .. }
                | WireError::Symbol { .. }
                | WireError::Side { .. }
                | WireError::Inconsistent { .. }
        )
    }

    /// Bybit answered `retCode != 0` instead of data.
    pub fn is_rejected(&self) -> bool {
        matches!(self, WireError::Rejected { .. })
    }

    /// `retCode 10006`: wait before the next request.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, WireError::Rejected { code, .. } if *code == RATE_LIMIT_CODE)
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

/// The liqwave symbol of a Bybit linear contract name: `BTCUSDT` → `BYBIT:BTCUSDT`; a name with
/// a multiplier prefix (`1000PEPEUSDT`) is kept as it is. `None` for names the domain cannot
/// hold (dated futures such as `BTCUSDT-26DEC25`).
pub fn symbol_of(name: &str) -> Option<Symbol> {
    Symbol::on(Venue::Bybit, name).ok()
}

fn symbol(text: &str) -> Result<Symbol, WireError> {
    symbol_of(text).ok_or_else(|| WireError::Symbol {
        text: text.to_owned(),
    })
}

/// A decimal that must be finite and strictly positive (prices).
fn positive(field: &'static str, text: &str) -> Result<f64, WireError> {
    number(text)
        .filter(|v| *v > 0.0)
        .ok_or_else(|| bad_number(field, text))
}

/// A decimal that must be finite and not negative (sizes, volumes, open interest).
fn non_negative(field: &'static str, text: &str) -> Result<f64, WireError> {
    number(text)
        .filter(|v| *v >= 0.0)
        .ok_or_else(|| bad_number(field, text))
}

/// A decimal that must be finite, of either sign (funding rates).
fn finite(field: &'static str, text: &str) -> Result<f64, WireError> {
    number(text).ok_or_else(|| bad_number(field, text))
}

/// Epoch milliseconds from a decimal string (REST times), not negative.
fn millis(field: &'static str, text: &str) -> Result<TimeMs, WireError> {
    text.parse::<TimeMs>()
        .ok()
        .filter(|t| *t >= 0)
        .ok_or_else(|| bad_number(field, text))
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

/// Documented bodies for tests elsewhere in the crate.
#[cfg(test)]
pub(crate) mod tests_support {
    pub(crate) const INSTRUMENTS: &str = super::tests::REST_INSTRUMENTS;
}
