//! A fake Binance USDⓈ-M market-stream server on 127.0.0.1 (research/binance-api.md §1): the
//! routed `/market/stream?streams=a/b/c` path (any other path accepts and delivers nothing, as
//! Binance does), frames in the real `{"stream":…,"data":…}` wrapper, 5m klines with open-bar
//! updates (`"x":false`) and one final frame per bar, the all-market mark-price array and
//! forceOrder, SUBSCRIBE/UNSUBSCRIBE answered `{"result":null,"id":N}`, server pings, and faults
//! on a schedule: drops, stalls, garbage, truncated, unknown-stream and bad-value frames. Market
//! time is accelerated (a 5m bar per `bar_every` of wall time), or a [`Tape`]'s (another fake's
//! market and clock). Every bar the exchange closes is recorded (what REST would answer) with
//! what was sent per symbol.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use liqwave::model::Candle;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep};
use tokio_tungstenite::accept_hdr_async;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

#[path = "fake_binance_ws/tape.rs"]
mod tape;
pub(crate) use tape::Tape;

/// The open time of the first bar: 2026-01-01 00:00 UTC.
pub(crate) const START: i64 = 1_767_225_600_000;
pub(crate) const BAR_MS: i64 = 300_000;

/// A fault, applied to one live connection chosen by the seed when its bar comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Fault {
    /// The TCP connection closes without a close frame.
    Drop,
    /// The connection goes silent (no data, no pings, nothing read) but stays open.
    Stall,
    /// The connection stops streaming data but stays alive: it still pings, answers pongs and
    /// control messages.
    Mute,
    /// A text frame that is not JSON.
    Garbage,
    /// A kline frame cut in half.
    Truncated,
    /// A well-formed frame of a stream Binance does not have.
    UnknownStream,
    /// A final kline whose open price is not a number.
    BadValue,
}

#[derive(Debug, Clone)]
pub(crate) struct FakeConfig {
    /// The market, upper case; bars are made for all of them, sent to subscribers only.
    pub(crate) symbols: Vec<String>,
    pub(crate) bars: u32,
    /// Wall time per 5m bar.
    pub(crate) bar_every: Duration,
    /// Open-bar updates (`"x":false`) before each final frame.
    pub(crate) updates_per_bar: u32,
    pub(crate) ping_every: Duration,
    /// Faults applied at a bar, before its final frames, in order.
    pub(crate) faults: Vec<(u32, Fault)>,
    pub(crate) seed: u64,
    /// Wall time between two mark-price arrays, each timed at its step's market time; `None`:
    /// one array per bar, after its close.
    pub(crate) mark_every: Option<Duration>,
    /// Another market to stream instead of `symbols` and the fake's own bars, on its clock
    /// (`bar_every` then plays no part).
    pub(crate) tape: Option<Arc<dyn Tape>>,
}

impl FakeConfig {
    pub(crate) fn new(symbols: usize, bars: u32) -> Self {
        FakeConfig {
            symbols: (0..symbols).map(symbol).collect(),
            bars,
            bar_every: Duration::from_millis(50),
            updates_per_bar: 2,
            ping_every: Duration::from_millis(100),
            faults: Vec::new(),
            seed: 7,
            mark_every: None,
            tape: None,
        }
    }
}

/// `S000USDT`, `S001USDT`, …: the fake market's pair names.
pub(crate) fn symbol(i: usize) -> String {
    format!("S{i:03}USDT")
}

/// One control request as the fake received it.
#[derive(Debug, Clone)]
pub(crate) struct ControlSeen {
    pub(crate) connection: u64,
    pub(crate) at: Instant,
    pub(crate) method: String,
    pub(crate) params: Vec<String>,
}

/// What the fake did and saw.
#[derive(Debug, Default)]
pub(crate) struct Record {
    /// Every closed bar per symbol, in order: the exchange's own history.
    pub(crate) truth: BTreeMap<String, Vec<Candle>>,
    /// Final kline frames written, per symbol, over all connections.
    pub(crate) sent_final: BTreeMap<String, u64>,
    /// WebSocket connections accepted, ever.
    pub(crate) connections: u64,
    /// Live connections and the streams each serves.
    pub(crate) live: BTreeMap<u64, BTreeSet<String>>,
    pub(crate) wrong_path: u64,
    pub(crate) controls: Vec<ControlSeen>,
    pub(crate) pongs: u64,
    /// Faults applied (a fault finds no live connection now and then: not counted).
    pub(crate) faults: BTreeMap<Fault, u64>,
    pub(crate) bars_closed: u32,
    /// When each final kline frame and mark-price array was written, by stream and time (a
    /// kline's open time, a mark array's event time): where latency measurements start.
    pub(crate) sent_at: BTreeMap<(String, i64), Instant>,
}

/// What the clock sends every connection task.
#[derive(Debug)]
enum Push {
    Frame {
        stream: String,
        text: String,
        final_of: Option<String>,
        /// A kline's open time, another frame's event time.
        time: i64,
    },
    Fault {
        connection: u64,
        fault: Fault,
    },
}

/// The running fake; dropping it stops everything it runs.
#[derive(Debug)]
pub(crate) struct FakeBinance {
    pub(crate) addr: SocketAddr,
    record: Arc<Mutex<Record>>,
    start: Arc<Notify>,
    _tasks: JoinSet<()>,
}

impl FakeBinance {
    pub(crate) async fn start(config: FakeConfig) -> FakeBinance {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let record = Arc::new(Mutex::new(Record::default()));
        let start = Arc::new(Notify::new());
        let (tx, _) = broadcast::channel(1 << 16);
        let mut tasks = JoinSet::new();
        let ping_every = config.ping_every;
        tasks.spawn(accept(listener, tx.clone(), record.clone(), ping_every));
        match config.tape.clone() {
            Some(t) => tasks.spawn(tape::run(t, config, tx, record.clone(), start.clone())),
            None => tasks.spawn(clock(config, tx, record.clone(), start.clone())),
        };
        FakeBinance {
            addr,
            record,
            start,
            _tasks: tasks,
        }
    }

    /// The routed base URL to give the client.
    pub(crate) fn url(&self) -> String {
        format!("ws://{}/market", self.addr)
    }

    /// Starts the market clock: bar 0 opens now.
    pub(crate) fn open_market(&self) {
        self.start.notify_one();
    }

    pub(crate) fn record<T>(&self, read: impl FnOnce(&Record) -> T) -> T {
        read(&self.record.lock().unwrap())
    }

    /// The streams served by any live connection.
    pub(crate) fn served(&self) -> BTreeSet<String> {
        self.record(|r| r.live.values().flatten().cloned().collect())
    }

    /// The exchange's closed bars of a symbol with open times `from..=to` (a REST back-fill).
    pub(crate) fn backfill(&self, symbol: &str, from: i64, to: i64) -> Vec<Candle> {
        self.record(|r| {
            r.truth[symbol]
                .iter()
                .filter(|c| (from..=to).contains(&c.open_time))
                .copied()
                .collect()
        })
    }
}

async fn accept(
    listener: TcpListener,
    tx: broadcast::Sender<Arc<Push>>,
    record: Arc<Mutex<Record>>,
    ping_every: Duration,
) {
    let mut connections = JoinSet::new();
    let mut next_id = 1;
    while let Ok((tcp, _)) = listener.accept().await {
        let (id, rx) = (next_id, tx.subscribe());
        next_id += 1;
        connections.spawn(serve(id, tcp, rx, record.clone(), ping_every));
    }
}

/// One client connection until it closes, breaks, or a fault ends it.
async fn serve(
    id: u64,
    tcp: TcpStream,
    mut rx: broadcast::Receiver<Arc<Push>>,
    record: Arc<Mutex<Record>>,
    ping_every: Duration,
) {
    let mut uri = String::new();
    // The signature is tungstenite's; the large error type is theirs.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        uri = req.uri().to_string();
        Ok(resp)
    };
    let Ok(mut ws) = accept_hdr_async(tcp, callback).await else {
        return;
    };
    let (path, query) = uri.split_once('?').unwrap_or((&uri, ""));
    let routed = path == "/market/stream";
    let mut streams: BTreeSet<String> = query
        .strip_prefix("streams=")
        .unwrap_or("")
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    {
        let mut r = record.lock().unwrap();
        r.connections += 1;
        r.wrong_path += u64::from(!routed);
        r.live.insert(id, streams.clone());
    }
    let mut ping = interval(ping_every);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut muted = false;
    loop {
        tokio::select! {
            push = rx.recv() => {
                let push = match push {
                    Ok(push) => push,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                match &*push {
                    Push::Frame { stream, text, final_of, time } => {
                        if !routed || muted || !streams.contains(stream) {
                            continue;
                        }
                        let sending = Instant::now();
                        if ws.send(Message::text(text.as_str())).await.is_err() {
                            break;
                        }
                        let marks = stream.starts_with("!markPrice");
                        if final_of.is_some() || marks {
                            let mut r = record.lock().unwrap();
                            if let Some(symbol) = final_of {
                                *r.sent_final.entry(symbol.clone()).or_default() += 1;
                            }
                            r.sent_at.insert((stream.clone(), *time), sending);
                        }
                    }
                    Push::Fault { connection, fault } if *connection == id => {
                        record.lock().unwrap().faults.entry(*fault).and_modify(|n| *n += 1).or_insert(1);
                        match fault {
                            Fault::Drop => break,
                            Fault::Stall => {
                                record.lock().unwrap().live.remove(&id);
                                sleep(Duration::from_secs(60)).await;
                                break;
                            }
                            Fault::Mute => muted = true,
                            fault => {
                                if ws.send(Message::text(bad_frame(*fault))).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                    Push::Fault { .. } => {}
                }
            }
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let Some(reply) = control(id, text.as_str(), &mut streams, &record) else {
                        continue;
                    };
                    if ws.send(Message::text(reply)).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Pong(_))) => record.lock().unwrap().pongs += 1,
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if ws.send(Message::Ping(b"hb".to_vec().into())).await.is_err() {
                    break;
                }
            }
        }
    }
    record.lock().unwrap().live.remove(&id);
}

/// Applies a SUBSCRIBE or UNSUBSCRIBE and returns the reply.
fn control(
    id: u64,
    text: &str,
    streams: &mut BTreeSet<String>,
    record: &Mutex<Record>,
) -> Option<String> {
    let request: Value = serde_json::from_str(text).ok()?;
    let method = request["method"].as_str()?.to_owned();
    let params: Vec<String> = request["params"]
        .as_array()?
        .iter()
        .filter_map(|p| p.as_str().map(str::to_owned))
        .collect();
    match method.as_str() {
        "SUBSCRIBE" => streams.extend(params.iter().cloned()),
        "UNSUBSCRIBE" => streams.retain(|s| !params.contains(s)),
        _ => return Some(r#"{"code":2,"msg":"Invalid request"}"#.to_owned()),
    }
    let mut r = record.lock().unwrap();
    r.live.insert(id, streams.clone());
    r.controls.push(ControlSeen {
        connection: id,
        at: Instant::now(),
        method,
        params,
    });
    Some(format!(r#"{{"result":null,"id":{}}}"#, request["id"]))
}

fn bad_frame(fault: Fault) -> String {
    let kline = kline_frame(&symbol(999), 0, &bar(999, 0), true);
    match fault {
        Fault::Garbage => "}{ this is not JSON".to_owned(),
        Fault::Truncated => kline[..kline.len() / 2].to_owned(),
        Fault::UnknownStream => r#"{"stream":"s000usdt@weird_9m","data":{"e":"weird"}}"#.to_owned(),
        _ => kline.replace(r#""o":""#, r#""o":"abc"#),
    }
}

/// Decimal text with four places, from ten-thousandths.
fn dec(units: u64) -> String {
    format!("{}.{:04}", units / 10_000, units % 10_000)
}

/// The decimal texts of a bar: open, high, low, close, volume, quote volume, taker-buy quote.
fn bar(index: usize, k: u32) -> [String; 7] {
    let walk = |j: u64| 1_000_000 + mix((index as u64) << 32 | j) % 200_000;
    let (open, close) = (walk(u64::from(k)), walk(u64::from(k) + 1));
    let high = open.max(close) + mix(u64::from(k) ^ 0xABCD) % 5_000;
    let low = open.min(close) - mix(u64::from(k) ^ 0x1234) % 5_000;
    let volume = 10_000 + mix(index as u64 ^ u64::from(k) << 8) % 9_000_000;
    [open, high, low, close, volume, volume * 100, volume * 40].map(dec)
}

fn kline_frame(symbol: &str, k: u32, v: &[String; 7], closed: bool) -> String {
    kline_frame_at(symbol, START + i64::from(k) * BAR_MS, v, closed)
}

fn kline_frame_at(symbol: &str, open: i64, v: &[String; 7], closed: bool) -> String {
    format!(
        concat!(
            r#"{{"stream":"{lower}@kline_5m","data":{{"e":"kline","E":{event},"s":"{s}","k":{{"#,
            r#""t":{open},"T":{close_time},"s":"{s}","i":"5m","f":100,"L":200,"o":"{o}","c":"{c}","#,
            r#""h":"{h}","l":"{l}","v":"{v}","n":100,"x":{closed},"q":"{q}","V":"500","Q":"{tq}","B":"0"}}}}}}"#
        ),
        lower = symbol.to_ascii_lowercase(),
        event = open + BAR_MS - 1,
        s = symbol,
        open = open,
        close_time = open + BAR_MS - 1,
        o = v[0],
        h = v[1],
        l = v[2],
        c = v[3],
        v = v[4],
        q = v[5],
        tq = v[6],
        closed = closed,
    )
}

fn candle(k: u32, v: &[String; 7]) -> Candle {
    let f = |i: usize| v[i].parse::<f64>().unwrap();
    Candle {
        open_time: START + i64::from(k) * BAR_MS,
        open: f(0),
        high: f(1),
        low: f(2),
        close: f(3),
        volume: f(4),
        quote_volume: Some(f(5)),
        taker_buy_quote: Some(f(6)),
    }
}

/// The market: waits for [`FakeBinance::open_market`], then bar after bar.
async fn clock(
    config: FakeConfig,
    tx: broadcast::Sender<Arc<Push>>,
    record: Arc<Mutex<Record>>,
    start: Arc<Notify>,
) {
    start.notified().await;
    let steps = config.updates_per_bar + 1;
    let mut step = interval(config.bar_every / steps);
    let mut pick = config.seed;
    let push = |p: Push| {
        // Err only while no connection listens: nobody to tell.
        let _listeners = tx.send(Arc::new(p)).unwrap_or(0);
    };
    let mut next_mark = Instant::now();
    for k in 0..config.bars {
        let open = START + i64::from(k) * BAR_MS;
        let bars: Vec<[String; 7]> = (0..config.symbols.len()).map(|i| bar(i, k)).collect();
        for s in 0..steps {
            step.tick().await;
            let closed = s + 1 == steps;
            if closed {
                for &(_, fault) in config.faults.iter().filter(|(at, _)| *at == k) {
                    let live: Vec<u64> = record.lock().unwrap().live.keys().copied().collect();
                    pick = mix(pick);
                    if let Some(&connection) = live.get(pick as usize % live.len().max(1)) {
                        push(Push::Fault { connection, fault });
                    }
                }
                let mut r = record.lock().unwrap();
                for (symbol, v) in config.symbols.iter().zip(&bars) {
                    r.truth
                        .entry(symbol.clone())
                        .or_default()
                        .push(candle(k, v));
                }
                r.bars_closed = k + 1;
            }
            for (symbol, v) in config.symbols.iter().zip(&bars) {
                push(Push::Frame {
                    stream: format!("{}@kline_5m", symbol.to_ascii_lowercase()),
                    text: kline_frame(symbol, k, v, closed),
                    final_of: closed.then(|| symbol.clone()),
                    time: open,
                });
            }
            if let Some(every) = config.mark_every
                && Instant::now() >= next_mark
            {
                next_mark += every;
                let time = open + BAR_MS * i64::from(s + 1) / i64::from(steps) - 1;
                push(Push::Frame {
                    stream: "!markPrice@arr@1s".to_owned(),
                    text: mark_frame(&config.symbols, &bars, time),
                    final_of: None,
                    time,
                });
            }
        }
        if config.mark_every.is_none() {
            push(Push::Frame {
                stream: "!markPrice@arr@1s".to_owned(),
                text: mark_frame(&config.symbols, &bars, open + BAR_MS - 1),
                final_of: None,
                time: open + BAR_MS - 1,
            });
        }
        let i = k as usize % config.symbols.len().max(1);
        if let Some(symbol) = config.symbols.get(i) {
            push(Push::Frame {
                stream: "!forceOrder@arr".to_owned(),
                text: force_frame(symbol, &bars[i][3], open + 1000 + i as i64),
                final_of: None,
                time: open + 1000 + i as i64,
            });
        }
    }
}

fn mark_frame(symbols: &[String], bars: &[[String; 7]], time: i64) -> String {
    let entries: Vec<String> = symbols
        .iter()
        .zip(bars)
        .map(|(s, v)| {
            format!(
                r#"{{"e":"markPriceUpdate","E":{time},"s":"{s}","p":"{p}","ap":"{p}","i":"{p}","P":"{p}","r":"0.00010000","T":{next}}}"#,
                p = v[3],
                next = time + 1,
            )
        })
        .collect();
    format!(
        r#"{{"stream":"!markPrice@arr@1s","data":[{}]}}"#,
        entries.join(",")
    )
}

fn force_frame(symbol: &str, price: &str, time: i64) -> String {
    format!(
        r#"{{"stream":"!forceOrder@arr","data":{{"e":"forceOrder","E":{time},"o":{{"s":"{symbol}","S":"SELL","o":"LIMIT","f":"IOC","q":"0.014","p":"{price}","ap":"{price}","X":"FILLED","l":"0.014","z":"0.014","T":{time}}}}}}}"#
    )
}

/// SplitMix64's finaliser.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
