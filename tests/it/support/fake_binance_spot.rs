//! A fake Binance spot market on 127.0.0.1 (docs/venues/binance-spot.md), faithful to the
//! documented shapes: `GET /api/v3/exchangeInfo` (symbols with status, baseAsset, quoteAsset),
//! `GET /api/v3/klines` (the 12-field rows from `startTime`, at most `limit` (max 1000), the bar
//! still forming included, as Binance answers), and the combined stream
//! `/stream?streams=<symbol>@kline_1h/…` whose frames are `{"stream":…,"data":{"e":"kline",…}}`:
//! open-bar updates (`"x":false`) and one final frame per stream when an hour closes, server
//! pings, `{"result":null,"id":N}` for a request. Market time is a shared [`Clock`]. Any bar is a
//! function of (symbol, open time), so REST and the stream agree. The test can drop every link and
//! keep the server down meanwhile; what was streamed and asked is recorded.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener as StdListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use liqwave::clock::Clock;
use liqwave::model::{HOUR_MS, Interval, TimeMs};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_tungstenite::accept_hdr_async;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

/// One spot market of the fake's universe.
#[derive(Debug, Clone)]
pub(crate) struct Market {
    pub(crate) symbol: &'static str,
    pub(crate) base: &'static str,
    pub(crate) quote: &'static str,
    pub(crate) status: &'static str,
}

/// What the fake did.
#[derive(Debug, Default)]
pub(crate) struct Record {
    /// Per symbol, the open times of the final (`"x":true`) frames sent, in order.
    pub(crate) finals: BTreeMap<String, Vec<TimeMs>>,
    /// `(path, symbol)` of every REST request.
    pub(crate) hits: Vec<(String, Option<String>)>,
    pub(crate) connections: usize,
    pub(crate) dropped: usize,
}

struct Shared {
    clock: Clock,
    markets: Vec<Market>,
    record: Mutex<Record>,
}

pub(crate) struct FakeBinanceSpot {
    pub(crate) rest_url: String,
    pub(crate) ws_url: String,
    shared: Arc<Shared>,
    /// True while the stream server is down: links are cut and new ones refused.
    down: watch::Sender<bool>,
    _tasks: JoinSet<()>,
}

/// The bar of `symbol` opening at `open`: `[open, high, low, close, volume, quote volume,
/// taker-buy quote volume]` as Binance's decimal strings.
pub(crate) fn bar(symbol: &str, open: TimeMs) -> [String; 7] {
    let seed = symbol.bytes().fold(open as u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let unit = |k: u64| ((seed.rotate_left(k as u32 * 7) >> 11) % 1000) as f64 / 1000.0;
    let o = 10.0 + 5.0 * unit(1);
    let c = 10.0 + 5.0 * unit(2);
    let (h, l) = (o.max(c) + unit(3), o.min(c) - unit(4));
    let v = 100.0 + 1000.0 * unit(5);
    let q = v * (o + c) / 2.0;
    [o, h, l, c, v, q, q * unit(6)].map(|x| format!("{x:.4}"))
}

impl FakeBinanceSpot {
    pub(crate) async fn start(clock: Clock, markets: Vec<Market>) -> FakeBinanceSpot {
        let shared = Arc::new(Shared {
            clock,
            markets,
            record: Mutex::default(),
        });
        let rest = StdListener::bind("127.0.0.1:0").unwrap();
        let rest_url = format!("http://{}", rest.local_addr().unwrap());
        let state = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in rest.incoming().flatten() {
                let state = Arc::clone(&state);
                std::thread::spawn(move || serve_http(stream, &state));
            }
        });
        let ws = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ws_url = format!("ws://{}", ws.local_addr().unwrap());
        let (down, down_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        tasks.spawn(accept(ws, Arc::clone(&shared), down_rx));
        FakeBinanceSpot {
            rest_url,
            ws_url,
            shared,
            down,
            _tasks: tasks,
        }
    }

    /// Cuts every link (no close frame) and refuses new ones until [`FakeBinanceSpot::up`].
    pub(crate) fn down(&self) {
        self.down.send_replace(true);
    }

    pub(crate) fn up(&self) {
        self.down.send_replace(false);
    }

    pub(crate) fn record<T>(&self, f: impl FnOnce(&Record) -> T) -> T {
        f(&self.shared.record.lock().unwrap())
    }
}

/// HTTP/1.1 with keep-alive, one request after the other.
fn serve_http(stream: std::net::TcpStream, shared: &Shared) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header.trim_end().is_empty() {
                break;
            }
        }
        let target = line.split_whitespace().nth(1).unwrap_or("/");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let query: BTreeMap<&str, &str> =
            query.split('&').filter_map(|p| p.split_once('=')).collect();
        let symbol = query.get("symbol").map(|s| s.to_string());
        shared
            .record
            .lock()
            .unwrap()
            .hits
            .push((path.to_owned(), symbol));
        let (status, body) = answer(shared, path, &query);
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        if writer.write_all((head + &body).as_bytes()).is_err() {
            return;
        }
    }
}

fn answer(shared: &Shared, path: &str, query: &BTreeMap<&str, &str>) -> (u16, String) {
    let error = |code: i64, msg: &str| (400, json!({"code": code, "msg": msg}).to_string());
    match path {
        "/api/v3/exchangeInfo" => {
            let symbols: Vec<Value> = (shared.markets.iter())
                .map(|m| {
                    json!({"symbol": m.symbol, "status": m.status, "baseAsset": m.base,
                        "baseAssetPrecision": 8, "quoteAsset": m.quote, "quotePrecision": 8,
                        "quoteAssetPrecision": 8, "orderTypes": ["LIMIT", "MARKET"],
                        "isSpotTradingAllowed": true, "filters": [], "permissions": []})
                })
                .collect();
            let limits = json!([{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",
                "intervalNum": 1, "limit": 6000}]);
            let body = json!({"timezone": "UTC", "serverTime": shared.clock.now(),
                "rateLimits": limits, "exchangeFilters": [], "symbols": symbols});
            (200, body.to_string())
        }
        "/api/v3/klines" => {
            let Some(symbol) = query.get("symbol") else {
                return error(-1102, "Mandatory parameter 'symbol' was not sent.");
            };
            if !shared.markets.iter().any(|m| m.symbol == *symbol) {
                return error(-1121, "Invalid symbol.");
            }
            if query.get("interval") != Some(&"1h") {
                return error(-1120, "Invalid interval.");
            }
            let limit: i64 = query
                .get("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(500);
            if !(1..=1000).contains(&limit) {
                return error(-1100, "Illegal characters found in parameter 'limit'.");
            }
            let now = shared.clock.now();
            let start = query
                .get("startTime")
                .and_then(|s| s.parse::<TimeMs>().ok());
            // Without startTime: the latest `limit` bars, the forming one last.
            let first = start.map_or(Interval::H1.bar_open(now) - (limit - 1) * HOUR_MS, |s| {
                Interval::H1.bar_open(s + HOUR_MS - 1)
            });
            let rows: Vec<Value> = (0..limit)
                .map(|i| first + i * HOUR_MS)
                .take_while(|&open| open <= now)
                .map(|open| {
                    let b = bar(symbol, open);
                    json!([
                        open,
                        b[0],
                        b[1],
                        b[2],
                        b[3],
                        b[4],
                        open + HOUR_MS - 1,
                        b[5],
                        42,
                        "1.0",
                        b[6],
                        "0"
                    ])
                })
                .collect();
            (200, Value::Array(rows).to_string())
        }
        _ => (404, String::new()),
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>, down: watch::Receiver<bool>) {
    let mut links = JoinSet::new();
    while let Ok((tcp, _)) = listener.accept().await {
        if *down.borrow() {
            continue;
        }
        links.spawn(serve_ws(tcp, Arc::clone(&shared), down.clone()));
    }
}

/// One link: the streams of its URL, updates every few wall milliseconds, the final frames of
/// each hour that closes while it is up.
async fn serve_ws(
    tcp: tokio::net::TcpStream,
    shared: Arc<Shared>,
    mut down: watch::Receiver<bool>,
) {
    let path = Arc::new(Mutex::new(String::new()));
    let seen = Arc::clone(&path);
    // The signature is tungstenite's; the large error type is theirs.
    #[allow(clippy::result_large_err)]
    let callback = move |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        *seen.lock().unwrap() = req.uri().to_string();
        Ok(resp)
    };
    let Ok(mut ws) = accept_hdr_async(tcp, callback).await else {
        return;
    };
    let uri = path.lock().unwrap().clone();
    let streams: Vec<String> = match uri.split_once("/stream?streams=") {
        Some(("", list)) => list.split('/').map(str::to_owned).collect(),
        // Any other path: accepted, nothing streamed (Binance answers 404 for most).
        _ => Vec::new(),
    };
    shared.record.lock().unwrap().connections += 1;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut ping = tokio::time::interval(Duration::from_millis(200));
    let mut open = Interval::H1.bar_open(shared.clock.now());
    let mut turn = 0;
    loop {
        tokio::select! {
            _ = down.changed() => if *down.borrow() {
                shared.record.lock().unwrap().dropped += 1;
                return;
            },
            _ = ping.tick() => if ws.send(Message::Ping(Default::default())).await.is_err() {
                return;
            },
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let id = serde_json::from_str::<Value>(&text).ok().and_then(|v| v["id"].as_u64());
                    let reply = json!({"result": null, "id": id}).to_string();
                    if ws.send(Message::text(reply)).await.is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                _ => return,
            },
            _ = tick.tick() => {
                let now = shared.clock.now();
                let mut frames = Vec::new();
                if Interval::H1.bar_open(now) > open {
                    for s in &streams {
                        frames.push(frame(s, open, true, now));
                        let symbol = s.split('@').next().unwrap_or("").to_ascii_uppercase();
                        shared.record.lock().unwrap().finals.entry(symbol).or_default().push(open);
                    }
                    open = Interval::H1.bar_open(now);
                } else if !streams.is_empty() {
                    turn = (turn + 1) % streams.len();
                    frames.push(frame(&streams[turn], open, false, now));
                }
                for f in frames {
                    if ws.send(Message::text(f)).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// A combined-stream kline frame of the documented shape.
fn frame(stream: &str, open: TimeMs, closed: bool, now: TimeMs) -> String {
    let symbol = stream.split('@').next().unwrap_or("").to_ascii_uppercase();
    let b = bar(&symbol, open);
    json!({"stream": stream, "data": {"e": "kline", "E": now, "s": symbol, "k": {
        "t": open, "T": open + HOUR_MS - 1, "s": symbol, "i": "1h", "f": 100, "L": 200,
        "o": b[0], "c": b[3], "h": b[1], "l": b[2], "v": b[4], "n": 100, "x": closed,
        "q": b[5], "V": "1.0", "Q": b[6], "B": "0"}}})
    .to_string()
}
