//! Why a Bybit REST request failed, as an enum the callers branch on (`is_retriable`).
//! Carries Bybit's own `retCode`/`retMsg` when it sent one; never a query string.

use super::super::wire::WireError;
use crate::model::{TimeMs, format_utc};

/// A failed REST request. The endpoint is the path only (`/v5/market/kline`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RestError {
    /// No connection, or it broke before a full response arrived.
    #[error("{endpoint}: connection failed: {reason}")]
    Connect {
        endpoint: &'static str,
        reason: String,
    },
    #[error("{endpoint}: no response within the timeout")]
    Timeout { endpoint: &'static str },
    /// HTTP 5xx or 408: Bybit's side.
    #[error("{endpoint}: server error HTTP {status}")]
    Server { endpoint: &'static str, status: u16 },
    /// `retCode 10006` ("Too many visits!") kept coming back within the attempts.
    #[error("{endpoint}: rate limited (retCode 10006) until {}", format_utc(*.until))]
    RateLimited {
        endpoint: &'static str,
        until: TimeMs,
    },
    /// HTTP 403 "access too frequent": the IP is held back until `until` (10 minutes).
    #[error("{endpoint}: IP limit broken (HTTP 403), holding every request until {}", format_utc(*.until))]
    Banned {
        endpoint: &'static str,
        until: TimeMs,
    },
    /// Our own pacing would hold the request past the client's bound on waiting.
    #[error("{endpoint}: the request pace is spent until {}", format_utc(*.until))]
    Throttled {
        endpoint: &'static str,
        until: TimeMs,
    },
    /// Bybit refused the request itself (bad symbol or parameter): the same request fails again.
    #[error("{endpoint}: Bybit refused the request (HTTP {status}, retCode {code}): {msg}")]
    Rejected {
        endpoint: &'static str,
        status: u16,
        code: i64,
        msg: String,
    },
    /// A 200 whose body is not what the endpoint returns.
    #[error("{endpoint}: unusable response: {error}")]
    Body {
        endpoint: &'static str,
        error: WireError,
    },
    #[error("cannot build the REST client: {reason}")]
    Setup { reason: String },
}

impl RestError {
    /// Trying again later may succeed: network trouble, Bybit's 5xx, rate limits after they end.
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

    /// Bybit holds this IP back (HTTP 403).
    pub fn is_banned(&self) -> bool {
        matches!(self, RestError::Banned { .. })
    }

    /// When a pause ends, for the errors that have one.
    pub fn until(&self) -> Option<TimeMs> {
        match self {
            RestError::RateLimited { until, .. }
            | RestError::Banned { until, .. }
            | RestError::Throttled { until, .. } => Some(*until),
            _ => None,
        }
    }

    /// The error for a 200 body a parser refused: Bybit's `retCode` becomes `Rejected` (or
    /// `RateLimited`), anything else a `Body` error.
    pub(super) fn from_wire(endpoint: &'static str, error: WireError, now: TimeMs) -> RestError {
        match error {
            WireError::Rejected { code, .. } if code == super::super::wire::RATE_LIMIT_CODE => {
                RestError::RateLimited {
                    endpoint,
                    until: now + 1000,
                }
            }
            WireError::Rejected { code, msg } => RestError::Rejected {
                endpoint,
                status: 200,
                code,
                msg,
            },
            error => RestError::Body { endpoint, error },
        }
    }
}
