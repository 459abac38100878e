//! The spot wire: frames and bodies in the documented shapes, malformed ones, and a short fuzz.

use super::*;

/// A combined-stream frame of `<symbol>@kline_1h` around a `k` object.
fn frame(stream: &str, k: &str) -> String {
    let symbol = stream.split('@').next().unwrap_or("").to_ascii_uppercase();
    format!(
        r#"{{"stream":"{stream}","data":{{"e":"kline","E":1767229201000,"s":"{symbol}","k":{k}}}}}"#
    )
}

/// A `k` object of the hour opening 2026-01-01 00:00 UTC, closed or not.
fn k(closed: bool, open: &str) -> String {
    format!(
        r#"{{"t":1767225600000,"T":1767229199999,"s":"PEPEUSDT","i":"1h","f":100,"L":200,"o":"{open}","c":"0.0000070","h":"0.0000072","l":"0.0000068","v":"1000","n":100,"x":{closed},"q":"12345.5","V":"500","Q":"6000.25","B":"0"}}"#
    )
}

fn show(text: &str) -> String {
    match parse_spot_frame(text) {
        Ok(Some((s, c))) => format!("{s} {} q={:?}", c.open_time, c.quote_volume),
        Ok(None) => "none".to_owned(),
        Err(e) if e.is_malformed() => "malformed".to_owned(),
        Err(e) if e.is_bad_value() => "bad value".to_owned(),
        Err(e) if e.is_rejected() => "rejected".to_owned(),
        Err(e) if e.is_unknown_stream() => "unknown stream".to_owned(),
        Err(e) => format!("other: {e}"),
    }
}

#[test]
fn spot_frames() {
    let closed = frame("pepeusdt@kline_1h", &k(true, "0.0000069"));
    let open = frame("pepeusdt@kline_1h", &k(false, "0.0000069"));
    let five = frame(
        "pepeusdt@kline_5m",
        &k(true, "0.0000069").replace("\"1h\"", "\"5m\""),
    );
    let bad = frame("pepeusdt@kline_1h", &k(true, "x"));
    let cut = &closed[..closed.len() / 2];
    // One line per case: the frame, what it gives.
    #[rustfmt::skip]
    let cases: &[(&str, &str)] = &[
        (&closed, "PEPEUSDT 1767225600000 q=Some(12345.5)"),
        (&open, "none"),
        (r#"{"result":null,"id":1}"#, "none"),
        (r#"{"stream":"pepeusdt@trade","data":{"e":"trade"}}"#, "none"),
        (r#"{"code":2,"msg":"Invalid request","id":1}"#, "rejected"),
        (&five, "bad value"),
        (&bad, "bad value"),
        (cut, "malformed"),
        ("not json", "malformed"),
        (r#"{"stream":"pepeusdt@kline_1h"}"#, "malformed"),
        (r#"{"stream":"pepeusdt@kline_1h","data":{"s":"PEPEUSDT"}}"#, "malformed"),
        (r#"{"stream":"pepeusdt@bogus","data":{}}"#, "unknown stream"),
    ];
    for (text, want) in cases {
        assert_eq!(show(text), *want, "{text}");
    }
}

#[test]
fn spot_exchange_info() {
    let body = r#"{"timezone":"UTC","serverTime":1565246363776,"rateLimits":[],"exchangeFilters":[],
      "symbols":[
        {"symbol":"ETHBTC","status":"TRADING","baseAsset":"ETH","baseAssetPrecision":8,"quoteAsset":"BTC","quotePrecision":8,"filters":[]},
        {"symbol":"PEPEUSDT","status":"TRADING","baseAsset":"PEPE","quoteAsset":"USDT"},
        {"symbol":"LUNAUSDT","status":"BREAK","baseAsset":"LUNA","quoteAsset":"USDT"},
        {"symbol":"币安人生USDT","status":"TRADING","baseAsset":"币安人生","quoteAsset":"USDT"}]}"#;
    let markets = parse_spot_exchange_info(body).unwrap();
    let got: Vec<String> = (markets.iter())
        .map(|m| format!("{} {}/{} {}", m.symbol, m.base, m.quote, m.trading))
        .collect();
    assert_eq!(
        got,
        [
            "ETHBTC ETH/BTC true",
            "PEPEUSDT PEPE/USDT true",
            "LUNAUSDT LUNA/USDT false"
        ]
    );
    // One line per case: a body that is not a universe, whether it is Binance's refusal.
    #[rustfmt::skip]
    let bad: &[(&str, bool)] = &[
        (r#"{"code":-1003,"msg":"Too many requests."}"#, true),
        (r#"{"symbols":[{"symbol":"ETHBTC"}]}"#, false),
        ("[", false),
    ];
    for (text, rejected) in bad {
        let e = parse_spot_exchange_info(text).unwrap_err();
        assert_eq!(e.is_rejected(), *rejected, "{text}: {e}");
    }
}

#[test]
fn spot_klines_leave_the_forming_bar_out() {
    let row = |open: i64| {
        format!(
            r#"[{open},"1.0","1.2","0.9","1.1","10.0",{},"11.0",5,"4.0","4.4","0"]"#,
            open + 3_599_999
        )
    };
    let t = 1_767_225_600_000;
    let body = format!("[{},{}]", row(t), row(t + 3_600_000));
    let bars = parse_spot_klines(&body, t + 3_600_000 + 60_000).unwrap();
    assert_eq!(bars.len(), 1);
    assert_eq!((bars[0].open_time, bars[0].quote_volume), (t, Some(11.0)));
    assert!(parse_spot_klines("[[1]]", t).unwrap_err().is_malformed());
}

/// Cut, flipped and spliced frames never panic and never give a bar the frame did not hold.
#[test]
fn fuzzed_spot_frames_never_panic() {
    let seeds = [
        frame("pepeusdt@kline_1h", &k(true, "0.0000069")),
        frame("btcusdt@kline_1h", &k(false, "1")),
        r#"{"result":null,"id":7}"#.to_owned(),
    ];
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for _ in 0..3000 {
        let seed = seeds[(next() % seeds.len() as u64) as usize].as_bytes();
        let mut bytes = seed.to_vec();
        for _ in 0..=(next() % 4) {
            let at = (next() as usize) % bytes.len().max(1);
            match next() % 3 {
                0 => bytes.truncate(at),
                1 if at < bytes.len() => bytes[at] = (next() % 128) as u8,
                _ => bytes.insert(at.min(bytes.len()), b"{}[]\",:x1"[(next() % 9) as usize]),
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(Some((_, candle))) = parse_spot_frame(&text) {
            assert!(candle.low <= candle.high, "{text}");
            assert!(SPOT_INTERVAL.is_bar_open(candle.open_time), "{text}");
        }
    }
}
