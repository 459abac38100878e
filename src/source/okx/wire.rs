//! OKX v5 wire formats — WebSocket frames and REST bodies — and their conversion to `model`
//! values. Pure: no I/O, no clock. Every OKX field name stays in here; only domain values,
//! [`Frame`], [`Contract`], [`Contracts`] and [`WireError`] are used outside it.
//!
//! OKX sends numbers as decimal strings. Each is parsed once, here, and checked: prices finite
//! and positive, sizes and volumes finite and not negative, rates finite. A value that fails is a
//! [`WireError`], never a panic. Sizes in contracts become base-asset amounts with the contract
//! value (`ctVal`) of the instrument.

mod rest;
mod ws;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

pub use rest::{
    FirstTier, OiRow, parse_api_error, parse_candles, parse_funding_history, parse_instruments,
    parse_open_interest, parse_open_interest_history, parse_position_tiers,
};
pub use ws::{Frame, parse_frame};

use serde_json::error::Category;

use crate::model::{Interval, Symbol, TimeMs, Venue};

/// A USDT-margined linear perpetual swap that trades: what the source follows.
#[derive(Debug, Clone, PartialEq)]
pub struct Contract {
    /// OKX's name, `BTC-USDT-SWAP`.
    pub inst_id: String,
    /// Its instrument family, `BTC-USDT` (the key of the position tiers).
    pub inst_family: String,
    /// The canonical symbol, `OKX:BTCUSDT`.
    pub symbol: Symbol,
    /// Base-asset amount of one contract (`ctVal`, e.g. 0.01 BTC).
    pub ct_val: f64,
}

/// The followed contracts by OKX name: frames of other instruments are skipped.
#[derive(Debug, Clone, Default)]
pub struct Contracts {
    by_inst: HashMap<String, Contract>,
}

impl Contracts {
    pub fn new(contracts: &[Contract]) -> Contracts {
        let by_inst = contracts
            .iter()
            .map(|c| (c.inst_id.clone(), c.clone()))
            .collect();
        Contracts { by_inst }
    }

    pub fn get(&self, inst_id: &str) -> Option<&Contract> {
        self.by_inst.get(inst_id)
    }

    pub fn len(&self) -> usize {
        self.by_inst.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_inst.is_empty()
    }
}

/// The canonical symbol of an OKX USDT swap: `BTC-USDT-SWAP` → `OKX:BTCUSDT`. `None` for any
/// other instrument (spot, inverse, delivery) or a name the domain cannot hold.
pub fn symbol_of(inst_id: &str) -> Option<Symbol> {
    let base = inst_id.strip_suffix("-USDT-SWAP")?;
    if base.is_empty() || base.contains('-') {
        return None;
    }
    Symbol::on(Venue::Okx, &format!("{base}USDT")).ok()
}

/// OKX's bar name of an interval. Days and weeks take the UTC-aligned bars (`1Dutc`): OKX's
/// plain `1D`/`1W` open at UTC+8.
pub fn bar_of(interval: Interval) -> &'static str {
    match interval {
        Interval::M1 => "1m",
        Interval::M3 => "3m",
        Interval::M5 => "5m",
        Interval::M15 => "15m",
        Interval::M30 => "30m",
        Interval::H1 => "1H",
        Interval::H4 => "4H",
        Interval::D1 => "1Dutc",
        Interval::W1 => "1Wutc",
    }
}

/// Why a frame or body could not be used. Branch with the question methods.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WireError {
    #[error("not JSON: {reason}")]
    Syntax { reason: String },
    #[error("JSON of an unexpected shape: {reason}")]
    Shape { reason: String },
    #[error("bad value for {field}: {value:?}")]
    Value { field: &'static str, value: String },
    /// A REST body or WebSocket event with an OKX error code (`{"code":"50011",...}`).
    #[error("OKX error {code}: {msg}")]
    Api { code: String, msg: String },
}

impl WireError {
    /// Not JSON, or not the expected structure: a corrupt frame rather than a bad number.
    pub fn is_malformed(&self) -> bool {
        matches!(self, WireError::Syntax { .. } | WireError::Shape { .. })
    }

    /// OKX's "rate limit reached" (50011) or "systems are busy" (50013): wait and try again.
    pub fn is_rate_limit(&self) -> bool {
        matches!(self, WireError::Api { code, .. } if code == "50011" || code == "50013")
    }
}

fn json_error(e: serde_json::Error) -> WireError {
    let reason = e.to_string();
    match e.classify() {
        Category::Data => WireError::Shape { reason },
        Category::Io | Category::Syntax | Category::Eof => WireError::Syntax { reason },
    }
}

fn bad(field: &'static str, value: &str) -> WireError {
    WireError::Value {
        field,
        value: value.chars().take(40).collect(),
    }
}

fn number(field: &'static str, text: &str) -> Result<f64, WireError> {
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| bad(field, text))
}

fn price(field: &'static str, text: &str) -> Result<f64, WireError> {
    number(field, text)
        .ok()
        .filter(|v| *v > 0.0)
        .ok_or_else(|| bad(field, text))
}

fn amount(field: &'static str, text: &str) -> Result<f64, WireError> {
    number(field, text)
        .ok()
        .filter(|v| *v >= 0.0)
        .ok_or_else(|| bad(field, text))
}

fn millis(field: &'static str, text: &str) -> Result<TimeMs, WireError> {
    text.parse::<TimeMs>()
        .ok()
        .filter(|t| (0..=4_102_444_800_000).contains(t))
        .ok_or_else(|| bad(field, text))
}
