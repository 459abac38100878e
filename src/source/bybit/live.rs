//! The live Bybit source: discovery, each pair's first margin tier, warm-up, the public
//! streams, gap back-fill and the 5-minute open-interest poll, fed to the engine in order (the
//! order per pair is the `lanes` module's). Owns what runs when — warm-ups, back-fills and the
//! poll beside the streams, each bounded — and must never spawn: everything runs inside the one
//! future the supervisor spawns. Time is market time from the options' [`Clock`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::rest::{RestClient, RestCounters, RestError, RestOptions};
use super::warmup::{WarmupPlan, backfill, margin, warm_pair};
use super::wire::{TickerBook, is_usdt_perpetual};
use super::ws::{StreamCounters, StreamEvent, WsOptions, run_streams};
use crate::clock::{Clock, wall_ms};
use crate::model::{Interval, MarketEvent, Symbol, SymbolEvent, TimeMs, format_utc};
use crate::source::lanes::{Hole, Lanes, Out};
use crate::source::{SourceContext, SourceHealth};

/// Pairs warmed, or holes filled, at once (each one request at a time).
const CONCURRENCY: usize = 4;
/// How a failed discovery waits before the next try (market time).
const DISCOVERY_RETRY: Duration = Duration::from_secs(30);
/// How long pairs whose warm-up failed wait before it is tried again (market time).
const WARMUP_RETRY: Duration = Duration::from_secs(300);
/// The open-interest poll reads the ticker this long after each close.
const OI_DELAY_MS: TimeMs = 5_000;
/// A select arm that is off still needs a timer.
const IDLE: Duration = Duration::from_secs(3600);

/// What the Bybit source needs.
#[derive(Debug, Clone)]
pub struct BybitOptions {
    /// `https://api.bybit.com` for the daemon.
    pub rest_url: String,
    /// `wss://stream.bybit.com/v5/public/linear` for the daemon.
    pub ws_url: String,
    /// Canonical names to follow (`BTCUSDT` or `BYBIT:BTCUSDT`); empty = every USDT perpetual.
    pub pairs: Vec<String>,
    pub max_pairs: Option<usize>,
    /// The market clock: the wall clock for the daemon; tests accelerate it.
    pub clock: Clock,
    /// A 5m bar the stream has not delivered this long after its close is fetched over REST.
    pub late: Duration,
    /// Topics per WebSocket connection (three per pair).
    pub streams_per_connection: usize,
    pub open_interest_every: Duration,
    pub warmup: WarmupPlan,
    /// What the source counts; keep a clone to read them.
    pub counters: Arc<BybitCounters>,
}

impl BybitOptions {
    /// Bybit's real endpoints and limits, the wall clock, every pair.
    pub fn new(rest_url: &str, ws_url: &str) -> BybitOptions {
        BybitOptions {
            rest_url: rest_url.to_owned(),
            ws_url: ws_url.to_owned(),
            pairs: Vec::new(),
            max_pairs: None,
            clock: Clock::Wall,
            late: Duration::from_secs(30),
            streams_per_connection: 150,
            open_interest_every: Duration::from_secs(300),
            warmup: WarmupPlan::DEFAULT,
            counters: Arc::default(),
        }
    }
}

/// What the Bybit source counts (not registered anywhere: the caller reports them).
#[derive(Debug, Default)]
pub struct BybitCounters {
    pub stream: Arc<StreamCounters>,
    pub rest: Arc<RestCounters>,
    pub pairs: AtomicU64,
    pub warmups_failed: AtomicU64,
    /// Holes found (each answered by a `Gap`).
    pub gaps: AtomicU64,
    pub bars_backfilled: AtomicU64,
    pub margins: AtomicU64,
}

/// Why the source could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum BybitError {
    #[error("Bybit REST client: {0}")]
    Rest(#[from] RestError),
}

/// Follows the selected Bybit pairs until `cx.shutdown`. Pairs of `cx.resume` whose last 5m bar
/// is within the heatmap lookback skip their warm-up: the hole since is back-filled first.
/// Errors only when the REST client cannot be built; outages are retried inside.
pub async fn run_bybit(options: BybitOptions, cx: SourceContext) -> Result<(), BybitError> {
    let SourceContext {
        events,
        shutdown,
        health,
        resume,
        ..
    } = cx;
    let counters = Arc::clone(&options.counters);
    let rest = RestOptions::new(&options.rest_url, options.clock);
    let client = RestClient::with_counters(rest, Arc::clone(&counters.rest))?;
    let Some(symbols) = first_discovery(&client, &options, &shutdown).await else {
        return Ok(());
    };
    let plan = options.warmup;
    let oi_every = options.open_interest_every.as_millis() as TimeMs;
    let mut lanes = Lanes::new(oi_every, options.late.as_millis() as TimeMs);
    let lookback = plan.heat_bars() as TimeMs * Interval::M5.duration_ms();
    let now = client.now();
    let mut jobs = VecDeque::new();
    let mut restart = Out::default();
    for s in &symbols {
        match resume.get(s) {
            Some(&last) if last % Interval::M5.duration_ms() == 0 && now - last <= lookback => {
                lanes.resume(s, last, now, &mut restart);
                jobs.push_back((s.clone(), false));
            }
            _ => {
                lanes.follow(s);
                jobs.push_back((s.clone(), true));
            }
        }
    }
    counters
        .pairs
        .store(symbols.len() as u64, Ordering::Relaxed);
    let resumed = jobs.iter().filter(|(_, cold)| !cold).count();
    info!(
        venue = "bybit",
        pairs = symbols.len(),
        resumed,
        "Following pairs."
    );
    let book = Mutex::new(TickerBook::default());
    let (tx, rx) = mpsc::channel(1024);
    let ws = WsOptions::new(
        &options.ws_url,
        options.streams_per_connection,
        options.clock,
    );
    let stop = shutdown.child_token();
    let mut live = Live {
        client: &client,
        counters: &counters,
        plan,
        inputs: events,
        lanes,
        holes: VecDeque::new(),
        health,
        book: &book,
        oi_every: options.open_interest_every,
    };
    let streams = run_streams(&ws, &symbols, &book, &counters.stream, tx, stop.clone());
    let drive = async {
        if live.send(restart).await {
            live.drive(jobs, rx, &shutdown).await;
        }
        // The engine is gone or we were told to stop: the streams stop too.
        stop.cancel();
    };
    tokio::join!(streams, drive);
    Ok(())
}

/// The followed pairs, sorted, or `None` at shutdown; retried until it works (an outage at
/// start must not end the daemon).
async fn first_discovery(
    client: &RestClient,
    options: &BybitOptions,
    shutdown: &CancellationToken,
) -> Option<Vec<Symbol>> {
    loop {
        let listed = tokio::select! {
            () = shutdown.cancelled() => return None,
            listed = client.instruments() => listed,
        };
        match listed {
            Ok(listings) => return Some(select(&listings, options)),
            Err(e) => {
                error!(venue = "bybit", error = %e, retry_in_s = DISCOVERY_RETRY.as_secs(), "Discovery failed; retrying.");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return None,
            () = tokio::time::sleep(client.clock().wall(DISCOVERY_RETRY)) => {}
        }
    }
}

/// The trading USDT perpetuals among `listings`, narrowed to `options.pairs` and `max_pairs`.
fn select(listings: &[super::wire::Listing], options: &BybitOptions) -> Vec<Symbol> {
    let wanted: Vec<String> = (options.pairs.iter())
        .map(|p| {
            let p = p.trim().to_ascii_uppercase();
            p.strip_prefix("BYBIT:").map_or(p.clone(), str::to_owned)
        })
        .collect();
    let mut symbols: Vec<Symbol> = (listings.iter())
        .filter(|l| is_usdt_perpetual(l))
        .filter(|l| wanted.is_empty() || wanted.contains(&l.symbol.name().to_owned()))
        .map(|l| l.symbol.clone())
        .collect();
    symbols.sort();
    symbols.dedup();
    if let Some(max) = options.max_pairs {
        symbols.truncate(max);
    }
    symbols
}

struct Live<'a> {
    client: &'a RestClient,
    counters: &'a BybitCounters,
    plan: WarmupPlan,
    inputs: mpsc::Sender<crate::source::Batch>,
    lanes: Lanes,
    /// Holes waiting for one of the [`CONCURRENCY`] back-fill slots, in the order found.
    holes: VecDeque<Hole>,
    health: Arc<SourceHealth>,
    book: &'a Mutex<TickerBook>,
    oi_every: Duration,
}

/// A pair's start: its margin tier and, when `cold`, its warm-up.
async fn start_pair(
    client: &RestClient,
    plan: WarmupPlan,
    symbol: Symbol,
    cold: bool,
) -> (Symbol, bool, Result<Vec<SymbolEvent>, RestError>) {
    let now = client.now();
    let mut events = Vec::new();
    match margin(client, &symbol, now).await {
        Ok(m) => events.extend(m),
        // The heatmap falls back to its default tier; not worth failing the warm-up for.
        Err(e) => {
            warn!(venue = "bybit", symbol = symbol.as_str(), error = %e, "No margin tier for a pair.")
        }
    }
    if cold {
        match warm_pair(client, &symbol, &plan, now).await {
            Ok(warm) => events.extend(warm),
            Err(e) => return (symbol, cold, Err(e)),
        }
    }
    (symbol, cold, Ok(events))
}

async fn fill(client: &RestClient, hole: Hole) -> (Hole, Vec<SymbolEvent>) {
    let (symbol, from, to) = (hole.symbol.as_str(), hole.from, hole.to);
    match backfill(client, &hole.symbol, from, to).await {
        Ok(bars) => {
            info!(venue = "bybit", symbol, bars = bars.len(), from = %format_utc(from), to = %format_utc(to), "Back-filled missed bars.");
            (hole, bars)
        }
        Err(e) => {
            error!(venue = "bybit", symbol, error = %e, "Back-fill failed; the series keeps a hole.");
            (hole, Vec::new())
        }
    }
}

/// The next poll: a few seconds after the next multiple of `every`.
fn next_poll(now: TimeMs, every: Duration) -> TimeMs {
    let every = (every.as_millis() as TimeMs).max(1);
    (now / every + 1) * every + OI_DELAY_MS
}

impl Live<'_> {
    async fn drive(
        &mut self,
        mut jobs: VecDeque<(Symbol, bool)>,
        mut streams: mpsc::Receiver<StreamEvent>,
        shutdown: &CancellationToken,
    ) {
        let (client, clock) = (self.client, self.client.clock());
        let mut starts = FuturesUnordered::new();
        let mut fills = FuturesUnordered::new();
        let mut retry: Vec<Symbol> = Vec::new();
        let mut retry_at: Option<TimeMs> = None;
        let mut ready = false;
        let mut next_oi = next_poll(client.now(), self.oi_every);
        let mut next_overdue = self.lanes.next_overdue_check(client.now());
        loop {
            while starts.len() < CONCURRENCY
                && let Some((symbol, cold)) = jobs.pop_front()
            {
                starts.push(start_pair(client, self.plan, symbol, cold));
            }
            while fills.len() < CONCURRENCY
                && let Some(hole) = self.holes.pop_front()
            {
                fills.push(fill(client, hole));
            }
            if !ready && starts.is_empty() && jobs.is_empty() {
                ready = true;
                self.health.set_ready();
            }
            let hold = self.lanes.deadline();
            let mut out = Out::default();
            tokio::select! {
                () = shutdown.cancelled() => return,
                Some((symbol, cold, result)) = starts.next() => {
                    let now = client.now();
                    if let Ok(events) = &result {
                        self.count_margins(events);
                    }
                    match result {
                        Ok(events) if cold => self.lanes.warmed(&symbol, events, now, &mut out),
                        Ok(events) => {
                            for e in events {
                                self.lanes.push(e, now, &mut out);
                            }
                        }
                        Err(e) => {
                            self.counters.warmups_failed.fetch_add(1, Ordering::Relaxed);
                            warn!(venue = "bybit", symbol = symbol.as_str(), error = %e, retry_in_s = WARMUP_RETRY.as_secs(), "Warm-up failed; the pair stays cold until it is retried.");
                            retry.push(symbol);
                            retry_at.get_or_insert(now + WARMUP_RETRY.as_millis() as TimeMs);
                        }
                    }
                }
                event = streams.recv() => match event {
                    Some(event) => self.on_stream(event, &mut out),
                    None => return,
                },
                Some((hole, bars)) = fills.next() => {
                    self.counters.bars_backfilled.fetch_add(bars.len() as u64, Ordering::Relaxed);
                    self.lanes.filled(&hole, bars, client.now(), &mut out);
                }
                () = tokio::time::sleep(clock.until(next_oi)) => {
                    let close = next_oi - OI_DELAY_MS;
                    next_oi = next_poll(client.now(), self.oi_every);
                    let polled = self.poll(close);
                    self.lanes.polled(close, polled, client.now(), &mut out);
                }
                () = tokio::time::sleep(hold.map_or(IDLE, |t| clock.until(t))), if hold.is_some() => {
                    self.lanes.expire(client.now(), &mut out);
                }
                () = tokio::time::sleep(clock.until(next_overdue)) => {
                    let now = client.now();
                    self.lanes.overdue(now, &mut out);
                    next_overdue = self.lanes.next_overdue_check(now);
                }
                () = tokio::time::sleep(retry_at.map_or(IDLE, |t| clock.until(t))), if retry_at.is_some() => {
                    retry_at = None;
                    jobs.extend(retry.drain(..).filter(|s| self.lanes.is_warming(s)).map(|s| (s, true)));
                }
            }
            if !self.send(out).await {
                return;
            }
        }
    }

    fn count_margins(&self, events: &[SymbolEvent]) {
        let n = events
            .iter()
            .filter(|e| matches!(e.event, MarketEvent::Margin(_)))
            .count();
        self.counters.margins.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Open interest of every warm pair from the merged tickers, stamped at `close`.
    fn poll(&self, close: TimeMs) -> Vec<SymbolEvent> {
        let book = self.book.lock().unwrap_or_else(PoisonError::into_inner);
        (self.lanes.warm().into_iter())
            .filter_map(|symbol| {
                let oi = book.open_interest(&symbol, close)?;
                Some(SymbolEvent {
                    symbol,
                    event: MarketEvent::OpenInterest(oi),
                })
            })
            .collect()
    }

    fn on_stream(&mut self, event: StreamEvent, out: &mut Out) {
        self.health.data_received(wall_ms());
        let now = self.client.now();
        match event {
            StreamEvent::Events(events) => {
                for e in events {
                    self.lanes.push(e, now, out);
                }
            }
            StreamEvent::Reconnected {
                symbols,
                down_since,
            } => {
                info!(venue = "bybit", pairs = symbols.len(), down_since = %format_utc(down_since), "Streams back after an outage; back-filling the bars missed.");
                self.lanes.overdue(now, out);
            }
        }
    }

    /// Hands `out` on: its events to the engine, its holes to the back-fill queue. False when
    /// the engine is gone.
    async fn send(&mut self, out: Out) -> bool {
        (self.counters.gaps).fetch_add(out.holes.len() as u64, Ordering::Relaxed);
        self.holes.extend(out.holes);
        out.events.is_empty() || self.inputs.send(out.events).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::bybit::wire::parse_instruments;

    #[test]
    fn the_poll_follows_each_close() {
        let five = Duration::from_secs(300);
        for (now, want) in [(0, 305_000), (299_999, 305_000), (300_000, 605_000)] {
            assert_eq!(next_poll(now, five), want, "now {now}");
        }
    }

    #[test]
    fn discovery_keeps_trading_usdt_perpetuals_as_asked() {
        let body = crate::source::bybit::wire::tests_support::INSTRUMENTS;
        let listings = parse_instruments(body).unwrap().items;
        let mut options = BybitOptions::new("http://x", "ws://x");
        // One line per case: pairs asked for, max, what is followed.
        #[rustfmt::skip]
        let cases: [(&[&str], Option<usize>, &[&str]); 4] = [
            (&[], None, &["BYBIT:1000PEPEUSDT", "BYBIT:BTCUSDT"]),
            (&["btcusdt"], None, &["BYBIT:BTCUSDT"]),
            (&["BYBIT:1000PEPEUSDT", "OLDUSDT"], None, &["BYBIT:1000PEPEUSDT"]),
            (&[], Some(1), &["BYBIT:1000PEPEUSDT"]),
        ];
        for (pairs, max, want) in cases {
            options.pairs = pairs.iter().map(|p| p.to_string()).collect();
            options.max_pairs = max;
            let got: Vec<String> = select(&listings, &options)
                .iter()
                .map(|s| s.to_string())
                .collect();
            assert_eq!(got, want, "{pairs:?}");
        }
    }
}
