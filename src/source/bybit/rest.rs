//! The Bybit v5 REST client: one `reqwest` pool and one pace shared by every clone. Owns the
//! request loop: wait for the pace (bounded), send with a timeout, honour 403 (IP limit: hold
//! everything 10 minutes) and `retCode 10006` (wait for the reset), retry what may succeed
//! (bounded, jittered). Must never wait without a bound and never log a query string.

mod error;
mod pace;

pub use error::RestError;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tracing::warn;

use super::wire::{
    self, Listing, RiskTier, WireError, parse_funding, parse_instruments, parse_klines,
    parse_open_interest, parse_risk_limit,
};
use crate::clock::Clock;
use crate::model::{Candle, Funding, Interval, OpenInterest, Symbol, TimeMs};
use pace::Pace;

/// Rows per kline request (Bybit's maximum).
pub const KLINES_MAX: usize = 1000;
/// Rows per open-interest request (Bybit's maximum).
pub const OPEN_INTEREST_MAX: usize = 200;
/// How long a 403 holds every request ("wait for at least 10 minutes").
const BAN_MS: TimeMs = 600_000;
/// Pages of instruments read at most (1000 a page; Bybit lists some 600 linear contracts).
const INSTRUMENT_PAGES: usize = 20;

/// How a [`RestClient`] behaves; [`RestOptions::new`] gives Bybit's real limits.
#[derive(Debug, Clone, PartialEq)]
pub struct RestOptions {
    /// Base URL without a trailing slash, e.g. `https://api.bybit.com`.
    pub base_url: String,
    /// Bound on one request, connect to last byte.
    pub timeout: Duration,
    /// Our own pace: at most this many requests per `window` (Bybit allows 600 per 5 s per IP).
    pub per_window: usize,
    pub window: Duration,
    /// Attempts in all per request, the first included.
    pub attempts: u32,
    /// Longest one request waits for the pace or a pause before it fails.
    pub max_wait: Duration,
    /// The market clock: pauses and retry delays are market time.
    pub clock: Clock,
}

impl RestOptions {
    pub fn new(base_url: &str, clock: Clock) -> RestOptions {
        RestOptions {
            base_url: base_url.trim_end_matches('/').to_owned(),
            timeout: Duration::from_secs(10),
            per_window: 300,
            window: Duration::from_secs(5),
            attempts: 5,
            max_wait: Duration::from_secs(15 * 60),
            clock,
        }
    }
}

/// What the client counts, over all clones.
#[derive(Debug, Default)]
pub struct RestCounters {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    /// `retCode 10006` answers.
    pub rate_limited: AtomicU64,
    /// HTTP 403 answers.
    pub banned: AtomicU64,
}

/// The REST client. Cheap to clone: clones share the pool, the pace and the counters.
#[derive(Debug, Clone)]
pub struct RestClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    options: RestOptions,
    /// Held only between two awaits, never across one.
    pace: Mutex<Pace>,
    counters: Arc<RestCounters>,
}

impl RestClient {
    pub fn new(options: RestOptions) -> Result<RestClient, RestError> {
        RestClient::with_counters(options, Arc::default())
    }

    /// A client that counts into `counters` (shared with whoever reports them).
    pub fn with_counters(
        options: RestOptions,
        counters: Arc<RestCounters>,
    ) -> Result<RestClient, RestError> {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("liqwave/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RestError::Setup {
                reason: describe(&e),
            })?;
        let window_ms = options.window.as_millis() as TimeMs;
        let pace = Mutex::new(Pace::new(options.per_window, window_ms));
        let inner = Inner {
            http,
            options,
            pace,
            counters,
        };
        Ok(RestClient {
            inner: Arc::new(inner),
        })
    }

    /// Market time in epoch ms (this is the edge that reads the clock).
    pub fn now(&self) -> TimeMs {
        self.inner.options.clock.now()
    }

    pub fn clock(&self) -> Clock {
        self.inner.options.clock
    }

    pub fn counters(&self) -> &RestCounters {
        &self.inner.counters
    }

    /// Every linear contract Bybit lists, page by page.
    pub async fn instruments(&self) -> Result<Vec<Listing>, RestError> {
        const EP: &str = "/v5/market/instruments-info";
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..INSTRUMENT_PAGES {
            let mut query = vec![("category", "linear".into()), ("limit", "1000".into())];
            query.extend(cursor.take().map(|c| ("cursor", c)));
            let page = self.get(EP, query, parse_instruments).await?;
            all.extend(page.items);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(all),
            }
        }
        Ok(all)
    }

    /// Closed bars of `interval` opening in `[start, end]`, oldest first; `limit` ≤ 1000.
    pub async fn klines(
        &self,
        symbol: &Symbol,
        interval: Interval,
        start: TimeMs,
        end: TimeMs,
        limit: usize,
    ) -> Result<Vec<Candle>, RestError> {
        let query = vec![
            ("category", "linear".into()),
            ("symbol", symbol.name().to_owned()),
            ("interval", interval_code(interval).into()),
            ("start", start.to_string()),
            ("end", end.to_string()),
            ("limit", limit.clamp(1, KLINES_MAX).to_string()),
        ];
        let now = self.now();
        self.get("/v5/market/kline", query, |t| {
            parse_klines(t, interval, now)
        })
        .await
    }

    /// 5-minute open interest measured in `[start, end]`, oldest first; `limit` ≤ 200.
    pub async fn open_interest(
        &self,
        symbol: &Symbol,
        start: TimeMs,
        end: TimeMs,
        limit: usize,
    ) -> Result<Vec<OpenInterest>, RestError> {
        let query = vec![
            ("category", "linear".into()),
            ("symbol", symbol.name().to_owned()),
            ("intervalTime", "5min".into()),
            ("startTime", start.to_string()),
            ("endTime", end.to_string()),
            ("limit", limit.clamp(1, OPEN_INTEREST_MAX).to_string()),
        ];
        let page = self
            .get("/v5/market/open-interest", query, parse_open_interest)
            .await?;
        Ok(page.items)
    }

    /// The last `limit` settled funding rates, oldest first.
    pub async fn funding(&self, symbol: &Symbol, limit: usize) -> Result<Vec<Funding>, RestError> {
        let query = vec![
            ("category", "linear".into()),
            ("symbol", symbol.name().to_owned()),
            ("limit", limit.clamp(1, 200).to_string()),
        ];
        self.get("/v5/market/funding/history", query, parse_funding)
            .await
    }

    /// The risk-limit tiers of one contract.
    pub async fn risk_tiers(&self, symbol: &Symbol) -> Result<Vec<RiskTier>, RestError> {
        let query = vec![
            ("category", "linear".into()),
            ("symbol", symbol.name().to_owned()),
        ];
        let page = self
            .get("/v5/market/risk-limit", query, parse_risk_limit)
            .await?;
        Ok(page.items)
    }

    /// Sends until the body parses, the error is final, or the attempts run out.
    async fn get<T>(
        &self,
        endpoint: &'static str,
        query: Vec<(&'static str, String)>,
        parse: impl Fn(&str) -> Result<T, WireError>,
    ) -> Result<T, RestError> {
        let attempts = self.inner.options.attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.wait_for_pace(endpoint).await?;
            let error = match self.send(endpoint, &query).await {
                Ok(body) => match parse(&body) {
                    Ok(value) => return Ok(value),
                    Err(e) => self.refused(endpoint, e),
                },
                Err(e) => e,
            };
            if !error.is_retriable() || attempt >= attempts {
                return Err(error);
            }
            self.inner.counters.retries.fetch_add(1, Ordering::Relaxed);
            // A pause already holds the next attempt back; otherwise back off.
            let backoff = match error.until() {
                Some(_) => Duration::ZERO,
                None => backoff(attempt, crate::source::jitter::jitter()),
            };
            let backoff_ms = backoff.as_millis() as u64;
            warn!(venue = "bybit", endpoint, attempt, backoff_ms, error = %error, "Retrying REST request.");
            tokio::time::sleep(self.clock().wall(backoff)).await;
        }
    }

    /// A 200 the parser refused; a 10006 pauses every clone until a second later.
    fn refused(&self, endpoint: &'static str, e: WireError) -> RestError {
        let now = self.now();
        let error = RestError::from_wire(endpoint, e, now);
        if let Some(until) = error.until() {
            self.inner
                .counters
                .rate_limited
                .fetch_add(1, Ordering::Relaxed);
            self.pace().pause(until, false);
            warn!(
                venue = "bybit",
                endpoint,
                pause_ms = until - now,
                "Bybit rate limit hit (retCode 10006); pausing REST requests."
            );
        }
        error
    }

    fn pace(&self) -> std::sync::MutexGuard<'_, Pace> {
        self.inner
            .pace
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a slot of the pace, for at most `max_wait`.
    async fn wait_for_pace(&self, endpoint: &'static str) -> Result<(), RestError> {
        let bound = self.inner.options.max_wait.as_millis() as TimeMs;
        let deadline = self.now().saturating_add(bound);
        loop {
            let now = self.now();
            let (until, banned) = match self.pace().take(now) {
                Ok(()) => return Ok(()),
                Err(wait) => wait,
            };
            if until > deadline {
                return Err(if banned {
                    RestError::Banned { endpoint, until }
                } else {
                    RestError::Throttled { endpoint, until }
                });
            }
            let wait = Duration::from_millis((until - now).max(1) as u64);
            tokio::time::sleep(self.clock().wall(wait).max(Duration::from_millis(1))).await;
        }
    }

    /// One attempt: the body of a 2xx, or the error of anything else.
    async fn send(
        &self,
        endpoint: &'static str,
        query: &[(&'static str, String)],
    ) -> Result<String, RestError> {
        self.inner.counters.requests.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}{}", self.inner.options.base_url, endpoint);
        let response = (self.inner.http.get(url).query(query).send().await)
            .map_err(|e| transport(endpoint, &e))?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(|e| transport(endpoint, &e))?;
        match status {
            200..=299 => Ok(body),
            403 => {
                let until = self.now() + BAN_MS;
                self.inner.counters.banned.fetch_add(1, Ordering::Relaxed);
                self.pace().pause(until, true);
                tracing::error!(
                    venue = "bybit",
                    endpoint,
                    ban_ms = BAN_MS,
                    "Bybit's IP limit was broken (HTTP 403); holding every REST request."
                );
                Err(RestError::Banned { endpoint, until })
            }
            408 | 500..=599 => Err(RestError::Server { endpoint, status }),
            _ => {
                let (code, msg) = match wire::parse_funding(&body) {
                    Err(WireError::Rejected { code, msg }) => (code, msg),
                    _ => (0, String::new()),
                };
                Err(RestError::Rejected {
                    endpoint,
                    status,
                    code,
                    msg,
                })
            }
        }
    }
}

/// Bybit's kline interval names.
pub fn interval_code(interval: Interval) -> &'static str {
    match interval {
        Interval::M1 => "1",
        Interval::M3 => "3",
        Interval::M5 => "5",
        Interval::M15 => "15",
        Interval::M30 => "30",
        Interval::H1 => "60",
        Interval::H4 => "240",
        Interval::D1 => "D",
        Interval::W1 => "W",
    }
}

/// The pause before retry number `retry` (1 for the first), given `jitter` in [0, 1): 500 ms
/// doubling, capped at 10 s, scaled into its upper half so that clients spread out.
fn backoff(retry: u32, jitter: f64) -> Duration {
    let full = Duration::from_millis(500)
        .saturating_mul(1 << retry.saturating_sub(1).min(20))
        .min(Duration::from_secs(10));
    full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

fn transport(endpoint: &'static str, e: &reqwest::Error) -> RestError {
    if e.is_timeout() {
        RestError::Timeout { endpoint }
    } else {
        RestError::Connect {
            endpoint,
            reason: describe(e),
        }
    }
}

/// The error and its causes, without the URL (which would carry the query string).
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        // One line per case: retry, jitter, delay in ms.
        #[rustfmt::skip]
        let cases = [(1, 0.0, 250), (2, 1.0, 1000), (6, 1.0, 10_000), (40, 0.0, 5000)];
        for (retry, j, want) in cases {
            assert_eq!(backoff(retry, j).as_millis(), want, "retry {retry}");
        }
    }

    #[test]
    fn intervals_have_bybit_names() {
        let names: Vec<&str> = Interval::ALL.into_iter().map(interval_code).collect();
        assert_eq!(names, ["1", "3", "5", "15", "30", "60", "240", "D", "W"]);
    }
}
