//! The fake's public WebSocket: subscribe/ack, ping/pong, kline/ticker/liquidation pushes on
//! the market clock, and the faults.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use liqwave::model::{Interval, TimeMs};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::time::{MissedTickBehavior, interval, sleep};
use tokio_tungstenite::accept_async;
use tokio_tungstenite::tungstenite::Message;

use super::{BAR_MS, Fault, State, bar, dec, open_interest, price};

/// How often a connection pushes, in market time: several open-bar updates per bar.
fn tick(state: &State) -> Duration {
    let per_bar = state.config.updates_per_bar.max(1);
    let market = Duration::from_millis((BAR_MS as u64) / u64::from(per_bar + 1));
    state
        .config
        .clock
        .wall(market)
        .max(Duration::from_millis(5))
}

pub(super) async fn start(state: Arc<State>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/v5/public/linear", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let id = state.connections.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(connection(Arc::clone(&state), tcp, id));
        }
    });
    url
}

fn kline(symbol: &str, open: TimeMs, now: TimeMs, confirm: bool) -> String {
    let b = bar(symbol, Interval::M5, open, now);
    json!({"topic": format!("kline.5.{symbol}"), "data": [{
        "start": open, "end": open + BAR_MS - 1, "interval": "5",
        "open": dec(b.open), "close": dec(b.close), "high": dec(b.high), "low": dec(b.low),
        "volume": dec(b.volume), "turnover": dec(b.quote_volume.unwrap()),
        "confirm": confirm, "timestamp": now.min(open + BAR_MS - 1)}],
        "ts": now, "type": "snapshot"})
    .to_string()
}

fn ticker(symbol: &str, now: TimeMs, snapshot: bool) -> String {
    let boundary = now.div_euclid(BAR_MS) * BAR_MS;
    let oi = open_interest(symbol, boundary);
    let mark = price(symbol, now);
    let eight = 8 * 3_600_000;
    let data = if snapshot {
        json!({"symbol": symbol, "lastPrice": dec(mark), "markPrice": dec(mark), "indexPrice": dec(mark),
            "openInterest": dec(oi), "openInterestValue": dec(oi * mark),
            "nextFundingTime": ((now.div_euclid(eight) + 1) * eight).to_string(), "fundingRate": "0.0001"})
    } else {
        // A delta: only what changes.
        json!({"symbol": symbol, "markPrice": dec(mark), "openInterest": dec(oi), "openInterestValue": dec(oi * mark)})
    };
    let kind = if snapshot { "snapshot" } else { "delta" };
    json!({"topic": format!("tickers.{symbol}"), "type": kind, "data": data, "cs": 1, "ts": now})
        .to_string()
}

fn liquidation(symbol: &str, now: TimeMs, n: u64) -> String {
    let side = if n.is_multiple_of(2) { "Buy" } else { "Sell" };
    json!({"topic": format!("allLiquidation.{symbol}"), "type": "snapshot", "ts": now,
        "data": [{"T": now, "s": symbol, "S": side, "v": "12.5", "p": dec(price(symbol, now))}]})
    .to_string()
}

async fn connection(state: Arc<State>, tcp: tokio::net::TcpStream, id: u64) {
    let Ok(ws) = accept_async(tcp).await else {
        return;
    };
    let (mut sink, mut source) = ws.split();
    let mut topics: Vec<String> = Vec::new();
    let mut ticks = interval(tick(&state));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last = state.now();
    let mut n = 0u64;
    loop {
        tokio::select! {
            msg = source.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                let Ok(request) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                let req_id = request["req_id"].as_str().unwrap_or("").to_owned();
                let reply = match request["op"].as_str() {
                    Some("ping") => {
                        state.pings.fetch_add(1, Ordering::Relaxed);
                        json!({"success": true, "ret_msg": "pong", "conn_id": format!("c{id}"), "req_id": req_id, "op": "ping"})
                    }
                    Some("subscribe") => {
                        let args: Vec<String> = (request["args"].as_array().into_iter().flatten())
                            .filter_map(|a| a.as_str().map(str::to_owned))
                            .collect();
                        state.record.lock().unwrap().subscribe_args.push(args.len());
                        let now = state.now();
                        let mut snapshots = Vec::new();
                        for a in &args {
                            if let Some(s) = a.strip_prefix("tickers.") {
                                snapshots.push(ticker(s, now, true));
                            }
                        }
                        topics.extend(args);
                        let ack = json!({"success": true, "ret_msg": "", "conn_id": format!("c{id}"), "req_id": req_id, "op": "subscribe"});
                        if sink.send(Message::text(ack.to_string())).await.is_err() {
                            return;
                        }
                        for s in snapshots {
                            if sink.send(Message::text(s)).await.is_err() {
                                return;
                            }
                        }
                        continue;
                    }
                    _ => json!({"success": false, "ret_msg": "unknown op", "conn_id": format!("c{id}"), "req_id": req_id, "op": request["op"]}),
                };
                if sink.send(Message::text(reply.to_string())).await.is_err() {
                    return;
                }
            }
            _ = ticks.tick() => {
                let now = state.now();
                let mut frames = Vec::new();
                // Bars that closed since the last tick, in order, each after its fault.
                let mut close = (last.div_euclid(BAR_MS) + 1) * BAR_MS;
                while close <= now {
                    let open = close - BAR_MS;
                    for &(at, fault) in &state.config.faults {
                        if at != open {
                            continue;
                        }
                        state.record.lock().unwrap().faults.push(fault);
                        match fault {
                            Fault::Drop => return,
                            Fault::Stall => {
                                sleep(state.config.stall_for).await;
                                return;
                            }
                            Fault::Garbage => frames.push("{\"topic\":\"kline.5.".to_owned() + "garbage"),
                        }
                    }
                    for t in &topics {
                        if let Some(s) = t.strip_prefix("kline.5.") {
                            frames.push(kline(s, open, now, true));
                            *state.record.lock().unwrap().finals_sent.entry(s.to_owned()).or_default() += 1;
                        }
                    }
                    close += BAR_MS;
                }
                last = now;
                n += 1;
                let open = now.div_euclid(BAR_MS) * BAR_MS;
                for t in &topics {
                    if let Some(s) = t.strip_prefix("kline.5.") {
                        frames.push(kline(s, open, now, false));
                    } else if let Some(s) = t.strip_prefix("tickers.") {
                        frames.push(ticker(s, now, false));
                    } else if let Some(s) = t.strip_prefix("allLiquidation.") && n.is_multiple_of(3) {
                        frames.push(liquidation(s, now, n));
                    }
                }
                for f in frames {
                    if sink.send(Message::text(f)).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}
