//! The single entry point for WebSocket text frames: the combined-stream wrapper, request
//! replies and error replies. The stream name picks the payload type before the payload is read,
//! so a frame is deserialised in one pass, straight into borrowed structs.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::rest::ApiError;
use super::ws::{ForceOrderEvent, KlineEvent, MarkPriceEvent, mark_prices};
use super::{Batch, Frame, WireError};

/// Parses one text frame of a combined-stream connection (`/market/stream?streams=…`).
///
/// - `{"stream":"btcusdt@kline_5m","data":{…}}`: a closed bar is one candle event, an open bar
///   is [`Frame::OpenBar`].
/// - `{"stream":"!markPrice@arr@1s","data":[…]}` or `btcusdt@markPrice`: mark events.
/// - `{"stream":"!forceOrder@arr","data":{…}}` or `btcusdt@forceOrder`: a liquidation event.
/// - `{"result":null,"id":1}`: [`Frame::Ack`] for request 1.
/// - `{"code":2,"msg":"Invalid request…","id":1}` (or `{"error":{"code","msg"},"id"}`):
///   [`WireError::Rejected`].
///
/// Trades, book tickers and depth are [`Frame::Unused`]; any other stream is
/// [`WireError::UnknownStream`].
pub fn parse_frame(text: &str) -> Result<Frame, WireError> {
    match serde_json::from_str::<RawFrame<'_>>(text)? {
        RawFrame::Stream(payload) => payload.into_frame(),
        RawFrame::Reply { id } => Ok(Frame::Ack { id }),
        RawFrame::Refused { error, id } => Err(WireError::Rejected {
            code: error.code,
            msg: error.msg,
            id,
        }),
    }
}

/// A frame as Binance shaped it, borrowing from the text.
#[derive(Debug)]
enum RawFrame<'a> {
    Stream(Payload<'a>),
    Reply { id: u64 },
    Refused { error: ApiError, id: Option<u64> },
}

/// The `data` of a combined-stream frame, typed by its stream name.
#[derive(Debug)]
enum Payload<'a> {
    Kline(KlineEvent<'a>),
    MarkPrice(MarkPriceEvent<'a>),
    MarkPrices(Vec<MarkPriceEvent<'a>>),
    ForceOrder(ForceOrderEvent<'a>),
    Unused,
    Unknown(String),
}

impl Payload<'_> {
    fn into_frame(self) -> Result<Frame, WireError> {
        match self {
            Payload::Kline(event) => event.to_frame(),
            Payload::MarkPrice(event) => Ok(Frame::Events(Batch::one(event.to_event()?))),
            Payload::MarkPrices(events) => Ok(Frame::Events(mark_prices(&events))),
            Payload::ForceOrder(event) => Ok(Frame::Events(Batch::one(event.to_event()?))),
            Payload::Unused => Ok(Frame::Unused),
            Payload::Unknown(stream) => Err(WireError::UnknownStream { stream }),
        }
    }
}

/// What a stream name says its payload is.
#[derive(Debug, Clone, PartialEq)]
enum StreamKind {
    Kline,
    MarkPrice,
    MarkPrices,
    ForceOrder,
    Unused,
    Unknown(String),
}

impl StreamKind {
    fn of(name: &str) -> StreamKind {
        match name {
            "!markPrice@arr" | "!markPrice@arr@1s" => return StreamKind::MarkPrices,
            "!forceOrder@arr" => return StreamKind::ForceOrder,
            "!bookTicker" | "!contractInfo" | "!miniTicker@arr" | "!ticker@arr" => {
                return StreamKind::Unused;
            }
            _ => {}
        }
        let Some((_symbol, stream)) = name.split_once('@') else {
            return StreamKind::Unknown(name.to_owned());
        };
        match stream {
            "markPrice" | "markPrice@1s" => StreamKind::MarkPrice,
            "forceOrder" => StreamKind::ForceOrder,
            s if s.starts_with("kline_") => StreamKind::Kline,
            "aggTrade" | "trade" | "bookTicker" | "miniTicker" | "ticker" => StreamKind::Unused,
            s if s.starts_with("depth") => StreamKind::Unused,
            _ => StreamKind::Unknown(name.to_owned()),
        }
    }
}

impl<'de> Deserialize<'de> for StreamKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl Visitor<'_> for NameVisitor {
            type Value = StreamKind;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a stream name such as btcusdt@kline_5m")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<StreamKind, E> {
                Ok(StreamKind::of(name))
            }
        }
        d.deserialize_str(NameVisitor)
    }
}

/// Reads `data` as the type its stream name says.
struct PayloadSeed<'k>(&'k StreamKind);

impl<'de> DeserializeSeed<'de> for PayloadSeed<'_> {
    type Value = Payload<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Payload<'de>, D::Error> {
        Ok(match self.0 {
            StreamKind::Kline => Payload::Kline(Deserialize::deserialize(d)?),
            StreamKind::MarkPrice => Payload::MarkPrice(Deserialize::deserialize(d)?),
            StreamKind::MarkPrices => Payload::MarkPrices(Deserialize::deserialize(d)?),
            StreamKind::ForceOrder => Payload::ForceOrder(Deserialize::deserialize(d)?),
            StreamKind::Unused => {
                IgnoredAny::deserialize(d)?;
                Payload::Unused
            }
            StreamKind::Unknown(name) => {
                IgnoredAny::deserialize(d)?;
                Payload::Unknown(name.clone())
            }
        })
    }
}

/// The top-level keys of any frame.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Key {
    Stream,
    Data,
    Result,
    Id,
    Code,
    Msg,
    Error,
    #[serde(other)]
    Other,
}

/// `data` read before its stream name was known: Binance sends `stream` first, so this is the
/// rare path and may go through a `Value`.
enum Data<'a> {
    Typed(Payload<'a>),
    Early(Value),
}

impl<'de> Deserialize<'de> for RawFrame<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(FrameVisitor)
    }
}

struct FrameVisitor;

impl<'de> Visitor<'de> for FrameVisitor {
    type Value = RawFrame<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a frame {"stream":…,"data":…} or a reply {"result":…,"id":…}"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawFrame<'de>, A::Error> {
        let mut kind = None;
        let mut data = None;
        let (mut result, mut id, mut code, mut msg, mut error) = (false, None, None, None, None);
        while let Some(key) = map.next_key()? {
            match key {
                Key::Stream => kind = Some(map.next_value::<StreamKind>()?),
                Key::Data => {
                    data = Some(match &kind {
                        Some(kind) => Data::Typed(map.next_value_seed(PayloadSeed(kind))?),
                        None => Data::Early(map.next_value()?),
                    });
                }
                Key::Result => result = map.next_value::<IgnoredAny>().map(|_| true)?,
                Key::Id => id = map.next_value::<Option<u64>>()?,
                Key::Code => code = Some(map.next_value::<i64>()?),
                Key::Msg => msg = Some(map.next_value::<String>()?),
                Key::Error => error = Some(map.next_value::<ApiError>()?),
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match (kind, data) {
            (Some(_), Some(Data::Typed(payload))) => return Ok(RawFrame::Stream(payload)),
            (Some(kind), Some(Data::Early(value))) => {
                let payload = PayloadSeed(&kind)
                    .deserialize(value)
                    .map_err(de::Error::custom)?;
                return Ok(RawFrame::Stream(payload));
            }
            (None, Some(_)) => return Err(de::Error::missing_field("stream")),
            (Some(_), None) => return Err(de::Error::missing_field("data")),
            (None, None) => {}
        }
        let error = error.or(code.map(|code| ApiError {
            code,
            msg: msg.unwrap_or_default(),
        }));
        match (error, id) {
            (Some(error), id) => Ok(RawFrame::Refused { error, id }),
            (None, Some(id)) if result => Ok(RawFrame::Reply { id }),
            _ => Err(de::Error::custom(
                "neither a stream frame nor a reply to a request",
            )),
        }
    }
}
