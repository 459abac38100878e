//! The delivery worker of one sink, the bridge between the store and a notify sink: takes the
//! sink's outbox entries from the store in order, sends each, records it in the sent log, then
//! clears it — at least once, idempotent by AlertId. Transient failures retry with capped,
//! jittered backoff (a retry-after from the channel wins) and hold the queue, so alerts arrive in
//! order; permanent ones become dead letters. A sink with several recipients (Telegram's chats)
//! has its progress kept per recipient in the entry: a retry goes to those still owed the alert,
//! and a recipient that fails for good becomes a dead letter naming it while the others get the
//! alert. A sink that digests gets the alerts of one bar as one message when many fire together,
//! after letting them gather for its window. It only reads and writes the store, so a slow sink
//! never blocks the engine or another sink; it must never drop an alert it could not deliver.

mod meter;
mod plan;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use meter::{DeliveryMeters, SinkMeter};
use plan::{Gather, Next, digest_run, plan};

use crate::clock::wall_ms;
use crate::config::DeliveryConfig;
use crate::model::{Alert, TimeMs};
use crate::notify::{Delivered, Message, Outcome, Sink};
use crate::store::{OutboxEntry, OutboxKey, Settle, Store, StoreError};

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

impl DeliveryContext {
    /// A worker on `store` with its own wake and meter that stops once `shutdown` is cancelled
    /// and its outbox is empty, hurried by the same token with 5 s to finish (tests and tools;
    /// the daemon sets every field from its config).
    pub fn new(store: Store, policy: RetryPolicy, shutdown: CancellationToken) -> DeliveryContext {
        DeliveryContext {
            store,
            policy,
            wake: Arc::new(Notify::new()),
            hurry: shutdown.clone(),
            shutdown,
            deadline: Duration::from_secs(5),
            meter: Arc::default(),
        }
    }
}

/// Runs until shutdown (see [`DeliveryContext::shutdown`]). A store failure ends it with the
/// error: without its outbox a worker can do nothing safely.
pub async fn deliver<S: Sink>(mut sink: S, cx: DeliveryContext) -> Result<Delivered, StoreError> {
    let mut done = Delivered::default();
    let mut stop_at: Option<Instant> = None;
    let mut gather = Gather::default();
    loop {
        if stop_at.is_none() && cx.hurry.is_cancelled() {
            stop_at = Some(Instant::now() + cx.deadline);
        }
        if stop_at.is_some_and(|t| Instant::now() >= t) {
            break;
        }
        let drained = cx.shutdown.is_cancelled();
        let batch = cx.store.pending(sink.name(), BATCH)?;
        let mut worker = Worker {
            sink: &mut sink,
            cx: &cx,
            stop_at,
            done: &mut done,
            gather: &mut gather,
        };
        let pass = worker.pass(&batch).await?;
        // A signal during the pass started the deadline there.
        stop_at = worker.stop_at;
        let next_due = match pass {
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

/// One pass of a worker: its sink, context and what it has done so far.
struct Worker<'a, S> {
    sink: &'a mut S,
    cx: &'a DeliveryContext,
    stop_at: Option<Instant>,
    done: &'a mut Delivered,
    gather: &'a mut Gather,
}

impl<S: Sink> Worker<'_, S> {
    /// Sends the due entries of `batch` in order (a digest where the sink takes one, once its
    /// bar has gathered), until one fails and must wait, or the deadline passes.
    async fn pass(&mut self, batch: &[(OutboxKey, OutboxEntry)]) -> Result<Pass, StoreError> {
        let now = wall_ms();
        let recipients = self.sink.recipients();
        // Nothing more will be queued (drained), or time is short: nothing left to gather.
        let window = match self.sink.digest_min() {
            Some(_) if !self.cx.shutdown.is_cancelled() && self.stop_at.is_none() => {
                self.sink.digest_gather()
            }
            _ => Duration::ZERO,
        };
        let mut progressed = false;
        let mut i = 0;
        while i < batch.len() {
            if self.stop_at.is_none() && self.cx.hurry.is_cancelled() {
                // A signal mid-pass: the deadline runs from now, not from the next pass.
                self.stop_at = Some(Instant::now() + self.cx.deadline);
            }
            let (key, entry) = &batch[i];
            // In order: the head of the queue waits out its backoff (or its bar's gathering),
            // the rest wait with it.
            let hold = match entry.next_attempt_ms > now {
                true => Some(entry.next_attempt_ms),
                false => self.gather.hold(window, entry, now),
            };
            if let Some(until) = hold {
                return Ok(if progressed {
                    Pass::Progressed
                } else {
                    Pass::Waiting(Some(until))
                });
            }
            progressed = true;
            // An entry that names its recipients carries its own progress (a partial delivery,
            // or a dead letter's part retried): the sent log has the alert for the others.
            if entry.to.is_none() && self.cx.store.is_sent(self.sink.name(), &entry.alert.id)? {
                // Sent before a crash cut the bookkeeping short: never twice.
                self.cx.store.drop_pending(key)?;
                self.done.repeats += 1;
                i += 1;
                continue;
            }
            let group = &batch[i..i + digest_run(&*self.sink, &batch[i..], now).max(1)];
            let send = send_group(self.sink, group, &recipients);
            let Some(outcome) = bounded(self.stop_at, send).await else {
                return Ok(Pass::OutOfTime);
            };
            i += group.len();
            if self.settle(group, &recipients, outcome).await? {
                break;
            }
            if self.stop_at.is_some_and(|t| Instant::now() >= t) {
                return Ok(Pass::OutOfTime);
            }
        }
        Ok(if progressed {
            Pass::Progressed
        } else {
            Pass::Waiting(None)
        })
    }

    /// Records what a send of `group` (one alert, or the alerts of one digest) did, in one
    /// transaction: delivered, rescheduled for the recipients still owed it while a retry may
    /// succeed (returns true: the queue waits), dead letters for what failed for good — naming
    /// the recipients when the sink's others got it.
    async fn settle(
        &mut self,
        group: &[(OutboxKey, OutboxEntry)],
        recipients: &[String],
        outcome: Outcome,
    ) -> Result<bool, StoreError> {
        let (sink, cx) = (&*self.sink, self.cx);
        let plan = plan(group, recipients, outcome, cx.policy);
        let (_, head) = &group[0];
        let n = group.len() as u64;
        if plan.failed {
            cx.meter.error();
        }
        let settled: Vec<(OutboxKey, Settle)> = match &plan.next {
            Next::Again {
                delay,
                error,
                left,
                attempts,
            } => {
                let left = (!recipients.is_empty()).then(|| left.clone());
                let settled = group.iter().enumerate().map(|(i, (key, entry))| {
                    let mut next = entry.clone();
                    next.to.clone_from(&left);
                    if i == 0 {
                        // The head carries the backoff; the rest of a digest waits behind it.
                        next.attempts = *attempts;
                        next.next_attempt_ms = wall_ms() + delay.as_millis() as TimeMs;
                        next.last_error = Some(error.clone());
                    }
                    (key.clone(), Settle::Again(Box::new(next)))
                });
                self.done.retried += 1;
                tracing::warn!(
                    sink = sink.name(),
                    alert = %head.alert.id,
                    alerts = n,
                    attempts,
                    owed = ?left,
                    retry_in_ms = delay.as_millis() as u64,
                    %error,
                    "Delivery failed; retrying later."
                );
                settled.collect()
            }
            next @ (Next::Sent | Next::Dead) => {
                let settle = match next {
                    Next::Sent => Settle::Sent,
                    _ => Settle::Dead,
                };
                group
                    .iter()
                    .map(|(k, _)| (k.clone(), settle.clone()))
                    .collect()
            }
        };
        for failure in &plan.failures {
            tracing::error!(
                sink = sink.name(),
                alert = %head.alert.id,
                alerts = n,
                recipients = ?failure.recipients,
                attempts = head.attempts + 1,
                error = %failure.error,
                "Delivery failed for good; the alert is now a dead letter for these recipients (all when none are named)."
            );
        }
        cx.store.settle(&settled, &plan.failures, wall_ms())?;
        self.done.failed += n * plan.failures.len() as u64;
        if matches!(plan.next, Next::Sent) {
            self.done.sent += n;
            cx.meter.delivered(n);
        }
        if matches!(plan.next, Next::Sent) || plan.progressed {
            // Durable before the next send: a kill repeats at most the message in flight.
            cx.store.flush().await?;
        }
        Ok(matches!(plan.next, Next::Again { .. }))
    }
}

/// One alert with its chart, or the alerts of one digest as one message: to the recipients the
/// head is still owed to when the sink has several, else through the plain sends.
async fn send_group<S: Sink>(
    sink: &mut S,
    group: &[(OutboxKey, OutboxEntry)],
    recipients: &[String],
) -> Outcome {
    let alerts: Vec<Alert>;
    let message = match group {
        [(_, entry)] => Message::Alert(&entry.alert, entry.chart.as_ref()),
        digest => {
            alerts = digest.iter().map(|(_, e)| e.alert.clone()).collect();
            Message::Digest(&alerts)
        }
    };
    if !recipients.is_empty() {
        let to = group[0].1.to.as_deref().unwrap_or(recipients);
        return sink.send_to(message, to).await;
    }
    let sent = match message {
        Message::Alert(alert, chart) => sink.send_with_chart(alert, chart).await,
        Message::Digest(alerts) => sink.send_digest(alerts).await,
    };
    match sent {
        Ok(()) => Outcome::default(),
        Err(error) => Outcome::stopped(error),
    }
}

/// Runs a send, cut off at the shutdown deadline when there is one (`None`: the deadline passed).
async fn bounded<T, F: Future<Output = T>>(stop_at: Option<Instant>, send: F) -> Option<T> {
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
