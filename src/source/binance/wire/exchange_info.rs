//! `GET /fapi/v1/exchangeInfo`: the contract universe (USDT perpetuals that trade) with tick
//! sizes, and the REST rate limits.

use serde::Deserialize;

use super::rest::body;
use super::{Contract, WireError, millis, positive, symbol};
use crate::model::TimeMs;

/// `GET /fapi/v1/exchangeInfo`: the parts liqwave reads, everything else ignored. Raw example
/// (abridged from a real response, 2021-07-22):
///
/// ```json
/// {"timezone":"UTC","serverTime":1626858243909,"futuresType":"U_MARGINED",
///  "rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":2400}],
///  "exchangeFilters":[],"assets":[],
///  "symbols":[{"symbol":"BTCUSDT","pair":"BTCUSDT","contractType":"PERPETUAL",
///    "deliveryDate":4133404800000,"onboardDate":1569398400000,"status":"TRADING",
///    "baseAsset":"BTC","quoteAsset":"USDT","marginAsset":"USDT","pricePrecision":2,
///    "underlyingType":"COIN","filters":[{"minPrice":"556.72","maxPrice":"1000000",
///    "filterType":"PRICE_FILTER","tickSize":"0.01"},{"stepSize":"0.001","filterType":"LOT_SIZE",
///    "maxQty":"1000","minQty":"0.001"}],"orderTypes":["LIMIT"],"timeInForce":["GTC"]}]}
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeInfo {
    pub rate_limits: Vec<RateLimit>,
    pub symbols: Vec<SymbolInfo>,
}

/// One entry of `rateLimits`, e.g. `REQUEST_WEIGHT` 2400 per 1 `MINUTE`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// `REQUEST_WEIGHT`, `ORDERS` or `RAW_REQUESTS`.
    pub rate_limit_type: String,
    /// `SECOND`, `MINUTE` or `DAY`.
    pub interval: String,
    pub interval_num: u32,
    pub limit: u32,
}

impl RateLimit {
    /// The window the limit applies to, if its unit is known.
    pub fn window_ms(&self) -> Option<TimeMs> {
        let unit: TimeMs = match self.interval.as_str() {
            "SECOND" => 1_000,
            "MINUTE" => 60_000,
            "HOUR" => 3_600_000,
            "DAY" => 86_400_000,
            _ => return None,
        };
        Some(unit * TimeMs::from(self.interval_num))
    }
}

/// One entry of `symbols`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SymbolInfo {
    pub symbol: String,
    pub pair: String,
    /// `PERPETUAL`, `CURRENT_QUARTER`, … and, seen in real data, `""`.
    pub contract_type: String,
    /// `TRADING`, `PENDING_TRADING`, `SETTLING`, …
    pub status: String,
    /// `BTC`, `1000PEPE`: what the spot market of the same asset is found by.
    #[serde(default)]
    pub base_asset: String,
    pub quote_asset: String,
    #[serde(default)]
    pub onboard_date: Option<i64>,
    #[serde(default)]
    pub filters: Vec<Filter>,
}

/// One entry of `filters`; only `PRICE_FILTER`'s `tickSize` is read.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    pub filter_type: String,
    #[serde(default)]
    pub tick_size: Option<String>,
}

/// The universe liqwave watches: USDT-quoted perpetuals that are trading now.
pub fn is_usdt_perpetual(info: &SymbolInfo) -> bool {
    info.contract_type == "PERPETUAL" && info.status == "TRADING" && info.quote_asset == "USDT"
}

pub fn parse_exchange_info(text: &str) -> Result<ExchangeInfo, WireError> {
    body(text)
}

impl ExchangeInfo {
    /// The contracts that pass [`is_usdt_perpetual`], or why one cannot be used. Contracts the
    /// domain cannot name (non-ASCII names) are left out.
    pub fn contracts(&self) -> impl Iterator<Item = Result<Contract, WireError>> + '_ {
        self.symbols
            .iter()
            .filter(|info| is_usdt_perpetual(info))
            .filter_map(|info| info.contract().transpose())
    }

    /// The `REQUEST_WEIGHT` limit and its window, e.g. `(2400, 60_000)`.
    pub fn request_weight(&self) -> Option<(u32, TimeMs)> {
        self.rate_limits
            .iter()
            .filter(|l| l.rate_limit_type == "REQUEST_WEIGHT")
            .find_map(|l| Some((l.limit, l.window_ms()?)))
    }
}

impl SymbolInfo {
    fn contract(&self) -> Result<Option<Contract>, WireError> {
        let Some(symbol) = symbol(&self.symbol)? else {
            return Ok(None);
        };
        let tick = self
            .filters
            .iter()
            .find(|f| f.filter_type == "PRICE_FILTER")
            .and_then(|f| f.tick_size.as_deref())
            .ok_or_else(|| WireError::Shape {
                reason: format!("{symbol} has no PRICE_FILTER tickSize"),
            })?;
        let listed_at = self
            .onboard_date
            .map(|t| millis("onboardDate", t))
            .transpose()?;
        Ok(Some(Contract {
            symbol,
            tick_size: positive("tickSize", tick)?,
            listed_at,
            base_asset: self.base_asset.clone(),
            quote_asset: self.quote_asset.clone(),
        }))
    }
}
