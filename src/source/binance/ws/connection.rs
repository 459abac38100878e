//! One connection slot for as long as the plan keeps it: connect within the shared attempt
//! budget, serve the link (paced control messages, pings, silence), replace it before Binance's
//! 24-hour cut with the new link streaming before the old one closes, and reconnect with capped,
//! jittered backoff after a loss. Never spawns; its stream list comes from the plan via a watch.

use tokio::sync::watch;
use tokio::time::sleep;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::counters::bump;
use super::limiter::backoff;
use super::link::{End, Link, connect};
use super::plan::{SlotId, stream_symbol};
use super::session::Session;
use super::{Shared, StreamEvent};
use crate::clock::wall_ms;
use crate::model::TimeMs;

/// Resolves when the process stops or the plan retires the slot (its target sender dropped).
async fn interrupted(
    shutdown: &CancellationToken,
    target: &mut watch::Receiver<Vec<String>>,
) -> End {
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => return End::Shutdown,
            changed = target.changed() => if changed.is_err() {
                return End::Retired;
            },
        }
    }
}

/// Runs one slot until the process stops, the plan retires it or the output closes.
pub(super) async fn run(
    shared: &Shared,
    slot: SlotId,
    mut target: watch::Receiver<Vec<String>>,
    shutdown: CancellationToken,
) -> SlotId {
    let clock = shared.counters.register(slot);
    let config = &shared.config;
    let mut failures = 0u32;
    let mut down_since: Option<TimeMs> = None;
    loop {
        let streams = target.borrow_and_update().clone();
        let opened = tokio::select! {
            biased;
            _ = interrupted(&shutdown, &mut target) => break,
            opened = connect(shared, config.url(&streams)) => opened,
        };
        let lost = match opened {
            Ok(socket) => {
                info!(
                    venue = "binance",
                    slot,
                    streams = streams.len(),
                    "Market stream connected."
                );
                if let Some(since) = down_since.take() {
                    bump(&shared.counters.reconnects);
                    let symbols = streams.iter().filter_map(|s| stream_symbol(s)).collect();
                    let event = StreamEvent::Reconnected {
                        symbols,
                        down_since: since,
                    };
                    if shared.out.send(event).await.is_err() {
                        break;
                    }
                }
                let link = Link::new(socket, streams, shared);
                let session = Session::new(shared, slot, clock.clone(), link);
                match session.run(&mut target, &shutdown).await {
                    (End::Lost(reason), lived) => {
                        down_since.get_or_insert_with(wall_ms);
                        if lived >= config.silence_timeout {
                            failures = 0;
                        }
                        reason
                    }
                    _ => break,
                }
            }
            Err(reason) => reason,
        };
        failures = failures.saturating_add(1);
        let wait = backoff(
            failures,
            config.backoff_base,
            config.backoff_cap,
            shared.seed ^ slot,
        );
        warn!(venue = "binance", slot, attempt = failures, backoff_ms = wait.as_millis() as u64,
            error = %lost, "Reconnecting market stream.");
        tokio::select! {
            biased;
            _ = interrupted(&shutdown, &mut target) => break,
            () = sleep(wait) => {}
        }
    }
    shared.counters.retire(slot);
    slot
}
