//! One connection slot for as long as the plan keeps it: connect within the shared attempt
//! budget, serve the link (paced control messages, pings, silence), replace it before Binance's
//! 24-hour cut with the new link streaming before the old one closes, and reconnect with capped,
//! jittered backoff after a loss. Never spawns; its stream list comes from the plan via a watch.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
use tokio::time::{Instant, sleep, timeout};
use tokio_tungstenite::connect_async_with_config;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tracing::{info, warn};

use super::counters::bump;
use super::limiter::backoff;
use super::link::{Link, Socket};
use super::plan::{SlotId, stream_symbol};
use super::session::Session;
use super::{Shared, StreamEvent};
use crate::model::TimeMs;

/// The largest message accepted: the all-market mark-price array of ~700 pairs is about 100 KB.
const MAX_MESSAGE: usize = 4 << 20;

/// Why a slot's connection ended for good, or its link for now.
#[derive(Debug)]
pub(super) enum End {
    Shutdown,
    /// The plan closed the slot.
    Retired,
    OutputClosed,
    /// The link was lost; the slot reconnects.
    Lost(String),
}

/// Epoch milliseconds from the wall clock: only for `down_since` and the per-slot clocks.
pub(super) fn now_ms() -> TimeMs {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as TimeMs)
}

/// Resolves when `shutdown` turns true or its sender is dropped.
pub(super) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // Err: the sender is gone, which stops the streams too.
    let _sender_gone = shutdown.wait_for(|stop| *stop).await.is_err();
}

/// Resolves when the process stops or the plan retires the slot (its target sender dropped).
async fn interrupted(
    shutdown: &mut watch::Receiver<bool>,
    target: &mut watch::Receiver<Vec<String>>,
) -> End {
    loop {
        tokio::select! {
            biased;
            () = stopped(shutdown) => return End::Shutdown,
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
    mut shutdown: watch::Receiver<bool>,
) -> SlotId {
    let clock = shared.counters.register(slot);
    let config = &shared.config;
    let mut failures = 0u32;
    let mut down_since: Option<TimeMs> = None;
    loop {
        let streams = target.borrow_and_update().clone();
        let opened = tokio::select! {
            biased;
            _ = interrupted(&mut shutdown, &mut target) => break,
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
                let link = Link::new(socket, streams, ping_every(shared));
                let session = Session::new(shared, slot, clock.clone(), link);
                match session.run(&mut target, &mut shutdown).await {
                    (End::Lost(reason), lived) => {
                        down_since.get_or_insert_with(now_ms);
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
            _ = interrupted(&mut shutdown, &mut target) => break,
            () = sleep(wait) => {}
        }
    }
    shared.counters.retire(slot);
    slot
}

pub(super) fn ping_every(shared: &Shared) -> Duration {
    shared.config.silence_timeout / 3
}

/// Opens a link to `url` once the attempt budget allows, within the connect timeout.
pub(super) async fn connect(shared: &Shared, url: String) -> Result<Socket, String> {
    loop {
        let verdict = {
            let mut limiter = shared.limiter.lock().unwrap_or_else(|e| e.into_inner());
            limiter.try_acquire(Instant::now())
        };
        match verdict {
            Ok(()) => break,
            Err(wait) => {
                warn!(
                    venue = "binance",
                    wait_ms = wait.as_millis() as u64,
                    "Connection attempt budget spent; waiting."
                );
                sleep(wait).await;
            }
        }
    }
    bump(&shared.counters.attempts);
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let handshake = connect_async_with_config(url, Some(ws_config), true);
    match timeout(shared.config.connect_timeout, handshake).await {
        Ok(Ok((socket, _response))) => Ok(socket),
        Ok(Err(e)) => Err(format!("connect failed: {e}")),
        Err(_) => Err(format!(
            "connect timed out after {:?}",
            shared.config.connect_timeout
        )),
    }
}
