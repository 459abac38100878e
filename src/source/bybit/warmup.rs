//! Warm-up and back-fill over REST: a pair's first margin tier, its native 4h/1d/1w bars for a
//! converged RSI, its 5m bars and 5m open interest for the heatmap, its last funding; the closed
//! 5m bars of a hole. Everything comes back as domain events in engine order. Owns which
//! requests a pair needs and their windows; must never spawn or read the clock (`now` is an
//! argument).

use tracing::warn;

use super::rest::{KLINES_MAX, OPEN_INTEREST_MAX, RestClient, RestError};
use super::wire::first_tier;
use crate::model::{
    Candle, Funding, Interval, MarginTier, MarketEvent, Symbol, SymbolEvent, TimeMs,
};
use crate::source::replay::event_order;

const M5: TimeMs = 300_000;
/// 5m bars per day.
const BARS_PER_DAY: usize = 288;

/// What a warm-up fetches for each pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WarmupPlan {
    /// Native bars per signal timeframe (4h, 1d, 1w, as far as the pair's history goes).
    pub signal_bars: usize,
    /// Days of 5m bars and 5m open interest for the heatmap.
    pub heat_days: u32,
}

impl WarmupPlan {
    pub const DEFAULT: WarmupPlan = WarmupPlan {
        signal_bars: 250,
        heat_days: 3,
    };

    pub fn heat_bars(&self) -> usize {
        self.heat_days as usize * BARS_PER_DAY
    }
}

/// The pair's first margin tier as an event at `now` (`None` when Bybit lists no tier for it).
pub async fn margin(
    client: &RestClient,
    symbol: &Symbol,
    now: TimeMs,
) -> Result<Option<SymbolEvent>, RestError> {
    let tiers = client.risk_tiers(symbol).await?;
    Ok(first_tier(&tiers, symbol).map(|t| SymbolEvent {
        symbol: symbol.clone(),
        event: MarketEvent::Margin(MarginTier {
            time: now,
            mmr: t.mmr,
            max_leverage: t.max_leverage,
        }),
    }))
}

/// One pair's warm-up at `now`: the native 4h, 1d and 1w bars by close, then the 5m bars, their
/// open interest and the last funding print in replay order.
pub async fn warm_pair(
    client: &RestClient,
    symbol: &Symbol,
    plan: &WarmupPlan,
    now: TimeMs,
) -> Result<Vec<SymbolEvent>, RestError> {
    let mut signal = Vec::with_capacity(3 * plan.signal_bars);
    for interval in Interval::SIGNAL {
        if let Some((from, to)) = closed_range(interval, now, plan.signal_bars) {
            let bars = fetch_bars(client, symbol, interval, from, to).await?;
            signal.extend(candles(symbol, interval, bars));
        }
    }
    signal.sort_by_key(|e| (e.event.known_at(), rank(&e.event)));
    let mut heat = Vec::with_capacity(2 * plan.heat_bars() + 1);
    if let Some((from, to)) = closed_range(Interval::M5, now, plan.heat_bars()) {
        let bars = fetch_bars(client, symbol, Interval::M5, from, to).await?;
        heat.extend(candles(symbol, Interval::M5, bars));
        heat.extend(fetch_open_interest(client, symbol, from + M5, to + M5).await?);
    }
    match client.funding(symbol, 1).await {
        Ok(rates) => heat.extend(rates.into_iter().map(|f: Funding| SymbolEvent {
            symbol: symbol.clone(),
            event: MarketEvent::Funding(f),
        })),
        // Funding is a nicety of the warm-up: the stream's ticker brings the next one.
        Err(e) if !e.is_retriable() => {
            warn!(venue = "bybit", symbol = symbol.as_str(), error = %e, "No funding history for a pair.");
        }
        Err(e) => return Err(e),
    }
    heat.sort_by(event_order);
    signal.extend(heat);
    Ok(signal)
}

/// The closed 5m bars opening in `[from, to]`, oldest first: what the stream missed.
pub async fn backfill(
    client: &RestClient,
    symbol: &Symbol,
    from: TimeMs,
    to: TimeMs,
) -> Result<Vec<SymbolEvent>, RestError> {
    let bars = fetch_bars(
        client,
        symbol,
        Interval::M5,
        Interval::M5.bar_open(from),
        to,
    )
    .await?;
    Ok(candles(symbol, Interval::M5, bars).collect())
}

/// Open times of the last `count` bars of `interval` closed at `now`, oldest and newest.
pub(crate) fn closed_range(
    interval: Interval,
    now: TimeMs,
    count: usize,
) -> Option<(TimeMs, TimeMs)> {
    let count = TimeMs::try_from(count).ok().filter(|c| *c > 0)?;
    let d = interval.duration_ms();
    let newest = interval.bar_open(now) - d;
    Some((newest - (count - 1) * d, newest))
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

fn candles(
    symbol: &Symbol,
    interval: Interval,
    bars: Vec<Candle>,
) -> impl Iterator<Item = SymbolEvent> + '_ {
    bars.into_iter().map(move |candle| SymbolEvent {
        symbol: symbol.clone(),
        event: MarketEvent::Candle { interval, candle },
    })
}

/// `[from, to]` cut into windows of at most `rows` steps, so that no answer is cut short.
fn windows(from: TimeMs, to: TimeMs, step: TimeMs, rows: usize) -> Vec<(TimeMs, TimeMs)> {
    let span = step * (rows.max(1) as TimeMs - 1);
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let end = (start + span).min(to);
        out.push((start, end));
        start = end + step;
    }
    out
}

/// The closed bars opening in `[from, to]`, window by window. A young pair has fewer.
async fn fetch_bars(
    client: &RestClient,
    symbol: &Symbol,
    interval: Interval,
    from: TimeMs,
    to: TimeMs,
) -> Result<Vec<Candle>, RestError> {
    let step = interval.duration_ms();
    let mut bars: Vec<Candle> = Vec::new();
    for (start, end) in windows(from, to, step, KLINES_MAX) {
        let rows = ((end - start) / step + 1) as usize;
        let page = client.klines(symbol, interval, start, end, rows).await?;
        bars.extend(
            page.into_iter()
                .filter(|b| (from..=to).contains(&b.open_time)),
        );
    }
    bars.sort_by_key(|b| b.open_time);
    bars.dedup_by_key(|b| b.open_time);
    Ok(bars)
}

/// 5m open interest measured at the closes in `[from, to]` (multiples of 5 minutes).
async fn fetch_open_interest(
    client: &RestClient,
    symbol: &Symbol,
    from: TimeMs,
    to: TimeMs,
) -> Result<Vec<SymbolEvent>, RestError> {
    let mut rows = Vec::new();
    for (start, end) in windows(from, to, M5, OPEN_INTEREST_MAX) {
        let n = ((end - start) / M5 + 1) as usize;
        let page = client.open_interest(symbol, start, end, n).await?;
        rows.extend(
            page.into_iter()
                .filter(|o| (from..=to).contains(&o.time) && o.time % M5 == 0),
        );
    }
    rows.sort_by_key(|o| o.time);
    rows.dedup_by_key(|o| o.time);
    Ok(rows
        .into_iter()
        .map(|o| SymbolEvent {
            symbol: symbol.clone(),
            event: MarketEvent::OpenInterest(o),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_never_exceed_a_page() {
        // One line per case: from, to, step, rows per page, windows.
        type Case = (TimeMs, TimeMs, TimeMs, usize, Vec<(TimeMs, TimeMs)>);
        #[rustfmt::skip]
        let cases: [Case; 4] = [
            (0, 0, 5, 10, vec![(0, 0)]),
            (0, 45, 5, 10, vec![(0, 45)]),
            (0, 50, 5, 10, vec![(0, 45), (50, 50)]),
            (10, 5, 5, 10, vec![]),
        ];
        for (from, to, step, rows, want) in cases {
            assert_eq!(windows(from, to, step, rows), want, "{from}..{to}");
        }
    }

    #[test]
    fn closed_ranges_end_at_the_last_closed_bar() {
        assert_eq!(
            closed_range(Interval::M5, 1_000_000, 2),
            Some((300_000, 600_000))
        );
        assert_eq!(closed_range(Interval::M5, 1_000_000, 0), None);
    }
}
