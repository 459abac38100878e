//! Small hand-made datasets: row validation, logging, ordering of duplicates, filters, formats.

use liqwave::model::{MarketEvent, Side, Symbol};
use liqwave::source::replay::{Dataset, FileKind, ReplayOptions, RowError, SymbolFilter};

use super::{BAR_0, BAR_1, T0, dataset, defaults, klines, sym};
use crate::support::logs;

#[test]
fn malformed_kline_rows_are_skipped_counted_and_located() {
    #[rustfmt::skip]
    let cases: [(&str, RowError); 7] = [
        ("1735689900000,1,2,0.5", RowError::ColumnCount { expected: 6, found: 4 }),
        ("1735689900000,1,2,0.5,x,10", RowError::Number { column: "close" }),
        ("1735689900000,1,2,0.5,1.5,-3", RowError::Negative { column: "volume" }),
        ("1735689900000,1,2,-0.5,1.5,3", RowError::NotPositive { column: "low" }),
        ("1735689900000,1,NaN,0.5,1.5,3", RowError::NotPositive { column: "high" }),
        ("1735689900000,1,0.5,2,1,3", RowError::HighBelowLow),
        ("3e5,1,2,0.5,1.5,3", RowError::Number { column: "open_time_ms" }),
    ];
    for (bad, error) in cases {
        let dir = dataset(&[(
            "klines/5m/BTCUSDT_5m.csv",
            &klines(&[BAR_0, bad, "1735690200000,1,2,1,2,3"]),
        )]);
        let ds = Dataset::load(dir.path(), &defaults()).unwrap();
        let file = &ds.report().files[0];
        assert_eq!((file.events, file.malformed), (2, 1), "{bad}");
        assert_eq!(file.malformed_rows[0].line, 3, "{bad}");
        assert_eq!(file.malformed_rows[0].error, error, "{bad}");
        assert_eq!(ds.report().malformed(), 1);
    }
}

#[test]
fn malformed_rows_beyond_the_first_five_are_only_counted_and_logged_once() {
    let mut rows = vec![BAR_0];
    rows.extend(["garbage"; 8]);
    let text = klines(&rows);
    let dir = dataset(&[
        ("klines/5m/BTCUSDT_5m.csv", &text),
        ("klines/5m/ETHUSDT_5m.csv", &text),
    ]);
    let (ds, logs) = logs::capture(dir.path(), || Dataset::load(dir.path(), &defaults()));
    let ds = ds.unwrap();
    for (i, name) in ["BTCUSDT_5m.csv", "ETHUSDT_5m.csv"].into_iter().enumerate() {
        let file = &ds.report().files[i];
        assert_eq!(
            (file.events, file.malformed, file.malformed_rows.len()),
            (1, 8, 5)
        );
        let lines: Vec<usize> = file.malformed_rows.iter().map(|m| m.line).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7]);
        let ours = |l: &&str| l.contains(name);
        let row_warnings: Vec<&str> = logs
            .lines()
            .filter(ours)
            .filter(|l| l.contains("Skipping malformed row"))
            .collect();
        assert_eq!(row_warnings.len(), 5, "{logs}");
        assert!(
            row_warnings[0].contains("line=3") && row_warnings[0].contains("WARN"),
            "{logs}"
        );
        let totals: Vec<&str> = logs
            .lines()
            .filter(ours)
            .filter(|l| l.contains("Skipped malformed rows in file"))
            .collect();
        assert_eq!(totals.len(), 1, "{logs}");
        assert!(totals[0].contains("malformed=8"), "{logs}");
    }
    assert_eq!(ds.report().malformed(), 16);
}

#[test]
fn duplicate_and_backward_bars_are_kept_and_counted() {
    let rows = [BAR_0, BAR_1, BAR_1, BAR_0, "1735690200000,1,2,1,2,3"];
    let dir = dataset(&[("klines/5m/BTCUSDT_5m.csv", &klines(&rows))]);
    let ds = Dataset::load(dir.path(), &defaults()).unwrap();
    let file = &ds.report().files[0];
    assert_eq!((file.events, file.out_of_order, file.malformed), (5, 2, 0));
    assert_eq!(ds.report().out_of_order(), 2);
    let known: Vec<i64> = ds.events().iter().map(|e| e.event.known_at()).collect();
    let want = [300_000, 300_000, 600_000, 600_000, 900_000].map(|dt| T0 + dt);
    assert_eq!(known, want);
}

#[test]
fn optional_kline_columns_map_and_extra_columns_are_ignored() {
    let header =
        "open_time_ms,open,high,low,close,volume,quote_volume,taker_buy_base,taker_buy_quote,note";
    let dir = dataset(&[(
        "klines/5m/BTCUSDT_5m.csv",
        &format!("{header}\n1735689600000,1,2,1,2,10,15,4,6,hello\n"),
    )]);
    let ds = Dataset::load(dir.path(), &defaults()).unwrap();
    let MarketEvent::Candle { candle, .. } = ds.events()[0].event else {
        panic!("not a candle")
    };
    assert_eq!(
        (candle.quote_volume, candle.taker_buy_quote),
        (Some(15.0), Some(6.0))
    );
}

#[test]
fn csv_and_csv_gz_read_the_same() {
    let text = klines(&[BAR_0, BAR_1]);
    let plain = dataset(&[("klines/5m/BTCUSDT_5m.csv", &text)]);
    let gz = dataset(&[("klines/5m/BTCUSDT_5m.csv.gz", &text)]);
    let a = Dataset::load(plain.path(), &defaults()).unwrap();
    let b = Dataset::load(gz.path(), &defaults()).unwrap();
    assert_eq!(a.events().len(), 2);
    assert_eq!(a.events(), b.events());
}

#[test]
fn the_filter_selects_symbols() {
    let k = klines(&[BAR_0]);
    let funding = "funding_time_ms,funding_rate\n1735689900000,0.0001\n";
    let liq = "BTC,SELL,LIMIT,IOC,1,1,1,FILLED,1,1,1735689600005,1\nETH,SELL,LIMIT,IOC,1,1,1,FILLED,1,1,1735689600006,1\n";
    let dir = dataset(&[
        ("klines/5m/BTCUSDT_5m.csv", &k),
        ("klines/5m/ETHUSDT_5m.csv", &k),
        ("klines/5m/SOLUSDT_5m.csv", &k),
        ("funding/ETHUSDT_funding.csv", funding),
        ("liquidations/l.csv", liq),
    ]);
    #[rustfmt::skip]
    let cases: [(SymbolFilter, &[&str], usize); 4] = [
        (SymbolFilter::All, &["BTCUSDT", "ETHUSDT", "SOLUSDT"], 6),
        (SymbolFilter::Lists { include: vec![sym("BTCUSDT"), sym("SOLUSDT")], exclude: vec![], }, &["BTCUSDT", "SOLUSDT"], 3),
        (SymbolFilter::Lists { include: vec![], exclude: vec![sym("BTCUSDT")], }, &["ETHUSDT", "SOLUSDT"], 4),
        (SymbolFilter::Predicate(Box::new(|s| s.as_str().starts_with('E'))), &["ETHUSDT"], 3),
    ];
    for (filter, symbols, events) in cases {
        let label = format!("{filter:?}");
        let ds = Dataset::load(
            dir.path(),
            &ReplayOptions {
                filter,
                ..defaults()
            },
        )
        .unwrap();
        let got: Vec<&str> = ds.report().symbols.iter().map(Symbol::as_str).collect();
        assert_eq!(got, symbols, "{label}");
        assert_eq!(ds.events().len(), events, "{label}");
        assert!(
            ds.events()
                .iter()
                .all(|e| symbols.contains(&e.symbol.as_str())),
            "{label}"
        );
    }
}

#[test]
fn jsonl_liquidations_and_unknown_files_are_handled() {
    let jsonl = concat!(
        r#"{"s":"BTCUSDT","S":"BUY","o":"LIMIT","q":"0.5","p":"100","ap":"101","z":"0.5","T":1735690200000}"#,
        "\n",
        r#"{"e":"forceOrder","E":1,"o":{"s":"BTCUSDT","S":"SELL","q":"1","p":"99","ap":"0","z":"0","T":1735690200001}}"#,
        "\n{oops\n",
    );
    let dir = dataset(&[
        ("klines/5m/BTCUSDT_5m.csv", &klines(&[BAR_0])),
        ("klines/5m/README.md", "notes"),
        ("klines/1m/BTCUSDT_1m.csv", &klines(&["0,1,1,1,1,1"])),
        ("liquidations/2025-06-01.jsonl.gz", jsonl),
        ("liquidations/notes.txt", "x"),
    ]);
    let ds = Dataset::load(dir.path(), &defaults()).unwrap();
    let liqs: Vec<_> = ds
        .events()
        .iter()
        .filter_map(|e| match e.event {
            MarketEvent::Liquidation(l) => Some((l.side, l.price, l.quantity, l.time)),
            _ => None,
        })
        .collect();
    assert_eq!(
        liqs,
        [
            (Side::Short, 101.0, 0.5, T0 + 600_000),
            (Side::Long, 99.0, 1.0, T0 + 600_001)
        ]
    );
    let report = ds.report();
    let liq_file = report
        .files
        .iter()
        .find(|f| f.kind == FileKind::Liquidations)
        .unwrap();
    assert_eq!(
        (liq_file.malformed, liq_file.malformed_rows[0].line),
        (1, 3)
    );
    let ignored: Vec<&str> = report
        .ignored_files
        .iter()
        .filter_map(|p| p.file_name()?.to_str())
        .collect();
    assert_eq!(ignored, ["README.md", "notes.txt"]);
    assert_eq!(
        report.events.candles, 1,
        "1m files are not read for a 5m replay"
    );
}

#[test]
fn open_interest_rows_are_checked() {
    let header = "create_time,symbol,sum_open_interest,sum_open_interest_value";
    let oi = format!(
        "{header}\n2025-05-30 10:30:00,BTCUSDT,10.5,1000\n2025-05-30 10:35:00,ETHUSDT,1,1\n\
         2025-05-30 10:40,BTCUSDT,1,1\n2025-05-30 10:45:00,BTCUSDT,-1,1\n2025-05-30 10:50:00,BTCUSDT,2,\n"
    );
    let dir = dataset(&[
        ("klines/5m/BTCUSDT_5m.csv", &klines(&[BAR_0])),
        ("oi/BTCUSDT_metrics_5m.csv.gz", &oi),
    ]);
    let ds = Dataset::load(dir.path(), &defaults()).unwrap();
    let file = ds
        .report()
        .files
        .iter()
        .find(|f| f.kind == FileKind::OpenInterest)
        .unwrap();
    let errors: Vec<(usize, &RowError)> = file
        .malformed_rows
        .iter()
        .map(|m| (m.line, &m.error))
        .collect();
    assert_eq!(
        errors,
        [
            (
                3,
                &RowError::SymbolMismatch {
                    found: "ETHUSDT".into()
                }
            ),
            (
                4,
                &RowError::DateTime {
                    column: "create_time"
                }
            ),
            (
                5,
                &RowError::Negative {
                    column: "sum_open_interest"
                }
            ),
        ]
    );
    let oi: Vec<_> = ds
        .events()
        .iter()
        .filter_map(|e| match e.event {
            MarketEvent::OpenInterest(o) => Some((o.time, o.contracts, o.value_usd)),
            _ => None,
        })
        .collect();
    assert_eq!(
        oi,
        [
            (1_748_601_300_000, 10.5, Some(1000.0)),
            (1_748_602_500_000, 2.0, None)
        ]
    );
}
