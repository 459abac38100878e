//! Unit tests of the config module: shipped files, defaults, units, path resolution, normalisation
//! and line lookup, mostly as tables of one case per line. The broken-file table lives in
//! `tests/it/config.rs`.

use std::fmt::Debug;
use std::path::{Path, PathBuf};

use super::read::{join, line_col};
use super::*;
use crate::analytics::SignalParams;
use crate::model::{AlertKind, Interval, Symbol};
use crate::rules::{Mutes, Routes, RuleParams};

fn parse(text: &str) -> Config {
    from_toml_str(text, Path::new("/etc/liqwave")).unwrap_or_else(|e| panic!("{e}"))
}

fn problems(text: &str) -> Vec<String> {
    match from_toml_str(text, Path::new("/etc/liqwave")) {
        Err(ConfigError::Invalid(problems)) => problems.iter().map(ToString::to_string).collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join(name)
}

fn show(value: impl Debug) -> String {
    format!("{value:?}")
}

/// One line per case: a config text, a part of the config it gives (shown as `Debug`), and what
/// that part must be.
type Value = (&'static str, fn(&Config) -> String, &'static str);

#[rustfmt::skip] // one case per line, however long: adding a case is adding a line
const VALUES: &[Value] = &[
    // An empty file gives every default.
    ("", |c| show(&c.alerts), "AlertSwitches { regime_timeframes: [D1, W1], midline_timeframes: [D1], divergence_timeframes: [H4, D1], hidden_divergences: false, allow_unconverged: true }"),
    ("", |c| show(&c.replay), "ReplayConfig { data_dir: None, source_interval: M5, max_price_jump: 10.0 }"),
    ("[replay]\nmax_price_jump = 4", |c| show(c.replay.max_price_jump), "4.0"),
    ("", |c| show(&c.sinks), "SinksConfig { console: ConsoleSinkConfig { enabled: true, format: Text, jsonl_path: None }, file: None, telegram: None, email: None }"),
    ("", |c| show(&c.store), "StoreConfig { path: None, cache_bytes: 67108864 }"),
    ("", |c| show((c.delivery.max_attempts, c.delivery.shutdown_deadline)), "(12, 10s)"),
    ("", |c| show(c.delivery.digest_gather), "10s"),
    ("[delivery]\ndigest_gather_secs = 0", |c| show(c.delivery.digest_gather), "0ns"),
    ("", |c| show((c.summary.enabled, c.summary.at, c.summary.grace)), "(true, 08:00:00, 10800s)"),
    ("", |c| show(&c.log), "LogConfig { filter: \"info\", format: Auto }"),
    ("", |c| show(&c.engine), "EngineConfig { input_capacity: 4096, threads: 0 }"),
    ("", |c| show(&c.binance), "BinanceConfig { rest_url: \"https://fapi.binance.com\", ws_url: \"wss://fstream.binance.com/market\", weight_limit_per_min: 2400, weight_share: 0.8, warmup_days: 3, request_timeout: 10s, streams_per_connection: 200, discovery_interval: 3600s, open_interest_interval: 300s }"),
    ("", |c| show(&c.signal.report), "None"),
    // Relative paths resolve against the config directory.
    ("[replay]\ndata_dir = \"data\"", |c| show(&c.replay.data_dir), "Some(\"/etc/liqwave/data\")"),
    ("[replay]\ndata_dir = \"/var/lib/liqwave\"", |c| show(&c.replay.data_dir), "Some(\"/var/lib/liqwave\")"),
    ("[sinks.console]\njsonl_path = \"../a.jsonl\"", |c| show(&c.sinks.console.jsonl_path), "Some(\"/etc/liqwave/../a.jsonl\")"),
    ("[signal]\nreport = \"track-record.json\"", |c| show(&c.signal.report), "Some(\"/etc/liqwave/track-record.json\")"),
    ("[sinks.email]\nsmtp_host = \"smtp.example.com\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\nca_file = \"ca.pem\"", |c| show(c.sinks.email.as_ref().map(|e| &e.ca_file)), "Some(Some(\"/etc/liqwave/ca.pem\"))"),
    // Symbols are normalised to upper case.
    ("[symbols]\ninclude = [\"btcusdt\", \"EthUsdt\"]\nexclude = [\"solusdt\"]", |c| show(&c.symbols), "SymbolFilter { include: [BTCUSDT, ETHUSDT], exclude: [SOLUSDT] }"),
    // lookback_right can differ per timeframe (4h, 1d, 1w).
    ("[divergence]\nlookback_left = 4\nlookback_right = 3\n[divergence.lookback_right_by_interval]\n1w = 2", |c| show(c.signals.pivots.map(|p| (p.left, p.right, p.range_lower, p.range_upper))), "[(4, 3, 5, 60), (4, 3, 5, 60), (4, 2, 5, 60)]"),
    ("[divergence]\nlookback_left = 4\nlookback_right = 3\n[divergence.lookback_right_by_interval]\n1w = 2", |c| show(c.signals.pivots_for(Interval::W1).right), "2"),
    // Numbers may be written as integers or floats.
    ("[regime]\nbull_enter = 75\nbear_exit = 62.5\n[entry]\nrearm_gap = 0", |c| show((c.signals.regime.bull_enter, c.signals.regime.bear_exit, c.signals.entry.rearm_gap)), "(75.0, 62.5, 0.0)"),
    // Heatmap keys land in the model in its units; a key left out keeps the model's default.
    (HEATMAP, |c| show(&c.heatmap.model), "HeatmapParams { bin_bp: 25.0, window_bins: 4096, reanchor_margin: 0.1, tiers: [LeverageTier { leverage: 2.0, weight: 3.0 }, LeverageTier { leverage: 10.5, weight: 1.0 }], smear_rel: 0.2, smear_min_bins: 2.0, smear_cutoff_sigmas: 4.0, taker_kappa: 0.5, taker_share_min: 0.3, taker_share_max: 0.7, half_life_ms: 45000000, volume_proxy_factor: 0.1 }"),
    (HEATMAP, |c| show(c.heatmap.clusters), "ClusterParams { window_atr_mult: 5.0, window_min: 0.04, window_max: 0.2, fallback_atr_frac: 0.025, hot_background_mult: 2.0, hot_percentile: 0.9, background_min_count: 20, merge_gap_bins: 0, min_share: 0.05, isolation_cap: 8.0, fuel_atr_mult: 1.5, id_match_bins: 6 }"),
    (HEATMAP, |c| show(c.heatmap.model.problems()), "[]"),
    ("[heatmap.clusters]\nwindow_min_pct = 10", |c| show((c.heatmap.clusters.window_max, c.heatmap.model == Default::default())), "(0.3, true)"),
    // Rules, mutes and routes land in their units; the routes written replace the defaults.
    (RULES, |c| show(c.rules), "RuleParams { bias_timeframe: H4, cooldown_ms: 5400000, clusters: ClusterRuleParams { min_density: 6.0, min_share: 0.075, min_age_steps: 3, approach_frac: 0.012, approach_atr_mult: 0.75, rearm_mult: 3.0, retouch_quiet_ms: 21600000 }, setup: SetupParams { timeframe: D1, min_reward_risk: 2.5, fee_frac: 0.0008, min_thin_approach: 0.25 }, exit: ExitParams { timeframe: D1, touch_window_ms: 131400000 }, funding: FundingParams { crowded_longs_above: 0.0003, crowded_shorts_below: -0.0001 }, playbook: PlaybookParams { impulse_timeframe: D1, ignition_atr_mult: 2.5, ignition_close_position: 0.8, bounce_retrace: 0.5, leg_max_bars: 6, reversal_4h: false, reversal_1d: true, reversal_stop_atr: 0.5, convergence_entries: 12 } }"),
    (RULES, |c| show(&c.mutes), "Mutes([Mute { symbol: DOGEUSDT, kind: Some(ClusterEdge), until: 1751328000000 }, Mute { symbol: SOLUSDT, kind: None, until: 1751459400000 }])"),
    (RULES, |c| show(&c.routes), "Routes([Route { sink: \"telegram\", kinds: [KindFilter { kind: SetupEntry, label: None }, KindFilter { kind: ClusterEdge, label: Some(Magnet) }], symbols: [BTCUSDT] }, Route { sink: \"console\", kinds: [KindFilter { kind: DailySummary, label: None }], symbols: [] }])"),
    // A key left out of [rules] keeps its default.
    ("[rules.funding]\ncrowded_shorts_below_pct = -0.02\n[rules.exit]\ntimeframe = \"1d\"", |c| show((c.rules.funding.crowded_shorts_below, c.rules.funding.crowded_longs_above, c.rules.exit.touch_window_ms)), "(-0.0002, 0.0001, 172800000)"),
    ("[rules.exit]\ntimeframe = \"1d\"", |c| show((c.rules.clusters == RuleParams::DEFAULT.clusters, c.routes == Routes::defaults())), "(true, true)"),
    // Summary keys land in local time and zone.
    ("[summary]\nenabled = false\nat = \"23:05\"\ntz = \"America/New_York\"\ngrace_minutes = 0", |c| show((c.summary.enabled, c.summary.at, c.summary.tz.iana_name(), c.summary.grace)), "(false, 23:05:00, Some(\"America/New_York\"), 0ns)"),
    // Telegram commands are answered unless turned off.
    ("[sinks.telegram]\nchat_ids = [1]", |c| show(c.sinks.telegram.as_ref().map(|t| t.commands)), "Some(true)"),
    ("[sinks.telegram]\nchat_ids = [1]\ncommands = false", |c| show(c.sinks.telegram.as_ref().map(|t| t.commands)), "Some(false)"),
    // The cascade-loading score's keys land as fractions and hours; the calendar sorts by time.
    ("", |c| show(&c.cascade), "CascadeConfig { loading: LoadingParams { cluster_max: 0.03, oi_hours: 24, oi_rise: 0.05, oi_flat_range: 0.03, funding_streak: 6, spot_hours: 24, spot_move: 0.03, spot_ratio: 0.7, thin_ratio: 0.5, sweep_hours: 24, sweeps: 2, calendar_hours: 24 }, alert_level: 0.75, min_known: 4 }"),
    ("[cascade]\ncluster_max_pct = 2.5\noi_hours = 12\noi_rise_pct = 8\noi_flat_range_pct = 2\nfunding_streak = 3\nspot_hours = 20\nspot_move_pct = 4\nspot_ratio = 0.6\nthin_ratio = 0.4\nsweep_hours = 6\nsweeps = 3\ncalendar_hours = 48\nalert_level = 0.6\nmin_known = 5", |c| show(&c.cascade), "CascadeConfig { loading: LoadingParams { cluster_max: 0.025, oi_hours: 12, oi_rise: 0.08, oi_flat_range: 0.02, funding_streak: 3, spot_hours: 20, spot_move: 0.04, spot_ratio: 0.6, thin_ratio: 0.4, sweep_hours: 6, sweeps: 3, calendar_hours: 48 }, alert_level: 0.6, min_known: 5 }"),
    ("", |c| show(&c.calendar), "[]"),
    ("[[calendar]]\ntime = \"2026-01-28T19:00:00Z\"\nname = \"FOMC\"\n[[calendar]]\ntime = 2026-01-13T13:30:00Z\nname = \" US CPI \"", |c| show(&c.calendar), "[CalendarEntry { time_ms: 1768311000000, name: \"US CPI\" }, CalendarEntry { time_ms: 1769626800000, name: \"FOMC\" }]"),
    // A local fake for Binance; the trailing slash goes.
    ("", |c| show(&c.venues.bybit), "VenueConfig { enabled: false, rest_url: \"https://api.bybit.com\", ws_url: \"wss://stream.bybit.com/v5/public/linear\", include: [], streams_per_connection: 150 }"),
    ("[venues.okx]\nenabled = true\ninclude = [\"btcusdt\", \"OKX:ETHUSDT\"]\nrest_url = \"http://127.0.0.1:9\"", |c| show(&c.venues.okx), "VenueConfig { enabled: true, rest_url: \"http://127.0.0.1:9\", ws_url: \"wss://ws.okx.com:8443/ws/v5/public\", include: [\"BTCUSDT\", \"ETHUSDT\"], streams_per_connection: 200 }"),
    ("", |c| show(&c.spot), "SpotConfig { enabled: false, rest_url: \"https://api.binance.com\", ws_url: \"wss://stream.binance.com:9443\" }"),
    ("[spot]\nenabled = true\nrest_url = \"http://127.0.0.1:9/\"\nws_url = \"ws://127.0.0.1:9\"", |c| show(&c.spot), "SpotConfig { enabled: true, rest_url: \"http://127.0.0.1:9\", ws_url: \"ws://127.0.0.1:9\" }"),
    ("[binance]\nrest_url = \"http://127.0.0.1:9/\"\nws_url = \"ws://127.0.0.1:9/market/\"", |c| show((&c.binance.rest_url, &c.binance.ws_url)), "(\"http://127.0.0.1:9\", \"ws://127.0.0.1:9/market\")"),
];

const HEATMAP: &str = "[heatmap]\nbin_bp = 25\nwindow_bins = 4096\nreanchor_margin = 0.1\n\
    leverage_tiers = [2, 10.5]\ntier_weights = [3, 1]\nsmear = 0.2\nsmear_min_bins = 2\n\
    smear_cutoff_sigmas = 4\ntaker_kappa = 0.5\ntaker_share_min = 0.3\ntaker_share_max = 0.7\n\
    half_life_hours = 12.5\nvolume_proxy_factor = 0.1\n[heatmap.clusters]\nwindow_atr_mult = 5\n\
    window_min_pct = 4\nwindow_max_pct = 20\nfallback_atr_pct = 2.5\nhot_background_mult = 2\n\
    hot_percentile = 0.9\nbackground_min_count = 20\nmerge_gap_bins = 0\nmin_share_pct = 5\n\
    isolation_cap = 8\nfuel_atr_mult = 1.5\nid_match_bins = 6";

const RULES: &str = "[rules]\nbias_timeframe = \"4h\"\ncooldown_minutes = 90\n[rules.clusters]\n\
    min_density = 6\nmin_share_pct = 7.5\nmin_age_steps = 3\napproach_pct = 1.2\n\
    approach_atr_mult = 0.75\nrearm_mult = 3\nretouch_quiet_hours = 6\n[rules.setup]\ntimeframe = \"1d\"\n\
    min_reward_risk = 2.5\nfee_pct = 0.08\nmin_thin_approach = 0.25\n[rules.exit]\n\
    timeframe = \"1d\"\ntouch_window_hours = 36.5\n[rules.funding]\ncrowded_longs_above_pct = 0.03\n\
    crowded_shorts_below_pct = -0.01\n[rules.playbook]\nimpulse_timeframe = \"1d\"\n\
    ignition_atr_mult = 2.5\nignition_close_position = 0.8\nbounce_retrace = 0.5\nleg_max_bars = 6\n\
    reversal_timeframes = [\"1d\"]\nreversal_stop_atr = 0.5\nconvergence_entries = 12\n[[mutes]]\nsymbol = \"dogeusdt\"\nkind = \"cluster_edge\"\n\
    until = \"2025-07-01T00:00:00Z\"\n[[mutes]]\nsymbol = \"SOLUSDT\"\nuntil = 2025-07-02T12:30:00Z\n\
    [[routes]]\nsink = \"telegram\"\nkinds = [\"setup_entry\", \"cluster_edge:magnet\"]\n\
    symbols = [\"btcusdt\"]\n[[routes]]\nsink = \"console\"\nkinds = [\"daily_summary\"]";

#[test]
fn keys_land_in_the_config_in_its_units() {
    for (text, part, want) in VALUES {
        assert_eq!(part(&parse(text)), *want, "{text}");
    }
}

#[test]
fn an_empty_file_gives_every_default() {
    let c = parse("");
    assert_eq!(
        (c.signals, c.symbols),
        (SignalParams::DEFAULT, SymbolFilter::default())
    );
    assert_eq!(
        (c.heatmap, c.rules),
        (HeatmapConfig::default(), RuleParams::DEFAULT)
    );
    assert_eq!((c.mutes, c.routes), (Mutes::default(), Routes::defaults()));
    assert_eq!(c.summary.tz, jiff::tz::TimeZone::get("UTC").unwrap());
}

/// One line per case: a config text, then every problem it must yield, in order.
#[rustfmt::skip]
const PROBLEMS: &[(&str, &[&str])] = &[
    ("[signal]\nreports = \"x.json\"", &["line 2: signal.reports: unknown key, expected one of: report"]),
    ("[signal]\nreport = \"\"", &["line 2: signal.report: must not be empty (leave the key out instead)"]),
    ("[symbols]\ninclude = [\"btcusdt\", \"BTCUSDT\"]", &["line 2: symbols.include[1]: duplicate symbol BTCUSDT"]),
    // A relation broken by a default blames the key that was set.
    ("[regime]\nbull_exit = 25", &["line 2: regime.bull_exit: must be above regime.bear_enter (30), got 25"]),
    ("[rsi]\nmin_warmup_bars = 14", &["line 2: rsi.min_warmup_bars: must be above rsi.period (14), got 14"]),
    // An out-of-range value is not reported again through a relation.
    ("[regime]\nbull_exit = 0\n[rsi]\nperiod = 500\nmin_warmup_bars = 20", &["line 2: regime.bull_exit: must be strictly between 0 and 100, got 0", "line 4: rsi.period: must be between 2 and 100, got 500"]),
    // Keys in inline tables and dotted keys have lines.
    ("rsi = { period = 1 }\n\nregime.bull_enter = 101\n", &["line 1: rsi.period: must be between 2 and 100, got 1", "line 3: regime.bull_enter: must be strictly between 0 and 100, got 101"]),
    ("[log]\n\"two words\" = 1", &["line 2: log.\"two words\": unknown key, expected one of: filter, format"]),
    ("telegram_bot_token = \"123:abc\"", &["line 1: telegram_bot_token: unknown key (secrets are read from the environment, never from the config file)"]),
    // A tier list that does not pair up blames the list that was written.
    ("[heatmap]\nleverage_tiers = [5, 10]", &["line 2: heatmap.leverage_tiers: has 2 entries but heatmap.tier_weights has 8, its default; the two lists pair up one to one"]),
    ("[heatmap]\nleverage_tiers = []\ntier_weights = [0, 0]", &["line 2: heatmap.leverage_tiers: must list at least one leverage"]),
    ("[replay]\nmax_price_jump = 1", &["line 2: replay.max_price_jump: must be above 1 and at most 1000000, got 1"]),
    ("[heatmap]\nleverage_tiers = [5, 1]\ntier_weights = [0, 0]", &["line 2: heatmap.leverage_tiers[1]: must be above 1 and at most 1000, got 1", "line 3: heatmap.tier_weights: must have at least one weight above 0"]),
    // Missing required keys are reported on the line of their table.
    ("[[mutes]]\nkind = \"divergence\"\n\n[[routes]]\nsymbols = []", &["line 1: mutes[0].symbol: is required", "line 1: mutes[0].until: is required", "line 4: routes[0].sink: is required", "line 4: routes[0].kinds: is required"]),
    ("routes = []", &["line 1: routes: must list at least one route (leave it out for the default routes)"]),
    // A calendar entry with a problem is named by its index.
    ("[[calendar]]\ntime = \"2026-01-13T13:30:00Z\"\nname = \"CPI\"\n[[calendar]]\ntime = \"2026-01-28T19:00:00Z\"\nname = \"FOMC\"\n[[calendar]]\ntime = \"2026-13-01\"\nname = \"NFP\"", &["line 8: calendar[2].time: must be a UTC date and time such as \"2025-07-01T00:00:00Z\", got \"2026-13-01\""]),
    ("[[calendar]]\nname = \"\"\n[[calendar]]\ntime = 2026-01-13T13:30:00Z", &["line 1: calendar[0].time: is required", "line 2: calendar[0].name: must not be empty", "line 3: calendar[1].name: is required"]),
    ("[cascade]\noi_hours = 48\nsweeps = 0\nalert_level = 1.5\nmin_known = 9\nspot_ratio = 0", &["line 2: cascade.oi_hours: must be between 1 and 24, got 48", "line 3: cascade.sweeps: must be between 1 and 24, got 0", "line 4: cascade.alert_level: must be between 0 and 1, got 1.5", "line 5: cascade.min_known: must be between 1 and 8, got 9", "line 6: cascade.spot_ratio: must be above 0 and at most 10, got 0"]),
];

#[test]
fn broken_configs_report_every_problem() {
    for (text, want) in PROBLEMS {
        assert_eq!(problems(text), *want, "{text}");
    }
}

/// One line per rule about what a value would do at run time: a config text, then the start of
/// the one problem it gives (the messages go on to say why), or "" when it is accepted.
#[rustfmt::skip]
const RUN_VALUES: &[(&str, &str)] = &[
    // Only the routed /market endpoint delivers klines, on any host; a trailing slash is the same endpoint.
    ("[binance]\nws_url = \"wss://fstream.binance.com/ws\"", "line 2: binance.ws_url: must be the routed market endpoint such as \"wss://fstream.binance.com/market\""),
    ("[binance]\nws_url = \"wss://fstream.binance.com/stream\"", "line 2: binance.ws_url: must be the routed market endpoint"),
    ("[binance]\nws_url = \"wss://fstream.binance.com/market/ws\"", "line 2: binance.ws_url: must be the routed market endpoint"),
    ("[binance]\nws_url = \"wss://fstream.binance.com/market?x=1\"", "line 2: binance.ws_url: must be the routed market endpoint"),
    ("[binance]\nws_url = \"ws://127.0.0.1:9\"", "line 2: binance.ws_url: must be the routed market endpoint"),
    ("[binance]\nws_url = \"wss://fstream.binance.com/market/\"", ""),
    ("[binance]\nws_url = \"ws://[::1]:9/market\"", ""),
    // The REST client appends /fapi/v1/… itself.
    ("[binance]\nrest_url = \"https://fapi.binance.com/fapi/v1\"", "line 2: binance.rest_url: must have no path (only scheme://host[:port]; liqwave adds /fapi/v1/… itself), got \"https://fapi.binance.com/fapi/v1\""),
    ("[binance]\nrest_url = \"https://\"", "line 2: binance.rest_url: must be a https:// or http:// URL, got \"https://\""),
    ("[binance]\nrest_url = \"https://fapi.binance.com/\"", ""),
    // Each venue's pairs are its own; its REST client appends the paths; connections carry at most the venue's topics.
    ("[venues.bybit]\ninclude = [\"OKX:BTCUSDT\"]", "line 2: venues.bybit.include[0]: OKX:BTCUSDT is not a bybit pair"),
    ("[venues.bybit]\ninclude = [\"BTC-USDT\"]", "line 2: venues.bybit.include[0]: invalid symbol \"BTC-USDT\""),
    ("[venues.bybit]\ninclude = [\"bybit:BTCUSDT\", \"BTCUSDT\"]", "line 2: venues.bybit.include[1]: duplicate symbol BTCUSDT"),
    ("[venues.okx]\nstreams_per_connection = 5000", "line 2: venues.okx.streams_per_connection: must be between 1 and 1000, got 5000"),
    ("[venues.bybit]\nrest_url = \"https://api.bybit.com/v5\"", "line 2: venues.bybit.rest_url: must have no path"),
    ("[venues.okx]\nws_url = \"ws://127.0.0.1:9/ws/v5/public\"", ""),
    ("[spot]\nrest_url = \"https://api.binance.com/api/v3\"", "line 2: spot.rest_url: must have no path (only scheme://host[:port]; liqwave adds /api/v3/… and /stream?streams=… itself), got \"https://api.binance.com/api/v3\""),
    ("[spot]\nws_url = \"wss://stream.binance.com:9443/ws\"", "line 2: spot.ws_url: must have no path"),
    ("[spot]\nenabeld = true", "line 2: spot.enabeld: unknown key"),
    // The bot token travels in clear only to this machine.
    ("[sinks.telegram]\nchat_ids = [1]\napi_url = \"http://api.telegram.org\"", "line 3: sinks.telegram.api_url: must be https:// (the bot token is in every request) unless the host is loopback, got \"http://api.telegram.org\""),
    ("[sinks.telegram]\nchat_ids = [1]\napi_url = \"http://127.0.0.1.example.com:80\"", "line 3: sinks.telegram.api_url: must be https://"),
    ("[sinks.telegram]\nchat_ids = [1]\napi_url = \"ftp://api.telegram.org\"", "line 3: sinks.telegram.api_url: must be a https:// or http:// URL"),
    ("[sinks.telegram]\nchat_ids = [1]\napi_url = \"http://127.0.0.1:8081\"", ""),
    ("[sinks.telegram]\nchat_ids = [1]\napi_url = \"http://localhost:8081/\"", ""),
    ("[sinks.telegram]\nchat_ids = [1]\napi_url = \"http://[::1]:8081\"", ""),
    // And so does the SMTP password.
    ("[sinks.email]\nsmtp_host = \"smtp.example.com\"\ntls = \"none\"\nusername = \"u\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]", "line 3: sinks.email.tls: must not be \"none\" with a username (the password would cross the network in clear) unless smtp_host is loopback"),
    ("[sinks.email]\nsmtp_host = \"smtp.example.com\"\ntls = \"none\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]", ""),
    ("[sinks.email]\nsmtp_host = \"::1\"\ntls = \"none\"\nusername = \"u\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]", ""),
    ("[sinks.email]\nsmtp_host = \"smtp.example.com\"\ntls = \"none\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\nca_file = \"ca.pem\"", "line 6: sinks.email.ca_file: has no effect with tls = \"none\" (nothing is encrypted)"),
    ("[sinks.email]\nsmtp_host = \"localhost\"\ntls = \"none\"\nusername = \"u\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]", ""),
    // A word that is not a level is a target, which would keep only its own lines.
    ("[log]\nfilter = \"verbose\"", "line 2: log.filter: \"verbose\" is neither a level (trace, debug, info, warn, error, off) nor a target liqwave logs from (liqwave, reqwest, hyper_util, hyper_rustls, teloxide, teloxide_core); e.g. \"warn,liqwave=debug\""),
    ("[log]\nfilter = \"info,sled=debug\"", "line 2: log.filter: \"sled\" is neither a level"),
    ("[log]\nfilter = \"info,liqwaves=debug\"", "line 2: log.filter: \"liqwaves\" is neither a level"),
    ("[log]\nfilter = \"warn,liqwave::source=debug,reqwest=info\"", ""),
    ("[log]\nfilter = \"liqwave\"", ""),
    ("[log]\nfilter = \"DEBUG\"", ""),
    // An integer beyond i64 is out of range like any other.
    ("[store]\ncache_mb = 99999999999999999999", "line 2: store.cache_mb: must be between 1 and 4096, got 99999999999999999999"),
    ("[store]\ncache_mb = -99999999999999999999", "line 2: store.cache_mb: must be between 1 and 4096, got -99999999999999999999"),
    ("[delivery]\ndigest_gather_secs = 61", "line 2: delivery.digest_gather_secs: must be between 0 and 60, got 61"),
];

#[test]
fn values_that_would_fail_a_run_are_refused() {
    for (text, want) in RUN_VALUES {
        match from_toml_str(text, Path::new("/etc/liqwave")) {
            Ok(_) => assert_eq!(*want, "", "{text}: accepted"),
            Err(ConfigError::Invalid(p)) => {
                let got = p.iter().map(ToString::to_string).collect::<Vec<_>>();
                assert!(
                    got.len() == 1 && got[0].starts_with(want) && !want.is_empty(),
                    "{text}: {got:?}"
                );
            }
            Err(e) => panic!("{text}: {e}"),
        }
    }
}

/// One line per case: the `summary.at` as written, then whether it is a valid time of day.
#[rustfmt::skip]
const SUMMARY_TIMES: &[(&str, bool)] = &[
    ("00:00", true), ("23:59", true), ("07:05", true),
    ("24:00", false), ("12:60", false), ("8:00", false), ("08:0", false), ("08:00:00", false),
    ("0800", false), ("+8:00", false), ("08 00", false), ("", false), ("noon", false),
];

#[test]
fn summary_times_are_two_digit_hours_and_minutes() {
    for &(at, valid) in SUMMARY_TIMES {
        let text = format!("[summary]\nat = {at:?}");
        let result = from_toml_str(&text, Path::new("/etc/liqwave"));
        assert_eq!(result.is_ok(), valid, "{at:?}: {result:?}");
    }
}

#[test]
fn the_shipped_files_are_valid() {
    // The production example spells out the defaults.
    let config = load(&shipped("liqwave.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config, parse(""));
    // The demo points at the bundled fixtures.
    let demo = load(&shipped("demo.toml")).unwrap_or_else(|e| panic!("{e}"));
    let data_dir = demo
        .replay
        .data_dir
        .as_ref()
        .expect("demo sets replay.data_dir");
    assert!(
        data_dir.join("klines/5m").is_dir(),
        "{}",
        data_dir.display()
    );
    let (s, a) = (&demo.signals, &demo.alerts);
    assert_eq!(
        (
            demo.replay.source_interval,
            s.min_warmup_bars,
            s.warmup_bars
        ),
        (Interval::M5, 30, 250)
    );
    let both = [Interval::H4, Interval::D1];
    assert_eq!(
        [
            &a.regime_timeframes,
            &a.midline_timeframes,
            &a.divergence_timeframes
        ],
        [&both; 3]
    );
    assert_eq!(demo.sinks.console.jsonl_path, None);
}

/// The commented-out block of `liqwave.toml` that starts with the line `# {header}`, uncommented.
fn commented_example(text: &str, header: &str) -> String {
    let start = text
        .lines()
        .position(|line| line.strip_prefix("# ") == Some(header));
    let start = start.unwrap_or_else(|| panic!("liqwave.toml has no commented {header}"));
    let block = text.lines().skip(start).take_while(|l| l.starts_with('#'));
    let lines: Vec<&str> = block
        .map(|l| l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#')))
        .collect();
    lines.join("\n")
}

#[test]
fn the_commented_examples_in_the_production_file_are_valid() {
    let text = std::fs::read_to_string(shipped("liqwave.toml")).unwrap();
    let routes = commented_example(&text, "[[routes]]");
    assert_eq!(parse(&routes).routes, Routes::defaults(), "{routes}");
    let calendar = parse(&commented_example(&text, "[[calendar]]")).calendar;
    let entry = calendar.first().expect("the example has an entry");
    assert_eq!(
        (entry.time_ms, entry.name.as_str()),
        (1_768_311_000_000, "US CPI")
    );
    let config = parse(&commented_example(&text, "[[mutes]]"));
    let mute = config.mutes.iter().next().expect("the example has a mute");
    assert_eq!(
        (mute.symbol.as_str(), mute.kind),
        ("DOGEUSDT", Some(AlertKind::ClusterEdge))
    );
    let spot = parse(&commented_example(&text, "[spot]")).spot;
    assert!(spot.enabled && spot.rest_url == "https://api.binance.com");
    // Both venues' examples run on from `# [venues.bybit]` as one block.
    let venues = parse(&commented_example(&text, "[venues.bybit]")).venues;
    assert!(venues.bybit.enabled && venues.okx.enabled);
    assert_eq!(venues.okx.include, ["BTCUSDT", "ETHUSDT", "SOLUSDT"]);
}

#[test]
fn symbols_are_accepted_by_the_filter() {
    let config = parse("[symbols]\ninclude = [\"btcusdt\", \"EthUsdt\"]\nexclude = [\"solusdt\"]");
    let accepts = |s: &str| config.symbols.accepts(&s.parse::<Symbol>().unwrap());
    assert!(accepts("BTCUSDT") && !accepts("SOLUSDT"));
    // `[symbols]` is Binance's; another venue's pairs are its own `include`'s business.
    assert!(accepts("BYBIT:SOLUSDT") && accepts("OKX:DOGEUSDT"));
}

#[test]
fn positions_print_as_written() {
    assert_eq!(
        format!("{}[2]", join("alerts", "regime_timeframes")),
        "alerts.regime_timeframes[2]"
    );
    assert_eq!(
        (join("", "rsi"), join("log", "two words")),
        ("rsi".into(), "log.\"two words\"".into())
    );
    // Columns count characters, not bytes.
    assert_eq!(
        [0, 7, 10].map(|at| line_col("a = \"é\"\nbc", at)),
        [(1, 1), (1, 7), (2, 2)]
    );
    let mut problem = Problem {
        path: "rsi.period".into(),
        message: "bad".into(),
        line: Some(7),
    };
    assert_eq!(problem.to_string(), "line 7: rsi.period: bad");
    problem.line = None;
    assert_eq!(problem.to_string(), "rsi.period: bad");
}
