//! One OKX link for its whole life: connect within the process's connection pace, subscribe,
//! read every frame (counted; faulty ones skipped), `ping` after a quiet spell, and on a break,
//! a stall or a notice reconnect after a capped, jittered backoff. Never spawns, never panics on
//! input; ends only on shutdown or when nobody reads its events.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_tungstenite::connect_async_with_config;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::super::wire::{Contracts, Frame, parse_frame};
use super::{Counters, LinkPlan, WsConfig, WsEvent, bump, subscribe_messages};
use crate::model::{MarketEvent, TimeMs};
use crate::source::jitter::jitter;

const MAX_MESSAGE: usize = 4 << 20;
/// A link streaming nothing but pongs for this many ping periods is treated as stalled.
const DATA_PERIODS: u32 = 4;

/// What every link of the process shares.
#[derive(Clone, Copy)]
pub(super) struct Shared<'a> {
    pub(super) config: &'a WsConfig,
    pub(super) counters: &'a Counters,
    pub(super) followed: &'a Arc<Contracts>,
    pub(super) out: &'a tokio::sync::mpsc::Sender<WsEvent>,
    pub(super) pacer: &'a Pacer,
}

/// Spaces connection attempts across links (OKX allows 3 per second per IP).
#[derive(Debug, Default)]
pub(super) struct Pacer {
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    async fn wait(&self, spacing: Duration) {
        let at = {
            let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            let at = next.map_or_else(Instant::now, |n| n.max(Instant::now()));
            *next = Some(at + spacing);
            at
        };
        sleep_until(at).await;
    }
}

enum End {
    Shutdown,
    OutputClosed,
    /// The link broke or went silent; `proven` when it had streamed data.
    Lost {
        reason: String,
        proven: bool,
    },
}

/// Runs one link until shutdown, reconnecting as needed.
pub(super) async fn run_link(
    shared: Shared<'_>,
    slot: usize,
    plan: LinkPlan,
    shutdown: CancellationToken,
) {
    let config = shared.config;
    let mut failures = 0u32;
    let mut down_since: Option<TimeMs> = None;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = shared.pacer.wait(config.connect_spacing) => {}
        }
        bump(&shared.counters.connects);
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let opened = tokio::select! {
            () = shutdown.cancelled() => return,
            opened = timeout(config.connect_timeout, connect_async_with_config(plan.url.as_str(), Some(ws_config), true)) => opened,
        };
        let reason = match opened {
            Ok(Ok((socket, _))) => {
                let end = serve(shared, slot, &plan, socket, &shutdown, &mut down_since).await;
                match end {
                    End::Shutdown | End::OutputClosed => return,
                    End::Lost { reason, proven } => {
                        bump(&shared.counters.links_lost);
                        if proven {
                            failures = 0;
                        }
                        reason
                    }
                }
            }
            Ok(Err(e)) => {
                bump(&shared.counters.connect_failures);
                format!("connect failed: {e}")
            }
            Err(_) => {
                bump(&shared.counters.connect_failures);
                "connect timed out".to_owned()
            }
        };
        down_since.get_or_insert_with(|| config.clock.now());
        failures = failures.saturating_add(1);
        let wait = backoff(config, failures, jitter());
        warn!(venue = "okx", slot, attempt = failures, backoff_ms = wait.as_millis() as u64, error = %reason, "OKX stream link lost; reconnecting.");
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = sleep(wait) => {}
        }
    }
}

/// Capped exponential backoff from `backoff_base`, scaled into its upper half by `jitter`.
fn backoff(config: &WsConfig, failures: u32, jitter: f64) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    let full = (config.backoff_base.saturating_mul(1 << doublings)).min(config.backoff_cap);
    full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One open link: subscribe, then read until it ends.
async fn serve(
    shared: Shared<'_>,
    slot: usize,
    plan: &LinkPlan,
    mut socket: Socket,
    shutdown: &CancellationToken,
    down_since: &mut Option<TimeMs>,
) -> End {
    let (config, counters) = (shared.config, shared.counters);
    for message in subscribe_messages(&plan.args) {
        match timeout(config.dead_after, socket.send(Message::text(message))).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return lost(format!("subscribe failed: {e}"), false),
            Err(_) => return lost("subscribe stalled".to_owned(), false),
        }
    }
    if let Some(since) = down_since.take() {
        info!(
            venue = "okx",
            slot, "OKX stream link back; back-filling what it missed."
        );
        if shared
            .out
            .send(WsEvent::Reconnected { down_since: since })
            .await
            .is_err()
        {
            return End::OutputClosed;
        }
    }
    let data_limit = config.ping_after * DATA_PERIODS + config.dead_after;
    let (mut last_frame, mut last_data) = (Instant::now(), Instant::now());
    let mut proven = false;
    let mut pinged = false;
    let mut malformed_seen = 0u64;
    loop {
        let deadline = if pinged {
            last_frame + config.dead_after
        } else {
            last_frame + config.ping_after
        };
        let message = tokio::select! {
            biased;
            () = shutdown.cancelled() => {
                let _closed = timeout(Duration::from_secs(1), socket.close(None)).await;
                return End::Shutdown;
            }
            () = sleep_until(deadline) => {
                if pinged {
                    bump(&counters.stalls);
                    return lost(format!("no frame for {:?}, not even a pong", config.dead_after), proven);
                }
                if Instant::now() >= last_data + data_limit {
                    bump(&counters.stalls);
                    return lost("the link answers but streams nothing".to_owned(), proven);
                }
                pinged = true;
                bump(&counters.pings);
                match timeout(config.dead_after, socket.send(Message::text("ping"))).await {
                    Ok(Ok(())) => continue,
                    _ => return lost("could not send a ping".to_owned(), proven),
                }
            }
            message = socket.next() => message,
        };
        let message = match message {
            None => return lost("the server ended the stream".to_owned(), proven),
            Some(Err(e)) => return lost(format!("read failed: {e}"), proven),
            Some(Ok(m)) => m,
        };
        last_frame = Instant::now();
        pinged = false;
        bump(&counters.frames);
        let text = match message {
            Message::Text(text) => text,
            Message::Binary(_) => {
                skip(
                    &counters.malformed,
                    slot,
                    &mut malformed_seen,
                    "a binary frame",
                );
                continue;
            }
            Message::Ping(_) => {
                if timeout(config.dead_after, socket.flush()).await.is_err() {
                    return lost("could not answer a ping".to_owned(), proven);
                }
                continue;
            }
            Message::Close(frame) => {
                let why = frame.map_or_else(String::new, |f| format!("{} {}", f.code, f.reason));
                return lost(format!("the server closed the link: {why}"), proven);
            }
            Message::Pong(_) | Message::Frame(_) => continue,
        };
        match parse_frame(text.as_str(), shared.followed) {
            Ok(Frame::Pong) => bump(&counters.pongs),
            Ok(Frame::Subscribed { .. }) => bump(&counters.acks),
            Ok(Frame::Error { code, msg }) => {
                bump(&counters.subscribe_errors);
                warn!(
                    venue = "okx",
                    slot, code, msg, "OKX refused a subscription."
                );
            }
            Ok(Frame::Notice { code, msg }) => {
                bump(&counters.notices);
                info!(
                    venue = "okx",
                    slot, code, msg, "OKX announced the link's end; reconnecting."
                );
                return lost(format!("notice {code}"), true);
            }
            Ok(Frame::OpenBar) => {
                (proven, last_data) = (true, Instant::now());
                bump(&counters.open_bars);
            }
            Ok(Frame::Unused) => {}
            Ok(Frame::Events(events)) => {
                (proven, last_data) = (true, Instant::now());
                for e in &events {
                    if matches!(e.event, MarketEvent::Candle { .. }) {
                        bump(&counters.closed_bars);
                    }
                }
                if !events.is_empty() && shared.out.send(WsEvent::Events(events)).await.is_err() {
                    return End::OutputClosed;
                }
                // The output may have made us wait: the link was not silent meanwhile.
                last_frame = Instant::now();
            }
            Err(error) => {
                let counter = if error.is_malformed() {
                    &counters.malformed
                } else {
                    &counters.bad_values
                };
                skip(counter, slot, &mut malformed_seen, &error.to_string());
            }
        }
    }
}

fn lost(reason: String, proven: bool) -> End {
    End::Lost { reason, proven }
}

/// Counts a frame that cannot be used; warns on the first and then every thousandth.
fn skip(counter: &AtomicU64, slot: usize, seen: &mut u64, error: &str) {
    bump(counter);
    *seen += 1;
    if *seen % 1000 == 1 {
        let skipped = *seen;
        warn!(
            venue = "okx",
            slot, skipped, error, "Skipped an OKX stream frame."
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;

    #[test]
    fn reconnection_backoff_is_capped_and_jittered() {
        let mut config = WsConfig::new("wss://x/ws/v5/public", 100, Clock::Wall);
        config.backoff_base = Duration::from_secs(1);
        config.backoff_cap = Duration::from_secs(60);
        // (failures, jitter, ms)
        #[rustfmt::skip]
        let cases = [(1, 0.0, 500), (1, 1.0, 1000), (3, 0.0, 2000), (7, 1.0, 60_000), (30, 0.0, 30_000)];
        for (failures, jitter, want) in cases {
            assert_eq!(
                backoff(&config, failures, jitter).as_millis() as u64,
                want,
                "{failures}"
            );
        }
    }
}
