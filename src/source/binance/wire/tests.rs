//! Every documented raw example, the recorded real frames and malformed input, one line of data
//! per case: `check(frame, "what it means")`.

mod fuzz;
mod rest;

use super::*;
use crate::model::{MarketEvent, SymbolEvent};

/// The raw examples of Binance's docs (comments removed), as the wire types document them.
const KLINE: &str = r#"{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1638747660000,"s":"BTCUSDT","k":{"t":1638747660000,"T":1638747719999,"s":"BTCUSDT","i":"1m","f":100,"L":200,"o":"0.0010","c":"0.0020","h":"0.0025","l":"0.0015","v":"1000","n":100,"x":false,"q":"1.0000","V":"500","Q":"0.500","B":"123456"}}}"#;
const MARK_ARR: &str = r#"{"stream":"!markPrice@arr@1s","data":[{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11185.87786614","ap":"11185.87786614","i":"11784.62659091","P":"11784.25641265","r":"0.00030000","T":1562306400000}]}"#;
const FORCE_ORDER: &str = r#"{"stream":"!forceOrder@arr","data":{"e":"forceOrder","E":1568014460893,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}}}"#;
const ACK: &str = r#"{"result": null, "id": 1}"#;
const REST_KLINES: &str = r#"[[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","17928899.62484339"]]"#;
const REST_OI: &str = r#"{"openInterest":"10659.509","symbol":"BTCUSDT","time":1589437530011}"#;
const REST_OI_HIST: &str = r#"[{"symbol":"BTCUSDT","sumOpenInterest":"20403.63700000","sumOpenInterestValue":"150570784.07809979","CMCCirculatingSupply":"165880.538","timestamp":"1583127900000"}]"#;
const REST_FUNDING: &str = r#"[{"symbol":"BTCUSDT","fundingRate":"-0.03750000","fundingTime":1570608000000,"markPrice":"34287.54619963"}]"#;
const REST_PREMIUM: &str = r#"{"symbol":"BTCUSDT","markPrice":"11793.63104562","indexPrice":"11781.80495970","estimatedSettlePrice":"11781.16138815","lastFundingRate":"0.00038246","interestRate":"0.00010000","nextFundingTime":1597392000000,"time":1597370495002}"#;
const REST_ERROR: &str = r#"{"code": -1121, "msg": "Invalid symbol."}"#;

/// Real frames recorded from `fstream.binance.com` (see tests/fixtures/binance/SOURCES.md).
const WS_SAMPLE: &str = include_str!("../../../../tests/fixtures/binance/ws_sample.txt");
const EXCHANGE_INFO: &str =
    include_str!("../../../../tests/fixtures/binance/exchangeInfo_sample.json");

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn show_event(e: &SymbolEvent) -> String {
    let s = &e.symbol;
    match &e.event {
        MarketEvent::Candle {
            interval,
            candle: c,
        } => format!(
            "{s} {interval} t={} o={} h={} l={} c={} v={} q={} tbq={}",
            c.open_time,
            c.open,
            c.high,
            c.low,
            c.close,
            c.volume,
            opt(c.quote_volume),
            opt(c.taker_buy_quote)
        ),
        MarketEvent::Mark(m) => format!(
            "{s} mark t={} p={} r={}",
            m.time,
            m.price,
            opt(m.funding_rate)
        ),
        MarketEvent::Liquidation(l) => {
            format!(
                "{s} liq {:?} t={} p={} q={}",
                l.side, l.time, l.price, l.quantity
            )
        }
        MarketEvent::OpenInterest(o) => {
            format!(
                "{s} oi t={} n={} usd={}",
                o.time,
                o.contracts,
                opt(o.value_usd)
            )
        }
        MarketEvent::Funding(f) => format!("{s} funding t={} r={}", f.time, f.rate),
        MarketEvent::Gap { from, to } => format!("{s} gap {from}..{to}"),
        MarketEvent::Margin(m) => format!("{s} margin mmr={} lev={}", m.mmr, m.max_leverage),
        MarketEvent::SpotCandle { interval, candle } => {
            format!("{s} spot {interval} t={}", candle.open_time)
        }
    }
}

fn show_error(e: &WireError) -> String {
    match e {
        WireError::Truncated { .. } => "truncated".to_owned(),
        WireError::Syntax { .. } => "syntax".to_owned(),
        WireError::Shape { .. } => "shape".to_owned(),
        e => format!("{e:?}"),
    }
}

fn show_batch(b: &Batch) -> String {
    let mut parts: Vec<String> = b.events.iter().map(show_event).collect();
    if b.skipped > 0 {
        parts.push(format!("skipped {}", b.skipped));
    }
    parts.extend(
        b.dropped
            .iter()
            .map(|e| format!("dropped {}", show_error(e))),
    );
    parts.join(" | ")
}

fn show<T>(r: Result<T, WireError>, ok: impl Fn(&T) -> String) -> String {
    r.as_ref()
        .map_or_else(|e| format!("error {}", show_error(e)), ok)
}

fn check(frame: &str, want: &str) {
    let got = show(parse_frame(frame), |f| match f {
        Frame::Events(b) => show_batch(b),
        Frame::OpenBar => "open bar".to_owned(),
        Frame::Ack { id } => format!("ack {id}"),
        Frame::Unused => "unused".to_owned(),
    });
    assert_eq!(got, want, "{frame}");
}

/// A kline frame for BTCUSDT 5m with the given fields (a real 2021 closed bar otherwise).
fn kline(fields: &str) -> String {
    let base = r#""t":1626992700000,"i":"5m","o":"7.6080","c":"7.6170","h":"7.6180","l":"7.6070","v":"3005","q":"22875.859","Q":"14464.696","x":true"#;
    let k = merge(base, fields);
    format!(
        r#"{{"stream":"btcusdt@kline_5m","data":{{"e":"kline","E":1,"s":"BTCUSDT","k":{{{k}}}}}}}"#
    )
}

fn force(fields: &str) -> String {
    let base = r#""s":"BTCUSDT","S":"SELL","q":"0.014","p":"9910","ap":"9900","z":"0.010","T":5"#;
    let o = merge(base, fields);
    format!(r#"{{"stream":"!forceOrder@arr","data":{{"e":"forceOrder","E":1,"o":{{{o}}}}}}}"#)
}

/// `base` (`"key":value` pairs, no commas inside values) with the pairs of `fields` put in place
/// of the same keys: serde refuses duplicate keys.
fn merge(base: &str, fields: &str) -> String {
    let key = |pair: &str| {
        pair.split_once(':')
            .map_or(pair.to_owned(), |(k, _)| k.to_owned())
    };
    let mut pairs: Vec<String> = base.split(',').map(str::to_owned).collect();
    for field in fields.split(',').filter(|f| !f.is_empty()) {
        match pairs.iter_mut().find(|p| key(p) == key(field)) {
            Some(pair) => *pair = field.to_owned(),
            None => pairs.push(field.to_owned()),
        }
    }
    pairs.join(",")
}

fn mark(entry: &str) -> String {
    format!(
        r#"{{"stream":"!markPrice@arr@1s","data":[{{"E":7,"s":"ETHUSDT","p":"2500.5","r":"0.0001"}},{{"E":7{entry}}}]}}"#
    )
}

#[test]
fn documented_stream_examples() {
    check(KLINE, "open bar");
    // The docs' own bar has open 0.0010 below low 0.0015: closed, it is rejected.
    check(
        &KLINE.replace(r#""x":false"#, r#""x":true"#),
        r#"error Inconsistent { what: "open or close lies outside [low, high]" }"#,
    );
    check(
        MARK_ARR,
        "BTCUSDT mark t=1562305380000 p=11185.87786614 r=0.0003",
    );
    check(
        &MARK_ARR
            .replace(
                "!markPrice@arr@1s\",\"data\":[",
                "btcusdt@markPrice\",\"data\":",
            )
            .replace("}]}", "}}"),
        "BTCUSDT mark t=1562305380000 p=11185.87786614 r=0.0003",
    );
    check(
        FORCE_ORDER,
        "BTCUSDT liq Long t=1568014460893 p=9910 q=0.014",
    );
    check(
        &FORCE_ORDER.replace("!forceOrder@arr", "btcusdt@forceOrder"),
        "BTCUSDT liq Long t=1568014460893 p=9910 q=0.014",
    );
    check(ACK, "ack 1");
    check(r#"{"result":null,"id":312}"#, "ack 312");
    check(r#"{"result":["btcusdt@aggTrade"],"id":3}"#, "ack 3");
    check(
        r#"{"code":2,"msg":"Invalid request: unknown variant","id":4}"#,
        r#"error Rejected { code: 2, msg: "Invalid request: unknown variant", id: Some(4) }"#,
    );
    check(
        r#"{"error":{"code":3,"msg":"Invalid JSON"},"id":null}"#,
        r#"error Rejected { code: 3, msg: "Invalid JSON", id: None }"#,
    );
}

#[test]
fn kline_frames() {
    check(
        &kline(""),
        "BTCUSDT 5m t=1626992700000 o=7.608 h=7.618 l=7.607 c=7.617 v=3005 q=22875.859 tbq=14464.696",
    );
    check(&kline(r#","x":false"#), "open bar");
    check(&kline(r#","x":false,"o":"NaN""#), "open bar");
    check(&kline(r#","i":"2h""#), r#"error Interval { text: "2h" }"#);
    check(
        &kline(r#","t":1626992760000"#),
        r#"error Inconsistent { what: "bar open time is not on the interval's boundary" }"#,
    );
    check(
        &kline(r#","h":"7.6100""#),
        r#"error Inconsistent { what: "open or close lies outside [low, high]" }"#,
    );
    check(
        &kline(r#","o":"NaN""#),
        r#"error Number { field: "o", text: "NaN" }"#,
    );
    check(
        &kline(r#","c":"inf""#),
        r#"error Number { field: "c", text: "inf" }"#,
    );
    check(
        &kline(r#","l":"-7.6""#),
        r#"error Number { field: "l", text: "-7.6" }"#,
    );
    check(
        &kline(r#","h":"1e400""#),
        r#"error Number { field: "h", text: "1e400" }"#,
    );
    check(
        &kline(r#","v":"-1""#),
        r#"error Number { field: "v", text: "-1" }"#,
    );
    check(
        &kline(r#","v":"0""#),
        "BTCUSDT 5m t=1626992700000 o=7.608 h=7.618 l=7.607 c=7.617 v=0 q=22875.859 tbq=14464.696",
    );
    check(
        &kline(r#","q":"""#),
        r#"error Number { field: "q", text: "" }"#,
    );
    check(
        &kline(r#","t":-300000"#),
        r#"error Number { field: "t", text: "-300000" }"#,
    );
    check(&kline(r#","o":7.6"#), "error shape");
    check(&kline(r#","x":"true""#), "error shape");
    check(&kline(r#","t":99999999999999999999"#), "error shape");
    check(
        &kline(r#","o":"\u0037.6080""#),
        "BTCUSDT 5m t=1626992700000 o=7.608 h=7.618 l=7.607 c=7.617 v=3005 q=22875.859 tbq=14464.696",
    );
    check(
        &kline("").replace("BTCUSDT", "BTC USDT"),
        r#"error Symbol { text: "BTC USDT" }"#,
    );
    check(
        &kline("")
            .replace(r#""data":{"#, r#""data":[{"#)
            .replace("}}}", "}}]}"),
        "error shape",
    );
}

#[test]
fn force_order_frames() {
    check(&force(""), "BTCUSDT liq Long t=5 p=9900 q=0.01");
    check(
        &force(r#","S":"BUY""#),
        "BTCUSDT liq Short t=5 p=9900 q=0.01",
    );
    check(&force(r#","S":"sell""#), r#"error Side { text: "sell" }"#);
    check(
        &force(r#","ap":"0","z":"0""#),
        "BTCUSDT liq Long t=5 p=9910 q=0.014",
    );
    check(
        &force(r#","ap":"NaN""#),
        r#"error Number { field: "ap", text: "NaN" }"#,
    );
    check(
        &force(r#","ap":"0","p":"0""#),
        r#"error Number { field: "p", text: "0" }"#,
    );
    check(&force(r#","s":"BTCUSDT_250627""#), "skipped 1");
    check(&force(r#","s":"币安人生USDT""#), "skipped 1");
    check(&force(r#","s":"""#), r#"error Symbol { text: "" }"#);
    check(&force("").replace(r#""o":{"#, r#""x":{"#), "error shape");
}

#[test]
fn mark_price_frames() {
    check(
        &mark(r#","s":"BTCUSDT","p":"60000","r":"""#),
        "ETHUSDT mark t=7 p=2500.5 r=0.0001 | BTCUSDT mark t=7 p=60000 r=-",
    );
    check(
        &mark(r#","s":"BTCUSDT","p":"60000""#),
        "ETHUSDT mark t=7 p=2500.5 r=0.0001 | BTCUSDT mark t=7 p=60000 r=-",
    );
    check(
        &mark(r#","s":"BTCUSDT","p":"0","r":"0""#),
        r#"ETHUSDT mark t=7 p=2500.5 r=0.0001 | dropped Number { field: "p", text: "0" }"#,
    );
    check(
        &mark(r#","s":"BTCUSDT","p":"1","r":"NaN""#),
        r#"ETHUSDT mark t=7 p=2500.5 r=0.0001 | dropped Number { field: "r", text: "NaN" }"#,
    );
    check(
        &mark(r#","s":"ETHUSDT_260925","p":"2400""#),
        "ETHUSDT mark t=7 p=2500.5 r=0.0001 | skipped 1",
    );
    check(&mark(r#","s":"BTCUSDT","p":60000"#), "error shape");
}

#[test]
fn other_streams_and_replies() {
    check(
        r#"{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","p":"1"}}"#,
        "unused",
    );
    check(
        r#"{"stream":"btcusdt@depth@100ms","data":{"b":[],"a":[]}}"#,
        "unused",
    );
    check(
        r#"{"stream":"btcusdt@bookTicker","data":{"b":"1"}"#,
        "error truncated",
    );
    check(
        r#"{"stream":"btcusdt@foo","data":{}}"#,
        r#"error UnknownStream { stream: "btcusdt@foo" }"#,
    );
    check(
        r#"{"stream":"kline_1m","data":{}}"#,
        r#"error UnknownStream { stream: "kline_1m" }"#,
    );
    // Keys in any order; Binance sends `stream` first, the other order takes a slower path.
    let data = FORCE_ORDER
        .split_once(r#""data":"#)
        .unwrap()
        .1
        .strip_suffix('}')
        .unwrap();
    check(
        &format!(r#"{{"data":{data},"stream":"!forceOrder@arr"}}"#),
        "BTCUSDT liq Long t=1568014460893 p=9910 q=0.014",
    );
    check(
        r#"{"data":{"o":1},"stream":"!forceOrder@arr"}"#,
        "error shape",
    );
    check(r#"{"stream":"!forceOrder@arr"}"#, "error shape");
    check(r#"{"data":{}}"#, "error shape");
    check(r#"{"id":1}"#, "error shape");
    check(r#"{"result":null,"id":-1}"#, "error shape");
}

#[test]
fn malformed_frames() {
    check("", "error truncated");
    check(&FORCE_ORDER[..100], "error truncated");
    check("hello", "error syntax");
    check(r#"{"result":null,"id":1}}"#, "error syntax");
    check(&format!("{FORCE_ORDER} {FORCE_ORDER}"), "error syntax");
    check("null", "error shape");
    check("[]", "error shape");
    check("{}", "error shape");
    check(r#"{"stream":1,"data":{}}"#, "error shape");
    check(r#"{"result":null,"id":1e400}"#, "error syntax");
}

#[test]
fn error_questions() {
    let rejected = |code| WireError::Rejected {
        code,
        msg: String::new(),
        id: None,
    };
    assert!(rejected(-1003).is_rate_limited() && rejected(-1003).is_rejected());
    assert!(!rejected(-1121).is_rate_limited());
    assert!(parse_frame("{").unwrap_err().is_malformed());
    assert!(
        parse_frame(r#"{"stream":"x@y","data":1}"#)
            .unwrap_err()
            .is_unknown_stream()
    );
    assert!(
        parse_frame(&kline(r#","o":"NaN""#))
            .unwrap_err()
            .is_bad_value()
    );
}

#[test]
fn recorded_frames_parse() {
    let mut closed = Vec::new();
    let mut counts = [0; 3];
    for line in WS_SAMPLE.lines() {
        match parse_frame(line) {
            Ok(Frame::Events(b)) => closed.extend(b.events.iter().map(show_event)),
            Ok(Frame::OpenBar) => counts[0] += 1,
            Ok(Frame::Unused) => counts[1] += 1,
            Ok(Frame::Ack { .. }) => counts[2] += 1,
            Err(e) => panic!("{e}: {line}"),
        }
    }
    assert_eq!(counts, [14, 15, 0]);
    assert_eq!(
        closed,
        [
            "SUSHIUSDT 1m t=1626992700000 o=7.608 h=7.618 l=7.607 c=7.617 v=3005 q=22875.859 tbq=14464.696",
            "CTKUSDT 1m t=1626992700000 o=1.01 h=1.012 l=1.01 c=1.012 v=11074 q=11193.49 tbq=8769.444",
            "AKROUSDT 1m t=1626992700000 o=0.01731 h=0.01733 l=0.01731 c=0.01733 v=235736 q=4082.63755 tbq=1760.37292",
            "KEEPUSDT 1m t=1626992700000 o=0.2463 h=0.2466 l=0.2458 c=0.2466 v=8464 q=2082.4799 tbq=84.767",
        ]
    );
}
