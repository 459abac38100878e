//! The delivery worker of one sink, the bridge between the store and a notify sink: takes the
//! sink's outbox entries from the store in order, sends each, records it in the sent log, then
//! clears it — at least once, idempotent by AlertId. Transient failures retry with capped,
//! jittered backoff (a retry-after from the channel wins) and hold the queue, so alerts arrive in
//! order; permanent ones become dead letters. A sink that digests gets the alerts of one bar as
//! one message when many fire together. It only reads and writes the store, so a slow sink never
//! blocks the engine or another sink; it must never drop an alert it could not deliver.

mod meter;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use meter::{DeliveryMeters, SinkMeter};

use crate::clock::wall_ms;
use crate::config::DeliveryConfig;
use crate::model::{Alert, AlertKind, TimeMs};
use crate::notify::{Delivered, Sink, SinkError};
use crate::store::{OutboxEntry, OutboxKey, Store, StoreError};

/// Entries read from the store per pass: the in-memory queue of a sink is this long at most.
const BATCH: usize = 64;

/// Longest idle wait between two looks at the outbox when nothing wakes the worker.
const IDLE: Duration = Duration::from_secs(1);

/// How a worker retries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial: Duration,
    pub max: Duration,
}

impl From<&DeliveryConfig> for RetryPolicy {
    fn from(c: &DeliveryConfig) -> Self {
        RetryPolicy {
            max_attempts: c.max_attempts,
            initial: c.backoff_initial,
            max: c.backoff_max,
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempts + 1`: the channel's retry-after when it gave one,
    /// otherwise `initial · 2^(attempts−1)` capped at `max`, spread ±20 % by `seed` so that alerts
    /// failing together do not retry together.
    pub fn delay(&self, attempts: u32, retry_after: Option<Duration>, seed: u64) -> Duration {
        if let Some(after) = retry_after {
            return after;
        }
        let doubling = 2f64.powi(attempts.saturating_sub(1).min(30) as i32);
        let base = (self.initial.as_secs_f64() * doubling).min(self.max.as_secs_f64());
        let spread = 0.8 + 0.4 * (seed % 1000) as f64 / 999.0;
        Duration::from_secs_f64((base * spread).min(self.max.as_secs_f64()))
    }
}

/// What a worker needs besides its sink.
#[derive(Debug, Clone)]
pub struct DeliveryContext {
    pub store: Store,
    pub policy: RetryPolicy,
    /// The engine notifies after each commit that added entries.
    pub wake: Arc<Notify>,
    /// Cancelled when the engine has drained at shutdown: nothing more will be queued, and the
    /// worker stops once its outbox is empty.
    pub shutdown: CancellationToken,
    /// Cancelled by a stopping signal (or a daemon's failure): from then on the worker delivers
    /// for `deadline` at most and leaves the rest for the next start. A replay that ends by
    /// itself is never hurried: it delivers everything before it exits.
    pub hurry: CancellationToken,
    pub deadline: Duration,
    /// Where deliveries and failed sends are counted.
    pub meter: Arc<SinkMeter>,
}

/// Runs until shutdown (see [`DeliveryContext::shutdown`]). A store failure ends it with the
/// error: without its outbox a worker can do nothing safely.
pub async fn deliver<S: Sink>(mut sink: S, cx: DeliveryContext) -> Result<Delivered, StoreError> {
    let mut done = Delivered::default();
    let mut stop_at: Option<Instant> = None;
    loop {
        if stop_at.is_none() && cx.hurry.is_cancelled() {
            stop_at = Some(Instant::now() + cx.deadline);
        }
        if stop_at.is_some_and(|t| Instant::now() >= t) {
            break;
        }
        let drained = cx.shutdown.is_cancelled();
        let batch = cx.store.pending(sink.name(), BATCH)?;
        let next_due = match pass(&mut sink, &cx, &batch, stop_at, &mut done).await? {
            Pass::Progressed => continue,
            Pass::OutOfTime => break,
            Pass::Waiting(next_due) => next_due,
        };
        if drained && batch.is_empty() {
            break;
        }
        let wait = next_due.map_or(IDLE, |t| {
            Duration::from_millis((t - wall_ms()).clamp(0, IDLE.as_millis() as i64) as u64)
        });
        let until = match stop_at {
            Some(t) => t.min(Instant::now() + wait),
            None => Instant::now() + wait,
        };
        tokio::select! {
            () = cx.wake.notified() => {}
            () = tokio::time::sleep_until(until) => {}
            () = cx.shutdown.cancelled(), if !drained => {}
            () = cx.hurry.cancelled(), if stop_at.is_none() => {}
        }
    }
    if let Err(error) = sink.flush().await {
        tracing::error!(sink = sink.name(), %error, "Sink flush failed.");
    }
    Ok(done)
}

/// How a pass over the head of the outbox ended.
enum Pass {
    /// Something was sent, dropped or rescheduled: look again at once.
    Progressed,
    /// The shutdown deadline passed.
    OutOfTime,
    /// Nothing is due: the head waits until this time (`None`: the queue is empty).
    Waiting(Option<TimeMs>),
}

/// Sends the due entries of `batch` in order (a digest where the sink takes one), until one
/// fails and must wait, or the deadline passes.
async fn pass<S: Sink>(
    sink: &mut S,
    cx: &DeliveryContext,
    batch: &[(OutboxKey, OutboxEntry)],
    stop_at: Option<Instant>,
    done: &mut Delivered,
) -> Result<Pass, StoreError> {
    let now = wall_ms();
    let mut progressed = false;
    let mut i = 0;
    while i < batch.len() {
        let (key, entry) = &batch[i];
        if entry.next_attempt_ms > now {
            // In order: the head of the queue waits out its backoff, the rest wait with it.
            let waiting = Pass::Waiting(Some(entry.next_attempt_ms));
            return Ok(if progressed {
                Pass::Progressed
            } else {
                waiting
            });
        }
        progressed = true;
        if cx.store.is_sent(sink.name(), &entry.alert.id)? {
            // Sent before a crash cut the bookkeeping short: never twice.
            cx.store.drop_pending(key)?;
            done.repeats += 1;
            i += 1;
            continue;
        }
        let group = &batch[i..i + digest_run(sink, &batch[i..], now).max(1)];
        let Some(sent) = bounded(stop_at, send_group(sink, group)).await else {
            return Ok(Pass::OutOfTime);
        };
        i += group.len();
        match sent {
            Ok(()) => {
                for (key, _) in group {
                    cx.store.mark_sent(key, wall_ms())?;
                }
                // Durable before the next send: a kill repeats at most the message in flight.
                cx.store.flush().await?;
                done.sent += group.len() as u64;
                cx.meter.delivered(group.len() as u64);
            }
            Err(error) => {
                cx.meter.error();
                if failed(sink, cx, group, error, done)? {
                    break;
                }
            }
        }
        if stop_at.is_some_and(|t| Instant::now() >= t) {
            return Ok(Pass::OutOfTime);
        }
    }
    Ok(if progressed {
        Pass::Progressed
    } else {
        Pass::Waiting(None)
    })
}

/// One alert with its chart, or the alerts of one digest as one message.
async fn send_group<S: Sink>(
    sink: &mut S,
    group: &[(OutboxKey, OutboxEntry)],
) -> Result<(), SinkError> {
    match group {
        [(_, entry)] => {
            sink.send_with_chart(&entry.alert, entry.chart.as_ref())
                .await
        }
        digest => {
            let alerts: Vec<Alert> = digest.iter().map(|(_, e)| e.alert.clone()).collect();
            sink.send_digest(&alerts).await
        }
    }
}

/// A failed send of `group` (one alert, or the alerts of one digest): rescheduled while it may
/// still succeed (returns true: the queue waits), otherwise dead letters (false: the next may go).
fn failed<S: Sink>(
    sink: &S,
    cx: &DeliveryContext,
    group: &[(OutboxKey, OutboxEntry)],
    error: SinkError,
    done: &mut Delivered,
) -> Result<bool, StoreError> {
    let (key, entry) = &group[0];
    let attempts = entry.attempts + 1;
    let retry_after = match &error {
        SinkError::Retry { after, .. } => *after,
        SinkError::Permanent { .. } => None,
    };
    if error.is_retriable() && attempts < cx.policy.max_attempts {
        let seed = fnv(entry.alert.id.as_str()) ^ u64::from(attempts);
        let delay = cx.policy.delay(attempts, retry_after, seed);
        let next = OutboxEntry {
            attempts,
            next_attempt_ms: wall_ms() + delay.as_millis() as TimeMs,
            last_error: Some(error.to_string()),
            ..entry.clone()
        };
        // The head carries the backoff; the rest of a digest waits behind it in order.
        cx.store.reschedule(key, &next)?;
        done.retried += 1;
        tracing::warn!(
            sink = sink.name(),
            alert = %entry.alert.id,
            alerts = group.len(),
            attempts,
            retry_in_ms = delay.as_millis() as u64,
            %error,
            "Delivery failed; retrying later."
        );
        Ok(true)
    } else {
        for (key, _) in group {
            cx.store.dead_letter(key, &error.to_string(), wall_ms())?;
        }
        done.failed += group.len() as u64;
        tracing::error!(
            sink = sink.name(),
            alert = %entry.alert.id,
            alerts = group.len(),
            attempts,
            %error,
            "Delivery failed for good; the alert is now a dead letter."
        );
        Ok(false)
    }
}

/// How many entries from the head of `queue` go out as one digest: the due entries of the head's
/// bar, when the sink digests and they are at least its minimum; 0 otherwise (send the head alone).
fn digest_run<S: Sink>(sink: &S, queue: &[(OutboxKey, OutboxEntry)], now: TimeMs) -> usize {
    let Some(min) = sink.digest_min() else {
        return 0;
    };
    let head = &queue[0].1.alert;
    let digestible = |e: &OutboxEntry| {
        e.alert.kind() != AlertKind::DailySummary
            && e.alert.time_ms == head.time_ms
            && e.next_attempt_ms <= now
    };
    let run = queue.iter().take_while(|(_, e)| digestible(e)).count();
    if run >= min.max(2) { run } else { 0 }
}

/// Runs a send, cut off at the shutdown deadline when there is one (`None`: the deadline passed).
async fn bounded<F: Future<Output = Result<(), SinkError>>>(
    stop_at: Option<Instant>,
    send: F,
) -> Option<Result<(), SinkError>> {
    match stop_at {
        Some(t) => tokio::time::timeout_at(t, send).await.ok(),
        None => Some(send.await),
    }
}

/// FNV-1a: a stable spread for the jitter, the same on every run.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests;
