//! Broken config files yield every expected problem, in file order, with key path and line.
//! Owns the fixtures in `tests/fixtures/configs/`; must never depend on the CLI (its exit-code
//! test lives with the CLI).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use liqwave::cli::exit_code;
use liqwave::config::{self, ConfigError};

/// One line per fixture: the file, then one substring per reported message, in order. The count
/// must match too, so a stray extra problem fails the test.
#[rustfmt::skip] // one case per line, however long: adding a case is adding a line
const CASES: &[(&str, &[&str])] = &[
    ("rsi_period_zero.toml", &["line 3: rsi.period: must be between 2 and 100, got 0"]),
    ("unknown_keys.toml", &["line 3: symbols.inclde: unknown key", "line 7: rsi.warmup: unknown key"]),
    ("bad_interval.toml", &["line 6: alerts.regime_timeframes[2]: must be one of \"4h\", \"1d\", \"1w\", got \"2h\"", "line 10: replay.source_interval: must be one of \"1m\", \"5m\", got \"15m\""]),
    ("regime_order.toml", &["line 5: regime.bull_exit: must be at most 50", "line 7: regime.bear_exit: must be below regime.bull_enter (65), got 70"]),
    ("not_toml.toml", &["line 1, column 5: not valid toml"]),
    ("wrong_type.toml", &["line 3, column 10: rsi.period: invalid type: string \"fourteen\", expected an integer"]),
    ("duplicate_key.toml", &["line 3, column 1: not valid toml: duplicate key"]),
    ("secret_in_toml.toml", &["line 2: telegram: unknown key", "line 4: telegram.bot_token: unknown key (secrets are read from the environment", "line 7: sinks.console.token: unknown key (secrets are read from the environment"]),
    ("min_warmup_above_warmup.toml", &["line 3: rsi.min_warmup_bars: must be at most rsi.warmup_bars (200), got 220"]),
    ("warmup_below_default_min.toml", &["line 3: rsi.warmup_bars: must be at least rsi.min_warmup_bars (150), got 100"]),
    ("bad_log_filter.toml", &["line 2: log.filter: invalid filter \"warn,liqwave=loud\"", "line 3: log.format: must be one of \"auto\", \"pretty\", \"journald\", \"json\", got \"syslog\""]),
    ("bad_symbol.toml", &["line 2: symbols.include[1]: invalid symbol \"BTC-USDT\"", "line 3: symbols.exclude[0]: BTCUSDT is also in symbols.include"]),
    ("duplicate_timeframe.toml", &["line 2: alerts.divergence_timeframes[2]: duplicate timeframe \"4h\""]),
    ("bad_lookback_by_interval.toml", &["line 3: divergence.lookback_right_by_interval.2h: unknown key, expected one of: 4h, 1d, 1w", "line 4: divergence.lookback_right_by_interval.1w: must be between 1 and 50, got 0"]),
    ("out_of_range_numbers.toml", &["line 3: rsi.period: must be between 2 and 100, got -3", "line 6: regime.bull_enter: must be strictly between 0 and 100, got NaN", "line 9: entry.rearm_gap: must be between 0 and 25, got -1.5"]),
    ("empty_values.toml", &["line 2: replay.data_dir: must not be empty", "line 5: sinks.console.format: must be one of \"text\", \"json\", got \"xml\"", "line 6: sinks.console.jsonl_path: must not be empty", "line 9: log.filter: must not be empty"]),
    ("many_problems.toml", &["line 3: rsi.period: must be between 2 and 100, got 1", "line 4: rsi.warmup_bars: must be between 1 and 5000, got 6000", "line 7: entry.rearm_gap: must be between 0 and 25, got 30", "line 10: divergence.range_lower: must be at most divergence.range_upper (60), got 80", "line 13: sinks.console.colour: unknown key", "line 16: engine.input_capacity: must be between 1 and 1000000, got 0"]),
    ("heatmap_tier_mismatch.toml", &["line 4: heatmap.tier_weights: has 4 entries but heatmap.leverage_tiers has 3; the two lists pair up one to one", "line 5: heatmap.halflife_hours: unknown key, expected one of: bin_bp, window_bins, reanchor_margin, leverage_tiers, tier_weights, smear, smear_min_bins, smear_cutoff_sigmas, taker_kappa, taker_share_min, taker_share_max, half_life_hours, volume_proxy_factor, clusters"]),
    ("heatmap_min_above_max.toml", &["line 4: heatmap.taker_share_min: must be between 0 and 0.5, got 0.7", "line 8: heatmap.clusters.window_min_pct: must be at most heatmap.clusters.window_max_pct (25), got 40", "line 10: heatmap.clusters.hot_percentile: must be between 0 and 1, got 85"]),
    ("heatmap_out_of_range.toml", &["line 3: heatmap.window_bins: must be between 256 and 65536, got 100", "line 4: heatmap.reanchor_margin: must be at least 0 and below 0.5, got 0.5", "line 5: heatmap.leverage_tiers[0]: must be above 1 and at most 1000, got 1", "line 6: heatmap.half_life_hours: must be above 0 and at most 8760, got -6", "line 9: heatmap.clusters.window_max_pct: must be strictly between 0 and 100, got 100", "line 10: heatmap.clusters.fallback_atr_pct: must be above 0 and at most 100, got 0"]),
    ("rules_out_of_range.toml", &["line 3: rules.cooldown_minutes: must be between 1 and 10080, got 0", "line 6: rules.clusters.min_density: must be above 0 and at most 1000, got 0", "line 7: rules.clusters.approach_pct: must be above 0 and at most 20, got 25", "line 8: rules.clusters.rearm_mult: must be between 1 and 20, got 0.5", "line 11: rules.setup.timeframe: must be one of \"4h\", \"1d\", got \"1w\"", "line 12: rules.setup.fee_pct: must be between 0 and 5, got -0.1", "line 15: rules.exit.touch_window: unknown key, expected one of: timeframe, touch_window_hours"]),
    ("bad_mutes.toml", &["line 4: mutes[0].until: must be a UTC date and time such as \"2025-07-01T00:00:00Z\", got \"2025-07-01 25:00\"", "line 8: mutes[1].kind: unknown alert kind \"liquidation\"", "line 11: mutes[2].until: is required", "line 12: mutes[2].symbol: invalid symbol \"ETH-USDT\""]),
    ("bad_routes.toml", &["line 3: routes[0].sink: must be one of \"console\", \"file\", \"telegram\", \"email\", got \"pager\"", "line 8: routes[1].kinds[2]: regime_change alerts carry no fuel/magnet label", "line 12: routes[2].kinds: must list at least one kind"]),
    ("bad_sinks.toml", &["line 3: sinks.telegram.chat_ids: must list at least one chat id", "line 4: sinks.telegram.token_env: must name an environment variable (A-Z, 0-9, _), got \"123456:ABC-DEF\"", "line 5: sinks.telegram.api_url: must be a https:// or http:// URL, got \"ftp://api.telegram.org\"", "line 9: sinks.email.tls: must be one of \"implicit\", \"starttls\", \"none\", got \"ssl\"", "line 10: sinks.email.from: must be an email address, got \"liqwave\"", "line 13: sinks.file.delay_ms: has no effect without sinks.file.path", "sinks.email.to: must list at least one recipient"]),
    ("funding_order.toml", &["line 5: rules.funding.crowded_shorts_below_pct: must be at most rules.funding.crowded_longs_above_pct (0.02), got 0.05"]),
    ("bad_summary_time.toml", &["line 3: summary.at: must be a time of day \"HH:MM\" (00:00 to 23:59), got \"8:00\""]),
    ("bad_summary_tz.toml", &["line 4: summary.tz: must be an IANA time zone name such as \"UTC\" or \"Europe/Berlin\", got \"Europe/Berln\""]),
    ("bad_summary_grace.toml", &["line 3: summary.grace_minutes: must be between 0 and 1440, got 1441"]),
    ("bad_binance.toml", &["line 4: binance.rest_url: must be a https:// or http:// URL, got \"fapi.binance.com\"", "line 5: binance.ws_url: must be the routed market endpoint", "line 6: binance.weight_share: must be above 0 and at most 1, got 1.5", "line 7: binance.warmup_days: must be between 1 and 30, got 45", "line 8: binance.streams_per_connection: must be between 1 and 1024, got 2000", "line 9: binance.open_interest_interval_secs: must be a multiple of 300"]),
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/configs")
}

/// The messages a user sees, one per reported problem.
fn messages(err: &ConfigError) -> Vec<String> {
    match err {
        ConfigError::Invalid(problems) => problems.iter().map(ToString::to_string).collect(),
        other => vec![other.to_string()],
    }
}

#[test]
fn broken_configs_report_every_problem() {
    for &(file, expected) in CASES {
        let err = config::load(&fixtures().join(file)).expect_err(file);
        let got = messages(&err);
        assert_eq!(got.len(), expected.len(), "{file}: got\n{}", got.join("\n"));
        for (message, want) in got.iter().zip(expected) {
            assert!(message.contains(want), "{file}: {message:?} lacks {want:?}");
        }
        // Display shows the same messages, each on its own line.
        let shown = err.to_string();
        assert!(
            got.iter().all(|m| shown.lines().any(|l| l.trim() == m)),
            "{file}: {shown}"
        );
        assert_eq!(exit_code(&err.into()), ExitCode::from(78), "{file}");
    }
}

#[test]
fn every_fixture_has_a_case() {
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            CASES.iter().any(|(file, _)| *file == name),
            "{name} has no line in CASES"
        );
    }
}

#[test]
fn a_missing_file_is_unreadable_with_its_path() {
    let path = fixtures().join("no_such_file.toml");
    let err = config::load(&path).unwrap_err();
    assert!(matches!(err, ConfigError::Unreadable { .. }), "{err:?}");
    assert!(err.to_string().contains("no_such_file.toml"), "{err}");
    assert_eq!(exit_code(&err.into()), ExitCode::from(78));
}
