//! A fake OKX v5 on 127.0.0.1, faithful to the documented protocol (docs/venues/okx.md): REST
//! with the `{"code","msg","data"}` envelope — instruments, candles newest first with `after`/
//! `before` paging and `limit` ≤ 300 (`/market/candles` only the latest 1,440 bars), open
//! interest now and its 5m history (`begin`/`end`, ≤ 100 rows), funding history, position tiers,
//! and `code` 50011 rate-limit replies on demand (HTTP 200 or 429); WebSocket `/ws/v5/public`
//! (mark-price, funding-rate, liquidation-orders per instType) and `/ws/v5/business`
//! (`candle5m`): subscribe acks and `60018` errors for a channel on the wrong URL, text
//! `ping` → `pong`, several `confirm` `0` updates per bar then the closed one, and faults on a
//! schedule: drop, stall (open, silent, deaf), garbage. Market time is an accelerated clock
//! shared with the client; bars are a closed-form walk, so REST and the streams agree.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use liqwave::clock::Clock;
use liqwave::model::{Interval, TimeMs};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::sleep;
use tokio_tungstenite::accept_hdr_async;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

use super::fake_binance_rest::market::Walk;

pub(crate) const M5: TimeMs = 300_000;

/// A fault on the stream link that carries the closed bar of a given bar index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Fault {
    /// The TCP connection closes without a close frame, before the closed bar is sent.
    Drop,
    /// The link stays open but sends nothing and answers nothing.
    Stall,
    /// Text frames that are not OKX frames, before the closed bar.
    Garbage,
}

#[derive(Debug, Clone)]
pub(crate) struct FakeOkxConfig {
    /// Instrument ids (`S000-USDT-SWAP`), listed live with `ctVal` 0.1.
    pub(crate) insts: Vec<String>,
    /// The clock shared with the client; bar 0 is the one open at its origin.
    pub(crate) clock: Clock,
    /// Bars the market runs for (closed bars stop after).
    pub(crate) bars: i64,
    /// Faults by bar index (the bar whose close triggers it).
    pub(crate) faults: Vec<(i64, Fault)>,
    /// The first this many candle requests get `code` 50011 (alternately HTTP 200 and 429).
    pub(crate) rate_limit_first: u64,
    /// The streams acknowledge subscriptions and answer pings, but push nothing.
    pub(crate) mute: bool,
    /// The last this many of `insts` trade (bars, streams) but are listed only by [`FakeOkx::list`].
    pub(crate) unlisted: usize,
}

/// What the fake served and saw.
#[derive(Debug, Default)]
pub(crate) struct FakeRecord {
    pub(crate) ws_connections: u64,
    pub(crate) subscribe_requests: u64,
    pub(crate) pings: u64,
    pub(crate) faults_applied: BTreeMap<Fault, u64>,
    pub(crate) rest_requests: BTreeMap<String, u64>,
    pub(crate) rate_limited: u64,
    pub(crate) closed_sent: u64,
    pub(crate) garbage_sent: u64,
}

struct State {
    config: FakeOkxConfig,
    origin: TimeMs,
    walks: HashMap<String, Walk>,
    record: Mutex<FakeRecord>,
    faults: Mutex<Vec<(i64, Fault)>>,
    conn_ids: AtomicU64,
    /// The instruments `/public/instruments` lists.
    listed: Mutex<Vec<String>>,
}

impl State {
    fn now(&self) -> TimeMs {
        self.config.clock.now()
    }

    /// The open time of bar 0.
    fn first_open(&self) -> TimeMs {
        self.origin.div_euclid(M5) * M5
    }

    /// The newest closed 5m bar's open time at `now` (within the market's run).
    fn last_closed(&self, now: TimeMs) -> TimeMs {
        let last = now.div_euclid(M5) * M5 - M5;
        last.min(self.first_open() + (self.config.bars - 1) * M5)
    }
}

/// The running fake; dropping it stops everything.
pub(crate) struct FakeOkx {
    pub(crate) rest_addr: SocketAddr,
    pub(crate) ws_addr: SocketAddr,
    state: Arc<State>,
    _tasks: JoinSet<()>,
}

impl FakeOkx {
    pub(crate) async fn start(config: FakeOkxConfig) -> FakeOkx {
        let rest = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ws = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (rest_addr, ws_addr) = (rest.local_addr().unwrap(), ws.local_addr().unwrap());
        let origin = config.clock.now();
        let walks = (config.insts.iter())
            .map(|i| (i.clone(), Walk::new(i, origin)))
            .collect();
        let shown = config.insts.len().saturating_sub(config.unlisted);
        let state = Arc::new(State {
            listed: Mutex::new(config.insts[..shown].to_vec()),
            faults: Mutex::new(config.faults.clone()),
            config,
            origin,
            walks,
            record: Mutex::new(FakeRecord::default()),
            conn_ids: AtomicU64::new(0),
        });
        let mut tasks = JoinSet::new();
        tasks.spawn(accept_rest(rest, Arc::clone(&state)));
        tasks.spawn(accept_ws(ws, Arc::clone(&state)));
        FakeOkx {
            rest_addr,
            ws_addr,
            state,
            _tasks: tasks,
        }
    }

    pub(crate) fn rest_url(&self) -> String {
        format!("http://{}", self.rest_addr)
    }

    pub(crate) fn ws_url(&self) -> String {
        format!("ws://{}/ws/v5/public", self.ws_addr)
    }

    /// Lists an instrument from now on.
    pub(crate) fn list(&self, inst: &str) {
        self.state.listed.lock().unwrap().push(inst.to_owned());
    }

    pub(crate) fn record<T>(&self, read: impl FnOnce(&FakeRecord) -> T) -> T {
        read(&self.state.record.lock().unwrap())
    }

    /// The open times of the market's 5m bars (every pair has them all), first to last.
    pub(crate) fn truth(&self) -> Vec<TimeMs> {
        let first = self.state.first_open();
        (0..self.state.config.bars)
            .map(|k| first + k * M5)
            .collect()
    }
}

fn bump(state: &State, f: impl FnOnce(&mut FakeRecord)) {
    f(&mut state.record.lock().unwrap());
}

// ---- REST -------------------------------------------------------------------------------

async fn accept_rest(listener: TcpListener, state: Arc<State>) {
    let mut conns = JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        conns.spawn(serve_http(stream, Arc::clone(&state)));
    }
}

async fn serve_http(stream: TcpStream, state: Arc<State>) {
    stream.set_nodelay(true).unwrap();
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).await.unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let query: HashMap<String, String> = (query.split('&'))
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.replace("%2C", ",").replace("%2c", ",")))
            .collect();
        let (status, body) = route(&state, path, &query);
        let reason = if status == 200 {
            "OK"
        } else {
            "Too Many Requests"
        };
        let text = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if write.write_all(text.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn ok(data: Value) -> (u16, String) {
    (
        200,
        json!({"code": "0", "msg": "", "data": data}).to_string(),
    )
}

fn error(code: &str, msg: &str) -> (u16, String) {
    (
        200,
        json!({"code": code, "msg": msg, "data": []}).to_string(),
    )
}

fn route(state: &State, path: &str, q: &HashMap<String, String>) -> (u16, String) {
    bump(state, |r| {
        *r.rest_requests.entry(path.to_owned()).or_default() += 1
    });
    let now = state.now();
    let inst = q.get("instId").cloned().unwrap_or_default();
    let walk = state.walks.get(&inst);
    match path {
        "/api/v5/public/instruments" => ok(Value::Array(
            (state.listed.lock().unwrap().iter())
                .map(|i| {
                    let base = i.split('-').next().unwrap();
                    json!({"instType": "SWAP", "instId": i, "instFamily": format!("{base}-USDT"),
                        "uly": format!("{base}-USDT"), "settleCcy": "USDT", "ctVal": "0.1",
                        "ctMult": "1", "ctValCcy": base, "ctType": "linear", "state": "live",
                        "listTime": "1600000000000"})
                })
                .collect(),
        )),
        "/api/v5/market/candles" | "/api/v5/market/history-candles" => {
            let limited = {
                let mut r = state.record.lock().unwrap();
                let hit = r.rate_limited < state.config.rate_limit_first;
                if hit {
                    r.rate_limited += 1;
                }
                hit.then_some(r.rate_limited)
            };
            if let Some(k) = limited {
                let (_, body) = error(
                    "50011",
                    "Rate limit reached. Please refer to API documentation and throttle requests accordingly.",
                );
                return (if k % 2 == 0 { 429 } else { 200 }, body);
            }
            let Some(walk) = walk else {
                return error("51001", "Instrument ID doesn't exist.");
            };
            let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100);
            if limit > 300 {
                return error("51000", "Parameter limit error");
            }
            let interval = match q.get("bar").map(String::as_str).unwrap_or("1m") {
                "5m" => Interval::M5,
                "4H" => Interval::H4,
                "1Dutc" => Interval::D1,
                "1Wutc" => Interval::W1,
                _ => return error("51000", "Parameter bar error"),
            };
            let d = interval.duration_ms();
            let after: TimeMs = q
                .get("after")
                .and_then(|v| v.parse().ok())
                .unwrap_or(TimeMs::MAX);
            let before: TimeMs = q
                .get("before")
                .and_then(|v| v.parse().ok())
                .unwrap_or(TimeMs::MIN);
            let mut newest = interval.bar_open(now);
            if interval == Interval::M5 {
                // The market's own bars end with its run; the open bar is sent unconfirmed.
                newest = newest.min(state.last_closed(now) + M5);
            }
            let oldest = if path.ends_with("/candles") && interval == Interval::M5 {
                newest - 1439 * d
            } else {
                newest - 2000 * d
            };
            let mut rows = Vec::new();
            let mut open = newest.min(interval.bar_open(after.saturating_sub(1)));
            while rows.len() < limit && open >= oldest && open > before {
                if open < after {
                    let closed = open + d <= now
                        && (interval != Interval::M5 || open <= state.last_closed(now));
                    rows.push(candle_row(walk, interval, open, now, closed));
                }
                open -= d;
            }
            ok(Value::Array(rows))
        }
        "/api/v5/public/open-interest" => match walk {
            Some(w) => {
                let oi = w.open_interest(now);
                ok(
                    json!([{"instType": "SWAP", "instId": inst, "oi": format!("{oi:.1}"),
                    "oiCcy": format!("{:.2}", oi * 0.1), "oiUsd": format!("{:.2}", oi * 0.1 * w.price(now)),
                    "ts": now.to_string()}]),
                )
            }
            None => error("51001", "Instrument ID doesn't exist."),
        },
        "/api/v5/rubik/stat/contracts/open-interest-history" => {
            let Some(w) = walk else {
                return error("51001", "Instrument ID doesn't exist.");
            };
            let end: TimeMs = q.get("end").and_then(|v| v.parse().ok()).unwrap_or(now);
            let begin: TimeMs = q.get("begin").and_then(|v| v.parse().ok()).unwrap_or(0);
            let limit: usize = q
                .get("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(100)
                .min(100);
            let mut t = end.min(now).div_euclid(M5) * M5;
            let mut rows = Vec::new();
            while rows.len() < limit && t >= begin && t > now - 1440 * M5 {
                let oi = w.open_interest(t);
                rows.push(json!([
                    t.to_string(),
                    format!("{oi:.1}"),
                    format!("{:.2}", oi * 0.1),
                    format!("{:.2}", oi * 0.1 * w.price(t))
                ]));
                t -= M5;
            }
            ok(Value::Array(rows))
        }
        "/api/v5/public/funding-rate-history" => match walk {
            Some(w) => {
                let t = now.div_euclid(8 * 3_600_000) * 8 * 3_600_000;
                let rate = format!("{:.8}", w.funding_rate(t));
                ok(
                    json!([{"formulaType": "noRate", "fundingRate": rate, "realizedRate": rate,
                    "fundingTime": t.to_string(), "instId": inst, "instType": "SWAP", "method": "current_period"}]),
                )
            }
            None => error("51001", "Instrument ID doesn't exist."),
        },
        "/api/v5/public/position-tiers" => {
            let family = q.get("instFamily").cloned().unwrap_or_default();
            if family.is_empty() || q.get("tdMode").is_none() {
                return error("50014", "Parameter instFamily can not be empty.");
            }
            ok(
                json!([{"baseMaxLoan": "", "imr": "0.02", "instId": "", "instFamily": family,
                "maxLever": "50", "maxSz": "5000", "minSz": "0", "mmr": "0.005", "optMgnFactor": "0",
                "quoteMaxLoan": "", "tier": "1", "uly": family}]),
            )
        }
        _ => (404, json!({"code": "404", "msg": "Not Found"}).to_string()),
    }
}

fn candle_row(walk: &Walk, interval: Interval, open: TimeMs, now: TimeMs, closed: bool) -> Value {
    let [o, h, l, c, v, q, _] = walk.texts(interval, open, now);
    let vol: f64 = v.parse().unwrap_or(0.0);
    json!([
        open.to_string(),
        o,
        h,
        l,
        c,
        format!("{:.1}", vol * 10.0),
        v,
        q,
        if closed { "1" } else { "0" }
    ])
}

// ---- WebSocket --------------------------------------------------------------------------

async fn accept_ws(listener: TcpListener, state: Arc<State>) {
    let mut conns = JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        conns.spawn(serve_ws(stream, Arc::clone(&state)));
    }
}

#[allow(clippy::result_large_err)]
async fn serve_ws(stream: TcpStream, state: Arc<State>) {
    let path = Arc::new(Mutex::new(String::new()));
    let seen = Arc::clone(&path);
    let callback = move |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        *seen.lock().unwrap() = req.uri().path().to_owned();
        Ok(resp)
    };
    let Ok(mut socket) = accept_hdr_async(stream, callback).await else {
        return;
    };
    let business = path.lock().unwrap().ends_with("/business");
    let conn = state.conn_ids.fetch_add(1, Ordering::Relaxed);
    bump(&state, |r| r.ws_connections += 1);
    let mut candles: Vec<String> = Vec::new();
    let mut marks: Vec<String> = Vec::new();
    let mut liquidations = false;
    let wall_bar = state.config.clock.wall(Duration::from_millis(M5 as u64));
    // About 12 s of market time: closed bars go out promptly, with several updates before.
    let mut ticker = tokio::time::interval((wall_bar / 25).max(Duration::from_millis(2)));
    let mut last_closed = state.last_closed(state.now());
    loop {
        tokio::select! {
            message = socket.next() => {
                let text = match message {
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                if text == "ping" {
                    bump(&state, |r| r.pings += 1);
                    if socket.send(Message::text("pong")).await.is_err() { return; }
                    continue;
                }
                let Ok(request) = serde_json::from_str::<Value>(&text) else { continue };
                bump(&state, |r| r.subscribe_requests += 1);
                let id = request["id"].clone();
                for arg in request["args"].as_array().cloned().unwrap_or_default() {
                    let channel = arg["channel"].as_str().unwrap_or_default().to_owned();
                    let inst = arg["instId"].as_str().unwrap_or_default().to_owned();
                    let right = match channel.as_str() {
                        "candle5m" => business,
                        "mark-price" | "funding-rate" => !business,
                        "liquidation-orders" => !business && arg["instType"] == "SWAP",
                        _ => false,
                    };
                    let reply = if right {
                        match channel.as_str() {
                            "candle5m" => candles.push(inst),
                            "mark-price" => marks.push(inst),
                            "liquidation-orders" => liquidations = true,
                            _ => {}
                        }
                        json!({"id": id, "event": "subscribe", "arg": arg, "connId": format!("{conn:08x}")})
                    } else {
                        json!({"id": id, "event": "error", "code": "60018", "msg": format!("Wrong URL or channel:{channel},instId:{inst} doesn't exist."), "connId": format!("{conn:08x}")})
                    };
                    if socket.send(Message::text(reply.to_string())).await.is_err() { return; }
                }
            }
            _ = ticker.tick(), if !state.config.mute => {
                let now = state.now();
                let closed = state.last_closed(now);
                if closed > last_closed && !candles.is_empty() {
                    let bar = (closed - state.first_open()) / M5;
                    let fault = {
                        let mut faults = state.faults.lock().unwrap();
                        faults.iter().position(|(k, _)| *k <= bar).map(|i| faults.remove(i).1)
                    };
                    if let Some(fault) = fault {
                        bump(&state, |r| *r.faults_applied.entry(fault).or_default() += 1);
                        match fault {
                            Fault::Drop => return,
                            Fault::Stall => {
                                sleep(Duration::from_secs(3600)).await;
                                return;
                            }
                            Fault::Garbage => {
                                for g in ["{\"arg\":{\"channel\":\"candle5m\"", "not json", "{\"arg\":{\"channel\":\"candle5m\",\"instId\":\"S000-USDT-SWAP\"},\"data\":[[\"x\"]]}"] {
                                    bump(&state, |r| r.garbage_sent += 1);
                                    if socket.send(Message::text(g)).await.is_err() { return; }
                                }
                            }
                        }
                    }
                    for open in (last_closed + M5..=closed).step_by(M5 as usize) {
                        for inst in &candles {
                            let walk = &state.walks[inst];
                            let frame = json!({"arg": {"channel": "candle5m", "instId": inst}, "data": [candle_row(walk, Interval::M5, open, open + M5, true)]});
                            bump(&state, |r| r.closed_sent += 1);
                            if socket.send(Message::text(frame.to_string())).await.is_err() { return; }
                        }
                    }
                }
                last_closed = closed;
                let open_bar = closed + M5;
                if open_bar <= state.first_open() + (state.config.bars - 1) * M5 {
                    for inst in &candles {
                        let frame = json!({"arg": {"channel": "candle5m", "instId": inst}, "data": [candle_row(&state.walks[inst], Interval::M5, open_bar, now, false)]});
                        if socket.send(Message::text(frame.to_string())).await.is_err() { return; }
                    }
                }
                for inst in &marks {
                    let walk = &state.walks[inst];
                    let frame = json!({"arg": {"channel": "mark-price", "instId": inst}, "data": [{"instType": "SWAP", "instId": inst, "markPx": walk.price_text(now), "ts": now.to_string()}]});
                    if socket.send(Message::text(frame.to_string())).await.is_err() { return; }
                }
                if liquidations && let Some(inst) = state.config.insts.first() {
                    let walk = &state.walks[inst];
                    let frame = json!({"arg": {"channel": "liquidation-orders", "instType": "SWAP"}, "data": [{"details": [{"bkLoss": "0", "bkPx": walk.price_text(now), "ccy": "", "posSide": "net", "side": "sell", "sz": "3", "ts": now.to_string()}], "instFamily": "X", "instId": inst, "instType": "SWAP", "uly": "X"}]});
                    if socket.send(Message::text(frame.to_string())).await.is_err() { return; }
                }
            }
        }
    }
}
