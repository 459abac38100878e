//! The OKX REST client: one `reqwest` pool and one request pacer shared by every clone. Owns the
//! request loop: keep the pace (market time), send with a timeout, honour rate-limit replies
//! (HTTP 429, code 50011/50013) and 5xx with bounded, jittered backoff. Must never wait without
//! a bound, loop forever, or log a query string.

mod error;

pub use error::RestError;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tracing::warn;

use super::wire::{
    Contract, FirstTier, OiRow, WireError, bar_of, parse_api_error, parse_candles,
    parse_funding_history, parse_instruments, parse_open_interest, parse_open_interest_history,
    parse_position_tiers,
};
use crate::clock::Clock;
use crate::model::{Candle, Funding, Interval, TimeMs};

/// Most rows one candles request returns (`limit` ≤ 300).
pub const CANDLES_MAX: usize = 300;
/// Most rows one open-interest-history request returns.
pub const OI_HISTORY_MAX: usize = 100;
/// Bars `/market/candles` serves back from now; older ones come from `/history-candles`.
pub const RECENT_BARS: i64 = 1440;

/// How a [`RestClient`] behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct RestOptions {
    /// Base URL without a trailing slash, `https://www.okx.com`.
    pub base_url: String,
    /// Bound on one request, connect to last byte.
    pub timeout: Duration,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay before the first retry, doubled per retry up to `backoff_max` (market time).
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Least time between two requests of this process (market time): OKX's strictest public
    /// limits are 20 and 10 requests per 2 s.
    pub pace: Duration,
    pub clock: Clock,
}

impl RestOptions {
    pub fn new(base_url: &str, clock: Clock) -> RestOptions {
        RestOptions {
            base_url: base_url.trim_end_matches('/').to_owned(),
            timeout: Duration::from_secs(10),
            max_attempts: 5,
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(10),
            pace: Duration::from_millis(110),
            clock,
        }
    }
}

/// The REST client; clones share the pool, the pacer and the counters.
#[derive(Debug, Clone)]
pub struct RestClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    options: RestOptions,
    /// When the next request may go out (market ms). Held between awaits, never across one.
    next_slot: Mutex<TimeMs>,
    requests: AtomicU64,
    rate_limited: AtomicU64,
}

impl RestClient {
    pub fn new(options: RestOptions) -> Result<RestClient, RestError> {
        let url_ok = reqwest::Url::parse(&options.base_url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        if !url_ok {
            return Err(RestError::Setup {
                reason: format!("bad base URL {:?}", options.base_url),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("liqwave/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RestError::Setup {
                reason: e.to_string(),
            })?;
        Ok(RestClient {
            inner: Arc::new(Inner {
                http,
                options,
                next_slot: Mutex::new(TimeMs::MIN),
                requests: AtomicU64::new(0),
                rate_limited: AtomicU64::new(0),
            }),
        })
    }

    /// Market time in epoch ms: the only clock the OKX source reads.
    pub fn now(&self) -> TimeMs {
        self.inner.options.clock.now()
    }

    pub fn clock(&self) -> Clock {
        self.inner.options.clock
    }

    /// Requests sent, and rate-limit replies met, since the client was made.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.inner.requests.load(Ordering::Relaxed),
            self.inner.rate_limited.load(Ordering::Relaxed),
        )
    }

    /// The live USDT-margined linear swaps, with the unusable rows OKX listed.
    pub async fn instruments(&self) -> Result<(Vec<Contract>, Vec<WireError>), RestError> {
        const E: &str = "/api/v5/public/instruments";
        let body = self.get(E, &[("instType", "SWAP".into())], 1).await?;
        parse_instruments(&body).map_err(|error| body_error(E, error))
    }

    /// Closed bars of `interval` opening strictly between `newer_than` and `older_than` (OKX's
    /// `before` and `after`), oldest first, at most `limit` (≤ 300) of the newest. Recent 5m
    /// bars come from `/market/candles`, the rest from `/market/history-candles`.
    pub async fn candles(
        &self,
        inst_id: &str,
        interval: Interval,
        newer_than: TimeMs,
        older_than: TimeMs,
        limit: usize,
    ) -> Result<Vec<Candle>, RestError> {
        let recent = self.now() - RECENT_BARS * interval.duration_ms() + interval.duration_ms();
        let endpoint = if interval == Interval::M5 && newer_than >= recent {
            "/api/v5/market/candles"
        } else {
            "/api/v5/market/history-candles"
        };
        let query = [
            ("instId", inst_id.to_owned()),
            ("bar", bar_of(interval).to_owned()),
            ("after", older_than.to_string()),
            ("before", newer_than.to_string()),
            ("limit", limit.clamp(1, CANDLES_MAX).to_string()),
        ];
        let body = self.get(endpoint, &query, 1).await?;
        parse_candles(&body).map_err(|error| body_error(endpoint, error))
    }

    /// Open interest now.
    pub async fn open_interest(&self, contract: &Contract) -> Result<OiRow, RestError> {
        const E: &str = "/api/v5/public/open-interest";
        let query = [
            ("instType", "SWAP".to_owned()),
            ("instId", contract.inst_id.clone()),
        ];
        let body = self.get(E, &query, 1).await?;
        parse_open_interest(&body, &contract.inst_id, contract.ct_val)
            .map_err(|error| body_error(E, error))
    }

    /// 5-minute open interest with timestamps in `[begin, end]`, oldest first, at most 100.
    pub async fn open_interest_history(
        &self,
        contract: &Contract,
        begin: TimeMs,
        end: TimeMs,
    ) -> Result<Vec<OiRow>, RestError> {
        const E: &str = "/api/v5/rubik/stat/contracts/open-interest-history";
        let query = [
            ("instId", contract.inst_id.clone()),
            ("period", "5m".to_owned()),
            ("begin", begin.to_string()),
            ("end", end.to_string()),
            ("limit", OI_HISTORY_MAX.to_string()),
        ];
        let body = self.get(E, &query, 2).await?;
        parse_open_interest_history(&body, contract.ct_val).map_err(|error| body_error(E, error))
    }

    /// The last `limit` settled funding rates, oldest first.
    pub async fn funding_history(
        &self,
        contract: &Contract,
        limit: usize,
    ) -> Result<Vec<Funding>, RestError> {
        const E: &str = "/api/v5/public/funding-rate-history";
        let query = [
            ("instId", contract.inst_id.clone()),
            ("limit", limit.clamp(1, 400).to_string()),
        ];
        let body = self.get(E, &query, 2).await?;
        parse_funding_history(&body).map_err(|error| body_error(E, error))
    }

    /// The first cross-margin position tier of the contract's family.
    pub async fn first_tier(&self, contract: &Contract) -> Result<FirstTier, RestError> {
        const E: &str = "/api/v5/public/position-tiers";
        let query = [
            ("instType", "SWAP".to_owned()),
            ("tdMode", "cross".to_owned()),
            ("instFamily", contract.inst_family.clone()),
            ("tier", "1".to_owned()),
        ];
        let body = self.get(E, &query, 2).await?;
        parse_position_tiers(&body, &contract.inst_family).map_err(|error| body_error(E, error))
    }

    /// One GET with its retries; `slots` is its share of the pace (2 for the 10-per-2 s
    /// endpoints). Returns the body of a `code` `"0"` reply.
    async fn get(
        &self,
        endpoint: &'static str,
        query: &[(&'static str, String)],
        slots: u32,
    ) -> Result<String, RestError> {
        let options = &self.inner.options;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.wait_for_slot(slots).await;
            let result = self.send(endpoint, query).await;
            let error = match result {
                Ok(body) => return Ok(body),
                Err(e) => e,
            };
            if matches!(error, RestError::RateLimited { .. }) {
                self.inner.rate_limited.fetch_add(1, Ordering::Relaxed);
            }
            if !error.is_retriable() || attempt >= options.max_attempts.max(1) {
                return Err(error);
            }
            let wait = backoff(options, attempt, crate::source::jitter::jitter());
            warn!(venue = "okx", endpoint, attempt, wait_ms = wait.as_millis() as u64, error = %error, "OKX request failed; retrying.");
            tokio::time::sleep(options.clock.wall(wait)).await;
        }
    }

    async fn send(
        &self,
        endpoint: &'static str,
        query: &[(&'static str, String)],
    ) -> Result<String, RestError> {
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}{endpoint}", self.inner.options.base_url);
        let response = self
            .inner
            .http
            .get(url)
            .query(query)
            .send()
            .await
            .map_err(|e| transport(endpoint, &e))?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(|e| transport(endpoint, &e))?;
        let api = parse_api_error(&body);
        if status == 429 || api.as_ref().is_some_and(WireError::is_rate_limit) {
            let detail = api.map_or_else(|| format!("HTTP {status}"), |e| e.to_string());
            return Err(RestError::RateLimited { endpoint, detail });
        }
        if status >= 500 {
            return Err(RestError::Server { endpoint, status });
        }
        if status != 200 || api.is_some() {
            return Err(RestError::Rejected {
                endpoint,
                status,
                api,
            });
        }
        Ok(body)
    }

    /// Waits until the pacer gives this request its slot.
    async fn wait_for_slot(&self, slots: u32) {
        let options = &self.inner.options;
        let pace = options.pace.as_millis() as TimeMs * TimeMs::from(slots.max(1));
        let at = {
            let mut next = (self.inner.next_slot)
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let at = (*next).max(self.now());
            *next = at + pace;
            at
        };
        let wait = options.clock.until(at);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

fn body_error(endpoint: &'static str, error: WireError) -> RestError {
    RestError::Body { endpoint, error }
}

fn transport(endpoint: &'static str, e: &reqwest::Error) -> RestError {
    if e.is_timeout() {
        RestError::Timeout { endpoint }
    } else {
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            reason = format!("{reason}: {s}");
            source = s.source();
        }
        RestError::Connect { endpoint, reason }
    }
}

/// The pause before retry `retry` (1 for the first), `jitter` in [0, 1): capped exponential,
/// scaled into its upper half.
fn backoff(options: &RestOptions, retry: u32, jitter: f64) -> Duration {
    let doublings = retry.saturating_sub(1).min(20);
    let full = (options.backoff_initial)
        .saturating_mul(1 << doublings)
        .min(options.backoff_max);
    full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let options = RestOptions::new("https://www.okx.com", Clock::Wall);
        // (retry, jitter, ms)
        #[rustfmt::skip]
        let cases = [(1, 0.0, 250), (2, 0.0, 500), (3, 0.5, 1500), (6, 1.0, 10_000), (40, 0.0, 5000)];
        for (retry, jitter, want) in cases {
            let got = backoff(&options, retry, jitter).as_millis() as u64;
            assert_eq!(got, want, "retry {retry}");
        }
    }

    #[test]
    fn bad_base_urls_are_refused() {
        for url in ["", "www.okx.com", "ftp://x", "https://www.okx.com"] {
            let ok = RestClient::new(RestOptions::new(url, Clock::Wall)).is_ok();
            assert_eq!(ok, url.starts_with("https"), "{url:?}");
        }
    }
}
