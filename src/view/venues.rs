//! What `/pair` shows of a market on several venues: each venue's share of the combined map and
//! the clusters two venues hold in the same place. A read model; must never compute the map.

use serde::{Deserialize, Serialize};

use crate::analytics::venues::VenueMap;
use crate::model::{Side, Venue};

/// A market on several venues, as its home pair shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VenuesView {
    /// Each venue's share of the combined map (both sides, 0..1), home venue first.
    pub shares: Vec<(Venue, f64)>,
    /// Combined clusters held by two venues within one bin of each other, nearest first.
    pub aligned: Vec<AlignedView>,
}

/// A combined cluster two or more venues hold in the same place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlignedView {
    pub side: Side,
    pub near_edge: f64,
    pub far_edge: f64,
    pub notional_usd: f64,
    pub venues: Vec<Venue>,
}

impl VenuesView {
    pub fn of(map: &VenueMap) -> VenuesView {
        let total: f64 = map.shares.iter().map(|s| s.usd).sum();
        let shares = (map.shares.iter())
            .map(|s| (s.venue, if total > 0.0 { s.usd / total } else { 0.0 }))
            .collect();
        let mut aligned: Vec<AlignedView> = (map.clusters.iter())
            .filter_map(|c| {
                let venues = map.of(c.id).filter(|v| v.aligned)?;
                Some(AlignedView {
                    side: c.side,
                    near_edge: c.near_edge,
                    far_edge: c.far_edge,
                    notional_usd: c.notional_usd,
                    venues: venues.held_by.clone(),
                })
            })
            .collect();
        let price = map.clusters.price;
        aligned.sort_by(|a, b| {
            (a.near_edge - price)
                .abs()
                .total_cmp(&(b.near_edge - price).abs())
        });
        VenuesView { shares, aligned }
    }
}
