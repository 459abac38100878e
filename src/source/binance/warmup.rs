//! Warm-up and back-fill over REST: a pair's native 4h/1d/1w bars for converged RSI, its 5m bars
//! and 5m open interest for the heatmap, its funding; closed 5m bars for a gap; the 5-minute
//! open-interest poll. Everything comes back as domain events in engine order. Owns which
//! requests a pair needs and their paging; must never run analytics, spawn a task, or read the
//! clock except through the client at the edge (`warm_all`).

mod all;
mod order;

pub use all::{PairOutcome, PairWarmup, Progress, warm_all};

use tracing::warn;

use super::rest::{RestClient, RestError};
use crate::config::Config;
use crate::model::{Candle, Funding, Interval, MarketEvent, Symbol, SymbolEvent, TimeMs};
use order::{closed_range, engine_order};

/// Bars per klines page when paging a range: 499 is the largest limit of the weight-2 band, the
/// most bars per unit of weight.
const KLINES_PAGE: usize = 499;
/// Rows per open-interest-history page (Binance's maximum).
const OI_PAGE: usize = 500;
/// 5m bars per day.
const BARS_PER_DAY: usize = 288;
/// Pairs warmed, or symbols polled, at once. Each has at most one request in flight, so this
/// only hides latency; the budget decides the pace.
pub(crate) const CONCURRENCY: usize = 4;

/// What a warm-up fetches for each pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WarmupPlan {
    /// Native bars per signal timeframe (`rsi.warmup_bars`): 4h, and 1d and 1w as far as
    /// their history goes.
    pub signal_bars: usize,
    /// Days of 5m bars and 5m open interest for the heatmap (`binance.warmup_days`).
    pub heat_days: u32,
}

impl WarmupPlan {
    pub fn from_config(config: &Config) -> WarmupPlan {
        WarmupPlan {
            signal_bars: config.signals.warmup_bars,
            heat_days: config.binance.warmup_days,
        }
    }

    /// The 5m bars of the heatmap lookback.
    pub fn heat_bars(&self) -> usize {
        self.heat_days as usize * BARS_PER_DAY
    }
}

/// One pair's warm-up at `now`, in engine order (see [`engine_order`]): native 4h, 1d and 1w
/// bars, then 5m bars with 5m open interest and funding by time. `funding` is the latest rate
/// when the caller has it (from `premiumIndex`); otherwise the last settled one is fetched.
pub async fn warm_pair(
    client: &RestClient,
    symbol: &Symbol,
    plan: &WarmupPlan,
    funding: Option<Funding>,
    now: TimeMs,
) -> Result<Vec<SymbolEvent>, RestError> {
    let mut signal = Vec::with_capacity(3 * plan.signal_bars);
    for interval in Interval::SIGNAL {
        if let Some((from, to)) = closed_range(interval, now, plan.signal_bars) {
            let bars = fetch_bars(client, symbol, interval, from, to).await?;
            signal.extend(candles(symbol, interval, bars));
        }
    }
    let mut heat = Vec::with_capacity(2 * plan.heat_bars() + 1);
    if let Some((from, to)) = closed_range(Interval::M5, now, plan.heat_bars()) {
        let bars = fetch_bars(client, symbol, Interval::M5, from, to).await?;
        heat.extend(candles(symbol, Interval::M5, bars));
        heat.extend(fetch_open_interest(client, symbol, from, to).await?);
    }
    let funding = match funding {
        Some(f) => Some(SymbolEvent {
            symbol: symbol.clone(),
            event: MarketEvent::Funding(f),
        }),
        None => client.funding_rates(symbol, None, 1).await?.pop(),
    };
    heat.extend(funding);
    Ok(engine_order(signal, heat))
}

/// The closed 5m bars with open times in `[from_open, to_open]`, oldest first: what the stream
/// missed during a gap (`MarketEvent::Gap` carries the same bar open times).
pub async fn backfill(
    client: &RestClient,
    symbol: &Symbol,
    from_open: TimeMs,
    to_open: TimeMs,
) -> Result<Vec<SymbolEvent>, RestError> {
    let from = Interval::M5.bar_open(from_open);
    let bars = fetch_bars(client, symbol, Interval::M5, from, to_open).await?;
    Ok(candles(symbol, Interval::M5, bars).collect())
}

/// Open interest of every symbol (weight 1 each), stamped at the 5m close `close` the poll was
/// made for: the heatmap takes OI measured at a bar's close. A symbol whose request fails is
/// logged and left out; the others stand.
pub async fn poll_open_interest(
    client: &RestClient,
    symbols: &[Symbol],
    close: TimeMs,
) -> Vec<SymbolEvent> {
    let polled = bounded(symbols.len(), async |i| {
        client.open_interest(&symbols[i]).await
    })
    .await;
    let mut events = Vec::with_capacity(symbols.len());
    for (symbol, result) in symbols.iter().zip(polled) {
        match result {
            Ok(SymbolEvent {
                symbol,
                event: MarketEvent::OpenInterest(mut oi),
            }) => {
                oi.time = close;
                events.push(SymbolEvent {
                    symbol,
                    event: MarketEvent::OpenInterest(oi),
                });
            }
            Ok(_) => {}
            Err(error) => {
                warn!(venue = "binance", symbol = symbol.as_str(), error = %error, "Open interest poll failed for a pair.");
            }
        }
    }
    events
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

/// The closed bars with open times in `[from, to]`, page by page. A young pair has fewer.
async fn fetch_bars(
    client: &RestClient,
    symbol: &Symbol,
    interval: Interval,
    from: TimeMs,
    to: TimeMs,
) -> Result<Vec<Candle>, RestError> {
    let step = interval.duration_ms();
    let wanted = usize::try_from((to - from) / step + 1).unwrap_or(0);
    let mut bars: Vec<Candle> = Vec::with_capacity(wanted);
    let mut start = from;
    // Each page advances past its last bar, so this many pages always suffice.
    for _ in 0..wanted.div_ceil(KLINES_PAGE) + 1 {
        let left = usize::try_from((to - start) / step + 1).unwrap_or(0);
        if start > to || left == 0 {
            break;
        }
        let limit = left.min(KLINES_PAGE) as u16;
        let page = client
            .klines(symbol, interval, Some(start), Some(to), limit)
            .await?;
        let Some(last) = page.last() else { break };
        start = last.open_time + step;
        bars.extend(
            page.into_iter()
                .filter(|b| (from..=to).contains(&b.open_time)),
        );
    }
    bars.dedup_by_key(|b| b.open_time);
    Ok(bars)
}

/// 5m open interest for the bars opening in `[from, to]`, each timed at its bar's close.
async fn fetch_open_interest(
    client: &RestClient,
    symbol: &Symbol,
    from: TimeMs,
    to: TimeMs,
) -> Result<Vec<SymbolEvent>, RestError> {
    let step = Interval::M5.duration_ms();
    let wanted = usize::try_from((to - from) / step + 1).unwrap_or(0);
    let mut rows: Vec<SymbolEvent> = Vec::with_capacity(wanted);
    let mut start = from;
    for _ in 0..wanted.div_ceil(OI_PAGE) + 1 {
        let left = usize::try_from((to - start) / step + 1).unwrap_or(0);
        if start > to || left == 0 {
            break;
        }
        let limit = left.min(OI_PAGE) as u16;
        let page = client
            .open_interest_hist(symbol, Interval::M5, Some(start), Some(to), limit)
            .await?;
        // A row is timed at the end of its bar, which is where the next page starts.
        let Some(last) = page.last() else { break };
        start = last.event.known_at();
        let closes = from + step..=to + step;
        rows.extend(
            page.into_iter()
                .filter(|e| closes.contains(&e.event.known_at())),
        );
    }
    rows.dedup_by_key(|e| e.event.known_at());
    Ok(rows)
}

/// Runs `job(i)` for every `i` in `0..n` with at most [`CONCURRENCY`] in flight, inside the
/// calling task (no spawning); results in index order. The future is `Send`: no lock is held
/// across an await.
pub(crate) async fn bounded<R: Send>(n: usize, job: impl AsyncFn(usize) -> R + Sync) -> Vec<R> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..n).map(|_| None).collect());
    let worker = || async {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                break;
            }
            let result = job(i).await;
            results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
        }
    };
    const _: () = assert!(CONCURRENCY == 4, "one worker per unit of concurrency");
    tokio::join!(worker(), worker(), worker(), worker());
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.into_iter().flatten().collect()
}
