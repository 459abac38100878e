//! The sections about the outside world: the sinks (console, JSONL file, Telegram, email), the
//! Binance source, the systemd health judgement and the metrics endpoint. Must never do I/O (the
//! supervisor connects and binds) or read a secret: the file only names the environment variables
//! (or systemd credentials) that hold them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::table::{Table, positive};
use ConsoleFormat::{Json, Text};
use SmtpTls::{Implicit, Starttls};

section! {
    pub struct SinksConfig(t) {
        pub console: ConsoleSinkConfig = ConsoleSinkConfig::read(&t.table("console")),
        pub file: Option<FileSinkConfig> = file(&t.table("file")),
        pub telegram: Option<TelegramSinkConfig> = telegram(&t.table("telegram")),
        pub email: Option<EmailSinkConfig> = email(&t.table("email")),
    }
}

section! {
    pub struct ConsoleSinkConfig(t) {
        pub enabled: bool = t.bool("enabled", true),
        pub format: ConsoleFormat = t.choice("format", Text, &[("text", Text), ("json", Json)]),
        pub jsonl_path: Option<PathBuf> = t.path("jsonl_path"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleFormat {
    Text,
    Json,
}

/// Alerts appended as JSON lines to a file, synced to disk after each one: the durable local sink
/// (delivered through the outbox, at least once, like Telegram and email).
#[derive(Debug, Clone, PartialEq)]
pub struct FileSinkConfig {
    pub path: PathBuf,
    pub delay: Duration,
}

fn file(t: &Table) -> Option<FileSinkConfig> {
    let path = t.path("path");
    let delay = t.int_field("delay_ms", 0, 0..=60_000);
    if path.is_none() && delay.set {
        t.report(&delay.at, "has no effect without sinks.file.path");
    }
    let delay = Duration::from_millis(delay.value);
    Some(FileSinkConfig { path: path?, delay })
}

section! {
    /// The Telegram Bot API sink. The token is read from the environment variable `token_env`,
    /// or else from the systemd credential `telegram_token`; never from the config file.
    pub struct TelegramSinkConfig(t) {
        pub chat_ids: Vec<i64> = t.ints("chat_ids").unwrap_or_default(),
        pub api_url: String = api_url(t),
        pub token_env: String = env_name(t, "token_env", "LIQWAVE_TELEGRAM_TOKEN"),
        pub timeout: Duration = t.secs("timeout_secs", 20, 1..=300),
        pub commands: bool = t.bool("commands", true),
    }
}

/// Telegram is on when `chat_ids` is set; its other keys are read (and known) either way.
fn telegram(t: &Table) -> Option<TelegramSinkConfig> {
    let config = TelegramSinkConfig::read(t);
    if t.has("chat_ids") && config.chat_ids.is_empty() {
        let message = "must list at least one chat id (leave it out to turn Telegram off)";
        t.problem("chat_ids", message);
    }
    t.has("chat_ids").then_some(config)
}

fn api_url(t: &Table) -> String {
    let url = t.string("api_url").unwrap_or("https://api.telegram.org");
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        t.problem("api_url", format!("must be an http(s) URL, got {url:?}"));
    }
    url.trim_end_matches('/').to_owned()
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    Implicit,
    Starttls,
    None,
}

/// The SMTP sink. The password is read from the environment variable `password_env`, or else
/// from the systemd credential `smtp_password`; never from the config file.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailSinkConfig {
    /// `smtp_host`.
    pub host: String,
    /// `smtp_port`.
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password_env: String,
    pub from: String,
    pub to: Vec<String>,
    pub timeout: Duration,
}

/// Email is on when `smtp_host` is set; only then are the addresses required and checked.
fn email(t: &Table) -> Option<EmailSinkConfig> {
    let host = t.string("smtp_host");
    let port = t.int_field("smtp_port", 0, 1..=65_535);
    let options = [
        ("implicit", Implicit),
        ("starttls", Starttls),
        ("none", SmtpTls::None),
    ];
    let tls = t.choice("tls", Implicit, &options);
    let username = t.string("username").filter(|u| !u.is_empty());
    let password_env = env_name(t, "password_env", "LIQWAVE_SMTP_PASSWORD");
    let from = t.string("from").unwrap_or_default();
    let none = "must list at least one recipient";
    let address = |a: &str, _: &[String]| match host.is_none() || a.contains('@') {
        true => Ok(a.to_owned()),
        false => Err(format!("must be an email address, got {a:?}")),
    };
    let to = t.list("to", host.and(Some(none)), address);
    let timeout = t.secs("timeout_secs", 30, 1..=600);
    let host = host?.to_owned();
    if let Err(message) = address(from, &[]) {
        t.problem("from", message);
    }
    if to.is_none() {
        t.problem("to", none);
    }
    let default_port = match tls {
        Implicit => 465,
        Starttls => 587,
        SmtpTls::None => 25,
    };
    Some(EmailSinkConfig {
        host,
        port: if port.set { port.value } else { default_port },
        tls,
        username: username.map(str::to_owned),
        password_env,
        from: from.to_owned(),
        to: to.unwrap_or_default(),
        timeout,
    })
}

/// The name of an environment variable that holds a secret (never the secret itself).
fn env_name(t: &Table, key: &'static str, default: &str) -> String {
    let valid = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_';
    let what = "an environment variable (A-Z, 0-9, _)";
    let never = "the secret itself never goes in the config";
    let name = |text: &str| match !text.is_empty() && text.bytes().all(valid) {
        true => Ok(text.to_owned()),
        false => Err(format!("must name {what}, got {text:?}; {never}")),
    };
    t.parse(key, name).unwrap_or_else(|| default.to_owned())
}

const WS_URL: &str = "wss://fstream.binance.com/market";

section! {
    /// The Binance USDⓈ-M source: where it connects and how hard it may use the REST API.
    pub struct BinanceConfig(t) {
        pub rest_url: String = url(t, "rest_url", "https://fapi.binance.com", "http"),
        pub ws_url: String = ws_url(t),
        pub weight_limit_per_min: u32 = t.int("weight_limit_per_min", 2400, 1..=100_000),
        /// The rest of the limit is headroom for clock skew between our minute and Binance's.
        pub weight_share: f64 = t.float("weight_share", 0.8, positive(1.0)),
        pub warmup_days: u32 = t.int("warmup_days", 3, 1..=30),
        /// Connect to last byte.
        pub request_timeout: Duration = t.secs("request_timeout_secs", 10, 1..=120),
        pub streams_per_connection: usize = t.int("streams_per_connection", 200, 1..=1024),
        /// Of the contract list, from `exchangeInfo`.
        pub discovery_interval: Duration = t.secs("discovery_interval_secs", 3600, 60..=86_400),
        pub open_interest_interval: Duration = open_interest_interval(t),
    }
}

fn open_interest_interval(t: &Table) -> Duration {
    let oi = t.int_field("open_interest_interval_secs", 300_u64, 300..=3600);
    if oi.valid && !oi.value.is_multiple_of(300) {
        let why = "open interest is read at 5-minute closes";
        let message = format!("must be a multiple of 300 ({why}), got {}", oi.value);
        t.report(&oi.at, message);
    }
    Duration::from_secs(oi.value)
}

/// The market-stream base: since 2026-04-23 Binance's legacy `/ws` and `/stream` paths on
/// `fstream.binance.com` deliver no kline, mark-price or liquidation data, without an error.
fn ws_url(t: &Table) -> String {
    let url = url(t, "ws_url", WS_URL, "ws");
    let rest = url.split_once("://").map_or("", |(_, rest)| rest);
    let (host, route) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if host == "fstream.binance.com" && !route.starts_with("/market") {
        let legacy = "Binance's legacy paths deliver no klines, mark prices or liquidations";
        let message = format!("must be the routed market endpoint such as {WS_URL:?}: {legacy}");
        t.problem("ws_url", format!("{message}, got {url:?}"));
    }
    url
}

/// A base URL of `scheme` (`http` also admits `https`, `ws` also `wss`), without a trailing
/// slash.
fn url(t: &Table, key: &'static str, default: &str, scheme: &str) -> String {
    let url = t.string(key).unwrap_or(default);
    let (plain, secure) = (format!("{scheme}://"), format!("{scheme}s://"));
    let host = url.strip_prefix(&secure).or(url.strip_prefix(&plain));
    if host.is_none_or(|h| h.is_empty() || h.starts_with('/') || h.contains(char::is_whitespace)) {
        t.problem(
            key,
            format!("must be a {secure} or {plain} URL, got {url:?}"),
        );
    }
    url.trim_end_matches('/').to_owned()
}

section! {
    /// How the daemon judges its own health (systemd's notify protocol).
    pub struct ServiceConfig(t) {
        pub watchdog_silence: Duration = t.secs("watchdog_silence_secs", 120, 5..=3600),
        pub warmup_deadline: Duration = t.secs("warmup_deadline_secs", 900, 1..=86_400),
    }
}

section! {
    /// The Prometheus text endpoint (`GET /metrics`).
    pub struct MetricsConfig(t) {
        pub enabled: bool = t.bool("enabled", true),
        pub listen: SocketAddr = t.parse("listen", |text| {
            let what = "an IP address and port such as \"127.0.0.1:9464\"";
            text.parse().map_err(|_| format!("must be {what}, got {text:?}"))
        }).unwrap_or(([127, 0, 0, 1], 9464).into()),
    }
}
