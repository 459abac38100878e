//! The `[binance]` schema: the venue's endpoints, how much of its REST weight liqwave may use,
//! the warm-up lookback and the poll intervals, assembled into `BinanceConfig`. Must never do I/O
//! or read a secret (the public market data needs none).

use std::ops::Bound::{Excluded, Included};
use std::time::Duration;

use super::BinanceConfig;
use super::check::Checker;
use super::raw::RawBinance;

const DEFAULT_REST_URL: &str = "https://fapi.binance.com";
const DEFAULT_WS_URL: &str = "wss://fstream.binance.com/market";
/// Open interest steps the heatmap at 5-minute closes, so it is read on that grid.
const OI_GRID_SECS: usize = 300;

impl Checker<'_, '_> {
    pub(super) fn binance(&mut self, raw: RawBinance) -> BinanceConfig {
        let limit = self.int(
            "binance.weight_limit_per_min",
            raw.weight_limit_per_min,
            2400,
            1..=100_000,
        );
        let share = self.float(
            "binance.weight_share",
            raw.weight_share,
            0.8,
            (Excluded(0.0), Included(1.0)),
        );
        // openInterestHist keeps only the latest 30 days.
        let days = self.int("binance.warmup_days", raw.warmup_days, 3, 1..=30);
        let timeout = self.int(
            "binance.request_timeout_secs",
            raw.request_timeout_secs,
            10,
            1..=120,
        );
        let streams = self.int(
            "binance.streams_per_connection",
            raw.streams_per_connection,
            200,
            1..=1024,
        );
        let discovery = self.int(
            "binance.discovery_interval_secs",
            raw.discovery_interval_secs,
            3600,
            60..=86_400,
        );
        let oi = self.int(
            "binance.open_interest_interval_secs",
            raw.open_interest_interval_secs,
            OI_GRID_SECS,
            OI_GRID_SECS..=3600,
        );
        if oi.valid && !oi.value.is_multiple_of(OI_GRID_SECS) {
            let message = format!(
                "must be a multiple of 300 (open interest is read at 5-minute closes), got {}",
                oi.value
            );
            self.report_at(oi.path, message);
        }
        BinanceConfig {
            rest_url: self.url("binance.rest_url", raw.rest_url, DEFAULT_REST_URL, "http"),
            ws_url: self.ws_url(raw.ws_url),
            weight_limit_per_min: limit.value as u32, // at most 100000
            weight_share: share.value,
            warmup_days: days.value as u32, // at most 30
            request_timeout: Duration::from_secs(timeout.value as u64),
            streams_per_connection: streams.value,
            discovery_interval: Duration::from_secs(discovery.value as u64),
            open_interest_interval: Duration::from_secs(oi.value as u64),
        }
    }

    /// The market-stream base: since 2026-04-23 Binance's legacy `/ws` and `/stream` paths on
    /// `fstream.binance.com` deliver no kline, mark-price or liquidation data, without an error.
    fn ws_url(&mut self, raw: Option<String>) -> String {
        let url = self.url("binance.ws_url", raw, DEFAULT_WS_URL, "ws");
        let rest = url.split_once("://").map_or("", |(_, rest)| rest);
        let (host, route) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let legacy = host == "fstream.binance.com" && !route.starts_with("/market");
        if legacy {
            let message = format!(
                "must be the routed market endpoint such as {DEFAULT_WS_URL:?}: Binance's legacy \
                 paths deliver no klines, mark prices or liquidations, got {url:?}"
            );
            self.report_at("binance.ws_url", message);
        }
        url
    }

    /// A base URL of `scheme` (`http` also admits `https`, `ws` also `wss`), without a trailing
    /// slash.
    fn url(&mut self, path: &str, raw: Option<String>, default: &str, scheme: &str) -> String {
        let url = raw.unwrap_or_else(|| default.to_owned());
        let plain = format!("{scheme}://");
        let secure = format!("{scheme}s://");
        let host = url
            .strip_prefix(&secure)
            .or_else(|| url.strip_prefix(&plain))
            .unwrap_or("");
        if host.is_empty() || host.starts_with('/') || host.contains(char::is_whitespace) {
            let message = format!("must be a {scheme}s:// or {scheme}:// URL, got {url:?}");
            self.report_at(path, message);
        }
        url.trim_end_matches('/').to_owned()
    }
}
