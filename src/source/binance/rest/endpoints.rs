//! The endpoints liqwave reads, each with its documented weight (binance-api.md §2), parsed
//! by the wire module into domain values. Owns the query parameters and the costs; must never
//! let a Binance field name out (only `wire` types and domain values leave).

use super::{Request, RestClient, RestError};
use crate::model::{Candle, Interval, Symbol, SymbolEvent, TimeMs};
use crate::source::binance::budget::{Cost, Pool};
use crate::source::binance::wire::{
    Batch, ExchangeInfo, WireError, parse_exchange_info, parse_funding_rates, parse_klines,
    parse_open_interest, parse_open_interest_hist, parse_premium_index,
};

/// Most klines per request.
pub const KLINES_MAX: u16 = 1500;
/// Most open-interest history rows per request.
pub const OPEN_INTEREST_HIST_MAX: u16 = 500;
/// Most funding rows per request.
pub const FUNDING_MAX: u16 = 1000;

/// The weight of `GET /fapi/v1/klines` for `limit`: [1,100) → 1, [100,500) → 2, [500,1000] → 5,
/// above → 10 (the documented bands; measurements suggest the top edges are cheaper, which only
/// makes us conservative).
pub fn klines_weight(limit: u16) -> u32 {
    match limit {
        0..100 => 1,
        100..500 => 2,
        500..=1000 => 5,
        _ => 10,
    }
}

impl RestClient {
    /// `GET /fapi/v1/exchangeInfo` (weight 1). A `REQUEST_WEIGHT` limit below the configured one
    /// lowers the budget.
    pub async fn exchange_info(&self) -> Result<ExchangeInfo, RestError> {
        let req = request("/fapi/v1/exchangeInfo", Cost::weight(1), None);
        let (body, _) = self.get(&req).await?;
        let info = parse_exchange_info(&body).map_err(|e| unusable(req.endpoint, e))?;
        let window = self.inner.options.budget.window_ms;
        if let Some((limit, ms)) = info.request_weight()
            && ms == window
        {
            self.budget().learn_weight_limit(limit);
        }
        Ok(info)
    }

    /// `GET /fapi/v1/klines`: the closed bars among at most `limit` (1..=1500) bars with open
    /// times in `[start, end]`; without `start`, the latest ones. The bar still forming is left
    /// out.
    pub async fn klines(
        &self,
        symbol: &Symbol,
        interval: Interval,
        start: Option<TimeMs>,
        end: Option<TimeMs>,
        limit: u16,
    ) -> Result<Vec<Candle>, RestError> {
        let limit = limit.clamp(1, KLINES_MAX);
        let mut req = request(
            "/fapi/v1/klines",
            Cost::weight(klines_weight(limit)),
            Some(symbol),
        );
        req.query.push(("interval", interval.as_str().to_owned()));
        push_range(&mut req, start, end, limit);
        let (body, now) = self.get(&req).await?;
        parse_klines(&body, interval, now).map_err(|e| unusable(req.endpoint, e))
    }

    /// `GET /fapi/v1/openInterest` (weight 1): open interest now, in contracts.
    pub async fn open_interest(&self, symbol: &Symbol) -> Result<SymbolEvent, RestError> {
        let req = request("/fapi/v1/openInterest", Cost::weight(1), Some(symbol));
        let (body, _) = self.get(&req).await?;
        parse_open_interest(&body).map_err(|e| unusable(req.endpoint, e))
    }

    /// `GET /futures/data/openInterestHist` (weight 0, 1000 requests per 5 minutes, latest 30
    /// days): at most `limit` (1..=500) rows of `period` bars stamped in `[start, end]`, each timed
    /// at the end of its bar.
    pub async fn open_interest_hist(
        &self,
        symbol: &Symbol,
        period: Interval,
        start: Option<TimeMs>,
        end: Option<TimeMs>,
        limit: u16,
    ) -> Result<Vec<SymbolEvent>, RestError> {
        let limit = limit.clamp(1, OPEN_INTEREST_HIST_MAX);
        let cost = Cost::pooled(0, Pool::FuturesData);
        let mut req = request("/futures/data/openInterestHist", cost, Some(symbol));
        req.query.push(("period", period.as_str().to_owned()));
        push_range(&mut req, start, end, limit);
        let (body, _) = self.get(&req).await?;
        parse_open_interest_hist(&body, period).map_err(|e| unusable(req.endpoint, e))
    }

    /// `GET /fapi/v1/fundingRate` (500 requests per 5 minutes; counted as weight 1 too): at most
    /// `limit` (1..=1000) settled fundings from `start`, or the latest ones.
    pub async fn funding_rates(
        &self,
        symbol: &Symbol,
        start: Option<TimeMs>,
        limit: u16,
    ) -> Result<Vec<SymbolEvent>, RestError> {
        let limit = limit.clamp(1, FUNDING_MAX);
        let cost = Cost::pooled(1, Pool::Funding);
        let mut req = request("/fapi/v1/fundingRate", cost, Some(symbol));
        push_range(&mut req, start, None, limit);
        let (body, _) = self.get(&req).await?;
        parse_funding_rates(&body).map_err(|e| unusable(req.endpoint, e))
    }

    /// `GET /fapi/v1/premiumIndex` for every symbol (weight 10): mark prices with the coming
    /// funding rates, as mark events.
    pub async fn premium_index(&self) -> Result<Batch, RestError> {
        let req = request("/fapi/v1/premiumIndex", Cost::weight(10), None);
        let (body, _) = self.get(&req).await?;
        parse_premium_index(&body).map_err(|e| unusable(req.endpoint, e))
    }
}

fn request<'a>(endpoint: &'static str, cost: Cost, symbol: Option<&'a Symbol>) -> Request<'a> {
    let query = symbol
        .map(|s| ("symbol", s.as_str().to_owned()))
        .into_iter()
        .collect();
    Request {
        endpoint,
        query,
        cost,
        symbol,
    }
}

fn push_range(req: &mut Request<'_>, start: Option<TimeMs>, end: Option<TimeMs>, limit: u16) {
    if let Some(start) = start {
        req.query.push(("startTime", start.to_string()));
    }
    if let Some(end) = end {
        req.query.push(("endTime", end.to_string()));
    }
    req.query.push(("limit", limit.to_string()));
}

/// A 200 whose body is Binance's error object is a refusal; anything else unusable is a body
/// error.
pub(in crate::source::binance) fn unusable(endpoint: &'static str, error: WireError) -> RestError {
    match error {
        WireError::Rejected { code, msg, .. } => RestError::Rejected {
            endpoint,
            status: 200,
            api: Some(crate::source::binance::wire::ApiError { code, msg }),
        },
        error => RestError::Body { endpoint, error },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One line per case: limit, weight.
    #[rustfmt::skip]
    const WEIGHTS: &[(u16, u32)] = &[
        (1, 1), (99, 1), (100, 2), (251, 2), (499, 2), (500, 5), (1000, 5), (1001, 10), (1500, 10),
    ];

    #[test]
    fn klines_weight_follows_the_documented_bands() {
        for &(limit, weight) in WEIGHTS {
            assert_eq!(klines_weight(limit), weight, "limit {limit}");
        }
    }
}
