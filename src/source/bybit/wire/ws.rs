//! Bybit v5 public WebSocket frames (linear): operation replies, pongs, and the `kline.5`,
//! `tickers` and `allLiquidation` topics; the ticker state its deltas are merged into.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::Value;

use super::{WireError, finite, millis, non_negative, positive, symbol};
use crate::model::{
    Candle, Funding, Interval, Liquidation, MarkTick, MarketEvent, OpenInterest, Side, Symbol,
    SymbolEvent, TimeMs,
};

/// A reply to one of our operations (`subscribe`, `unsubscribe`). Example (Bybit docs):
///
/// ```json
/// {"success":true,"ret_msg":"","op":"subscribe","conn_id":"cejreassvfrsfvb9v1a0-2m"}
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Ack {
    pub op: String,
    pub success: bool,
    pub ret_msg: String,
    pub req_id: Option<String>,
}

/// What one WebSocket text frame means for liqwave.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// Closed 5m bars and liquidations (a kline update of a bar still open gives none).
    Events(Vec<SymbolEvent>),
    /// A `tickers` snapshot or delta: the fields it carries (absent ones did not change).
    Ticker {
        symbol: Symbol,
        ts: TimeMs,
        delta: bool,
        fields: TickerState,
    },
    Ack(Ack),
    /// The reply to our `{"op":"ping"}`.
    Pong,
    /// A well-formed frame of a topic liqwave does not read.
    Unused,
}

#[derive(Deserialize)]
struct Envelope {
    topic: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    ts: Option<i64>,
    data: Option<Value>,
    op: Option<String>,
    success: Option<bool>,
    ret_msg: Option<String>,
    req_id: Option<String>,
}

/// Parses one text frame. Examples of each topic are at their parsers below.
pub fn parse_frame(text: &str) -> Result<Frame, WireError> {
    let env: Envelope = serde_json::from_str(text)?;
    let Some(topic) = env.topic else {
        return op_reply(env);
    };
    let (Some(data), Some(ts)) = (env.data, env.ts) else {
        return Err(shape("a topic frame without `data` or `ts`"));
    };
    let Some((kind, name)) = topic.split_once('.') else {
        return Ok(Frame::Unused);
    };
    match kind {
        "kline" => klines(name, data),
        "tickers" => ticker(name, ts, env.kind.as_deref(), data),
        "allLiquidation" => liquidations(data),
        _ => Ok(Frame::Unused),
    }
}

fn op_reply(env: Envelope) -> Result<Frame, WireError> {
    let Some(op) = env.op else {
        return Err(shape("neither a topic nor an operation reply"));
    };
    let ret_msg = env.ret_msg.unwrap_or_default();
    // Public pongs answer as `op: ping` with `ret_msg: pong`; private ones as `op: pong`.
    if op == "pong" || (op == "ping" && ret_msg == "pong") {
        return Ok(Frame::Pong);
    }
    let Some(success) = env.success else {
        return Err(shape("an operation reply without `success`"));
    };
    Ok(Frame::Ack(Ack {
        op,
        success,
        ret_msg,
        req_id: env.req_id.filter(|r| !r.is_empty()),
    }))
}

fn shape(reason: &str) -> WireError {
    WireError::Shape {
        reason: reason.to_owned(),
    }
}

#[derive(Deserialize)]
struct KlineRow {
    start: i64,
    end: i64,
    interval: String,
    open: String,
    close: String,
    high: String,
    low: String,
    volume: String,
    turnover: String,
    confirm: bool,
}

/// `kline.5.{symbol}`: only a bar with `confirm: true` is closed. Example (Bybit docs):
///
/// ```json
/// {"topic":"kline.5.BTCUSDT","data":[{"start":1672324800000,"end":1672325099999,"interval":"5",
/// "open":"16649.5","close":"16677","high":"16677","low":"16608","volume":"2.081",
/// "turnover":"34666.4005","confirm":false,"timestamp":1672324988882}],"ts":1672324988882,"type":"snapshot"}
/// ```
fn klines(rest: &str, data: Value) -> Result<Frame, WireError> {
    let Some(("5", name)) = rest.split_once('.') else {
        return Ok(Frame::Unused);
    };
    let symbol = symbol(name)?;
    let rows: Vec<KlineRow> = serde_json::from_value(data)?;
    let mut events = Vec::new();
    for row in rows.iter().filter(|r| r.confirm) {
        let step = Interval::M5.duration_ms();
        if row.interval != "5"
            || !Interval::M5.is_bar_open(row.start)
            || row.end != row.start + step - 1
        {
            return Err(WireError::Inconsistent {
                what: "a 5m kline whose interval, start or end is off the 5-minute grid",
            });
        }
        let candle = Candle {
            open_time: row.start,
            open: positive("open", &row.open)?,
            high: positive("high", &row.high)?,
            low: positive("low", &row.low)?,
            close: positive("close", &row.close)?,
            volume: non_negative("volume", &row.volume)?,
            quote_volume: Some(non_negative("turnover", &row.turnover)?),
            taker_buy_quote: None,
        };
        if candle.low > candle.high {
            return Err(WireError::Inconsistent {
                what: "kline low above its high",
            });
        }
        events.push(SymbolEvent {
            symbol: symbol.clone(),
            event: MarketEvent::Candle {
                interval: Interval::M5,
                candle,
            },
        });
    }
    Ok(Frame::Events(events))
}

/// The ticker fields liqwave reads; `None` is "not in this message" (a delta) or never seen.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TickerState {
    pub mark_price: Option<f64>,
    pub funding_rate: Option<f64>,
    pub next_funding: Option<TimeMs>,
    /// Open interest in the base coin.
    pub open_interest: Option<f64>,
    /// Open interest value in USDT.
    pub open_interest_value: Option<f64>,
    /// When the last mark event went out (market time of the frame).
    pub(super) marked_at: Option<TimeMs>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TickerRow {
    symbol: Option<String>,
    mark_price: Option<String>,
    funding_rate: Option<String>,
    next_funding_time: Option<String>,
    open_interest: Option<String>,
    open_interest_value: Option<String>,
}

fn present(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|t| !t.is_empty())
}

/// `tickers.{symbol}`: a snapshot, then deltas carrying only what changed. Example (Bybit docs,
/// linear snapshot, trimmed):
///
/// ```json
/// {"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","lastPrice":"17216.00",
/// "markPrice":"17217.33","indexPrice":"17227.36","openInterest":"68744.761",
/// "openInterestValue":"1183601235.91","nextFundingTime":"1673280000000","fundingRate":"-0.000212"},
/// "cs":24987956059,"ts":1673272861686}
/// ```
fn ticker(name: &str, ts: TimeMs, kind: Option<&str>, data: Value) -> Result<Frame, WireError> {
    let row: TickerRow = serde_json::from_value(data)?;
    let symbol = symbol(row.symbol.as_deref().unwrap_or(name))?;
    let delta = match kind {
        Some("snapshot") => false,
        Some("delta") => true,
        _ => {
            return Err(shape(
                "a ticker frame whose type is neither snapshot nor delta",
            ));
        }
    };
    let fields = TickerState {
        mark_price: present(&row.mark_price)
            .map(|t| positive("markPrice", t))
            .transpose()?,
        funding_rate: present(&row.funding_rate)
            .map(|t| finite("fundingRate", t))
            .transpose()?,
        next_funding: present(&row.next_funding_time)
            .map(|t| millis("nextFundingTime", t))
            .transpose()?,
        open_interest: present(&row.open_interest)
            .map(|t| non_negative("openInterest", t))
            .transpose()?,
        open_interest_value: present(&row.open_interest_value)
            .map(|t| non_negative("openInterestValue", t))
            .transpose()?,
        marked_at: None,
    };
    Ok(Frame::Ticker {
        symbol,
        ts,
        delta,
        fields,
    })
}

#[derive(Deserialize)]
struct LiquidationRow {
    #[serde(rename = "T")]
    time: i64,
    s: String,
    #[serde(rename = "S")]
    side: String,
    v: String,
    p: String,
}

/// `allLiquidation.{symbol}`: `S` is the side of the position closed — "When you receive a Buy
/// update, this means that a long position has been liquidated". Example (Bybit docs):
///
/// ```json
/// {"topic":"allLiquidation.ROSEUSDT","type":"snapshot","ts":1739502303204,"data":[{"T":1739502302929,
/// "s":"ROSEUSDT","S":"Sell","v":"20000","p":"0.04499"}]}
/// ```
fn liquidations(data: Value) -> Result<Frame, WireError> {
    let rows: Vec<LiquidationRow> = serde_json::from_value(data)?;
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        let side = match row.side.as_str() {
            "Buy" => Side::Long,
            "Sell" => Side::Short,
            _ => {
                return Err(WireError::Side {
                    text: row.side.clone(),
                });
            }
        };
        events.push(SymbolEvent {
            symbol: symbol(&row.s)?,
            event: MarketEvent::Liquidation(Liquidation {
                time: row.time,
                side,
                price: positive("p", &row.p)?,
                quantity: non_negative("v", &row.v)?,
            }),
        });
    }
    Ok(Frame::Events(events))
}

/// Every followed contract's merged ticker: what the 5-minute open-interest poll reads, and
/// where marks and funding prints come from. Pure.
#[derive(Debug, Default)]
pub struct TickerBook {
    states: HashMap<Symbol, TickerState>,
}

/// Marks go out at most this often per contract (the stream pushes every 100 ms).
const MARK_EVERY_MS: TimeMs = 1_000;

impl TickerBook {
    /// Merges one ticker frame (a snapshot replaces, a delta overwrites what it carries) and
    /// returns what it means: a mark (at most one a second), and a funding print when the
    /// funding time moved on (the rate in force until then was settled).
    pub fn apply(
        &mut self,
        symbol: &Symbol,
        ts: TimeMs,
        delta: bool,
        fields: TickerState,
    ) -> Vec<SymbolEvent> {
        let old = self.states.get(symbol).copied().unwrap_or_default();
        let mut new = if delta {
            TickerState {
                mark_price: fields.mark_price.or(old.mark_price),
                funding_rate: fields.funding_rate.or(old.funding_rate),
                next_funding: fields.next_funding.or(old.next_funding),
                open_interest: fields.open_interest.or(old.open_interest),
                open_interest_value: fields.open_interest_value.or(old.open_interest_value),
                marked_at: old.marked_at,
            }
        } else {
            TickerState {
                marked_at: old.marked_at,
                ..fields
            }
        };
        let mut out = Vec::new();
        if let (Some(was), Some(now), Some(rate)) =
            (old.next_funding, new.next_funding, old.funding_rate)
            && now > was
            && was <= ts
        {
            out.push(SymbolEvent {
                symbol: symbol.clone(),
                event: MarketEvent::Funding(Funding { time: was, rate }),
            });
        }
        if let Some(price) = new.mark_price
            && fields.mark_price.is_some()
            && new.marked_at.is_none_or(|at| ts >= at + MARK_EVERY_MS)
        {
            new.marked_at = Some(ts);
            out.push(SymbolEvent {
                symbol: symbol.clone(),
                event: MarketEvent::Mark(MarkTick {
                    time: ts,
                    price,
                    funding_rate: new.funding_rate,
                }),
            });
        }
        self.states.insert(symbol.clone(), new);
        out
    }

    /// The latest open interest of `symbol`, stamped at `close`.
    pub fn open_interest(&self, symbol: &Symbol, close: TimeMs) -> Option<OpenInterest> {
        let s = self.states.get(symbol)?;
        Some(OpenInterest {
            time: close,
            contracts: s.open_interest?,
            value_usd: s.open_interest_value,
        })
    }

    /// The latest funding rate of `symbol`, if a ticker carried one.
    pub fn funding_rate(&self, symbol: &Symbol) -> Option<f64> {
        self.states.get(symbol)?.funding_rate
    }

    /// Forgets a contract (its connection went down: the next snapshot starts it afresh).
    pub fn forget(&mut self, symbol: &Symbol) {
        self.states.remove(symbol);
    }
}

/// `{"req_id":"…","op":"subscribe","args":[…]}`.
pub fn subscribe(req_id: &str, args: &[String]) -> String {
    serde_json::json!({"req_id": req_id, "op": "subscribe", "args": args}).to_string()
}

/// `{"req_id":"…","op":"ping"}`: Bybit's application-level heartbeat.
pub fn ping(req_id: &str) -> String {
    serde_json::json!({"req_id": req_id, "op": "ping"}).to_string()
}
