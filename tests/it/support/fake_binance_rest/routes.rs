//! The fake's endpoints, with Binance's weights and JSON shapes (research/binance-api.md §2):
//! exchangeInfo, klines, openInterest, futures/data/openInterestHist, fundingRate, premiumIndex.

use std::collections::HashMap;
use std::fmt::Write;

use liqwave::model::{DAY_MS, Interval, TimeMs};
use serde_json::{Value, json};

use super::market::{Walk, funding_every, funding_times};
use super::{Answer, Listing, State};

type Query = HashMap<String, String>;

/// The documented weight of a request.
pub(super) fn weight(path: &str, query: &Query) -> u32 {
    match path {
        "/fapi/v1/klines" => match number(query, "limit").unwrap_or(500) {
            ..100 => 1,
            100..500 => 2,
            500..=1000 => 5,
            _ => 10,
        },
        "/fapi/v1/premiumIndex" if !query.contains_key("symbol") => 10,
        "/futures/data/openInterestHist" => 0,
        _ => 1,
    }
}

pub(super) fn route(state: &State, at: TimeMs, path: &str, query: &Query) -> Answer {
    if path == "/fapi/v1/exchangeInfo" {
        return exchange_info(state, at);
    }
    if path == "/fapi/v1/premiumIndex" && !query.contains_key("symbol") {
        let all: Vec<Value> = state
            .listings()
            .iter()
            .filter(|l| l.status == "TRADING")
            .map(|l| premium(state, l, at))
            .collect();
        return Answer::json(200, Value::Array(all));
    }
    let Some(listing) = query.get("symbol").and_then(|s| state.listing(s)) else {
        return match path {
            "/fapi/v1/klines"
            | "/fapi/v1/openInterest"
            | "/fapi/v1/fundingRate"
            | "/fapi/v1/premiumIndex"
            | "/futures/data/openInterestHist" => Answer::error(400, -1121, "Invalid symbol."),
            _ => Answer::error(404, -1000, "Not found."),
        };
    };
    let walk = Walk::new(&listing.name, state.origin);
    match path {
        "/fapi/v1/klines" => klines(&listing, &walk, at, query),
        "/fapi/v1/openInterest" => Answer::json(
            200,
            json!({"openInterest": format!("{:.3}", walk.open_interest(at)), "symbol": listing.name, "time": at}),
        ),
        "/futures/data/openInterestHist" => open_interest_hist(&listing, &walk, at, query),
        "/fapi/v1/fundingRate" => funding(&listing, &walk, at, query),
        "/fapi/v1/premiumIndex" => Answer::json(200, premium(state, &listing, at)),
        _ => Answer::error(404, -1000, "Not found."),
    }
}

fn exchange_info(state: &State, at: TimeMs) -> Answer {
    let sample = state.sample();
    let mut info = sample.clone();
    info["serverTime"] = json!(at);
    info["rateLimits"][0]["limit"] = json!(state.weight_limit());
    let entries = sample["symbols"].as_array().unwrap();
    let template = &entries[0];
    let distractors = entries.iter().filter(|s| {
        !(s["contractType"] == "PERPETUAL" && s["status"] == "TRADING" && s["quoteAsset"] == "USDT")
    });
    let mut symbols: Vec<Value> = state
        .listings()
        .iter()
        .map(|l| {
            let mut s = template.clone();
            let walk = Walk::new(&l.name, state.origin);
            s["symbol"] = json!(l.name);
            s["pair"] = json!(l.name);
            s["baseAsset"] = json!(l.name.trim_end_matches("USDT"));
            s["status"] = json!(l.status);
            s["onboardDate"] = json!(l.onboard);
            s["pricePrecision"] = json!(walk.decimals);
            let tick = format!("{:.*}", walk.decimals, 10f64.powi(-(walk.decimals as i32)));
            s["filters"][0]["tickSize"] = json!(tick);
            s["filters"][0]["minPrice"] = json!(tick);
            s
        })
        .collect();
    symbols.extend(distractors.cloned());
    info["symbols"] = Value::Array(symbols);
    Answer::json(200, info)
}

fn klines(listing: &Listing, walk: &Walk, at: TimeMs, query: &Query) -> Answer {
    let Some(interval) = query
        .get("interval")
        .and_then(|i| i.parse::<Interval>().ok())
    else {
        return Answer::error(400, -1120, "Invalid interval.");
    };
    let limit = number(query, "limit").unwrap_or(500);
    if !(1..=1500).contains(&limit) {
        return Answer::error(400, -1130, "Data sent for parameter 'limit' is not valid.");
    }
    let forming = interval.bar_open(at);
    let first_bar = interval.bar_open(listing.onboard);
    let opens = select(interval, query, limit, first_bar, forming);
    let mut body = String::from("[");
    for (i, open) in opens.enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&walk.row(interval, open, at));
    }
    body.push(']');
    Answer {
        status: 200,
        body,
        retry_after_secs: None,
        delay: None,
    }
}

fn open_interest_hist(listing: &Listing, walk: &Walk, at: TimeMs, query: &Query) -> Answer {
    let period = query.get("period").and_then(|p| p.parse::<Interval>().ok());
    let Some(period) = period.filter(|p| (Interval::M5..=Interval::D1).contains(p)) else {
        return Answer::error(400, -1120, "Invalid period.");
    };
    let limit = number(query, "limit").unwrap_or(30);
    if !(1..=500).contains(&limit) {
        return Answer::error(400, -1130, "Data sent for parameter 'limit' is not valid.");
    }
    let d = period.duration_ms();
    // Only complete periods of the latest 30 days.
    let last = period.bar_open(at) - d;
    let first = ceil_open(period, (at - 30 * DAY_MS).max(listing.onboard));
    let mut body = String::from("[");
    for (i, t) in select(period, query, limit, first, last).enumerate() {
        let oi = walk.open_interest(t + d);
        let value = oi * walk.price(t + d);
        if i > 0 {
            body.push(',');
        }
        let name = &listing.name;
        let supply = oi * 40.0;
        write!(
            body,
            "{{\"symbol\":\"{name}\",\"sumOpenInterest\":\"{oi:.8}\",\"sumOpenInterestValue\":\"{value:.8}\",\"CMCCirculatingSupply\":\"{supply:.3}\",\"timestamp\":\"{t}\"}}"
        )
        .unwrap();
    }
    body.push(']');
    Answer {
        status: 200,
        body,
        retry_after_secs: None,
        delay: None,
    }
}

fn funding(listing: &Listing, walk: &Walk, at: TimeMs, query: &Query) -> Answer {
    let limit = number(query, "limit").unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Answer::error(400, -1130, "Data sent for parameter 'limit' is not valid.");
    }
    let limit = usize::try_from(limit).unwrap();
    let end = number(query, "endTime").unwrap_or(at).min(at);
    let times: Vec<TimeMs> = match number(query, "startTime") {
        Some(start) => funding_times(start.max(listing.onboard), end)
            .take(limit)
            .collect(),
        None => {
            let from = (end - limit as TimeMs * funding_every()).max(listing.onboard);
            let all: Vec<TimeMs> = funding_times(from, end).collect();
            all[all.len().saturating_sub(limit)..].to_vec()
        }
    };
    let rows: Vec<Value> = times
        .iter()
        .map(|&t| {
            json!({"symbol": listing.name, "fundingRate": format!("{:.8}", walk.funding_rate(t)),
                   "fundingTime": t, "markPrice": walk.price_text(t)})
        })
        .collect();
    Answer::json(200, Value::Array(rows))
}

fn premium(state: &State, listing: &Listing, at: TimeMs) -> Value {
    let walk = Walk::new(&listing.name, state.origin);
    let next = (at.div_euclid(funding_every()) + 1) * funding_every();
    json!({
        "symbol": listing.name, "markPrice": walk.price_text(at), "indexPrice": walk.price_text(at - 1000),
        "estimatedSettlePrice": walk.price_text(at - 2000),
        "lastFundingRate": format!("{:.8}", walk.funding_rate(next)),
        "interestRate": "0.00010000", "nextFundingTime": next, "time": at,
    })
}

/// Open times on `interval`'s grid between `first` and `last` chosen as Binance does: from
/// `startTime` on, or the latest ones up to `endTime` (or `last`), at most `limit`.
fn select(
    interval: Interval,
    query: &Query,
    limit: i64,
    first: TimeMs,
    last: TimeMs,
) -> impl Iterator<Item = TimeMs> {
    let d = interval.duration_ms();
    let end = number(query, "endTime").map_or(last, |e| interval.bar_open(e).min(last));
    let (from, to) = match number(query, "startTime") {
        Some(start) => {
            let from = ceil_open(interval, start).max(first);
            (from, end.min(from + (limit - 1) * d))
        }
        None => ((end - (limit - 1) * d).max(first), end),
    };
    (0..)
        .map(move |k| from + k * d)
        .take_while(move |t| *t <= to)
}

/// The first open time on the grid at or after `t`.
fn ceil_open(interval: Interval, t: TimeMs) -> TimeMs {
    let open = interval.bar_open(t);
    if open == t {
        t
    } else {
        open + interval.duration_ms()
    }
}

fn number(query: &Query, key: &str) -> Option<i64> {
    query.get(key)?.parse().ok()
}
