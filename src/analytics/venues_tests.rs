//! Unit tests of `analytics::venues`: hand-made maps per venue, their sum, shares and alignment.

use super::*;
use crate::analytics::brackets::MarginSpec;
use crate::analytics::heatmap::{HeatmapParams, Kernel};

/// The price's bin: 100 on the default 10 bp grid.
const AT: i32 = 4607;

fn kernel() -> Kernel {
    let margin = MarginSpec {
        mmr: 0.005,
        max_leverage: 50.0,
    };
    Kernel::new(&HeatmapParams::default(), margin)
}

/// `(bins below price, width, USD per bin)` blocks of one venue's long side.
type Blocks = &'static [(i32, i32, f64)];

/// The venues holding a combined cluster, and whether it is aligned.
type Holders = (&'static [Venue], bool);

/// A long side with a background of 1 USD per bin over the 60 bins below price and blocks of
/// `(bins below price, width, USD per bin)` on top.
fn venue_map(blocks: &[(i32, i32, f64)]) -> Heatmap {
    let mut bins: Vec<(i32, f64)> = (1..=60).map(|d| (AT - d, 1.0)).collect();
    for &(below, width, usd) in blocks {
        for d in below..below + width {
            bins.iter_mut()
                .find(|(k, _)| *k == AT - d)
                .expect("inside the 60 bins")
                .1 = usd;
        }
    }
    Heatmap::with_masses(&kernel(), AT - 1000, &bins, &[])
}

fn price() -> f64 {
    venue_map(&[]).grid().mid(AT)
}

fn own_clusters(map: &Heatmap) -> Clusters {
    find_clusters(map, &ClusterParams::default(), price(), 0.0, None)
}

/// Combines one map per venue (Binance home, then Bybit, then OKX), as at the `steps`-th step
/// of the same maps (the clusters' age).
fn combined_at(blocks: &[&[(i32, i32, f64)]], steps: u32) -> VenueMap {
    let maps: Vec<Heatmap> = blocks.iter().map(|b| venue_map(b)).collect();
    let clusters: Vec<Clusters> = maps.iter().map(own_clusters).collect();
    let members: Vec<Member<'_>> = (maps.iter().zip(&clusters).zip(Venue::ALL))
        .map(|((map, clusters), venue)| Member {
            venue,
            map,
            clusters: Some(clusters),
            shift: 0,
        })
        .collect();
    let p = ClusterParams::default();
    let mut view: Option<VenueMap> = None;
    for _ in 0..steps {
        let previous = view.as_ref().map(|v| &v.clusters);
        view = combine(&members, &p, price(), 0.0, previous);
    }
    view.expect("two venues or more")
}

fn combined(blocks: &[&[(i32, i32, f64)]]) -> VenueMap {
    combined_at(blocks, 1)
}

/// One level on two books (aligned), and two levels on one book each (not), seen for three
/// steps: what the cascade score's sixth signal reads.
pub(crate) fn aligned_and_apart() -> (VenueMap, VenueMap) {
    (
        combined_at(&[&[(20, 4, 8.0)], &[(20, 4, 8.0)]], 3),
        combined_at(&[&[(12, 3, 9.0)], &[(40, 3, 9.0)]], 3),
    )
}

/// One line per case: each venue's blocks, then per combined long cluster (nearest first) the
/// venues holding it and whether it is aligned.
#[rustfmt::skip]
const ALIGNMENT: &[(&[Blocks], &[Holders])] = &[
    // The same level on two books: aligned.
    (&[&[(20, 4, 8.0)], &[(20, 4, 8.0)]], &[(&[Venue::Binance, Venue::Bybit], true)]),
    // One bin apart still is.
    (&[&[(20, 4, 8.0)], &[(24, 3, 8.0)]], &[(&[Venue::Binance, Venue::Bybit], true)]),
    // Two levels, each on one book: two clusters, neither aligned.
    (&[&[(12, 3, 9.0)], &[(40, 3, 9.0)]], &[(&[Venue::Binance], false), (&[Venue::Bybit], false)]),
    // Three books, two of them at the near level.
    (&[&[(12, 3, 9.0)], &[(40, 3, 9.0)], &[(12, 3, 9.0)]],
        &[(&[Venue::Binance, Venue::Okx], true), (&[Venue::Bybit], false)]),
];

#[test]
fn aligned_clusters_are_found_and_lone_ones_are_not() {
    for &(blocks, want) in ALIGNMENT {
        let view = combined(blocks);
        let got: Vec<(Vec<Venue>, bool)> = (view.clusters.long.clusters.iter())
            .map(|c| {
                let v = view.of(c.id).expect("every cluster has its venues");
                (v.held_by.clone(), v.aligned)
            })
            .collect();
        let want: Vec<(Vec<Venue>, bool)> = want.iter().map(|(v, a)| (v.to_vec(), *a)).collect();
        assert_eq!(got, want, "{blocks:?}");
    }
}

#[test]
fn the_combined_map_is_the_sum_and_shares_follow_the_mass() {
    let (home, other) = (venue_map(&[(20, 4, 8.0)]), venue_map(&[(20, 4, 24.0)]));
    let view = combined(&[&[(20, 4, 8.0)], &[(20, 4, 24.0)]]);
    let total = home.total(Side::Long) + other.total(Side::Long);
    assert!((view.map.total(Side::Long) - total).abs() < 1e-3);
    let share = |i: usize| view.shares[i].long;
    assert!((share(0) - home.total(Side::Long) / total).abs() < 1e-9);
    assert!((share(0) + share(1) - 1.0).abs() < 1e-9);
    assert_eq!(view.shares[1].short, 0.0);
    // The cluster's own mass is 8 + 24 per bin over 4 bins: a quarter from the home venue.
    let c = &view.clusters.long.clusters[0];
    let shares = &view.of(c.id).unwrap().shares;
    assert_eq!(shares.len(), 2);
    assert!(shares[0].1 > 0.2 && shares[0].1 < 0.3, "{shares:?}");
}

#[test]
fn one_venue_has_nothing_to_combine() {
    let map = venue_map(&[(20, 4, 8.0)]);
    let lone = [Member {
        venue: Venue::Binance,
        map: &map,
        clusters: None,
        shift: 0,
    }];
    assert!(combine(&lone, &ClusterParams::default(), price(), 0.0, None).is_none());
}
