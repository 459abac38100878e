//! Realized liquidations learned from real prints: BTCUSDT and ETHUSDT forceOrder prints of
//! 2025-01-26/27 (the DeepSeek sell-off) with their 5m bars, replayed through the engine; the
//! pair's tape must hold exactly what an awk pass over the fixture sums. Fixture provenance:
//! tests/fixtures/liquidations-realized/SOURCES.md.

use std::path::Path;

use liqwave::analytics::realized::{NoReading, Reading, RealizedParams};
use liqwave::engine::{Engine, PairSnapshot};
use liqwave::model::{Side, TimeMs};
use liqwave::source::replay::{Dataset, ReplayOptions};

/// 2026-01-01 00:00 UTC: the load's "now" (the fixture is older; nothing reads the clock).
const NOW: TimeMs = 1_767_225_600_000;

fn replayed() -> Vec<PairSnapshot> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = liqwave::config::from_toml_str("", root).expect("default config");
    let dir = root.join("tests/fixtures/liquidations-realized");
    let data = Dataset::load(&dir, &ReplayOptions::new(NOW)).expect("the fixture loads");
    let mut engine = Engine::new(&config);
    let mut alerts = Vec::new();
    for ev in data.events() {
        engine.handle(ev, &mut alerts);
    }
    engine.snapshot()
}

/// Per pair and 4h bar, what SOURCES.md's awk command prints over the fixture: (symbol, bar
/// open, long cents (ap × z of SELL rows, each rounded to a cent), short cents, long prints,
/// short prints), repeated prints (same symbol, side, `ap`, `z`, `T`) dropped as
/// the replay drops them.
#[rustfmt::skip]
const AWK: [(&str, TimeMs, u64, u64, u32, u32); 3] = [
    ("BTCUSDT", 1_737_993_600_000, 48_909_272, 2_190_149, 26, 5),
    ("ETHUSDT", 1_737_907_200_000, 0, 180_199, 0, 2),
    ("ETHUSDT", 1_737_993_600_000, 25_820_265, 4_321_054, 36, 11),
];

#[test]
fn the_tape_sums_real_prints_per_4h_bar_as_awk_does() {
    let pairs = replayed();
    let mut got = Vec::new();
    for pair in &pairs {
        let symbol = pair.state.symbol().as_str();
        for bar in pair.state.realized().bars() {
            let b = bar;
            got.push((
                symbol.to_owned(),
                b.open_time,
                b.long_usd,
                b.short_usd,
                b.long_prints,
                b.short_prints,
            ));
        }
    }
    assert_eq!(got.len(), AWK.len(), "{got:?}");
    for (g, want) in got.iter().zip(AWK) {
        let cents = |usd: f64| (usd * 100.0).round() as u64;
        let g = (g.0.as_str(), g.1, cents(g.2), cents(g.3), g.4, g.5);
        assert_eq!(g, want, "exactly, to the cent");
    }
}

/// BTCUSDT at its last bar's close (2025-01-28 00:00): three 4h bars of record, $510,994 in
/// all, $170,331 typical; two 0.25 % long buckets beat that (awk over `log(ap)/log(1.0025)`),
/// shown at their middles 1.0025^4609.5 and 1.0025^4608.5.
/// The default two days of record are not there yet, so no exhaustion reading.
#[test]
fn btc_levels_of_the_sell_off_are_the_buckets_awk_finds() {
    let pairs = replayed();
    let btc = &pairs
        .iter()
        .find(|p| p.state.symbol().as_str() == "BTCUSDT")
        .unwrap()
        .state;
    let now = btc.as_of().expect("a state time");
    assert_eq!(now, 1_738_022_400_000);
    let p = RealizedParams {
        min_record_bars: 3,
        ..RealizedParams::DEFAULT
    };
    let levels: Vec<_> = btc
        .realized()
        .levels(now, &p)
        .iter()
        .map(|l| {
            (
                l.side,
                (l.notional_usd() * 100.0).round(),
                (l.price() * 1e4).round() / 1e4,
                l.prints,
            )
        })
        .collect();
    #[rustfmt::skip]
    let want = [(Side::Long, 26_224_893.0, 99_645.012_6, 16), (Side::Long, 22_426_366.0, 99_396.521_3, 9)];
    assert_eq!(levels, want);
    let strict = RealizedParams {
        min_record_bars: 4,
        ..RealizedParams::DEFAULT
    };
    assert!(btc.realized().levels(now, &strict).is_empty());
    assert_eq!(
        btc.realized()
            .exhaustion(btc.trail(), &RealizedParams::DEFAULT),
        Reading::Unknown(NoReading::ShortRecord(2))
    );
}
