//! REST bodies: the documented examples, error bodies and the exchangeInfo universe.

use super::super::*;
use super::{
    EXCHANGE_INFO, REST_ERROR, REST_FUNDING, REST_KLINES, REST_OI, REST_OI_HIST, REST_PREMIUM, opt,
    show, show_batch, show_event,
};
use crate::model::{Candle, Interval, SymbolEvent};

fn check_rest<T>(got: Result<T, WireError>, show_ok: impl Fn(&T) -> String, want: &str) {
    assert_eq!(show(got, show_ok), want);
}

fn events(v: &[SymbolEvent]) -> String {
    v.iter().map(show_event).collect::<Vec<_>>().join(" | ")
}

#[test]
fn documented_rest_examples() {
    let candles = |v: &Vec<Candle>| format!("{v:?}");
    check_rest(
        parse_klines(REST_KLINES, Interval::W1, 1_499_644_800_000),
        candles,
        "[Candle { open_time: 1499040000000, open: 0.0163479, high: 0.8, low: 0.015758, close: 0.015771, volume: 148976.11427815, quote_volume: Some(2434.19055334), taker_buy_quote: Some(28.46694368) }]",
    );
    check_rest(
        parse_klines(REST_KLINES, Interval::W1, 1_499_644_799_999),
        candles,
        "[]",
    );
    check_rest(
        parse_klines(REST_KLINES, Interval::D1, i64::MAX),
        candles,
        r#"error Inconsistent { what: "kline close time is not open time + interval - 1 ms" }"#,
    );
    check_rest(
        parse_klines(&REST_KLINES.replace(",308,", ","), Interval::W1, i64::MAX),
        candles,
        "error shape",
    );
    check_rest(
        parse_klines(REST_ERROR, Interval::M1, 0),
        candles,
        r#"error Rejected { code: -1121, msg: "Invalid symbol.", id: None }"#,
    );
    check_rest(
        parse_open_interest(REST_OI),
        show_event,
        "BTCUSDT oi t=1589437530011 n=10659.509 usd=-",
    );
    check_rest(
        parse_open_interest_hist(REST_OI_HIST, Interval::M5),
        |v: &Vec<SymbolEvent>| events(v),
        "BTCUSDT oi t=1583128200000 n=20403.637 usd=150570784.0780998",
    );
    check_rest(
        parse_open_interest_hist(
            &REST_OI_HIST.replace(r#""1583127900000""#, "1583127900000"),
            Interval::M5,
        ),
        |v: &Vec<SymbolEvent>| events(v),
        "BTCUSDT oi t=1583128200000 n=20403.637 usd=150570784.0780998",
    );
    check_rest(
        parse_open_interest_hist(
            &REST_OI_HIST.replace(r#""1583127900000""#, r#""soon""#),
            Interval::M5,
        ),
        |v: &Vec<SymbolEvent>| events(v),
        "error shape",
    );
    check_rest(
        parse_funding_rates(REST_FUNDING),
        |v: &Vec<SymbolEvent>| events(v),
        "BTCUSDT funding t=1570608000000 r=-0.0375",
    );
    check_rest(
        parse_funding_rates(&REST_FUNDING.replace("34287.54619963", "")),
        |v: &Vec<SymbolEvent>| events(v),
        "BTCUSDT funding t=1570608000000 r=-0.0375",
    );
    check_rest(
        parse_funding_rates(&REST_FUNDING.replace("-0.03750000", "nan")),
        |v: &Vec<SymbolEvent>| events(v),
        r#"error Number { field: "fundingRate", text: "nan" }"#,
    );
    check_rest(
        parse_premium_index(REST_PREMIUM),
        show_batch,
        "BTCUSDT mark t=1597370495002 p=11793.63104562 r=0.00038246",
    );
    check_rest(
        parse_premium_index(&format!(
            "[{REST_PREMIUM},{}]",
            REST_PREMIUM.replace("BTCUSDT", "BTCUSDT_260925")
        )),
        show_batch,
        "BTCUSDT mark t=1597370495002 p=11793.63104562 r=0.00038246 | skipped 1",
    );
    check_rest(parse_premium_index(" []"), show_batch, "");
    check_rest(
        parse_api_error(REST_ERROR),
        |e| format!("{e:?}"),
        r#"ApiError { code: -1121, msg: "Invalid symbol." }"#,
    );
    check_rest(
        parse_open_interest(r#"{"code":-1003,"msg":"Way too many requests"}"#),
        show_event,
        r#"error Rejected { code: -1003, msg: "Way too many requests", id: None }"#,
    );
}

#[test]
fn exchange_info_contracts() {
    let info = parse_exchange_info(EXCHANGE_INFO).unwrap();
    let contracts: Vec<String> = info
        .contracts()
        .map(|c| {
            c.map(|c| {
                format!(
                    "{} tick={} listed={}",
                    c.symbol,
                    c.tick_size,
                    opt(c.listed_at.map(|t| t as f64))
                )
            })
        })
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        contracts,
        [
            "BTCUSDT tick=0.01 listed=1569398400000",
            "ETHUSDT tick=0.01 listed=1569398400000",
            "1000SHIBUSDT tick=0.000001 listed=1620630000000",
        ]
    );
    assert_eq!(info.request_weight(), Some((2400, 60_000)));
    assert_eq!(info.rate_limits[2].window_ms(), Some(10_000));
    assert!(parse_exchange_info(REST_ERROR).unwrap_err().is_rejected());
}

#[test]
fn universe_filter() {
    let info = parse_exchange_info(EXCHANGE_INFO).unwrap();
    let verdicts: Vec<String> = info
        .symbols
        .iter()
        .map(|s| format!("{} {}", s.symbol, is_usdt_perpetual(s)))
        .collect();
    assert_eq!(
        verdicts,
        [
            "BTCUSDT true",
            "ETHUSDT true",
            "BTCBUSD false",
            "BTCSTUSDT false",
            "1000SHIBUSDT true",
            "BTCUSDT_210924 false",
        ]
    );
    let broken = EXCHANGE_INFO.replacen(r#""tickSize":"0.01""#, r#""tickSize":"0""#, 1);
    let first = parse_exchange_info(&broken)
        .unwrap()
        .contracts()
        .next()
        .unwrap();
    assert_eq!(
        first.unwrap_err(),
        WireError::Number {
            field: "tickSize",
            text: "0".to_owned()
        }
    );
}
