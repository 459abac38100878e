//! What a send did to the entries it carried (a [`Plan`] the worker settles in one transaction:
//! delivered, owed to the recipients that still lack it, or dead letters), and which entries go
//! out together (a digest's run, after its bar's gather window). Pure: no store, no clock (the
//! time is an argument), no I/O.

use std::time::Duration;

use super::{RetryPolicy, fnv};
use crate::model::{AlertKind, TimeMs};
use crate::notify::{Outcome, Sink, SinkError};
use crate::store::{Failure, OutboxEntry, OutboxKey};

/// What becomes of the entries of one send.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Plan {
    pub(super) next: Next,
    /// Dead letters to add for each entry.
    pub(super) failures: Vec<Failure>,
    /// Some recipient got it on this send.
    pub(super) progressed: bool,
    /// Something failed (for the error meter).
    pub(super) failed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Next {
    /// Settled for every recipient.
    Sent,
    /// Owed to `left` (the recipients that still lack it) after `delay`.
    Again {
        delay: Duration,
        error: String,
        left: Vec<String>,
        attempts: u32,
    },
    /// Failed for good and nobody got it: one dead letter for the whole sink.
    Dead,
}

/// Decides what a send's `outcome` does to `group`, whose head says who is still owed it (its
/// `to`, else every one of `recipients`; a sink without recipients is one).
pub(super) fn plan(
    group: &[(OutboxKey, OutboxEntry)],
    recipients: &[String],
    outcome: Outcome,
    policy: RetryPolicy,
) -> Plan {
    let (_, head) = &group[0];
    let owed = head.to.as_deref().unwrap_or(recipients);
    let settled = |r: &String| {
        outcome.delivered.contains(r) || outcome.refused.iter().any(|(name, _)| name == r)
    };
    let left: Vec<String> = owed.iter().filter(|r| !settled(r)).cloned().collect();
    let mut failures: Vec<Failure> = outcome
        .refused
        .iter()
        .map(|(r, e)| Failure {
            recipients: vec![r.clone()],
            error: e.to_string(),
        })
        .collect();
    let failed = outcome.stopped.is_some() || !failures.is_empty();
    let progressed = !outcome.delivered.is_empty();
    let attempts = head.attempts + 1;
    match outcome.stopped {
        Some(error) if error.is_retriable() && attempts < policy.max_attempts => {
            let retry_after = match &error {
                SinkError::Retry { after, .. } => *after,
                SinkError::Permanent { .. } => None,
            };
            let seed = fnv(head.alert.id.as_str()) ^ u64::from(attempts);
            let next = Next::Again {
                delay: policy.delay(attempts, retry_after, seed),
                error: error.to_string(),
                left,
                attempts,
            };
            return Plan {
                next,
                failures,
                progressed,
                failed,
            };
        }
        Some(error) => failures.push(Failure {
            recipients: if recipients.is_empty() {
                Vec::new()
            } else {
                left
            },
            error: error.to_string(),
        }),
        None => {}
    }
    // Nobody has it (a fresh entry no recipient got): one dead letter for the whole sink, so a
    // retry goes to every recipient and the sent log never claims it.
    if !failures.is_empty() && head.to.is_none() && !progressed {
        let errors: Vec<&str> = failures.iter().map(|f| f.error.as_str()).collect();
        let error = errors.join("; ");
        let failures = vec![Failure {
            recipients: Vec::new(),
            error,
        }];
        return Plan {
            next: Next::Dead,
            failures,
            progressed,
            failed,
        };
    }
    Plan {
        next: Next::Sent,
        failures,
        progressed,
        failed,
    }
}

/// The gathering of the bar at the head of the queue: a sink that digests lets a bar's alerts
/// gather for its window after it first finds one of them due, so a close's burst goes out as
/// one digest rather than one alert alone and a digest of the rest. Bounded: once the window
/// has passed, the bar's alerts (late ones too) go at once.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(super) struct Gather {
    /// The bar (alert time) whose window is open or past.
    pub(super) bar: Option<TimeMs>,
    pub(super) until: TimeMs,
}

impl Gather {
    /// `Some(until)` while the head `entry` waits for its bar to gather. Never for a zero
    /// window, a daily summary (never digested) or a retry (it waited before its first try).
    pub(super) fn hold(
        &mut self,
        window: Duration,
        entry: &OutboxEntry,
        now: TimeMs,
    ) -> Option<TimeMs> {
        let alert = &entry.alert;
        if window.is_zero() || alert.kind() == AlertKind::DailySummary || entry.attempts > 0 {
            return None;
        }
        if self.bar != Some(alert.time_ms) {
            self.bar = Some(alert.time_ms);
            self.until = now + window.as_millis() as TimeMs;
        }
        (now < self.until).then_some(self.until)
    }
}

/// How many entries from the head of `queue` go out as one digest: the due entries of the head's
/// bar still owed to the same recipients, when the sink digests and they are at least its
/// minimum; 0 otherwise (send the head alone).
pub(super) fn digest_run<S: Sink>(
    sink: &S,
    queue: &[(OutboxKey, OutboxEntry)],
    now: TimeMs,
) -> usize {
    let Some(min) = sink.digest_min() else {
        return 0;
    };
    let head = &queue[0].1;
    let digestible = |e: &OutboxEntry| {
        e.alert.kind() != AlertKind::DailySummary
            && e.alert.time_ms == head.alert.time_ms
            && e.next_attempt_ms <= now
            && e.to == head.to
    };
    let run = queue.iter().take_while(|(_, e)| digestible(e)).count();
    if run >= min.max(2) { run } else { 0 }
}
