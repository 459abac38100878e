//! The Bybit source against the fake Bybit (support/fake_bybit.rs) on an accelerated clock,
//! with dropped, stalled and garbage-sending connections and a rate-limited start: every closed
//! 5m bar of every pair reaches the engine's channel exactly once, in order, with Bybit's
//! values; a hole is declared (`Gap`) before its back-filled bars; the warm-up comes before
//! anything live; each pair gets its first margin tier; malformed frames are counted; the
//! `retCode 10006` replies are waited out.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use liqwave::clock::Clock;
use liqwave::metrics::Metrics;
use liqwave::model::{Interval, MarketEvent, Symbol, SymbolEvent, TimeMs};
use liqwave::source::bybit::rest::{RestClient, RestOptions};
use liqwave::source::bybit::{BybitOptions, WarmupPlan, run_bybit};
use liqwave::source::{Batch, Resume, SourceContext, SourceHealth};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::support::fake_bybit::{BAR_MS, FakeBybit, FakeConfig, Fault, START, bar};

/// Market milliseconds per wall millisecond: a 5m bar every 3 s.
const SPEED: u32 = 100;
/// The clock starts 20 days after the fake's epoch, 40 s into a bar.
const ORIGIN: TimeMs = START + 20 * 86_400_000 + 40_000;

fn first_live_open() -> TimeMs {
    Interval::M5.bar_open(ORIGIN)
}

struct Run {
    events: Vec<SymbolEvent>,
    fake: FakeBybit,
    options: BybitOptions,
    /// Market time at which the run was stopped.
    end: TimeMs,
}

/// Runs the source on `symbols` for `live_bars` bars past the clock's origin.
async fn run(
    symbols: &[&str],
    faults: Vec<(TimeMs, Fault)>,
    rate_limit_first: u32,
    resume: Resume,
    live_bars: i64,
) -> Run {
    let clock = Clock::accelerated(ORIGIN, SPEED);
    let fake = FakeBybit::start(FakeConfig {
        symbols: symbols.iter().map(|s| s.to_string()).collect(),
        clock,
        updates_per_bar: 9,
        faults,
        stall_for: Duration::from_secs(2),
        instruments_page: 2,
        rate_limit_first,
        ban_first: 0,
    })
    .await;
    let mut options = BybitOptions::new(&fake.rest_url, &fake.ws_url);
    options.clock = clock;
    options.warmup = WarmupPlan {
        signal_bars: 30,
        heat_days: 1,
    };
    // Two pairs per connection: three connections for five pairs.
    options.streams_per_connection = 6;
    let stop = CancellationToken::new();
    let (tx, mut rx) = mpsc::channel::<Batch>(64);
    let cx = SourceContext {
        events: tx,
        shutdown: stop.clone(),
        health: Arc::new(SourceHealth::default()),
        metrics: Arc::new(Metrics::default()),
        resume,
    };
    let end = first_live_open() + live_bars * BAR_MS + 90_000;
    let source = run_bybit(options.clone(), cx);
    let collect = async {
        let mut events = Vec::new();
        // Bounded: the run ends at `end` market time whatever arrives.
        let deadline = tokio::time::sleep(clock.until(end));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = &mut deadline => break,
                batch = rx.recv() => match batch {
                    Some(batch) => events.extend(batch),
                    None => break,
                },
            }
        }
        stop.cancel();
        events
    };
    let bound = Duration::from_secs(120);
    let (result, events) = tokio::time::timeout(bound, async { tokio::join!(source, collect) })
        .await
        .expect("the run ends within its bound");
    result.expect("the source runs");
    Run {
        events,
        fake,
        options,
        end,
    }
}

fn per_pair(events: &[SymbolEvent]) -> BTreeMap<Symbol, Vec<&MarketEvent>> {
    let mut map: BTreeMap<Symbol, Vec<&MarketEvent>> = BTreeMap::new();
    for e in events {
        map.entry(e.symbol.clone()).or_default().push(&e.event);
    }
    map
}

#[tokio::test]
async fn every_closed_bar_arrives_once_in_order_through_drops_stalls_and_garbage() {
    let names = ["AAAUSDT", "BBBUSDT", "1000CCCUSDT", "DDDUSDT", "EEEUSDT"];
    let live = first_live_open();
    // One line per fault: the bar whose close triggers it, what happens.
    #[rustfmt::skip]
    let faults = vec![
        (live + BAR_MS, Fault::Garbage),
        (live + 3 * BAR_MS, Fault::Drop),
        (live + 7 * BAR_MS, Fault::Stall),
    ];
    let Run {
        events,
        fake,
        options,
        end,
    } = run(&names, faults, 3, Resume::new(), 12).await;
    let pairs = per_pair(&events);
    let want: Vec<String> = names.iter().map(|n| format!("BYBIT:{n}")).collect();
    let mut got: Vec<String> = pairs.keys().map(|s| s.to_string()).collect();
    got.sort();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(
        got, want_sorted,
        "the USDT perpetuals, and nothing else, are followed"
    );
    // Bars closed early enough to be through every hold and back-fill by the end.
    let last_due = Interval::M5.bar_open(end - 120_000) - BAR_MS;
    let mut gaps = 0;
    for (symbol, events) in &pairs {
        let name = symbol.name();
        assert!(
            matches!(events.first(), Some(MarketEvent::Margin(m)) if m.mmr == 0.01 && m.max_leverage == 50.0),
            "{symbol}: the first event is the lowest margin tier, got {:?}",
            events.first()
        );
        let first_live = (events.iter())
            .position(|e| matches!(e, MarketEvent::Mark(_) | MarketEvent::Liquidation(_)))
            .expect("live events arrived");
        let signal_before = events[..first_live]
            .iter()
            .filter(
                |e| matches!(e, MarketEvent::Candle { interval, .. } if *interval != Interval::M5),
            )
            .count();
        assert!(
            signal_before >= 3 * 29,
            "{symbol}: the warm-up's native bars come before anything live"
        );
        let mut opens = Vec::new();
        let mut pending_gap: Option<(TimeMs, TimeMs)> = None;
        for e in events {
            match e {
                MarketEvent::Gap { from, to } => {
                    gaps += 1;
                    pending_gap = Some((*from, *to));
                }
                MarketEvent::Candle {
                    interval: Interval::M5,
                    candle,
                } => {
                    if let Some((from, to)) = pending_gap.take() {
                        assert!(candle.open_time >= from, "{symbol}: a bar before its gap");
                        let _ = to;
                    }
                    let truth = bar(name, Interval::M5, candle.open_time, i64::MAX);
                    assert!(
                        (candle.close - truth.close).abs() < 1e-5,
                        "{symbol}: {candle:?} is Bybit's bar"
                    );
                    opens.push(candle.open_time);
                }
                MarketEvent::Liquidation(l) => assert!(l.quantity == 12.5),
                _ => {}
            }
        }
        assert!(
            opens.windows(2).all(|w| w[1] > w[0]),
            "{symbol}: bars in order, none twice"
        );
        let first = opens[0];
        let expected: Vec<TimeMs> = (0..)
            .map(|i| first + i * BAR_MS)
            .take_while(|t| *t <= last_due)
            .collect();
        let missed: Vec<&TimeMs> = expected.iter().filter(|t| !opens.contains(t)).collect();
        assert_eq!(
            missed,
            Vec::<&TimeMs>::new(),
            "{symbol}: every closed bar, none missed"
        );
        assert!(
            opens.len() >= expected.len() && expected.len() > 288,
            "{symbol}: warm-up and live bars"
        );
        assert!(last_due >= live + 8 * BAR_MS, "the run covers the faults");
    }
    assert!(
        gaps >= names.len(),
        "the dropped and stalled links' missed bars are declared as gaps"
    );
    let c = &options.counters;
    assert!(
        c.stream.malformed.load(Ordering::Relaxed) >= 1,
        "garbage frames are counted"
    );
    assert!(
        c.stream.reconnects.load(Ordering::Relaxed) >= 2,
        "links came back"
    );
    assert!(
        c.stream.silent.load(Ordering::Relaxed) >= 1,
        "the stalled link was found silent"
    );
    assert_eq!(c.margins.load(Ordering::Relaxed), names.len() as u64);
    assert_eq!(fake.rate_limited(), 3);
    assert!(
        c.rest.rate_limited.load(Ordering::Relaxed) >= 3,
        "10006 replies were waited out"
    );
    assert!(fake.connections() >= 6, "three connections, reconnected");
    let record = fake.state.record.lock().unwrap();
    assert!(
        record.subscribe_args.iter().all(|n| *n <= 10),
        "at most 10 args per subscribe"
    );
    assert!(
        fake.state.pings.load(Ordering::Relaxed) > 0,
        "the client pings"
    );
}

#[tokio::test]
async fn a_resumed_pair_gets_its_hole_back_filled_first_and_no_warm_up() {
    let names = ["AAAUSDT", "BBBUSDT"];
    let last = first_live_open() - 6 * BAR_MS;
    let resume: Resume = (names.iter())
        .map(|n| (Symbol::on(liqwave::model::Venue::Bybit, n).unwrap(), last))
        .collect();
    let Run { events, end, .. } = run(&names, Vec::new(), 0, resume, 4).await;
    let pairs = per_pair(&events);
    assert_eq!(pairs.len(), names.len());
    let last_due = Interval::M5.bar_open(end - 120_000) - BAR_MS;
    for (symbol, events) in &pairs {
        assert!(
            matches!(events.first(), Some(MarketEvent::Gap { from, .. }) if *from == last + BAR_MS),
            "{symbol}: the hole since the restart is declared first, got {:?}",
            events.first()
        );
        assert!(
            events.iter().any(|e| matches!(e, MarketEvent::Margin(_))),
            "{symbol}: a resumed pair still gets its margin tier"
        );
        let opens: Vec<TimeMs> = (events.iter())
            .filter_map(|e| match e {
                MarketEvent::Candle { interval, candle } => {
                    assert_eq!(*interval, Interval::M5, "{symbol}: no warm-up on a resume");
                    Some(candle.open_time)
                }
                _ => None,
            })
            .collect();
        let expected: Vec<TimeMs> = (1..)
            .map(|i| last + i * BAR_MS)
            .take_while(|t| *t <= last_due)
            .collect();
        let got: Vec<TimeMs> = opens.iter().copied().filter(|t| *t <= last_due).collect();
        assert_eq!(
            got, expected,
            "{symbol}: the bars after the restored one, each once"
        );
    }
}

#[tokio::test]
async fn an_ip_ban_holds_every_request_for_ten_minutes_then_clears() {
    // Ten market minutes are 0.6 s of wall time.
    let clock = Clock::accelerated(ORIGIN, 1000);
    let fake = FakeBybit::start(FakeConfig {
        symbols: vec!["AAAUSDT".into()],
        clock,
        updates_per_bar: 1,
        faults: Vec::new(),
        stall_for: Duration::ZERO,
        instruments_page: 10,
        rate_limit_first: 0,
        ban_first: 1,
    })
    .await;
    let client = RestClient::new(RestOptions::new(&fake.rest_url, clock)).unwrap();
    let listed = tokio::time::timeout(Duration::from_secs(30), client.instruments())
        .await
        .expect("bounded")
        .expect("the ban clears and the request is answered");
    // The dated future's name (`BTCUSDT-26DEC25`) cannot be a symbol: skipped at parsing.
    assert_eq!(listed.len(), 2, "the USDT and the USDC perpetual");
    let arrivals = fake.state.arrivals.lock().unwrap().clone();
    assert_eq!(
        arrivals.len(),
        2,
        "one refused, one answered: nothing sent during the ban"
    );
    assert!(
        arrivals[1] - arrivals[0] >= 600_000,
        "held ten minutes: {arrivals:?}"
    );
    assert_eq!(client.counters().banned.load(Ordering::Relaxed), 1);
}
