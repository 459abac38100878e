//! Micro-benchmark of candle aggregation: the BTCUSDT 5m fixture (10,906 bars) into 4h, 1d and
//! 1w. Reports source bars per second. Reads only the repository's test fixtures.

use std::io::{BufRead, BufReader};

use divan::Bencher;
use divan::counter::ItemsCount;
use liqwave::analytics::candles::Aggregator;
use liqwave::model::{Candle, Interval};

fn main() {
    divan::main();
}

/// The fixture's bars, parsed once outside the timed loop.
fn btc_5m() -> Vec<Candle> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/binance/klines/5m/BTCUSDT_5m.csv.gz"
    );
    let file = std::fs::File::open(path).expect("BTCUSDT 5m fixture");
    let reader = BufReader::new(flate2::read::GzDecoder::new(file));
    reader
        .lines()
        .skip(1)
        .map(|line| {
            let line = line.expect("readable fixture");
            let f: Vec<f64> = line
                .split(',')
                .map(|x| x.parse().expect("numeric field"))
                .collect();
            Candle {
                open_time: f[0] as i64,
                open: f[1],
                high: f[2],
                low: f[3],
                close: f[4],
                volume: f[5],
                quote_volume: Some(f[5] * f[4]),
                taker_buy_quote: Some(f[5] * f[4] * 0.5),
            }
        })
        .collect()
}

#[divan::bench]
fn btc_5m_into_4h_1d_1w(bencher: Bencher<'_, '_>) {
    let bars = btc_5m();
    let mut out = Vec::with_capacity(512);
    bencher
        .counter(ItemsCount::new(bars.len()))
        .bench_local(|| {
            let mut agg =
                Aggregator::new(Interval::M5, &[Interval::H4, Interval::D1, Interval::W1]);
            out.clear();
            for bar in &bars {
                agg.push(divan::black_box(bar), &mut out);
            }
            divan::black_box(out.len());
            agg.stats().emitted
        });
}
