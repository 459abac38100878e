//! The Binance REST client: one `reqwest` connection pool and one weight budget shared by every
//! clone. Owns the request loop: wait for the budget (bounded), send with a timeout, read the
//! server's weight count, honour 429 and 418 for everyone, retry what may succeed (bounded,
//! jittered). Must never send a request the budget refused, never wait without a bound, and
//! never log a query string (the endpoint path and the symbol say enough).

mod endpoints;
mod error;
mod meter;
mod retry;

pub(in crate::source::binance) use endpoints::unusable;
pub use endpoints::{FUNDING_MAX, KLINES_MAX, OPEN_INTEREST_HIST_MAX, klines_weight};
pub use error::RestError;
pub use meter::RestMeter;
pub use retry::RetryPolicy;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tracing::{debug, error, warn};

use super::budget::{Budget, BudgetParams, Cost, Ticket, Wait, WaitReason};
use super::wire::parse_api_error;
use crate::clock::Clock;
use crate::config::BinanceConfig;
use crate::model::{Symbol, TimeMs};

/// How a [`RestClient`] behaves; [`RestOptions::from_config`] gives the daemon's.
#[derive(Debug, Clone, PartialEq)]
pub struct RestOptions {
    /// Base URL without a trailing slash, e.g. `https://fapi.binance.com`.
    pub base_url: String,
    /// Bound on one request, connect to last byte.
    pub timeout: Duration,
    pub budget: BudgetParams,
    pub retry: RetryPolicy,
    /// Longest one request waits for the budget (a spent window, a 429 pause, a 418 ban) before
    /// it fails with [`RestError::Throttled`] or [`RestError::Banned`]. Long enough for a full
    /// five-minute `/futures/data` window.
    pub max_wait: Duration,
    /// The market clock: budget windows, bans and retry pauses are market time (the wall clock
    /// for the daemon; tests accelerate it).
    pub clock: Clock,
}

impl RestOptions {
    pub fn from_config(config: &BinanceConfig) -> RestOptions {
        let budget = BudgetParams::per_minute(config.weight_limit_per_min, config.weight_share);
        RestOptions::new(&config.rest_url, config.request_timeout, budget)
    }

    /// Options for `base_url` with the default retry policy and a wait bound of six windows.
    pub fn new(base_url: &str, timeout: Duration, budget: BudgetParams) -> RestOptions {
        let windows = budget.longest_wait_ms() + budget.window_ms;
        RestOptions {
            base_url: base_url.trim_end_matches('/').to_owned(),
            timeout,
            budget,
            retry: RetryPolicy::DEFAULT,
            max_wait: Duration::from_millis(windows.max(0) as u64),
            clock: Clock::Wall,
        }
    }
}

/// The REST client. Cheap to clone: clones share the connection pool and the budget, so the
/// whole process stays inside one IP's limits however many tasks use it.
#[derive(Debug, Clone)]
pub struct RestClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    options: RestOptions,
    /// Held only between two awaits, never across one.
    budget: Mutex<Budget>,
}

/// One request: the path, its query and its cost.
#[derive(Debug)]
struct Request<'a> {
    endpoint: &'static str,
    query: Vec<(&'static str, String)>,
    cost: Cost,
    symbol: Option<&'a Symbol>,
}

impl RestClient {
    pub fn new(options: RestOptions) -> Result<RestClient, RestError> {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("liqwave/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RestError::Setup {
                reason: describe(&e),
            })?;
        let budget = Mutex::new(Budget::new(options.budget));
        let inner = Inner {
            http,
            options,
            budget,
        };
        Ok(RestClient {
            inner: Arc::new(inner),
        })
    }

    pub fn from_config(config: &BinanceConfig) -> Result<RestClient, RestError> {
        RestClient::new(RestOptions::from_config(config))
    }

    /// Market time in epoch ms: the only clock the live source reads (this is the edge).
    pub fn now(&self) -> TimeMs {
        self.inner.options.clock.now()
    }

    /// The market clock, for waits measured in market time.
    pub fn clock(&self) -> Clock {
        self.inner.options.clock
    }

    /// Weight reserved since the client was made, over all clones.
    pub fn weight_spent(&self) -> u64 {
        self.budget().spent()
    }

    /// Weight counted in the current window (ours or Binance's, whichever is higher).
    pub fn weight_used(&self) -> u32 {
        let now = self.now();
        self.budget().used(now)
    }

    pub fn options(&self) -> &RestOptions {
        &self.inner.options
    }

    fn budget(&self) -> MutexGuard<'_, Budget> {
        // The budget has no invariant a panic elsewhere could break halfway.
        self.inner
            .budget
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A public GET of `endpoint` (of another Binance market than the perpetuals', on this
    /// client's base URL) with its documented `weight`, through the budget and the retries;
    /// returns the body and the time it arrived.
    pub(in crate::source::binance) async fn get_public(
        &self,
        endpoint: &'static str,
        query: Vec<(&'static str, String)>,
        weight: u32,
        symbol: Option<&Symbol>,
    ) -> Result<(String, TimeMs), RestError> {
        let cost = Cost::weight(weight);
        self.get(&Request {
            endpoint,
            query,
            cost,
            symbol,
        })
        .await
    }

    /// Sends `req` until it succeeds, fails for good, or runs out of attempts; returns the body
    /// and the time it arrived.
    async fn get(&self, req: &Request<'_>) -> Result<(String, TimeMs), RestError> {
        let policy = self.inner.options.retry;
        let attempts = policy.max_attempts.max(1);
        let symbol = req.symbol.map(Symbol::as_str);
        let mut attempt = 0;
        let mut last: Option<RestError> = None;
        let error = loop {
            attempt += 1;
            let ticket = match self.reserve(req).await {
                Ok(ticket) => ticket,
                // Past the wait bound: Binance's own answer (a 418 with its body) says more.
                Err(waiting) => break last.unwrap_or(waiting),
            };
            let error = match self.send(req, ticket).await {
                Ok(ok) => return Ok(ok),
                Err(error) => error,
            };
            if !error.is_retriable() || attempt >= attempts {
                break error;
            }
            // After a 429 or 418 the budget holds everyone back; no backoff on top of that.
            let backoff = match error.until() {
                Some(_) => Duration::ZERO,
                None => policy.backoff(attempt, crate::source::jitter::jitter()),
            };
            let backoff_ms = backoff.as_millis() as u64;
            let endpoint = req.endpoint;
            warn!(venue = "binance", endpoint, symbol, attempt, backoff_ms, error = %error, "Retrying REST request.");
            tokio::time::sleep(self.clock().wall(backoff)).await;
            last = Some(error);
        };
        Err(error)
    }

    /// Waits until the budget lets `req` out, for at most `max_wait`.
    async fn reserve(&self, req: &Request<'_>) -> Result<Ticket, RestError> {
        let bound = self.inner.options.max_wait.as_millis();
        let deadline = self
            .now()
            .saturating_add(bound.try_into().unwrap_or(TimeMs::MAX));
        loop {
            let now = self.now();
            let wait = match self.budget().reserve(req.cost, now) {
                Ok(ticket) => return Ok(ticket),
                Err(wait) => wait,
            };
            // `wait.until` is always after `now`, so this loop ends by the deadline.
            if wait.until > deadline {
                return Err(waiting(req.endpoint, wait));
            }
            let wait_ms = (wait.until - now).max(1) as u64;
            let endpoint = req.endpoint;
            debug!(venue = "binance", endpoint, wait_ms, reason = ?wait.reason, "Waiting for the REST budget.");
            let wall = self.clock().wall(Duration::from_millis(wait_ms));
            tokio::time::sleep(wall.max(Duration::from_millis(1))).await;
        }
    }

    /// One attempt. The reservation is completed whatever happens, with the server's count.
    async fn send(&self, req: &Request<'_>, ticket: Ticket) -> Result<(String, TimeMs), RestError> {
        let url = format!("{}{}", self.inner.options.base_url, req.endpoint);
        let sent = self.inner.http.get(url).query(&req.query).send().await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                self.budget().complete(ticket, self.now(), None);
                return Err(transport(req.endpoint, &e));
            }
        };
        let status = response.status().as_u16();
        let used = header_number(&response, "x-mbx-used-weight-1m");
        let retry_after_ms =
            header_number(&response, "retry-after").map(|s| TimeMs::from(s) * 1000);
        let body = response.text().await;
        let now = self.now();
        self.budget().complete(ticket, now, used);
        let body = body.map_err(|e| transport(req.endpoint, &e))?;
        if (200..300).contains(&status) {
            return Ok((body, now));
        }
        Err(self.refused(req, status, retry_after_ms, &body, now))
    }

    /// The error for a non-2xx answer; a 429 pauses and a 418 bans every clone.
    fn refused(
        &self,
        req: &Request<'_>,
        status: u16,
        retry_after_ms: Option<TimeMs>,
        body: &str,
        now: TimeMs,
    ) -> RestError {
        let endpoint = req.endpoint;
        let symbol = req.symbol.map(Symbol::as_str);
        let api = parse_api_error(body).ok();
        let code = api.as_ref().map(|a| a.code);
        let msg = api.as_ref().map(|a| a.msg.as_str());
        match status {
            429 => {
                let until = self.budget().rate_limited(now, retry_after_ms);
                let pause_ms = until - now;
                warn!(
                    venue = "binance",
                    endpoint,
                    symbol,
                    code,
                    msg,
                    pause_ms,
                    "Binance rate limit hit; pausing every REST request."
                );
                RestError::RateLimited {
                    endpoint,
                    until,
                    api,
                }
            }
            418 => {
                let until = self.budget().banned(now, retry_after_ms);
                let ban_ms = until - now;
                error!(
                    venue = "binance",
                    endpoint,
                    symbol,
                    code,
                    msg,
                    ban_ms,
                    "Binance banned this IP; no REST request goes out until the ban ends."
                );
                RestError::Banned {
                    endpoint,
                    until,
                    api,
                }
            }
            408 | 500..=599 => RestError::Server {
                endpoint,
                status,
                api,
            },
            _ => RestError::Rejected {
                endpoint,
                status,
                api,
            },
        }
    }
}

fn waiting(endpoint: &'static str, wait: Wait) -> RestError {
    let until = wait.until;
    match wait.reason {
        WaitReason::Banned => RestError::Banned {
            endpoint,
            until,
            api: None,
        },
        WaitReason::RateLimited => RestError::RateLimited {
            endpoint,
            until,
            api: None,
        },
        reason => RestError::Throttled {
            endpoint,
            until,
            reason,
        },
    }
}

fn header_number(response: &reqwest::Response, name: &str) -> Option<u32> {
    response
        .headers()
        .get(name)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
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
    let what = if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "the response broke off"
    } else if e.is_builder() {
        "invalid request"
    } else {
        "request failed"
    };
    let mut text = what.to_owned();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
