//! The engine's state through a real store: its pair snapshots, alerts and position round-trip
//! bit-exactly, a warm restart from them equals one run, quiet ticks wait when deferred, and an
//! alert's chart is the one of its own moment. Here, not in `store`, because the store knows no
//! engine type.

use std::path::Path;

use super::*;
use crate::config;
use crate::source::replay::{Dataset, ReplayOptions};
use crate::store::{Commit, Routed, Store};
use crate::view::ChartSeries;

/// The demo config and the recorded events it replays.
pub(super) fn demo() -> (Config, Vec<SymbolEvent>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = config::load(&root.join("config/demo.toml")).expect("demo config");
    // The engine reads no clock; the recordings are in the past, so no upper bound on times.
    let events = Dataset::load(
        &root.join("tests/fixtures/binance"),
        &ReplayOptions::new(TimeMs::MAX),
    )
    .expect("fixtures")
    .into_events();
    (config, events)
}

fn open(path: &Path) -> Store {
    Store::open(path, 4 << 20).expect("open store")
}

#[test]
fn commit_round_trips_pairs_outbox_and_position() {
    let (config, events) = demo();
    let mut engine = Engine::new(&config);
    let mut alerts = Vec::new();
    for ev in &events[..events.len() / 2] {
        engine.handle(ev, &mut alerts);
    }
    let pairs = engine.take_changed();
    assert!(
        pairs.len() >= 2 && !alerts.is_empty(),
        "the demo has pairs and alerts"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    let sinks = vec!["telegram".to_owned(), "file".to_owned()];
    let routes: Vec<Routed> = (alerts.iter())
        .map(|a| Routed::new(a.clone(), sinks.clone()))
        .collect();
    let position = (events.len() / 2) as u64;
    {
        let store = open(&path);
        store
            .commit(&Commit {
                pairs: &pairs,
                alerts: &routes,
                position: Some(position),
            })
            .unwrap();
        // A later commit without a position leaves it.
        store
            .commit(&Commit {
                pairs: &pairs[..1],
                alerts: &[],
                position: None,
            })
            .unwrap();
    }
    let store = open(&path);
    let restored: Vec<PairSnapshot> = store.pair_snapshots().unwrap();
    assert!(restored == pairs, "snapshots differ after the round trip");
    // Bit-exact, NaN and -0.0 included: the same JSON both ways.
    assert_eq!(
        serde_json::to_string(&restored).unwrap(),
        serde_json::to_string(&pairs).unwrap()
    );
    assert_eq!(store.position().unwrap(), Some(position));
    for sink in ["telegram", "file"] {
        let pending = store.pending(sink, usize::MAX).unwrap();
        let got: Vec<&Alert> = pending.iter().map(|(_, e)| &e.alert).collect();
        assert_eq!(got, alerts.iter().collect::<Vec<_>>(), "{sink}");
        assert!(
            pending
                .iter()
                .all(|(k, e)| k.sink == sink && e.attempts == 0 && e.next_attempt_ms == 0)
        );
    }
}

#[test]
fn a_warm_restart_through_the_store_equals_one_run() {
    let (config, events) = demo();
    let mut whole = Engine::new(&config);
    let mut want = Vec::new();
    for ev in &events {
        whole.handle(ev, &mut want);
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    let split = events.len() / 3 + 11;
    let mut got = Vec::new();
    {
        let mut first = Engine::new(&config);
        for (i, ev) in events[..split].iter().enumerate() {
            first.handle(ev, &mut got);
            if i % 5_000 == 0 || i + 1 == split {
                let position = Some(i as u64 + 1);
                open_commit(&path, &first.take_changed(), position);
            }
        }
    }
    let store = open(&path);
    let from = store.position().unwrap().expect("position") as usize;
    assert_eq!(from, split);
    let mut second = Engine::restore(&config, store.pair_snapshots().unwrap());
    for ev in &events[from..] {
        second.handle(ev, &mut got);
    }
    assert_eq!(got, want);
    assert!(second.snapshot() == whole.snapshot());
}

/// Commits through a store opened just for it, as separate daemon runs would.
fn open_commit(path: &Path, pairs: &[PairSnapshot], position: Option<u64>) {
    let store = open(path);
    store
        .commit(&Commit {
            pairs,
            alerts: &[],
            position,
        })
        .unwrap();
}

#[test]
fn quiet_ticks_wait_for_the_pairs_next_bar_when_deferred() {
    use crate::model::MarkTick;
    let (config, events) = demo();
    // A mark tick just after the last bar, a hair above its close: the price the pair has.
    let (last, candle) = events
        .iter()
        .rev()
        .find_map(|e| match &e.event {
            MarketEvent::Candle { candle, .. } => Some((e, candle)),
            _ => None,
        })
        .expect("the demo has bars");
    let (close, price) = (last.event.known_at(), candle.close * 1.000_001);
    let tick = SymbolEvent {
        symbol: last.symbol.clone(),
        event: MarketEvent::Mark(MarkTick {
            time: close + 1_000,
            price,
            funding_rate: None,
        }),
    };
    // (deferred, snapshots due after the quiet tick, snapshots the drain still owes)
    for (defer, due, owed) in [(false, 1, 0), (true, 0, 1)] {
        let mut engine = Engine::new(&config);
        if defer {
            engine.defer_quiet_ticks();
        }
        let mut alerts = Vec::new();
        for ev in &events {
            engine.handle(ev, &mut alerts);
        }
        engine.take_changed();
        let raised = alerts.len();
        engine.handle(&tick, &mut alerts);
        assert_eq!(alerts.len(), raised, "the tick is quiet");
        let taken = engine.take_changed();
        assert_eq!(taken.len(), due, "deferred {defer}");
        let drained = engine.take_all_changed();
        assert_eq!(drained.len(), owed, "deferred {defer}");
        let persisted = taken.iter().chain(&drained).map(|p| p.state.symbol());
        assert!(
            persisted.eq([&tick.symbol]),
            "deferred {defer}: only the ticked pair"
        );
    }
}

/// A restored engine knows how far its data goes, so the bot's board and `/status` do not say
/// "no data" over restored pairs until the next event. (events fed before the snapshot)
#[test]
fn a_restored_engine_keeps_its_data_time() {
    let (config, events) = demo();
    for fed in [0, 1, 2_000, events.len() / 2] {
        let mut first = Engine::new(&config);
        let mut out = Vec::new();
        for ev in &events[..fed] {
            first.handle(ev, &mut out);
        }
        let newest_bar = events[..fed]
            .iter()
            .filter(|e| matches!(e.event, crate::model::MarketEvent::Candle { .. }))
            .map(|e| e.event.known_at())
            .max();
        assert!(
            fed < 2_000 || newest_bar.is_some(),
            "the case must have bars"
        );
        let restored = Engine::restore(&config, first.snapshot());
        let now = first.market_view(0).health.last_event_ms.unwrap_or(0);
        let health = restored.market_view(now).health;
        assert_eq!(health.last_event_ms, newest_bar, "after {fed} events");
        assert!(health.last_event_ms <= first.market_view(now).health.last_event_ms);
    }
}

/// Replays the demo through the engine task in batches of many hours, with a durable sink that
/// draws charts (and one that does not), and returns every outbox entry of `sink`.
fn replay_to_outbox(draws_charts: bool, sink: &str) -> Vec<crate::store::OutboxEntry> {
    use std::sync::Arc;

    use tokio::sync::{Notify, mpsc};

    use crate::rules::{KindFilter, Route, Routes};

    let (config, events) = demo();
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("state"));
    let every = |sink: &str| Route {
        sink: sink.to_owned(),
        kinds: AlertKind::ALL.into_iter().map(KindFilter::kind).collect(),
        symbols: Vec::new(),
    };
    let slot = |name: &str, draws_charts| SinkSlot {
        name: name.to_owned(),
        wake: Arc::new(Notify::new()),
        draws_charts,
        reaches_people: false,
    };
    let outlet = Outlet {
        routes: Routes::new(vec![every("telegram"), every("file")]),
        console: None,
        persist: Some(Persist {
            store,
            sinks: vec![slot("telegram", draws_charts), slot("file", false)],
            position: 0,
            behind: None,
        }),
        fresh: None,
        meter: EngineMeter::default(),
    };
    let (tx, rx) = mpsc::channel(events.len());
    // 3,000 events are about 2.5 days of the five pairs: a batch ends long after most alerts.
    for batch in events.chunks(3_000) {
        tx.try_send(batch.to_vec()).expect("room for every batch");
    }
    drop(tx);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (engine, result) = runtime.block_on(Engine::new(&config).run(Inputs::market(rx), outlet));
    result.expect("the replay persists");
    drop(engine);
    let store = open(&dir.path().join("state"));
    let pending = store.pending(sink, usize::MAX).unwrap();
    pending.into_iter().map(|(_, e)| e).collect()
}

/// Prices the chart's input holds: candles' range aside, its levels and cluster edges.
fn drawn_prices(chart: &ChartSeries) -> Vec<f64> {
    let levels = chart.levels.iter().map(|l| l.price);
    let edges = chart
        .clusters
        .iter()
        .flat_map(|c| [c.near_edge, c.far_edge]);
    levels.chain(edges).collect()
}

/// Every chart-bearing alert of a replay carries the chart of its own moment with its levels,
/// even when the batch that raised it ran on for days (the chart used to show the batch's end).
#[test]
fn each_chart_bearing_alert_carries_the_chart_of_its_moment_with_its_levels() {
    use crate::model::Facts;
    let entries = replay_to_outbox(true, "telegram");
    let mut seen = BTreeMap::new();
    for e in &entries {
        let a = &e.alert;
        let Some(chart) = &e.chart else {
            let shows = matches!(a.facts, Facts::ClusterApproach(_) | Facts::ClusterEdge(_))
                || matches!(a.facts, Facts::ClusterSwept(_) | Facts::SetupEntry(_));
            assert!(!shows, "{} has no chart", a.id);
            continue;
        };
        *seen.entry(a.kind()).or_insert(0) += 1;
        assert_eq!(chart.as_of, a.time_ms, "{}", a.id);
        let last = chart.candles.last().expect("candles");
        let bar_close = last.open_time + crate::model::Interval::H4.duration_ms();
        assert!(
            bar_close <= a.time_ms,
            "{}: a bar closing after the alert",
            a.id
        );
        assert!(
            a.time_ms - bar_close < crate::model::Interval::H4.duration_ms(),
            "{}",
            a.id
        );
        let has = |p: f64| {
            drawn_prices(chart)
                .iter()
                .any(|d| (d - p).abs() <= 1e-9 * p.abs())
        };
        match &a.facts {
            Facts::SetupEntry(f) => {
                let want = [f.entry, f.stop, f.t1].into_iter().chain(f.t2);
                for p in want {
                    assert!(has(p), "{}: level {p} not drawn", a.id);
                }
                assert!(chart.note.contains("R:R"), "{}: {}", a.id, chart.note);
            }
            Facts::ClusterApproach(f) | Facts::ClusterEdge(f) | Facts::ClusterSwept(f) => {
                let touched: Vec<_> = chart.clusters.iter().filter(|c| c.touched).collect();
                assert_eq!(touched.len(), 1, "{}", a.id);
                let c = &f.cluster;
                assert!(has(c.near_edge) && has(c.far_edge), "{}", a.id);
                assert_eq!(touched[0].side, c.side, "{}", a.id);
            }
            _ => panic!("{} is not a chart kind but has a chart", a.id),
        }
        assert!(!chart.history.is_empty(), "{}: the map's past", a.id);
    }
    let kinds: Vec<&str> = seen.keys().map(|k| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "cluster_approach",
            "cluster_edge",
            "cluster_swept",
            "setup_entry"
        ]
    );
}

/// Without a sink that draws, no alert costs a chart.
#[test]
fn no_chart_is_captured_for_sinks_that_do_not_draw() {
    let entries = replay_to_outbox(false, "file");
    assert!(entries.len() > 100, "the demo's alerts");
    assert!(entries.iter().all(|e| e.chart.is_none()));
}

/// Runs the demo through the engine task into a fresh store, pairs written inline or by a writer
/// behind the engine as the daemon does; returns the store's pairs, position and outbox.
fn run_task_into_store(behind: bool) -> (Vec<PairSnapshot>, Option<u64>, usize) {
    use tokio::sync::mpsc;

    let (config, events) = demo();
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("state"));
    let (tx, rx) = mpsc::channel::<Vec<PairSnapshot>>(1);
    let sink = crate::rules::Routes::new(vec![crate::rules::Route {
        sink: "file".to_owned(),
        kinds: AlertKind::ALL
            .into_iter()
            .map(crate::rules::KindFilter::kind)
            .collect(),
        symbols: Vec::new(),
    }]);
    let outlet = Outlet {
        routes: sink,
        console: None,
        persist: Some(Persist {
            store: store.clone(),
            sinks: vec![SinkSlot {
                name: "file".to_owned(),
                wake: std::sync::Arc::default(),
                draws_charts: false,
                reaches_people: false,
            }],
            position: 0,
            behind: behind.then_some(tx),
        }),
        fresh: None,
        meter: EngineMeter::default(),
    };
    let (market, inputs) = mpsc::channel(events.len());
    for batch in events.chunks(700) {
        market
            .try_send(batch.to_vec())
            .expect("room for every batch");
    }
    drop(market);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut engine = Engine::new(&config);
    engine.defer_quiet_ticks();
    // The writer on a thread of its own, as the supervisor runs it; it ends with the engine.
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| write_behind(&store, rx));
        let (_, result) = runtime.block_on(engine.run(Inputs::market(inputs), outlet));
        result.expect("the run persists");
        writer.join().expect("no panic").expect("written behind");
    });
    let pending = store.pending("file", usize::MAX).unwrap().len();
    (
        store.pair_snapshots().unwrap(),
        store.position().unwrap(),
        pending,
    )
}

/// Pairs written behind the engine (the daemon) end as those committed with each input: the
/// drain hands the last ones over and the writer finishes before the run does.
#[test]
fn pairs_written_behind_the_engine_end_as_inline_ones() {
    let inline = run_task_into_store(false);
    let behind = run_task_into_store(true);
    assert!(
        inline.0.len() >= 2 && inline.2 > 100,
        "the demo's pairs and alerts"
    );
    assert!(behind.0 == inline.0, "the pairs differ");
    assert_eq!(behind.1, inline.1, "position");
    assert_eq!(behind.2, inline.2, "alerts queued");
}
