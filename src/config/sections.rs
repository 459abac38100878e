//! The general sections of the file: which pairs, the signal settings, which alerts, the replay,
//! the store, delivery, the daily summary, logging and the engine. Must never do I/O (paths are
//! resolved, not opened) or read a secret.

use std::ops::Bound::{Excluded, Included};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use jiff::civil::Time;
use jiff::tz::TimeZone;
use tracing_subscriber::filter::{LevelFilter, Targets};

use super::AlertSwitches;
use super::table::{Field, Parsed, Table, intervals, one_of};
use crate::analytics::{EntryParams, PivotParams, RegimeThresholds, SignalParams};
use crate::model::Interval::{self, D1, H4, M1, M5, W1};
use crate::model::{Symbol, Venue};
use LogFormat::{Auto, Journald, Json, Pretty};

section! {
    /// Which pairs to follow. Empty `include` means every pair the source offers.
    #[derive(Default)]
    pub struct SymbolFilter(t) {
        pub include: Vec<Symbol> = t.list("include", None, symbol).unwrap_or_default(),
        /// A symbol also in `include` is refused.
        pub exclude: Vec<Symbol> = t.list("exclude", None, |text, seen| match symbol(text, seen)? {
            s if include.contains(&s) => Err(format!("{s} is also in symbols.include")),
            s => Ok(s),
        }).unwrap_or_default(),
    }
}

impl SymbolFilter {
    /// `[symbols]` chooses Binance's pairs; another venue's pairs are chosen by its own
    /// `[venues.*] include`, in its source.
    pub fn accepts(&self, symbol: &Symbol) -> bool {
        symbol.venue() != Venue::Binance
            || ((self.include.is_empty() || self.include.contains(symbol))
                && !self.exclude.contains(symbol))
    }
}

/// A pair's symbol, normalised to upper case, at most once per list.
pub(super) fn symbol(text: &str, seen: &[Symbol]) -> Parsed<Symbol> {
    match Symbol::from_str(text) {
        Ok(s) if seen.contains(&s) => Err(format!("duplicate symbol {s}")),
        other => other.map_err(|e| e.to_string()),
    }
}

section! {
    /// Offline replay of recorded data.
    pub struct ReplayConfig(t) {
        pub data_dir: Option<PathBuf> = t.path("data_dir"),
        pub source_interval: Interval = t.choice("source_interval", M5, &intervals(&[M1, M5])),
        /// A bar beyond this factor of the previous close (or its high over its low) is malformed.
        pub max_price_jump: f64 = t.float("max_price_jump", 10.0, (Excluded(1.0), Included(1e6))),
    }
}

section! {
    /// The sled database. Without a path, runs keep their state in memory only.
    pub struct StoreConfig(t) {
        pub path: Option<PathBuf> = t.path("path"),
        /// `cache_mb`, in bytes.
        pub cache_bytes: u64 = t.int("cache_mb", 64, 1..=4096) << 20,
    }
}

section! {
    /// How sink workers retry and when they give up at shutdown.
    #[derive(Copy)]
    pub struct DeliveryConfig(t) {
        pub max_attempts: u32 = t.int("max_attempts", 12, 1..=1000),
        pub backoff_initial: Duration =
            Duration::from_millis(t.int("backoff_initial_ms", 1000, 1..=600_000)),
        pub backoff_max: Duration = t.secs("backoff_max_secs", 300, 1..=86_400),
        pub shutdown_deadline: Duration = t.secs("shutdown_deadline_secs", 10, 0..=3600),
        /// `sent_log_days`.
        pub sent_log_retention: Duration = t.secs("sent_log_days", 7, 1..=365) * 86_400,
        /// Live only: bars of its timeframe an alert may be old and still reach people.
        pub fresh_bars: u32 = t.int("fresh_bars", 1, 1..=1000),
        /// `digest_gather_secs`: how long a digesting sink (Telegram) lets a bar's alerts gather.
        pub digest_gather: Duration = t.secs("digest_gather_secs", 10, 0..=60),
    }
}

section! {
    /// The daily regime summary (DESIGN.md §5): due once per local day at `at` in `tz`; a slot
    /// missed while the daemon was down is sent on start within `grace`. See `schedule`.
    pub struct SummaryConfig(t) {
        pub enabled: bool = t.bool("enabled", true),
        /// Local wall-clock time.
        pub at: Time = t.parse("at", clock_time).unwrap_or(Time::constant(8, 0, 0, 0)),
        /// From the tz database bundled into the binary; the default is looked up the same way,
        /// so spelling it out changes nothing.
        pub tz: TimeZone = t.parse("tz", zone).unwrap_or_else(|| zone("UTC").unwrap_or(TimeZone::UTC)),
        /// `grace_minutes`. At most a day: the latest slot is never much more than a day old.
        pub grace: Duration = t.secs("grace_minutes", 180, 0..=1440) * 60,
    }
}

/// A wall-clock time of day written `HH:MM` (24-hour clock, exactly two digits each).
fn clock_time(text: &str) -> Parsed<Time> {
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    let hh_mm = text
        .split_once(':')
        .filter(|(h, m)| two_digits(h) && two_digits(m));
    let time = hh_mm.and_then(|(h, m)| Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok());
    time.ok_or_else(|| format!("must be a time of day \"HH:MM\" (00:00 to 23:59), got {text:?}"))
}

/// An IANA time zone name, looked up in the bundled database (no file is read).
fn zone(name: &str) -> Parsed<TimeZone> {
    let example = "such as \"UTC\" or \"Europe/Berlin\"";
    let message = format!("must be an IANA time zone name {example}, got {name:?}");
    TimeZone::get(name).map_err(|_| message)
}

section! {
    pub struct LogConfig(t) {
        /// A `tracing` filter.
        pub filter: String = t.parse("filter", log_filter).unwrap_or_else(|| "info".to_owned()),
        pub format: LogFormat = t.choice("format", Auto, &[
            ("auto", Auto), ("pretty", Pretty), ("journald", Journald), ("json", Json),
        ]),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Auto,
    Pretty,
    Journald,
    Json,
}

fn log_filter(text: &str) -> Parsed<String> {
    // An empty filter parses but silences every log line, which is never what was meant.
    if text.trim().is_empty() {
        return Err("must not be empty (use \"off\" to silence logging)".to_owned());
    }
    Targets::from_str(text).map_err(|e| format!("invalid filter {text:?}: {e}"))?;
    // A word that is not a level is a target, which keeps only that target's lines: "verbose"
    // would silence every line liqwave writes.
    let target = |d: &str| match d.split_once('=') {
        Some((target, _)) => Some(target.to_owned()),
        None => LevelFilter::from_str(d).is_err().then(|| d.to_owned()),
    };
    let known = |t: &String| {
        LOG_TARGETS
            .split(", ")
            .any(|c| *t == c || t.starts_with(&format!("{c}::")))
    };
    let directives = text.split(',').map(str::trim).filter(|d| !d.is_empty());
    match directives.filter_map(target).find(|t| !known(t)) {
        None => Ok(text.to_owned()),
        Some(t) => Err(format!(
            "{t:?} is neither a level (trace, debug, info, warn, error, off) nor a target liqwave \
             logs from ({LOG_TARGETS}); e.g. \"warn,liqwave=debug\""
        )),
    }
}

/// The crates of the binary that log through `tracing` (`cargo tree -e normal -i tracing`); the
/// others log through `log`, which the subscriber does not read.
const LOG_TARGETS: &str = "liqwave, reqwest, hyper_util, hyper_rustls, teloxide, teloxide_core";

section! {
    pub struct EngineConfig(t) {
        /// Of the source → engine channel; a full one blocks the source.
        pub input_capacity: usize = t.int("input_capacity", 4096, 1..=1_000_000),
        /// Worker threads for one input's pairs (a 5m close, a replay batch); 0: one per core.
        pub threads: usize = t.int("threads", 0, 0..=256),
    }
}

section! {
    /// Where alerts find their measured track record.
    #[derive(Default)]
    pub struct SignalConfig(t) {
        /// Written by `liqwave backtest --out`; `None`: alerts carry no track record.
        pub report: Option<PathBuf> = t.path("report"),
    }
}

/// From the top level `t`.
pub(super) fn signals(t: &Table) -> SignalParams {
    let (d, rsi) = (SignalParams::DEFAULT, t.table("rsi"));
    let period = rsi.int_field("period", d.rsi_period, 2..=100);
    let warmup = rsi.int_field("warmup_bars", d.warmup_bars, 1..=5000);
    let min_warmup = rsi.int_field("min_warmup_bars", d.min_warmup_bars, 1..=5000);
    // RSI needs period + 1 closes for its first value, so the minimum must exceed the period.
    rsi.order(&period, &min_warmup, true);
    rsi.order(&min_warmup, &warmup, false);
    SignalParams {
        rsi_period: period.value,
        warmup_bars: warmup.value,
        min_warmup_bars: min_warmup.value,
        regime: regime(&t.table("regime")),
        entry: EntryParams {
            rearm_gap: t
                .table("entry")
                .float("rearm_gap", d.entry.rearm_gap, 0.0..=25.0),
        },
        pivots: pivots(&t.table("divergence")),
    }
}

fn regime(t: &Table) -> RegimeThresholds {
    let (d, open) = (RegimeThresholds::CARDWELL, (Excluded(0.0), Excluded(100.0)));
    let bull_enter = t.float_field("bull_enter", d.bull_enter, open);
    let bull_exit = t.float_field("bull_exit", d.bull_exit, open);
    let bear_enter = t.float_field("bear_enter", d.bear_enter, open);
    let bear_exit = t.float_field("bear_exit", d.bear_exit, open);
    // bear_enter < bull_exit ≤ 50 ≤ bear_exit < bull_enter: each regime is entered beyond the
    // other's exit, and each exit sits on its own side of the midline.
    let midline = |exit: &Field<f64>, wrong_side: bool, bound: &str| {
        if exit.valid && wrong_side {
            let message = format!("must be {bound} 50 (the midline), got {}", exit.value);
            t.report(&exit.at, message);
        }
    };
    t.order(&bear_enter, &bull_exit, true);
    midline(&bull_exit, bull_exit.value > 50.0, "at most");
    midline(&bear_exit, bear_exit.value < 50.0, "at least");
    t.order(&bear_exit, &bull_enter, true);
    RegimeThresholds {
        bull_enter: bull_enter.value,
        bull_exit: bull_exit.value,
        bear_enter: bear_enter.value,
        bear_exit: bear_exit.value,
    }
}

fn pivots(t: &Table) -> [PivotParams; 3] {
    let d = PivotParams::TRADINGVIEW;
    let left = t.int("lookback_left", d.left, 1..=50);
    let right = t.int("lookback_right", d.right, 1..=50);
    let lower = t.int_field("range_lower", d.range_lower, 0..=500);
    let upper = t.int_field("range_upper", d.range_upper, 0..=500);
    t.order(&lower, &upper, false);
    // Overrides of `lookback_right` for 4h, 1d and 1w, in that order.
    let by = t.table("lookback_right_by_interval");
    ["4h", "1d", "1w"].map(|tf| PivotParams {
        left,
        right: by.int(tf, right, 1..=50),
        range_lower: lower.value,
        range_upper: upper.value,
    })
}

pub(super) fn alerts(t: &Table) -> AlertSwitches {
    AlertSwitches {
        regime_timeframes: timeframes(t, "regime_timeframes", &[D1, W1]),
        midline_timeframes: timeframes(t, "midline_timeframes", &[D1]),
        divergence_timeframes: timeframes(t, "divergence_timeframes", &[H4, D1]),
        hidden_divergences: t.bool("hidden_divergences", false),
        allow_unconverged: t.bool("allow_unconverged", true),
    }
}

/// A list of signal timeframes, each at most once.
fn timeframes(t: &Table, key: &'static str, default: &[Interval]) -> Vec<Interval> {
    let options = intervals(&Interval::SIGNAL);
    let timeframe = |text: &str, seen: &[Interval]| match one_of(text, &options)? {
        tf if seen.contains(&tf) => Err(format!("duplicate timeframe {text:?}")),
        tf => Ok(tf),
    };
    t.list(key, None, timeframe)
        .unwrap_or_else(|| default.to_vec())
}
