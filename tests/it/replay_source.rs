//! The replay source against the recorded fixtures and small hand-made datasets.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use liqwave::model::{Interval, MINUTE_MS, MarketEvent, Side, Symbol, SymbolEvent};
use liqwave::source::replay::{Dataset, FileKind, LoadReport, ReplayOptions, event_order};
use tempfile::TempDir;

mod bounds;
mod datasets;
mod errors;
mod stream;

const KLINE_HEADER: &str = "open_time_ms,open,high,low,close,volume";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/binance")
}

fn sym(s: &str) -> Symbol {
    s.parse().unwrap()
}

/// The default options, rows timed up to a day after now.
fn defaults() -> ReplayOptions {
    ReplayOptions::new(liqwave::clock::wall_ms())
}

fn opts(interval: Interval) -> ReplayOptions {
    ReplayOptions {
        source_interval: interval,
        ..defaults()
    }
}

fn load_fixtures() -> Dataset {
    Dataset::load(&fixtures(), &defaults()).unwrap()
}

/// Data lines (non-blank, header excluded) of a fixture file, plain or gzip.
fn data_rows(path: &Path) -> usize {
    let bytes = fs::read(path).unwrap();
    let mut text = String::new();
    if path.extension().is_some_and(|e| e == "gz") {
        GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap();
    } else {
        text = String::from_utf8(bytes).unwrap();
    }
    text.lines().filter(|l| !l.trim().is_empty()).count() - 1
}

/// A dataset directory holding `files` (relative path, content); `.gz` paths are compressed.
fn dataset(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, content) in files {
        let path = dir.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        if rel.ends_with(".gz") {
            let mut gz = GzEncoder::new(Vec::new(), Compression::default());
            gz.write_all(content.as_bytes()).unwrap();
            fs::write(&path, gz.finish().unwrap()).unwrap();
        } else {
            fs::write(&path, content).unwrap();
        }
    }
    dir
}

/// A 5m kline file: the header, then `rows`.
fn klines(rows: &[&str]) -> String {
    let mut text = format!("{KLINE_HEADER}\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

/// 2025-01-01 00:00 UTC: hand-made rows start here, inside the times a row must keep.
const T0: i64 = 1_735_689_600_000;
const BAR_0: &str = "1735689600000,1,2,0.5,1.5,10";
const BAR_1: &str = "1735689900000,1.5,2,1,1.8,12";

fn by_kind(events: &[SymbolEvent], symbol: &str) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for e in events.iter().filter(|e| e.symbol.as_str() == symbol) {
        let kind = match e.event {
            MarketEvent::Candle { .. } => "candle",
            MarketEvent::Funding(_) => "funding",
            MarketEvent::OpenInterest(_) => "oi",
            MarketEvent::Liquidation(_) => "liquidation",
            _ => "other",
        };
        *counts.entry(kind).or_default() += 1;
    }
    counts
}

#[test]
fn fixture_5m_loads_every_symbol_with_every_row() {
    let ds = load_fixtures();
    let report = ds.report();
    let symbols: Vec<&str> = report.symbols.iter().map(Symbol::as_str).collect();
    assert_eq!(
        symbols,
        ["BNBUSDT", "BTCUSDT", "ETHUSDT", "HYPEUSDT", "SOLUSDT"]
    );
    let kline_files: Vec<_> = report
        .files
        .iter()
        .filter(|f| f.kind == FileKind::Klines)
        .collect();
    assert_eq!(kline_files.len(), 5);
    for file in kline_files {
        let symbol = file.symbol.as_ref().unwrap().as_str();
        let rows = data_rows(&file.path);
        assert_eq!(file.events, rows, "{}", file.path.display());
        assert_eq!(by_kind(ds.events(), symbol)["candle"], rows, "{symbol}");
        assert_eq!((file.malformed, file.out_of_order), (0, 0), "{symbol}");
    }
    assert_eq!(report.events.candles, 3 * 10_906 + 8_639 + 3_456);
    assert_eq!(report.malformed(), 0);
    assert_eq!(report.events.total(), ds.events().len());
}

#[test]
fn fixture_funding_is_present_for_symbols_with_klines() {
    let ds = load_fixtures();
    for symbol in ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"] {
        let path = fixtures().join(format!("funding/{symbol}_funding.csv"));
        assert_eq!(
            by_kind(ds.events(), symbol)["funding"],
            data_rows(&path),
            "{symbol}"
        );
    }
    // BTCUSDT funding keeps its real millisecond offsets.
    let first = ds.events().iter().find_map(|e| match e.event {
        MarketEvent::Funding(f) if e.symbol.as_str() == "BTCUSDT" => Some(f),
        _ => None,
    });
    assert_eq!(
        first.map(|f| (f.time, f.rate)),
        Some((1_741_276_800_000, 0.000_068_18))
    );
}

#[test]
fn fixture_open_interest_is_known_at_the_close_of_its_bar() {
    let ds = load_fixtures();
    let oi: Vec<_> = ds
        .events()
        .iter()
        .filter_map(|e| match e.event {
            MarketEvent::OpenInterest(o) => Some((e.symbol.as_str(), o)),
            _ => None,
        })
        .collect();
    assert_eq!(oi.len(), 3_456);
    assert!(oi.iter().all(|(s, _)| *s == "HYPEUSDT"));
    // First row: create_time 2025-05-30 10:30:00 = 1748601000000, known five minutes later.
    let (_, first) = oi[0];
    assert_eq!(first.time, 1_748_601_000_000 + 5 * MINUTE_MS);
    assert_eq!(first.contracts, 14_088.01);
    assert_eq!(first.value_usd, Some(473_864.304_36));
    assert_eq!(oi[3_455].1.time, 1_749_637_500_000 + 5 * MINUTE_MS);
    // Every OI event comes right before the HYPEUSDT candle that closes at its time.
    let events = ds.events();
    for (i, e) in events.iter().enumerate() {
        if let MarketEvent::OpenInterest(o) = e.event {
            let candle = events[i + 1..].iter().find(|p| p.symbol == e.symbol);
            let closes_at = candle.map(|c| match c.event {
                MarketEvent::Candle { .. } => c.event.known_at(),
                _ => i64::MIN,
            });
            assert_eq!(closes_at, Some(o.time), "OI at {}", o.time);
        }
    }
}

#[test]
fn fixture_events_are_in_replay_order_and_loads_are_deterministic() {
    let ds = load_fixtures();
    let events = ds.events();
    for pair in events.windows(2) {
        assert!(pair[0].event.known_at() <= pair[1].event.known_at());
        assert!(event_order(&pair[0], &pair[1]).is_le(), "{pair:?}");
    }
    assert_eq!(load_fixtures().into_events(), events);
}

#[test]
fn fixture_1m_reads_only_the_1m_directory() {
    let ds = Dataset::load(&fixtures(), &opts(Interval::M1)).unwrap();
    let report = ds.report();
    assert_eq!(
        report
            .symbols
            .iter()
            .map(Symbol::as_str)
            .collect::<Vec<_>>(),
        ["BTCUSDT"]
    );
    assert_eq!(report.events.candles, 43_199);
    assert!(ds.events().iter().all(|e| match e.event {
        MarketEvent::Candle { interval, .. } => interval == Interval::M1,
        _ => true,
    }));
    assert_eq!(report.events.funding, 266);
    assert_eq!(report.events.open_interest, 0);
}

#[test]
fn fixture_liquidations_are_normalised_to_usdt_symbols() {
    let ds = load_fixtures();
    // Rows written `BTC` and `BTCUSDT` are one symbol; `ETHUSDC` and `ETH_250627` are not ETHUSDT.
    #[rustfmt::skip]
    let want = [
        ("BTCUSDT", 31),
        ("ETHUSDT", 53),
        ("SOLUSDT", 24),
        ("BNBUSDT", 9),
        ("HYPEUSDT", 5),
    ];
    for (symbol, n) in want {
        assert_eq!(by_kind(ds.events(), symbol)["liquidation"], n, "{symbol}");
    }
    let neo = ds
        .report()
        .files
        .iter()
        .find(|f| {
            f.path
                .ends_with("forceOrder_2025-06-23_NeoParth_binance.csv")
        })
        .unwrap();
    assert_eq!((neo.non_perpetual, neo.malformed), (1, 0));
    assert_eq!(neo.events + neo.outside_universe + neo.non_perpetual, 700);
    // NeoParth's `ap` is the literal `None`: the order price stands in.
    // Row 326: HYPE,SELL,LIMIT,IOC,3.78,36.97100,None,FILLED,3.78,3.78,1750714449514,...
    let hype = ds.events().iter().find_map(|e| match e.event {
        MarketEvent::Liquidation(l) if e.symbol.as_str() == "HYPEUSDT" => Some(l),
        _ => None,
    });
    let hype = hype.unwrap();
    assert_eq!(
        (hype.time, hype.side, hype.price, hype.quantity),
        (1_750_714_449_514, Side::Long, 36.971, 3.78)
    );
}

#[test]
fn the_report_summarises_the_load() {
    let report: &LoadReport = &load_fixtures().report().clone();
    let line = report.to_string();
    assert!(
        line.starts_with(
            "5 symbols, 13 files: 44813 candles (5m), 1100 funding, 3456 open interest"
        ),
        "{line}"
    );
    assert_eq!(
        report
            .file(&fixtures().join("oi/HYPEUSDT_metrics_5m.csv"))
            .map(|f| f.events),
        Some(3_456)
    );
}
