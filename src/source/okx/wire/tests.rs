//! Each wire type on its raw example from OKX's documentation (docs/venues/okx.md cites each
//! page), table-driven; then the fuzz module.

mod fuzz;

use super::*;
use crate::model::{Candle, Funding, Liquidation, MarkTick, MarketEvent, Side, SymbolEvent};

// Documented examples, verbatim apart from whitespace (OKX docs v5).
pub(super) const CANDLE_PUSH: &str = r#"{"arg":{"channel":"candle1D","instId":"BTC-USDT"},"data":[["1597026383085","8533.02","8553.74","8527.17","8548.26","45247","529.5858061","5529.5858061","0"]]}"#;
pub(super) const MARK_PUSH: &str = r#"{"arg":{"channel":"mark-price","instId":"LTC-USD-190628"},"data":[{"instType":"FUTURES","instId":"LTC-USD-190628","markPx":"0.1","ts":"1597026383085"}]}"#;
pub(super) const FUNDING_PUSH: &str = r#"{"arg":{"channel":"funding-rate","instId":"BTC-USD-SWAP"},"data":[{"formulaType":"noRate","fundingRate":"0.0001875391284828","fundingTime":"1700726400000","impactValue":"","instId":"BTC-USD-SWAP","instType":"SWAP","interestRate":"","method":"current_period","maxFundingRate":"0.00375","minFundingRate":"-0.00375","nextFundingRate":"","nextFundingTime":"1700755200000","premium":"0.0001233824646391","settFundingRate":"0.0001699799259033","settState":"settled","ts":"1700724675402"}]}"#;
pub(super) const LIQUIDATION_PUSH: &str = r#"{"id":"1512","arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"details":[{"bkLoss":"0","bkPx":"0.007831","ccy":"","posSide":"short","side":"buy","sz":"13","ts":"1692266434010"}],"instFamily":"IOST-USDT","instId":"IOST-USDT-SWAP","instType":"SWAP","uly":"IOST-USDT"}]}"#;
pub(super) const SUBSCRIBED: &str = r#"{"id":"1512","event":"subscribe","arg":{"channel":"mark-price","instId":"LTC-USD-190628"},"connId":"a4d3ae55"}"#;
pub(super) const SUB_ERROR: &str = r#"{"id":"1512","event":"error","code":"60012","msg":"Invalid request: {\"op\": \"subscribe\", \"argss\":[{ \"channel\" : \"mark-price\", \"instId\" : \"LTC-USD-190628\"}]}","connId":"a4d3ae55"}"#;
pub(super) const NOTICE: &str = r#"{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"a4d3ae55"}"#;
pub(super) const REST_CANDLES: &str = r#"{"code":"0","msg":"","data":[["1597026383085","3.721","3.743","3.677","3.708","8422410","22698348.04828491","12698348.04828491","1"],["1597026083085","3.731","3.799","3.494","3.72","24912403","67632347.24399722","37632347.24399722","1"]]}"#;
pub(super) const REST_OI: &str = r#"{"code":"0","msg":"","data":[{"instType":"SWAP","instId":"BTC-USDT-SWAP","oi":"5000","oiCcy":"555.55","oiUsd":"50000","ts":"1597026383085"}]}"#;
pub(super) const REST_OI_HIST: &str = r#"{"code":"0","msg":"","data":[["1701417600000","731377.57500501","111","8888888"],["1701417500000","731377.57500501","111","8888888"]]}"#;
pub(super) const REST_FUNDING: &str = r#"{"code":"0","msg":"","data":[{"formulaType":"noRate","fundingRate":"0.0000746604960499","fundingTime":"1703059200000","instId":"BTC-USD-SWAP","instType":"SWAP","method":"next_period","realizedRate":"0.0000746572360545"},{"formulaType":"noRate","fundingRate":"0.000227985782722","fundingTime":"1703030400000","instId":"BTC-USD-SWAP","instType":"SWAP","method":"next_period","realizedRate":"0.0002279755647389"}]}"#;
pub(super) const REST_TIERS: &str = r#"{"code":"0","msg":"","data":[{"baseMaxLoan":"50","imr":"0.1","instId":"BTC-USDT","maxLever":"10","maxSz":"50","minSz":"0","mmr":"0.03","optMgnFactor":"0","quoteMaxLoan":"500000","tier":"1","uly":"","instFamily":""}]}"#;
pub(super) const REST_RATE_LIMIT: &str = r#"{"code":"50011","msg":"Rate limit reached. Please refer to API documentation and throttle requests accordingly.","data":[]}"#;
/// The documented SPOT example's fields on USDT swaps (the docs show only a spot row), one live,
/// one suspended, one inverse, one USDC-settled.
pub(super) const REST_INSTRUMENTS: &str = r#"{"code":"0","msg":"","data":[
{"instType":"SWAP","instId":"BTC-USDT-SWAP","instFamily":"BTC-USDT","uly":"BTC-USDT","settleCcy":"USDT","ctVal":"0.01","ctMult":"1","ctValCcy":"BTC","ctType":"linear","state":"live","listTime":"1611916828000"},
{"instType":"SWAP","instId":"PEPE-USDT-SWAP","instFamily":"PEPE-USDT","uly":"PEPE-USDT","settleCcy":"USDT","ctVal":"10000000","ctMult":"1","ctValCcy":"PEPE","ctType":"linear","state":"live","listTime":"1683000000000"},
{"instType":"SWAP","instId":"OLD-USDT-SWAP","instFamily":"OLD-USDT","settleCcy":"USDT","ctVal":"1","ctValCcy":"OLD","ctType":"linear","state":"suspend"},
{"instType":"SWAP","instId":"BTC-USD-SWAP","instFamily":"BTC-USD","settleCcy":"BTC","ctVal":"100","ctValCcy":"USD","ctType":"inverse","state":"live"},
{"instType":"SWAP","instId":"BTC-USDC-SWAP","instFamily":"BTC-USDC","settleCcy":"USDC","ctVal":"0.0001","ctValCcy":"BTC","ctType":"linear","state":"live"}]}"#;

fn contract(inst: &str, ct_val: f64) -> Contract {
    Contract {
        inst_id: inst.to_owned(),
        inst_family: inst.trim_end_matches("-SWAP").to_owned(),
        symbol: symbol_of(inst).expect("a USDT swap"),
        ct_val,
    }
}

fn followed() -> Contracts {
    Contracts::new(&[
        contract("BTC-USDT-SWAP", 0.01),
        contract("IOST-USDT-SWAP", 1000.0),
    ])
}

fn on(inst: &str, event: MarketEvent) -> SymbolEvent {
    SymbolEvent {
        symbol: symbol_of(inst).expect("a USDT swap"),
        event,
    }
}

#[test]
fn instrument_names_map_to_canonical_symbols() {
    // (OKX name, canonical text or none)
    #[rustfmt::skip]
    let cases = [
        ("BTC-USDT-SWAP", Some("OKX:BTCUSDT")),
        ("1INCH-USDT-SWAP", Some("OKX:1INCHUSDT")),
        ("BTC-USD-SWAP", None),
        ("BTC-USDT", None),
        ("BTC-USDT-250627", None),
        ("-USDT-SWAP", None),
        ("A-B-USDT-SWAP", None),
    ];
    for (inst, want) in cases {
        let got = symbol_of(inst).map(|s| s.as_str().to_owned());
        assert_eq!(got.as_deref(), want, "{inst}");
    }
}

#[test]
fn frames_become_events_of_followed_contracts() {
    let closed = CANDLE_PUSH
        .replace("candle1D", "candle5m")
        .replace(r#""instId":"BTC-USDT""#, r#""instId":"BTC-USDT-SWAP""#);
    let closed = closed.replace(r#""0"]]"#, r#""1"]]"#);
    let btc_mark = MARK_PUSH.replace("LTC-USD-190628", "BTC-USDT-SWAP");
    let btc_funding = FUNDING_PUSH.replace("BTC-USD-SWAP", "BTC-USDT-SWAP");
    let bar = Candle {
        open_time: 1_597_026_383_085,
        open: 8533.02,
        high: 8553.74,
        low: 8527.17,
        close: 8548.26,
        volume: 529.5858061,
        quote_volume: Some(5529.5858061),
        taker_buy_quote: None,
    };
    let interval = crate::model::Interval::M5;
    // (frame, expected)
    let cases: Vec<(String, Frame)> = vec![
        ("pong".into(), Frame::Pong),
        (
            SUBSCRIBED.into(),
            Frame::Subscribed {
                channel: "mark-price".into(),
            },
        ),
        (
            SUB_ERROR.into(),
            Frame::Error {
                code: "60012".into(),
                msg: SUB_ERROR_MSG.into(),
            },
        ),
        (
            NOTICE.into(),
            Frame::Notice {
                code: "64008".into(),
                msg: "The connection will soon be closed for a service upgrade. Please reconnect."
                    .into(),
            },
        ),
        (CANDLE_PUSH.into(), Frame::Unused),
        (
            CANDLE_PUSH
                .replace("candle1D", "candle5m")
                .replace(r#""instId":"BTC-USDT""#, r#""instId":"BTC-USDT-SWAP""#),
            Frame::OpenBar,
        ),
        (
            closed,
            Frame::Events(vec![on(
                "BTC-USDT-SWAP",
                MarketEvent::Candle {
                    interval,
                    candle: bar,
                },
            )]),
        ),
        (MARK_PUSH.into(), Frame::Events(vec![])),
        (
            btc_mark,
            Frame::Events(vec![on(
                "BTC-USDT-SWAP",
                MarketEvent::Mark(MarkTick {
                    time: 1_597_026_383_085,
                    price: 0.1,
                    funding_rate: None,
                }),
            )]),
        ),
        (FUNDING_PUSH.into(), Frame::Events(vec![])),
        (
            btc_funding,
            Frame::Events(vec![on(
                "BTC-USDT-SWAP",
                MarketEvent::Funding(Funding {
                    time: 1_700_724_675_402,
                    rate: 0.0001875391284828,
                }),
            )]),
        ),
        (
            LIQUIDATION_PUSH.into(),
            Frame::Events(vec![on(
                "IOST-USDT-SWAP",
                MarketEvent::Liquidation(Liquidation {
                    time: 1_692_266_434_010,
                    side: Side::Short,
                    price: 0.007831,
                    quantity: 13_000.0,
                }),
            )]),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(parse_frame(&text, &followed()), Ok(want), "{text}");
    }
}

const SUB_ERROR_MSG: &str = r#"Invalid request: {"op": "subscribe", "argss":[{ "channel" : "mark-price", "instId" : "LTC-USD-190628"}]}"#;

#[test]
fn liquidations_close_the_position_side() {
    // (side, posSide, closed position or none)
    #[rustfmt::skip]
    let cases = [
        ("sell", "long", Some(Side::Long)), ("buy", "short", Some(Side::Short)),
        ("sell", "net", Some(Side::Long)), ("buy", "net", Some(Side::Short)),
        ("sell", "", Some(Side::Long)), ("hold", "net", None),
    ];
    for (side, pos_side, want) in cases {
        let text = LIQUIDATION_PUSH.replace(
            r#""posSide":"short","side":"buy""#,
            &format!(r#""posSide":"{pos_side}","side":"{side}""#),
        );
        let got = match parse_frame(&text, &followed()) {
            Ok(Frame::Events(e)) => match e.as_slice() {
                [
                    SymbolEvent {
                        event: MarketEvent::Liquidation(l),
                        ..
                    },
                ] => Some(l.side),
                _ => None,
            },
            _ => None,
        };
        assert_eq!(got, want, "{side}/{pos_side}");
    }
}

#[test]
fn bad_frames_are_typed_errors() {
    // (frame, malformed?)
    #[rustfmt::skip]
    let cases = [
        ("", true), ("{", true), ("[1,2]", true), (r#"{"arg":{}}"#, true),
        (r#"{"arg":{"channel":"candle5m","instId":"BTC-USDT-SWAP"},"data":[["1"]]}"#, true),
        (&LIQUIDATION_PUSH.replace(r#""bkPx":"0.007831""#, r#""bkPx":"-1""#), false),
        (&MARK_PUSH.replace(r#""markPx":"0.1""#, r#""markPx":"NaN""#).replace("LTC-USD-190628", "BTC-USDT-SWAP"), false),
    ];
    for (text, malformed) in cases {
        let e = parse_frame(text, &followed()).expect_err(text);
        assert_eq!(e.is_malformed(), malformed, "{text}: {e}");
    }
}

#[test]
fn instruments_keep_live_usdt_linear_swaps() {
    let (contracts, dropped) = parse_instruments(REST_INSTRUMENTS).expect("documented shape");
    let got: Vec<(&str, &str, f64)> = contracts
        .iter()
        .map(|c| (c.inst_id.as_str(), c.symbol.as_str(), c.ct_val))
        .collect();
    let want = [
        ("BTC-USDT-SWAP", "OKX:BTCUSDT", 0.01),
        ("PEPE-USDT-SWAP", "OKX:PEPEUSDT", 10_000_000.0),
    ];
    assert_eq!(got, want);
    assert!(dropped.is_empty());
}

#[test]
fn rest_bodies_parse_oldest_first() {
    let bars = parse_candles(REST_CANDLES).expect("documented candles");
    let opens: Vec<i64> = bars.iter().map(|b| b.open_time).collect();
    assert_eq!(opens, [1_597_026_083_085, 1_597_026_383_085]);
    assert_eq!(bars[1].volume, 22_698_348.048_284_91);

    let oi = parse_open_interest(REST_OI, "BTC-USDT-SWAP", 0.01).expect("documented OI");
    assert_eq!(
        (oi.time, oi.contracts, oi.base, oi.usd),
        (1_597_026_383_085, 5000.0, 555.55, Some(50_000.0))
    );

    let hist = parse_open_interest_history(REST_OI_HIST, 0.01).expect("documented history");
    let times: Vec<i64> = hist.iter().map(|r| r.time).collect();
    assert_eq!(times, [1_701_417_500_000, 1_701_417_600_000]);
    assert_eq!(hist[0].base, 111.0);

    let funding = parse_funding_history(REST_FUNDING).expect("documented funding");
    let got: Vec<(i64, f64)> = funding.iter().map(|f| (f.time, f.rate)).collect();
    assert_eq!(
        got,
        [
            (1_703_030_400_000, 0.000_227_975_564_738_9),
            (1_703_059_200_000, 0.000_074_657_236_054_5)
        ]
    );

    let tier = parse_position_tiers(REST_TIERS, "BTC-USDT").expect("documented tiers");
    assert_eq!(
        tier,
        FirstTier {
            mmr: 0.03,
            max_leverage: 10.0
        }
    );
}

#[test]
fn okx_error_bodies_are_api_errors() {
    // (body, rate limit?)
    let cases = [
        (REST_RATE_LIMIT, true),
        (
            r#"{"code":"51001","msg":"Instrument ID doesn't exist.","data":[]}"#,
            false,
        ),
        (
            r#"{"code":"50013","msg":"Systems are busy. Please try again later.","data":[]}"#,
            true,
        ),
    ];
    for (body, rate_limit) in cases {
        let e = parse_candles(body).expect_err(body);
        assert!(matches!(e, WireError::Api { .. }), "{body}");
        assert_eq!(e.is_rate_limit(), rate_limit, "{body}");
        assert_eq!(parse_api_error(body), Some(e));
    }
    assert_eq!(parse_api_error(REST_OI), None);
}
