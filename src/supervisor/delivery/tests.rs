//! The delivery worker against a real store and scripted sinks: transient failures retry until
//! they succeed, permanent ones become dead letters while other sinks deliver everything, a
//! repeat already in the sent log is dropped, and backoff doubles, caps and honours retry-after.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::model::AlertId;
use crate::model::testing::{alert, temp_store};
use crate::notify::{Sink, SinkError};
use crate::store::{Commit, Routed, Store};

/// A sink that answers from a script (then succeeds) and records what it delivered.
#[derive(Debug, Clone)]
struct Scripted {
    name: &'static str,
    script: Arc<Mutex<VecDeque<Option<SinkError>>>>,
    permanent: bool,
    got: Arc<Mutex<Vec<AlertId>>>,
    /// Digest runs of at least this many; each digest is recorded as one group.
    digest: Option<usize>,
    groups: Arc<Mutex<Vec<Vec<AlertId>>>>,
}

impl Scripted {
    fn new(name: &'static str, failures: Vec<SinkError>, permanent: bool) -> Scripted {
        Scripted {
            name,
            script: Arc::new(Mutex::new(failures.into_iter().map(Some).collect())),
            permanent,
            got: Arc::default(),
            digest: None,
            groups: Arc::default(),
        }
    }

    fn got(&self) -> Vec<AlertId> {
        self.got.lock().unwrap().clone()
    }
}

impl Sink for Scripted {
    fn name(&self) -> &str {
        self.name
    }

    async fn send(&mut self, alert: &Alert) -> Result<(), SinkError> {
        if self.permanent {
            return Err(SinkError::Permanent {
                message: "403 Forbidden: bot was blocked by the user".into(),
            });
        }
        if let Some(Some(error)) = self.script.lock().unwrap().pop_front() {
            return Err(error);
        }
        self.got.lock().unwrap().push(alert.id.clone());
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    fn digest_min(&self) -> Option<usize> {
        self.digest
    }

    async fn send_digest(&mut self, alerts: &[Alert]) -> Result<(), SinkError> {
        if let Some(Some(error)) = self.script.lock().unwrap().pop_front() {
            return Err(error);
        }
        let ids: Vec<AlertId> = alerts.iter().map(|a| a.id.clone()).collect();
        self.got.lock().unwrap().extend(ids.iter().cloned());
        self.groups.lock().unwrap().push(ids);
        Ok(())
    }
}

fn retry(message: &str) -> SinkError {
    SinkError::Retry {
        after: None,
        message: message.into(),
    }
}

/// Queues `n` alerts for every sink in `sinks`, then runs one worker per sink until the outbox
/// is drained or the deadline passes after a shutdown that is requested at once.
async fn run(store: &Store, sinks: Vec<Scripted>, n: i64, max_attempts: u32) -> Vec<Delivered> {
    let names: Vec<String> = sinks.iter().map(|s| s.name.to_owned()).collect();
    let alerts: Vec<Routed> = (0..n)
        .map(|i| Routed::new(alert(AlertKind::RegimeChange).at(i).build(), names.clone()))
        .collect();
    store.commit(&Commit::alerts(&alerts)).unwrap();
    let stopped = stopped();
    let policy = RetryPolicy {
        max_attempts,
        initial: Duration::from_millis(1),
        max: Duration::from_millis(5),
    };
    let workers: Vec<_> = sinks
        .into_iter()
        .map(|sink| {
            let cx = DeliveryContext {
                store: store.clone(),
                policy,
                wake: Arc::new(Notify::new()),
                shutdown: stopped.clone(),
                hurry: stopped.clone(),
                deadline: Duration::from_secs(5),
                meter: Arc::default(),
            };
            Box::pin(deliver(sink, cx))
        })
        .collect();
    side_by_side(workers).await
}

/// A shutdown requested at once: workers deliver what is queued, then stop.
fn stopped() -> CancellationToken {
    let token = CancellationToken::new();
    token.cancel();
    token
}

/// Polls every worker on this task until all have finished (side by side, without spawning),
/// and returns their results in order.
async fn side_by_side<F>(mut workers: Vec<Pin<Box<F>>>) -> Vec<Delivered>
where
    F: Future<Output = Result<Delivered, crate::store::StoreError>>,
{
    let mut done: Vec<Option<Delivered>> = workers.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        for (worker, slot) in workers.iter_mut().zip(done.iter_mut()) {
            if slot.is_none()
                && let Poll::Ready(result) = worker.as_mut().poll(cx)
            {
                *slot = Some(result.expect("the store stays available"));
            }
        }
        if done.iter().all(Option::is_some) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    done.into_iter().flatten().collect()
}

#[tokio::test]
async fn transient_failures_retry_until_delivered_in_order() {
    let (_dir, store) = temp_store();
    let flaky = Scripted::new(
        "telegram",
        vec![retry("502"), retry("timeout"), retry("429")],
        false,
    );
    let done = run(&store, vec![flaky.clone()], 5, 10).await;
    let ids: Vec<AlertId> = (0..5)
        .map(|i| alert(AlertKind::RegimeChange).at(i).build().id)
        .collect();
    assert_eq!(flaky.got(), ids, "every alert, in order, once");
    assert_eq!((done[0].sent, done[0].retried, done[0].failed), (5, 3, 0));
    assert!(store.outbox_depth().unwrap().is_empty());
    assert!(store.dead_letters().unwrap().is_empty());
    assert!(store.is_sent("telegram", &ids[0]).unwrap());
}

#[tokio::test]
async fn a_dead_sink_fills_dead_letters_while_the_others_deliver_everything() {
    let (_dir, store) = temp_store();
    let dead = Scripted::new("telegram", vec![], true);
    let healthy = Scripted::new("file", vec![], false);
    let tired = Scripted::new(
        "email",
        (0..9).map(|_| retry("421 try later")).collect(),
        false,
    );
    let done = run(
        &store,
        vec![dead.clone(), healthy.clone(), tired.clone()],
        4,
        3,
    )
    .await;
    assert_eq!(healthy.got().len(), 4, "the healthy sink is not held up");
    assert_eq!(
        (done[0].sent, done[0].failed),
        (0, 4),
        "blocked bot: dead letters at once"
    );
    // email: 3 attempts for alert 0 (dead), 3 for alert 1 (dead), then 3 failures left for
    // alert 2: 2 retries and a dead letter; alert 3 goes through.
    assert_eq!((done[2].sent, done[2].failed), (1, 3));
    let letters = store.dead_letters().unwrap();
    assert_eq!(letters.iter().filter(|d| d.sink == "telegram").count(), 4);
    assert_eq!(letters.iter().filter(|d| d.sink == "email").count(), 3);
    assert!(letters.iter().all(|d| !d.error.is_empty()));
    assert!(store.outbox_depth().unwrap().is_empty());
}

#[tokio::test]
async fn an_alert_already_in_the_sent_log_is_not_sent_again() {
    let (_dir, store) = temp_store();
    let sink = Scripted::new("file", vec![], false);
    run(&store, vec![sink.clone()], 2, 3).await;
    // The same alerts queued again (a restart that re-raised them): dropped, not re-sent.
    let done = run(&store, vec![sink.clone()], 2, 3).await;
    assert_eq!(sink.got().len(), 2);
    assert_eq!((done[0].sent, done[0].repeats), (0, 2));
}

#[tokio::test]
async fn alerts_of_one_bar_go_out_as_a_digest_in_order() {
    let (_dir, store) = temp_store();
    // Bar times of the queued alerts: a burst of 4 on bar 1, one on bar 2, 2 on bar 3.
    let times = [1, 1, 1, 1, 2, 3, 3];
    let alerts: Vec<Routed> = times
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let a = alert(AlertKind::RegimeChange).at(t).trigger(i);
            Routed::new(a.build(), vec!["telegram".into()])
        })
        .collect();
    store.commit(&Commit::alerts(&alerts)).unwrap();
    let mut sink = Scripted::new("telegram", vec![retry("429")], false);
    sink.digest = Some(3);
    let cx = DeliveryContext {
        store: store.clone(),
        policy: RetryPolicy {
            max_attempts: 5,
            initial: Duration::from_millis(1),
            max: Duration::from_millis(5),
        },
        wake: Arc::new(Notify::new()),
        shutdown: stopped(),
        hurry: stopped(),
        deadline: Duration::from_secs(5),
        meter: Arc::default(),
    };
    let done = deliver(sink.clone(), cx).await.unwrap();
    let ids: Vec<AlertId> = alerts.iter().map(|r| r.alert.id.clone()).collect();
    assert_eq!(sink.got(), ids, "every alert once, in order");
    let groups = sink.groups.lock().unwrap().clone();
    assert_eq!(
        groups,
        vec![ids[..4].to_vec()],
        "one digest for the burst; short runs go singly"
    );
    assert_eq!((done.sent, done.retried, done.failed), (7, 1, 0));
    assert!(store.outbox_depth().unwrap().is_empty());
}

#[test]
fn backoff_doubles_spreads_caps_and_yields_to_retry_after() {
    let p = RetryPolicy {
        max_attempts: 10,
        initial: Duration::from_secs(1),
        max: Duration::from_secs(60),
    };
    // (attempts, retry-after, seed, low ms, high ms)
    #[rustfmt::skip]
    let cases = [
        (1, None, 0, 800, 800),
        (1, None, 999, 1200, 1200),
        (2, None, 500, 1600, 2400),
        (4, None, 500, 6400, 9600),
        (9, None, 999, 60_000, 60_000),
        (30, None, 0, 48_000, 48_000),
        (3, Some(Duration::from_secs(17)), 0, 17_000, 17_000),
    ];
    for (attempts, after, seed, lo, hi) in cases {
        let ms = p.delay(attempts, after, seed).as_millis() as u64;
        assert!((lo..=hi).contains(&ms), "attempt {attempts}: {ms} ms");
    }
}
