//! Unit tests of `notify::chart`: table cases, one line of data each where it reads well.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use super::scale::group;
use super::*;
use crate::analytics::RegimeThresholds;
use crate::model::Interval;
use crate::model::Side;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The 5m fixture aggregated to 4h bars (a partial first bar is dropped).
fn fixture_4h(symbol: &str) -> Vec<Candle> {
    let path = format!("{ROOT}/tests/fixtures/binance/klines/5m/{symbol}_5m.csv.gz");
    let file = std::fs::File::open(&path).expect("fixture");
    let mut out: Vec<(Candle, usize)> = Vec::new();
    for line in BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .skip(1)
    {
        let line = line.expect("gz line");
        let v: Vec<f64> = line
            .split(',')
            .map(|x| x.parse().expect("number"))
            .collect();
        let open_time = Interval::H4.bar_open(v[0] as TimeMs);
        match out.last_mut() {
            Some((c, n)) if c.open_time == open_time => {
                (c.high, c.low, c.close) = (c.high.max(v[2]), c.low.min(v[3]), v[4]);
                c.volume += v[5];
                *n += 1;
            }
            _ => out.push((candle(open_time, v[1], v[2], v[3], v[4], v[5]), 1)),
        }
    }
    out.into_iter()
        .filter(|(_, n)| *n == 48)
        .map(|(c, _)| c)
        .collect()
}

fn candle(open_time: TimeMs, open: f64, high: f64, low: f64, close: f64, volume: f64) -> Candle {
    Candle {
        open_time,
        open,
        high,
        low,
        close,
        volume,
        quote_volume: None,
        taker_buy_quote: None,
    }
}

/// Wilder RSI(14), `None` for the first 14 bars.
fn wilder_rsi(closes: &[f64]) -> Vec<Option<f64>> {
    let (mut gain, mut loss) = (0.0, 0.0);
    let mut out = vec![None];
    for (i, w) in closes.windows(2).enumerate() {
        let d = w[1] - w[0];
        let (g, l) = (d.max(0.0), (-d).max(0.0));
        if i < 14 {
            (gain, loss) = (gain + g / 14.0, loss + l / 14.0);
        } else {
            (gain, loss) = ((gain * 13.0 + g) / 14.0, (loss * 13.0 + l) / 14.0);
        }
        let rsi = if gain + loss == 0.0 {
            50.0
        } else {
            100.0 * gain / (gain + loss)
        };
        out.push((i >= 13).then_some(rsi));
    }
    out
}

fn regimes(rsi: &[Option<f64>]) -> Vec<Regime> {
    let mut r = Regime::Range;
    rsi.iter()
        .map(|x| {
            if let Some(x) = x {
                r = r.next(*x, &RegimeThresholds::CARDWELL);
            }
            r
        })
        .collect()
}

/// A toy liquidation map: each bar opens notional at leverage tiers, bars sweep what they cross,
/// everything decays with a 48 h half-life. Returns one column per shown bar.
fn synthetic_heat(all: &[Candle], shown_from: usize, lo: f64, hi: f64) -> Vec<HeatColumn> {
    const BINS: usize = 110;
    let edge = |b: usize| lo * (hi / lo).powf(b as f64 / BINS as f64);
    let bin = |p: f64| ((p / lo).ln() / (hi / lo).ln() * BINS as f64).floor();
    let tiers = [
        (5.0, 0.15),
        (10.0, 0.3),
        (20.0, 0.25),
        (25.0, 0.1),
        (50.0, 0.12),
        (100.0, 0.08),
    ];
    let (mut long, mut short) = (vec![0.0; BINS], vec![0.0; BINS]);
    let mut columns = Vec::new();
    for (i, k) in all.iter().enumerate() {
        for b in 0..BINS {
            let mid = (edge(b) + edge(b + 1)) / 2.0;
            long[b] *= if mid >= k.low { 0.0 } else { 0.944 };
            short[b] *= if mid <= k.high { 0.0 } else { 0.944 };
        }
        let notional = k.close * k.volume * 0.05;
        for (lev, w) in tiers {
            for (side, price) in [
                (&mut long, k.close * (1.0 - 1.0 / lev)),
                (&mut short, k.close * (1.0 + 1.0 / lev)),
            ] {
                let spread = (k.close - price).abs() * 0.15;
                let (b0, b1) = (bin(price - spread), bin(price + spread));
                if b1 < 0.0 || b0 >= BINS as f64 {
                    continue; // off the grid
                }
                let (lo, hi) = (b0.max(0.0) as usize, b1.min(BINS as f64 - 1.0) as usize);
                for mass in &mut side[lo..=hi] {
                    *mass += w * notional / (b1 - b0 + 1.0);
                }
            }
        }
        if i >= shown_from {
            let bands = (0..BINS)
                .map(|b| HeatBand {
                    price_low: edge(b),
                    price_high: edge(b + 1),
                    long_usd: long[b],
                    short_usd: short[b],
                })
                .collect();
            columns.push(HeatColumn {
                time: k.open_time,
                width_ms: 4 * HOUR_MS,
                bands,
            });
        }
    }
    columns
}

/// The hottest run of bands on each side of `price` in the last column, as cluster boxes.
fn clusters(col: &HeatColumn, price: f64) -> Vec<ClusterBand> {
    let mut out = Vec::new();
    for side in [Side::Long, Side::Short] {
        let mass = |b: &HeatBand| {
            if side == Side::Long {
                b.long_usd
            } else {
                b.short_usd
            }
        };
        let bands: Vec<&HeatBand> = col
            .bands
            .iter()
            .filter(|b| (side == Side::Long) == (b.price_high < price))
            .collect();
        let Some(peak) =
            (0..bands.len()).max_by(|&a, &b| mass(bands[a]).total_cmp(&mass(bands[b])))
        else {
            continue;
        };
        let hot = |i: usize| mass(bands[i]) >= 0.45 * mass(bands[peak]);
        let (mut a, mut b) = (peak, peak);
        while a > 0 && hot(a - 1) {
            a -= 1;
        }
        while b + 1 < bands.len() && hot(b + 1) {
            b += 1;
        }
        let (low, high) = (bands[a].price_low, bands[b].price_high);
        let usd: f64 = bands[a..=b].iter().map(|x| mass(x)).sum();
        let (near, far, who) = if side == Side::Long {
            (high, low, "longs")
        } else {
            (low, high, "shorts")
        };
        let label = format!(
            "{who} {} – {} · ${:.0}M est.",
            group(near, 0),
            group(far, 0),
            usd / 1e6
        );
        out.push(ClusterBand {
            side,
            near_edge: near,
            far_edge: far,
            label,
            touched: false,
        });
    }
    out
}

/// Width and height from a PNG's signature and IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

/// Decodes with the `png` crate and returns the number of distinct colours.
fn distinct_colours(bytes: &[u8]) -> usize {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf[..info.buffer_size()]
        .chunks_exact(3)
        .map(|p| (p[0], p[1], p[2]))
        .collect::<HashSet<_>>()
        .len()
}

fn save(name: &str, bytes: &[u8]) {
    let dir = PathBuf::from(ROOT).join("target/chart-examples");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join(name), bytes).expect("write example");
}

fn btc_chart(width: u32, height: u32) -> Vec<u8> {
    btc_chart_with(width, height, &[])
}

fn btc_chart_with(width: u32, height: u32, realized: &[RealizedBar]) -> Vec<u8> {
    let all = fixture_4h("BTCUSDT");
    let from = all.len() - 120;
    let rsi = wilder_rsi(&all.iter().map(|c| c.close).collect::<Vec<_>>());
    let regimes = regimes(&rsi);
    let shown = &all[from..];
    let lo = shown.iter().map(|c| c.low).fold(f64::INFINITY, f64::min) * 0.9;
    let hi = shown.iter().map(|c| c.high).fold(0.0, f64::max) * 1.1;
    let heat = synthetic_heat(&all, from, lo, hi);
    let last = shown[shown.len() - 1];
    let mut clusters = clusters(&heat[heat.len() - 1], last.close);
    clusters[0].touched = true;
    // The past as the pair keeps it: quantized columns; the last column is the map now.
    let history: Vec<HistoryColumn> = (heat.iter())
        .map(|col| {
            let usd: Vec<f64> = col.bands.iter().map(|b| b.long_usd + b.short_usd).collect();
            HistoryColumn::from_usd(col.time, lo, hi, &usd)
        })
        .collect();
    let entry = last.close;
    let levels = [
        (LevelKind::Entry, entry, "entry"),
        (LevelKind::Stop, entry * 1.03, "stop"),
        (LevelKind::Target, entry * 0.94, "T1"),
        (LevelKind::Target, entry * 0.9, "T2"),
    ]
    .map(|(kind, price, name)| ChartLevel {
        kind,
        price,
        label: format!("{name} {}", group(price, 0)),
    });
    let input = ChartInput {
        symbol: "BTCUSDT",
        interval_label: "4h",
        candles: shown,
        rsi: &rsi[from..],
        regimes: &regimes[from..],
        history: &history,
        heat: &heat[heat.len() - 1..],
        clusters: &clusters,
        levels: &levels,
        realized,
        mark_price: Some(last.close),
        as_of: last.open_time + 4 * HOUR_MS,
        note: "setup A short · entry 84,123 · stop 86,647 · T1 79,076 · R:R 2.0 (synthetic)",
        footer: "estimated liquidation heatmap (synthetic test field) · mode volume-proxy · coverage 0.62",
    };
    render_png(&input, width, height).expect("chart renders")
}

#[test]
fn chart_from_real_candles_is_a_png_of_the_requested_size_and_not_blank() {
    let bytes = btc_chart(1280, 800);
    save("chart.png", &bytes);
    assert_eq!(png_size(&bytes), (1280, 800));
    assert!(
        distinct_colours(&bytes) > 200,
        "a blank or near-blank image"
    );
}

/// Counts of pixels exactly in the chart's up and down colours.
fn up_down_pixels(bytes: &[u8]) -> (usize, usize) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let pixels = buf[..info.buffer_size()].chunks_exact(3);
    let is = |c: plotters::style::RGBAColor, p: &[u8]| (c.0, c.1, c.2) == (p[0], p[1], p[2]);
    pixels.fold((0, 0), |(u, d), p| {
        (u + usize::from(is(UP, p)), d + usize::from(is(DOWN, p)))
    })
}

/// Realized bars on the BTC chart's last 30 bars: `long` and `short` $ each.
fn realized_bars(long: f64, short: f64) -> Vec<RealizedBar> {
    let all = fixture_4h("BTCUSDT");
    (all[all.len() - 30..].iter().enumerate())
        .map(|(i, c)| RealizedBar {
            open_time: c.open_time,
            long_usd: long * (1 + i % 5) as f64,
            short_usd: short * (1 + i % 3) as f64,
            long_prints: u32::from(long > 0.0),
            short_prints: u32::from(short > 0.0),
        })
        .collect()
}

/// The realized panel draws longs red and shorts green: only-long bars add red where only-short
/// bars add green, on the same layout.
#[test]
fn the_realized_panel_draws_longs_red_and_shorts_green() {
    let both = btc_chart_with(1200, 1333, &realized_bars(2e6, 1e6));
    save("chart-realized.png", &both);
    assert_eq!(png_size(&both), (1200, 1333));
    let (long_up, long_down) =
        up_down_pixels(&btc_chart_with(1200, 1333, &realized_bars(1e6, 0.0)));
    let (short_up, short_down) =
        up_down_pixels(&btc_chart_with(1200, 1333, &realized_bars(0.0, 1e6)));
    assert!(
        long_down > short_down + 1000,
        "{long_down} red against {short_down}"
    );
    assert!(
        short_up > long_up + 1000,
        "{short_up} green against {long_up}"
    );
}

/// The panel shows only bars with prints inside the candles' window; none, no panel.
/// (bars as (bar offset from the first candle, long $, short $), bars the panel draws)
#[test]
#[rustfmt::skip]
fn the_realized_panel_takes_only_bars_of_the_window() {
    let c: Vec<Candle> = (0..3).map(|i| candle(i * 4 * HOUR_MS, 1.0, 2.0, 0.5, 1.5, 1.0)).collect();
    type Bars = &'static [(i64, f64, f64)];
    let cases: [(Bars, usize); 5] = [
        (&[], 0),
        (&[(0, 1.0, 0.0), (2, 0.0, 5.0)], 2),
        (&[(-1, 1.0, 0.0), (3, 1.0, 1.0)], 0),
        (&[(1, 0.0, 0.0)], 0),
        (&[(1, f64::NAN, 1.0), (1, 1.0, -1.0), (1, 1.0, f64::INFINITY)], 0),
    ];
    for (bars, want) in cases {
        let realized: Vec<RealizedBar> = (bars.iter())
            .map(|&(k, long_usd, short_usd)| RealizedBar { open_time: k * 4 * HOUR_MS, long_usd, short_usd, ..RealizedBar::default() })
            .collect();
        let input = ChartInput {
            symbol: "X", interval_label: "4h", candles: &c, rsi: &[None; 3], regimes: &[Regime::Range; 3],
            history: &[], heat: &[], clusters: &[], levels: &[], realized: &realized,
            mark_price: None, as_of: 0, note: "", footer: "",
        };
        assert_eq!(super::realized::in_window(&input, 4 * HOUR_MS).len(), want, "{bars:?}");
        render_png(&input, 640, 400).expect("draws");
    }
}

#[test]
fn chart_scales_to_small_and_large_sizes() {
    for (w, h) in [(640, 400), (1920, 1080)] {
        let bytes = btc_chart(w, h);
        save(&format!("chart-{w}x{h}.png"), &bytes);
        assert_eq!(png_size(&bytes), (w, h));
    }
}

#[test]
fn chart_refuses_what_it_cannot_draw() {
    let c = [candle(0, 1.0, 2.0, 0.5, 1.5, 1.0)];
    let ok = ChartInput {
        symbol: "X",
        interval_label: "4h",
        candles: &c,
        rsi: &[None],
        regimes: &[Regime::Range],
        history: &[],
        heat: &[],
        clusters: &[],
        levels: &[],
        realized: &[],
        mark_price: None,
        as_of: 0,
        note: "",
        footer: "",
    };
    let one_bar = render_png(&ok, 640, 400).expect("one bar, no heat, no RSI still draws");
    save("chart-one-bar.png", &one_bar);
    assert!(matches!(
        render_png(&ok, 10, 400),
        Err(ChartError::Input(_))
    ));
    let short = ChartInput { rsi: &[], ..ok };
    assert!(matches!(
        render_png(&short, 640, 400),
        Err(ChartError::Input(_))
    ));
    let empty = ChartInput {
        candles: &[],
        rsi: &[],
        regimes: &[],
        ..ok
    };
    assert!(matches!(
        render_png(&empty, 640, 400),
        Err(ChartError::Input(_))
    ));
}

fn board_rows(n: usize) -> Vec<BoardRow> {
    let names = [
        "BTCUSDT",
        "ETHUSDT",
        "SOLUSDT",
        "BNBUSDT",
        "XRPUSDT",
        "DOGEUSDT",
        "HYPEUSDT",
        "ADAUSDT",
        "SUIUSDT",
        "LINKUSDT",
        "AVAXUSDT",
        "TRXUSDT",
        "LTCUSDT",
        "DOTUSDT",
        "1000PEPEUSDT",
        "ENAUSDT",
        "AAVEUSDT",
        "WIFUSDT",
        "NEARUSDT",
        "TAOUSDT",
    ];
    let mut seed = 7u64;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as f64 / (1u64 << 31) as f64
    };
    (0..n)
        .map(|i| BoardRow {
            symbol: names[i % names.len()].to_owned(),
            cells: (0..3)
                .map(|tf| {
                    let rsi = 22.0 + 58.0 * next();
                    let regime = if rsi >= 58.0 {
                        Regime::Bull
                    } else if rsi <= 42.0 {
                        Regime::Bear
                    } else {
                        Regime::Range
                    };
                    let warming = tf == 0 && i % 9 == 8;
                    BoardCell {
                        rsi: (!warming).then_some(rsi),
                        regime,
                    }
                })
                .collect(),
            load: None,
        })
        .collect()
}

fn board(rows: &[BoardRow]) -> Result<Vec<u8>, ChartError> {
    render_board_png(&BoardInput {
        title: "RSI regime board · 2025-04-13 08:00 UTC",
        columns: &["1w", "1d", "4h"],
        rows,
        footer: "regimes per Cardwell ranges (bull ≥70 until <40, bear ≤30 until >60)",
    })
}

#[test]
fn board_renders_twenty_rows() {
    let rows = board_rows(20);
    let bytes = board(&rows).expect("board renders");
    save("board.png", &bytes);
    assert_eq!(png_size(&bytes), board_size(20, 3));
    assert!(distinct_colours(&bytes) > 50);
}

#[test]
fn a_load_column_appears_when_a_pair_has_a_cascade_score() {
    // Three blocks of twenty, so the width is the blocks' and not the minimum.
    let mut rows = board_rows(60);
    rows[3].load = Some("3/4".to_owned());
    let bytes = board(&rows).expect("board renders");
    save("board-load.png", &bytes);
    assert_eq!(png_size(&bytes), board_size(60, 4), "one more column");
    assert!(board_size(60, 4).0 > board_size(60, 3).0);
}

#[test]
fn a_long_board_wraps_into_blocks_and_an_oversized_one_is_refused() {
    let bytes = board(&board_rows(60)).expect("board renders");
    save("board-60.png", &bytes);
    let (w, h) = png_size(&bytes);
    assert_eq!((w, h), board_size(60, 3));
    assert!(
        w > board_size(20, 3).0 && h == board_size(20, 3).1,
        "three blocks of twenty"
    );
    assert!(matches!(
        board(&board_rows(MAX_BOARD_ROWS + 1)),
        Err(ChartError::Input(_))
    ));
    assert!(matches!(board(&[]), Err(ChartError::Input(_))));
}

#[test]
fn heat_intensity_lets_strong_levels_stand_out_and_weak_ones_fade() {
    // Bands of 1 to 100: the strong end (99th percentile) is 99.
    let scale = super::scale::HeatScale::from_values((1..=100).map(f64::from).collect()).unwrap();
    // (notional, intensity: None is not drawn)
    let cases = [
        (0.0, None),
        (11.0, None),
        (12.0, Some(0.1849)),
        (49.5, Some(0.5743)),
        (99.0, Some(1.0)),
        (500.0, Some(1.0)),
        (f64::NAN, None),
    ];
    for (v, want) in cases {
        let got = scale.intensity(v);
        let same = match (got, want) {
            (Some(g), Some(w)) => (g - w).abs() < 1e-3,
            (g, w) => g.is_none() && w.is_none(),
        };
        assert!(same, "{v}: {got:?}, want {want:?}");
    }
    assert!(super::scale::HeatScale::from_values(vec![0.0, f64::NAN]).is_none());
}
