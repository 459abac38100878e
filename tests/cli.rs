//! The binary end to end: `rsi` against the independent Python/TA-Lib oracle on real Binance
//! series, and `check-config` exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn liqwave(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_liqwave"))
        .args(args)
        .output()
        .expect("run liqwave")
}

/// Compares two CSV texts cell by cell; numbers compare as f64 (exact), the rest as text.
fn assert_same_csv(got: &str, want: &str, name: &str) {
    let (got, want): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
    assert_eq!(got.first(), want.first(), "{name}: header");
    assert_eq!(got.len(), want.len(), "{name}: row count");
    for (row, (g, w)) in got.iter().zip(&want).enumerate().skip(1) {
        for (col, (a, b)) in g.split(',').zip(w.split(',')).enumerate() {
            let same = match (a.parse::<f64>(), b.parse::<f64>()) {
                (Ok(x), Ok(y)) => x == y,
                _ => a == b,
            };
            assert!(
                same,
                "{name}: row {row} column {col}: got {a:?}, oracle {b:?}"
            );
        }
    }
}

#[test]
fn rsi_command_matches_the_oracle_on_real_binance_series() {
    // (kline fixture, interval, oracle file): aggregation, RSI, averages, regime, 50-cross,
    // divergence and entry, every bar.
    let cases = [
        (
            "binance/klines/5m/BTCUSDT_5m.csv.gz",
            "4h",
            "oracle/BTCUSDT_5m_to_4h.csv",
        ),
        (
            "binance/klines/5m/ETHUSDT_5m.csv.gz",
            "4h",
            "oracle/ETHUSDT_5m_to_4h.csv",
        ),
        (
            "binance/klines/5m/SOLUSDT_5m.csv.gz",
            "4h",
            "oracle/SOLUSDT_5m_to_4h.csv",
        ),
        (
            "binance/klines/5m/BNBUSDT_5m.csv.gz",
            "4h",
            "oracle/BNBUSDT_5m_to_4h.csv",
        ),
        (
            "binance/klines/5m/HYPEUSDT_5m.csv.gz",
            "4h",
            "oracle/HYPEUSDT_5m_to_4h.csv",
        ),
        (
            "binance/klines/5m/BTCUSDT_5m.csv.gz",
            "1d",
            "oracle/BTCUSDT_5m_to_1d.csv",
        ),
        (
            "binance/klines/5m/ETHUSDT_5m.csv.gz",
            "1d",
            "oracle/ETHUSDT_5m_to_1d.csv",
        ),
        (
            "binance/klines/1m/BTCUSDT_1m.csv.gz",
            "4h",
            "oracle/BTCUSDT_1m_to_4h.csv",
        ),
    ];
    for (klines, interval, oracle) in cases {
        let out = liqwave(&[
            "rsi",
            "--klines",
            fixture(klines).to_str().unwrap(),
            "--interval",
            interval,
        ]);
        assert!(
            out.status.success(),
            "{oracle}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = std::fs::read_to_string(fixture(oracle)).expect("oracle file");
        assert_same_csv(&String::from_utf8_lossy(&out.stdout), &want, oracle);
    }
}

#[test]
fn check_config_exit_codes() {
    let cases: &[(&str, i32)] = &[
        ("../../config/liqwave.toml", 0),
        ("../../config/demo.toml", 0),
        ("configs/rsi_period_zero.toml", 78),
        ("configs/not_toml.toml", 78),
        ("configs/does_not_exist.toml", 78),
    ];
    for (file, code) in cases {
        let out = liqwave(&["check-config", "--config", fixture(file).to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(*code),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if *code == 78 {
            assert!(!out.stderr.is_empty(), "{file}: problems go to stderr");
        }
    }
}
