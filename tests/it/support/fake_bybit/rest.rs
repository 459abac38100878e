//! The fake's REST side: HTTP/1.1 with keep-alive on std threads, one request after the other.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use liqwave::model::{Interval, TimeMs};
use serde_json::{Value, json};

use super::{BAR_MS, State, bar, dec, open_interest};

pub(super) fn start(state: Arc<State>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let state = Arc::clone(&state);
            std::thread::spawn(move || serve(stream, &state));
        }
    });
    url
}

fn serve(stream: TcpStream, state: &State) {
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    stream.set_nodelay(true).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let query: HashMap<String, String> = (query.split('&'))
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let (status, body) = answer(state, path, &query);
        let head = format!(
            "HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-Bapi-Limit-Reset-Timestamp: {}\r\n\r\n",
            body.len(),
            state.now() + 1000,
        );
        if writer.write_all((head + &body).as_bytes()).is_err() {
            return;
        }
    }
}

fn envelope(code: i64, msg: &str, result: Value, now: TimeMs) -> String {
    json!({"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": now})
        .to_string()
}

fn param_error(now: TimeMs, what: &str) -> (u16, String) {
    (
        200,
        envelope(10001, &format!("params error: {what}"), json!({}), now),
    )
}

fn answer(state: &State, path: &str, q: &HashMap<String, String>) -> (u16, String) {
    let now = state.now();
    *state
        .record
        .lock()
        .unwrap()
        .requests
        .entry(path.to_owned())
        .or_default() += 1;
    state.arrivals.lock().unwrap().push(now);
    if state
        .rate_limit_left
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
    {
        state.rate_limited.fetch_add(1, Ordering::Relaxed);
        return (200, envelope(10006, "Too many visits!", json!({}), now));
    }
    if (state.ban_left)
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
    {
        return (403, "access too frequent".to_owned());
    }
    if q.get("category").map(String::as_str) != Some("linear") {
        return param_error(now, "category");
    }
    let num = |k: &str| q.get(k).and_then(|v| v.parse::<i64>().ok());
    let symbol = q.get("symbol").cloned().unwrap_or_default();
    let known = state.config.symbols.contains(&symbol);
    match path {
        "/v5/market/instruments-info" => instruments(state, q, now),
        "/v5/market/kline" if known => {
            let interval = match q.get("interval").map(String::as_str) {
                Some("5") => Interval::M5,
                Some("240") => Interval::H4,
                Some("D") => Interval::D1,
                Some("W") => Interval::W1,
                _ => return param_error(now, "interval"),
            };
            let limit = num("limit").unwrap_or(200);
            if !(1..=1000).contains(&limit) {
                return param_error(now, "limit");
            }
            let (start, end) = (
                num("start").unwrap_or(0),
                num("end").unwrap_or(now).min(now),
            );
            let d = interval.duration_ms();
            let mut open = interval.bar_open(start);
            if open < start {
                open += d;
            }
            let mut rows = Vec::new();
            while open <= end {
                let b = bar(&symbol, interval, open, now);
                rows.push(json!([
                    open.to_string(),
                    dec(b.open),
                    dec(b.high),
                    dec(b.low),
                    dec(b.close),
                    dec(b.volume),
                    dec(b.quote_volume.unwrap())
                ]));
                open += d;
            }
            // Newest first, the newest `limit` of the range (the bar still open included).
            rows.reverse();
            rows.truncate(limit as usize);
            (
                200,
                envelope(
                    0,
                    "OK",
                    json!({"symbol": symbol, "category": "linear", "list": rows}),
                    now,
                ),
            )
        }
        "/v5/market/open-interest" if known => {
            let limit = num("limit").unwrap_or(50);
            if !(1..=200).contains(&limit)
                || q.get("intervalTime").map(String::as_str) != Some("5min")
            {
                return param_error(now, "limit or intervalTime");
            }
            let end = num("endTime").unwrap_or(now).min(now);
            let mut t = num("startTime").unwrap_or(0).div_euclid(BAR_MS) * BAR_MS;
            if t < num("startTime").unwrap_or(0) {
                t += BAR_MS;
            }
            let mut rows = Vec::new();
            while t <= end {
                rows.push(json!({"openInterest": dec(open_interest(&symbol, t)), "timestamp": t.to_string()}));
                t += BAR_MS;
            }
            rows.reverse();
            rows.truncate(limit as usize);
            let result =
                json!({"symbol": symbol, "category": "linear", "list": rows, "nextPageCursor": ""});
            (200, envelope(0, "OK", result, now))
        }
        "/v5/market/funding/history" if known => {
            let eight = 8 * 3_600_000;
            let limit = num("limit").unwrap_or(200).clamp(1, 200);
            let last = now.div_euclid(eight) * eight;
            let rows: Vec<Value> = (0..limit)
                .map(|i| json!({"symbol": symbol, "fundingRate": "0.0001", "fundingRateTimestamp": (last - i * eight).to_string()}))
                .collect();
            (
                200,
                envelope(0, "OK", json!({"category": "linear", "list": rows}), now),
            )
        }
        "/v5/market/risk-limit" if known => {
            // The second tier first: the client must pick the lowest, not the first row.
            let rows = json!([
                {"id": 2, "symbol": symbol, "riskLimitValue": "400000", "maintenanceMargin": "0.015", "initialMargin": "0.03", "isLowestRisk": 0, "maxLeverage": "33.33", "mmDeduction": "2000"},
                {"id": 1, "symbol": symbol, "riskLimitValue": "200000", "maintenanceMargin": "0.01", "initialMargin": "0.02", "isLowestRisk": 1, "maxLeverage": "50.00", "mmDeduction": ""},
            ]);
            (
                200,
                envelope(
                    0,
                    "OK",
                    json!({"category": "linear", "list": rows, "nextPageCursor": ""}),
                    now,
                ),
            )
        }
        "/v5/market/kline"
        | "/v5/market/open-interest"
        | "/v5/market/funding/history"
        | "/v5/market/risk-limit" => param_error(now, "symbol invalid"),
        _ => (404, "{}".to_owned()),
    }
}

fn instruments(state: &State, q: &HashMap<String, String>, now: TimeMs) -> (u16, String) {
    let mut all: Vec<Value> = (state.config.symbols.iter())
        .map(|s| {
            let base = s.strip_suffix("USDT").unwrap_or(s);
            json!({"symbol": s, "contractType": "LinearPerpetual", "status": "Trading", "baseCoin": base, "quoteCoin": "USDT", "launchTime": "1585526400000", "priceScale": "4"})
        })
        .collect();
    all.push(json!({"symbol": "BTCUSDT-26DEC25", "contractType": "LinearFutures", "status": "Trading", "baseCoin": "BTC", "quoteCoin": "USDT", "launchTime": "1735286400000", "priceScale": "2"}));
    all.push(json!({"symbol": "BTCPERP", "contractType": "LinearPerpetual", "status": "Trading", "baseCoin": "BTC", "quoteCoin": "USDC", "launchTime": "1670889600000", "priceScale": "1"}));
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(500);
    if !(1..=1000).contains(&limit) {
        return param_error(now, "limit");
    }
    let page = limit.min(state.config.instruments_page.max(1));
    let from: usize = (q.get("cursor"))
        .and_then(|c| c.strip_prefix('p'))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let rows: Vec<Value> = all.iter().skip(from).take(page).cloned().collect();
    let next = if from + page < all.len() {
        format!("p{}", from + page)
    } else {
        String::new()
    };
    let result = json!({"category": "linear", "list": rows, "nextPageCursor": next});
    (200, envelope(0, "OK", result, now))
}
