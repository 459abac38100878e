//! The jobs the OKX follower runs beside its streams — a round of warm-ups, the back-fill of one
//! hole, the margin tiers of resumed pairs — and when the next open-interest poll is due. Each is
//! one future the orchestrator drives; none spawns or reads the clock except through the client.

use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream;
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use super::super::rest::{RestClient, RestError};
use super::super::warmup::{CONCURRENCY, backfill, warm_pair};
use super::super::wire::Contract;
use crate::model::{MarketEvent, Symbol, SymbolEvent, TimeMs};
use crate::source::Batch;
use crate::source::lanes::Hole;

/// After a 5m close, a moment for OKX's open interest to reflect it.
pub(super) const OI_DELAY_MS: TimeMs = 5_000;

/// The next open-interest poll: a few seconds after the next multiple of `every`.
pub(super) fn next_poll(now: TimeMs, every: Duration) -> TimeMs {
    let every = (every.as_millis() as TimeMs).max(1);
    (now.div_euclid(every) + 1) * every + OI_DELAY_MS
}

/// The closed bars of a hole, or none when REST cannot give them (the hole stays declared).
pub(super) async fn fill(
    client: &RestClient,
    contract: Option<Contract>,
    hole: Hole,
) -> (Hole, Vec<SymbolEvent>) {
    let Some(contract) = contract else {
        return (hole, Vec::new());
    };
    let (symbol, from, to) = (hole.symbol.as_str(), hole.from, hole.to);
    match backfill(client, &contract, from, to).await {
        Ok(bars) => {
            let count = bars.len();
            info!(
                venue = "okx",
                symbol,
                bars = count,
                from,
                to,
                "Back-filled missed bars."
            );
            (hole, bars)
        }
        Err(e) => {
            error!(venue = "okx", symbol, from, to, error = %e, "Back-fill failed; the series keeps a hole.");
            (hole, Vec::new())
        }
    }
}

/// Warms `contracts` a few at a time, each pair's events to `tx` as soon as they are ready;
/// returns whether each pair worked.
pub(super) async fn warm(
    client: &RestClient,
    contracts: Vec<Contract>,
    tx: mpsc::Sender<Batch>,
) -> Vec<(Symbol, bool)> {
    let total = contracts.len();
    let results: Vec<(Symbol, Result<(), RestError>)> = stream::iter(contracts)
        .map(|c| async move {
            let r = warm_pair(client, &c, client.now()).await;
            (c.symbol, r)
        })
        .buffer_unordered(CONCURRENCY)
        .then(|(symbol, r)| {
            let tx = tx.clone();
            async move {
                match r {
                    Ok(events) => {
                        // A closed channel means the engine is gone; the drive loop ends too.
                        if !events.is_empty() {
                            let _sent = tx.send(events).await.is_ok();
                        }
                        (symbol, Ok(()))
                    }
                    Err(e) => (symbol, Err(e)),
                }
            }
        })
        .collect()
        .await;
    let mut outcomes = Vec::with_capacity(total);
    let mut failed = 0usize;
    for (symbol, r) in results {
        if let Err(e) = &r {
            failed += 1;
            let s = symbol.as_str();
            warn!(venue = "okx", symbol = s, error = %e, "Warm-up failed for a pair.");
        }
        outcomes.push((symbol, r.is_ok()));
    }
    if total > 0 {
        info!(venue = "okx", pairs = total, failed, "Warm-up round done.");
    }
    outcomes
}

/// The margin tier of each resumed pair (they skip the warm-up that carries it).
pub(super) async fn resumed_margins(
    client: &RestClient,
    contracts: Vec<Contract>,
) -> Vec<SymbolEvent> {
    let now = client.now();
    let tiers: Vec<(Contract, Result<_, RestError>)> = stream::iter(contracts)
        .map(|c| async move {
            let r = client.first_tier(&c).await;
            (c, r)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut events = Vec::new();
    for (c, r) in tiers {
        match r {
            Ok(tier) => events.push(SymbolEvent {
                symbol: c.symbol,
                event: MarketEvent::Margin(tier.at(now)),
            }),
            Err(e) => {
                let s = c.symbol.as_str();
                warn!(venue = "okx", symbol = s, error = %e, "No margin tier for a resumed pair.");
            }
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_interest_is_polled_just_after_each_close() {
        let five = Duration::from_secs(300);
        // (now, next poll)
        #[rustfmt::skip]
        let cases = [(0, 305_000), (299_999, 305_000), (300_000, 605_000), (1_000_000, 1_205_000)];
        for (now, want) in cases {
            assert_eq!(next_poll(now, five), want, "now {now}");
        }
    }
}
