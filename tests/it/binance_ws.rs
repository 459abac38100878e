//! The live market streams against a fake Binance on 127.0.0.1 (`support/fake_binance_ws.rs`):
//! accelerated bars with drops, stalls and garbage lose no closed bar and duplicate none once the
//! holes between the bars handed on are back-filled; bad frames are counted, never fatal; a silent link is replaced;
//! subscription changes ride the live connection, paced; a reconnect storm stays in budget.
//! Every test is bounded by [`harness::BOUND`].

mod harness;

use std::collections::BTreeSet;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness::{backfilled, client_config, kline, reconstruct, symbols, with_client};
use liqwave::source::binance::ws::{Counters, FrameKind, WsConfig, run_streams};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep};

use crate::support::fake_binance_ws::{BAR_MS, FakeBinance, FakeConfig, Fault, mix};

/// 50 pairs × 100 bars over three connections that roll over every 1.5 s, with a drop about
/// every eighth bar, two stalls and garbage: once the holes between them are back-filled from the
/// exchange's record, every pair's series is whole, with no bar twice.
#[tokio::test]
async fn faults_lose_no_closed_bar_and_duplicate_none() {
    const PAIRS: usize = 50;
    const BARS: u32 = 100;
    let mut fake_config = FakeConfig::new(PAIRS, BARS);
    let mut rng = 11u64;
    for k in 5..85 {
        rng = mix(rng);
        if rng.is_multiple_of(8) {
            fake_config.faults.push((k, Fault::Drop));
        }
    }
    fake_config
        .faults
        .extend([(30, Fault::Stall), (60, Fault::Stall)]);
    for k in [12, 40, 70] {
        fake_config
            .faults
            .extend([(k, Fault::Garbage), (k, Fault::Truncated)]);
    }
    let fake = FakeBinance::start(fake_config).await;
    let mut config = client_config(&fake, 20);
    config.rotate_after = Duration::from_millis(1500);
    let counters = Arc::new(Counters::default());
    let wanted: BTreeSet<String> = (0..PAIRS).map(kline).collect();
    let got = with_client(config, counters.clone(), symbols(0..PAIRS), |mut h| async {
        h.until_fake("every stream served", || fake.served().is_superset(&wanted))
            .await;
        fake.open_market();
        let last = i64::from(BARS) - 1;
        h.until("the last bar of every pair", |c| {
            (0..PAIRS).all(|i| c.has_bar(i, last))
        })
        .await;
        h.finish()
    })
    .await;
    let (missing, duplicate, backfilled) = reconstruct(&fake, &got, PAIRS);
    let faults = fake.record(|r| r.faults.clone());
    let applied = |f: Fault| faults.get(&f).copied().unwrap_or(0);
    let live: usize = got.bars.values().map(Vec::len).sum();
    println!(
        "{PAIRS} pairs x {BARS} bars: {live} live + {backfilled} back-filled in {} gaps; \
         drops {}, stalls {}, garbage {}, truncated {}; connections {}, reconnects {}, \
         rotations {}, stalls detected {}, faulty frames {}, copies dropped {}; \
         missing {missing}, duplicate {duplicate}",
        got.gaps().len(),
        applied(Fault::Drop),
        applied(Fault::Stall),
        applied(Fault::Garbage),
        applied(Fault::Truncated),
        fake.record(|r| r.connections),
        got.reconnects.len(),
        counters.rotations.load(Relaxed),
        counters.stalls.load(Relaxed),
        counters.faulty_frames(),
        counters.duplicates.load(Relaxed),
    );
    assert_eq!(
        (missing, duplicate),
        (0, 0),
        "missing and duplicate closed bars"
    );
    assert!(
        applied(Fault::Drop) >= 3,
        "the run must exercise drops: {faults:?}"
    );
    assert_eq!(applied(Fault::Stall), 2, "{faults:?}");
    assert!(
        backfilled > 0 && !got.gaps().is_empty(),
        "faults must cost live bars"
    );
    assert!(got.reconnects.len() >= 2, "{:?}", got.reconnects);
    // A stalled link is declared dead, or replaced by its roll-over first when that comes
    // sooner: the dedicated test below checks detection itself.
    assert!(counters.rotations.load(Relaxed) >= 1);
    let bad_sent = applied(Fault::Garbage) + applied(Fault::Truncated);
    assert!((1..=bad_sent).contains(&counters.faulty_frames()));
    assert!(got.marks > 0 && got.liquidations > 0);
    assert!(fake.record(|r| r.pongs) > 0, "the client answers pings");
}

/// Garbage, truncated, unknown-stream and bad-value frames are counted by kind and skipped: the
/// link stays up and no bar is lost.
#[tokio::test]
async fn bad_frames_are_counted_and_skipped() {
    let mut fake_config = FakeConfig::new(3, 20);
    for fault in [
        Fault::Garbage,
        Fault::Garbage,
        Fault::Garbage,
        Fault::Truncated,
        Fault::Truncated,
        Fault::UnknownStream,
        Fault::UnknownStream,
        Fault::BadValue,
        Fault::BadValue,
    ] {
        fake_config.faults.push((5, fault));
    }
    let fake = FakeBinance::start(fake_config).await;
    let counters = Arc::new(Counters::default());
    let config = client_config(&fake, 200);
    let got = with_client(config, counters.clone(), symbols(0..3), |mut h| async {
        h.until_fake("the connection", || fake.served().contains(&kline(2)))
            .await;
        fake.open_market();
        h.until("every bar", |c| (0..3).all(|i| c.count(i) == 20))
            .await;
        h.finish()
    })
    .await;
    let by_kind: Vec<(&str, u64)> = [
        FrameKind::Malformed,
        FrameKind::UnknownStream,
        FrameKind::BadValue,
    ]
    .into_iter()
    .map(|k| (k.as_str(), counters.frames(k)))
    .collect();
    assert_eq!(
        by_kind,
        [("malformed", 5), ("unknown_stream", 2), ("bad_value", 2)]
    );
    assert_eq!(counters.frames(FrameKind::Candle), 60);
    assert_eq!(fake.record(|r| r.connections), 1, "never reconnected");
    assert!(got.gaps().is_empty() && got.reconnects.is_empty());
}

/// A link that stays open but goes silent (`Stall`: nothing at all; `Mute`: pings and pongs but
/// no data) is declared dead after its timeout and replaced; the bars it missed come back as one
/// gap per pair.
#[tokio::test]
async fn a_silent_link_is_declared_dead_and_replaced() {
    for fault in [Fault::Stall, Fault::Mute] {
        let mut fake_config = FakeConfig::new(3, 40);
        fake_config.faults.push((10, fault));
        let fake = FakeBinance::start(fake_config).await;
        let counters = Arc::new(Counters::default());
        let mut config = client_config(&fake, 200);
        // A muted link keeps answering: only the data timeout can catch it.
        (config.silence_timeout, config.data_silence) = match fault {
            Fault::Stall => (Duration::from_millis(300), Duration::from_secs(60)),
            _ => (Duration::from_secs(60), Duration::from_millis(300)),
        };
        let got = with_client(config, counters.clone(), symbols(0..3), |mut h| async {
            h.until_fake("the connection", || fake.served().contains(&kline(2)))
                .await;
            fake.open_market();
            h.until("the last bar", |c| (0..3).all(|i| c.has_bar(i, 39)))
                .await;
            h.finish()
        })
        .await;
        assert_eq!(counters.stalls.load(Relaxed), 1, "{fault:?}");
        assert_eq!(fake.record(|r| r.connections), 2, "{fault:?}");
        assert_eq!(got.reconnects.len(), 1, "{fault:?}");
        assert_eq!(got.reconnects[0].0, symbols(0..3));
        assert_eq!(
            got.gaps().len(),
            3,
            "{fault:?}: one gap per pair: {:?}",
            got.gaps()
        );
        for (s, from, to) in &got.gaps() {
            let bars = (to - from) / BAR_MS + 1;
            // 300 ms of silence at 50 ms a bar, plus the reconnect: far less than the fake's 60 s.
            assert!(
                (4..=15).contains(&bars),
                "{fault:?} {s}: {bars} bars missed"
            );
        }
        assert_eq!(reconstruct(&fake, &got, 3), (0, 0, backfilled(&got)));
    }
}

/// Removing and adding pairs unsubscribes and subscribes on the live connection; a new
/// connection opens only for the pairs that no longer fit; the removed pair's bars stop.
#[tokio::test]
async fn subscription_changes_ride_the_live_connection() {
    let fake = FakeBinance::start(FakeConfig::new(10, 400)).await;
    let counters = Arc::new(Counters::default());
    // 8 streams a connection: the two all-market streams and six pairs.
    let config = client_config(&fake, 8);
    let got = with_client(config, counters.clone(), symbols(0..5), |mut h| async {
        h.until_fake("the connection", || fake.served().contains(&kline(4)))
            .await;
        fake.open_market();
        h.until("two bars of each pair", |c| (0..5).all(|i| c.count(i) >= 2))
            .await;
        let mut next = symbols(1..8);
        next.reverse();
        h.symbols.send_replace(next);
        h.until("bars of the new pairs", |c| (5..8).all(|i| c.count(i) >= 2))
            .await;
        let (removed, kept) = (h.got.count(0), h.got.count(1));
        h.until("three more bars", |c| c.count(1) >= kept + 3).await;
        assert_eq!(h.got.count(0), removed, "the removed pair's bars stopped");
        h.finish()
    })
    .await;
    let (connections, first_alive, controls) = fake.record(|r| {
        let controls: Vec<String> = r
            .controls
            .iter()
            .map(|c| format!("{} {} {}", c.connection, c.method, c.params.join(" ")))
            .collect();
        (r.connections, r.live.contains_key(&1), controls)
    });
    assert_eq!(
        connections, 2,
        "one more connection for the pair that did not fit"
    );
    assert!(first_alive, "the first connection was never replaced");
    assert_eq!(
        controls,
        [
            "1 UNSUBSCRIBE s000usdt@kline_5m".to_owned(),
            "1 SUBSCRIBE s005usdt@kline_5m s006usdt@kline_5m".to_owned(),
        ]
    );
    assert_eq!(counters.frames(FrameKind::Ack), 2);
    assert!(got.gaps().is_empty() && got.reconnects.is_empty());
}

/// Thirty changes 20 ms apart are merged and paced: control messages arrive at least the
/// control interval apart, never more than 10 in a second, on the one live connection.
#[tokio::test]
async fn control_messages_are_paced() {
    let fake = FakeBinance::start(FakeConfig::new(40, 1)).await;
    let counters = Arc::new(Counters::default());
    let config = client_config(&fake, 64);
    let interval = config.control_interval;
    with_client(config, counters.clone(), symbols(0..1), |mut h| async {
        h.until_fake("the connection", || fake.served().contains(&kline(0)))
            .await;
        for n in 2..=31 {
            h.symbols.send_replace(symbols(0..n));
            sleep(Duration::from_millis(20)).await;
        }
        let all: BTreeSet<String> = (0..31).map(kline).collect();
        h.until_fake("every stream served", || fake.served().is_superset(&all))
            .await;
        h.finish()
    })
    .await;
    let (connections, times) = fake.record(|r| {
        (
            r.connections,
            r.controls.iter().map(|c| c.at).collect::<Vec<_>>(),
        )
    });
    assert_eq!(connections, 1);
    assert!((2..30).contains(&times.len()), "{} messages", times.len());
    for pair in times.windows(2) {
        let apart = pair[1] - pair[0];
        assert!(
            apart >= interval * 3 / 4,
            "two control messages {apart:?} apart"
        );
    }
    for (i, &t) in times.iter().enumerate() {
        let in_second = times[i..]
            .iter()
            .take_while(|&&u| u - t < Duration::from_secs(1));
        assert!(in_second.count() <= 10);
    }
}

/// Every handshake fails and the backoff is 1 ms: the shared budget (10 attempts a second here)
/// still holds for all three connections together.
#[tokio::test]
async fn a_reconnect_storm_stays_within_the_attempt_budget() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/market", listener.local_addr().unwrap());
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let refuse = {
        let accepted = accepted.clone();
        async move {
            while let Ok((tcp, _)) = listener.accept().await {
                accepted.lock().unwrap().push(Instant::now());
                drop(tcp);
            }
        }
    };
    let mut config = WsConfig::new(url, 2);
    config.backoff_base = Duration::from_millis(1);
    config.backoff_cap = Duration::from_millis(1);
    config.max_attempts = 10;
    config.attempt_window = Duration::from_secs(1);
    let counters = Arc::new(Counters::default());
    let run = with_client(config, counters.clone(), symbols(0..3), |h| async {
        sleep(Duration::from_millis(1500)).await;
        h.finish()
    });
    tokio::select! {
        _ = run => {}
        () = refuse => unreachable!("the listener never stops"),
    }
    let attempts = counters.attempts.load(Relaxed);
    assert!(
        (11..=20).contains(&attempts),
        "{attempts} attempts in 1.5 s"
    );
    let times = accepted.lock().unwrap().clone();
    for (i, &t) in times.iter().enumerate() {
        let in_window = times[i..]
            .iter()
            .take_while(|&&u| u - t < Duration::from_millis(990));
        assert!(
            in_window.count() <= 10,
            "more than 10 attempts within a second"
        );
    }
}

/// The supervisor spawns the streams: their future must be `Send`.
#[test]
fn the_streams_future_is_send() {
    fn send<T: Send>(_: &T) {}
    let (_symbols, symbols_rx) = watch::channel(Vec::new());
    let (tx, _rx) = mpsc::channel(1);
    let counters = Arc::new(Counters::default());
    send(&run_streams(
        WsConfig::default(),
        counters,
        symbols_rx,
        tx,
        tokio_util::sync::CancellationToken::new(),
    ));
}
