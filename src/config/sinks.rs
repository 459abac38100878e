//! The sections about the outside world: the sinks (console, JSONL file, Telegram, email), the
//! Binance source, the systemd health judgement and the metrics endpoint. Must never do I/O (the
//! supervisor connects and binds) or read a secret: the file only names the environment variables
//! (or systemd credentials) that hold them.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::table::{Parsed, Table, positive};
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
        /// `https://`, or `http://` to a loopback host only: the token is in every request.
        pub api_url: String = url(t, "api_url", "https://api.telegram.org", "http", https_or_loopback),
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

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    Implicit,
    Starttls,
    None,
}

impl SmtpTls {
    /// The port a connection secured this way uses unless `smtp_port` says otherwise.
    const fn port(self) -> u16 {
        match self {
            Implicit => 465,
            Starttls => 587,
            SmtpTls::None => 25,
        }
    }
}

section! {
    /// The SMTP sink. The password is read from the environment variable `password_env`, or else
    /// from the systemd credential `smtp_password`; never from the config file.
    pub struct EmailSinkConfig(t) {
        /// `smtp_host`.
        pub host: String = t.string("smtp_host").unwrap_or_default().to_owned(),
        pub tls: SmtpTls = t.choice("tls", Implicit, &[
            ("implicit", Implicit), ("starttls", Starttls), ("none", SmtpTls::None),
        ]),
        /// `smtp_port`.
        pub port: u16 = t.int("smtp_port", tls.port(), 1..=65_535),
        pub username: Option<String> =
            t.string("username").filter(|u| !u.is_empty()).map(str::to_owned),
        pub password_env: String = env_name(t, "password_env", "LIQWAVE_SMTP_PASSWORD"),
        pub from: String = t.string("from").unwrap_or_default().to_owned(),
        pub to: Vec<String> = t.list("to", None, |a, _| address(&host, a)).unwrap_or_default(),
        pub timeout: Duration = t.secs("timeout_secs", 30, 1..=600),
        /// Extra trusted roots (PEM), for a relay whose certificate a private CA signed; read and
        /// checked when the sink starts and by `check-config --for-run`.
        pub ca_file: Option<PathBuf> = t.path("ca_file"),
    }
}

/// Email is on when `smtp_host` is set; only then are the addresses required and checked.
fn email(t: &Table) -> Option<EmailSinkConfig> {
    let email = EmailSinkConfig::read(t);
    if !t.has("smtp_host") {
        return None;
    }
    if let Err(message) = address(&email.host, &email.from) {
        t.problem("from", message);
    }
    if email.to.is_empty() {
        t.problem("to", "must list at least one recipient");
    }
    if email.tls == SmtpTls::None && email.username.is_some() && !loopback(&email.host) {
        let why = "must not be \"none\" with a username (the password would cross the network in \
            clear) unless smtp_host is loopback";
        t.problem("tls", why);
    }
    if email.tls == SmtpTls::None && email.ca_file.is_some() {
        t.problem(
            "ca_file",
            "has no effect with tls = \"none\" (nothing is encrypted)",
        );
    }
    Some(email)
}

/// An email address, checked only when email is on (`host` set).
fn address(host: &str, a: &str) -> Parsed<String> {
    match host.is_empty() || a.contains('@') {
        true => Ok(a.to_owned()),
        false => Err(format!("must be an email address, got {a:?}")),
    }
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
        /// Without a path: the client appends `/fapi/v1/…`.
        pub rest_url: String = url(t, "rest_url", "https://fapi.binance.com", "http", no_path),
        /// The routed `/market` endpoint, on any host (the test servers serve the same path).
        pub ws_url: String = url(t, "ws_url", WS_URL, "ws", market_path),
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

section! {
    /// The Binance spot market's hourly klines for the perpetuals' base assets (the cascade
    /// score's "spot volume not confirming" signal). Off unless enabled.
    pub struct SpotConfig(t) {
        pub enabled: bool = t.bool("enabled", false),
        /// Without a path: the client appends `/api/v3/…`.
        pub rest_url: String = url(t, "rest_url", "https://api.binance.com", "http", spot_no_path),
        /// Without a path: the client appends `/stream?streams=…`.
        pub ws_url: String = url(t, "ws_url", "wss://stream.binance.com:9443", "ws", spot_no_path),
    }
}

fn spot_no_path(_: bool, _: &str, path: &str) -> Option<String> {
    let why = "only scheme://host[:port]; liqwave adds /api/v3/… and /stream?streams=… itself";
    (!path.is_empty()).then(|| format!("must have no path ({why})"))
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

/// A base URL of `scheme` (`http` also admits `https`, `ws` also `wss`), without a trailing
/// slash; `check` judges whether it is secure, its host (with any port) and its path.
pub(super) fn url(
    t: &Table,
    key: &'static str,
    default: &str,
    scheme: &str,
    check: Check,
) -> String {
    let written = t.string(key).unwrap_or(default);
    let url = written.trim_end_matches('/');
    let (plain, secure) = (format!("{scheme}://"), format!("{scheme}s://"));
    let rest = (url.strip_prefix(&secure).map(|rest| (true, rest)))
        .or(url.strip_prefix(&plain).map(|rest| (false, rest)));
    let end = |rest: &str| rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let parts = rest.map(|(secure, rest)| (secure, rest.split_at(end(rest))));
    let spaced = url.contains(char::is_whitespace);
    let problem = match parts.filter(|(_, (host, _))| !host.is_empty() && !spaced) {
        Some((secure, (host, path))) => check(secure, host, path),
        None => Some(format!("must be a {secure} or {plain} URL")),
    };
    if let Some(message) = problem {
        t.problem(key, format!("{message}, got {written:?}"));
    }
    url.to_owned()
}

/// Why a URL is wrong beyond its scheme, given whether it is secure, its host and its path.
pub(super) type Check = fn(bool, &str, &str) -> Option<String>;

fn no_path(_: bool, _: &str, path: &str) -> Option<String> {
    let why = "only scheme://host[:port]; liqwave adds /fapi/v1/… itself";
    (!path.is_empty()).then(|| format!("must have no path ({why})"))
}

/// Since 2026-04-23 Binance's legacy `/ws` and `/stream` paths deliver no kline, mark-price or
/// liquidation data, without an error. `/market/` is the same endpoint: the slash is trimmed
/// before the client appends `/stream?streams=…`, which gives the URL of Binance's docs.
fn market_path(_: bool, _: &str, path: &str) -> Option<String> {
    let legacy = "the legacy /ws and /stream paths deliver no klines, mark prices or \
        liquidations; liqwave adds /stream?streams=… itself";
    let routed = format!("must be the routed market endpoint such as {WS_URL:?} ({legacy})");
    (path != "/market").then_some(routed)
}

/// The bot token is in the path of every Bot API request: only this machine may see it plain.
fn https_or_loopback(secure: bool, host: &str, _: &str) -> Option<String> {
    let why = "the bot token is in every request";
    (!secure && !loopback(host))
        .then(|| format!("must be https:// ({why}) unless the host is loopback"))
}

/// Whether a host (with or without a port; an IPv6 address bare or in brackets) is this machine.
fn loopback(host: &str) -> bool {
    let bracketed = host
        .strip_prefix('[')
        .and_then(|h| Some(h.split_once(']')?.0));
    let bare = bracketed.or(host.parse::<IpAddr>().is_ok().then_some(host));
    let name = bare.unwrap_or_else(|| host.split(':').next().unwrap_or(host));
    name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
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
