//! Row-level tests: one line of data in, one line of expectation out.

use std::path::Path;

use super::checks::{DEFAULT_MAX_PRICE_JUMP, PriceTrail};
use super::jobs::{Job, run_jobs};
use super::lines::Columns;
use super::liquidations::{self, Row, Universe};
use super::{event_order, klines};
use crate::model::{
    Candle, Funding, Interval, Liquidation, MarketEvent, OpenInterest, Side, Symbol, SymbolEvent,
};
use crate::model::{days_from_civil, days_in_month, parse_utc as utc_datetime};

const KLINE_HEADER: &str = "open_time_ms,open,high,low,close,volume";

/// Parses one kline row under `header` and renders the candle, or the error.
fn kline(header: &str, row: &str) -> String {
    let columns = Columns::from_header(Path::new("k.csv"), header, &klines::COLUMNS).unwrap();
    match columns.split(row).and_then(klines::candle) {
        Ok(c) => {
            let opt = |v: Option<f64>| v.map_or("-".to_owned(), |v| v.to_string());
            format!(
                "t={} o={} h={} l={} c={} v={} qv={} tbq={}",
                c.open_time,
                c.open,
                c.high,
                c.low,
                c.close,
                c.volume,
                opt(c.quote_volume),
                opt(c.taker_buy_quote)
            )
        }
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn kline_rows() {
    let h = KLINE_HEADER;
    let hq = "open_time_ms,open,high,low,close,volume,quote_volume,taker_buy_base,taker_buy_quote";
    let ha = "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore";
    #[rustfmt::skip]
    let cases = [
        (h, "1000,1,2,0.5,1.5,10", "t=1000 o=1 h=2 l=0.5 c=1.5 v=10 qv=- tbq=-"),
        (h, "1000,33.38700,33.70000,33.28300,33.64400,0", "t=1000 o=33.387 h=33.7 l=33.283 c=33.644 v=0 qv=- tbq=-"),
        (hq, "1000,1,2,1,2,10,15,4,6", "t=1000 o=1 h=2 l=1 c=2 v=10 qv=15 tbq=6"),
        (hq, "1000,1,2,1,2,10,,4,", "t=1000 o=1 h=2 l=1 c=2 v=10 qv=- tbq=-"),
        (ha, "1000,1,2,1,2,10,1059,15,7,4,6,0", "t=1000 o=1 h=2 l=1 c=2 v=10 qv=15 tbq=6"),
        ("close,open,low,high,volume,open_time_ms", "2,1,1,3,5,60000", "t=60000 o=1 h=3 l=1 c=2 v=5 qv=- tbq=-"),
        (h, "1000,1,2,0.5,1.5", "error: expected 6 columns, found 5"),
        (h, "1000,1,2,0.5,1.5,10,3", "error: expected 6 columns, found 7"),
        (h, "1000,1,2,x,1.5,10", "error: column `low` is not a number"),
        (h, "1000.5,1,2,0.5,1.5,10", "error: column `open_time_ms` is not a number"),
        (h, "1000,1,2,0.5,1.5,", "error: column `volume` is not a number"),
        (h, "1000,1,inf,0.5,1.5,10", "error: column `high` is not a finite positive value"),
        (h, "1000,NaN,2,0.5,1.5,10", "error: column `open` is not a finite positive value"),
        (h, "1000,1,2,-0.5,1.5,10", "error: column `low` is not a finite positive value"),
        (h, "1000,1,2,0,1.5,10", "error: column `low` is not a finite positive value"),
        (h, "1000,1,2,0.5,1.5,-1", "error: column `volume` is negative or not finite"),
        (hq, "1000,1,2,1,2,10,-15,4,6", "error: column `quote_volume` is negative or not finite"),
        (h, "1000,1,0.5,2,1,10", "error: high is below low"),
        (h, "1000,3,2,0.5,1.5,10", "error: open or close lies outside [low, high]"),
        (h, "1000,1,2,0.5,0.4,10", "error: open or close lies outside [low, high]"),
    ];
    for (header, row, want) in cases {
        assert_eq!(kline(header, row), want, "row {row:?}");
    }
}

/// Bars as `low-high/close` (or one price for all four): `ok` or `jump` each. A lone outlier
/// costs its own row; two bars that agree on a new level are followed.
#[test]
fn the_price_trail_rejects_jumps_and_follows_a_new_level() {
    #[rustfmt::skip]
    let cases = [
        ("100 101 99 100", "ok ok ok ok"),
        ("100 1000 100", "ok ok ok"),
        ("100 1001 100", "ok jump ok"),
        ("100 5 100", "ok jump ok"),
        ("100 50-2000/60 100", "ok jump ok"),
        ("100 5000 5000 5000", "ok jump ok ok"),
        ("1000000 100 100 100", "ok jump ok ok"),
        ("100 5000 1 100", "ok jump jump ok"),
    ];
    for (bars, want) in cases {
        let mut trail = PriceTrail::new(DEFAULT_MAX_PRICE_JUMP);
        let got: Vec<&str> = bars
            .split(' ')
            .map(|bar| {
                let (range, close) = bar.split_once('/').unwrap_or((bar, bar));
                let (low, high) = range.split_once('-').unwrap_or((range, range));
                let close = close.parse().unwrap();
                let candle = Candle {
                    open_time: 0,
                    open: close,
                    high: high.parse().unwrap(),
                    low: low.parse().unwrap(),
                    close,
                    volume: 0.0,
                    quote_volume: None,
                    taker_buy_quote: None,
                };
                if trail.step(&candle).is_ok() {
                    "ok"
                } else {
                    "jump"
                }
            })
            .collect();
        assert_eq!(got.join(" "), want, "{bars}");
    }
}

#[test]
fn kline_header_needs_every_required_column() {
    for (header, missing) in [
        ("open_time_ms,open,high,low,volume", "close"),
        ("time,open,high,low,close,volume", "open_time_ms"),
        ("", "open_time_ms"),
    ] {
        let err = Columns::from_header(Path::new("k.csv"), header, &klines::COLUMNS).err();
        let msg = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains(&format!("`{missing}`")), "{header:?}: {msg}");
    }
}

fn universe(names: &[&str]) -> Universe {
    names
        .iter()
        .map(|n| (n.to_string(), n.parse::<Symbol>().unwrap()))
        .collect()
}

fn render(row: Result<Row, super::RowError>) -> String {
    match row {
        Ok(Row::Event(s, l)) => {
            let side = if l.side == Side::Long {
                "long"
            } else {
                "short"
            };
            format!("{s} {side} p={} q={} t={}", l.price, l.quantity, l.time)
        }
        Ok(Row::OutsideUniverse) => "outside".to_owned(),
        Ok(Row::NonPerpetual) => "non-perpetual".to_owned(),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn liquidation_csv_rows() {
    let u = universe(&["BTCUSDT", "ETHUSDT", "1000PEPEUSDT", "ETHUSDC"]);
    #[rustfmt::skip]
    let cases = [
        ("BTC,BUY,LIMIT,IOC,0.025,59935.28,59697.40,FILLED,0.025,0.025,1723971641090,1498.382", "BTCUSDT short p=59697.4 q=0.025 t=1723971641090"),
        ("BTCUSDT,SELL,LIMIT,IOC,0.188,60013.49,59774.50,FILLED,0.188,0.188,1723974428473,11282.5", "BTCUSDT long p=59774.5 q=0.188 t=1723974428473"),
        ("btc,SELL,LIMIT,IOC,1,100,101,FILLED,1,1,5,101", "BTCUSDT long p=101 q=1 t=5"),
        ("BTC,SELL,LIMIT,IOC,1,100,None,FILLED,1,1,5,100", "BTCUSDT long p=100 q=1 t=5"),
        ("BTC,SELL,LIMIT,IOC,1,100,0,NEW,0,0,5,0", "BTCUSDT long p=100 q=1 t=5"),
        ("BTC,SELL,LIMIT,IOC,2,100,101,PARTIALLY_FILLED,0.5,0.5,5,50", "BTCUSDT long p=101 q=0.5 t=5"),
        ("BTC,SELL,LIMIT,IOC,1,100,101,FILLED,1,1,5", "BTCUSDT long p=101 q=1 t=5"),
        ("1000PEPE,BUY,LIMIT,IOC,10,0.01,0.011,FILLED,10,10,7,0.1", "1000PEPEUSDT short p=0.011 q=10 t=7"),
        ("ETHUSDC,SELL,LIMIT,IOC,1,2340,None,FILLED,1,1,9,2340", "ETHUSDC long p=2340 q=1 t=9"),
        ("SOL,SELL,LIMIT,IOC,1,100,101,FILLED,1,1,5,101", "outside"),
        ("ETH_250627,SELL,LIMIT,IOC,0.003,2314.68,None,FILLED,0.003,0.003,1750715637577,6.9", "non-perpetual"),
        ("BTC-X,SELL,LIMIT,IOC,1,100,101,FILLED,1,1,5,101", "error: symbol \"BTC-X\" is not a valid symbol"),
        (",SELL,LIMIT,IOC,1,100,101,FILLED,1,1,5,101", "error: symbol \"\" is not a valid symbol"),
        ("BTC,HOLD,LIMIT,IOC,1,100,101,FILLED,1,1,5,101", "error: side \"HOLD\" is neither BUY nor SELL"),
        ("BTC,SELL,LIMIT,IOC,1,x,None,FILLED,1,1,5,101", "error: column `p` is not a number"),
        ("BTC,SELL,LIMIT,IOC,1,-1,None,FILLED,1,1,5,101", "error: column `p` is not a finite positive value"),
        ("BTC,SELL,LIMIT,IOC,0,100,101,FILLED,0,0,5,0", "error: column `q` is not a finite positive value"),
        ("BTC,SELL,LIMIT,IOC,1,100,101,FILLED,1,1,later,101", "error: column `T` is not a number"),
        ("BTC,SELL,LIMIT,IOC,1,100,101,FILLED,1,1", "error: expected 12 columns, found 10"),
        ("BTC,SELL,LIMIT,IOC,1,100,101,FILLED,1,1,5,101,extra", "error: expected 12 columns, found 13"),
    ];
    let mut buf = String::new();
    for (line, want) in cases {
        assert_eq!(
            render(liquidations::csv_row(line, &u, &mut buf)),
            want,
            "row {line:?}"
        );
    }
}

#[test]
fn liquidation_json_rows() {
    let u = universe(&["BTCUSDT"]);
    #[rustfmt::skip]
    let cases = [
        (r#"{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}"#, "BTCUSDT long p=9910 q=0.014 t=1568014460893"),
        (r#"{"e":"forceOrder","E":1568014460893,"o":{"s":"BTCUSDT","S":"BUY","q":"0.014","p":"9910","ap":"9911","z":"0.014","T":1568014460893}}"#, "BTCUSDT short p=9911 q=0.014 t=1568014460893"),
        (r#"{"s":"BTC","S":"BUY","q":2,"p":100.5,"ap":null,"z":0,"T":"42"}"#, "BTCUSDT short p=100.5 q=2 t=42"),
        (r#"{"s":"ETH","S":"BUY","q":2,"p":100.5,"T":42}"#, "outside"),
        (r#"{"s":"BTCUSDT","S":"SELL","q":"1","ap":"None","T":42}"#, "error: column `p` is not a number"),
        (r#"{"s":"BTCUSDT","S":"SELL","q":"1","p":"5"}"#, "error: column `T` is not a number"),
    ];
    let mut buf = String::new();
    for (line, want) in cases {
        assert_eq!(
            render(liquidations::json_row(line, &u, &mut buf)),
            want,
            "line {line}"
        );
    }
    for garbage in ["[1,2]", "{\"S\":\"SELL\"}", "not json"] {
        let got = render(liquidations::json_row(garbage, &u, &mut buf));
        assert!(
            got.starts_with("error: not a forceOrder JSON object"),
            "{garbage}: {got}"
        );
    }
}

#[test]
fn stripped_symbols_are_normalised() {
    let mut buf = String::new();
    for (raw, want) in [
        ("BTC", "BTCUSDT"),
        ("BTCUSDT", "BTCUSDT"),
        (" eth ", "ETHUSDT"),
        ("1000PEPE", "1000PEPEUSDT"),
        ("USDC", "USDCUSDT"),
        ("BTCUSDC", "BTCUSDC"),
        ("T", "TUSDT"),
    ] {
        assert_eq!(
            liquidations::normalise_symbol(raw, &mut buf),
            want,
            "{raw:?}"
        );
    }
}

#[test]
fn utc_datetimes() {
    #[rustfmt::skip]
    let cases = [
        ("1970-01-01 00:00:00", Some(0)),
        ("2025-05-30 10:30:00", Some(1_748_601_000_000)),
        ("2025-06-11 10:25:00", Some(1_749_637_500_000)),
        ("2024-02-29 23:59:59", Some(1_709_251_199_000)),
        ("2000-02-29 00:00:00", Some(951_782_400_000)),
        ("1969-12-31 23:59:59", Some(-1000)),
        ("2025-02-29 00:00:00", None),
        ("1900-02-29 00:00:00", None),
        ("2025-04-31 00:00:00", None),
        ("2025-13-01 00:00:00", None),
        ("2025-00-01 00:00:00", None),
        ("2025-05-30 24:00:00", None),
        ("2025-05-30 10:60:00", None),
        ("2025-05-30T10:30:00", Some(1_748_601_000_000)),
        ("2025-05-30T10:30:00Z", Some(1_748_601_000_000)),
        ("2025-5-30 10:30:00", None),
        ("2025-05-30 10:30", None),
        ("2025-05-30 10:30:00.000", None),
        ("2025-05-3a 10:30:00", None),
        ("", None),
    ];
    for (text, want) in cases {
        assert_eq!(utc_datetime(text), want, "{text:?}");
    }
}

#[test]
fn civil_days_are_consecutive_from_1900_to_2200() {
    let mut expected = days_from_civil(1900, 1, 1);
    assert_eq!(expected, -25_567);
    for year in 1900..2200 {
        for month in 1..=12 {
            for day in 1..=days_in_month(year, month) {
                assert_eq!(
                    days_from_civil(year, month, day),
                    expected,
                    "{year}-{month}-{day}"
                );
                expected += 1;
            }
        }
    }
}

fn ev(symbol: &str, event: MarketEvent) -> SymbolEvent {
    SymbolEvent {
        symbol: symbol.parse().unwrap(),
        event,
    }
}

fn label(e: &SymbolEvent) -> String {
    let kind = match &e.event {
        MarketEvent::Funding(_) => "funding",
        MarketEvent::Candle { .. } => "candle",
        MarketEvent::OpenInterest(_) => "oi",
        MarketEvent::Liquidation(l) if l.quantity == 2.0 => "liq2",
        MarketEvent::Liquidation(_) => "liq",
        _ => "other",
    };
    format!("{}@{} {}", kind, e.event.known_at(), e.symbol)
}

#[test]
fn events_sort_by_known_at_then_symbol_then_kind() {
    let candle = |open_time| MarketEvent::Candle {
        interval: Interval::M5,
        candle: Candle {
            open_time,
            open: 1.0,
            high: 1.0,
            low: 1.0,
            close: 1.0,
            volume: 0.0,
            quote_volume: None,
            taker_buy_quote: None,
        },
    };
    let funding = |time| MarketEvent::Funding(Funding { time, rate: 0.0 });
    let oi = |time| {
        MarketEvent::OpenInterest(OpenInterest {
            time,
            contracts: 1.0,
            value_usd: None,
        })
    };
    let liq = |time, quantity| {
        MarketEvent::Liquidation(Liquidation {
            time,
            side: Side::Long,
            price: 1.0,
            quantity,
        })
    };
    #[rustfmt::skip]
    let mut events = vec![
        ev("BBUSDT", liq(300_000, 1.0)),
        ev("BBUSDT", oi(300_000)),
        ev("AAUSDT", liq(300_000, 1.0)),
        ev("AAUSDT", liq(300_000, 2.0)),
        ev("BBUSDT", candle(0)),
        ev("AAUSDT", oi(300_000)),
        ev("AAUSDT", candle(0)),
        ev("AAUSDT", funding(300_000)),
        ev("BBUSDT", funding(299_999)),
        ev("AAUSDT", candle(300_000)),
    ];
    events.sort_by(event_order);
    let got: Vec<String> = events.iter().map(label).collect();
    #[rustfmt::skip]
    let want = [
        "funding@299999 BBUSDT",
        "funding@300000 AAUSDT",
        "oi@300000 AAUSDT",
        "candle@300000 AAUSDT",
        "liq@300000 AAUSDT",
        "liq2@300000 AAUSDT",
        "oi@300000 BBUSDT",
        "candle@300000 BBUSDT",
        "liq@300000 BBUSDT",
        "candle@600000 AAUSDT",
    ];
    assert_eq!(got, want);
}

#[test]
fn file_workers_log_through_the_callers_scoped_subscriber() {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let jobs: Vec<Job> = (0..4)
        .map(|i| Job::Liquidations(format!("job{i}").into()))
        .collect();
    // This callsite is hit only here, so no other test can race its interest cache.
    let run = |_: usize, job: &Job| {
        let Job::Liquidations(path) = job else {
            unreachable!()
        };
        tracing::warn!(job = %path.display(), "Worker log line for the propagation test.");
        Ok(())
    };
    tracing::subscriber::with_default(subscriber, || run_jobs(&jobs, &run)).unwrap();
    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    for i in 0..4 {
        assert!(logs.contains(&format!("job=job{i}")), "{logs}");
    }
}

/// The shared 2025-01-26/27 recording holds most prints twice (two writers): a repeated row is
/// dropped and counted, a print that differs in any field is kept, and a file outside a dataset
/// reads the same way.
#[test]
fn repeated_liquidation_rows_count_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prints.csv");
    let row = "BTC,SELL,LIMIT,IOC,0.01,104000,104100,FILLED,0.01,0.01,1737996829829,1041";
    let later = "BTC,SELL,LIMIT,IOC,0.01,104000,104100,FILLED,0.01,0.01,1737996830829,1041";
    let other = "ETH,BUY,LIMIT,IOC,1,3100,3090,FILLED,1,1,1737996829829,3090";
    std::fs::write(&path, [row, row, later, row, other].join("\n")).unwrap();
    let symbols: std::collections::BTreeSet<Symbol> = ["BTCUSDT", "ETHUSDT"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let limits = super::RowLimits::new(crate::clock::wall_ms(), super::DEFAULT_MAX_PRICE_JUMP);
    let (events, files) = super::read_liquidations(&path, &symbols, &limits).unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!((files[0].events, files[0].duplicates), (3, 2));
    let (from_dir, files) = super::read_liquidations(dir.path(), &symbols, &limits).unwrap();
    assert_eq!((from_dir, files.len()), (events, 1));
}
