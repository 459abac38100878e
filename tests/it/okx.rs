//! The OKX live source end to end against the fake OKX (support/fake_okx.rs) on an accelerated
//! clock, with link drops, a stall, garbage frames and rate-limit replies: every closed 5m bar
//! of every pair reaches the engine channel exactly once and in order, a hole is announced by a
//! `Gap` before its back-filled bars, each pair's margin tier and warm-up come before its live
//! bars, malformed frames are counted. Every wait is bounded; nothing asserts on timing.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use liqwave::clock::Clock;
use liqwave::metrics::Metrics;
use liqwave::model::{Interval, MarketEvent, Symbol, TimeMs};
use liqwave::source::okx::{OkxCounters, OkxOptions, run_okx_counted};
use liqwave::source::{Batch, Resume, SourceContext, SourceHealth};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

use crate::support::fake_okx::{FakeOkx, FakeOkxConfig, Fault, M5};

/// The longest any wait in these tests may take.
const BOUND: Duration = Duration::from_secs(60);
/// 2026-01-01 00:01 UTC: a minute into bar 0.
const ORIGIN: TimeMs = 1_767_225_660_000;
/// A 5m bar per 250 ms of wall time.
const SPEED: u32 = 1200;

#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Margin,
    Signal,
    Bar(TimeMs),
    Gap(TimeMs, TimeMs),
    Other,
}

type Tapped = Arc<Mutex<BTreeMap<Symbol, Vec<Seen>>>>;

fn bars(seen: &[Seen]) -> Vec<TimeMs> {
    seen.iter()
        .filter_map(|s| match s {
            Seen::Bar(t) => Some(*t),
            _ => None,
        })
        .collect()
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + BOUND;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(10)).await;
    }
}

/// Runs the OKX source against `fake` with `resume` until `done` holds for the tap (or
/// [`BOUND`] passes); returns the events each pair sent, and the counters.
async fn run(
    fake: &FakeOkx,
    clock: Clock,
    per_link: usize,
    resume: Resume,
    mut done: impl FnMut(&BTreeMap<Symbol, Vec<Seen>>, &OkxCounters) -> bool,
) -> (BTreeMap<Symbol, Vec<Seen>>, Arc<OkxCounters>) {
    let mut options = OkxOptions::new(&fake.rest_url(), &fake.ws_url());
    options.clock = clock;
    options.streams_per_connection = per_link;
    let counters = Arc::new(OkxCounters::default());
    let stop = CancellationToken::new();
    let (tx, mut rx) = mpsc::channel::<Batch>(64);
    let cx = SourceContext {
        events: tx,
        shutdown: stop.clone(),
        health: Arc::new(SourceHealth::default()),
        metrics: Arc::new(Metrics::default()),
        resume,
    };
    let tapped = Tapped::default();
    let source = async {
        run_okx_counted(options, cx, Arc::clone(&counters))
            .await
            .expect("the source runs");
    };
    let tap = async {
        while let Some(batch) = rx.recv().await {
            let mut seen = tapped.lock().unwrap();
            for e in batch {
                let s = match &e.event {
                    MarketEvent::Margin(_) => Seen::Margin,
                    MarketEvent::Candle {
                        interval: Interval::M5,
                        candle,
                    } => Seen::Bar(candle.open_time),
                    MarketEvent::Candle { .. } => Seen::Signal,
                    MarketEvent::Gap { from, to } => Seen::Gap(*from, *to),
                    _ => Seen::Other,
                };
                seen.entry(e.symbol).or_default().push(s);
            }
        }
    };
    let body = async {
        until("the run's goal", || {
            done(&tapped.lock().unwrap(), &counters)
        })
        .await;
        stop.cancel();
    };
    tokio::time::timeout(2 * BOUND, async { tokio::join!(source, tap, body) })
        .await
        .expect("the run is bounded");
    let seen = std::mem::take(&mut *tapped.lock().unwrap());
    (seen, counters)
}

fn symbols(n: usize) -> Vec<Symbol> {
    (0..n)
        .map(|i| format!("OKX:S{i:03}USDT").parse().unwrap())
        .collect()
}

fn insts(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("S{i:03}-USDT-SWAP")).collect()
}

/// Whether every pair of `symbols` got the bar opening at `last`.
fn caught_up(seen: &BTreeMap<Symbol, Vec<Seen>>, symbols: &[Symbol], last: TimeMs) -> bool {
    (symbols.iter()).all(|s| seen.get(s).is_some_and(|v| bars(v).contains(&last)))
}

/// Every 5m bar once and in order up to `last`, every `Gap` followed by its first bar.
fn check_series(symbol: &Symbol, events: &[Seen], last: TimeMs) {
    let series = bars(events);
    assert!(
        series.windows(2).all(|w| w[1] == w[0] + M5),
        "{symbol}: every bar once, in order"
    );
    assert_eq!(series.last(), Some(&last), "{symbol}");
    for (i, s) in events.iter().enumerate() {
        if let Seen::Gap(from, to) = *s {
            let after = bars(&events[i..]);
            assert_eq!(
                after.first(),
                Some(&from),
                "{symbol}: gap {from}..{to} filled after it"
            );
        }
    }
}

/// 4 pairs × 40 bars; drops at bars 8 and 26, garbage at 14, a stall at 20; the first three
/// candle requests answered with code 50011.
#[tokio::test]
async fn faults_lose_no_bar_and_nothing_comes_twice() {
    let clock = Clock::accelerated(ORIGIN, SPEED);
    let faults = vec![
        (8, Fault::Drop),
        (14, Fault::Garbage),
        (20, Fault::Stall),
        (26, Fault::Drop),
    ];
    let fake = FakeOkx::start(FakeOkxConfig {
        insts: insts(4),
        clock,
        bars: 40,
        faults,
        rate_limit_first: 3,
        mute: false,
        unlisted: 0,
    })
    .await;
    let truth = fake.truth();
    let (first_live, last) = (truth[0], *truth.last().unwrap());
    let symbols = symbols(4);
    let (seen, counters) = run(&fake, clock, 3, Resume::new(), |seen, _| {
        caught_up(seen, &symbols, last)
    })
    .await;
    for symbol in &symbols {
        let events = &seen[symbol];
        assert_eq!(
            events.first(),
            Some(&Seen::Margin),
            "{symbol}: margin first"
        );
        let signal = events.iter().position(|s| *s == Seen::Signal);
        let live = events.iter().position(|s| *s == Seen::Bar(first_live));
        assert!(
            signal.is_some() && signal < live,
            "{symbol}: warm-up before live"
        );
        check_series(symbol, events, last);
    }
    let gaps = (seen.values().flatten())
        .filter(|s| matches!(s, Seen::Gap(..)))
        .count();
    assert!(gaps >= 1, "the dropped bars were announced and back-filled");
    let malformed = counters.malformed.load(Ordering::Relaxed);
    let applied = fake.record(|r| r.faults_applied.clone());
    assert_eq!(applied.get(&Fault::Drop), Some(&2), "{applied:?}");
    assert_eq!(applied.get(&Fault::Stall), Some(&1), "{applied:?}");
    assert!(malformed >= 3, "malformed frames counted: {malformed}");
    assert!(
        counters.stalls.load(Ordering::Relaxed) >= 1,
        "the stall was noticed"
    );
    assert_eq!(
        fake.record(|r| r.rate_limited),
        3,
        "rate-limit replies waited out"
    );
}

/// A warm restart: pairs the engine knows up to 13 bars ago skip their warm-up; the hole is
/// announced and back-filled first, then the live bars follow; the margin tier still comes.
#[tokio::test]
async fn a_warm_restart_only_backfills_the_hole() {
    let clock = Clock::accelerated(ORIGIN, SPEED);
    let fake = FakeOkx::start(FakeOkxConfig {
        insts: insts(3),
        clock,
        bars: 12,
        faults: Vec::new(),
        rate_limit_first: 0,
        mute: false,
        unlisted: 0,
    })
    .await;
    let truth = fake.truth();
    let (restored, last) = (truth[0] - 13 * M5, *truth.last().unwrap());
    let symbols = symbols(3);
    let resume: Resume = symbols.iter().map(|s| (s.clone(), restored)).collect();
    let (seen, _) = run(&fake, clock, 200, resume, |seen, _| {
        caught_up(seen, &symbols, last)
    })
    .await;
    for symbol in &symbols {
        let events = &seen[symbol];
        assert!(!events.contains(&Seen::Signal), "{symbol}: no warm-up");
        assert!(events.contains(&Seen::Margin), "{symbol}: its margin tier");
        assert!(
            matches!(events.first(), Some(Seen::Gap(from, _)) if *from == restored + M5),
            "{symbol}: the hole after the restored bar comes first: {events:?}"
        );
        check_series(symbol, events, last);
    }
}

/// A pair listed mid-run joins at the next hourly re-discovery: its margin tier, its warm-up,
/// then every bar to the end; the pairs followed all along lose nothing while the links move.
#[tokio::test]
async fn a_listing_joins_at_the_next_discovery() {
    let clock = Clock::accelerated(ORIGIN, SPEED);
    let fake = FakeOkx::start(FakeOkxConfig {
        insts: insts(3),
        clock,
        bars: 30,
        faults: Vec::new(),
        rate_limit_first: 0,
        mute: false,
        unlisted: 1,
    })
    .await;
    let truth = fake.truth();
    let last = *truth.last().unwrap();
    let symbols = symbols(3);
    let mut listed = false;
    let (seen, _) = run(&fake, clock, 200, Resume::new(), |seen, _| {
        if !listed && seen.len() >= 2 {
            fake.list(&insts(3)[2]);
            listed = true;
        }
        caught_up(seen, &symbols, last)
    })
    .await;
    for symbol in &symbols {
        let events = &seen[symbol];
        assert_eq!(
            events.first(),
            Some(&Seen::Margin),
            "{symbol}: margin first"
        );
        assert!(events.contains(&Seen::Signal), "{symbol}: warmed");
        check_series(symbol, events, last);
    }
    let joined = bars(&seen[&symbols[2]]);
    assert!(
        joined.first() < Some(&truth[12]),
        "the new pair's warm-up reaches back"
    );
}

/// A link that streams nothing is pinged with the text `ping` and the fake's `pong` counted.
#[tokio::test]
async fn a_quiet_link_is_pinged_and_answered() {
    let clock = Clock::accelerated(ORIGIN, SPEED);
    let fake = FakeOkx::start(FakeOkxConfig {
        insts: insts(1),
        clock,
        bars: 4,
        faults: Vec::new(),
        rate_limit_first: 0,
        mute: true,
        unlisted: 0,
    })
    .await;
    let (_, counters) = run(&fake, clock, 200, Resume::new(), |_, counters| {
        counters.pongs.load(Ordering::Relaxed) >= 2
    })
    .await;
    assert!(counters.pings.load(Ordering::Relaxed) >= 2);
    assert!(fake.record(|r| r.pings) >= 2);
}
