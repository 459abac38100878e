//! The live Binance source: discovery, warm-up, the market streams, gap back-fill, the 5-minute
//! open-interest poll and the hourly re-discovery, fed to the engine in order. Owns the order per
//! pair — no live event before the pair's warm-up, a hole back-filled (after a `Gap`) before the
//! bar that revealed it, never a bar twice — and must never spawn: everything runs inside the one
//! future the supervisor spawns.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

use super::discovery::{diff, discover};
use super::rest::{RestClient, RestError};
use super::warmup::{PairWarmup, Progress, WarmupPlan, backfill, poll_open_interest, warm_all};
use super::wire::Contract;
use super::ws::{BarVerdict, Counters, GapTracker, StreamEvent, WsConfig, run_streams};
use crate::config::Config;
use crate::engine::Input;
use crate::metrics::Metrics;
use crate::model::{Interval, MarketEvent, Symbol, SymbolEvent, TimeMs};
use crate::supervisor::SourceHealth;

/// Live events kept per pair while it warms up (5m bars and liquidations): a day of bars, so a
/// pair whose warm-up failed cannot grow without bound (600 × 288 small events at most).
const PENDING_MAX: usize = 288;
/// How long a failed discovery waits before the next try.
const DISCOVERY_RETRY: Duration = Duration::from_secs(30);
/// After a 5m close, Binance needs a moment before open interest reflects it.
const OI_DELAY_MS: TimeMs = 5_000;

/// Follows every selected pair until `shutdown`. Errors only when the very first discovery is
/// impossible (a bad base URL); connection failures are retried inside.
/// The streams' counters and the REST client are registered with `metrics`.
pub async fn run_live(
    config: &Config,
    inputs: mpsc::Sender<Input>,
    shutdown: watch::Receiver<bool>,
    metrics: Arc<Metrics>,
    health: Arc<SourceHealth>,
) -> Result<(), RestError> {
    let client = RestClient::from_config(&config.binance)?;
    let counters = Arc::new(Counters::default());
    metrics.watch_feeds(Arc::clone(&counters));
    metrics.watch_rest(client.clone());
    let Some(contracts) = first_discovery(&client, config, shutdown.clone()).await else {
        return Ok(());
    };
    let symbols: Vec<Symbol> = contracts.iter().map(|c| c.symbol.clone()).collect();
    info!(venue = "binance", pairs = symbols.len(), "Following pairs.");
    let (symbols_tx, symbols_rx) = watch::channel(symbols);
    let (stream_tx, stream_rx) = mpsc::channel(1024);
    let ws = WsConfig::new(
        &config.binance.ws_url,
        config.binance.streams_per_connection,
    );
    let streams = run_streams(
        ws,
        Arc::clone(&counters),
        symbols_rx,
        stream_tx,
        shutdown.clone(),
    );
    let mut live = Live {
        config,
        client: &client,
        plan: WarmupPlan::from_config(config),
        inputs,
        contracts,
        symbols: symbols_tx,
        warm: HashSet::new(),
        pending: HashMap::new(),
        bars: GapTracker::default(),
        health,
        counters,
    };
    tokio::join!(streams, live.drive(stream_rx, shutdown));
    Ok(())
}

/// Discovery until it works or shutdown: the daemon is useless without its pairs, but a
/// transient outage at start must not end it.
async fn first_discovery(
    client: &RestClient,
    config: &Config,
    mut shutdown: watch::Receiver<bool>,
) -> Option<Vec<Contract>> {
    loop {
        match discover(client, &config.symbols).await {
            Ok(contracts) => return Some(contracts),
            Err(e) => {
                error!(venue = "binance", error = %e, retry_in_s = DISCOVERY_RETRY.as_secs(), "Discovery failed; retrying.")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(DISCOVERY_RETRY) => {}
            _ = shutdown.wait_for(|s| *s) => return None,
        }
    }
}

struct Live<'a> {
    config: &'a Config,
    client: &'a RestClient,
    plan: WarmupPlan,
    inputs: mpsc::Sender<Input>,
    contracts: Vec<Contract>,
    symbols: watch::Sender<Vec<Symbol>>,
    /// Pairs whose warm-up reached the engine: their live events flow.
    warm: HashSet<Symbol>,
    /// Live events of pairs still warming, in arrival order.
    pending: HashMap<Symbol, Vec<SymbolEvent>>,
    /// The last 5m bar that went to the engine per pair (warm-up or live).
    bars: GapTracker,
    /// Told when the first warm-up is done and whenever data arrives (systemd's watchdog).
    health: Arc<SourceHealth>,
    /// The streams' counters; the back-filled bars are counted here too.
    counters: Arc<Counters>,
}

impl Live<'_> {
    async fn drive(
        &mut self,
        mut streams: mpsc::Receiver<StreamEvent>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let (warm_tx, mut warm_rx) = mpsc::channel::<Input>(4);
        let mut warmups = FuturesUnordered::new();
        warmups.push(warm(
            self.client,
            self.plan,
            self.contracts.clone(),
            warm_tx.clone(),
        ));
        let mut next_oi = next_poll(
            self.client.now(),
            self.config.binance.open_interest_interval,
        );
        let mut discovery = tokio::time::interval(self.config.binance.discovery_interval);
        discovery.tick().await;
        loop {
            let oi_in = Duration::from_millis((next_oi - self.client.now()).max(0) as u64);
            tokio::select! {
                _ = shutdown.wait_for(|s| *s) => return,
                Some(input) = warm_rx.recv() => if !self.warmed(input).await { return },
                Some(_done) = warmups.next() => self.health.set_ready(),
                event = streams.recv() => match event {
                    Some(event) => if !self.on_stream(event).await { return },
                    None => return,
                },
                () = tokio::time::sleep(oi_in) => {
                    let close = next_oi - OI_DELAY_MS;
                    next_oi = next_poll(self.client.now(), self.config.binance.open_interest_interval);
                    if !self.poll_oi(close).await { return }
                }
                _ = discovery.tick() => {
                    if let Some(added) = self.rediscover().await {
                        warmups.push(warm(self.client, self.plan, added, warm_tx.clone()));
                    }
                }
            }
        }
    }

    /// A pair's warm-up events: to the engine, then the live events it gathered meanwhile.
    async fn warmed(&mut self, input: Input) -> bool {
        let Input::Market(events) = input else {
            return self.inputs.send(input).await.is_ok();
        };
        let Some(symbol) = events.first().map(|e| e.symbol.clone()) else {
            return true;
        };
        for e in &events {
            if let MarketEvent::Candle {
                interval: Interval::M5,
                candle,
            } = &e.event
            {
                self.bars.admit(&e.symbol, Interval::M5, candle.open_time);
            }
        }
        if self.inputs.send(Input::Market(events)).await.is_err() {
            return false;
        }
        self.warm.insert(symbol.clone());
        let pending = self.pending.remove(&symbol).unwrap_or_default();
        self.forward(pending).await
    }

    async fn on_stream(&mut self, event: StreamEvent) -> bool {
        self.health.data_received(self.client.now());
        match event {
            StreamEvent::Events(events) => self.forward(events).await,
            // Holes show up in our own tracker when the pair's next bar arrives, warm-up included.
            StreamEvent::Gap { .. } => true,
            StreamEvent::Reconnected {
                symbols,
                down_since,
            } => {
                info!(
                    venue = "binance",
                    pairs = symbols.len(),
                    down_since,
                    "Streams back after an outage; missed bars will be back-filled."
                );
                true
            }
        }
    }

    /// Live events of warmed pairs go on in order; a closed bar after a hole first brings a `Gap`
    /// and the back-filled bars. Pairs still warming keep theirs for later.
    async fn forward(&mut self, events: Vec<SymbolEvent>) -> bool {
        let mut batch = Vec::with_capacity(events.len());
        for e in events {
            if !self.warm.contains(&e.symbol) {
                self.hold(e);
                continue;
            }
            if let MarketEvent::Candle {
                interval: Interval::M5,
                candle,
            } = &e.event
            {
                match self.bars.admit(&e.symbol, Interval::M5, candle.open_time) {
                    BarVerdict::Duplicate => continue,
                    BarVerdict::Gap { from, to } => {
                        if !batch.is_empty()
                            && self
                                .inputs
                                .send(Input::Market(std::mem::take(&mut batch)))
                                .await
                                .is_err()
                        {
                            return false;
                        }
                        if !self.fill(&e.symbol, from, to).await {
                            return false;
                        }
                    }
                    BarVerdict::First | BarVerdict::InOrder => {}
                }
            }
            batch.push(e);
        }
        batch.is_empty() || self.inputs.send(Input::Market(batch)).await.is_ok()
    }

    /// Keeps a live event of a warming pair: bars and liquidations; marks are dropped (the
    /// warm-up's last bar already sets the price, and there are thousands of them a minute).
    fn hold(&mut self, e: SymbolEvent) {
        if matches!(e.event, MarketEvent::Mark(_)) {
            return;
        }
        let queue = self.pending.entry(e.symbol.clone()).or_default();
        if queue.len() < PENDING_MAX {
            queue.push(e);
        }
    }

    /// The engine learns of the hole, then gets the missing bars from REST.
    async fn fill(&mut self, symbol: &Symbol, from: TimeMs, to: TimeMs) -> bool {
        let gap = SymbolEvent {
            symbol: symbol.clone(),
            event: MarketEvent::Gap { from, to },
        };
        let mut events = vec![gap];
        match backfill(self.client, symbol, from, to).await {
            Ok(bars) => {
                self.counters
                    .bars_backfilled
                    .fetch_add(bars.len() as u64, Ordering::Relaxed);
                info!(
                    venue = "binance",
                    symbol = symbol.as_str(),
                    bars = bars.len(),
                    from,
                    to,
                    "Back-filled missed bars."
                );
                events.extend(bars);
            }
            Err(e) => {
                error!(venue = "binance", symbol = symbol.as_str(), from, to, error = %e, "Back-fill failed; the series keeps a hole.")
            }
        }
        self.inputs.send(Input::Market(events)).await.is_ok()
    }

    async fn poll_oi(&mut self, close: TimeMs) -> bool {
        let mut symbols: Vec<Symbol> = self.warm.iter().cloned().collect();
        symbols.sort();
        let events = poll_open_interest(self.client, &symbols, close).await;
        events.is_empty() || self.inputs.send(Input::Market(events)).await.is_ok()
    }

    /// A new look at the universe: stops following what left, returns what joined.
    async fn rediscover(&mut self) -> Option<Vec<Contract>> {
        let contracts = match discover(self.client, &self.config.symbols).await {
            Ok(c) => c,
            Err(e) => {
                warn!(venue = "binance", error = %e, "Re-discovery failed; keeping the current pairs.");
                return None;
            }
        };
        let change = diff(&self.contracts, &contracts);
        if change.is_empty() {
            return None;
        }
        info!(
            venue = "binance",
            added = change.added.len(),
            removed = change.removed.len(),
            "The universe changed."
        );
        let removed: HashSet<&Symbol> = change.removed.iter().collect();
        self.warm.retain(|s| !removed.contains(s));
        self.pending.retain(|s, _| !removed.contains(s));
        self.bars.retain(|s| !removed.contains(s));
        self.contracts = contracts;
        self.symbols
            .send_replace(self.contracts.iter().map(|c| c.symbol.clone()).collect());
        (!change.added.is_empty()).then_some(change.added)
    }
}

/// Warms `contracts`, handing their events to `tx` (and so to [`Live::warmed`]).
async fn warm(
    client: &RestClient,
    plan: WarmupPlan,
    contracts: Vec<Contract>,
    tx: mpsc::Sender<Input>,
) -> Vec<PairWarmup> {
    let outcomes = warm_all(client, &contracts, &plan, tx, Progress::DEFAULT).await;
    let ready = outcomes.iter().filter(|o| o.is_ready()).count();
    info!(
        venue = "binance",
        ready,
        total = outcomes.len(),
        "Warm-up finished."
    );
    outcomes
}

/// The next open-interest poll: a few seconds after the next multiple of `every` (5 minutes:
/// right after each 5m close).
fn next_poll(now: TimeMs, every: Duration) -> TimeMs {
    let every = (every.as_millis() as TimeMs).max(1);
    (now / every + 1) * every + OI_DELAY_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_interest_is_polled_just_after_each_close() {
        let five = Duration::from_secs(300);
        // (now, next poll)
        #[rustfmt::skip]
        let cases = [
            (0, 305_000),
            (299_999, 305_000),
            (300_000, 605_000),
            (1_000_000, 1_205_000),
        ];
        for (now, want) in cases {
            assert_eq!(next_poll(now, five), want, "now {now}");
        }
    }
}
