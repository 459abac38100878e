//! REST response bodies (`/fapi/v1/*`, `/futures/data/*`) and their conversion to domain values.
//! Every parser turns Binance's error body `{"code":…,"msg":…}` into [`WireError::Rejected`].

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, Visitor};

use super::{
    BarText, Batch, WireError, bad_number, candle, domain_symbol, finite, millis, non_negative,
    optional_rate, positive, symbol,
};
use crate::model::{
    Candle, Funding, Interval, MarkTick, MarketEvent, OpenInterest, SymbolEvent, TimeMs,
};

/// Binance's error body, from REST (with an HTTP 4xx) or a WebSocket reply. Raw example:
///
/// ```json
/// {"code":-1121,"msg":"Invalid symbol."}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiError {
    pub code: i64,
    pub msg: String,
}

impl From<ApiError> for WireError {
    fn from(e: ApiError) -> Self {
        WireError::Rejected {
            code: e.code,
            msg: e.msg,
            id: None,
        }
    }
}

/// Reads an error body, e.g. of a 429 or 418 response.
pub fn parse_api_error(text: &str) -> Result<ApiError, WireError> {
    Ok(serde_json::from_str(text)?)
}

/// Deserialises a body; when it does not fit but is an error body, that is the error.
pub(super) fn body<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, WireError> {
    serde_json::from_str(text).map_err(|e| match serde_json::from_str::<ApiError>(text) {
        Ok(api) => api.into(),
        Err(_) => e.into(),
    })
}

/// One row of `GET /fapi/v1/klines` (an array, not an object). Raw example (Binance docs):
///
/// ```json
/// [[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",
///   1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","17928899.62484339"]]
/// ```
///
/// Open time, open, high, low, close, base volume, close time, quote volume, trade count,
/// taker-buy base volume, taker-buy quote volume, ignore.
#[derive(Debug, Clone, Deserialize)]
pub struct KlineRow<'a>(
    pub i64,
    #[serde(borrow)] pub Cow<'a, str>,
    #[serde(borrow)] pub Cow<'a, str>,
    #[serde(borrow)] pub Cow<'a, str>,
    #[serde(borrow)] pub Cow<'a, str>,
    #[serde(borrow)] pub Cow<'a, str>,
    pub i64,
    #[serde(borrow)] pub Cow<'a, str>,
    pub IgnoredAny,
    pub IgnoredAny,
    #[serde(borrow)] pub Cow<'a, str>,
    pub IgnoredAny,
);

/// The closed bars of a klines body for `interval`: a row whose close time is not before `now`
/// is the bar still forming and is left out.
pub fn parse_klines(text: &str, interval: Interval, now: TimeMs) -> Result<Vec<Candle>, WireError> {
    let rows: Vec<KlineRow<'_>> = body(text)?;
    let mut candles = Vec::with_capacity(rows.len());
    for KlineRow(open_time, o, h, l, c, v, close_time, q, _, _, tbq, _) in &rows {
        if open_time.checked_add(interval.duration_ms() - 1) != Some(*close_time) {
            return Err(WireError::Inconsistent {
                what: "kline close time is not open time + interval - 1 ms",
            });
        }
        if *close_time >= now {
            continue;
        }
        let bar = BarText {
            open: o,
            high: h,
            low: l,
            close: c,
            volume: v,
            quote_volume: q,
            taker_buy_quote: tbq,
        };
        candles.push(candle(interval, *open_time, &bar)?);
    }
    Ok(candles)
}

/// `GET /fapi/v1/openInterest`. Raw example (Binance docs):
///
/// ```json
/// {"openInterest":"10659.509","symbol":"BTCUSDT","time":1589437530011}
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenInterestNow<'a> {
    #[serde(borrow)]
    pub open_interest: Cow<'a, str>,
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    pub time: i64,
}

/// Current open interest in contracts, at the response's `time`; no USD value.
pub fn parse_open_interest(text: &str) -> Result<SymbolEvent, WireError> {
    let now: OpenInterestNow<'_> = body(text)?;
    let oi = OpenInterest {
        time: millis("time", now.time)?,
        contracts: non_negative("openInterest", &now.open_interest)?,
        value_usd: None,
    };
    Ok(SymbolEvent {
        symbol: domain_symbol(&now.symbol)?,
        event: MarketEvent::OpenInterest(oi),
    })
}

/// One row of `GET /futures/data/openInterestHist`. Raw example (Binance docs; `timestamp` is a
/// string there, accepted as a string or a number):
///
/// ```json
/// [{"symbol":"BTCUSDT","sumOpenInterest":"20403.63700000","sumOpenInterestValue":"150570784.07809979",
///   "CMCCirculatingSupply":"165880.538","timestamp":"1583127900000"}]
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenInterestHistRow<'a> {
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    #[serde(borrow)]
    pub sum_open_interest: Cow<'a, str>,
    #[serde(borrow)]
    pub sum_open_interest_value: Cow<'a, str>,
    pub timestamp: Millis,
}

/// Open-interest history of `period` bars. A row stamped `t` is timed at `t + period`, the end of
/// its bar, as the replay does with the same numbers from Binance's metrics archive: the later
/// time can only delay the value, the earlier one could be look-ahead.
pub fn parse_open_interest_hist(
    text: &str,
    period: Interval,
) -> Result<Vec<SymbolEvent>, WireError> {
    let rows: Vec<OpenInterestHistRow<'_>> = body(text)?;
    rows.iter()
        .map(|row| {
            let oi = OpenInterest {
                time: millis("timestamp", row.timestamp.0)?
                    .checked_add(period.duration_ms())
                    .ok_or_else(|| bad_number("timestamp", &row.timestamp.0.to_string()))?,
                contracts: non_negative("sumOpenInterest", &row.sum_open_interest)?,
                value_usd: Some(non_negative(
                    "sumOpenInterestValue",
                    &row.sum_open_interest_value,
                )?),
            };
            let symbol = domain_symbol(&row.symbol)?;
            let event = MarketEvent::OpenInterest(oi);
            Ok(SymbolEvent { symbol, event })
        })
        .collect()
}

/// One row of `GET /fapi/v1/fundingRate`. Raw example (Binance docs; `markPrice` is `""` in
/// old rows and is not read):
///
/// ```json
/// [{"symbol":"BTCUSDT","fundingRate":"-0.03750000","fundingTime":1570608000000,"markPrice":"34287.54619963"}]
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FundingRateRow<'a> {
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    #[serde(borrow)]
    pub funding_rate: Cow<'a, str>,
    /// Funding time, epoch ms; often a few ms past the hour (`1741334400001`).
    pub funding_time: i64,
}

/// Funding history: one funding event per row, at its funding time.
pub fn parse_funding_rates(text: &str) -> Result<Vec<SymbolEvent>, WireError> {
    let rows: Vec<FundingRateRow<'_>> = body(text)?;
    rows.iter()
        .map(|row| {
            let funding = Funding {
                time: millis("fundingTime", row.funding_time)?,
                rate: finite("fundingRate", &row.funding_rate)?,
            };
            let symbol = domain_symbol(&row.symbol)?;
            let event = MarketEvent::Funding(funding);
            Ok(SymbolEvent { symbol, event })
        })
        .collect()
}

/// `GET /fapi/v1/premiumIndex`: one object with `symbol`, an array of them without. Raw example
/// (Binance docs):
///
/// ```json
/// {"symbol":"BTCUSDT","markPrice":"11793.63104562","indexPrice":"11781.80495970",
///  "estimatedSettlePrice":"11781.16138815","lastFundingRate":"0.00038246",
///  "interestRate":"0.00010000","nextFundingTime":1597392000000,"time":1597370495002}
/// ```
///
/// Despite its name, `lastFundingRate` is the rate of the coming funding, like `r` in the
/// mark-price stream.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PremiumIndex<'a> {
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    #[serde(borrow)]
    pub mark_price: Cow<'a, str>,
    #[serde(borrow, default)]
    pub last_funding_rate: Option<Cow<'a, str>>,
    pub time: i64,
}

impl PremiumIndex<'_> {
    fn to_event(&self) -> Result<Option<SymbolEvent>, WireError> {
        let Some(symbol) = symbol(&self.symbol)? else {
            return Ok(None);
        };
        let tick = MarkTick {
            time: millis("time", self.time)?,
            price: positive("markPrice", &self.mark_price)?,
            funding_rate: optional_rate("lastFundingRate", self.last_funding_rate.as_deref())?,
        };
        let event = MarketEvent::Mark(tick);
        Ok(Some(SymbolEvent { symbol, event }))
    }
}

/// Mark prices with funding rates, one mark event per usable symbol. Single form: an unusable
/// entry is the error. Array form: unusable entries are dropped into the batch.
pub fn parse_premium_index(text: &str) -> Result<Batch, WireError> {
    if text.trim_start().starts_with('[') {
        let rows: Vec<PremiumIndex<'_>> = body(text)?;
        let mut batch = Batch {
            events: Vec::with_capacity(rows.len()),
            ..Batch::default()
        };
        for row in &rows {
            batch.push(row.to_event());
        }
        Ok(batch)
    } else {
        let row: PremiumIndex<'_> = body(text)?;
        Ok(Batch::one(row.to_event()?))
    }
}

/// Epoch milliseconds written as a number or as a decimal string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Millis(pub i64);

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MillisVisitor;
        impl Visitor<'_> for MillisVisitor {
            type Value = Millis;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("epoch milliseconds as an integer or a string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Millis, E> {
                Ok(Millis(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Millis, E> {
                i64::try_from(v).map(Millis).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Millis, E> {
                v.parse().map(Millis).map_err(E::custom)
            }
        }
        d.deserialize_any(MillisVisitor)
    }
}
