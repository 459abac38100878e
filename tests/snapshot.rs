//! Warm restart: replaying the bundled data split at an arbitrary event (snapshot every pair's
//! state through JSON, restore, continue) gives the same alerts and the same final state as one
//! uninterrupted run.

use std::path::Path;

use liqwave::config;
use liqwave::engine::{Engine, PairSnapshot};
use liqwave::model::Alert;
use liqwave::source::replay::{Dataset, ReplayOptions};

#[test]
fn split_replay_equals_one_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = config::load(&root.join("config/demo.toml")).expect("demo config");
    let events = Dataset::load(
        &root.join("tests/fixtures/binance"),
        &ReplayOptions::default(),
    )
    .expect("fixtures")
    .into_events();
    let run = |engine: &mut Engine, range: std::ops::Range<usize>, out: &mut Vec<Alert>| {
        for ev in &events[range] {
            engine.handle(ev, out);
        }
    };

    let mut whole = Engine::new(&config);
    let mut want = Vec::new();
    run(&mut whole, 0..events.len(), &mut want);
    assert!(!want.is_empty());

    // Split points: early (before any alert), in the middle of a 4h bucket, and late.
    for split in [1_000, events.len() / 2 + 7, events.len() - 5] {
        let mut first = Engine::new(&config);
        let mut got = Vec::new();
        run(&mut first, 0..split, &mut got);
        let json = serde_json::to_string(&first.snapshot()).expect("serialize");
        let restored: Vec<PairSnapshot> = serde_json::from_str(&json).expect("deserialize");
        let mut second = Engine::restore(&config, restored);
        run(&mut second, split..events.len(), &mut got);
        assert_eq!(got, want, "alerts differ when split at event {split}");
        assert_eq!(
            second.snapshot(),
            whole.snapshot(),
            "state differs when split at event {split}"
        );
    }
}
