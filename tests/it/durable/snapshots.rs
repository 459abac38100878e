//! Pair snapshots through the store: a warmed pair's snapshot stays small, a snapshot written in
//! the old JSON form opens and goes on exactly as an uninterrupted run, and so does one restored
//! from the binary form.

use std::path::Path;
use std::time::{Duration, Instant};

use liqwave::config::Config;
use liqwave::engine::{Engine, PairSnapshot};
use liqwave::model::{
    Alert, AlertKind, Candle, DAY_MS, Funding, Interval, MarketEvent, OpenInterest, SymbolEvent,
    TimeMs,
};
use liqwave::source::replay::event_order;
use liqwave::store::{Commit, Store, decode_snapshot, encode_snapshot};

use crate::support::demo::demo_data;
use crate::support::fake_binance_rest::market;

/// 2026-01-05 12:00 UTC: when the synthetic pairs are warmed.
const NOW: TimeMs = 1_767_614_400_000;

/// The daemon's default configuration, as the report's memory row runs it.
fn default_config() -> Config {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    liqwave::config::from_toml_str("", root).expect("default config")
}

/// Events of one synthetic pair of the fake exchange (its closed-form walk), as the engine gets
/// them from the REST warm-up or the streams.
struct Synthetic {
    walk: market::Walk,
    symbol: liqwave::model::Symbol,
}

impl Synthetic {
    fn new(name: &str) -> Synthetic {
        Synthetic {
            walk: market::Walk::new(name, Interval::W1.bar_open(NOW)),
            symbol: name.parse().unwrap(),
        }
    }

    fn event(&self, event: MarketEvent) -> SymbolEvent {
        SymbolEvent {
            symbol: self.symbol.clone(),
            event,
        }
    }

    /// The closed bar opening at `open`, with the decimals the fake writes.
    fn candle(&self, interval: Interval, open: TimeMs) -> SymbolEvent {
        let close = open + interval.duration_ms();
        let [o, h, l, c, v, q, tbq] = self.walk.texts(interval, open, close);
        let n = |s: String| s.parse::<f64>().unwrap();
        let candle = Candle {
            open_time: open,
            open: n(o),
            high: n(h),
            low: n(l),
            close: n(c),
            volume: n(v),
            quote_volume: Some(n(q)),
            taker_buy_quote: Some(n(tbq)),
        };
        self.event(MarketEvent::Candle { interval, candle })
    }

    /// The 5m bars opening in `[from, to)`, each with the open interest at its close.
    fn five_minutes(&self, from: TimeMs, to: TimeMs) -> Vec<SymbolEvent> {
        let step = Interval::M5.duration_ms();
        let mut out = Vec::new();
        for open in (from..to).step_by(step as usize) {
            out.push(self.candle(Interval::M5, open));
            let contracts = format!("{:.8}", self.walk.open_interest(open + step));
            out.push(self.event(MarketEvent::OpenInterest(OpenInterest {
                time: open + step,
                contracts: contracts.parse().unwrap(),
                value_usd: None,
            })));
        }
        out.sort_by(event_order);
        out
    }

    /// What `warm_pair` feeds the engine at [`NOW`]: 250 native bars per signal timeframe, then
    /// 3 days of 5m bars with 5m open interest and the last funding print, in engine order.
    fn warm_up(&self) -> Vec<SymbolEvent> {
        let mut signal: Vec<SymbolEvent> = Interval::SIGNAL
            .iter()
            .flat_map(|&i| {
                let last = i.bar_open(NOW) - i.duration_ms();
                (0..250).rev().map(move |k| (i, last - k * i.duration_ms()))
            })
            .map(|(i, open)| self.candle(i, open))
            .collect();
        signal.sort_by(event_order);
        let now = Interval::M5.bar_open(NOW);
        let mut heat = self.five_minutes(now - 3 * DAY_MS, now);
        let funding = NOW.div_euclid(8 * 3_600_000) * 8 * 3_600_000;
        heat.insert(
            0,
            self.event(MarketEvent::Funding(Funding {
                time: funding,
                rate: self.walk.funding_rate(funding),
            })),
        );
        heat.sort_by(event_order);
        signal.extend(heat);
        signal
    }
}

/// `pairs` synthetic pairs (spread over the fake's 600 listings, so prices span its range),
/// warmed as the report's memory row warms them.
fn warmed(pairs: usize) -> (Vec<Synthetic>, Engine) {
    let config = default_config();
    let mut engine = Engine::new(&config);
    let mut alerts = Vec::new();
    let synthetic: Vec<Synthetic> = (0..600)
        .step_by(600 / pairs)
        .map(|i| Synthetic::new(&format!("SYN{i:03}USDT")))
        .collect();
    for pair in &synthetic {
        for ev in pair.warm_up() {
            engine.handle(&ev, &mut alerts);
        }
    }
    (synthetic, engine)
}

fn open(path: &Path) -> Store {
    Store::open(path, 4 << 20).expect("open store")
}

fn commit(store: &Store, pairs: &[PairSnapshot]) {
    let commit = Commit {
        pairs,
        alerts: &[],
        position: None,
    };
    store.commit(&commit).unwrap();
}

/// The target of issue 16: at most 20 KB per warmed pair (the JSON of schema 1 was about 55).
/// Also prints what encoding and decoding one cost (a debug build's figure, never asserted).
#[test]
fn a_warmed_pair_snapshot_is_at_most_20_kb_and_round_trips() {
    let (_, engine) = warmed(12);
    let snapshots = engine.snapshot();
    let (mut json, mut binary, mut loading) = (Vec::new(), Vec::new(), Vec::new());
    let (mut json_time, mut binary_time) = (Duration::ZERO, Duration::ZERO);
    for pair in &snapshots {
        loading.push(postcard::to_allocvec(pair.state.loading()).unwrap().len());
        let t = Instant::now();
        let bytes = serde_json::to_vec(pair).unwrap();
        let back: PairSnapshot = serde_json::from_slice(&bytes).unwrap();
        json_time += t.elapsed();
        json.push(bytes.len());
        assert!(back == *pair);

        let t = Instant::now();
        let bytes = encode_snapshot(pair).unwrap();
        let back: PairSnapshot = decode_snapshot(b"pair", &bytes).unwrap();
        binary_time += t.elapsed();
        binary.push(bytes.len());
        let symbol = pair.state.symbol();
        assert!(bytes.len() <= 20_000, "{symbol}: {} bytes", bytes.len());
        assert!(back == *pair, "{symbol}");
        assert_eq!(
            encode_snapshot(&back).unwrap(),
            bytes,
            "{symbol}: bit-exact"
        );
    }
    let n = snapshots.len();
    let mean = |v: &[usize]| v.iter().sum::<usize>() / n;
    let max = |v: &[usize]| v.iter().copied().max().unwrap_or(0);
    println!(
        "{n} warmed pairs: JSON {} B mean, {} max, encode+decode {:?}; binary {} B mean, {} max, \
         encode+decode {:?}; the loading score's history {} B mean, {} max",
        mean(&json),
        max(&json),
        json_time / n as u32,
        mean(&binary),
        max(&binary),
        binary_time / n as u32,
        mean(&loading),
        max(&loading),
    );
}

/// A restart from the binary snapshots of warmed pairs, then a day of 5m bars with open
/// interest, equals the same day without the restart.
#[test]
fn a_restart_from_binary_snapshots_equals_one_run() {
    let (synthetic, mut whole) = warmed(4);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    commit(&open(&path), &whole.snapshot());
    let restored = open(&path).pair_snapshots().unwrap();
    let mut again = Engine::restore(&default_config(), restored);

    let now = Interval::M5.bar_open(NOW);
    let mut day: Vec<SymbolEvent> = synthetic
        .iter()
        .flat_map(|p| p.five_minutes(now, now + DAY_MS))
        .collect();
    day.sort_by(event_order);
    let (mut want, mut got) = (Vec::<Alert>::new(), Vec::new());
    for ev in &day {
        whole.handle(ev, &mut want);
        again.handle(ev, &mut got);
    }
    assert_eq!(got, want);
    assert!(again.snapshot() == whole.snapshot());
}

/// `tests/fixtures/snapshots/HYPEUSDT.json`: HYPEUSDT's state of schema 1 after this many of its
/// demo events (the fixture's README).
const FIXTURE_EVENTS: usize = 1729;

/// A store of schema 1 holding the fixture opens, and the pair goes on from it exactly as a run
/// that never stopped; its next commit writes it binary.
#[test]
fn an_old_json_snapshot_opens_and_goes_on_as_one_run() {
    let fixture = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/snapshots/HYPEUSDT.json"),
    )
    .unwrap();
    let data = demo_data();
    let events: Vec<&SymbolEvent> = (data.events.iter())
        .filter(|e| e.symbol.as_str() == "HYPEUSDT")
        .collect();
    let mut whole = Engine::new(&data.config);
    let mut want = Vec::new();
    for ev in &events[..FIXTURE_EVENTS] {
        whole.handle(ev, &mut want);
    }
    let at_fixture = whole.snapshot();
    let from_fixture = serde_json::from_slice::<PairSnapshot>(&fixture).unwrap();
    assert!(
        without_newer(&[from_fixture]) == without_newer(&at_fixture),
        "the fixture is the state replay reaches"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    drop(open(&path));
    {
        // What a store of schema 1 held: the version and the pair's JSON. sled lets go of its
        // lock when its background writes end.
        let waited = Instant::now();
        let raw = loop {
            match sled::open(&path) {
                Ok(raw) => break raw,
                Err(_) if waited.elapsed() < Duration::from_secs(10) => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("sled still holds the store: {e}"),
            }
        };
        let meta = raw.open_tree("meta").unwrap();
        meta.insert("schema_version", &1u32.to_be_bytes()).unwrap();
        raw.open_tree("pairs")
            .unwrap()
            .insert("HYPEUSDT", fixture)
            .unwrap();
        raw.flush().unwrap();
    }
    let store = open(&path);
    let mut again = Engine::restore(&data.config, store.pair_snapshots().unwrap());
    want.clear();
    let mut got = Vec::new();
    for ev in &events[FIXTURE_EVENTS..] {
        whole.handle(ev, &mut want);
        again.handle(ev, &mut got);
    }
    assert!(!want.is_empty(), "the rest of the demo raises alerts");
    assert_eq!(known_to_schema_1(&got), known_to_schema_1(&want));
    let changed = again.take_changed();
    assert!(without_newer(&changed) == without_newer(&whole.snapshot()));

    commit(&store, &changed);
    drop(store);
    let store = open(&path);
    let binary: Vec<PairSnapshot> = store.pair_snapshots().unwrap();
    assert!(binary == changed);
}

/// Snapshots as JSON without what a snapshot of schema 1 predates — the cascade-loading score's
/// hours, the realized tape, each timeframe's range and ATR, the playbook's watches: they start
/// empty there and fill as bars close, so they differ from an uninterrupted run's until their
/// windows have passed.
fn without_newer(pairs: &[PairSnapshot]) -> Vec<serde_json::Value> {
    let strip = |pair: &PairSnapshot| {
        let mut json = serde_json::to_value(pair).unwrap();
        let state = json["state"].as_object_mut().expect("a state object");
        for key in ["loading", "realized"] {
            state.remove(key).unwrap_or_else(|| panic!("a {key} key"));
        }
        for tf in state["timeframes"].as_array_mut().expect("timeframes") {
            let tf = tf.as_object_mut().expect("a timeframe");
            tf.remove("range").expect("a range key");
            tf.remove("atr").expect("an atr key");
        }
        let rules = json["rules"].as_object_mut().expect("a rules object");
        rules.remove("reach").expect("a reach key");
        rules.remove("plays").expect("a plays key");
        json
    };
    pairs.iter().map(strip).collect()
}

/// The alerts of kinds a snapshot of schema 1 knew: the playbook's newer kinds read state it
/// predates.
fn known_to_schema_1(alerts: &[Alert]) -> Vec<&Alert> {
    (alerts.iter())
        .filter(|a| !AlertKind::PLAYBOOK.contains(&a.kind()))
        .collect()
}
