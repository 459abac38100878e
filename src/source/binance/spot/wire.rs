//! The spot market's wire formats (research: docs/venues/binance-spot.md): `GET /api/v3/exchangeInfo`
//! symbols, `GET /api/v3/klines` rows and `<symbol>@kline_1h` combined-stream frames. The kline
//! shapes are the perpetuals' own (the same 12-field row, the same `k` object), so they go through
//! the shared `wire` parsers and are only narrowed here to closed hourly bars. Pure: no I/O, no
//! clock; Binance field names stay in here.

use std::borrow::Cow;

use serde::Deserialize;

use crate::model::{Candle, Interval, MarketEvent, Symbol, SymbolEvent, TimeMs};
use crate::source::binance::wire::{ApiError, Frame, WireError, parse_frame, parse_klines};

/// The spot bars liqwave follows.
pub const SPOT_INTERVAL: Interval = Interval::H1;

/// One spot market from `exchangeInfo`.
#[derive(Debug, Clone, PartialEq)]
pub struct SpotMarket {
    pub symbol: Symbol,
    pub base: String,
    pub quote: String,
    /// `status` is `TRADING` (not `BREAK`, `HALT`, …).
    pub trading: bool,
}

/// `GET /api/v3/exchangeInfo`, the parts read. Raw example (abridged, Binance docs):
///
/// ```json
/// {"timezone":"UTC","serverTime":1565246363776,"rateLimits":[],"exchangeFilters":[],
///  "symbols":[{"symbol":"ETHBTC","status":"TRADING","baseAsset":"ETH","baseAssetPrecision":8,
///    "quoteAsset":"BTC","quotePrecision":8,"orderTypes":["LIMIT"],"filters":[]}]}
/// ```
#[derive(Debug, Deserialize)]
struct ExchangeInfo<'a> {
    #[serde(borrow)]
    symbols: Vec<SymbolInfo<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SymbolInfo<'a> {
    #[serde(borrow)]
    symbol: Cow<'a, str>,
    #[serde(borrow)]
    status: Cow<'a, str>,
    #[serde(borrow)]
    base_asset: Cow<'a, str>,
    #[serde(borrow)]
    quote_asset: Cow<'a, str>,
}

/// The spot markets of an `exchangeInfo` body. Symbols the domain cannot name (non-ASCII names
/// exist on spot) are left out: no perpetual can map to them.
pub fn parse_spot_exchange_info(text: &str) -> Result<Vec<SpotMarket>, WireError> {
    let info: ExchangeInfo<'_> = body(text)?;
    Ok(info
        .symbols
        .iter()
        .filter_map(|s| {
            Some(SpotMarket {
                symbol: s.symbol.parse().ok()?,
                base: s.base_asset.as_ref().to_owned(),
                quote: s.quote_asset.as_ref().to_owned(),
                trading: s.status == "TRADING",
            })
        })
        .collect())
}

/// The closed hourly bars of a `GET /api/v3/klines` body (the bar still forming at `now` is left
/// out): the perpetuals' row, parsed by the shared parser.
pub fn parse_spot_klines(text: &str, now: TimeMs) -> Result<Vec<Candle>, WireError> {
    parse_klines(text, SPOT_INTERVAL, now)
}

/// A closed hourly bar of a spot market, before it is given to its perpetual.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpotBar<'a> {
    pub spot: &'a Symbol,
    pub candle: Candle,
}

/// The closed hourly spot bar an event of the spot streams carries. The streams' frames go
/// through the shared [`parse_frame`]; anything but a 1h candle is an error here.
pub fn spot_bar(event: &SymbolEvent) -> Result<SpotBar<'_>, WireError> {
    match &event.event {
        MarketEvent::Candle { interval, candle } if *interval == SPOT_INTERVAL => Ok(SpotBar {
            spot: &event.symbol,
            candle: *candle,
        }),
        MarketEvent::Candle { interval, .. } => Err(WireError::Interval {
            text: interval.as_str().to_owned(),
        }),
        _ => Err(WireError::Inconsistent {
            what: "a spot stream carried something other than a kline",
        }),
    }
}

/// One text frame of the spot streams: `Some` closed hourly bar, `None` for a bar still open, a
/// reply to a request or a stream liqwave does not read. What the live path does, in one call.
pub fn parse_spot_frame(text: &str) -> Result<Option<(Symbol, Candle)>, WireError> {
    match parse_frame(text)? {
        Frame::Events(batch) => {
            if let Some(error) = batch.dropped.into_iter().next() {
                return Err(error);
            }
            let Some(event) = batch.events.first() else {
                return Ok(None);
            };
            let bar = spot_bar(event)?;
            Ok(Some((bar.spot.clone(), bar.candle)))
        }
        Frame::OpenBar | Frame::Ack { .. } | Frame::Unused => Ok(None),
    }
}

/// Deserialises a body; when it does not fit but is Binance's error body, that is the error.
fn body<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, WireError> {
    serde_json::from_str(text).map_err(|e| match serde_json::from_str::<ApiError>(text) {
        Ok(api) => api.into(),
        Err(_) => e.into(),
    })
}

#[cfg(test)]
mod tests;
