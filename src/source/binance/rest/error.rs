//! Why a REST request failed, as an enum the callers branch on (`is_retriable`, `is_banned`).
//! Carries Binance's own `{"code","msg"}` when the server sent one; never a query string.

use std::fmt;

use super::super::budget::{Pool, WaitReason};
use super::super::wire::{ApiError, WireError};
use crate::model::{TimeMs, format_utc};

/// A failed REST request. The endpoint is the path only (`/fapi/v1/klines`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RestError {
    /// No connection, or it broke before a full response arrived.
    #[error("{endpoint}: connection failed: {reason}")]
    Connect {
        endpoint: &'static str,
        reason: String,
    },
    /// No complete response within the request timeout.
    #[error("{endpoint}: no response within the timeout")]
    Timeout { endpoint: &'static str },
    /// HTTP 5xx or 408: Binance's side; a 503 may mean "status unknown", harmless for a GET.
    #[error("{endpoint}: server error HTTP {status}{}", Api(.api))]
    Server {
        endpoint: &'static str,
        status: u16,
        api: Option<ApiError>,
    },
    /// HTTP 429: the weight limit was broken; everyone pauses until `until`.
    #[error("{endpoint}: rate limited (HTTP 429), paused until {}{}", At(*.until), Api(.api))]
    RateLimited {
        endpoint: &'static str,
        until: TimeMs,
        api: Option<ApiError>,
    },
    /// HTTP 418: the IP is banned until `until`; nothing goes out before.
    #[error("{endpoint}: IP banned (HTTP 418) until {}{}", At(*.until), Api(.api))]
    Banned {
        endpoint: &'static str,
        until: TimeMs,
        api: Option<ApiError>,
    },
    /// Our own budget would hold the request past the client's bound on waiting.
    #[error("{endpoint}: the request budget ({}) is spent until {}", Why(*.reason), At(*.until))]
    Throttled {
        endpoint: &'static str,
        until: TimeMs,
        reason: WaitReason,
    },
    /// A 4xx Binance refused (bad symbol, bad interval, WAF 403): the same request fails again.
    #[error("{endpoint}: Binance refused the request (HTTP {status}){}", Api(.api))]
    Rejected {
        endpoint: &'static str,
        status: u16,
        api: Option<ApiError>,
    },
    /// A 200 whose body is not what the endpoint returns.
    #[error("{endpoint}: unusable response: {error}")]
    Body {
        endpoint: &'static str,
        error: WireError,
    },
    /// The HTTP client could not be built (a TLS setup problem).
    #[error("cannot build the REST client: {reason}")]
    Setup { reason: String },
}

impl RestError {
    /// Trying again later may succeed: network trouble, Binance's own errors, rate limits and
    /// bans (after they expire), and a spent budget.
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            RestError::Connect { .. }
                | RestError::Timeout { .. }
                | RestError::Server { .. }
                | RestError::RateLimited { .. }
                | RestError::Banned { .. }
                | RestError::Throttled { .. }
        )
    }

    /// The IP is banned: no request may go out before [`RestError::until`].
    pub fn is_banned(&self) -> bool {
        matches!(self, RestError::Banned { .. })
    }

    /// Binance refused the request itself (4xx other than 408, 418 and 429).
    pub fn is_rejected(&self) -> bool {
        matches!(self, RestError::Rejected { .. })
    }

    /// When a pause, ban or spent budget ends, for the errors that have one.
    pub fn until(&self) -> Option<TimeMs> {
        match self {
            RestError::RateLimited { until, .. }
            | RestError::Banned { until, .. }
            | RestError::Throttled { until, .. } => Some(*until),
            _ => None,
        }
    }

    /// Binance's error body, when it sent one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            RestError::Server { api, .. }
            | RestError::RateLimited { api, .. }
            | RestError::Banned { api, .. }
            | RestError::Rejected { api, .. } => api.as_ref(),
            RestError::Body { .. }
            | RestError::Connect { .. }
            | RestError::Timeout { .. }
            | RestError::Throttled { .. }
            | RestError::Setup { .. } => None,
        }
    }
}

/// `: code -1121 Invalid symbol.` when Binance said why.
struct Api<'a>(&'a Option<ApiError>);

impl fmt::Display for Api<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(api) => write!(f, ": code {} {}", api.code, api.msg),
            None => Ok(()),
        }
    }
}

/// A time for humans: UTC to the second.
struct At(TimeMs);

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0.rem_euclid(60_000) / 1000;
        write!(f, "{}:{seconds:02} UTC", format_utc(self.0))
    }
}

struct Why(WaitReason);

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            WaitReason::Weight => "request weight",
            WaitReason::Pool(Pool::FuturesData) => "futures/data requests",
            WaitReason::Pool(Pool::Funding) => "fundingRate requests",
            WaitReason::RateLimited => "429 pause",
            WaitReason::Banned => "418 ban",
        })
    }
}
