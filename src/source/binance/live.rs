//! The live Binance source: discovery, warm-up, the market streams, gap back-fill, the 5-minute
//! open-interest poll, the hourly re-discovery and, when `[spot]` is on, the spot klines, fed to
//! the engine in order (the order per pair is the `lanes` module's). Owns what runs when —
//! warm-ups, back-fills and polls side by side with the streams, each bounded — and must never
//! spawn: everything runs inside the one future the supervisor spawns. Time is market time from
//! the REST client's [`Clock`].
mod jobs;

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::discovery::{diff, discover};
use super::rest::{RestClient, RestError, RestMeter, RestOptions};
use super::spot;
use super::warmup::{CONCURRENCY, PairWarmup, WarmupPlan};
use super::wire::Contract;
use super::ws::{Counters, FeedMeter, StreamEvent, WsConfig, run_streams};
use crate::clock::{Clock, wall_ms};
use crate::config::{BinanceConfig, Config};
use crate::model::{Interval, Symbol, TimeMs, format_utc};
use crate::source::lanes::{Hole, Lanes, Out};
use crate::source::{Batch, SourceContext, SourceHealth};
use jobs::{OI_DELAY_MS, fill, next_poll, poll, warm};

/// How a failed discovery waits before the next try (market time).
const DISCOVERY_RETRY: Duration = Duration::from_secs(30);
/// How long pairs whose warm-up failed wait before it is tried again (market time).
const WARMUP_RETRY: Duration = Duration::from_secs(300);
/// A select arm that is off still needs a timer.
const IDLE: Duration = Duration::from_secs(3600);

/// What the live source needs beyond the config and its [`SourceContext`].
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// The market clock: always [`Clock::Wall`] for the daemon; tests accelerate it.
    pub clock: Clock,
    /// The streams' endpoint and timings (Binance's for the daemon; tests shorten them).
    pub ws: WsConfig,
    /// A 5m bar the stream has not delivered this long after its close is fetched over REST
    /// (market time; at least 30 s, for REST to have it final).
    pub late: Duration,
}

impl LiveOptions {
    /// The daemon's options: the wall clock and Binance's stream timings.
    pub fn new(config: &BinanceConfig) -> LiveOptions {
        LiveOptions {
            clock: Clock::Wall,
            ws: WsConfig::new(&config.ws_url, config.streams_per_connection),
            late: Duration::from_secs(30),
        }
    }
}

/// Follows every selected pair until `cx.shutdown`. Pairs of `cx.resume` whose last 5m bar is
/// within the warm-up lookback skip their warm-up: the hole since is back-filled at start (a
/// `Gap` and the bars) before their live events flow. Errors only when the very first discovery
/// is impossible (a bad base URL); connection failures are retried inside. The streams'
/// counters and the REST client's budget are reported in `cx.metrics`.
pub async fn run_live(
    config: &Config,
    cx: SourceContext,
    options: LiveOptions,
) -> Result<(), RestError> {
    let SourceContext {
        events: inputs,
        shutdown,
        health,
        metrics,
        resume,
    } = cx;
    let rest = RestOptions {
        clock: options.clock,
        ..RestOptions::from_config(&config.binance)
    };
    let client = RestClient::new(rest)?;
    let counters = Arc::new(Counters::default());
    metrics.register(|registry| {
        FeedMeter::register(registry, Arc::clone(&counters));
        RestMeter::register(registry, client.clone());
    });
    let Some(contracts) = first_discovery(&client, config, shutdown.clone()).await else {
        return Ok(());
    };
    let plan = WarmupPlan::from_config(config);
    let oi_every = config.binance.open_interest_interval.as_millis() as TimeMs;
    let mut lanes = Lanes::new(oi_every, options.late.as_millis() as TimeMs);
    let lookback = plan.heat_bars() as TimeMs * Interval::M5.duration_ms();
    let now = client.now();
    let mut cold = Vec::new();
    let mut restart = Out::default();
    for c in &contracts {
        match resume.get(&c.symbol) {
            Some(&last) if last % Interval::M5.duration_ms() == 0 && now - last <= lookback => {
                lanes.resume(&c.symbol, last, now, &mut restart);
            }
            _ => {
                lanes.follow(&c.symbol);
                cold.push(c.clone());
            }
        }
    }
    let symbols: Vec<Symbol> = contracts.iter().map(|c| c.symbol.clone()).collect();
    let (pairs, resumed) = (symbols.len(), symbols.len() - cold.len());
    info!(venue = "binance", pairs, resumed, "Following pairs.");
    let (symbols_tx, symbols_rx) = watch::channel(symbols);
    let (stream_tx, stream_rx) = mpsc::channel(1024);
    let spot_ws = spot::spot_ws(config, &options.ws);
    let (spot_inputs, spot_perps, stop) = (inputs.clone(), contracts.clone(), shutdown.clone());
    let (clock, late) = (options.clock, options.late);
    // Off unless configured; beside the perpetuals in this one future, never spawned.
    let spot = async move {
        if config.spot.enabled {
            spot::run_spot(config, &spot_perps, clock, spot_ws, late, spot_inputs, stop).await;
        }
    };
    let streams = run_streams(
        options.ws,
        Arc::clone(&counters),
        symbols_rx,
        stream_tx,
        shutdown.clone(),
    );
    counters
        .gaps
        .fetch_add(restart.holes.len() as u64, Ordering::Relaxed);
    let mut live = Live {
        config,
        client: &client,
        counters,
        plan,
        inputs,
        contracts,
        symbols: symbols_tx,
        lanes,
        holes: restart.holes.into(),
        retry: BTreeSet::new(),
        retry_at: None,
        health,
    };
    tokio::join!(streams, live.drive(cold, stream_rx, shutdown), spot);
    Ok(())
}

/// Discovery until it works or shutdown: the daemon is useless without its pairs, but a
/// transient outage at start must not end it.
async fn first_discovery(
    client: &RestClient,
    config: &Config,
    shutdown: CancellationToken,
) -> Option<Vec<Contract>> {
    loop {
        let discovered = tokio::select! {
            // A request cut short by shutdown is not a failure worth an error line.
            () = shutdown.cancelled() => return None,
            discovered = discover(client, &config.symbols) => discovered,
        };
        match discovered {
            Ok(contracts) => return Some(contracts),
            Err(e) => {
                error!(venue = "binance", error = %e, retry_in_s = DISCOVERY_RETRY.as_secs(), "Discovery failed; retrying.")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(client.clock().wall(DISCOVERY_RETRY)) => {}
            () = shutdown.cancelled() => return None,
        }
    }
}

struct Live<'a> {
    config: &'a Config,
    client: &'a RestClient,
    /// The streams' counters; the back-filled bars are counted here too.
    counters: Arc<Counters>,
    plan: WarmupPlan,
    /// The engine's input. A full channel makes the source wait; a closed one ends it.
    inputs: mpsc::Sender<Batch>,
    contracts: Vec<Contract>,
    /// The pairs the streams follow.
    symbols: watch::Sender<Vec<Symbol>>,
    lanes: Lanes,
    /// Holes waiting for one of the [`CONCURRENCY`] back-fill slots, in the order found.
    holes: VecDeque<Hole>,
    /// Pairs whose warm-up failed: warmed again at `retry_at` (or a re-discovery before it).
    retry: BTreeSet<Symbol>,
    retry_at: Option<TimeMs>,
    /// Told when the first warm-up is done and whenever data arrives (systemd's watchdog).
    health: Arc<SourceHealth>,
}

impl Live<'_> {
    async fn drive(
        &mut self,
        cold: Vec<Contract>,
        mut streams: mpsc::Receiver<StreamEvent>,
        shutdown: CancellationToken,
    ) {
        let (client, clock) = (self.client, self.client.clock());
        let (warm_tx, mut warm_rx) = mpsc::channel::<Batch>(4);
        let mut warmups = FuturesUnordered::new();
        warmups.push(warm(client, self.plan, cold, warm_tx.clone()));
        let mut fills = FuturesUnordered::new();
        let mut polls = FuturesUnordered::new();
        let every = self.config.binance.open_interest_interval;
        let mut next_oi = next_poll(client.now(), every);
        let mut discovery =
            tokio::time::interval(clock.wall(self.config.binance.discovery_interval));
        discovery.tick().await;
        let mut next_overdue = self.lanes.next_overdue_check(client.now());
        loop {
            while fills.len() < CONCURRENCY
                && let Some(hole) = self.holes.pop_front()
            {
                fills.push(fill(client, hole));
            }
            let hold = self.lanes.deadline();
            let mut out = Out::default();
            tokio::select! {
                () = shutdown.cancelled() => return,
                Some(input) = warm_rx.recv() => self.warmed(input, &mut out),
                Some(outcomes) = warmups.next() => {
                    // Its last pairs' events are in the channel: they go first.
                    while let Ok(input) = warm_rx.try_recv() {
                        self.warmed(input, &mut out);
                    }
                    self.warm_done(&outcomes, &mut out);
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
                    next_oi = next_poll(client.now(), every);
                    polls.push(poll(client, self.lanes.warm(), close));
                }
                () = tokio::time::sleep(hold.map_or(IDLE, |t| clock.until(t))), if hold.is_some() => {
                    self.lanes.expire(client.now(), &mut out);
                }
                () = tokio::time::sleep(clock.until(next_overdue)) => {
                    let now = client.now();
                    self.lanes.overdue(now, &mut out);
                    next_overdue = self.lanes.next_overdue_check(now);
                }
                () = tokio::time::sleep(self.retry_at.map_or(IDLE, |t| clock.until(t))), if self.retry_at.is_some() => {
                    self.retry_at = None;
                    let contracts = self.take_retry();
                    if !contracts.is_empty() {
                        warmups.push(warm(client, self.plan, contracts, warm_tx.clone()));
                    }
                }
                _ = discovery.tick() => {
                    if let Some(contracts) = self.rediscover().await {
                        warmups.push(warm(client, self.plan, contracts, warm_tx.clone()));
                    }
                }
            }
            if !self.send(out).await {
                return;
            }
        }
    }

    /// Hands `out` on: its events to the engine, its holes to the back-fill queue. False when
    /// the engine is gone.
    async fn send(&mut self, out: Out) -> bool {
        // Holes are found here only (the streams declare none), so here they are counted.
        (self.counters.gaps).fetch_add(out.holes.len() as u64, Ordering::Relaxed);
        self.holes.extend(out.holes);
        out.events.is_empty() || self.inputs.send(out.events).await.is_ok()
    }

    /// A pair's warm-up events: to the engine, then the live events it gathered meanwhile.
    fn warmed(&mut self, events: Batch, out: &mut Out) {
        if let Some(symbol) = events.first().map(|e| e.symbol.clone()) {
            self.lanes.warmed(&symbol, events, self.client.now(), out);
        }
    }

    /// A warm-up round ended: the source is ready, and pairs that failed are tried again after
    /// [`WARMUP_RETRY`] rather than left cold until a restart.
    fn warm_done(&mut self, outcomes: &[PairWarmup], out: &mut Out) {
        self.health.set_ready();
        let mut empty = Vec::new();
        for o in outcomes {
            if !self.lanes.is_warming(&o.symbol) {
                continue;
            }
            if o.is_ready() {
                // Ready without an event (a pair listed this minute): nothing to wait for.
                self.lanes
                    .warmed(&o.symbol, Vec::new(), self.client.now(), out);
                empty.push(o.symbol.as_str());
            } else {
                self.retry.insert(o.symbol.clone());
            }
        }
        if !empty.is_empty() {
            let (pairs, symbols) = (empty.len(), empty.join(", "));
            info!(
                venue = "binance",
                pairs,
                symbols,
                "Pairs listed without market data yet; their signals start with their first bars."
            );
        }
        if !self.retry.is_empty() {
            self.retry_at = Some(self.client.now() + WARMUP_RETRY.as_millis() as TimeMs);
            let (cold, retry_in_s) = (self.retry.len(), WARMUP_RETRY.as_secs());
            warn!(
                venue = "binance",
                cold, retry_in_s, "Pairs stay cold until their warm-up is retried."
            );
        }
    }

    fn on_stream(&mut self, event: StreamEvent, out: &mut Out) {
        self.health.data_received(wall_ms());
        match event {
            StreamEvent::Events(events) => {
                let now = self.client.now();
                for e in events {
                    self.lanes.push(e, now, out);
                }
            }
            StreamEvent::Reconnected {
                symbols,
                down_since,
            } => {
                let pairs = symbols.len();
                info!(
                    venue = "binance",
                    pairs,
                    down_since = %format_utc(down_since),
                    "Streams back after an outage; back-filling the bars missed."
                );
                self.lanes.overdue(self.client.now(), out);
            }
        }
    }

    /// The pairs whose warm-up is due again, still followed and cold.
    fn take_retry(&mut self) -> Vec<Contract> {
        let retry = std::mem::take(&mut self.retry);
        (self.contracts.iter())
            .filter(|c| retry.contains(&c.symbol) && self.lanes.is_warming(&c.symbol))
            .cloned()
            .collect()
    }

    /// A new look at the universe: stops following what left; returns what joined and what
    /// waits for a retried warm-up.
    async fn rediscover(&mut self) -> Option<Vec<Contract>> {
        let contracts = match discover(self.client, &self.config.symbols).await {
            Ok(c) => c,
            Err(e) => {
                warn!(venue = "binance", error = %e, "Re-discovery failed; keeping the current pairs.");
                return None;
            }
        };
        let change = diff(&self.contracts, &contracts);
        if !change.is_empty() {
            let (added, removed) = (change.added.len(), change.removed.len());
            info!(venue = "binance", added, removed, "The universe changed.");
        }
        for symbol in &change.removed {
            self.lanes.forget(symbol);
            self.retry.remove(symbol);
        }
        for c in &change.added {
            self.lanes.follow(&c.symbol);
        }
        let retry = std::mem::take(&mut self.retry);
        let mut warm = change.added;
        warm.extend(
            (contracts.iter())
                .filter(|c| retry.contains(&c.symbol) && self.lanes.is_warming(&c.symbol))
                .cloned(),
        );
        if !change.removed.is_empty() || !warm.is_empty() {
            self.contracts = contracts;
            self.symbols
                .send_replace(self.contracts.iter().map(|c| c.symbol.clone()).collect());
        }
        (!warm.is_empty()).then_some(warm)
    }
}
