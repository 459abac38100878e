//! Warming every pair: a few at a time, each sent to the engine as one batch as
//! soon as it is ready (so pairs become alert-ready one by one), with progress lines. A pair
//! whose requests fail is logged and skipped; it never stops the others. Only a ban past the
//! client's wait bound, or the engine going away, ends the warm-up early.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{error, info, warn};

use super::{WarmupPlan, bounded, warm_pair};
use crate::model::{Funding, MarketEvent, Symbol};
use crate::source::Batch;
use crate::source::binance::rest::{RestClient, RestError};
use crate::source::binance::wire::Contract;

/// Below this many pairs, each fetches its own last funding (weight 1) instead of one
/// all-symbol `premiumIndex` (weight 10).
const PREMIUM_INDEX_FROM: usize = 10;

/// How often `warm_all` says how far it is: after `every` or `every_pairs` pairs, whichever
/// comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub every: Duration,
    pub every_pairs: usize,
}

impl Progress {
    pub const DEFAULT: Progress = Progress {
        every: Duration::from_secs(5),
        every_pairs: 50,
    };
}

/// What became of one pair.
#[derive(Debug, Clone, PartialEq)]
pub enum PairOutcome {
    /// Warmed and handed to the engine: this many events.
    Ready { events: usize },
    /// Its requests failed for good, or past the retry and wait bounds; the pair stays cold.
    Failed(RestError),
    /// Not tried, or not delivered: the warm-up stopped first (a ban, or the engine is gone).
    Skipped,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PairWarmup {
    pub symbol: Symbol,
    pub outcome: PairOutcome,
}

impl PairWarmup {
    pub fn is_ready(&self) -> bool {
        matches!(self.outcome, PairOutcome::Ready { .. })
    }
}

/// Warms every contract and sends each pair's events to the engine through `tx`; returns the
/// outcome per contract, in the order given. Dropping `tx` at the end tells a receiver that the
/// warm-up is over. A full channel makes the warm-up wait (the engine's backpressure).
pub async fn warm_all(
    client: &RestClient,
    contracts: &[Contract],
    plan: &WarmupPlan,
    tx: mpsc::Sender<Batch>,
    progress: Progress,
) -> Vec<PairWarmup> {
    let meter = Mutex::new(Meter::new(client, contracts.len(), progress));
    let funding = if contracts.len() >= PREMIUM_INDEX_FROM {
        latest_funding(client).await
    } else {
        HashMap::new()
    };
    let stop: OnceLock<&'static str> = OnceLock::new();
    let outcomes = bounded(contracts.len(), async |i| {
        if stop.get().is_some() {
            return PairOutcome::Skipped;
        }
        let symbol = &contracts[i].symbol;
        let latest = funding.get(symbol).copied();
        let outcome = match warm_pair(client, symbol, plan, latest, client.now()).await {
            Ok(events) => {
                let count = events.len();
                if tx.send(events).await.is_ok() {
                    PairOutcome::Ready { events: count }
                } else {
                    let _first = stop.set("the engine is gone");
                    PairOutcome::Skipped
                }
            }
            Err(err) => {
                if err.is_banned() && stop.set("Binance banned this IP").is_ok() {
                    error!(venue = "binance", error = %err, "Warm-up stopped: the IP is banned past the wait bound; the remaining pairs stay cold.");
                } else {
                    error!(venue = "binance", symbol = symbol.as_str(), error = %err, "Warm-up failed for a pair; it stays cold.");
                }
                PairOutcome::Failed(err)
            }
        };
        lock(&meter).record(&outcome);
        outcome
    })
    .await;
    lock(&meter).finish(stop.get().copied());
    contracts
        .iter()
        .zip(outcomes)
        .map(|(c, outcome)| PairWarmup {
            symbol: c.symbol.clone(),
            outcome,
        })
        .collect()
}

/// The meter holds no invariant a panic could break halfway.
fn lock<'m, 'a>(meter: &'m Mutex<Meter<'a>>) -> std::sync::MutexGuard<'m, Meter<'a>> {
    meter
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The coming funding rate of every symbol from one `premiumIndex` call; empty (each pair then
/// fetches its own) when that call fails.
async fn latest_funding(client: &RestClient) -> HashMap<Symbol, Funding> {
    match client.premium_index().await {
        Ok(batch) => batch
            .events
            .into_iter()
            .filter_map(|e| match e.event {
                MarketEvent::Mark(m) => {
                    let rate = m.funding_rate?;
                    Some((e.symbol, Funding { time: m.time, rate }))
                }
                _ => None,
            })
            .collect(),
        Err(err) => {
            warn!(venue = "binance", error = %err, "No premium index; each pair fetches its own funding.");
            HashMap::new()
        }
    }
}

/// Counts pairs and says how far the warm-up is.
struct Meter<'a> {
    client: &'a RestClient,
    total: usize,
    progress: Progress,
    started: Instant,
    spent_before: u64,
    done: usize,
    failed: usize,
    last_line: Instant,
    since_line: usize,
}

impl<'a> Meter<'a> {
    fn new(client: &'a RestClient, total: usize, progress: Progress) -> Meter<'a> {
        let now = Instant::now();
        Meter {
            client,
            total,
            progress,
            started: now,
            spent_before: client.weight_spent(),
            done: 0,
            failed: 0,
            last_line: now,
            since_line: 0,
        }
    }

    fn record(&mut self, outcome: &PairOutcome) {
        self.done += 1;
        self.since_line += 1;
        self.failed += usize::from(!matches!(outcome, PairOutcome::Ready { .. }));
        let due = self.last_line.elapsed() >= self.progress.every
            || self.since_line >= self.progress.every_pairs.max(1);
        if due && self.done < self.total {
            self.last_line = Instant::now();
            self.since_line = 0;
            let elapsed = self.started.elapsed().as_secs_f64();
            let eta_secs = (elapsed / self.done as f64 * (self.total - self.done) as f64).round();
            let (done, total, failed, weight) = (self.done, self.total, self.failed, self.weight());
            info!(
                venue = "binance",
                done, total, failed, weight, eta_secs, "Warm-up progress."
            );
        }
    }

    fn finish(&self, stopped: Option<&'static str>) {
        let elapsed_secs = (self.started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
        let ready = self.done - self.failed;
        let (total, failed, weight) = (self.total, self.failed, self.weight());
        let stopped = stopped.unwrap_or("no");
        info!(
            venue = "binance",
            ready, total, failed, weight, elapsed_secs, stopped, "Warm-up finished."
        );
    }

    fn weight(&self) -> u64 {
        self.client.weight_spent() - self.spent_before
    }
}
