//! OKX WebSocket text frames: the `pong` answer, subscribe/error/notice events, and the pushes
//! of `candle5m`, `mark-price`, `funding-rate` and `liquidation-orders`, as domain events of the
//! followed contracts.

use serde::Deserialize;

use super::rest::candle_row;
use super::{Contracts, WireError, amount, bad, json_error, millis, number, price};
use crate::model::{Funding, Interval, Liquidation, MarkTick, MarketEvent, Side, SymbolEvent};

/// What one text frame means for liqwave.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// The server's `pong` to our `ping`.
    Pong,
    /// A subscription was confirmed (`{"event":"subscribe",…}`) or removed.
    Subscribed { channel: String },
    /// OKX refused a request (`{"event":"error","code","msg"}`): a subscription did not happen.
    Error { code: String, msg: String },
    /// A notice (`{"event":"notice"}`), e.g. code 64008: the link closes soon for an upgrade.
    Notice { code: String, msg: String },
    /// Events of followed contracts: closed 5m bars, marks, funding rates, liquidations. Empty
    /// when the frame only carried instruments not followed.
    Events(Vec<SymbolEvent>),
    /// A candle update of a bar still open: nothing final yet.
    OpenBar,
    /// A well-formed frame of something liqwave does not use.
    Unused,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventFrame {
    event: String,
    #[serde(default)]
    arg: Option<Arg>,
    #[serde(default)]
    code: String,
    #[serde(default)]
    msg: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Arg {
    channel: String,
    #[serde(default)]
    inst_id: String,
}

#[derive(Deserialize)]
struct Push {
    arg: Arg,
    data: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MarkRow {
    inst_id: String,
    mark_px: String,
    ts: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FundingRow {
    inst_id: String,
    funding_rate: String,
    ts: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LiquidationGroup {
    inst_id: String,
    details: Vec<LiquidationDetail>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LiquidationDetail {
    side: String,
    #[serde(default)]
    pos_side: String,
    bk_px: String,
    sz: String,
    ts: String,
}

/// Parses one text frame; events only for instruments in `followed`.
pub fn parse_frame(text: &str, followed: &Contracts) -> Result<Frame, WireError> {
    if text == "pong" {
        return Ok(Frame::Pong);
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(json_error)?;
    if value.get("event").is_some() {
        let e: EventFrame = serde_json::from_value(value).map_err(json_error)?;
        return Ok(match e.event.as_str() {
            "subscribe" | "unsubscribe" => Frame::Subscribed {
                channel: e.arg.map(|a| a.channel).unwrap_or_default(),
            },
            "error" => Frame::Error {
                code: e.code,
                msg: e.msg.chars().take(200).collect(),
            },
            "notice" => Frame::Notice {
                code: e.code,
                msg: e.msg.chars().take(200).collect(),
            },
            _ => Frame::Unused,
        });
    }
    let push: Push = serde_json::from_value(value).map_err(json_error)?;
    match push.arg.channel.as_str() {
        "candle5m" => candles(&push.arg.inst_id, push.data, followed),
        "mark-price" => rows(push.data, |r: MarkRow| {
            let Some(c) = followed.get(&r.inst_id) else {
                return Ok(None);
            };
            let tick = MarkTick {
                time: millis("ts", &r.ts)?,
                price: price("markPx", &r.mark_px)?,
                funding_rate: None,
            };
            Ok(Some(vec![event(c, MarketEvent::Mark(tick))]))
        }),
        "funding-rate" => rows(push.data, |r: FundingRow| {
            let Some(c) = followed.get(&r.inst_id) else {
                return Ok(None);
            };
            let funding = Funding {
                time: millis("ts", &r.ts)?,
                rate: number("fundingRate", &r.funding_rate)?,
            };
            Ok(Some(vec![event(c, MarketEvent::Funding(funding))]))
        }),
        "liquidation-orders" => rows(push.data, |g: LiquidationGroup| {
            let Some(c) = followed.get(&g.inst_id) else {
                return Ok(None);
            };
            let mut out = Vec::with_capacity(g.details.len());
            for d in &g.details {
                let liquidation = Liquidation {
                    time: millis("ts", &d.ts)?,
                    side: closed_side(&d.side, &d.pos_side)?,
                    price: price("bkPx", &d.bk_px)?,
                    quantity: amount("sz", &d.sz)? * c.ct_val,
                };
                out.push(event(c, MarketEvent::Liquidation(liquidation)));
            }
            Ok(Some(out))
        }),
        _ => Ok(Frame::Unused),
    }
}

/// The position a liquidation closed: `posSide` in hedge mode; in net mode (`net`) the order's
/// side tells, a sell closing a long and a buy closing a short.
fn closed_side(side: &str, pos_side: &str) -> Result<Side, WireError> {
    match (pos_side, side) {
        ("long", _) => Ok(Side::Long),
        ("short", _) => Ok(Side::Short),
        (_, "sell") => Ok(Side::Long),
        (_, "buy") => Ok(Side::Short),
        _ => Err(bad("side", side)),
    }
}

fn event(c: &super::Contract, event: MarketEvent) -> SymbolEvent {
    SymbolEvent {
        symbol: c.symbol.clone(),
        event,
    }
}

/// Each row of an object array through `one`; `None` rows (instruments not followed) skipped.
fn rows<R: serde::de::DeserializeOwned>(
    data: serde_json::Value,
    one: impl Fn(R) -> Result<Option<Vec<SymbolEvent>>, WireError>,
) -> Result<Frame, WireError> {
    let rows: Vec<R> = serde_json::from_value(data).map_err(json_error)?;
    let mut out = Vec::new();
    for row in rows {
        out.extend(one(row)?.into_iter().flatten());
    }
    Ok(Frame::Events(out))
}

fn candles(
    inst_id: &str,
    data: serde_json::Value,
    followed: &Contracts,
) -> Result<Frame, WireError> {
    let rows: Vec<Vec<String>> = serde_json::from_value(data).map_err(json_error)?;
    let mut closed = Vec::new();
    for row in &rows {
        let (candle, is_closed) = candle_row(row)?;
        if is_closed {
            closed.push(candle);
        }
    }
    let Some(c) = followed.get(inst_id) else {
        return Ok(Frame::Events(Vec::new()));
    };
    if closed.is_empty() {
        return Ok(Frame::OpenBar);
    }
    let interval = Interval::M5;
    Ok(Frame::Events(
        closed
            .into_iter()
            .map(|candle| event(c, MarketEvent::Candle { interval, candle }))
            .collect(),
    ))
}
