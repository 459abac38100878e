//! One market across venues: the combined map of a base asset (every followed venue's map summed
//! onto the home venue's grid), its clusters, which venues hold each one and whether two venues
//! hold it in the same place (`aligned`). Pure: the venues' maps and clusters arrive as
//! arguments; it must never step a map or remember anything between calls.
//!
//! A cluster on the combined map is **held** by a venue when that venue's own map has a cluster
//! on the same side whose bins come within one bin of it. It is **aligned** when two venues hold
//! clusters within one bin of each other there: the same level loaded on two books, the one the
//! market hunts (the cascade score's sixth signal).

use serde::Serialize;

use crate::analytics::clusters::{Cluster, ClusterId, ClusterParams, Clusters, find_clusters};
use crate::analytics::heatmap::Heatmap;
use crate::model::{Side, Venue};

/// One venue's part of a market, as the combination reads it.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    pub venue: Venue,
    pub map: &'a Heatmap,
    /// The venue's own clusters (`None` before its first heatmap step).
    pub clusters: Option<&'a Clusters>,
    /// Bins from this venue's grid to the home venue's ([`Heatmap::multiplier_shift`]).
    pub shift: i32,
}

/// A venue's share of the combined map, by side (fractions of each side's total, 0..1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VenueShare {
    pub venue: Venue,
    pub long: f64,
    pub short: f64,
    /// USD of estimated liquidations this venue's map holds, both sides.
    pub usd: f64,
}

/// Which venues a combined cluster's mass comes from, and whether it is aligned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterVenues {
    pub id: ClusterId,
    /// Each venue's share of the cluster's mass (0..1), home venue first; venues with none left out.
    pub shares: Vec<(Venue, f64)>,
    /// The venues whose own map has a cluster there.
    pub held_by: Vec<Venue>,
    pub aligned: bool,
}

/// A market's combined view at the home venue's last heatmap step.
#[derive(Debug, Clone, PartialEq)]
pub struct VenueMap {
    pub map: Heatmap,
    pub clusters: Clusters,
    /// One per cluster of `clusters`, in the order of [`Clusters::iter`].
    pub venues: Vec<ClusterVenues>,
    /// Home venue first.
    pub shares: Vec<VenueShare>,
}

impl VenueMap {
    /// The venues of a combined cluster.
    pub fn of(&self, id: ClusterId) -> Option<&ClusterVenues> {
        self.venues.iter().find(|v| v.id == id)
    }
}

/// The combined view of `members` (the home venue first) around `price`, with the home venue's
/// daily ATR; ids and ages continue `previous` (the last combined clusters). `None` with fewer
/// than two members: one venue has nothing to combine.
pub fn combine(
    members: &[Member<'_>],
    p: &ClusterParams,
    price: f64,
    atr_1d: f64,
    previous: Option<&Clusters>,
) -> Option<VenueMap> {
    let (home, others) = members.split_first()?;
    if others.is_empty() {
        return None;
    }
    let mut map = home.map.clone();
    for m in others {
        map.absorb(m.map, m.shift);
    }
    let clusters = find_clusters(&map, p, price, atr_1d, previous);
    let venues = clusters
        .iter()
        .map(|c| cluster_venues(c, members, &map))
        .collect();
    let shares = shares(members, &map);
    Some(VenueMap {
        map,
        clusters,
        venues,
        shares,
    })
}

fn shares(members: &[Member<'_>], sum: &Heatmap) -> Vec<VenueShare> {
    let part = |m: &Member<'_>, side: Side| {
        let total = sum.total(side);
        if total > 0.0 {
            m.map.total(side) / total
        } else {
            0.0
        }
    };
    (members.iter())
        .map(|m| VenueShare {
            venue: m.venue,
            long: part(m, Side::Long),
            short: part(m, Side::Short),
            usd: m.map.total(Side::Long) + m.map.total(Side::Short),
        })
        .collect()
}

fn cluster_venues(c: &Cluster, members: &[Member<'_>], sum: &Heatmap) -> ClusterVenues {
    let (lo, hi) = c.bin_range();
    let total: f64 = (lo..=hi).map(|k| sum.mass(c.side, k)).sum();
    let shares = members
        .iter()
        .map(|m| {
            let own: f64 = (lo..=hi).map(|k| m.map.mass(c.side, k - m.shift)).sum();
            (m.venue, if total > 0.0 { own / total } else { 0.0 })
        })
        .filter(|(_, share)| *share > 0.0)
        .collect();
    // Each venue's own clusters near this one, on the home grid.
    let near: Vec<(Venue, (i32, i32))> = members
        .iter()
        .flat_map(|m| {
            let own = m
                .clusters
                .map(|cs| &cs.side(c.side).clusters[..])
                .unwrap_or(&[]);
            own.iter().filter_map(move |o| {
                let (a, b) = o.bin_range();
                let range = (a + m.shift, b + m.shift);
                (distance(range, (lo, hi)) <= 1).then_some((m.venue, range))
            })
        })
        .collect();
    let mut held_by: Vec<Venue> = near.iter().map(|(v, _)| *v).collect();
    held_by.dedup();
    let aligned = near.iter().enumerate().any(|(i, (va, ra))| {
        near[i + 1..]
            .iter()
            .any(|(vb, rb)| va != vb && distance(*ra, *rb) <= 1)
    });
    ClusterVenues {
        id: c.id,
        shares,
        held_by,
        aligned,
    }
}

/// Bins between two bin ranges: 0 when they overlap, 1 when they touch.
fn distance((a0, a1): (i32, i32), (b0, b1): (i32, i32)) -> i32 {
    (a0.max(b0) - a1.min(b1)).max(0)
}

#[cfg(test)]
#[path = "venues_tests.rs"]
pub(crate) mod tests;
