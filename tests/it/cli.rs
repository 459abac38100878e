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

/// `backtest` over the bundled recordings: the same data gives byte-identical JSON with any number
/// of threads, every alert carries its outcome fields, and `--out` writes the report, its JSON and
/// the charts.
#[test]
fn backtest_is_deterministic_and_writes_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "backtest",
            "--config",
            "config/demo.toml",
            "--split",
            "2025-03-25",
        ];
        a.extend_from_slice(extra);
        a.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>()
    };
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_liqwave"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(args(extra))
            .output()
            .expect("run liqwave backtest");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let first = run(&["--json", "--threads", "3"]);
    let one = run(&["--json", "--threads", "1"]);
    assert!(first == one, "3 threads and 1 thread, two reports");
    let report: serde_json::Value = serde_json::from_slice(&first).expect("JSON");
    let alerts = report["alerts"].as_array().expect("alerts");
    assert!(alerts.len() > 100, "{} alerts", alerts.len());
    let keys = [
        "id",
        "kind",
        "symbol",
        "time_ms",
        "direction",
        "entry",
        "stop",
        "t1",
        "t2",
        "outcome",
        "outcome_time_ms",
        "r_multiple",
    ];
    for a in alerts {
        for k in keys {
            assert!(a.get(k).is_some(), "{k} missing in {a}");
        }
    }
    let setups: Vec<&serde_json::Value> = alerts
        .iter()
        .filter(|a| a["kind"] == "setup_entry")
        .collect();
    assert!(!setups.is_empty());
    for s in setups {
        match s["outcome"].as_str() {
            Some("stop") => assert!(s["r_multiple"].as_f64().unwrap() <= -1.0 + 1e-9, "{s}"),
            Some("t1" | "t2") => assert!(s["r_multiple"].as_f64().unwrap() > 0.0, "{s}"),
            Some("timeout" | "data_ends") => {}
            other => panic!("setup outcome {other:?}"),
        }
    }
    let periods = report["summary"]["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 2);
    assert_eq!(
        (periods[0]["name"].as_str(), periods[1]["name"].as_str()),
        (Some("in-sample"), Some("out-of-sample"))
    );
    run(&["--out", out.to_str().unwrap()]);
    for name in [
        "report.md",
        "report.json",
        "track-record.json",
        "setups-cumulative-r.png",
        "outcome-rates.png",
    ] {
        assert!(out.join(name).is_file(), "{name} missing");
    }
    let track = liqwave::view::TrackRecord::load(&out.join("track-record.json")).expect("loads");
    assert!(track.source.contains("2025-03-25"), "{track:?}");
    assert!(!track.lines.is_empty(), "{track:?}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("## out-of-sample") && md.contains("How to read this"),
        "{md}"
    );
    let bad = liqwave(&[
        "backtest",
        "--config",
        "config/demo.toml",
        "--split",
        "1999-01-01",
    ]);
    assert_eq!(bad.status.code(), Some(1));
}

/// `liqwave rsi … | head -1`: a reader that goes away ends the command quietly, exit 0.
#[test]
fn a_closed_stdout_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let klines = fixture("binance/klines/5m/BTCUSDT_5m.csv.gz");
    let mut child = Command::new(env!("CARGO_BIN_EXE_liqwave"))
        .args(["rsi", "--interval", "5m", "--klines"])
        .arg(&klines)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run liqwave rsi");
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("open_time"), "the CSV header: {first:?}");
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("error"), "nothing to report: {stderr}");
}

/// A replay stopped by SIGTERM, SIGINT or SIGHUP while its dataset is still read ends cleanly
/// (exit 0, a summary saying so), not killed by the signal.
#[test]
fn a_signal_while_loading_stops_a_replay_cleanly() {
    use std::fmt::Write as _;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data/klines/1m");
    std::fs::create_dir_all(&data).unwrap();
    // Two million 1m bars from 2018 (all valid): seconds of parsing in a debug build.
    let mut csv = String::from("open_time_ms,open,high,low,close,volume\n");
    let start = 1_514_764_800_000_i64;
    for i in 0..2_000_000_i64 {
        let p = 100.0 + (i % 1000) as f64 / 100.0;
        writeln!(
            csv,
            "{},{p},{},{},{p},10",
            start + i * 60_000,
            p + 1.0,
            p - 1.0
        )
        .unwrap();
    }
    std::fs::write(data.join("BTCUSDT_1m.csv"), csv).unwrap();
    let config = dir.path().join("liqwave.toml");
    std::fs::write(
        &config,
        "[replay]\ndata_dir = \"data\"\nsource_interval = \"1m\"\n",
    )
    .unwrap();
    for signal in ["-TERM", "-INT", "-HUP"] {
        let child = Command::new(env!("CARGO_BIN_EXE_liqwave"))
            .args(["replay", "--quiet", "--config"])
            .arg(&config)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start liqwave replay");
        std::thread::sleep(Duration::from_millis(300));
        let kill = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status();
        assert!(kill.unwrap().success());
        let signalled = Instant::now();
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{signal}: {:?}: {stderr}", out.status);
        assert!(
            signalled.elapsed() < Duration::from_secs(5),
            "{signal}: took {:?}",
            signalled.elapsed()
        );
        // The replay streams: the signal finds it opening the files or sending their events.
        let stopped = [
            "Stopped while loading",
            "Shutdown requested; the source stops.",
        ];
        assert!(
            stopped.iter().any(|s| stderr.contains(s)),
            "{signal}: {stderr}"
        );
        assert!(stdout.contains("interrupted"), "{signal}: {stdout}");
    }
}
