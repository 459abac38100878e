//! Benchmarks of the hot path: RSI per value, and recorded bars through engine + rules per second
//! (DESIGN.md §10 targets ≥ 1 M bars/s on one core). Run: `cargo bench --bench pipeline`.

use std::path::Path;

use divan::Bencher;
use divan::counter::ItemsCount;
use liqwave::analytics::rsi::Rsi;
use liqwave::config::{self, Config};
use liqwave::engine::Engine;
use liqwave::model::{Interval, SymbolEvent};
use liqwave::source::replay::{Dataset, ReplayOptions};

fn main() {
    divan::main();
}

fn fixtures() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/binance"
    ))
}

fn load(source_interval: Interval) -> (Config, Vec<SymbolEvent>) {
    let text = format!("[replay]\nsource_interval = \"{source_interval}\"\n");
    let config = config::from_toml_str(&text, fixtures()).expect("bench config");
    let options = ReplayOptions {
        source_interval,
        ..ReplayOptions::new(liqwave::clock::wall_ms())
    };
    let events = Dataset::load(fixtures(), &options)
        .expect("fixtures")
        .into_events();
    (config, events)
}

/// Wilder RSI on a real close series (BTCUSDT 5m), per value.
#[divan::bench]
fn rsi_per_value(bencher: Bencher) {
    let (_, events) = load(Interval::M5);
    let closes: Vec<f64> = events
        .iter()
        .filter_map(|e| match &e.event {
            liqwave::model::MarketEvent::Candle { candle, .. } => Some(candle.close),
            _ => None,
        })
        .collect();
    bencher.counter(ItemsCount::new(closes.len())).bench(|| {
        let mut rsi = Rsi::new(14);
        let mut last = 0.0;
        for &c in &closes {
            if let Some(v) = rsi.update(c) {
                last = v.rsi;
            }
        }
        last
    });
}

/// Every recorded event through engine and rules (aggregation, RSI, regime, pivots, entry,
/// alerts), counted in events; source bars are nearly all of them.
#[divan::bench(args = [Interval::M5, Interval::M1])]
fn engine_events(bencher: Bencher, source: Interval) {
    let (config, events) = load(source);
    bench_engine(bencher, &config, &events);
}

/// The same with the demo's rule settings (4h bias, 30 warm-up bars, density 3): the bias warms
/// up within the recordings, so every rule runs (cluster touches on each bar, setups, exits) —
/// the cost of the rules on top of the above.
#[divan::bench(args = [Interval::M5, Interval::M1])]
fn engine_events_rules_live(bencher: Bencher, source: Interval) {
    let text = format!(
        "[replay]\nsource_interval = \"{source}\"\n[rsi]\nmin_warmup_bars = 30\n\
         [rules]\nbias_timeframe = \"4h\"\n[rules.clusters]\nmin_density = 3\n"
    );
    let config = config::from_toml_str(&text, fixtures()).expect("bench config");
    let (_, events) = load(source);
    bench_engine(bencher, &config, &events);
}

/// Times whole runs of `events` through a fresh engine, counted in events.
fn bench_engine(bencher: Bencher, config: &Config, events: &[SymbolEvent]) {
    bencher.counter(ItemsCount::new(events.len())).bench(|| {
        let mut engine = Engine::new(config);
        let mut alerts = Vec::new();
        for ev in events {
            engine.handle(ev, &mut alerts);
        }
        alerts.len()
    });
}
