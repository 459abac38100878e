//! OKX warm-up and back-fill over REST: a pair's margin tier, its native 4h/1d/1w bars for
//! converged RSI, 5m bars and 5m open interest over the heatmap lookback, its last funding; the
//! closed 5m bars of a hole; the 5-minute open-interest poll. Everything comes back as domain
//! events in engine order (the Binance warm-up's shape). Owns OKX's newest-first paging; must
//! never spawn or read the clock except through the client.

use futures_util::StreamExt;
use futures_util::stream;
use tracing::warn;

use super::rest::{CANDLES_MAX, OI_HISTORY_MAX, RestClient, RestError};
use super::wire::{Contract, OiRow};
use crate::model::{Candle, Interval, MarketEvent, OpenInterest, SymbolEvent, TimeMs};
use crate::source::replay::event_order;

/// Native bars per signal timeframe: enough for a converged RSI.
pub const SIGNAL_BARS: usize = 250;
/// Days of 5m bars and open interest for the heatmap.
pub const HEAT_DAYS: usize = 3;
/// Pairs warmed, or polled, at once: hides latency; the client's pacer sets the rate.
pub const CONCURRENCY: usize = 4;
const M5: TimeMs = 300_000;

/// The 5m bars of the heatmap lookback.
pub const fn heat_bars() -> usize {
    HEAT_DAYS * 288
}

/// One pair's warm-up at `now`: its margin tier first, then native 4h/1d/1w bars by close, then
/// the 5m bars, open interest and funding in the replay's order. Missing OI history is logged
/// and left out (the live poll fills in from now on); anything else failing fails the pair.
pub async fn warm_pair(
    client: &RestClient,
    contract: &Contract,
    now: TimeMs,
) -> Result<Vec<SymbolEvent>, RestError> {
    let tier = client.first_tier(contract).await?;
    let mut out = vec![on(contract, MarketEvent::Margin(tier.at(now)))];
    let mut signal = Vec::new();
    for interval in Interval::SIGNAL {
        let (from, to) = closed_range(interval, now, SIGNAL_BARS);
        for candle in fetch_bars(client, contract, interval, from, to).await? {
            signal.push(on(contract, MarketEvent::Candle { interval, candle }));
        }
    }
    signal.sort_by_key(|e| (e.event.known_at(), rank(&e.event)));
    out.extend(signal);
    let (from, to) = closed_range(Interval::M5, now, heat_bars());
    let mut heat: Vec<SymbolEvent> = fetch_bars(client, contract, Interval::M5, from, to)
        .await?
        .into_iter()
        .map(|candle| {
            let interval = Interval::M5;
            on(contract, MarketEvent::Candle { interval, candle })
        })
        .collect();
    match fetch_open_interest(client, contract, from + M5, to + M5).await {
        Ok(rows) => heat.extend(rows.into_iter().map(|r| oi_event(contract, r, r.time))),
        Err(e) => {
            let symbol = contract.symbol.as_str();
            warn!(venue = "okx", symbol, error = %e, "No open-interest history; the heatmap starts with the live poll.");
        }
    }
    if let Some(funding) = client.funding_history(contract, 1).await?.pop() {
        heat.push(on(contract, MarketEvent::Funding(funding)));
    }
    heat.sort_by(event_order);
    out.extend(heat);
    Ok(out)
}

/// The closed 5m bars opening in `[from_open, to_open]`, oldest first.
pub async fn backfill(
    client: &RestClient,
    contract: &Contract,
    from_open: TimeMs,
    to_open: TimeMs,
) -> Result<Vec<SymbolEvent>, RestError> {
    let bars = fetch_bars(client, contract, Interval::M5, from_open, to_open).await?;
    let interval = Interval::M5;
    Ok(bars
        .into_iter()
        .map(|candle| on(contract, MarketEvent::Candle { interval, candle }))
        .collect())
}

/// Open interest of every contract, stamped at the 5m close `close` the poll was made for. A
/// contract whose request fails is logged and left out.
pub async fn poll_open_interest(
    client: &RestClient,
    contracts: Vec<Contract>,
    close: TimeMs,
) -> Vec<SymbolEvent> {
    let polled: Vec<(Contract, Result<OiRow, RestError>)> = stream::iter(contracts)
        .map(|c| async move {
            let r = client.open_interest(&c).await;
            (c, r)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut events = Vec::with_capacity(polled.len());
    for (contract, result) in polled {
        match result {
            Ok(row) => events.push(oi_event(&contract, row, close)),
            Err(e) => {
                let symbol = contract.symbol.as_str();
                warn!(venue = "okx", symbol, error = %e, "Open interest poll failed for a pair.");
            }
        }
    }
    events.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    events
}

fn on(contract: &Contract, event: MarketEvent) -> SymbolEvent {
    SymbolEvent {
        symbol: contract.symbol.clone(),
        event,
    }
}

fn oi_event(contract: &Contract, row: OiRow, time: TimeMs) -> SymbolEvent {
    on(
        contract,
        MarketEvent::OpenInterest(OpenInterest {
            time,
            contracts: row.base,
            value_usd: row.usd,
        }),
    )
}

fn rank(event: &MarketEvent) -> u8 {
    match event {
        MarketEvent::Candle {
            interval: Interval::H4,
            ..
        } => 0,
        MarketEvent::Candle {
            interval: Interval::D1,
            ..
        } => 1,
        _ => 2,
    }
}

/// Open times of the last `count` (≥ 1) closed bars of `interval` at `now`: oldest, newest.
pub fn closed_range(interval: Interval, now: TimeMs, count: usize) -> (TimeMs, TimeMs) {
    let d = interval.duration_ms();
    let newest = interval.bar_open(now) - d;
    let count = TimeMs::try_from(count.max(1)).unwrap_or(1);
    (newest - (count - 1) * d, newest)
}

/// The closed bars opening in `[from, to]`, oldest first, paged from the newest as OKX serves
/// them. A young pair has fewer; the page count is bounded.
async fn fetch_bars(
    client: &RestClient,
    contract: &Contract,
    interval: Interval,
    from: TimeMs,
    to: TimeMs,
) -> Result<Vec<Candle>, RestError> {
    let step = interval.duration_ms();
    let wanted = usize::try_from((to - from) / step + 1).unwrap_or(0);
    let mut bars: Vec<Candle> = Vec::with_capacity(wanted);
    let mut older_than = to + 1;
    for _ in 0..wanted.div_ceil(CANDLES_MAX) + 2 {
        let left = usize::try_from((older_than - from + step - 1) / step).unwrap_or(0);
        if left == 0 {
            break;
        }
        let limit = left.min(CANDLES_MAX);
        let page = client
            .candles(&contract.inst_id, interval, from - 1, older_than, limit)
            .await?;
        let Some(oldest) = page.first().map(|b| b.open_time) else {
            break;
        };
        bars.extend(
            page.into_iter()
                .filter(|b| (from..=to).contains(&b.open_time)),
        );
        if oldest <= from || oldest >= older_than {
            break;
        }
        older_than = oldest;
    }
    bars.sort_by_key(|b| b.open_time);
    bars.dedup_by_key(|b| b.open_time);
    Ok(bars)
}

/// 5m open interest at the closes in `[first_close, last_close]`, each stamped at the 5m
/// boundary at or before its timestamp.
async fn fetch_open_interest(
    client: &RestClient,
    contract: &Contract,
    first_close: TimeMs,
    last_close: TimeMs,
) -> Result<Vec<OiRow>, RestError> {
    let wanted = usize::try_from((last_close - first_close) / M5 + 1).unwrap_or(0);
    let mut rows: Vec<OiRow> = Vec::with_capacity(wanted);
    let mut end = last_close;
    for _ in 0..wanted.div_ceil(OI_HISTORY_MAX) + 2 {
        if end < first_close {
            break;
        }
        let page = client
            .open_interest_history(contract, first_close, end)
            .await?;
        let Some(oldest) = page.first().map(|r| r.time) else {
            break;
        };
        rows.extend(page.into_iter().map(|mut r| {
            r.time = r.time.div_euclid(M5) * M5;
            r
        }));
        if oldest <= first_close || oldest > end {
            break;
        }
        end = oldest - 1;
    }
    rows.retain(|r| (first_close..=last_close).contains(&r.time));
    rows.sort_by_key(|r| r.time);
    rows.dedup_by_key(|r| r.time);
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::format_utc;

    #[test]
    fn ranges_end_at_the_last_closed_bar() {
        // 2025-03-12 13:07 UTC, a Wednesday.
        let now = 1_741_784_820_000;
        // (interval, count, oldest .. newest)
        #[rustfmt::skip]
        let cases = [
            (Interval::M5, 1, "2025-03-12 13:00 .. 2025-03-12 13:00"),
            (Interval::M5, 864, "2025-03-09 13:05 .. 2025-03-12 13:00"),
            (Interval::H4, 3, "2025-03-12 00:00 .. 2025-03-12 08:00"),
            (Interval::W1, 2, "2025-02-24 00:00 .. 2025-03-03 00:00"),
        ];
        for (interval, count, want) in cases {
            let (a, b) = closed_range(interval, now, count);
            assert_eq!(format!("{} .. {}", format_utc(a), format_utc(b)), want);
        }
    }
}
