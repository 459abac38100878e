//! The parsers on Bybit's documented examples (docs/venues/bybit.md), one line per case.

mod fuzz;

use super::*;
use crate::model::{Interval, MarketEvent, Side, SymbolEvent};

pub(super) const KLINE_OPEN: &str = r#"{"topic":"kline.5.BTCUSDT","data":[{"start":1672324800000,"end":1672325099999,"interval":"5","open":"16649.5","close":"16677","high":"16677","low":"16608","volume":"2.081","turnover":"34666.4005","confirm":false,"timestamp":1672324988882}],"ts":1672324988882,"type":"snapshot"}"#;
pub(super) const KLINE_CLOSED: &str = r#"{"topic":"kline.5.BTCUSDT","data":[{"start":1672324800000,"end":1672325099999,"interval":"5","open":"16649.5","close":"16680","high":"16690","low":"16608","volume":"3.5","turnover":"58000.1","confirm":true,"timestamp":1672325099999}],"ts":1672325100003,"type":"snapshot"}"#;
pub(super) const TICKER_SNAPSHOT: &str = r#"{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","tickDirection":"PlusTick","price24hPcnt":"0.017103","lastPrice":"17216.00","prevPrice24h":"16926.50","highPrice24h":"17281.50","lowPrice24h":"16915.00","prevPrice1h":"17238.00","markPrice":"17217.33","indexPrice":"17227.36","openInterest":"68744.761","openInterestValue":"1183601235.91","turnover24h":"1570383121.943499","volume24h":"91705.276","nextFundingTime":"1673280000000","fundingRate":"-0.000212","bid1Price":"17215.50","bid1Size":"84.489","ask1Price":"17216.00","ask1Size":"83.020"},"cs":24987956059,"ts":1673272861686}"#;
pub(super) const TICKER_DELTA: &str = r#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","markPrice":"17220.10","openInterest":"68750.001","openInterestValue":"1183900000.00"},"cs":24987956060,"ts":1673272863000}"#;
pub(super) const LIQUIDATION: &str = r#"{"topic":"allLiquidation.ROSEUSDT","type":"snapshot","ts":1739502303204,"data":[{"T":1739502302929,"s":"ROSEUSDT","S":"Sell","v":"20000","p":"0.04499"}]}"#;
pub(super) const SUB_ACK: &str =
    r#"{"success":true,"ret_msg":"","op":"subscribe","conn_id":"cejreassvfrsfvb9v1a0-2m"}"#;
pub(super) const SUB_REFUSED: &str = r#"{"success":false,"ret_msg":"Invalid symbol :[NOTACOINUSDT]","conn_id":"cejreassvfrsfvb9v1a0-2m","req_id":"s1","op":"subscribe"}"#;
pub(super) const PONG: &str = r#"{"success":true,"ret_msg":"pong","conn_id":"465772b1-7630-4fdc-a492-e003e6f0f260","req_id":"","op":"ping"}"#;
pub(super) const REST_INSTRUMENTS: &str = r#"{"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[{"symbol":"BTCUSDT","contractType":"LinearPerpetual","status":"Trading","baseCoin":"BTC","quoteCoin":"USDT","launchTime":"1585526400000","priceScale":"2"},{"symbol":"1000PEPEUSDT","contractType":"LinearPerpetual","status":"Trading","baseCoin":"1000PEPE","quoteCoin":"USDT","launchTime":"1683705600000","priceScale":"7"},{"symbol":"BTCUSDT-26DEC25","contractType":"LinearFutures","status":"Trading","baseCoin":"BTC","quoteCoin":"USDT","launchTime":"1735286400000","priceScale":"2"},{"symbol":"BTCPERP","contractType":"LinearPerpetual","status":"Trading","baseCoin":"BTC","quoteCoin":"USDC","launchTime":"1670889600000","priceScale":"1"},{"symbol":"OLDUSDT","contractType":"LinearPerpetual","status":"Closed","baseCoin":"OLD","quoteCoin":"USDT","launchTime":"1600000000000","priceScale":"4"}],"nextPageCursor":"first%3D1000000BABYDOGEUSDT%26last%3DZRXUSDT"},"retExtInfo":{},"time":1707186451514}"#;
pub(super) const REST_KLINES: &str = r#"{"retCode":0,"retMsg":"OK","result":{"symbol":"BTCUSDT","category":"linear","list":[["1670608800000","17071","17073","17027","17055.5","268611","15.74462667"],["1670605200000","17071.5","17071.5","17061","17071","4177","0.24469757"],["1670601600000","17086.5","17088","16978","17071.5","6356","0.37288112"]]},"retExtInfo":{},"time":1672025956592}"#;
pub(super) const REST_OI: &str = r#"{"retCode":0,"retMsg":"OK","result":{"symbol":"BTCUSD","category":"inverse","list":[{"openInterest":"461134384.00000000","timestamp":"1669571400000"},{"openInterest":"461134292.00000000","timestamp":"1669571100000"}],"nextPageCursor":""},"retExtInfo":{},"time":1672053548579}"#;
pub(super) const REST_FUNDING: &str = r#"{"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[{"symbol":"ETHPERP","fundingRate":"0.0001","fundingRateTimestamp":"1672041600000"}]},"retExtInfo":{},"time":1672051897447}"#;
pub(super) const REST_RISK: &str = r#"{"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[{"id":2,"symbol":"BTCUSDT","riskLimitValue":"2600000","maintenanceMargin":"0.0056","initialMargin":"0.0111","isLowestRisk":0,"maxLeverage":"90.00","mmDeduction":"1560"},{"id":1,"symbol":"BTCUSDT","riskLimitValue":"2000000","maintenanceMargin":0.005,"initialMargin":0.01,"isLowestRisk":1,"maxLeverage":"100.00","mmDeduction":""}],"nextPageCursor":""},"retExtInfo":{},"time":1672054488010}"#;
pub(super) const REST_RATE_LIMITED: &str = r#"{"retCode":10006,"retMsg":"Too many visits!","result":{},"retExtInfo":{},"time":1672738134824}"#;

fn sym(name: &str) -> Symbol {
    symbol_of(name).unwrap()
}

#[test]
fn a_kline_is_a_bar_only_once_confirmed() {
    assert_eq!(parse_frame(KLINE_OPEN), Ok(Frame::Events(vec![])));
    let Ok(Frame::Events(events)) = parse_frame(KLINE_CLOSED) else {
        panic!("not events")
    };
    let [e] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(e.symbol.as_str(), "BYBIT:BTCUSDT");
    let MarketEvent::Candle { interval, candle } = &e.event else {
        panic!()
    };
    assert_eq!(
        (*interval, candle.open_time),
        (Interval::M5, 1_672_324_800_000)
    );
    assert_eq!(
        (candle.open, candle.high, candle.low, candle.close),
        (16649.5, 16690.0, 16608.0, 16680.0)
    );
    assert_eq!((candle.volume, candle.quote_volume), (3.5, Some(58000.1)));
}

#[test]
fn liquidation_side_is_the_position_closed() {
    let Ok(Frame::Events(events)) = parse_frame(LIQUIDATION) else {
        panic!()
    };
    let MarketEvent::Liquidation(l) = &events[0].event else {
        panic!()
    };
    assert_eq!(events[0].symbol.as_str(), "BYBIT:ROSEUSDT");
    // "When you receive a Buy update, this means that a long position has been liquidated."
    assert_eq!(
        (l.side, l.price, l.quantity, l.time),
        (Side::Short, 0.04499, 20000.0, 1_739_502_302_929)
    );
    let buy = LIQUIDATION.replace(r#""S":"Sell""#, r#""S":"Buy""#);
    let Ok(Frame::Events(events)) = parse_frame(&buy) else {
        panic!()
    };
    assert!(matches!(&events[0].event, MarketEvent::Liquidation(l) if l.side == Side::Long));
}

#[test]
fn operation_replies_and_pongs() {
    let ack = |success, msg: &str, req: Option<&str>| {
        Ok(Frame::Ack(Ack {
            op: "subscribe".into(),
            success,
            ret_msg: msg.into(),
            req_id: req.map(Into::into),
        }))
    };
    #[rustfmt::skip]
    let cases = [
        (SUB_ACK, ack(true, "", None)),
        (SUB_REFUSED, ack(false, "Invalid symbol :[NOTACOINUSDT]", Some("s1"))),
        (PONG, Ok(Frame::Pong)),
        (r#"{"req_id":"test","op":"pong","args":["1675418560633"],"conn_id":"x"}"#, Ok(Frame::Pong)),
        (r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[]}"#, Ok(Frame::Unused)),
        (r#"{"topic":"kline.1.BTCUSDT","type":"snapshot","ts":1,"data":[]}"#, Ok(Frame::Unused)),
    ];
    for (text, want) in cases {
        assert_eq!(parse_frame(text), want, "{text}");
    }
}

#[test]
fn bad_frames_are_typed_errors() {
    type Case<'a> = (&'a str, fn(&WireError) -> bool);
    #[rustfmt::skip]
    let cases: [Case; 7] = [
        ("{", WireError::is_malformed),
        ("nope", WireError::is_malformed),
        (r#"{"hello":1}"#, WireError::is_malformed),
        (
            r#"{"topic":"kline.5.BTCUSDT","ts":1,"type":"snapshot"}"#,
            WireError::is_malformed,
        ),
        (
            &KLINE_CLOSED.replacen("1672324800000", "1672324800001", 1),
            WireError::is_bad_value,
        ),
        (
            &LIQUIDATION.replace(r#""S":"Sell""#, r#""S":"Hold""#),
            WireError::is_bad_value,
        ),
        (
            &TICKER_SNAPSHOT.replace(r#""markPrice":"17217.33""#, r#""markPrice":"-1""#),
            WireError::is_bad_value,
        ),
    ];
    for (text, is) in cases {
        let e = parse_frame(text).expect_err(text);
        assert!(is(&e), "{text}: {e:?}");
    }
}

#[test]
fn ticker_deltas_merge_into_the_snapshot() {
    let mut book = TickerBook::default();
    let btc = sym("BTCUSDT");
    for (text, marks) in [(TICKER_SNAPSHOT, 1), (TICKER_DELTA, 1)] {
        let Ok(Frame::Ticker {
            symbol,
            ts,
            delta,
            fields,
        }) = parse_frame(text)
        else {
            panic!()
        };
        let out = book.apply(&symbol, ts, delta, fields);
        assert_eq!(out.len(), marks, "{text}");
    }
    let oi = book.open_interest(&btc, 1_673_273_100_000).unwrap();
    assert_eq!(
        (oi.time, oi.contracts, oi.value_usd),
        (1_673_273_100_000, 68750.001, Some(1183900000.0))
    );
    // The delta carried no funding rate: the snapshot's stands.
    assert_eq!(book.funding_rate(&btc), Some(-0.000212));
}

#[test]
fn marks_are_at_most_one_a_second_and_funding_prints_when_its_time_moves_on() {
    let mut book = TickerBook::default();
    let btc = sym("BTCUSDT");
    let t = |mark: Option<f64>, rate: Option<f64>, next: Option<TimeMs>| TickerState {
        mark_price: mark,
        funding_rate: rate,
        next_funding: next,
        ..TickerState::default()
    };
    let kinds = |out: Vec<SymbolEvent>| -> Vec<&'static str> {
        out.iter()
            .map(|e| match e.event {
                MarketEvent::Mark(_) => "mark",
                MarketEvent::Funding(_) => "funding",
                _ => "other",
            })
            .collect()
    };
    // One line per frame: ts, delta, fields, what it gives.
    #[rustfmt::skip]
    let frames = [
        (1_000, false, t(Some(10.0), Some(0.0001), Some(8_000)), vec!["mark"]),
        (1_500, true, t(Some(10.1), None, None), vec![]),
        (2_000, true, t(Some(10.2), None, None), vec!["mark"]),
        (2_500, true, t(None, Some(0.0002), None), vec![]),
        (8_100, true, t(None, Some(-0.0001), Some(16_000)), vec!["funding"]),
    ];
    for (ts, delta, fields, want) in frames {
        assert_eq!(kinds(book.apply(&btc, ts, delta, fields)), want, "ts {ts}");
    }
}

#[test]
fn rest_bodies() {
    let page = parse_instruments(REST_INSTRUMENTS).unwrap();
    let names: Vec<&str> = page
        .items
        .iter()
        .filter(|l| is_usdt_perpetual(l))
        .map(|l| l.symbol.as_str())
        .collect();
    assert_eq!(names, ["BYBIT:BTCUSDT", "BYBIT:1000PEPEUSDT"]);
    assert_eq!(
        (page.skipped, page.next.as_deref()),
        (1, Some("first%3D1000000BABYDOGEUSDT%26last%3DZRXUSDT"))
    );

    let bars = parse_klines(REST_KLINES, Interval::H1, 1_670_608_800_000).unwrap();
    let opens: Vec<TimeMs> = bars.iter().map(|b| b.open_time).collect();
    // Newest first on the wire; oldest first here, and the bar still open is left out.
    assert_eq!(opens, [1_670_601_600_000, 1_670_605_200_000]);
    assert_eq!(bars[0].quote_volume, Some(0.37288112));

    let oi = parse_open_interest(REST_OI).unwrap();
    assert_eq!(
        oi.items.iter().map(|o| o.time).collect::<Vec<_>>(),
        [1_669_571_100_000, 1_669_571_400_000]
    );
    assert_eq!(oi.next, None);

    let rates = parse_funding(REST_FUNDING).unwrap();
    assert_eq!((rates[0].time, rates[0].rate), (1_672_041_600_000, 0.0001));

    let tiers = parse_risk_limit(REST_RISK).unwrap().items;
    let first = first_tier(&tiers, &sym("BTCUSDT")).unwrap();
    assert_eq!(
        (first.mmr, first.max_leverage, first.limit),
        (0.005, 100.0, 2_000_000.0)
    );
}

#[test]
fn rest_refusals_are_typed() {
    let e = parse_klines(REST_RATE_LIMITED, Interval::M5, 0).unwrap_err();
    assert!(e.is_rate_limited() && e.is_rejected(), "{e:?}");
    let e =
        parse_funding(r#"{"retCode":10001,"retMsg":"params error: symbol invalid","result":{}}"#)
            .unwrap_err();
    assert!(e.is_rejected() && !e.is_rate_limited(), "{e:?}");
    let off_grid = REST_KLINES.replace("1670605200000", "1670605200001");
    assert!(
        parse_klines(&off_grid, Interval::H1, i64::MAX)
            .unwrap_err()
            .is_bad_value()
    );
}
