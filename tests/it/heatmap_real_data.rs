//! The heatmap and cluster extraction replayed over recorded Binance data: HYPEUSDT 5m klines with
//! taker-buy volume and 5m open interest (`oi` mode), and BTCUSDT 5m klines without OI
//! (`volume_proxy` mode). Fixture provenance: tests/fixtures and shared SOURCES.md §1, §6.

use std::io::Read;

use liqwave::analytics::brackets::margin_for;
use liqwave::analytics::clusters::{ClusterParams, Clusters, find_clusters};
use liqwave::analytics::heatmap::{Heatmap, HeatmapParams, Kernel, Mode};
use liqwave::model::{Candle, DAY_MS, MINUTE_MS, Side, Symbol, TimeMs, days_from_civil};

const FIVE_MIN: TimeMs = 5 * MINUTE_MS;

fn gunzip(path: &str) -> String {
    let file = std::fs::File::open(path).unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap();
    text
}

fn num(s: &str) -> f64 {
    s.parse().unwrap()
}

/// Klines `open_time_ms,open,high,low,close,volume[,taker_buy_base,taker_buy_quote]`.
fn klines(symbol: &str) -> Vec<Candle> {
    let text = gunzip(&format!(
        "tests/fixtures/binance/klines/5m/{symbol}_5m.csv.gz"
    ));
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            Candle {
                open_time: f[0].parse().unwrap(),
                open: num(f[1]),
                high: num(f[2]),
                low: num(f[3]),
                close: num(f[4]),
                volume: num(f[5]),
                quote_volume: None,
                taker_buy_quote: f.get(7).map(|s| num(s)),
            }
        })
        .collect()
}

/// `(stamp, open interest in contracts)` of the metrics file; `create_time` is UTC text.
fn open_interest() -> Vec<(TimeMs, f64)> {
    let text =
        std::fs::read_to_string("tests/fixtures/binance/oi/HYPEUSDT_metrics_5m.csv").unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let (date, time) = f[0].split_once(' ').unwrap();
            let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
            let t: Vec<i64> = time.split(':').map(|x| x.parse().unwrap()).collect();
            let secs = days_from_civil(d[0], d[1], d[2]) * 86_400 + t[0] * 3600 + t[1] * 60 + t[2];
            (secs * 1000, num(f[2]))
        })
        .collect()
}

/// Daily ATR stand-in from 5m bars: mean high−low range of the trailing 24 h windows over the
/// last `days` days (enough for a window width; not Wilder's ATR).
fn atr_1d(bars: &[Candle], end: usize, days: usize) -> f64 {
    let per_day = (DAY_MS / FIVE_MIN) as usize;
    let start = end.saturating_sub(per_day * days);
    let ranges: Vec<f64> = bars[start..end]
        .chunks(per_day)
        .map(|c| {
            let hi = c.iter().map(|b| b.high).fold(f64::MIN, f64::max);
            let lo = c.iter().map(|b| b.low).fold(f64::MAX, f64::min);
            hi - lo
        })
        .collect();
    ranges.iter().sum::<f64>() / ranges.len() as f64
}

fn hype() -> (Vec<Candle>, Vec<(TimeMs, f64)>) {
    let bars = klines("HYPEUSDT");
    let oi = open_interest();
    assert_eq!(bars.len(), oi.len());
    for (b, o) in bars.iter().zip(&oi) {
        // A metrics row stamped t describes the bar opening at t; it is known at t + 5m.
        assert_eq!(b.open_time, o.0);
    }
    (bars, oi)
}

/// Index of the first bar after the listing day (2025-05-31 00:00 UTC).
fn after_listing_day(bars: &[Candle]) -> usize {
    let day_end = (bars[0].open_time / DAY_MS + 1) * DAY_MS;
    bars.iter().position(|b| b.open_time >= day_end).unwrap()
}

/// Replays HYPEUSDT in `oi` mode from the day after listing. Before each step the bar's low and
/// high are fed as mark ticks (the replay stand-in for `!markPrice`), and the callback sees the
/// clusters computed before the bar, the clusters at the bar's low and high after the ticks, and
/// the step's report.
fn replay_hype(mut on_bar: impl FnMut(usize, &Candle, &Clusters, &Clusters, &Clusters, &Heatmap)) {
    let (bars, oi) = hype();
    let symbol: Symbol = "HYPEUSDT".parse().unwrap();
    let kernel = Kernel::new(&HeatmapParams::default(), margin_for(&symbol));
    let mut map = Heatmap::new(&kernel);
    let params = ClusterParams::default();
    let start = after_listing_day(&bars);
    let mut prev: Option<Clusters> = None;
    for i in start..bars.len() {
        let b = &bars[i];
        let atr = atr_1d(&bars, i, 3);
        if let Some(before) = prev.take() {
            map.on_mark(b.open_time + MINUTE_MS, b.low);
            map.on_mark(b.open_time + 2 * MINUTE_MS, b.high);
            let at_low = find_clusters(&map, &params, b.low, atr, Some(&before));
            let at_high = find_clusters(&map, &params, b.high, atr, Some(&before));
            on_bar(i - start, b, &before, &at_low, &at_high, &map);
        }
        let report = map
            .step(&kernel, b.open_time + FIVE_MIN, b, Some(oi[i].1))
            .unwrap();
        assert_eq!(report.mode, Mode::Oi);
        let atr = atr_1d(&bars, i + 1, 3);
        prev = Some(find_clusters(&map, &params, b.close, atr, prev.as_ref()));
    }
}

#[test]
fn hype_oi_replay_keeps_clusters_on_both_sides_of_price() {
    let (mut checkpoints, mut both) = (0, 0);
    replay_hype(|n, _, before, _, _, map| {
        // Every 12 h after a day of warm-up.
        if n < 288 || n % 144 != 0 {
            return;
        }
        checkpoints += 1;
        assert_eq!(before.mode, Mode::Oi);
        let coverage = before.coverage.unwrap();
        assert!(coverage > 0.05 && coverage <= 1.0, "coverage {coverage}");
        assert!(
            map.total(Side::Long) + map.total(Side::Short)
                <= map.last_open_interest().unwrap() * map.last_price().unwrap() * (1.0 + 1e-12)
        );
        let (long, short) = (&before.long.clusters, &before.short.clusters);
        assert!(
            long.iter()
                .all(|c| c.far_edge < c.near_edge && c.near_edge <= before.price)
        );
        assert!(
            short
                .iter()
                .all(|c| c.far_edge > c.near_edge && c.near_edge >= before.price)
        );
        assert!(
            before
                .iter()
                .all(|c| c.density > 1.0 && c.share >= 0.02 && c.age_steps >= 1)
        );
        assert!(
            !long.is_empty() || !short.is_empty(),
            "no cluster at all at bar {n}"
        );
        both += usize::from(!long.is_empty() && !short.is_empty());
    });
    // In a trend the side price runs toward gets swept (HYPE went 33 → 42 here), so both sides
    // are populated at 11 of 21 checkpoints; the others have one side only.
    assert!(checkpoints >= 18, "{checkpoints} checkpoints");
    assert!(
        both >= 8,
        "both sides at only {both} of {checkpoints} checkpoints"
    );
}

#[test]
fn hype_price_trading_into_a_cluster_moves_its_near_edge_and_shrinks_it() {
    let (mut events, mut shrunk_or_gone) = (0, 0);
    replay_hype(|_, b, before, at_low, at_high, _| {
        for (side, px, after) in [(Side::Long, b.low, at_low), (Side::Short, b.high, at_high)] {
            for c in &before.side(side).clusters {
                let into = match side {
                    Side::Long => px < c.near_edge && px > c.far_edge,
                    Side::Short => px > c.near_edge && px < c.far_edge,
                };
                let moved = |edge: f64| match side {
                    Side::Long => edge <= px,
                    Side::Short => edge >= px,
                };
                if !into {
                    continue;
                }
                events += 1;
                let Some(x) = after.side(side).clusters.iter().find(|x| x.id == c.id) else {
                    shrunk_or_gone += 1; // swept below the share cut
                    continue;
                };
                // Everything between the old near edge and price was liquidated.
                assert!(
                    moved(x.near_edge) && x.near_edge != c.near_edge,
                    "{c:?} -> {x:?} at {px}"
                );
                assert!(
                    x.gap_pct < 0.25,
                    "price is at the pool, not {}% away",
                    x.gap_pct
                );
                // The rest may merge with a neighbour once the window moves; mostly it shrinks.
                shrunk_or_gone += usize::from(x.notional_usd < c.notional_usd);
            }
        }
    });
    assert!(events >= 50, "only {events} bars traded into a cluster");
    assert!(
        shrunk_or_gone * 10 >= events * 9,
        "{shrunk_or_gone} of {events} shrank"
    );
}

#[test]
fn btc_without_open_interest_runs_in_volume_proxy_mode() {
    let bars = klines("BTCUSDT");
    let symbol: Symbol = "BTCUSDT".parse().unwrap();
    let kernel = Kernel::new(&HeatmapParams::default(), margin_for(&symbol));
    let mut map = Heatmap::new(&kernel);
    let mut prev: Option<Clusters> = None;
    let (mut checkpoints, mut with_clusters) = (0, 0);
    for (i, b) in bars.iter().enumerate() {
        let r = map.step(&kernel, b.open_time + FIVE_MIN, b, None).unwrap();
        assert_eq!((r.mode, r.coverage), (Mode::VolumeProxy, None));
        assert!(r.opened_long > 0.0 && r.opened_short > 0.0);
        let atr = atr_1d(&bars, i + 1, 3);
        let c = find_clusters(&map, &ClusterParams::default(), b.close, atr, prev.as_ref());
        assert_eq!((c.mode, c.coverage), (Mode::VolumeProxy, None));
        if i % 288 == 287 {
            checkpoints += 1;
            with_clusters += usize::from(c.iter().next().is_some());
        }
        prev = Some(c);
    }
    assert_eq!(map.counters().proxy_steps, bars.len() as u64);
    // A proxy map is smooth (every bar deposits), so the 3×-background rule fires less often
    // than in OI mode: clusters at 17 of 37 daily checkpoints with the defaults.
    assert!(
        with_clusters >= 8,
        "clusters at {with_clusters} of {checkpoints} checkpoints"
    );
}
