//! The daemon's heartbeat: every few minutes one log line with the pairs followed and ready, the
//! holes open, the last market data and the alerts so far, so an operator reading the journal
//! sees a healthy daemon say so. It asks the engine like the bot does and never waits on it for
//! long; it must never change what the engine does.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::clock::wall_ms;
use crate::engine::{Command, Pulse, Query};
use crate::model::{TimeMs, format_utc};
use crate::source::SourceHealth;

/// How often the line is written.
pub(super) const EVERY: Duration = Duration::from_secs(300);

/// Longest wait for the engine's answer: a busy engine skips a beat rather than piling up asks.
const ASK_BOUND: Duration = Duration::from_secs(10);

/// Writes the heartbeat every `every` until `shutdown`.
pub(super) async fn run_heartbeat(
    commands: mpsc::Sender<Command>,
    health: Arc<SourceHealth>,
    shutdown: CancellationToken,
    every: Duration,
) {
    let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            _ = beat.tick() => {}
            () = shutdown.cancelled() => return,
        }
        let (reply, answer) = oneshot::channel();
        let asked = commands.try_send(Command::Query(Query::Pulse(wall_ms(), reply)));
        let pulse = match asked {
            Ok(()) => tokio::time::timeout(ASK_BOUND, answer)
                .await
                .ok()
                .and_then(Result::ok),
            Err(_) => None,
        };
        match pulse {
            Some(pulse) => beat_line(&pulse, health.last_data(), wall_ms()),
            None => tracing::warn!(
                bound_s = ASK_BOUND.as_secs(),
                "The engine did not answer the heartbeat in time; it may be overloaded."
            ),
        }
    }
}

/// The line itself: `last_data` is when the streams last delivered (wall time), the market time
/// behind is how far the newest event the engine saw lags `now`.
fn beat_line(pulse: &Pulse, last_data: Option<TimeMs>, now: TimeMs) {
    let h = &pulse.health;
    let last_data = last_data.map_or_else(|| "none yet".to_owned(), format_utc);
    let behind = |t: TimeMs| format!("{}", (now - t) / 1000);
    let behind_s = h.last_event_ms.map_or_else(|| "-".to_owned(), behind);
    tracing::info!(
        pairs = h.pairs,
        ready = h.pairs_ready,
        stale = h.pairs_stale,
        holes_open = h.gaps_open,
        last_data = %last_data,
        market_time_behind_s = %behind_s,
        alerts = pulse.alerts,
        events = h.events,
        "Heartbeat."
    );
}
