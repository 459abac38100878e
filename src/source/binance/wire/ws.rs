//! WebSocket market-stream payloads (the `data` of a combined-stream frame) and their conversion
//! to `SymbolEvent`s. Strings are borrowed from the frame's text; nothing is parsed twice.

use std::borrow::Cow;

use serde::Deserialize;

use super::{
    BarText, Batch, Frame, WireError, candle, interval, millis, non_negative, optional_rate,
    positive, symbol,
};
use crate::model::{Liquidation, MarkTick, MarketEvent, Side, SymbolEvent};

/// `<symbol>@kline_<interval>`, pushed every 250 ms while the bar is open and once with
/// `"x":true` when it closes. Raw example (Binance docs):
///
/// ```json
/// {"e":"kline","E":1638747660000,"s":"BTCUSDT","k":{"t":1638747660000,"T":1638747719999,
///  "s":"BTCUSDT","i":"1m","f":100,"L":200,"o":"0.0010","c":"0.0020","h":"0.0025","l":"0.0015",
///  "v":"1000","n":100,"x":false,"q":"1.0000","V":"500","Q":"0.500","B":"123456"}}
/// ```
#[derive(Debug, Clone, Deserialize)]
pub struct KlineEvent<'a> {
    #[serde(rename = "s", borrow)]
    pub symbol: Cow<'a, str>,
    #[serde(rename = "k", borrow)]
    pub kline: Kline<'a>,
}

/// The `k` object of a kline event. `T` (close time), trade ids, trade count, taker-buy base
/// volume `V` and `B` are not read.
#[derive(Debug, Clone, Deserialize)]
pub struct Kline<'a> {
    /// Bar open time, epoch ms.
    #[serde(rename = "t")]
    pub open_time: i64,
    #[serde(rename = "i", borrow)]
    pub interval: Cow<'a, str>,
    #[serde(rename = "o", borrow)]
    pub open: Cow<'a, str>,
    #[serde(rename = "h", borrow)]
    pub high: Cow<'a, str>,
    #[serde(rename = "l", borrow)]
    pub low: Cow<'a, str>,
    #[serde(rename = "c", borrow)]
    pub close: Cow<'a, str>,
    /// Base asset volume.
    #[serde(rename = "v", borrow)]
    pub volume: Cow<'a, str>,
    /// Quote asset volume.
    #[serde(rename = "q", borrow)]
    pub quote_volume: Cow<'a, str>,
    /// Taker buy quote asset volume.
    #[serde(rename = "Q", borrow)]
    pub taker_buy_quote: Cow<'a, str>,
    /// Is this bar closed? Only closed bars become candles.
    #[serde(rename = "x")]
    pub closed: bool,
}

impl KlineEvent<'_> {
    /// A closed bar as one candle event; an open bar is [`Frame::OpenBar`], parsed no further.
    pub fn to_frame(&self) -> Result<Frame, WireError> {
        let k = &self.kline;
        if !k.closed {
            return Ok(Frame::OpenBar);
        }
        let Some(symbol) = symbol(&self.symbol)? else {
            return Ok(Frame::Events(Batch::one(None)));
        };
        let interval = interval(&k.interval)?;
        let bar = BarText {
            open: &k.open,
            high: &k.high,
            low: &k.low,
            close: &k.close,
            volume: &k.volume,
            quote_volume: &k.quote_volume,
            taker_buy_quote: &k.taker_buy_quote,
        };
        let candle = candle(interval, k.open_time, &bar)?;
        let event = MarketEvent::Candle { interval, candle };
        Ok(Frame::Events(Batch::one(Some(SymbolEvent {
            symbol,
            event,
        }))))
    }
}

/// `<symbol>@markPrice[@1s]`; `!markPrice@arr[@1s]` sends a JSON array of these. Raw example
/// (Binance docs, all-market form; `ap` since 2026-03-16):
///
/// ```json
/// [{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11185.87786614",
///   "ap":"11185.87786614","i":"11784.62659091","P":"11784.25641265","r":"0.00030000",
///   "T":1562306400000}]
/// ```
///
/// `p` mark price, `i` index price, `P` estimated settle price, `r` funding rate (`""` for
/// delivery contracts), `T` next funding time. Only `E`, `s`, `p` and `r` are read.
#[derive(Debug, Clone, Deserialize)]
pub struct MarkPriceEvent<'a> {
    /// Event time, epoch ms: the time of the tick.
    #[serde(rename = "E")]
    pub event_time: i64,
    #[serde(rename = "s", borrow)]
    pub symbol: Cow<'a, str>,
    #[serde(rename = "p", borrow)]
    pub mark_price: Cow<'a, str>,
    #[serde(rename = "r", borrow, default)]
    pub funding_rate: Option<Cow<'a, str>>,
}

impl MarkPriceEvent<'_> {
    /// The tick as a mark event; `None` for a contract the domain cannot name.
    pub fn to_event(&self) -> Result<Option<SymbolEvent>, WireError> {
        let Some(symbol) = symbol(&self.symbol)? else {
            return Ok(None);
        };
        let tick = MarkTick {
            time: millis("E", self.event_time)?,
            price: positive("p", &self.mark_price)?,
            funding_rate: optional_rate("r", self.funding_rate.as_deref())?,
        };
        let event = MarketEvent::Mark(tick);
        Ok(Some(SymbolEvent { symbol, event }))
    }
}

/// `<symbol>@forceOrder`, and `!forceOrder@arr`, which despite its name sends one object per
/// message: at most one order per symbol per second (the largest since 2026-04-10, the latest
/// before), so counts and totals are lower bounds. Raw example (Binance docs):
///
/// ```json
/// {"e":"forceOrder","E":1568014460893,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC",
///  "q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}}
/// ```
#[derive(Debug, Clone, Deserialize)]
pub struct ForceOrderEvent<'a> {
    #[serde(rename = "o", borrow)]
    pub order: LiquidationOrder<'a>,
}

/// The `o` object of a forceOrder event: the exchange's closing order. Order type `o`, time in
/// force `f`, status `X` and last fill `l` are not read.
#[derive(Debug, Clone, Deserialize)]
pub struct LiquidationOrder<'a> {
    #[serde(rename = "s", borrow)]
    pub symbol: Cow<'a, str>,
    /// `SELL` closes a long, `BUY` closes a short.
    #[serde(rename = "S", borrow)]
    pub side: Cow<'a, str>,
    /// Original quantity.
    #[serde(rename = "q", borrow)]
    pub quantity: Cow<'a, str>,
    /// Order (limit) price.
    #[serde(rename = "p", borrow)]
    pub price: Cow<'a, str>,
    /// Average fill price.
    #[serde(rename = "ap", borrow, default)]
    pub average_price: Option<Cow<'a, str>>,
    /// Filled accumulated quantity.
    #[serde(rename = "z", borrow, default)]
    pub filled: Option<Cow<'a, str>>,
    /// Trade time, epoch ms.
    #[serde(rename = "T")]
    pub trade_time: i64,
}

impl ForceOrderEvent<'_> {
    /// The order as a liquidation of the position it closed, like the replay source: price is
    /// the average fill `ap` unless it is zero or absent, then `p`; quantity is the filled `z`
    /// unless it is zero or absent, then `q`.
    pub fn to_event(&self) -> Result<Option<SymbolEvent>, WireError> {
        let o = &self.order;
        let Some(symbol) = symbol(&o.symbol)? else {
            return Ok(None);
        };
        let side = match &*o.side {
            "SELL" => Side::Long,
            "BUY" => Side::Short,
            other => {
                return Err(WireError::Side {
                    text: other.to_owned(),
                });
            }
        };
        let liquidation = Liquidation {
            time: millis("T", o.trade_time)?,
            side,
            price: fill_or_order(("ap", o.average_price.as_deref()), ("p", &o.price))?,
            quantity: fill_or_order(("z", o.filled.as_deref()), ("q", &o.quantity))?,
        };
        let event = MarketEvent::Liquidation(liquidation);
        Ok(Some(SymbolEvent { symbol, event }))
    }
}

/// The fill value when it is present and not zero, else the order's own value (positive).
fn fill_or_order(
    (fill_field, fill): (&'static str, Option<&str>),
    (order_field, order): (&'static str, &str),
) -> Result<f64, WireError> {
    match fill.map(|t| non_negative(fill_field, t)).transpose()? {
        Some(v) if v > 0.0 => Ok(v),
        _ => positive(order_field, order),
    }
}

/// A mark-price array: every usable entry, the others counted or kept as errors.
pub(super) fn mark_prices(entries: &[MarkPriceEvent<'_>]) -> Batch {
    let mut batch = Batch {
        events: Vec::with_capacity(entries.len()),
        ..Batch::default()
    };
    for entry in entries {
        batch.push(entry.to_event());
    }
    batch
}
