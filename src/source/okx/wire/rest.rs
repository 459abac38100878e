//! OKX REST bodies: the `{"code","msg","data"}` envelope, instruments, candles, open interest
//! (now and history), funding-rate history and position tiers, as domain values.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Contract, WireError, amount, bad, json_error, millis, number, price, symbol_of};
use crate::model::{Candle, Funding, MarginTier, TimeMs};

#[derive(Deserialize)]
struct Envelope<T> {
    code: String,
    #[serde(default)]
    msg: String,
    data: Option<T>,
}

/// The `data` of a body whose `code` is `"0"`; OKX's own error otherwise.
fn data<T: DeserializeOwned>(body: &str) -> Result<T, WireError> {
    let envelope: Envelope<serde_json::Value> = serde_json::from_str(body).map_err(json_error)?;
    if envelope.code != "0" {
        return Err(WireError::Api {
            code: envelope.code.chars().take(16).collect(),
            msg: envelope.msg.chars().take(200).collect(),
        });
    }
    let value = envelope.data.ok_or_else(|| WireError::Shape {
        reason: "no data".to_owned(),
    })?;
    serde_json::from_value(value).map_err(json_error)
}

/// OKX's error of a body, when it is one (`None` for `code` `"0"` or a body that is no envelope).
pub fn parse_api_error(body: &str) -> Option<WireError> {
    let envelope: Envelope<serde_json::Value> = serde_json::from_str(body).ok()?;
    (envelope.code != "0").then(|| WireError::Api {
        code: envelope.code.chars().take(16).collect(),
        msg: envelope.msg.chars().take(200).collect(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Instrument {
    inst_id: String,
    #[serde(default)]
    inst_family: String,
    #[serde(default)]
    settle_ccy: String,
    #[serde(default)]
    ct_type: String,
    #[serde(default)]
    ct_val: String,
    #[serde(default)]
    ct_val_ccy: String,
    #[serde(default)]
    state: String,
}

/// `GET /api/v5/public/instruments?instType=SWAP`: the live USDT-settled linear swaps whose
/// contract value is in their base asset, in OKX's order. Other instruments are left out; a
/// live USDT swap with an unusable contract value is an error in `dropped`.
pub fn parse_instruments(body: &str) -> Result<(Vec<Contract>, Vec<WireError>), WireError> {
    let rows: Vec<Instrument> = data(body)?;
    let (mut contracts, mut dropped) = (Vec::new(), Vec::new());
    for row in rows {
        let Some(symbol) = symbol_of(&row.inst_id) else {
            continue;
        };
        let base = row.inst_id.split('-').next().unwrap_or_default();
        if row.state != "live"
            || row.settle_ccy != "USDT"
            || row.ct_type != "linear"
            || row.ct_val_ccy != base
        {
            continue;
        }
        match price("ctVal", &row.ct_val) {
            Ok(ct_val) => contracts.push(Contract {
                inst_family: if row.inst_family.is_empty() {
                    format!("{base}-USDT")
                } else {
                    row.inst_family
                },
                inst_id: row.inst_id,
                symbol,
                ct_val,
            }),
            Err(e) => dropped.push(e),
        }
    }
    Ok((contracts, dropped))
}

/// One candle row `[ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm]` as a domain bar (volume in the
/// base asset: `volCcy` for derivatives) and whether it is closed (`confirm` `"1"`).
pub(super) fn candle_row(row: &[String]) -> Result<(Candle, bool), WireError> {
    let [ts, o, h, l, c, _vol, vol_ccy, vol_quote, confirm, ..] = row else {
        return Err(WireError::Shape {
            reason: format!("a candle row of {} fields, expected 9", row.len()),
        });
    };
    let closed = match confirm.as_str() {
        "1" => true,
        "0" => false,
        other => return Err(bad("confirm", other)),
    };
    let candle = Candle {
        open_time: millis("ts", ts)?,
        open: price("o", o)?,
        high: price("h", h)?,
        low: price("l", l)?,
        close: price("c", c)?,
        volume: amount("volCcy", vol_ccy)?,
        quote_volume: Some(amount("volCcyQuote", vol_quote)?),
        taker_buy_quote: None,
    };
    if candle.low > candle.high {
        return Err(bad("l", l));
    }
    Ok((candle, closed))
}

/// `GET /api/v5/market/candles` or `/history-candles`: the closed bars, oldest first (OKX sends
/// the newest first). A bar still open is left out.
pub fn parse_candles(body: &str) -> Result<Vec<Candle>, WireError> {
    let rows: Vec<Vec<String>> = data(body)?;
    let mut bars = Vec::with_capacity(rows.len());
    for row in &rows {
        let (candle, closed) = candle_row(row)?;
        if closed {
            bars.push(candle);
        }
    }
    bars.sort_by_key(|c| c.open_time);
    bars.dedup_by_key(|c| c.open_time);
    Ok(bars)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OpenInterestNow {
    inst_id: String,
    oi: String,
    #[serde(default)]
    oi_ccy: String,
    #[serde(default)]
    oi_usd: String,
    ts: String,
}

/// Open interest: when it was measured, in contracts, in the base asset and in USD.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OiRow {
    pub time: TimeMs,
    pub contracts: f64,
    /// Base asset: OKX's `oiCcy`, or contracts × `ctVal` when it has none.
    pub base: f64,
    pub usd: Option<f64>,
}

fn oi_row(ts: &str, oi: &str, oi_ccy: &str, oi_usd: &str, ct_val: f64) -> Result<OiRow, WireError> {
    let contracts = amount("oi", oi)?;
    let base = if oi_ccy.is_empty() {
        contracts * ct_val
    } else {
        amount("oiCcy", oi_ccy)?
    };
    let usd = if oi_usd.is_empty() {
        None
    } else {
        Some(amount("oiUsd", oi_usd)?)
    };
    Ok(OiRow {
        time: millis("ts", ts)?,
        contracts,
        base,
        usd,
    })
}

/// `GET /api/v5/public/open-interest?instType=SWAP&instId=…`: the row of `inst_id`.
pub fn parse_open_interest(body: &str, inst_id: &str, ct_val: f64) -> Result<OiRow, WireError> {
    let rows: Vec<OpenInterestNow> = data(body)?;
    let row = rows
        .iter()
        .find(|r| r.inst_id == inst_id)
        .ok_or_else(|| WireError::Shape {
            reason: format!("no open interest for {inst_id}"),
        })?;
    oi_row(&row.ts, &row.oi, &row.oi_ccy, &row.oi_usd, ct_val)
}

/// `GET /api/v5/rubik/stat/contracts/open-interest-history`: rows `[ts,oi,oiCcy,oiUsd]`,
/// oldest first (OKX sends the newest first).
pub fn parse_open_interest_history(body: &str, ct_val: f64) -> Result<Vec<OiRow>, WireError> {
    let rows: Vec<Vec<String>> = data(body)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let [ts, oi, oi_ccy, oi_usd, ..] = row.as_slice() else {
            return Err(WireError::Shape {
                reason: format!("an open-interest row of {} fields, expected 4", row.len()),
            });
        };
        out.push(oi_row(ts, oi, oi_ccy, oi_usd, ct_val)?);
    }
    out.sort_by_key(|r| r.time);
    out.dedup_by_key(|r| r.time);
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FundingRow {
    funding_rate: String,
    #[serde(default)]
    realized_rate: String,
    funding_time: String,
}

/// `GET /api/v5/public/funding-rate-history`: settled rates, oldest first; the realized rate
/// when OKX gives one, else the announced one.
pub fn parse_funding_history(body: &str) -> Result<Vec<Funding>, WireError> {
    let rows: Vec<FundingRow> = data(body)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let rate = if row.realized_rate.is_empty() {
            number("fundingRate", &row.funding_rate)?
        } else {
            number("realizedRate", &row.realized_rate)?
        };
        out.push(Funding {
            time: millis("fundingTime", &row.funding_time)?,
            rate,
        });
    }
    out.sort_by_key(|f| f.time);
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TierRow {
    tier: String,
    mmr: String,
    max_lever: String,
    #[serde(default)]
    inst_family: String,
}

/// The first (smallest) position tier of an instrument family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FirstTier {
    pub mmr: f64,
    pub max_leverage: f64,
}

impl FirstTier {
    pub fn at(self, time: TimeMs) -> MarginTier {
        MarginTier {
            time,
            mmr: self.mmr,
            max_leverage: self.max_leverage,
        }
    }
}

/// `GET /api/v5/public/position-tiers?instType=SWAP&tdMode=cross&instFamily=…`: the lowest
/// tier of `family` (rows of other families, when several were asked, are ignored).
pub fn parse_position_tiers(body: &str, family: &str) -> Result<FirstTier, WireError> {
    let rows: Vec<TierRow> = data(body)?;
    let mut best: Option<(u32, FirstTier)> = None;
    for row in &rows {
        if !row.inst_family.is_empty() && row.inst_family != family {
            continue;
        }
        let tier: u32 = row.tier.parse().map_err(|_| bad("tier", &row.tier))?;
        let mmr = number("mmr", &row.mmr)?;
        if !(0.0..1.0).contains(&mmr) {
            return Err(bad("mmr", &row.mmr));
        }
        let max_leverage = price("maxLever", &row.max_lever)?;
        if best.is_none_or(|(t, _)| tier < t) {
            best = Some((tier, FirstTier { mmr, max_leverage }));
        }
    }
    best.map(|(_, t)| t).ok_or_else(|| WireError::Shape {
        reason: format!("no position tier for {family}"),
    })
}
