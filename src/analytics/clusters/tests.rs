//! Unit tests of `analytics::clusters`: table cases, one line of data each where it reads well.

use super::*;
use crate::analytics::brackets::MarginSpec;
use crate::analytics::heatmap::{HeatmapParams, Kernel};
use crate::model::{Candle, MINUTE_MS};

/// Background 1.0 per bin over `len` bins, with `(first, last, value)` blocks on top.
fn masses(len: usize, blocks: &[(usize, usize, f64)]) -> Vec<f64> {
    let mut m = vec![1.0; len];
    for &(a, b, v) in blocks {
        m[a..=b].fill(v);
    }
    m
}

fn ranges(s: &Scan) -> Vec<(usize, usize)> {
    s.pools.iter().map(|p| (p.near, p.far)).collect()
}

fn scan_all(m: &[f64]) -> Scan {
    scan(m, m.len(), 0, &ClusterParams::default())
}

#[test]
fn known_runs_are_found_with_their_edges_peak_and_scores() {
    // Blocks of 5 on a background of 1: smoothing keeps their edge bins at 2 (< 3β = 3), so the
    // runs are exactly the blocks.
    let m = masses(100, &[(20, 24, 5.0), (60, 62, 8.0)]);
    let s = scan_all(&m);
    assert_eq!(s.background, 1.0);
    assert_eq!(s.threshold, 3.0);
    assert_eq!(ranges(&s), vec![(20, 24), (60, 62)]);
    let (a, b) = (s.pools[0], s.pools[1]);
    assert_eq!((a.mass, a.density, a.peak), (25.0, 5.0, 21)); // 21..=23 tie at 5: nearest wins
    assert_eq!((b.mass, b.density, b.peak), (24.0, 8.0, 61));
    assert_eq!((a.density_rank, b.density_rank), (2, 1));
    assert_eq!(s.window_mass, 92.0 + 25.0 + 24.0);
    assert!((a.share - 25.0 / s.window_mass).abs() < 1e-12);
    // τ: the smoothed approach (bin 0 at 0.75, bins 1..=18 at 1, bin 19 at 2) against 5 per bin.
    let approach = (0.75 + 18.0 + 2.0) / 20.0;
    assert!((a.thin_approach - (1.0 - approach / 5.0)).abs() < 1e-12);
    // Isolation: 35 bins between the pools, over each one's width, capped at 10.
    assert_eq!((a.isolation, b.isolation), (7.0, 10.0));
}

#[test]
fn runs_separated_by_two_bins_merge_and_by_three_do_not() {
    let merged = scan_all(&masses(100, &[(20, 24, 5.0), (27, 30, 5.0)]));
    assert_eq!(ranges(&merged), vec![(20, 30)]);
    assert_eq!(merged.pools[0].mass, 45.0 + 2.0); // the gap bins belong to the pool
    let apart = scan_all(&masses(100, &[(20, 24, 5.0), (28, 30, 5.0)]));
    assert_eq!(ranges(&apart), vec![(20, 24), (28, 30)]);
    assert_eq!(
        hot_runs(&[4.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 4.0], 3.0, 2),
        vec![(0, 3), (7, 7)]
    );
}

#[test]
fn pools_below_two_percent_share_are_dropped() {
    // A one-bin spike is hot ((1 + 2·6 + 1)/4 = 3.5) but holds 6 of ~420: 1.4 %.
    let s = scan_all(&masses(400, &[(50, 50, 6.0), (200, 204, 5.0)]));
    assert_eq!(ranges(&s), vec![(200, 204)]);
    let params = ClusterParams {
        min_share: 0.01,
        ..ClusterParams::default()
    };
    let s = scan(
        &masses(400, &[(50, 50, 6.0), (200, 204, 5.0)]),
        400,
        0,
        &params,
    );
    assert_eq!(ranges(&s), vec![(50, 50), (200, 204)]);
}

#[test]
fn empty_space_before_a_pool_is_a_thin_approach_and_mass_behind_it_is_fuel() {
    let mut m = vec![0.0; 60];
    m[10..=14].fill(10.0);
    m[15..40].fill(1.0);
    let s = scan(&m, 30, 10, &ClusterParams::default());
    let p = s.pools[0];
    assert_eq!((p.near, p.far), (10, 14));
    assert_eq!(p.thin_approach, 1.0 - (2.5 / 10.0) / 10.0); // only bin 9 sees the pool's edge
    assert_eq!(p.fuel_behind, 10.0 / 50.0); // bins 15..=24, beyond the window included
    assert!(scan_all(&[0.0; 50]).pools.is_empty());
}

/// A cluster on `side` over bins `near..=far` (absolute) peaking at `peak`.
fn cluster(side: Side, near: i32, far: i32, peak: i32, age: u32) -> Cluster {
    Cluster {
        id: ClusterId { side, bin: peak },
        side,
        near_edge: 0.0,
        far_edge: 0.0,
        peak_price: 0.0,
        near_bin: near,
        far_bin: far,
        peak_bin: peak,
        notional_usd: 1.0,
        density: 4.0,
        density_rank: 1,
        share: 0.1,
        thin_approach: 0.5,
        gap_pct: 1.0,
        gap_atr: 0.5,
        isolation: 10.0,
        fuel_behind: 0.0,
        age_steps: age,
    }
}

#[test]
fn ids_and_ages_carry_over_between_steps() {
    let long = Side::Long;
    let prev = [cluster(long, 100, 90, 95, 3), cluster(long, 60, 50, 55, 7)];
    // The first pool is being eaten from its near edge: its peak moves 5 bins but it overlaps.
    // The second's peak moves 2 bins. A third is new; a short pool never matches a long one.
    let mut cur = [
        cluster(long, 93, 90, 91, 1),
        cluster(long, 60, 50, 57, 1),
        cluster(long, 30, 25, 27, 1),
        cluster(Side::Short, 95, 100, 96, 1),
    ];
    assign_ids(&prev, &mut cur, 3);
    let got: Vec<(ClusterId, u32)> = cur.iter().map(|c| (c.id, c.age_steps)).collect();
    assert_eq!(
        got,
        vec![
            (
                ClusterId {
                    side: long,
                    bin: 95
                },
                4
            ),
            (
                ClusterId {
                    side: long,
                    bin: 55
                },
                8
            ),
            (
                ClusterId {
                    side: long,
                    bin: 27
                },
                1
            ),
            (
                ClusterId {
                    side: Side::Short,
                    bin: 96
                },
                1
            ),
        ]
    );
    assert_eq!(cur[0].id.to_string(), "long@95");
}

#[test]
fn a_split_pool_keeps_its_id_on_the_closer_half_only() {
    let prev = [cluster(Side::Short, 10, 30, 20, 5)];
    let mut cur = [
        cluster(Side::Short, 10, 17, 12, 1),
        cluster(Side::Short, 19, 30, 21, 1),
    ];
    assign_ids(&prev, &mut cur, 3);
    assert_eq!((cur[0].id.bin, cur[0].age_steps), (12, 1));
    assert_eq!((cur[1].id.bin, cur[1].age_steps), (20, 6));
    // A fresh id that collides with a carried one moves outward (up for shorts): the pool born
    // at bin 20 has drifted to peak at 25, and a new pool now peaks at 20.
    let mut drifted = cluster(Side::Short, 22, 30, 25, 5);
    drifted.id.bin = 20;
    let mut cur = [
        cluster(Side::Short, 22, 30, 25, 1),
        cluster(Side::Short, 10, 14, 20, 1),
    ];
    assign_ids(&[drifted], &mut cur, 3);
    assert_eq!((cur[0].id.bin, cur[0].age_steps), (20, 6));
    assert_eq!((cur[1].id.bin, cur[1].age_steps), (21, 1));
}

/// A map with one deposit at 100 (BTC margins), and its clusters.
fn map_at_100() -> (Kernel, Heatmap) {
    let k = Kernel::new(
        &HeatmapParams::default(),
        MarginSpec {
            mmr: 0.004,
            max_leverage: 150.0,
        },
    );
    let mut map = Heatmap::new(&k);
    let bar = |p: f64| Candle {
        open_time: 0,
        open: p,
        high: p,
        low: p,
        close: p,
        volume: 1.0,
        quote_volume: Some(p),
        taker_buy_quote: Some(p / 2.0),
    };
    map.step(&k, 5 * MINUTE_MS, &bar(100.0), Some(1000.0))
        .unwrap();
    map.step(&k, 10 * MINUTE_MS, &bar(100.0), Some(2000.0))
        .unwrap();
    (k, map)
}

#[test]
fn a_fresh_deposit_shows_pools_on_both_sides_and_they_keep_their_ids() {
    let (k, mut map) = map_at_100();
    let p = ClusterParams::default();
    let first = find_clusters(&map, &p, 100.0, 5.0, None);
    assert_eq!(first.mode, Mode::Oi);
    assert!(!first.long.clusters.is_empty() && !first.short.clusters.is_empty());
    assert!(
        first
            .long
            .clusters
            .iter()
            .all(|c| c.far_edge < c.near_edge && c.near_edge <= 100.0)
    );
    assert!(
        first
            .short
            .clusters
            .iter()
            .all(|c| c.far_edge > c.near_edge && c.near_edge >= 100.0)
    );
    // The 100× pool: the nearest long cluster holds the level 0.6 % below entry.
    let near = first.long.clusters[0];
    assert!(near.far_edge < 99.4 && 99.4 < near.near_edge, "{near:?}");
    let mut prev = first.clone();
    for i in 3..6 {
        let b = Candle {
            open_time: 0,
            open: 100.0,
            high: 100.0,
            low: 100.0,
            close: 100.0,
            volume: 1.0,
            quote_volume: Some(100.0),
            taker_buy_quote: Some(50.0),
        };
        map.step(&k, i * 5 * MINUTE_MS, &b, Some(2000.0)).unwrap();
        let next = find_clusters(&map, &p, 100.0, 5.0, Some(&prev));
        let ids = |c: &Clusters| c.iter().map(|c| c.id).collect::<Vec<_>>();
        assert_eq!(ids(&next), ids(&first));
        assert!(next.iter().all(|c| c.age_steps == (i - 1) as u32));
        prev = next;
    }
}

#[test]
fn price_trading_into_a_pool_moves_its_near_edge_and_shrinks_it() {
    let (_, mut map) = map_at_100();
    let p = ClusterParams::default();
    let before = find_clusters(&map, &p, 100.0, 5.0, None);
    let pool = *before
        .long
        .clusters
        .iter()
        .max_by(|a, b| a.notional_usd.total_cmp(&b.notional_usd))
        .unwrap();
    let inside = pool.near_edge * (pool.far_edge / pool.near_edge).powf(0.3);
    map.on_mark(11 * MINUTE_MS, inside);
    let after = find_clusters(&map, &p, inside, 5.0, Some(&before));
    let same = after
        .long
        .clusters
        .iter()
        .find(|c| c.id == pool.id)
        .expect("the pool keeps its id");
    assert!(same.near_edge <= inside && same.near_edge < pool.near_edge);
    assert!(same.notional_usd < pool.notional_usd);
    assert!(
        same.gap_pct < 0.1,
        "at most one 10 bp bin away: {}",
        same.gap_pct
    );
}

#[test]
fn a_bad_price_gives_no_clusters_and_a_missing_atr_the_minimum_window() {
    let (_, map) = map_at_100();
    let p = ClusterParams::default();
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert_eq!(find_clusters(&map, &p, bad, 5.0, None).iter().count(), 0);
    }
    let c = find_clusters(&map, &p, 100.0, f64::NAN, None);
    assert_eq!(c.window, 0.06);
    assert_eq!(c, find_clusters(&map, &p, 100.0, 1.5, None)); // 1.5 % of price
}
