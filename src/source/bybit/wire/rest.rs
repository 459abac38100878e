//! Bybit v5 REST bodies: the `{"retCode","retMsg","result"}` envelope and the `result` of each
//! market endpoint liqwave reads. Every list comes back oldest first, whatever Bybit's order.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{WireError, finite, millis, non_negative, number, positive, symbol, symbol_of};
use crate::model::{Candle, Funding, Interval, OpenInterest, Symbol, TimeMs};

/// The envelope's head, read first: a non-zero `retCode` means `result` is not data.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    ret_code: i64,
    #[serde(default)]
    ret_msg: String,
}

#[derive(Deserialize)]
struct Body<T> {
    result: T,
}

/// The `result` of a body, or Bybit's refusal as [`WireError::Rejected`].
fn result<T: DeserializeOwned>(text: &str) -> Result<T, WireError> {
    let head: Head = serde_json::from_str(text)?;
    if head.ret_code != 0 {
        return Err(WireError::Rejected {
            code: head.ret_code,
            msg: head.ret_msg,
        });
    }
    Ok(serde_json::from_str::<Body<T>>(text)?.result)
}

/// One page of a cursor-paginated list, with the cursor of the next (`None` on the last page).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
    /// Rows skipped on purpose (names the domain cannot hold).
    pub skipped: usize,
}

fn cursor(text: Option<String>) -> Option<String> {
    text.filter(|c| !c.is_empty())
}

/// A linear contract from `GET /v5/market/instruments-info?category=linear`.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub symbol: Symbol,
    /// Bybit's own name, as requests and topics spell it.
    pub name: String,
    pub contract_type: String,
    pub status: String,
    pub base: String,
    pub quote: String,
}

/// The contracts liqwave follows: trading USDT-margined perpetuals.
pub fn is_usdt_perpetual(l: &Listing) -> bool {
    l.status == "Trading" && l.contract_type == "LinearPerpetual" && l.quote == "USDT"
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstrumentsResult {
    list: Vec<InstrumentRow>,
    next_page_cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstrumentRow {
    symbol: String,
    contract_type: String,
    status: String,
    base_coin: String,
    quote_coin: String,
}

/// `GET /v5/market/instruments-info`. Example (Bybit docs, trimmed):
///
/// ```json
/// {"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[{"symbol":"BTCUSDT",
/// "contractType":"LinearPerpetual","status":"Trading","baseCoin":"BTC","quoteCoin":"USDT",
/// "launchTime":"1585526400000","priceScale":"2"}],"nextPageCursor":""},"retExtInfo":{},"time":1707186451514}
/// ```
pub fn parse_instruments(text: &str) -> Result<Page<Listing>, WireError> {
    let r: InstrumentsResult = result(text)?;
    let mut page = Page {
        items: Vec::with_capacity(r.list.len()),
        next: cursor(r.next_page_cursor),
        skipped: 0,
    };
    for row in r.list {
        match symbol_of(&row.symbol) {
            Some(symbol) => page.items.push(Listing {
                symbol,
                name: row.symbol,
                contract_type: row.contract_type,
                status: row.status,
                base: row.base_coin,
                quote: row.quote_coin,
            }),
            None => page.skipped += 1,
        }
    }
    Ok(page)
}

#[derive(Deserialize)]
struct KlineResult {
    list: Vec<(String, String, String, String, String, String, String)>,
}

/// `GET /v5/market/kline`: the bars closed at `now`, oldest first (Bybit sends newest first, and
/// the bar still open). Example (Bybit docs):
///
/// ```json
/// {"retCode":0,"retMsg":"OK","result":{"symbol":"BTCUSD","category":"inverse","list":[
/// ["1670608800000","17071","17073","17027","17055.5","268611","15.74462667"],
/// ["1670605200000","17071.5","17071.5","17061","17071","4177","0.24469757"]]},"retExtInfo":{},"time":1672025956592}
/// ```
pub fn parse_klines(text: &str, interval: Interval, now: TimeMs) -> Result<Vec<Candle>, WireError> {
    let r: KlineResult = result(text)?;
    let mut bars = Vec::with_capacity(r.list.len());
    for (start, o, h, l, c, v, turnover) in &r.list {
        let open_time = millis("startTime", start)?;
        if !interval.is_bar_open(open_time) {
            return Err(WireError::Inconsistent {
                what: "kline start time is not on the interval's grid",
            });
        }
        if open_time + interval.duration_ms() > now {
            continue;
        }
        let candle = Candle {
            open_time,
            open: positive("openPrice", o)?,
            high: positive("highPrice", h)?,
            low: positive("lowPrice", l)?,
            close: positive("closePrice", c)?,
            volume: non_negative("volume", v)?,
            quote_volume: Some(non_negative("turnover", turnover)?),
            taker_buy_quote: None,
        };
        if candle.low > candle.high {
            return Err(WireError::Inconsistent {
                what: "kline low above its high",
            });
        }
        bars.push(candle);
    }
    bars.sort_by_key(|b| b.open_time);
    bars.dedup_by_key(|b| b.open_time);
    Ok(bars)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OpenInterestResult {
    list: Vec<OpenInterestRow>,
    next_page_cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OpenInterestRow {
    open_interest: String,
    timestamp: String,
}

/// `GET /v5/market/open-interest`: open interest in the base coin (linear), oldest first, each
/// at its `timestamp`. Example (Bybit docs):
///
/// ```json
/// {"retCode":0,"retMsg":"OK","result":{"symbol":"BTCUSD","category":"inverse","list":[
/// {"openInterest":"461134384.00000000","timestamp":"1669571400000"},
/// {"openInterest":"461134292.00000000","timestamp":"1669571100000"}],"nextPageCursor":""},
/// "retExtInfo":{},"time":1672053548579}
/// ```
pub fn parse_open_interest(text: &str) -> Result<Page<OpenInterest>, WireError> {
    let r: OpenInterestResult = result(text)?;
    let mut items = Vec::with_capacity(r.list.len());
    for row in &r.list {
        items.push(OpenInterest {
            time: millis("timestamp", &row.timestamp)?,
            contracts: non_negative("openInterest", &row.open_interest)?,
            value_usd: None,
        });
    }
    items.sort_by_key(|o| o.time);
    items.dedup_by_key(|o| o.time);
    Ok(Page {
        items,
        next: cursor(r.next_page_cursor),
        skipped: 0,
    })
}

#[derive(Deserialize)]
struct FundingResult {
    list: Vec<FundingRow>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FundingRow {
    funding_rate: String,
    funding_rate_timestamp: String,
}

/// `GET /v5/market/funding/history`: settled rates, oldest first. Example (Bybit docs):
///
/// ```json
/// {"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[{"symbol":"ETHPERP",
/// "fundingRate":"0.0001","fundingRateTimestamp":"1672041600000"}]},"retExtInfo":{},"time":1672051897447}
/// ```
pub fn parse_funding(text: &str) -> Result<Vec<Funding>, WireError> {
    let r: FundingResult = result(text)?;
    let mut rates = Vec::with_capacity(r.list.len());
    for row in &r.list {
        rates.push(Funding {
            time: millis("fundingRateTimestamp", &row.funding_rate_timestamp)?,
            rate: finite("fundingRate", &row.funding_rate)?,
        });
    }
    rates.sort_by_key(|f| f.time);
    Ok(rates)
}

/// One risk-limit tier of a contract, from `GET /v5/market/risk-limit`.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskTier {
    pub symbol: Symbol,
    /// The largest position value (USDT) of the tier.
    pub limit: f64,
    /// Maintenance-margin rate, a fraction.
    pub mmr: f64,
    pub max_leverage: f64,
    pub lowest: bool,
}

/// The first (smallest) tier of `symbol`: the one flagged `isLowestRisk`, else the smallest
/// limit.
pub fn first_tier<'a>(tiers: &'a [RiskTier], symbol: &Symbol) -> Option<&'a RiskTier> {
    let mine = tiers.iter().filter(|t| &t.symbol == symbol);
    mine.clone()
        .find(|t| t.lowest)
        .or_else(|| mine.min_by(|a, b| a.limit.total_cmp(&b.limit)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RiskResult {
    list: Vec<RiskRow>,
    next_page_cursor: Option<String>,
}

/// The docs type `maintenanceMargin` as a number, their examples send a string: take either.
#[derive(Deserialize)]
#[serde(untagged)]
enum Decimal {
    Text(String),
    Number(f64),
}

impl Decimal {
    fn value(&self, field: &'static str) -> Result<f64, WireError> {
        match self {
            Decimal::Text(t) => number(t).ok_or_else(|| super::bad_number(field, t)),
            Decimal::Number(n) if n.is_finite() => Ok(*n),
            Decimal::Number(n) => Err(super::bad_number(field, &n.to_string())),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RiskRow {
    symbol: String,
    risk_limit_value: Decimal,
    maintenance_margin: Decimal,
    max_leverage: Decimal,
    #[serde(default)]
    is_lowest_risk: i64,
}

/// `GET /v5/market/risk-limit`. Example (Bybit docs, linear tiers as Bybit lists them):
///
/// ```json
/// {"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[{"id":1,"symbol":"BTCUSDT",
/// "riskLimitValue":"2000000","maintenanceMargin":"0.005","initialMargin":"0.01","isLowestRisk":1,
/// "maxLeverage":"100.00","mmDeduction":""}],"nextPageCursor":""},"retExtInfo":{},"time":1672054488010}
/// ```
pub fn parse_risk_limit(text: &str) -> Result<Page<RiskTier>, WireError> {
    let r: RiskResult = result(text)?;
    let mut page = Page {
        items: Vec::with_capacity(r.list.len()),
        next: cursor(r.next_page_cursor),
        skipped: 0,
    };
    for row in &r.list {
        let mmr = row.maintenance_margin.value("maintenanceMargin")?;
        let max_leverage = row.max_leverage.value("maxLeverage")?;
        let limit = row.risk_limit_value.value("riskLimitValue")?;
        if !(0.0..1.0).contains(&mmr) || max_leverage < 1.0 || limit < 0.0 {
            return Err(WireError::Inconsistent {
                what: "risk tier margin rate, leverage or limit out of range",
            });
        }
        if symbol_of(&row.symbol).is_none() {
            page.skipped += 1;
            continue;
        }
        page.items.push(RiskTier {
            symbol: symbol(&row.symbol)?,
            limit,
            mmr,
            max_leverage,
            lowest: row.is_lowest_risk == 1,
        });
    }
    Ok(page)
}
