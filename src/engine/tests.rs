//! The engine's state through a real store: its pair snapshots, alerts and position round-trip
//! bit-exactly, a warm restart from them equals one run, and quiet ticks wait when deferred. Here,
//! not in `store`, because the store knows no engine type.

use std::path::Path;

use super::*;
use crate::config;
use crate::source::replay::{Dataset, ReplayOptions};
use crate::store::{Commit, Routed, Store};

/// The demo config and the recorded events it replays.
fn demo() -> (Config, Vec<SymbolEvent>) {
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
        let health = restored.market_view().health;
        assert_eq!(health.last_event_ms, newest_bar, "after {fed} events");
        assert!(health.last_event_ms <= first.market_view().health.last_event_ms);
    }
}
