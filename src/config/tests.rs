//! Unit tests of the config module: shipped files, defaults, path resolution, normalisation and
//! line lookup. The broken-file table lives in `tests/config.rs`.

use std::path::{Path, PathBuf};

use super::locate::{KeyPath, Seg, line_col};
use super::*;
use crate::analytics::heatmap::LeverageTier;
use crate::analytics::{PivotParams, SignalParams};
use crate::model::HOUR_MS;

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
    assert_eq!(config.sinks, SinksConfig { console });
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
