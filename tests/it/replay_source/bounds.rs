//! Bounded, validated input: a line too long (plain or a gzip bomb) is an error naming the file
//! and line, values outside sane ranges are malformed rows, odd directory entries are logged, and
//! the binary's messages read once.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Output};

use flate2::Compression;
use flate2::write::GzEncoder;
use liqwave::model::{DAY_MS, Interval, Symbol};
use liqwave::source::replay::{
    Dataset, FileKind, MAX_LINE_BYTES, ReplayError, ReplayOptions, RowError, SymbolFilter,
};

use super::{BAR_0, T0, dataset, defaults, klines, sym};
use crate::support::logs;

fn liqwave(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_liqwave"))
        .args(args)
        .output()
        .expect("run liqwave")
}

/// Writes a kline header, `BAR_0`, then `len` bytes of `x` without a line end, through `out`.
fn write_long_line(out: impl Write, len: usize) {
    let mut out = BufWriter::new(out);
    out.write_all(klines(&[BAR_0]).as_bytes()).unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..len / chunk.len() {
        out.write_all(&chunk).unwrap();
    }
    out.flush().unwrap();
}

#[test]
fn a_line_longer_than_the_cap_is_an_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let kdir = dir.path().join("klines/5m");
    fs::create_dir_all(&kdir).unwrap();
    // 100 MiB on one line, plain.
    write_long_line(
        File::create(kdir.join("BTCUSDT_5m.csv")).unwrap(),
        100 << 20,
    );
    let err = Dataset::load(dir.path(), &defaults()).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, ReplayError::LineTooLong { line: 3, limit, .. } if limit == MAX_LINE_BYTES),
        "{err:?}"
    );
    assert!(
        msg.contains("BTCUSDT_5m.csv line 3") && msg.contains("1048576 bytes"),
        "{msg}"
    );
}

/// 200 MB of one byte without a line end, gzip-compressed to a fraction of a MB: the reader stops
/// after 1 MiB of it. The binary's peak RSS is read from `/usr/bin/time -v` where it exists
/// (a reader without the cap peaks above 200 MB).
#[test]
fn a_gzip_bomb_is_the_same_clean_error_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("klines/5m/BTCUSDT_5m.csv.gz");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let gz = GzEncoder::new(File::create(&path).unwrap(), Compression::fast());
    write_long_line(gz, 200 << 20);
    assert!(fs::metadata(&path).unwrap().len() < 2 << 20, "a bomb");

    let err = Dataset::load(dir.path(), &defaults()).unwrap_err();
    assert!(
        matches!(err, ReplayError::LineTooLong { line: 3, .. }),
        "{err:?}"
    );
    let file = path.to_str().unwrap();
    let rsi = ["rsi", "--klines", file, "--interval", "4h"];
    let time = Path::new("/usr/bin/time");
    let out = if time.exists() {
        let out = Command::new(time)
            .arg("-v")
            .arg(env!("CARGO_BIN_EXE_liqwave"))
            .args(rsi)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let peak_kb: u64 = stderr
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Maximum resident set size (kbytes): ")
            })
            .and_then(|kb| kb.parse().ok())
            .unwrap_or_else(|| panic!("no peak RSS in {stderr}"));
        assert!(peak_kb < 100_000, "peak RSS {peak_kb} kB");
        out
    } else {
        println!("/usr/bin/time is missing: the peak RSS is not measured");
        liqwave(&rsi)
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: {file} line 3 is longer than 1048576 bytes"
        )),
        "{stderr}"
    );
}

/// A dataset of `BAR_0`, one bad kline row, then a good one; `now` is fixed, so the latest
/// plausible time is `T0 + 10 min + 1 day`.
#[test]
fn out_of_range_kline_values_are_malformed_rows() {
    let latest = T0 + 600_000 + DAY_MS;
    #[rustfmt::skip]
    let cases: [(&str, RowError); 14] = [
        ("1735689900000,1e300,1e300,1e300,1e300,3", RowError::TooLarge { column: "open" }),
        ("1735689900000,1,2,0.5,1.5,1e308", RowError::TooLarge { column: "volume" }),
        ("1735689900000,1,2,0.5,1.5,NaN", RowError::Negative { column: "volume" }),
        ("1735689900000,1,inf,0.5,1.5,3", RowError::NotPositive { column: "high" }),
        ("9223372036854775807,1,2,0.5,1.5,3", RowError::TimeOutOfRange { column: "open_time_ms", time: i64::MAX }),
        ("-300000,1,2,0.5,1.5,3", RowError::TimeOutOfRange { column: "open_time_ms", time: -300_000 }),
        ("32503680000000,1,2,0.5,1.5,3", RowError::TimeOutOfRange { column: "open_time_ms", time: 32_503_680_000_000 }),
        ("1483228500000,1,2,0.5,1.5,3", RowError::TimeOutOfRange { column: "open_time_ms", time: 1_483_228_500_000 }),
        (&format!("{},1,2,0.5,1.5,3", latest + 300_000), RowError::TimeOutOfRange { column: "open_time_ms", time: latest + 300_000 }),
        ("1735689900001,1,2,0.5,1.5,3", RowError::OffGrid { time: T0 + 300_001, interval: Interval::M5 }),
        ("1735689960000,1,2,0.5,1.5,3", RowError::OffGrid { time: T0 + 360_000, interval: Interval::M5 }),
        ("1735689900000,16,17,16,17,3", RowError::PriceJump { from: "the previous close" }),
        ("1735689900000,0.1,0.1,0.1,0.1,3", RowError::PriceJump { from: "the previous close" }),
        ("1735689900000,1,2,0.15,1.5,3", RowError::PriceJump { from: "its low" }),
    ];
    let opts = ReplayOptions::new(T0 + 600_000);
    for (bad, error) in cases {
        let rows = [BAR_0, bad, "1735690200000,1,2,1,2,3"];
        let dir = dataset(&[("klines/5m/BTCUSDT_5m.csv", &klines(&rows))]);
        let ds = Dataset::load(dir.path(), &opts).unwrap();
        let file = &ds.report().files[0];
        assert_eq!((file.events, file.malformed), (2, 1), "{bad}");
        assert_eq!(file.malformed_rows[0].line, 3, "{bad}");
        assert_eq!(file.malformed_rows[0].error, error, "{bad}");
    }
}

#[test]
fn out_of_range_funding_oi_and_liquidation_values_are_malformed_rows() {
    let funding = (
        "funding/BTCUSDT_funding.csv",
        "funding_time_ms,funding_rate\n",
        "1735689900000,0.0001",
    );
    let oi_header = "create_time,symbol,sum_open_interest,sum_open_interest_value\n";
    let oi = (
        "oi/BTCUSDT_metrics_5m.csv",
        oi_header,
        "2025-01-01 00:05:00,BTCUSDT,1,1",
    );
    let liq = (
        "liquidations/l.csv",
        "",
        "BTC,SELL,LIMIT,IOC,1,1,1,FILLED,1,1,1735689600005,1",
    );
    #[rustfmt::skip]
    let cases = [
        (funding, "0,0.0001", RowError::TimeOutOfRange { column: "funding_time_ms", time: 0 }),
        (funding, "1735689900000,5", RowError::TooLarge { column: "funding_rate" }),
        (funding, "1735689900000,NaN", RowError::Number { column: "funding_rate" }),
        (oi, "1970-01-01 00:00:00,BTCUSDT,1,1", RowError::TimeOutOfRange { column: "create_time", time: 0 }),
        (oi, "2025-01-01 00:01:00,BTCUSDT,1,1", RowError::OffGrid { time: T0 + 60_000, interval: Interval::M5 }),
        (oi, "2025-01-01 00:05:00,BTCUSDT,1e308,1", RowError::TooLarge { column: "sum_open_interest" }),
        (oi, "2025-01-01 00:05:00,BTCUSDT,1,inf", RowError::Negative { column: "sum_open_interest_value" }),
        (liq, "BTC,SELL,LIMIT,IOC,1,100,101,FILLED,1,1,5,101", RowError::TimeOutOfRange { column: "T", time: 5 }),
        (liq, "BTC,SELL,LIMIT,IOC,1,1e300,1e300,FILLED,1,1,1735689600005,1", RowError::TooLarge { column: "p" }),
        (liq, "BTC,SELL,LIMIT,IOC,1e300,1,1,FILLED,1e300,1e300,1735689600005,1", RowError::TooLarge { column: "q" }),
    ];
    for ((path, header, good), bad, error) in cases {
        let text = format!("{header}{bad}\n{good}\n");
        let dir = dataset(&[
            ("klines/5m/BTCUSDT_5m.csv", &klines(&[BAR_0])),
            (path, &text),
        ]);
        let ds = Dataset::load(dir.path(), &defaults()).unwrap();
        let file = ds
            .report()
            .files
            .iter()
            .find(|f| f.kind != FileKind::Klines);
        let file = file.unwrap();
        assert_eq!((file.events, file.malformed), (1, 1), "{bad}");
        assert_eq!(file.malformed_rows[0].error, error, "{bad}");
    }
}

#[test]
fn a_filter_that_excludes_every_kline_file_is_named_in_the_error() {
    let k = klines(&[BAR_0]);
    let dir = dataset(&[
        ("klines/5m/BTCUSDT_5m.csv", &k),
        ("klines/5m/ETHUSDT_5m.csv", &k),
    ]);
    let lists = |include: &[&str], exclude: &[&str]| SymbolFilter::Lists {
        include: include.iter().map(|s| sym(s)).collect(),
        exclude: exclude.iter().map(|s| sym(s)).collect(),
    };
    #[rustfmt::skip]
    let cases = [
        (lists(&["SOLUSDT"], &[]), "pass the symbol filter (include [SOLUSDT], exclude []); found BTCUSDT, ETHUSDT"),
        (lists(&[], &["BTCUSDT", "ETHUSDT"]), "(include [], exclude [BTCUSDT, ETHUSDT])"),
        (SymbolFilter::Predicate(Box::new(|_: &Symbol| false)), "(a predicate)"),
    ];
    for (filter, want) in cases {
        let opts = ReplayOptions {
            filter,
            ..defaults()
        };
        let err = Dataset::load(dir.path(), &opts).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ReplayError::FilteredOut { .. }), "{err:?}");
        assert!(msg.contains(want) && msg.contains("klines/5m"), "{msg}");
    }
}

#[cfg(unix)]
#[test]
fn skipped_directory_entries_are_logged_with_the_reason() {
    let dir = dataset(&[
        ("klines/5m/BTCUSDT_5m.csv", &klines(&[BAR_0])),
        ("klines/5m/BTC-USDT_5m.csv.gz", &klines(&[BAR_0])),
        ("klines/5m/XRPUSDT_5m.txt", "x"),
        ("liquidations/notes.md", "x"),
    ]);
    let kdir = dir.path().join("klines/5m");
    fs::create_dir(kdir.join("ETHUSDT_5m.csv")).unwrap();
    std::os::unix::fs::symlink(kdir.join("gone.csv"), kdir.join("SOLUSDT_5m.csv")).unwrap();
    let (ds, logs) = logs::capture(dir.path(), || Dataset::load(dir.path(), &defaults()));
    assert_eq!(ds.unwrap().report().symbols.len(), 1);
    #[rustfmt::skip]
    let cases = [
        ("BTC-USDT_5m.csv.gz", "reason=\"BTC-USDT\" is not a symbol"),
        ("XRPUSDT_5m.txt", "reason=the name is not <SYMBOL>_5m.csv or .csv.gz"),
        ("ETHUSDT_5m.csv", "reason=a directory"),
        ("SOLUSDT_5m.csv", "reason=a dangling symlink"),
        ("notes.md", "reason=\"not a .csv or .jsonl file, plain or .gz\""),
    ];
    for (name, reason) in cases {
        let line = logs.lines().find(|l| l.contains(&format!("/{name} ")));
        let line = line.unwrap_or_else(|| panic!("no log line for {name}:\n{logs}"));
        assert!(line.contains("INFO") && line.contains(reason), "{line}");
    }
}

/// `rsi` has no dataset summary: rows it skips are reported on stderr, stdout stays CSV.
#[test]
fn rsi_reports_skipped_rows_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("BTCUSDT_5m.csv");
    let mut rows: Vec<String> = (0..30)
        .map(|i| format!("{},1,2,0.5,1.5,10", T0 + i * 300_000))
        .collect();
    rows.extend((30..130).map(|i| format!("{},1,2,0.5,NaN,10", T0 + i * 300_000)));
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    fs::write(&path, klines(&rows)).unwrap();
    let out = liqwave(&[
        "rsi",
        "--klines",
        path.to_str().unwrap(),
        "--interval",
        "5m",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 31);
    assert!(stderr.contains("malformed=100 events=30"), "{stderr}");
    assert!(
        stderr.contains("line=32"),
        "the first skipped row: {stderr}"
    );
}

/// An error that wraps its source names the cause once: the chain prints it, not the message too.
#[test]
fn an_unreadable_config_names_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    fs::write(&config, b"[replay]\n\xff\xfe\n").unwrap();
    let config = config.to_str().unwrap();
    for args in [
        vec!["check-config", "--config", config],
        vec![
            "rsi",
            "--klines",
            "x.csv",
            "--interval",
            "4h",
            "--config",
            config,
        ],
    ] {
        let out = liqwave(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{stderr}");
        assert_eq!(
            stderr.matches("did not contain valid UTF-8").count(),
            1,
            "{stderr}"
        );
    }
}
