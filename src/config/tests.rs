//! Unit tests of the config module: shipped files, defaults, path resolution, normalisation and
//! line lookup. The broken-file table lives in `tests/config.rs`.

use std::path::{Path, PathBuf};

use super::locate::{KeyPath, Seg, line_col};
use super::*;
use crate::analytics::{PivotParams, SignalParams};

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
