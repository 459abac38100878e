//! The outbox, the sent log and the dead letters.

use super::*;

#[test]
fn the_outbox_delivers_in_order_per_sink() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("state"));
    let a: Vec<Alert> = (1..=4)
        .map(|t| alert(AlertKind::ClusterEdge).at(t).build())
        .collect();
    commit_alerts(&store, &routed(&a[..2], &["tele", "telegram"]));
    commit_alerts(&store, &routed(&a[2..], &["telegram"]));

    // `tele` is a prefix of `telegram`: the 0x00 separator keeps them apart.
    let depth = store.outbox_depth().unwrap();
    assert_eq!(
        depth.into_iter().collect::<Vec<_>>(),
        [("tele".to_owned(), 2), ("telegram".to_owned(), 4)]
    );
    let pending = store.pending("telegram", 3).unwrap();
    let times: Vec<TimeMs> = pending.iter().map(|(_, e)| e.alert.time_ms).collect();
    assert_eq!(times, [1, 2, 3]);
    assert!(pending.windows(2).all(|w| w[0].0 < w[1].0));

    // Sent: gone from the outbox, in the sent log for that sink only.
    let (key, entry) = &pending[0];
    assert!(!store.is_sent("telegram", &entry.alert.id).unwrap());
    store.mark_sent(key, 1_000).unwrap();
    store.mark_sent(key, 2_000).unwrap(); // gone already: nothing happens
    assert!(store.is_sent("telegram", &entry.alert.id).unwrap());
    assert!(!store.is_sent("tele", &entry.alert.id).unwrap());
    assert_eq!(store.pending("telegram", 1).unwrap()[0].1.alert.time_ms, 2);
    assert_eq!(store.recent_sent(5).unwrap()[0].sent_at, 1_000);

    // A repeat after a crash is dropped without a send.
    store.drop_pending(&pending[1].0).unwrap();
    assert_eq!(store.outbox_depth().unwrap()["telegram"], 2);
}

#[test]
fn reschedule_persists_and_dead_letter_moves() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    let (key, first) = {
        let store = open(&path);
        commit_alerts(
            &store,
            &routed(
                &[alert(AlertKind::SetupEntry).symbol("SOLUSDT").at(5).build()],
                &["email"],
            ),
        );
        let (key, entry) = store.pending("email", 10).unwrap().remove(0);
        let next = OutboxEntry {
            attempts: 2,
            next_attempt_ms: 9_000,
            last_error: Some("smtp: 421 try later".to_owned()),
            ..entry
        };
        store.reschedule(&key, &next).unwrap();
        (key, next)
    };
    let store = open(&path);
    assert_eq!(
        store.pending("email", 10).unwrap(),
        [(key.clone(), first.clone())]
    );

    store
        .dead_letter(&key, "smtp: 550 no such user", 10_000)
        .unwrap();
    assert!(store.outbox_depth().unwrap().is_empty());
    let letters = store.dead_letters().unwrap();
    assert_eq!(
        letters,
        [DeadLetter {
            sink: "email".to_owned(),
            alert: first.alert.clone(),
            error: "smtp: 550 no such user".to_owned(),
            at: 10_000,
            attempts: 3,
            recipients: Vec::new(),
            chart: None,
        }]
    );
    // Neither resurrects an entry that is gone.
    store.reschedule(&key, &first).unwrap();
    store.dead_letter(&key, "again", 11_000).unwrap();
    assert!(store.outbox_depth().unwrap().is_empty());
    assert_eq!(store.dead_letters().unwrap().len(), 1);
}

#[test]
fn progress_per_recipient_persists_and_dead_letters_move_back_or_go() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    let a = alert(AlertKind::ClusterEdge)
        .symbol("ETHUSDT")
        .at(7)
        .build();
    let names = |r: &[&str]| r.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    {
        let store = open(&path);
        commit_alerts(&store, &routed(std::slice::from_ref(&a), &["telegram"]));
        // Chat 1 got it, chat 3 blocked the bot, chat 2 hit flood control: owed to chat 2 only.
        let (key, entry) = store.pending("telegram", 1).unwrap().remove(0);
        let next = OutboxEntry {
            attempts: 1,
            next_attempt_ms: 6_000,
            to: Some(names(&["2"])),
            ..entry
        };
        let blocked = Failure {
            recipients: names(&["3"]),
            error: "chat 3: bot was blocked by the user".to_owned(),
        };
        store
            .settle(&[(key, Settle::Again(Box::new(next)))], &[blocked], 5_000)
            .unwrap();
    }
    let store = open(&path);
    let (key, entry) = store.pending("telegram", 1).unwrap().remove(0);
    assert_eq!((entry.to, entry.attempts), (Some(names(&["2"])), 1));
    let letters = store.dead_letters_by_id().unwrap();
    assert_eq!(letters.len(), 1);
    let (blocked_id, letter) = &letters[0];
    assert_eq!(
        (letter.recipients.clone(), letter.attempts),
        (names(&["3"]), 1)
    );
    assert!(!store.is_sent("telegram", &a.id).unwrap());
    store.mark_sent(&key, 8_000).unwrap();
    assert!(store.is_sent("telegram", &a.id).unwrap());

    // Retried: back in the outbox, due at once, owed to chat 3 only; a second retry finds nothing.
    assert_eq!(store.retry_dead(&[*blocked_id]).unwrap(), 1);
    assert_eq!(store.retry_dead(&[*blocked_id]).unwrap(), 0);
    assert!(store.dead_letters().unwrap().is_empty());
    let (key, entry) = store.pending("telegram", 5).unwrap().remove(0);
    assert_eq!(
        (entry.to, entry.attempts, entry.next_attempt_ms, entry.alert),
        (Some(names(&["3"])), 0, 0, a)
    );

    // Dropped: gone for good; unknown ids are skipped.
    store
        .dead_letter(&key, "chat 3: blocked again", 9_000)
        .unwrap();
    let (id, _) = store.dead_letters_by_id().unwrap().remove(0);
    assert_eq!(store.drop_dead(&[id, id + 1_000]).unwrap(), 1);
    assert!(store.dead_letters().unwrap().is_empty());
    assert!(store.outbox_depth().unwrap().is_empty());
}

#[test]
fn the_sent_log_prunes_and_lists_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("state"));
    // (sink, alert time, sent_at)
    let sends = [
        ("file", 1, 300),
        ("telegram", 2, 100),
        ("file", 3, 200),
        ("email", 4, 300),
        ("file", 5, 50),
    ];
    let alerts: Vec<Alert> = sends
        .iter()
        .map(|(_, t, _)| alert(AlertKind::MidlineCross).at(*t).build())
        .collect();
    for ((sink, _, sent_at), a) in sends.iter().zip(&alerts) {
        commit_alerts(&store, &routed(std::slice::from_ref(a), &[sink]));
        let (key, _) = store.pending(sink, 1).unwrap().remove(0);
        store.mark_sent(&key, *sent_at).unwrap();
    }
    let recent: Vec<(String, TimeMs, TimeMs)> = store
        .recent_sent(4)
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.sink,
                alerts
                    .iter()
                    .find(|a| a.id == r.id)
                    .expect("known id")
                    .time_ms,
                r.sent_at,
            )
        })
        .collect();
    let want = [
        ("file", 1, 300),
        ("email", 4, 300),
        ("file", 3, 200),
        ("telegram", 2, 100),
    ];
    assert_eq!(recent, want.map(|(s, t, at)| (s.to_owned(), t, at)));

    assert_eq!(store.prune_sent(200).unwrap(), 2);
    assert_eq!(store.prune_sent(200).unwrap(), 0);
    let left: Vec<TimeMs> = store
        .recent_sent(10)
        .unwrap()
        .iter()
        .map(|r| r.sent_at)
        .collect();
    assert_eq!(left, [300, 300, 200]);
    assert!(!store.is_sent("file", &alerts[4].id).unwrap());
    assert!(store.is_sent("file", &alerts[2].id).unwrap());
    // The watermark's count of deliveries only grows: pruning the log leaves it.
    assert_eq!(store.marks().unwrap().sent, 5);
}
