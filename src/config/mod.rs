//! Configuration: the validated `Config` every other module receives, and loading it from TOML.
//! Owns every default and every range check; must never read secrets (they come from the
//! environment or systemd credentials, read by the sinks that need them).

mod binance;
mod check;
mod heatmap;
mod locate;
mod raw;
mod rules;
mod sections;
mod service;
#[cfg(test)]
mod tests;
mod validate;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::analytics::SignalParams;
use crate::analytics::clusters::ClusterParams;
use crate::analytics::heatmap::HeatmapParams;
use crate::model::{Interval, Symbol};
use crate::rules::{Mutes, Routes, RuleParams};

pub use crate::rules::AlertSwitches;
pub use validate::{ConfigError, Problem};

/// The checked configuration. Built only by [`load`] / [`from_toml_str`]; there is no `Default`.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub symbols: SymbolFilter,
    pub signals: SignalParams,
    pub alerts: AlertSwitches,
    pub replay: ReplayConfig,
    pub sinks: SinksConfig,
    pub store: StoreConfig,
    pub delivery: DeliveryConfig,
    /// `[summary]`: when the daily regime summary is due.
    pub summary: SummaryConfig,
    pub log: LogConfig,
    pub engine: EngineConfig,
    pub heatmap: HeatmapConfig,
    /// `[rules]`: cluster, setup, exit and funding settings of the rules.
    pub rules: RuleParams,
    /// `[[mutes]]`: alerts silenced per symbol (and kind) until a time.
    pub mutes: Mutes,
    /// `[[routes]]`: which sinks receive which kinds; `Routes::defaults()` when none is given.
    pub routes: Routes,
    /// `[binance]`: endpoints, the REST weight budget, warm-up lookback and poll intervals.
    pub binance: BinanceConfig,
    /// `[service]`: health judgement for systemd's watchdog and readiness.
    pub service: ServiceConfig,
    /// `[metrics]`: the Prometheus endpoint.
    pub metrics: MetricsConfig,
    /// `[signal]`: the backtest report whose track record alerts quote.
    pub signal: SignalConfig,
}

/// Where alerts find their measured track record.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SignalConfig {
    /// A `report.json` written by `liqwave backtest --out`; its `track_record` lines are added to
    /// Telegram and email alerts of the kinds it scored. `None`: alerts carry no track record.
    pub report: Option<PathBuf>,
}

/// How the daemon judges its own health (systemd's notify protocol).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceConfig {
    /// Without market data for this long the feed counts as stalled and the watchdog is not
    /// petted (default 120 s), so systemd restarts a daemon whose streams died silently.
    pub watchdog_silence: Duration,
    /// `READY=1` is sent at the latest this long after start, warm or not (default 900 s).
    pub warmup_deadline: Duration,
}

/// The Prometheus text endpoint (`GET /metrics`).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsConfig {
    pub enabled: bool,
    /// Default 127.0.0.1:9464 (loopback only).
    pub listen: std::net::SocketAddr,
}

/// The Binance USDⓈ-M source: where it connects and how hard it may use the REST API.
#[derive(Debug, Clone, PartialEq)]
pub struct BinanceConfig {
    /// REST base URL (default `https://fapi.binance.com`; tests point it at a local fake).
    pub rest_url: String,
    /// Market-stream base URL (default `wss://fstream.binance.com/market`, the routed endpoint
    /// that carries klines, mark prices and liquidations).
    pub ws_url: String,
    /// The IP's REST weight per minute as Binance states it (default 2400).
    pub weight_limit_per_min: u32,
    /// The part of that limit liqwave lets itself use, in (0, 1] (default 0.8): the rest is
    /// headroom for clock skew between our minute and Binance's.
    pub weight_share: f64,
    /// Heatmap warm-up lookback: days of 5m bars and 5m open interest replayed at start
    /// (default 3, at most 30: Binance keeps 30 days of open-interest history).
    pub warmup_days: u32,
    /// Bound on one REST request, connect to last byte (default 10 s).
    pub request_timeout: Duration,
    /// Streams per WebSocket connection (default 200; Binance allows 1024).
    pub streams_per_connection: usize,
    /// How often the contract list is refreshed from `exchangeInfo` (default 1 h).
    pub discovery_interval: Duration,
    /// How often open interest is polled for every pair (default 5 min, a multiple of 5 min).
    pub open_interest_interval: Duration,
}

/// The liquidation-heatmap model and its cluster extraction (DESIGN.md §4.4).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HeatmapConfig {
    pub model: HeatmapParams,
    pub clusters: ClusterParams,
}

/// Which pairs to follow. Empty `include` means every pair the source offers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SymbolFilter {
    pub include: Vec<Symbol>,
    pub exclude: Vec<Symbol>,
}

impl SymbolFilter {
    pub fn accepts(&self, symbol: &Symbol) -> bool {
        (self.include.is_empty() || self.include.contains(symbol)) && !self.exclude.contains(symbol)
    }
}

/// Offline replay of recorded data.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayConfig {
    /// Dataset directory laid out like `klines/<tf>/<SYMBOL>_<tf>.csv[.gz]`; relative paths in
    /// the file are resolved against the config file's directory.
    pub data_dir: Option<PathBuf>,
    /// Source interval to read when a symbol has several (default 5m; 1m also works).
    pub source_interval: Interval,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SinksConfig {
    pub console: ConsoleSinkConfig,
    /// The JSONL file sink, when configured.
    pub file: Option<FileSinkConfig>,
    /// Telegram, when `chat_ids` is set.
    pub telegram: Option<TelegramSinkConfig>,
    /// Email, when `smtp_host` is set.
    pub email: Option<EmailSinkConfig>,
}

/// The Telegram Bot API sink. The token is read from the environment variable `token_env`, or
/// else from the systemd credential `telegram_token`; never from the config file.
#[derive(Debug, Clone, PartialEq)]
pub struct TelegramSinkConfig {
    /// Chats that receive alerts; the only chats whose commands the bot answers.
    pub chat_ids: Vec<i64>,
    /// Bot API base URL (default `https://api.telegram.org`; tests point it at a local fake).
    pub api_url: String,
    pub token_env: String,
    /// Bound on one request (default 20 s).
    pub timeout: Duration,
    /// Answer chat commands (`/status`, `/mute`, ...) by long polling (default true); with false
    /// the bot only sends.
    pub commands: bool,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// TLS from the first byte (port 465, the default).
    Implicit,
    /// Plain connect, then STARTTLS, which must succeed (port 587).
    Starttls,
    /// No TLS at all: only for a relay on this machine.
    None,
}

/// The SMTP sink. The password is read from the environment variable `password_env`, or else
/// from the systemd credential `smtp_password`; never from the config file.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailSinkConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// SMTP user; without it no AUTH is attempted.
    pub username: Option<String>,
    pub password_env: String,
    pub from: String,
    pub to: Vec<String>,
    /// Bound on the connection and each SMTP command (default 30 s).
    pub timeout: Duration,
}

/// Alerts appended as JSON lines to a file, synced to disk after each one: the durable local sink
/// (delivered through the outbox, at least once, like Telegram and email).
#[derive(Debug, Clone, PartialEq)]
pub struct FileSinkConfig {
    pub path: PathBuf,
    /// Pause before each write (default 0): simulates a slow channel in crash tests.
    pub delay: Duration,
}

/// The sled database. Without a path, runs keep their state in memory only.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    pub path: Option<PathBuf>,
    /// sled's page cache (default 64 MiB; sled's own default is 1 GiB).
    pub cache_bytes: u64,
}

/// How sink workers retry and when they give up at shutdown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeliveryConfig {
    /// Attempts before a transiently failing alert becomes a dead letter (default 12).
    pub max_attempts: u32,
    /// First retry delay (default 1 s), doubled per attempt with jitter, capped at `backoff_max`.
    pub backoff_initial: Duration,
    /// Longest retry delay (default 5 min).
    pub backoff_max: Duration,
    /// On shutdown, sinks keep delivering this long; the rest stays in the outbox (default 10 s).
    pub shutdown_deadline: Duration,
    /// Sent-log records are kept this long for de-duplication (default 7 days).
    pub sent_log_retention: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleSinkConfig {
    pub enabled: bool,
    pub format: ConsoleFormat,
    /// Also append every alert as one JSON line to this file.
    pub jsonl_path: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleFormat {
    /// One human line per alert.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// A `tracing` filter such as `info` or `warn,liqwave=debug`.
    pub filter: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Journald-friendly under systemd (no ANSI, no timestamp), coloured on a terminal.
    Auto,
    Pretty,
    Journald,
    Json,
}

/// The daily regime summary (DESIGN.md §5): due once per local day at `at` in `tz`; a slot
/// missed while the daemon was down is sent on start within `grace`. See `schedule`.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryConfig {
    /// Raise the summary at all (default true). It is routed like any alert; the default routes
    /// send it to the console, the file and email sinks.
    pub enabled: bool,
    /// Local wall-clock time of the summary (default 08:00).
    pub at: jiff::civil::Time,
    /// The IANA time zone `at` is read in (default UTC), from the tz database bundled into the
    /// binary.
    pub tz: jiff::tz::TimeZone,
    /// How late a missed summary may still be sent on start (default 3 h; 0: only on time).
    pub grace: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// Capacity of the source → engine channel; a full channel blocks the source (backpressure).
    pub input_capacity: usize,
}

/// Reads and validates a config file; every problem is reported at once.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Unreadable {
        path: path.to_owned(),
        source: e,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    from_toml_str(&text, base)
}

/// Validates TOML text; relative paths are resolved against `base_dir`.
pub fn from_toml_str(text: &str, base_dir: &Path) -> Result<Config, ConfigError> {
    validate::validate(text, base_dir)
}
