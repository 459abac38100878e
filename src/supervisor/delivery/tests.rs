//! The delivery worker against a real store and scripted sinks: transient failures retry until
//! they succeed, permanent ones become dead letters while other sinks deliver everything, a
//! blocked chat dead-letters only its part, a repeat already in the sent log is dropped, a bar's
//! burst gathers into one digest, and backoff doubles, caps and honours retry-after.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::model::testing::{alert, temp_store};
use crate::model::{AlertId, AlertKind};
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
    gather: Duration,
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
            gather: Duration::ZERO,
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

    fn digest_gather(&self) -> Duration {
        self.gather
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
    let policy = fast(max_attempts);
    let workers: Vec<_> = sinks
        .into_iter()
        .map(|sink| {
            let cx = DeliveryContext::new(store.clone(), policy, stopped.clone());
            Box::pin(deliver(sink, cx))
        })
        .collect();
    side_by_side(workers).await
}

/// Retries in milliseconds, `max_attempts` of them.
fn fast(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial: Duration::from_millis(1),
        max: Duration::from_millis(5),
    }
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
    let cx = DeliveryContext::new(store.clone(), fast(5), stopped());
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

/// A sink of three chats: chat "3" has blocked the bot, chat "2" hits flood control on its
/// first `flaky` sends; records what each chat got.
#[derive(Debug, Clone)]
struct Chats {
    flaky: Arc<Mutex<u32>>,
    got: Arc<Mutex<Vec<(String, AlertId)>>>,
}

impl Sink for Chats {
    fn name(&self) -> &str {
        "telegram"
    }

    async fn send(&mut self, _alert: &Alert) -> Result<(), SinkError> {
        unreachable!("a sink with recipients is sent to per recipient")
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    fn recipients(&self) -> Vec<String> {
        ["1", "2", "3"].map(String::from).to_vec()
    }

    async fn send_to(&mut self, message: Message<'_>, to: &[String]) -> Outcome {
        let Message::Alert(alert, _) = message else {
            unreachable!("no digests here")
        };
        let mut outcome = Outcome::default();
        for chat in to {
            match chat.as_str() {
                "3" => {
                    let message = "chat 3: Forbidden: bot was blocked by the user".to_owned();
                    outcome
                        .refused
                        .push((chat.clone(), SinkError::Permanent { message }));
                }
                "2" if *self.flaky.lock().unwrap() > 0 => {
                    *self.flaky.lock().unwrap() -= 1;
                    outcome.stopped = Some(retry("429"));
                    return outcome;
                }
                _ => {
                    let got = (chat.clone(), alert.id.clone());
                    self.got.lock().unwrap().push(got);
                    outcome.delivered.push(chat.clone());
                }
            }
        }
        outcome
    }
}

#[tokio::test]
async fn a_blocked_chat_dead_letters_only_its_part_and_a_retry_skips_chats_done() {
    let (_dir, store) = temp_store();
    let chats = Chats {
        flaky: Arc::new(Mutex::new(2)),
        got: Arc::default(),
    };
    let alerts: Vec<Routed> = (0..3)
        .map(|i| {
            Routed::new(
                alert(AlertKind::RegimeChange).at(i).build(),
                vec!["telegram".into()],
            )
        })
        .collect();
    store.commit(&Commit::alerts(&alerts)).unwrap();
    let cx = DeliveryContext::new(store.clone(), fast(5), stopped());
    let done = deliver(chats.clone(), cx).await.unwrap();
    let got = chats.got.lock().unwrap().clone();
    for chat in ["1", "2"] {
        let ids: Vec<AlertId> = got
            .iter()
            .filter(|(c, _)| c == chat)
            .map(|(_, id)| id.clone())
            .collect();
        let want: Vec<AlertId> = alerts.iter().map(|r| r.alert.id.clone()).collect();
        assert_eq!(ids, want, "chat {chat}: every alert once, in order");
    }
    assert_eq!(
        (done.sent, done.failed, done.retried),
        (3, 3, 2),
        "{done:?}"
    );
    let letters = store.dead_letters().unwrap();
    assert_eq!(letters.len(), 3, "{letters:?}");
    assert!(
        letters
            .iter()
            .all(|d| d.recipients == ["3"] && d.error.contains("blocked"))
    );
    assert!(store.outbox_depth().unwrap().is_empty());
    assert!(
        alerts
            .iter()
            .all(|r| store.is_sent("telegram", &r.alert.id).unwrap())
    );
}

/// A send's row: recipients, owed before, delivered, refused, stopped (retriable?), attempts so
/// far, the expected next step and dead letters' recipients.
type Case = (
    &'static [&'static str],
    Option<&'static [&'static str]>,
    &'static [&'static str],
    &'static [&'static str],
    Option<bool>,
    u32,
    Expect,
    &'static [&'static [&'static str]],
);

#[derive(Debug, PartialEq)]
enum Expect {
    Sent,
    Again(&'static [&'static str]),
    Dead,
}

#[test]
fn what_a_send_does_to_its_entries() {
    use Expect::*;
    let names = |r: &[&str]| r.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();
    let permanent = || SinkError::Permanent {
        message: "blocked".into(),
    };
    // (recipients, owed before, delivered, refused, stopped: None / retry / permanent,
    //  attempts so far, what becomes of it, dead letters' recipients)
    #[rustfmt::skip]
    let cases: [Case; 10] = [
        (&[], None, &[], &[], None, 0, Sent, &[]),
        (&[], None, &[], &[], Some(true), 0, Again(&[]), &[]),
        (&[], None, &[], &[], Some(true), 4, Dead, &[&[]]),
        (&[], None, &[], &[], Some(false), 0, Dead, &[&[]]),
        (&["1", "2", "3"], None, &["1", "2", "3"], &[], None, 0, Sent, &[]),
        (&["1", "2", "3"], None, &["1", "2"], &["3"], None, 0, Sent, &[&["3"]]),
        (&["1", "2", "3"], None, &["1"], &["3"], Some(true), 0, Again(&["2"]), &[&["3"]]),
        (&["1", "2", "3"], Some(&["2"]), &[], &[], Some(true), 4, Sent, &[&["2"]]),
        (&["1", "2", "3"], None, &[], &["1", "2", "3"], None, 0, Dead, &[&[]]),
        (&["1", "2", "3"], Some(&["3"]), &["3"], &[], None, 0, Sent, &[]),
    ];
    let policy = RetryPolicy {
        max_attempts: 5,
        initial: Duration::from_millis(1),
        max: Duration::from_millis(5),
    };
    for (i, (recipients, owed, delivered, refused, stopped, attempts, expect, letters)) in
        cases.into_iter().enumerate()
    {
        let mut entry = OutboxEntry::new(alert(AlertKind::RegimeChange).build());
        entry.to = owed.map(names);
        entry.attempts = attempts;
        let group = [(
            OutboxKey {
                sink: "telegram".into(),
                seq: 1,
            },
            entry,
        )];
        let outcome = Outcome {
            delivered: names(delivered),
            refused: refused
                .iter()
                .map(|r| ((*r).to_owned(), permanent()))
                .collect(),
            stopped: stopped.map(|retriable| if retriable { retry("429") } else { permanent() }),
        };
        let plan = plan(&group, &names(recipients), outcome, policy);
        let got = match &plan.next {
            Next::Sent => Sent,
            Next::Dead => Dead,
            Next::Again { left, .. } => {
                assert_eq!(
                    left,
                    &names(match expect {
                        Again(l) => l,
                        _ => &[],
                    }),
                    "case {i}"
                );
                match expect {
                    Again(l) => Again(l),
                    _ => Again(&[]),
                }
            }
        };
        assert_eq!(got, expect, "case {i}");
        let recipients: Vec<Vec<String>> =
            plan.failures.iter().map(|f| f.recipients.clone()).collect();
        let want: Vec<Vec<String>> = letters.iter().map(|l| names(l)).collect();
        assert_eq!(recipients, want, "case {i}");
    }
}

/// A gather row: window (s), the window open or past (its bar, until), the head's bar, its
/// attempts, now, and until when it is held.
type GatherCase = (
    u64,
    Option<(TimeMs, TimeMs)>,
    TimeMs,
    u32,
    TimeMs,
    Option<TimeMs>,
);

#[test]
fn a_bar_gathers_for_its_window_once() {
    // (window s, gathering bar and until, head's bar, its attempts, now, held until)
    #[rustfmt::skip]
    let cases: [GatherCase; 8] = [
        (10, None, 500, 0, 1_000, Some(11_000)),                // a bar's first alert: the window opens
        (10, Some((500, 11_000)), 500, 0, 5_000, Some(11_000)), // within it: held
        (10, Some((500, 11_000)), 500, 0, 11_000, None),        // the window is over: it goes
        (10, Some((500, 11_000)), 500, 0, 90_000, None),        // a late alert of that bar: at once
        (10, Some((500, 11_000)), 800, 0, 90_000, Some(100_000)), // the next bar: its own window
        (0, None, 500, 0, 1_000, None),                         // no window
        (10, None, 500, 2, 1_000, None),                        // a retry waited before
        (60, None, 500, 0, 1_000, Some(61_000)),                // never longer than the window
    ];
    for (i, (window, state, bar, attempts, now, want)) in cases.into_iter().enumerate() {
        let mut gather = state.map_or(Gather::default(), |(bar, until)| Gather {
            bar: Some(bar),
            until,
        });
        let mut entry = OutboxEntry::new(alert(AlertKind::RegimeChange).at(bar).build());
        entry.attempts = attempts;
        let held = gather.hold(Duration::from_secs(window), &entry, now);
        assert_eq!(held, want, "case {i}");
    }
    // The daily summary is never digested, so it never waits.
    let summary = OutboxEntry::new(alert(AlertKind::DailySummary).at(500).build());
    assert_eq!(
        Gather::default().hold(Duration::from_secs(10), &summary, 0),
        None
    );
}

/// A digesting sink with a gather window holds a bar's first alert while the engine runs, and
/// sends the whole burst as one digest; once the engine has drained it waits no more.
#[tokio::test]
async fn a_burst_gathers_into_one_digest_while_the_engine_runs() {
    let (_dir, store) = temp_store();
    let burst: Vec<Routed> = (0..4)
        .map(|i| {
            let a = alert(AlertKind::RegimeChange).at(1).trigger(i);
            Routed::new(a.build(), vec!["telegram".into()])
        })
        .collect();
    let mut sink = Scripted::new("telegram", vec![], false);
    sink.digest = Some(3);
    sink.gather = Duration::from_secs(60);
    let (shutdown, wake) = (CancellationToken::new(), Arc::new(Notify::new()));
    let cx = DeliveryContext {
        wake: Arc::clone(&wake),
        hurry: CancellationToken::new(),
        ..DeliveryContext::new(
            store.clone(),
            RetryPolicy {
                max_attempts: 5,
                initial: Duration::from_millis(1),
                max: Duration::from_millis(5),
            },
            shutdown.clone(),
        )
    };
    let engine = async {
        store.commit(&Commit::alerts(&burst[..1])).unwrap();
        wake.notify_one();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(sink.got().is_empty(), "the first alert waits for its bar");
        store.commit(&Commit::alerts(&burst[1..])).unwrap();
        wake.notify_one();
        // The engine has drained: nothing more to gather.
        shutdown.cancel();
    };
    let (done, ()) = tokio::join!(deliver(sink.clone(), cx), engine);
    let ids: Vec<AlertId> = burst.iter().map(|r| r.alert.id.clone()).collect();
    assert_eq!(sink.groups.lock().unwrap().clone(), vec![ids], "one digest");
    assert_eq!(done.unwrap().sent, 4);
}
