//! Why an OKX REST request failed, as an enum the callers branch on (`is_retriable`). Carries
//! OKX's own `code`/`msg` when it sent them; never a query string.

use super::super::wire::WireError;

/// A failed REST request. The endpoint is the path only (`/api/v5/market/candles`).
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
    /// HTTP 5xx: OKX's side.
    #[error("{endpoint}: server error HTTP {status}")]
    Server { endpoint: &'static str, status: u16 },
    /// HTTP 429 or code 50011/50013 still there after the bounded waits.
    #[error("{endpoint}: rate limited by OKX ({detail})")]
    RateLimited {
        endpoint: &'static str,
        detail: String,
    },
    /// OKX refused the request (HTTP 4xx or a non-zero `code`): the same request fails again.
    #[error("{endpoint}: OKX refused the request (HTTP {status}){}", api.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    Rejected {
        endpoint: &'static str,
        status: u16,
        api: Option<WireError>,
    },
    /// A 200 whose body is not what the endpoint returns.
    #[error("{endpoint}: unusable response: {error}")]
    Body {
        endpoint: &'static str,
        error: WireError,
    },
    /// The HTTP client could not be built, or the base URL is unusable.
    #[error("cannot use the OKX REST client: {reason}")]
    Setup { reason: String },
}

impl RestError {
    /// Trying again later may succeed: network trouble, OKX's 5xx and rate limits.
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            RestError::Connect { .. }
                | RestError::Timeout { .. }
                | RestError::Server { .. }
                | RestError::RateLimited { .. }
        )
    }

    /// The request itself is wrong (a bad URL or a refused request): retrying cannot help.
    pub fn is_fatal(&self) -> bool {
        matches!(self, RestError::Setup { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_errors_are_retriable() {
        let e = "/x";
        // (error, retriable)
        let cases = [
            (RestError::Timeout { endpoint: e }, true),
            (
                RestError::Server {
                    endpoint: e,
                    status: 503,
                },
                true,
            ),
            (
                RestError::RateLimited {
                    endpoint: e,
                    detail: "50011".into(),
                },
                true,
            ),
            (
                RestError::Connect {
                    endpoint: e,
                    reason: "reset".into(),
                },
                true,
            ),
            (
                RestError::Rejected {
                    endpoint: e,
                    status: 200,
                    api: None,
                },
                false,
            ),
            (
                RestError::Setup {
                    reason: "url".into(),
                },
                false,
            ),
            (
                RestError::Body {
                    endpoint: e,
                    error: WireError::Shape { reason: "x".into() },
                },
                false,
            ),
        ];
        for (error, retriable) in cases {
            assert_eq!(error.is_retriable(), retriable, "{error}");
        }
    }
}
