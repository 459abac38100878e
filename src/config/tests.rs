//! Unit tests of the config module: shipped files, defaults, units, path resolution, normalisation
//! and line lookup. The broken-file table lives in `tests/config.rs`.

use std::path::{Path, PathBuf};

use super::locate::{KeyPath, Seg, line_col};
use super::*;
use crate::analytics::heatmap::LeverageTier;
use crate::analytics::{PivotParams, SignalParams};
use crate::model::{AlertKind, HOUR_MS, MINUTE_MS};
use crate::rules::{
    ClusterLabel, ClusterRuleParams, ExitParams, FundingParams, KindFilter, Mute, Route,
    SetupParams,
};

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

#[test]
fn an_empty_file_gives_every_default() {
    let config = parse("");
    assert_eq!(config.signals, SignalParams::DEFAULT);
    assert_eq!(config.symbols, SymbolFilter::default());
    assert_eq!(
        config.alerts,
        AlertSwitches {
            regime_timeframes: vec![Interval::D1, Interval::W1],
            midline_timeframes: vec![Interval::D1],
            divergence_timeframes: vec![Interval::H4, Interval::D1],
            hidden_divergences: false,
            allow_unconverged: true,
        }
    );
    assert_eq!(
        config.replay,
        ReplayConfig {
            data_dir: None,
            source_interval: Interval::M5
        }
    );
    let console = ConsoleSinkConfig {
        enabled: true,
        format: ConsoleFormat::Text,
        jsonl_path: None,
    };
    assert_eq!(
        config.sinks,
        SinksConfig {
            console,
            file: None,
            telegram: None,
            email: None,
        }
    );
    assert_eq!(
        config.store,
        StoreConfig {
            path: None,
            cache_bytes: 64 << 20
        }
    );
    assert_eq!(config.delivery.max_attempts, 12);
    assert_eq!(config.delivery.shutdown_deadline.as_secs(), 10);
    assert_eq!(
        config.summary,
        SummaryConfig {
            enabled: true,
            at: jiff::civil::Time::constant(8, 0, 0, 0),
            tz: jiff::tz::TimeZone::get("UTC").unwrap(),
            grace: Duration::from_secs(3 * 3600),
        }
    );
    assert_eq!(
        config.log,
        LogConfig {
            filter: "info".to_owned(),
            format: LogFormat::Auto
        }
    );
    assert_eq!(
        config.engine,
        EngineConfig {
            input_capacity: 4096
        }
    );
    assert_eq!(config.heatmap, HeatmapConfig::default());
    assert_eq!(config.rules, RuleParams::DEFAULT);
    assert_eq!(config.mutes, Mutes::default());
    assert_eq!(config.routes, Routes::defaults());
}

#[test]
fn the_production_example_spells_out_the_defaults() {
    let config = load(&shipped("liqwave.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config, parse(""));
}

#[test]
fn the_demo_points_at_the_bundled_fixtures() {
    let config = load(&shipped("demo.toml")).unwrap_or_else(|e| panic!("{e}"));
    let data_dir = config.replay.data_dir.expect("demo sets replay.data_dir");
    assert!(
        data_dir.join("klines/5m").is_dir(),
        "{}",
        data_dir.display()
    );
    assert_eq!(config.replay.source_interval, Interval::M5);
    assert_eq!(config.signals.min_warmup_bars, 30);
    assert_eq!(config.signals.warmup_bars, 250);
    assert_eq!(
        config.alerts.regime_timeframes,
        [Interval::H4, Interval::D1]
    );
    assert_eq!(
        config.alerts.midline_timeframes,
        [Interval::H4, Interval::D1]
    );
    assert_eq!(
        config.alerts.divergence_timeframes,
        [Interval::H4, Interval::D1]
    );
    assert_eq!(config.sinks.console.jsonl_path, None);
}

#[test]
fn relative_paths_resolve_against_the_config_directory() {
    let config =
        parse("[replay]\ndata_dir = \"data\"\n[sinks.console]\njsonl_path = \"../a.jsonl\"");
    assert_eq!(
        config.replay.data_dir,
        Some(PathBuf::from("/etc/liqwave/data"))
    );
    let jsonl = config.sinks.console.jsonl_path;
    assert_eq!(jsonl, Some(PathBuf::from("/etc/liqwave/../a.jsonl")));
    let config = parse("[replay]\ndata_dir = \"/var/lib/liqwave\"");
    assert_eq!(
        config.replay.data_dir,
        Some(PathBuf::from("/var/lib/liqwave"))
    );
    let config = parse("[signal]\nreport = \"track-record.json\"");
    let report = config.signal.report;
    assert_eq!(
        report,
        Some(PathBuf::from("/etc/liqwave/track-record.json"))
    );
    assert_eq!(parse("").signal.report, None);
    assert_eq!(
        problems("[signal]\nreports = \"x.json\""),
        ["line 2: signal.reports: unknown key, expected one of: report"]
    );
    assert_eq!(
        problems("[signal]\nreport = \"\""),
        ["line 2: signal.report: must not be empty (leave the key out instead)"]
    );
}

#[test]
fn symbols_are_normalised_to_upper_case() {
    let config = parse("[symbols]\ninclude = [\"btcusdt\", \"EthUsdt\"]\nexclude = [\"solusdt\"]");
    let names: Vec<&str> = config.symbols.include.iter().map(Symbol::as_str).collect();
    assert_eq!(names, ["BTCUSDT", "ETHUSDT"]);
    assert!(config.symbols.accepts(&"BTCUSDT".parse().unwrap()));
    assert!(!config.symbols.accepts(&"SOLUSDT".parse().unwrap()));
    let twice = problems("[symbols]\ninclude = [\"btcusdt\", \"BTCUSDT\"]");
    assert_eq!(
        twice,
        ["line 2: symbols.include[1]: duplicate symbol BTCUSDT"]
    );
}

#[test]
fn lookback_right_can_differ_per_timeframe() {
    let config = parse(
        "[divergence]\nlookback_left = 4\nlookback_right = 3\n\
         [divergence.lookback_right_by_interval]\n1w = 2",
    );
    let pivots = |right| PivotParams {
        left: 4,
        right,
        range_lower: 5,
        range_upper: 60,
    };
    assert_eq!(config.signals.pivots, [pivots(3), pivots(3), pivots(2)]);
    assert_eq!(config.signals.pivots_for(Interval::W1).right, 2);
}

#[test]
fn numbers_may_be_written_as_integers_or_floats() {
    let config = parse("[regime]\nbull_enter = 75\nbear_exit = 62.5\n[entry]\nrearm_gap = 0");
    assert_eq!(config.signals.regime.bull_enter, 75.0);
    assert_eq!(config.signals.regime.bear_exit, 62.5);
    assert_eq!(config.signals.entry.rearm_gap, 0.0);
}

#[test]
fn a_relation_broken_by_a_default_blames_the_key_that_was_set() {
    // bull_exit = 25 is in range, but not above the default bear_enter of 30.
    let got = problems("[regime]\nbull_exit = 25");
    assert_eq!(
        got,
        ["line 2: regime.bull_exit: must be above regime.bear_enter (30), got 25"]
    );
    let got = problems("[rsi]\nmin_warmup_bars = 14");
    assert_eq!(
        got,
        ["line 2: rsi.min_warmup_bars: must be above rsi.period (14), got 14"]
    );
}

#[test]
fn an_out_of_range_value_is_not_reported_again_through_a_relation() {
    let got = problems("[regime]\nbull_exit = 0\n[rsi]\nperiod = 500\nmin_warmup_bars = 20");
    assert_eq!(
        got,
        [
            "line 2: regime.bull_exit: must be strictly between 0 and 100, got 0",
            "line 4: rsi.period: must be between 2 and 100, got 500",
        ]
    );
}

#[test]
fn keys_in_inline_tables_and_dotted_keys_have_lines() {
    let got = problems("rsi = { period = 1 }\n\nregime.bull_enter = 101\n");
    assert_eq!(
        got,
        [
            "line 1: rsi.period: must be between 2 and 100, got 1",
            "line 3: regime.bull_enter: must be strictly between 0 and 100, got 101",
        ]
    );
}

#[test]
fn unknown_keys_with_odd_names_are_quoted() {
    let got = problems("[log]\n\"two words\" = 1");
    assert_eq!(
        got,
        ["line 2: log.\"two words\": unknown key, expected one of: filter, format"]
    );
}

#[test]
fn a_secret_at_the_top_level_gets_the_environment_hint() {
    let got = problems("telegram_bot_token = \"123:abc\"");
    assert_eq!(
        got,
        [
            "line 1: telegram_bot_token: unknown key (secrets are read from the environment, never \
          from the config file)"
        ]
    );
}

#[test]
fn key_paths_round_trip_through_text() {
    let path = KeyPath::parse("alerts.regime_timeframes[2]");
    let segs = [
        Seg::Key("alerts".into()),
        Seg::Key("regime_timeframes".into()),
        Seg::Index(2),
    ];
    assert_eq!(path.0, segs);
    assert_eq!(path.to_string(), "alerts.regime_timeframes[2]");
}

#[test]
fn columns_count_characters_not_bytes() {
    assert_eq!(line_col("a = \"é\"\nbc", 0), (1, 1));
    assert_eq!(line_col("a = \"é\"\nbc", 7), (1, 7));
    assert_eq!(line_col("a = \"é\"\nbc", 10), (2, 2));
}

#[test]
fn problems_display_with_and_without_a_line() {
    let mut problem = Problem {
        path: "rsi.period".into(),
        message: "bad".into(),
        line: Some(7),
    };
    assert_eq!(problem.to_string(), "line 7: rsi.period: bad");
    problem.line = None;
    assert_eq!(problem.to_string(), "rsi.period: bad");
}

#[test]
fn heatmap_keys_land_in_the_model_in_its_units() {
    let config = parse(
        "[heatmap]\nbin_bp = 25\nwindow_bins = 4096\nreanchor_margin = 0.1\n\
         leverage_tiers = [2, 10.5]\ntier_weights = [3, 1]\nsmear = 0.2\nsmear_min_bins = 2\n\
         smear_cutoff_sigmas = 4\ntaker_kappa = 0.5\ntaker_share_min = 0.3\n\
         taker_share_max = 0.7\nhalf_life_hours = 12.5\nvolume_proxy_factor = 0.1\n\
         [heatmap.clusters]\nwindow_atr_mult = 5\nwindow_min_pct = 4\nwindow_max_pct = 20\n\
         fallback_atr_pct = 2.5\nhot_background_mult = 2\nhot_percentile = 0.9\n\
         background_min_count = 20\nmerge_gap_bins = 0\nmin_share_pct = 5\nisolation_cap = 8\n\
         fuel_atr_mult = 1.5\nid_match_bins = 6",
    );
    let tier = |leverage, weight| LeverageTier { leverage, weight };
    let model = HeatmapParams {
        bin_bp: 25.0,
        window_bins: 4096,
        reanchor_margin: 0.1,
        tiers: vec![tier(2.0, 3.0), tier(10.5, 1.0)],
        smear_rel: 0.2,
        smear_min_bins: 2.0,
        smear_cutoff_sigmas: 4.0,
        taker_kappa: 0.5,
        taker_share_min: 0.3,
        taker_share_max: 0.7,
        half_life_ms: 12 * HOUR_MS + 30 * 60_000,
        volume_proxy_factor: 0.1,
    };
    let clusters = ClusterParams {
        window_atr_mult: 5.0,
        window_min: 0.04,
        window_max: 0.20,
        fallback_atr_frac: 0.025,
        hot_background_mult: 2.0,
        hot_percentile: 0.9,
        background_min_count: 20,
        merge_gap_bins: 0,
        min_share: 0.05,
        isolation_cap: 8.0,
        fuel_atr_mult: 1.5,
        id_match_bins: 6,
    };
    assert_eq!(config.heatmap, HeatmapConfig { model, clusters });
    assert_eq!(config.heatmap.model.problems(), Vec::<String>::new());
    // A key left out keeps the model's default, in the model's units.
    let config = parse("[heatmap.clusters]\nwindow_min_pct = 10");
    assert_eq!(config.heatmap.clusters.window_max, 0.30);
    assert_eq!(config.heatmap.model, HeatmapParams::default());
}

#[test]
fn a_tier_list_that_does_not_pair_up_blames_the_list_that_was_written() {
    let got = problems("[heatmap]\nleverage_tiers = [5, 10]");
    assert_eq!(
        got,
        [
            "line 2: heatmap.leverage_tiers: has 2 entries but heatmap.tier_weights has 8, its \
             default; the two lists pair up one to one"
        ]
    );
    let got = problems("[heatmap]\nleverage_tiers = []\ntier_weights = [0, 0]");
    assert_eq!(
        got,
        ["line 2: heatmap.leverage_tiers: must list at least one leverage"]
    );
    let got = problems("[heatmap]\nleverage_tiers = [5, 1]\ntier_weights = [0, 0]");
    assert_eq!(
        got,
        [
            "line 2: heatmap.leverage_tiers[1]: must be above 1 and at most 1000, got 1",
            "line 3: heatmap.tier_weights: must have at least one weight above 0",
        ]
    );
}

#[test]
fn rules_mutes_and_routes_land_in_their_units() {
    let config = parse(
        "[rules]\nbias_timeframe = \"4h\"\ncooldown_minutes = 90\n\
         [rules.clusters]\nmin_density = 6\nmin_share_pct = 7.5\nmin_age_steps = 3\n\
         approach_pct = 1.2\napproach_atr_mult = 0.75\nrearm_mult = 3\n\
         [rules.setup]\ntimeframe = \"1d\"\nmin_reward_risk = 2.5\nfee_pct = 0.08\n\
         min_thin_approach = 0.25\n\
         [rules.exit]\ntimeframe = \"1d\"\ntouch_window_hours = 36.5\n\
         [rules.funding]\ncrowded_longs_above_pct = 0.03\ncrowded_shorts_below_pct = -0.01\n\
         [[mutes]]\nsymbol = \"dogeusdt\"\nkind = \"cluster_edge\"\n\
         until = \"2025-07-01T00:00:00Z\"\n\
         [[mutes]]\nsymbol = \"SOLUSDT\"\nuntil = 2025-07-02T12:30:00Z\n\
         [[routes]]\nsink = \"telegram\"\nkinds = [\"setup_entry\", \"cluster_edge:magnet\"]\n\
         symbols = [\"btcusdt\"]\n\
         [[routes]]\nsink = \"console\"\nkinds = [\"daily_summary\"]",
    );
    let rules = RuleParams {
        bias_timeframe: Interval::H4,
        cooldown_ms: 90 * MINUTE_MS,
        clusters: ClusterRuleParams {
            min_density: 6.0,
            min_share: 0.075,
            min_age_steps: 3,
            approach_frac: 0.012,
            approach_atr_mult: 0.75,
            rearm_mult: 3.0,
        },
        setup: SetupParams {
            timeframe: Interval::D1,
            min_reward_risk: 2.5,
            fee_frac: 0.0008,
            min_thin_approach: 0.25,
        },
        exit: ExitParams {
            timeframe: Interval::D1,
            touch_window_ms: 36 * HOUR_MS + 30 * MINUTE_MS,
        },
        funding: FundingParams {
            crowded_longs_above: 0.0003,
            crowded_shorts_below: -0.0001,
        },
    };
    assert_eq!(config.rules, rules);
    let symbol = |s: &str| s.parse::<Symbol>().unwrap();
    // 2025-07-01 00:00 and 2025-07-02 12:30 UTC; a bare TOML datetime reads like the string.
    let mutes = Mutes::new(vec![
        Mute {
            symbol: symbol("DOGEUSDT"),
            kind: Some(AlertKind::ClusterEdge),
            until: 1_751_328_000_000,
        },
        Mute {
            symbol: symbol("SOLUSDT"),
            kind: None,
            until: 1_751_459_400_000,
        },
    ]);
    assert_eq!(config.mutes, mutes);
    // The routes written replace the defaults: nothing else reaches email, nor the console.
    let magnet_edge = KindFilter {
        kind: AlertKind::ClusterEdge,
        label: Some(ClusterLabel::Magnet),
    };
    let routes = Routes::new(vec![
        Route {
            sink: "telegram".to_owned(),
            kinds: vec![KindFilter::kind(AlertKind::SetupEntry), magnet_edge],
            symbols: vec![symbol("BTCUSDT")],
        },
        Route {
            sink: "console".to_owned(),
            kinds: vec![KindFilter::kind(AlertKind::DailySummary)],
            symbols: Vec::new(),
        },
    ]);
    assert_eq!(config.routes, routes);
}

#[test]
fn a_key_left_out_of_rules_keeps_its_default() {
    let config = parse(
        "[rules.funding]\ncrowded_shorts_below_pct = -0.02\n[rules.exit]\ntimeframe = \"1d\"",
    );
    let d = RuleParams::DEFAULT;
    assert_eq!(config.rules.funding.crowded_shorts_below, -0.0002);
    assert_eq!(
        config.rules.funding.crowded_longs_above,
        d.funding.crowded_longs_above
    );
    assert_eq!(config.rules.exit.touch_window_ms, d.exit.touch_window_ms);
    assert_eq!(config.rules.clusters, d.clusters);
    assert_eq!(config.routes, Routes::defaults());
}

#[test]
fn summary_keys_land_in_local_time_and_zone() {
    let config = parse(
        "[summary]\nenabled = false\nat = \"23:05\"\ntz = \"America/New_York\"\n\
         grace_minutes = 0",
    );
    let summary = config.summary;
    assert!(!summary.enabled);
    assert_eq!(summary.at, jiff::civil::Time::constant(23, 5, 0, 0));
    assert_eq!(summary.tz.iana_name(), Some("America/New_York"));
    assert_eq!(summary.grace, Duration::ZERO);
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
fn telegram_commands_are_answered_unless_turned_off() {
    let commands = |text: &str| parse(text).sinks.telegram.map(|t| t.commands);
    assert_eq!(commands("[sinks.telegram]\nchat_ids = [1]"), Some(true));
    let off = "[sinks.telegram]\nchat_ids = [1]\ncommands = false";
    assert_eq!(commands(off), Some(false));
}

#[test]
fn missing_required_keys_are_reported_on_the_line_of_their_table() {
    let got = problems("[[mutes]]\nkind = \"divergence\"\n\n[[routes]]\nsymbols = []");
    assert_eq!(
        got,
        [
            "line 1: mutes[0].symbol: is required",
            "line 1: mutes[0].until: is required",
            "line 4: routes[0].sink: is required",
            "line 4: routes[0].kinds: is required",
        ]
    );
    let got = problems("routes = []");
    assert_eq!(
        got,
        ["line 1: routes: must list at least one route (leave it out for the default routes)"]
    );
}

/// The commented-out block of `liqwave.toml` that starts with the line `# {header}`, uncommented.
fn commented_example(text: &str, header: &str) -> String {
    let start = text
        .lines()
        .position(|line| line.strip_prefix("# ") == Some(header))
        .unwrap_or_else(|| panic!("liqwave.toml has no commented {header}"));
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
    let mutes = commented_example(&text, "[[mutes]]");
    let config = parse(&mutes);
    let mute = config.mutes.iter().next().expect("the example has a mute");
    assert_eq!(mute.symbol.as_str(), "DOGEUSDT");
    assert_eq!(mute.kind, Some(AlertKind::ClusterEdge));
}

#[test]
fn binance_defaults_and_a_local_fake() {
    let d = parse("").binance;
    assert_eq!(d.rest_url, "https://fapi.binance.com");
    assert_eq!(d.ws_url, "wss://fstream.binance.com/market");
    assert_eq!((d.weight_limit_per_min, d.weight_share), (2400, 0.8));
    assert_eq!((d.warmup_days, d.streams_per_connection), (3, 200));
    assert_eq!(d.request_timeout, Duration::from_secs(10));
    assert_eq!(d.discovery_interval, Duration::from_secs(3600));
    assert_eq!(d.open_interest_interval, Duration::from_secs(300));
    let fake =
        parse("[binance]\nrest_url = \"http://127.0.0.1:9/\"\nws_url = \"ws://127.0.0.1:9\"");
    assert_eq!(fake.binance.rest_url, "http://127.0.0.1:9");
    assert_eq!(fake.binance.ws_url, "ws://127.0.0.1:9");
}
