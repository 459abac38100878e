//! Liquidation clusters ("pools") read off a [`Heatmap`] around the current price, with the scores
//! the rules use (DESIGN.md §4.4, heatmap-model.md §5.6). Pure: prices, ATR and the previous
//! cluster list arrive as arguments; it must never change the map or keep state of its own.

mod convergence;
mod pools;
#[cfg(test)]
mod tests;
mod track;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use convergence::{CONVERGENCE_LEVERAGES, leverage_convergence};
pub use pools::{Pool, Scan, Scratch, hot_runs, scan, scan_with};
pub use track::assign_ids;

use crate::analytics::heatmap::{Heatmap, Mode};
use crate::model::{ClusterFacts, HOUR_MS, Interval, Side, TimeMs};

/// Cluster extraction settings; `Default` gives heatmap-model.md §5.6.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClusterParams {
    /// Window half-width around price = clamp(mult · ATR1d %, min, max). Defaults 4, 6 %, 30 %
    /// (as fractions: 0.06, 0.30).
    pub window_atr_mult: f64,
    pub window_min: f64,
    pub window_max: f64,
    /// ATR as a fraction of price when the caller has none yet (warm-up). Default 1.5 %, which
    /// gives the minimum window.
    pub fallback_atr_frac: f64,
    /// Hot threshold θ = max(mult · background, percentile of the window). Defaults 3, 0.85.
    pub hot_background_mult: f64,
    pub hot_percentile: f64,
    /// Below this many positive bins the background is their mean, not their median. Default 10.
    pub background_min_count: usize,
    /// Hot runs separated by at most this many bins are one pool. Default 2.
    pub merge_gap_bins: usize,
    /// Pools below this share of the side's window mass are dropped. Default 0.02.
    pub min_share: f64,
    /// Isolation is capped here (also the value of a pool with no neighbour). Default 10.
    pub isolation_cap: f64,
    /// Fuel behind a pool is counted over this many ATRs beyond its far edge. Default 1.
    pub fuel_atr_mult: f64,
    /// Peaks at most this many bins apart continue the same cluster id. Default 3.
    pub id_match_bins: i32,
}

impl Default for ClusterParams {
    fn default() -> Self {
        ClusterParams {
            window_atr_mult: 4.0,
            window_min: 0.06,
            window_max: 0.30,
            fallback_atr_frac: 0.015,
            hot_background_mult: 3.0,
            hot_percentile: 0.85,
            background_min_count: 10,
            merge_gap_bins: 2,
            min_share: 0.02,
            isolation_cap: 10.0,
            fuel_atr_mult: 1.0,
            id_match_bins: 3,
        }
    }
}

/// Stable identity of a cluster: its side and the peak bin it was first seen at. Alerts use it
/// for de-duplication and cooldowns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClusterId {
    pub side: Side,
    pub bin: i32,
}

impl fmt::Display for ClusterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = match self.side {
            Side::Long => "long",
            Side::Short => "short",
        };
        write!(f, "{side}@{}", self.bin)
    }
}

/// One cluster with its scores. Prices are in quote currency; `*_pct` fields are percent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    pub id: ClusterId,
    /// Which positions it would liquidate: long clusters lie below price, short above.
    pub side: Side,
    /// The edge price reaches first (top of a long pool, bottom of a short pool; never beyond
    /// the current price).
    pub near_edge: f64,
    /// The edge where the pool is fully swept.
    pub far_edge: f64,
    /// Mid price of the bin with the largest smoothed mass.
    pub peak_price: f64,
    pub near_bin: i32,
    pub far_bin: i32,
    pub peak_bin: i32,
    /// Estimated liquidation notional in the pool (USD, an upper-bound estimate).
    pub notional_usd: f64,
    /// Contrast: mean mass per bin over the side's background β (≥ 3 for a lone hot run; gap
    /// bins inside a merged pool can pull it lower).
    pub density: f64,
    /// 1 = densest cluster of its side.
    pub density_rank: u32,
    /// Share of the side's mass within the window (0..1).
    pub share: f64,
    /// Thin approach τ = 1 − min(1, ā / (M/w)), where ā is the mean smoothed mass of the bins
    /// between price and the near edge and M/w the pool's mean mass per bin. 1 means empty
    /// space before the pool (price can travel there fast); 0 means the approach is as dense as
    /// the pool itself. A pool that starts at price has τ = 1 (nothing in between).
    pub thin_approach: f64,
    /// Distance from price to the near edge, percent of price (0 when price is at the pool).
    pub gap_pct: f64,
    /// The same distance in daily ATRs.
    pub gap_atr: f64,
    /// Bins to the nearest other pool on this side over this pool's width, capped (default 10;
    /// also the value when it has no neighbour). Large: a lone, clear target.
    pub isolation: f64,
    /// Side mass within 1·ATR beyond the far edge, over the pool's own mass: how much more
    /// forced flow a sweep through the pool would run into (cascade continuation).
    pub fuel_behind: f64,
    /// Consecutive cluster computations this cluster has been seen in (1 = new).
    pub age_steps: u32,
}

impl Cluster {
    /// The cluster as alert facts, with the field names of `liqwave heatmap --json`.
    pub fn facts(&self) -> ClusterFacts {
        ClusterFacts {
            id: self.id.to_string(),
            side: self.side,
            near_edge: self.near_edge,
            far_edge: self.far_edge,
            peak: self.peak_price,
            notional_usd: self.notional_usd,
            density: self.density,
            share: self.share,
            thin_approach: self.thin_approach,
            isolation: self.isolation,
            fuel_behind: self.fuel_behind,
            gap_pct: self.gap_pct,
            gap_atr: self.gap_atr,
            age_steps: self.age_steps,
            age_hours: self.age_hours(),
        }
    }

    /// Hours the cluster has been seen: one heatmap step per 5 minutes.
    pub fn age_hours(&self) -> f64 {
        f64::from(self.age_steps) * Interval::M5.duration_ms() as f64 / HOUR_MS as f64
    }

    /// `(lowest, highest)` absolute bin of the pool.
    pub fn bin_range(&self) -> (i32, i32) {
        (
            self.near_bin.min(self.far_bin),
            self.near_bin.max(self.far_bin),
        )
    }
}

/// One side's clusters and the statistics they were measured against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideClusters {
    /// Background β in USD per bin (smoothed median).
    pub background: f64,
    /// Hot threshold θ in USD per bin.
    pub threshold: f64,
    /// Side mass within the window, USD.
    pub window_mass: f64,
    /// Nearest to price first.
    pub clusters: Vec<Cluster>,
}

/// Clusters of both sides at one moment, labelled with the model's mode and coverage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clusters {
    /// Time of the heatmap step the map reflects.
    pub time: Option<TimeMs>,
    pub price: f64,
    pub mode: Mode,
    /// [`Heatmap::coverage`]: share of open notional the map accounts for (`None` in proxy mode).
    pub coverage: Option<f64>,
    /// Half-width of the window around price, as a fraction.
    pub window: f64,
    pub long: SideClusters,
    pub short: SideClusters,
}

impl Clusters {
    pub fn side(&self, side: Side) -> &SideClusters {
        match side {
            Side::Long => &self.long,
            Side::Short => &self.short,
        }
    }

    /// Every cluster, longs first.
    pub fn iter(&self) -> impl Iterator<Item = &Cluster> {
        self.long.clusters.iter().chain(&self.short.clusters)
    }
}

/// Extracts the clusters of `map` around `price` with the daily ATR `atr_1d` (price units; a
/// non-positive or non-finite value means "unknown" and uses `fallback_atr_frac`). Ids and ages
/// continue those of `previous` (the last list computed for this pair), see [`assign_ids`].
/// A non-positive or non-finite `price` yields no clusters.
pub fn find_clusters(
    map: &Heatmap,
    p: &ClusterParams,
    price: f64,
    atr_1d: f64,
    previous: Option<&Clusters>,
) -> Clusters {
    if !(price.is_finite() && price > 0.0) {
        let none = SideClusters {
            background: 0.0,
            threshold: 0.0,
            window_mass: 0.0,
            clusters: Vec::new(),
        };
        return Clusters {
            time: map.last_time(),
            price,
            mode: map.mode(),
            coverage: map.coverage(),
            window: 0.0,
            long: none.clone(),
            short: none,
        };
    }
    let atr = if atr_1d.is_finite() && atr_1d > 0.0 {
        atr_1d
    } else {
        p.fallback_atr_frac * price
    };
    let atr_frac = atr / price;
    let window = (p.window_atr_mult * atr_frac).clamp(p.window_min, p.window_max);
    let ctx = Ctx {
        map,
        p,
        price,
        atr,
        window,
        fuel_frac: p.fuel_atr_mult * atr_frac,
    };
    let (mut masses, mut scratch) = (Vec::new(), Scratch::default());
    let mut long = ctx.side(Side::Long, &mut masses, &mut scratch);
    let mut short = ctx.side(Side::Short, &mut masses, &mut scratch);
    let prev = |side: Side| previous.map_or(&[][..], |c| &c.side(side).clusters[..]);
    assign_ids(prev(Side::Long), &mut long.clusters, p.id_match_bins);
    assign_ids(prev(Side::Short), &mut short.clusters, p.id_match_bins);
    Clusters {
        time: map.last_time(),
        price,
        mode: map.mode(),
        coverage: map.coverage(),
        window,
        long,
        short,
    }
}

struct Ctx<'a> {
    map: &'a Heatmap,
    p: &'a ClusterParams,
    price: f64,
    atr: f64,
    window: f64,
    fuel_frac: f64,
}

impl Ctx<'_> {
    fn side(&self, side: Side, masses: &mut Vec<f64>, scratch: &mut Scratch) -> SideClusters {
        let grid = self.map.grid();
        let k0 = grid.bin_of(self.price);
        // Bins from the price bin out to the window edge (inclusive), then the fuel reach.
        let reach = match side {
            Side::Long => -(1.0 - self.window).ln(),
            Side::Short => self.window.ln_1p(),
        };
        let n = (reach / grid.lambda()).ceil() as usize + 1;
        let fuel = grid.bins_for_fraction(self.fuel_frac);
        masses.clear();
        self.map.outward(side, k0, n + fuel, masses);
        let s = scan_with(masses, n, fuel, self.p, scratch);
        let clusters = s
            .pools
            .iter()
            .map(|pool| self.cluster(side, k0, pool))
            .collect();
        SideClusters {
            background: s.background,
            threshold: s.threshold,
            window_mass: s.window_mass,
            clusters,
        }
    }

    fn cluster(&self, side: Side, k0: i32, pool: &Pool) -> Cluster {
        let grid = self.map.grid();
        let (dir, near_bin) = match side {
            Side::Long => (-1, k0 - pool.near as i32),
            Side::Short => (1, k0 + pool.near as i32),
        };
        let far_bin = k0 + dir * pool.far as i32;
        let peak_bin = k0 + dir * pool.peak as i32;
        let (near_edge, far_edge) = match side {
            Side::Long => (
                grid.upper_edge(near_bin).min(self.price),
                grid.lower_edge(far_bin),
            ),
            Side::Short => (
                grid.lower_edge(near_bin).max(self.price),
                grid.upper_edge(far_bin),
            ),
        };
        let gap = (near_edge - self.price).abs();
        Cluster {
            id: ClusterId {
                side,
                bin: peak_bin,
            },
            side,
            near_edge,
            far_edge,
            peak_price: grid.mid(peak_bin),
            near_bin,
            far_bin,
            peak_bin,
            notional_usd: pool.mass,
            density: pool.density,
            density_rank: pool.density_rank,
            share: pool.share,
            thin_approach: pool.thin_approach,
            gap_pct: 100.0 * gap / self.price,
            gap_atr: gap / self.atr,
            isolation: pool.isolation,
            fuel_behind: pool.fuel_behind,
            age_steps: 1,
        }
    }
}
