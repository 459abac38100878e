//! The two spot REST endpoints liqwave reads, on their own client (its own base URL and its own
//! weight budget: spot limits are counted apart from the perpetuals'). Owns the query parameters
//! and the documented weights (docs/venues/binance-spot.md); parsing is the spot wire's.

use super::wire::{SPOT_INTERVAL, SpotMarket, parse_spot_exchange_info, parse_spot_klines};
use crate::clock::Clock;
use crate::config::Config;
use crate::model::{Candle, Symbol, TimeMs};
use crate::source::binance::budget::BudgetParams;
use crate::source::binance::rest::{RestClient, RestError, RestOptions, unusable};

/// Spot's `REQUEST_WEIGHT` per minute and IP (the perpetuals allow 2400).
pub const SPOT_WEIGHT_PER_MIN: u32 = 6000;
/// Most klines per request on spot (1500 on the perpetuals).
pub const SPOT_KLINES_MAX: u16 = 1000;
/// `GET /api/v3/klines` weighs 2 whatever the limit.
const KLINES_WEIGHT: u32 = 2;
/// `GET /api/v3/exchangeInfo` for every symbol weighs 20.
const EXCHANGE_INFO_WEIGHT: u32 = 20;

/// The spot REST client: cheap to clone, clones share one pool and one budget.
#[derive(Debug, Clone)]
pub struct SpotRest {
    client: RestClient,
}

impl SpotRest {
    /// A client of `config.spot.rest_url` on `clock`, with `[binance]`'s timeout and share.
    pub fn new(config: &Config, clock: Clock) -> Result<SpotRest, RestError> {
        let budget = BudgetParams::per_minute(SPOT_WEIGHT_PER_MIN, config.binance.weight_share);
        let options = RestOptions {
            clock,
            ..RestOptions::new(
                &config.spot.rest_url,
                config.binance.request_timeout,
                budget,
            )
        };
        Ok(SpotRest {
            client: RestClient::new(options)?,
        })
    }

    /// Market time, the client's clock.
    pub fn now(&self) -> TimeMs {
        self.client.now()
    }

    pub fn clock(&self) -> Clock {
        self.client.clock()
    }

    /// `GET /api/v3/exchangeInfo`: every spot market with its assets and status.
    pub async fn exchange_info(&self) -> Result<Vec<SpotMarket>, RestError> {
        let endpoint = "/api/v3/exchangeInfo";
        let (body, _) = (self.client)
            .get_public(endpoint, Vec::new(), EXCHANGE_INFO_WEIGHT, None)
            .await?;
        parse_spot_exchange_info(&body).map_err(|e| unusable(endpoint, e))
    }

    /// `GET /api/v3/klines`: the closed hourly bars among at most `limit` (1..=1000) bars
    /// opening at `start` or later.
    pub async fn klines(
        &self,
        spot: &Symbol,
        start: TimeMs,
        limit: u16,
    ) -> Result<Vec<Candle>, RestError> {
        let endpoint = "/api/v3/klines";
        let query = vec![
            ("symbol", spot.as_str().to_owned()),
            ("interval", SPOT_INTERVAL.as_str().to_owned()),
            ("startTime", start.to_string()),
            ("limit", limit.clamp(1, SPOT_KLINES_MAX).to_string()),
        ];
        let (body, now) = (self.client)
            .get_public(endpoint, query, KLINES_WEIGHT, Some(spot))
            .await?;
        parse_spot_klines(&body, now).map_err(|e| unusable(endpoint, e))
    }
}
