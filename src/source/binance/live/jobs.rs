//! The jobs the live source runs beside the streams — a round of warm-ups, the back-fill of one
//! hole, one open-interest poll — and when the next poll is due. Each is one future the
//! orchestrator drives; none spawns or reads the clock.

use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{error, info};

use crate::model::{Symbol, SymbolEvent, TimeMs};
use crate::source::Batch;
use crate::source::binance::rest::RestClient;
use crate::source::binance::warmup::{
    PairWarmup, Progress, WarmupPlan, backfill, poll_open_interest, warm_all,
};
use crate::source::binance::wire::Contract;
use crate::source::lanes::Hole;

/// After a 5m close, Binance needs a moment before open interest reflects it.
pub(super) const OI_DELAY_MS: TimeMs = 5_000;

/// Warms `contracts`, handing their events to `tx` (and so to the orchestrator).
pub(super) async fn warm(
    client: &RestClient,
    plan: WarmupPlan,
    contracts: Vec<Contract>,
    tx: mpsc::Sender<Batch>,
) -> Vec<PairWarmup> {
    warm_all(client, &contracts, &plan, tx, Progress::DEFAULT).await
}

/// The closed 5m bars of a hole, or none when REST cannot give them (the hole stays, declared).
pub(super) async fn fill(client: &RestClient, hole: Hole) -> (Hole, Vec<SymbolEvent>) {
    let (symbol, from, to) = (hole.symbol.as_str(), hole.from, hole.to);
    match backfill(client, &hole.symbol, from, to).await {
        Ok(bars) => {
            let count = bars.len();
            info!(
                venue = "binance",
                symbol,
                bars = count,
                from,
                to,
                "Back-filled missed bars."
            );
            (hole, bars)
        }
        Err(e) => {
            error!(venue = "binance", symbol, from, to, error = %e, "Back-fill failed; the series keeps a hole.");
            (hole, Vec::new())
        }
    }
}

/// Open interest of `symbols` for the 5m close `close`.
pub(super) async fn poll(
    client: &RestClient,
    symbols: Vec<Symbol>,
    close: TimeMs,
) -> (TimeMs, Vec<SymbolEvent>) {
    (close, poll_open_interest(client, &symbols, close).await)
}

/// The next open-interest poll: a few seconds after the next multiple of `every` (5 minutes:
/// right after each 5m close).
pub(super) fn next_poll(now: TimeMs, every: Duration) -> TimeMs {
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
