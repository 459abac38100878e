//! The schema: which key holds what, its default and its range, and how the checked values
//! assemble into `Config`. Owns every default (the `[heatmap]` sections are in `heatmap.rs`, and
//! `[rules]`, `[[mutes]]` and `[[routes]]` in `rules.rs`); must never do I/O (paths are resolved,
//! not opened) and must never read a secret.

use std::ops::Bound::Excluded;
use std::path::Path;
use std::time::Duration;

use super::check::Checker;
use super::raw::{
    RawAlerts, RawConfig, RawDelivery, RawDivergence, RawEmailSink, RawFileSink, RawRegime, RawRsi,
    RawStore, RawSummary, RawTelegramSink,
};
use super::{
    AlertSwitches, Config, ConsoleFormat, ConsoleSinkConfig, DeliveryConfig, EmailSinkConfig,
    EngineConfig, FileSinkConfig, LogConfig, LogFormat, ReplayConfig, SignalConfig, SinksConfig,
    SmtpTls, StoreConfig, SummaryConfig, SymbolFilter, TelegramSinkConfig,
};
use crate::analytics::{EntryParams, PivotParams, RegimeThresholds, SignalParams};
use crate::model::{Interval, Symbol};

const DEFAULT_REGIME_TIMEFRAMES: [Interval; 2] = [Interval::D1, Interval::W1];
const DEFAULT_MIDLINE_TIMEFRAMES: [Interval; 1] = [Interval::D1];
const DEFAULT_DIVERGENCE_TIMEFRAMES: [Interval; 2] = [Interval::H4, Interval::D1];
const DEFAULT_LOG_FILTER: &str = "info";
const DEFAULT_INPUT_CAPACITY: usize = 4096;
const DEFAULT_SUMMARY_AT: jiff::civil::Time = jiff::civil::Time::constant(8, 0, 0, 0);
const DEFAULT_SUMMARY_TZ: &str = "UTC";

const SOURCE_INTERVALS: &[(&str, Interval)] = &[("1m", Interval::M1), ("5m", Interval::M5)];
const CONSOLE_FORMATS: &[(&str, ConsoleFormat)] =
    &[("text", ConsoleFormat::Text), ("json", ConsoleFormat::Json)];
const LOG_FORMATS: &[(&str, LogFormat)] = &[
    ("auto", LogFormat::Auto),
    ("pretty", LogFormat::Pretty),
    ("journald", LogFormat::Journald),
    ("json", LogFormat::Json),
];

impl Checker<'_, '_> {
    /// Checks every section and assembles the `Config`; it is only meaningful when no problem
    /// was reported.
    pub(super) fn config(&mut self, raw: RawConfig, base_dir: &Path) -> Config {
        let include = self.symbols("symbols.include", raw.symbols.include);
        let exclude = self.symbols("symbols.exclude", raw.symbols.exclude);
        let signals = self.signals(&raw.rsi, &raw.regime, raw.entry.rearm_gap, &raw.divergence);
        let alerts = self.alerts(raw.alerts);
        let replay = ReplayConfig {
            data_dir: self.dir("replay.data_dir", raw.replay.data_dir, base_dir),
            source_interval: self.choice(
                "replay.source_interval",
                raw.replay.source_interval,
                Interval::M5,
                SOURCE_INTERVALS,
            ),
        };
        let console = raw.sinks.console;
        let console = ConsoleSinkConfig {
            enabled: console.enabled.unwrap_or(true),
            format: self.choice(
                "sinks.console.format",
                console.format,
                ConsoleFormat::Text,
                CONSOLE_FORMATS,
            ),
            jsonl_path: self.dir("sinks.console.jsonl_path", console.jsonl_path, base_dir),
        };
        let log = LogConfig {
            filter: self.log_filter("log.filter", raw.log.filter, DEFAULT_LOG_FILTER),
            format: self.choice("log.format", raw.log.format, LogFormat::Auto, LOG_FORMATS),
        };
        let capacity = raw.engine.input_capacity;
        let capacity = self.int(
            "engine.input_capacity",
            capacity,
            DEFAULT_INPUT_CAPACITY,
            1..=1_000_000,
        );
        Config {
            symbols: self.symbol_filter(include, exclude),
            signals,
            alerts,
            replay,
            sinks: SinksConfig {
                console,
                file: self.file_sink(raw.sinks.file, base_dir),
                telegram: self.telegram_sink(raw.sinks.telegram),
                email: self.email_sink(raw.sinks.email),
            },
            store: self.store(raw.store, base_dir),
            delivery: self.delivery(raw.delivery),
            summary: self.summary(raw.summary),
            log,
            engine: EngineConfig {
                input_capacity: capacity.value,
            },
            heatmap: self.heatmap(raw.heatmap),
            rules: self.rules(&raw.rules),
            mutes: self.mutes(raw.mutes),
            routes: self.routes(raw.routes),
            binance: self.binance(raw.binance),
            service: self.service(raw.service),
            metrics: self.metrics(raw.metrics),
            signal: SignalConfig {
                report: self.dir("signal.report", raw.signal.report, base_dir),
            },
        }
    }

    fn signals(
        &mut self,
        rsi: &RawRsi,
        regime: &RawRegime,
        rearm_gap: Option<f64>,
        div: &RawDivergence,
    ) -> SignalParams {
        let d = SignalParams::DEFAULT;
        let period = self.int("rsi.period", rsi.period, d.rsi_period, 2..=100);
        let warmup = self.int("rsi.warmup_bars", rsi.warmup_bars, d.warmup_bars, 1..=5000);
        let min_warmup = self.int(
            "rsi.min_warmup_bars",
            rsi.min_warmup_bars,
            d.min_warmup_bars,
            1..=5000,
        );
        // RSI needs period + 1 closes for its first value, so the minimum must exceed the period.
        self.order(period, min_warmup, true);
        self.order(min_warmup, warmup, false);
        SignalParams {
            rsi_period: period.value,
            warmup_bars: warmup.value,
            min_warmup_bars: min_warmup.value,
            regime: self.regime(regime),
            entry: EntryParams {
                rearm_gap: self
                    .float("entry.rearm_gap", rearm_gap, d.entry.rearm_gap, 0.0..=25.0)
                    .value,
            },
            pivots: self.pivots(div),
        }
    }

    fn regime(&mut self, raw: &RawRegime) -> RegimeThresholds {
        let d = RegimeThresholds::CARDWELL;
        let open = (Excluded(0.0), Excluded(100.0));
        let bull_enter = self.float("regime.bull_enter", raw.bull_enter, d.bull_enter, open);
        let bull_exit = self.float("regime.bull_exit", raw.bull_exit, d.bull_exit, open);
        let bear_enter = self.float("regime.bear_enter", raw.bear_enter, d.bear_enter, open);
        let bear_exit = self.float("regime.bear_exit", raw.bear_exit, d.bear_exit, open);
        // bear_enter < bull_exit ≤ 50 ≤ bear_exit < bull_enter: each regime is entered beyond
        // the other's exit, and each exit sits on its own side of the midline.
        self.order(bear_enter, bull_exit, true);
        if bull_exit.valid && bull_exit.value > 50.0 {
            let message = format!("must be at most 50 (the midline), got {}", bull_exit.value);
            self.report_at(bull_exit.path, message);
        }
        if bear_exit.valid && bear_exit.value < 50.0 {
            let message = format!("must be at least 50 (the midline), got {}", bear_exit.value);
            self.report_at(bear_exit.path, message);
        }
        self.order(bear_exit, bull_enter, true);
        RegimeThresholds {
            bull_enter: bull_enter.value,
            bull_exit: bull_exit.value,
            bear_enter: bear_enter.value,
            bear_exit: bear_exit.value,
        }
    }

    fn pivots(&mut self, raw: &RawDivergence) -> [PivotParams; 3] {
        let d = PivotParams::TRADINGVIEW;
        let left = self.int(
            "divergence.lookback_left",
            raw.lookback_left,
            d.left,
            1..=50,
        );
        let right = self.int(
            "divergence.lookback_right",
            raw.lookback_right,
            d.right,
            1..=50,
        );
        let lower = self.int(
            "divergence.range_lower",
            raw.range_lower,
            d.range_lower,
            0..=500,
        );
        let upper = self.int(
            "divergence.range_upper",
            raw.range_upper,
            d.range_upper,
            0..=500,
        );
        self.order(lower, upper, false);
        let by = &raw.lookback_right_by_interval;
        let [h4, d1, w1] = [
            ("divergence.lookback_right_by_interval.4h", by.h4),
            ("divergence.lookback_right_by_interval.1d", by.d1),
            ("divergence.lookback_right_by_interval.1w", by.w1),
        ]
        .map(|(path, raw)| self.int(path, raw, right.value, 1..=50).value);
        [h4, d1, w1].map(|right| PivotParams {
            left: left.value,
            right,
            range_lower: lower.value,
            range_upper: upper.value,
        })
    }

    fn alerts(&mut self, raw: RawAlerts) -> AlertSwitches {
        AlertSwitches {
            regime_timeframes: self.timeframes(
                "alerts.regime_timeframes",
                raw.regime_timeframes,
                &DEFAULT_REGIME_TIMEFRAMES,
            ),
            midline_timeframes: self.timeframes(
                "alerts.midline_timeframes",
                raw.midline_timeframes,
                &DEFAULT_MIDLINE_TIMEFRAMES,
            ),
            divergence_timeframes: self.timeframes(
                "alerts.divergence_timeframes",
                raw.divergence_timeframes,
                &DEFAULT_DIVERGENCE_TIMEFRAMES,
            ),
            hidden_divergences: raw.hidden_divergences.unwrap_or(false),
            allow_unconverged: raw.allow_unconverged.unwrap_or(true),
        }
    }

    fn file_sink(&mut self, raw: RawFileSink, base_dir: &Path) -> Option<FileSinkConfig> {
        let delay = self.int("sinks.file.delay_ms", raw.delay_ms, 0, 0..=60_000);
        let path = self.dir("sinks.file.path", raw.path, base_dir);
        if path.is_none() && delay.set {
            self.report_at(
                "sinks.file.delay_ms",
                "has no effect without sinks.file.path",
            );
        }
        Some(FileSinkConfig {
            path: path?,
            delay: Duration::from_millis(delay.value as u64),
        })
    }

    fn telegram_sink(&mut self, raw: RawTelegramSink) -> Option<TelegramSinkConfig> {
        let timeout = self.int("sinks.telegram.timeout_secs", raw.timeout_secs, 20, 1..=300);
        let api_url = raw
            .api_url
            .unwrap_or_else(|| "https://api.telegram.org".to_owned());
        if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
            let message = format!("must be an http(s) URL, got {api_url:?}");
            self.report_at("sinks.telegram.api_url", message);
        }
        let token_env = self.env_name(
            "sinks.telegram.token_env",
            raw.token_env,
            "LIQWAVE_TELEGRAM_TOKEN",
        );
        let chat_ids = raw.chat_ids?;
        if chat_ids.is_empty() {
            self.report_at(
                "sinks.telegram.chat_ids",
                "must list at least one chat id (leave it out to turn Telegram off)",
            );
        }
        Some(TelegramSinkConfig {
            chat_ids,
            api_url: api_url.trim_end_matches('/').to_owned(),
            token_env,
            timeout: Duration::from_secs(timeout.value as u64),
            commands: raw.commands.unwrap_or(true),
        })
    }

    fn email_sink(&mut self, raw: RawEmailSink) -> Option<EmailSinkConfig> {
        const TLS: &[(&str, SmtpTls)] = &[
            ("implicit", SmtpTls::Implicit),
            ("starttls", SmtpTls::Starttls),
            ("none", SmtpTls::None),
        ];
        let tls = self.choice("sinks.email.tls", raw.tls, SmtpTls::Implicit, TLS);
        let default_port = match tls {
            SmtpTls::Implicit => 465,
            SmtpTls::Starttls => 587,
            SmtpTls::None => 25,
        };
        let port = self.int(
            "sinks.email.smtp_port",
            raw.smtp_port,
            default_port,
            1..=65_535,
        );
        let timeout = self.int("sinks.email.timeout_secs", raw.timeout_secs, 30, 1..=600);
        let password_env = self.env_name(
            "sinks.email.password_env",
            raw.password_env,
            "LIQWAVE_SMTP_PASSWORD",
        );
        let host = raw.smtp_host?;
        let from = raw.from.unwrap_or_default();
        if !from.contains('@') {
            self.report_at(
                "sinks.email.from",
                format!("must be an email address, got {from:?}"),
            );
        }
        let to = raw.to.unwrap_or_default();
        if to.is_empty() {
            self.report_at("sinks.email.to", "must list at least one recipient");
        }
        for (i, address) in to.iter().enumerate() {
            if !address.contains('@') {
                let message = format!("must be an email address, got {address:?}");
                self.report_at(&format!("sinks.email.to[{i}]"), message);
            }
        }
        Some(EmailSinkConfig {
            host,
            port: port.value as u16,
            tls,
            username: raw.username.filter(|u| !u.is_empty()),
            password_env,
            from,
            to,
            timeout: Duration::from_secs(timeout.value as u64),
        })
    }

    /// The name of an environment variable that holds a secret (never the secret itself).
    fn env_name(&mut self, path: &str, raw: Option<String>, default: &str) -> String {
        let name = raw.unwrap_or_else(|| default.to_owned());
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            let message = format!(
                "must name an environment variable (A-Z, 0-9, _), got {name:?}; the secret itself \
                 never goes in the config"
            );
            self.report_at(path, message);
        }
        name
    }

    fn store(&mut self, raw: RawStore, base_dir: &Path) -> StoreConfig {
        let cache = self.int("store.cache_mb", raw.cache_mb, 64, 1..=4096);
        StoreConfig {
            path: self.dir("store.path", raw.path, base_dir),
            cache_bytes: cache.value as u64 * 1024 * 1024,
        }
    }

    fn delivery(&mut self, raw: RawDelivery) -> DeliveryConfig {
        let attempts = self.int("delivery.max_attempts", raw.max_attempts, 12, 1..=1000);
        let initial = self.int(
            "delivery.backoff_initial_ms",
            raw.backoff_initial_ms,
            1000,
            1..=600_000,
        );
        let max = self.int(
            "delivery.backoff_max_secs",
            raw.backoff_max_secs,
            300,
            1..=86_400,
        );
        let deadline = self.int(
            "delivery.shutdown_deadline_secs",
            raw.shutdown_deadline_secs,
            10,
            0..=3600,
        );
        let days = self.int("delivery.sent_log_days", raw.sent_log_days, 7, 1..=365);
        DeliveryConfig {
            max_attempts: attempts.value as u32,
            backoff_initial: Duration::from_millis(initial.value as u64),
            backoff_max: Duration::from_secs(max.value as u64),
            shutdown_deadline: Duration::from_secs(deadline.value as u64),
            sent_log_retention: Duration::from_secs(days.value as u64 * 86_400),
        }
    }

    fn summary(&mut self, raw: RawSummary) -> SummaryConfig {
        // At most a day: the latest slot is never much more than a day old, so a longer grace
        // would only mean "always send on start".
        let grace = self.int("summary.grace_minutes", raw.grace_minutes, 180, 0..=1440);
        SummaryConfig {
            enabled: raw.enabled.unwrap_or(true),
            at: self.clock_time("summary.at", raw.at, DEFAULT_SUMMARY_AT),
            tz: self.time_zone("summary.tz", raw.tz, DEFAULT_SUMMARY_TZ),
            grace: Duration::from_secs(grace.value as u64 * 60),
        }
    }

    fn symbol_filter(&mut self, include: Vec<Symbol>, exclude: Vec<Symbol>) -> SymbolFilter {
        for (i, s) in exclude.iter().enumerate() {
            if include.contains(s) {
                self.report_at(
                    &format!("symbols.exclude[{i}]"),
                    format!("{s} is also in symbols.include"),
                );
            }
        }
        SymbolFilter { include, exclude }
    }
}
