//! The live OKX source: discovery, each pair's margin tier, warm-up, the streams, hole back-fill
//! and the 5-minute open-interest poll, fed to the engine in the order `lanes` keeps per pair.
//! Owns what runs when — warm-ups, back-fills and polls beside the streams, each bounded — and
//! must never spawn: everything runs inside the one future the supervisor spawns. Time is market
//! time from the options' [`Clock`].

mod jobs;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::rest::{RestClient, RestError, RestOptions};
use super::warmup::{CONCURRENCY, heat_bars, poll_open_interest};
use super::wire::Contract;
use super::ws::{Counters, WsConfig, WsEvent, follow_streams};
use crate::clock::{Clock, wall_ms};
use crate::model::{Interval, MarketEvent, Symbol, TimeMs, Venue};
use crate::source::lanes::{Hole, Lanes, Out};
use crate::source::{Batch, SourceContext, SourceHealth};
use jobs::{OI_DELAY_MS, fill, next_poll, resumed_margins, warm};

/// OKX's live REST base URL.
pub const REST_URL: &str = "https://www.okx.com";
/// OKX's live public WebSocket; candles go to the `/business` URL beside it.
pub const WS_URL: &str = "wss://ws.okx.com:8443/ws/v5/public";
/// How a failed discovery waits before the next try (market time).
const DISCOVERY_RETRY: Duration = Duration::from_secs(30);
/// How long pairs whose warm-up failed wait before it is tried again (market time).
const WARMUP_RETRY: Duration = Duration::from_secs(300);
const IDLE: Duration = Duration::from_secs(3600);
/// How often the universe is looked at again: listings join, delistings leave (market time).
const DISCOVERY_EVERY: Duration = Duration::from_secs(3600);
/// OKX pushes a changing mark price every 200 ms; the engine gets at most one per second per
/// pair, as Binance's `@1s` mark stream gives it.
const MARK_EVERY_MS: TimeMs = 1000;

/// What the OKX source needs besides its [`SourceContext`].
#[derive(Debug, Clone)]
pub struct OkxOptions {
    pub rest_url: String,
    pub ws_url: String,
    /// Canonical names to follow (`BTCUSDT`); empty = every live USDT swap.
    pub pairs: Vec<String>,
    pub max_pairs: Option<usize>,
    pub clock: Clock,
    /// A 5m bar the stream has not delivered this long after its close is fetched over REST.
    pub late: Duration,
    /// Subscriptions per WebSocket link.
    pub streams_per_connection: usize,
    pub open_interest_every: Duration,
}

impl OkxOptions {
    /// OKX's real defaults at `rest_url` and `ws_url` (the public WebSocket URL).
    pub fn new(rest_url: &str, ws_url: &str) -> OkxOptions {
        OkxOptions {
            rest_url: rest_url.to_owned(),
            ws_url: ws_url.to_owned(),
            pairs: Vec::new(),
            max_pairs: None,
            clock: Clock::Wall,
            late: Duration::from_secs(30),
            streams_per_connection: 200,
            open_interest_every: Duration::from_secs(300),
        }
    }
}

/// Why the OKX source could not run at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OkxError {
    #[error("OKX source: {0}")]
    Rest(#[from] RestError),
}

impl OkxError {
    /// Whether running it again later may work (never: these are configuration errors).
    pub fn is_retriable(&self) -> bool {
        false
    }
}

/// Follows the selected pairs until `cx.shutdown`, with fresh counters.
pub async fn run_okx(options: OkxOptions, cx: SourceContext) -> Result<(), OkxError> {
    run_okx_counted(options, cx, Arc::new(Counters::default())).await
}

/// [`run_okx`] counting into `counters` (for whoever exposes them). Pairs of `cx.resume` whose
/// last 5m bar is within the heatmap lookback skip their warm-up: the hole since is back-filled
/// (a `Gap` and the bars) before their live events. Errors only when the REST base URL is
/// unusable; connection failures are retried inside.
pub async fn run_okx_counted(
    options: OkxOptions,
    cx: SourceContext,
    counters: Arc<Counters>,
) -> Result<(), OkxError> {
    let SourceContext {
        events: inputs,
        shutdown,
        health,
        resume,
        ..
    } = cx;
    let client = RestClient::new(RestOptions::new(&options.rest_url, options.clock))?;
    let Some(contracts) = first_discovery(&client, &options, &shutdown).await? else {
        return Ok(());
    };
    let oi_every = options.open_interest_every.as_millis() as TimeMs;
    let mut lanes = Lanes::new(oi_every, options.late.as_millis() as TimeMs);
    let lookback = heat_bars() as TimeMs * Interval::M5.duration_ms();
    let now = client.now();
    let (mut cold, mut resumed) = (Vec::new(), Vec::new());
    let mut restart = Out::default();
    for c in &contracts {
        match resume.get(&c.symbol) {
            Some(&last) if last % Interval::M5.duration_ms() == 0 && now - last <= lookback => {
                lanes.resume(&c.symbol, last, now, &mut restart);
                resumed.push(c.clone());
            }
            _ => {
                lanes.follow(&c.symbol);
                cold.push(c.clone());
            }
        }
    }
    let (pairs, warm) = (contracts.len(), resumed.len());
    info!(venue = "okx", pairs, resumed = warm, "Following pairs.");
    let (stream_tx, stream_rx) = mpsc::channel(1024);
    let config = WsConfig::new(
        &options.ws_url,
        options.streams_per_connection,
        options.clock,
    );
    let (followed_tx, followed_rx) = watch::channel(contracts.clone());
    let streams = follow_streams(
        config,
        Arc::clone(&counters),
        followed_rx,
        stream_tx,
        shutdown.clone(),
    );
    (counters.gaps).fetch_add(restart.holes.len() as u64, Ordering::Relaxed);
    let mut live = Live {
        client: &client,
        counters,
        inputs,
        contracts,
        lanes,
        holes: restart.holes.into(),
        retry: BTreeSet::new(),
        retry_at: None,
        health,
        every: options.open_interest_every,
        last_mark: HashMap::new(),
        followed: followed_tx,
        pairs: options.pairs.clone(),
        max_pairs: options.max_pairs,
    };
    let drive = live.drive(cold, resumed, stream_rx, shutdown.clone());
    tokio::join!(streams, drive);
    Ok(())
}

/// Discovery until it works or shutdown; `Err` only for an unusable base URL.
async fn first_discovery(
    client: &RestClient,
    options: &OkxOptions,
    shutdown: &CancellationToken,
) -> Result<Option<Vec<Contract>>, OkxError> {
    loop {
        let discovered = tokio::select! {
            () = shutdown.cancelled() => return Ok(None),
            d = discover(client, &options.pairs, options.max_pairs) => d,
        };
        match discovered {
            Ok(contracts) => return Ok(Some(contracts)),
            Err(e) if e.is_fatal() => return Err(e.into()),
            Err(e) => {
                error!(venue = "okx", error = %e, retry_in_s = DISCOVERY_RETRY.as_secs(), "Discovery failed; retrying.");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(client.clock().wall(DISCOVERY_RETRY)) => {}
            () = shutdown.cancelled() => return Ok(None),
        }
    }
}

/// The live USDT swaps to follow: the named ones (canonical names, any case) or all, in symbol
/// order, at most `max_pairs`.
pub async fn discover(
    client: &RestClient,
    pairs: &[String],
    max_pairs: Option<usize>,
) -> Result<Vec<Contract>, RestError> {
    let (mut contracts, dropped) = client.instruments().await?;
    for e in &dropped {
        warn!(venue = "okx", error = %e, "Skipped an instrument OKX listed.");
    }
    if !pairs.is_empty() {
        let wanted: BTreeSet<Symbol> = (pairs.iter())
            .filter_map(|p| Symbol::on(Venue::Okx, p).ok())
            .collect();
        contracts.retain(|c| wanted.contains(&c.symbol));
        let missing: Vec<&str> = (wanted.iter())
            .filter(|s| !contracts.iter().any(|c| &c.symbol == *s))
            .map(Symbol::as_str)
            .collect();
        if !missing.is_empty() {
            let missing = missing.join(", ");
            warn!(
                venue = "okx",
                missing, "Pairs not listed as live USDT swaps on OKX; not followed."
            );
        }
    }
    contracts.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    contracts.dedup_by(|a, b| a.symbol == b.symbol);
    if let Some(max) = max_pairs {
        contracts.truncate(max);
    }
    Ok(contracts)
}

struct Live<'a> {
    client: &'a RestClient,
    counters: Arc<Counters>,
    inputs: mpsc::Sender<Batch>,
    contracts: Vec<Contract>,
    lanes: Lanes,
    holes: VecDeque<Hole>,
    retry: BTreeSet<Symbol>,
    retry_at: Option<TimeMs>,
    health: Arc<SourceHealth>,
    every: Duration,
    /// The time of the last mark price passed on, per pair.
    last_mark: HashMap<Symbol, TimeMs>,
    /// The contracts the streams follow.
    followed: watch::Sender<Vec<Contract>>,
    pairs: Vec<String>,
    max_pairs: Option<usize>,
}

impl Live<'_> {
    async fn drive(
        &mut self,
        cold: Vec<Contract>,
        resumed: Vec<Contract>,
        mut streams: mpsc::Receiver<WsEvent>,
        shutdown: CancellationToken,
    ) {
        let (client, clock) = (self.client, self.client.clock());
        let (warm_tx, mut warm_rx) = mpsc::channel::<Batch>(4);
        let mut warmups = FuturesUnordered::new();
        warmups.push(warm(client, cold, warm_tx.clone()));
        let mut margins = FuturesUnordered::new();
        margins.push(resumed_margins(client, resumed));
        let mut fills = FuturesUnordered::new();
        let mut polls = FuturesUnordered::new();
        let mut next_oi = next_poll(client.now(), self.every);
        let mut next_overdue = self.lanes.next_overdue_check(client.now());
        let mut next_discovery = client.now() + DISCOVERY_EVERY.as_millis() as TimeMs;
        loop {
            while fills.len() < CONCURRENCY
                && let Some(hole) = self.holes.pop_front()
            {
                let contract = self
                    .contracts
                    .iter()
                    .find(|c| c.symbol == hole.symbol)
                    .cloned();
                fills.push(fill(client, contract, hole));
            }
            let hold = self.lanes.deadline();
            let mut out = Out::default();
            tokio::select! {
                () = shutdown.cancelled() => return,
                Some(input) = warm_rx.recv() => self.warmed(input, &mut out),
                Some(outcomes) = warmups.next() => {
                    while let Ok(input) = warm_rx.try_recv() {
                        self.warmed(input, &mut out);
                    }
                    self.warm_done(&outcomes, &mut out);
                }
                Some(events) = margins.next() => {
                    let now = client.now();
                    for e in events {
                        self.lanes.push(e, now, &mut out);
                    }
                }
                event = streams.recv() => match event {
                    Some(event) => self.on_stream(event, &mut out),
                    None => return,
                },
                Some((hole, bars)) = fills.next() => {
                    let filled = bars.len() as u64;
                    self.counters.bars_backfilled.fetch_add(filled, Ordering::Relaxed);
                    self.lanes.filled(&hole, bars, client.now(), &mut out);
                }
                Some((close, events)) = polls.next() => {
                    self.lanes.polled(close, events, client.now(), &mut out);
                }
                () = tokio::time::sleep(clock.until(next_oi)) => {
                    let close = next_oi - OI_DELAY_MS;
                    next_oi = next_poll(client.now(), self.every);
                    let warm = self.lanes.warm();
                    let contracts: Vec<Contract> = (self.contracts.iter())
                        .filter(|c| warm.binary_search(&c.symbol).is_ok())
                        .cloned()
                        .collect();
                    polls.push(async move { (close, poll_open_interest(client, contracts, close).await) });
                }
                () = tokio::time::sleep(hold.map_or(IDLE, |t| clock.until(t))), if hold.is_some() => {
                    self.lanes.expire(client.now(), &mut out);
                }
                () = tokio::time::sleep(clock.until(next_overdue)) => {
                    let now = client.now();
                    self.lanes.overdue(now, &mut out);
                    next_overdue = self.lanes.next_overdue_check(now);
                }
                () = tokio::time::sleep(clock.until(next_discovery)) => {
                    next_discovery = client.now() + DISCOVERY_EVERY.as_millis() as TimeMs;
                    if let Some(added) = self.rediscover().await {
                        warmups.push(warm(client, added, warm_tx.clone()));
                    }
                }
                () = tokio::time::sleep(self.retry_at.map_or(IDLE, |t| clock.until(t))), if self.retry_at.is_some() => {
                    self.retry_at = None;
                    let retry = std::mem::take(&mut self.retry);
                    let contracts: Vec<Contract> = (self.contracts.iter())
                        .filter(|c| retry.contains(&c.symbol) && self.lanes.is_warming(&c.symbol))
                        .cloned()
                        .collect();
                    if !contracts.is_empty() {
                        warmups.push(warm(client, contracts, warm_tx.clone()));
                    }
                }
            }
            if !self.send(out).await {
                return;
            }
        }
    }

    /// Hands `out` on: events to the engine, holes to the back-fill queue. False when the
    /// engine is gone.
    async fn send(&mut self, out: Out) -> bool {
        (self.counters.gaps).fetch_add(out.holes.len() as u64, Ordering::Relaxed);
        self.holes.extend(out.holes);
        out.events.is_empty() || self.inputs.send(out.events).await.is_ok()
    }

    fn warmed(&mut self, events: Batch, out: &mut Out) {
        if let Some(symbol) = events.first().map(|e| e.symbol.clone()) {
            self.lanes.warmed(&symbol, events, self.client.now(), out);
        }
    }

    /// A warm-up round ended: the source is ready; failed pairs are retried later.
    fn warm_done(&mut self, outcomes: &[(Symbol, bool)], out: &mut Out) {
        self.health.set_ready();
        for (symbol, ok) in outcomes {
            if !self.lanes.is_warming(symbol) {
                continue;
            }
            if *ok {
                // Warmed without a single event: nothing to wait for.
                self.lanes
                    .warmed(symbol, Vec::new(), self.client.now(), out);
            } else {
                self.retry.insert(symbol.clone());
            }
        }
        if !self.retry.is_empty() {
            self.retry_at = Some(self.client.now() + WARMUP_RETRY.as_millis() as TimeMs);
            let (cold, retry_in_s) = (self.retry.len(), WARMUP_RETRY.as_secs());
            warn!(
                venue = "okx",
                cold, retry_in_s, "Pairs stay cold until their warm-up is retried."
            );
        }
    }

    /// A new look at the universe: pairs that left are forgotten, pairs that joined are followed
    /// (and returned, to be warmed); the streams follow the new set.
    async fn rediscover(&mut self) -> Option<Vec<Contract>> {
        let contracts = match discover(self.client, &self.pairs, self.max_pairs).await {
            Ok(c) => c,
            Err(e) => {
                warn!(venue = "okx", error = %e, "Re-discovery failed; keeping the current pairs.");
                return None;
            }
        };
        let known: BTreeSet<&Symbol> = self.contracts.iter().map(|c| &c.symbol).collect();
        let now: BTreeSet<&Symbol> = contracts.iter().map(|c| &c.symbol).collect();
        let added: Vec<Contract> = (contracts.iter())
            .filter(|c| !known.contains(&c.symbol))
            .cloned()
            .collect();
        let removed: Vec<Symbol> = (self.contracts.iter())
            .filter(|c| !now.contains(&c.symbol))
            .map(|c| c.symbol.clone())
            .collect();
        if added.is_empty() && removed.is_empty() {
            return None;
        }
        let (joined, left) = (added.len(), removed.len());
        info!(
            venue = "okx",
            added = joined,
            removed = left,
            "The universe changed."
        );
        for symbol in &removed {
            self.lanes.forget(symbol);
            self.retry.remove(symbol);
            self.last_mark.remove(symbol);
        }
        for c in &added {
            self.lanes.follow(&c.symbol);
        }
        self.contracts = contracts;
        self.followed.send_replace(self.contracts.clone());
        (!added.is_empty()).then_some(added)
    }

    fn on_stream(&mut self, event: WsEvent, out: &mut Out) {
        self.health.data_received(wall_ms());
        match event {
            WsEvent::Events(events) => {
                let now = self.client.now();
                for e in events {
                    if let MarketEvent::Mark(m) = &e.event {
                        let last = self
                            .last_mark
                            .entry(e.symbol.clone())
                            .or_insert(TimeMs::MIN);
                        if m.time < last.saturating_add(MARK_EVERY_MS) {
                            continue;
                        }
                        *last = m.time;
                    }
                    self.lanes.push(e, now, out);
                }
            }
            WsEvent::Reconnected { .. } => self.lanes.overdue(self.client.now(), out),
        }
    }
}
