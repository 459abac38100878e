//! Cost of the liquidation heatmap per pair per 5-minute step (model + clusters), on the recorded
//! HYPEUSDT klines and open interest (DESIGN.md §10 target: ≤ 5 µs per step, ≤ 64 KB per pair).
//! Run: `cargo bench --bench heatmap`. Divan's "item/s" is steps per second; the per-step cost
//! is the median time divided by the step count printed at the start.

use std::hint::black_box;
use std::io::Read;
use std::sync::LazyLock;

use divan::Bencher;
use divan::counter::ItemsCount;
use liqwave::analytics::brackets::margin_for;
use liqwave::analytics::clusters::{ClusterParams, Clusters, find_clusters};
use liqwave::analytics::heatmap::{Heatmap, HeatmapParams, Kernel};
use liqwave::model::{Candle, MINUTE_MS};

const FIVE_MIN: i64 = 5 * MINUTE_MS;
/// Bars replayed before the measured part: the listing day plus four days, so the map is full.
const WARM_BARS: usize = 1_400;

struct Data {
    kernel: Kernel,
    /// The map after `WARM_BARS` steps, and the clusters of its last step.
    warm: Heatmap,
    warm_clusters: Clusters,
    /// The measured bars with their open interest and a daily-ATR stand-in.
    bars: Vec<(Candle, f64, f64)>,
}

fn load() -> Data {
    let mut text = String::new();
    let gz = std::fs::File::open("tests/fixtures/binance/klines/5m/HYPEUSDT_5m.csv.gz").unwrap();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .unwrap();
    let candles: Vec<Candle> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
            Candle {
                open_time: f[0] as i64,
                open: f[1],
                high: f[2],
                low: f[3],
                close: f[4],
                volume: f[5],
                quote_volume: None,
                taker_buy_quote: Some(f[7]),
            }
        })
        .collect();
    // Metrics rows are aligned with the klines (checked by tests/it/heatmap_real_data.rs).
    let oi_text =
        std::fs::read_to_string("tests/fixtures/binance/oi/HYPEUSDT_metrics_5m.csv").unwrap();
    let oi: Vec<f64> = oi_text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
        .collect();
    // ATR stand-in: the high−low range of the trailing 24 h.
    let atr: Vec<f64> = (0..candles.len())
        .map(|i| {
            let w = &candles[i.saturating_sub(287)..=i];
            let hi = w.iter().map(|b| b.high).fold(f64::MIN, f64::max);
            let lo = w.iter().map(|b| b.low).fold(f64::MAX, f64::min);
            hi - lo
        })
        .collect();
    let kernel = Kernel::new(
        &HeatmapParams::default(),
        margin_for(&"HYPEUSDT".parse().unwrap()),
    );
    let mut warm = Heatmap::new(&kernel);
    let mut clusters = None;
    for i in 0..WARM_BARS {
        let b = &candles[i];
        warm.step(&kernel, b.open_time + FIVE_MIN, b, Some(oi[i]))
            .unwrap();
        clusters = Some(find_clusters(
            &warm,
            &ClusterParams::default(),
            b.close,
            atr[i],
            clusters.as_ref(),
        ));
    }
    let bars = (WARM_BARS..candles.len())
        .map(|i| (candles[i], oi[i], atr[i]))
        .collect();
    Data {
        kernel,
        warm,
        warm_clusters: clusters.unwrap(),
        bars,
    }
}

static DATA: LazyLock<Data> = LazyLock::new(load);

fn main() {
    let d = &*DATA;
    let arrays = d.warm.heap_bytes();
    let inline = size_of::<Heatmap>();
    let kernel = d.kernel.heap_bytes() + size_of::<Kernel>();
    println!(
        "heatmap memory per pair: {} B mass arrays + {} B struct = {:.1} KiB \
         (kernel, shareable between pairs with one margin spec: {:.1} KiB); \
         JSON snapshot {:.1} KiB; {} measured steps per iteration",
        arrays,
        inline,
        (arrays + inline) as f64 / 1024.0,
        kernel as f64 / 1024.0,
        serde_json::to_string(&d.warm).unwrap().len() as f64 / 1024.0,
        d.bars.len(),
    );
    divan::main();
}

/// One 5-minute step of the model plus cluster extraction, as the engine runs it per pair.
#[divan::bench]
fn step_and_clusters(bencher: Bencher) {
    let d = &*DATA;
    let p = ClusterParams::default();
    bencher
        .counter(ItemsCount::new(d.bars.len()))
        .with_inputs(|| (d.warm.clone(), d.warm_clusters.clone()))
        .bench_local_values(|(mut map, mut prev)| {
            for (b, oi, atr) in &d.bars {
                map.step(&d.kernel, b.open_time + FIVE_MIN, b, Some(*oi))
                    .unwrap();
                prev = find_clusters(&map, &p, b.close, *atr, Some(&prev));
            }
            black_box((map, prev))
        });
}

/// The model step alone.
#[divan::bench]
fn step_only(bencher: Bencher) {
    let d = &*DATA;
    bencher
        .counter(ItemsCount::new(d.bars.len()))
        .with_inputs(|| d.warm.clone())
        .bench_local_values(|mut map| {
            for (b, oi, _) in &d.bars {
                black_box(
                    map.step(&d.kernel, b.open_time + FIVE_MIN, b, Some(*oi))
                        .unwrap(),
                );
            }
            map
        });
}

/// Cluster extraction alone, on the warm map.
#[divan::bench]
fn clusters_only(bencher: Bencher) {
    let d = &*DATA;
    let p = ClusterParams::default();
    let (b, _, atr) = d.bars[0];
    bencher.bench_local(|| {
        find_clusters(
            black_box(&d.warm),
            &p,
            black_box(b.close),
            atr,
            Some(&d.warm_clusters),
        )
    });
}

/// A mark tick between steps (consumption only).
#[divan::bench]
fn mark_tick(bencher: Bencher) {
    let d = &*DATA;
    let (b, _, _) = d.bars[0];
    let t = d.warm.last_time().unwrap() + 1;
    bencher
        .with_inputs(|| d.warm.clone())
        .bench_local_refs(|map| map.on_mark(t, black_box(b.close * 0.999)));
}
