//! The per-pair leverage kernel: where a unit of new notional opened at one bin will be liquidated,
//! per side, as weights over bin offsets. Built once per (params, margin) pair and shared; must
//! never change after construction, so every deposit of a pair uses the same shape.
//!
//! heatmap-model.md §5.2: in log space the distance from entry to the isolated liquidation price
//! of a tier is a constant, so depositing is "add N × kernel shifted to the entry bin".

use serde::{Deserialize, Serialize};

use super::HeatmapParams;
use super::grid::Grid;
use crate::analytics::brackets::MarginSpec;
use crate::model::Side;

/// Exact isolated liquidation price of a fresh position (heatmap-model.md §2.0): long
/// `E·(1−1/ℓ)/(1−m)`, short `E·(1+1/ℓ)/(1+m)`, with `m` the maintenance-margin rate.
pub fn liquidation_price(side: Side, entry: f64, leverage: f64, mmr: f64) -> f64 {
    match side {
        Side::Long => entry * (1.0 - 1.0 / leverage) / (1.0 - mmr),
        Side::Short => entry * (1.0 + 1.0 / leverage) / (1.0 + mmr),
    }
}

/// One side of the kernel: `weights[i]` is the share of a deposit that lands `start + i` bins
/// from the entry bin. Long offsets are all ≤ −1 and short offsets all ≥ +1, so long mass always
/// sits in bins strictly below the entry bin and short mass strictly above it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelSide {
    start: i32,
    weights: Vec<f32>,
    /// Exact sum of `weights` (≈ 1), used to book deposits without re-summing the array.
    sum: f64,
}

impl KernelSide {
    /// Offset of `weights()[0]` from the entry bin.
    pub fn start(&self) -> i32 {
        self.start
    }

    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// Offset of the last weight from the entry bin.
    pub fn end(&self) -> i32 {
        self.start + self.weights.len() as i32 - 1
    }
}

/// Everything a [`super::Heatmap`] step needs that does not change between steps: the
/// parameters, the pair's margin spec, the grid and the two kernel sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kernel {
    params: HeatmapParams,
    margin: MarginSpec,
    grid: Grid,
    long: KernelSide,
    short: KernelSide,
}

impl Kernel {
    /// Builds the kernel. Tiers above `margin.max_leverage` are capped to it (their weight moves
    /// to the capped leverage, heatmap-model.md §5.2 "fold into the highest allowed tier"), and
    /// weights are renormalised to sum to 1.
    pub fn new(params: &HeatmapParams, margin: MarginSpec) -> Self {
        let grid = Grid::new(params.bin_bp);
        let long = build_side(params, margin, &grid, Side::Long);
        let short = build_side(params, margin, &grid, Side::Short);
        Kernel {
            params: params.clone(),
            margin,
            grid,
            long,
            short,
        }
    }

    pub fn params(&self) -> &HeatmapParams {
        &self.params
    }

    pub fn margin(&self) -> MarginSpec {
        self.margin
    }

    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    pub fn side(&self, side: Side) -> &KernelSide {
        match side {
            Side::Long => &self.long,
            Side::Short => &self.short,
        }
    }

    /// Heap bytes of the kernel weights (reported by the benchmark).
    pub fn heap_bytes(&self) -> usize {
        (self.long.weights.len() + self.short.weights.len()) * size_of::<f32>()
    }
}

/// The capped, renormalised tier mix: `(leverage, weight)` with weights summing to 1.
pub(crate) fn effective_tiers(params: &HeatmapParams, max_leverage: f64) -> Vec<(f64, f64)> {
    let tiers: Vec<(f64, f64)> = params
        .tiers
        .iter()
        .filter(|t| t.weight > 0.0 && t.leverage > 0.0)
        .map(|t| (t.leverage.min(max_leverage), t.weight))
        .collect();
    let total: f64 = tiers.iter().map(|t| t.1).sum();
    tiers.into_iter().map(|(l, w)| (l, w / total)).collect()
}

fn build_side(params: &HeatmapParams, margin: MarginSpec, grid: &Grid, side: Side) -> KernelSide {
    // (offset, weight) pairs of every tier, later summed into a dense array.
    let mut parts: Vec<(i32, f64)> = Vec::new();
    for (leverage, weight) in effective_tiers(params, margin.max_leverage) {
        let ratio = liquidation_price(side, 1.0, leverage, margin.mmr);
        if !(ratio > 0.0 && ratio.is_finite()) {
            continue; // a 1× long is never liquidated: no level to place
        }
        tier_parts(params, grid, side, ratio, weight, &mut parts);
    }
    let lo = parts.iter().map(|p| p.0).min().unwrap_or(-1);
    let hi = parts.iter().map(|p| p.0).max().unwrap_or(-1);
    let mut dense = vec![0.0f64; (hi - lo + 1) as usize];
    for (j, w) in parts {
        dense[(j - lo) as usize] += w;
    }
    let weights: Vec<f32> = dense.iter().map(|&w| w as f32).collect();
    let sum = weights.iter().map(|&w| f64::from(w)).sum();
    KernelSide {
        start: lo,
        weights,
        sum,
    }
}

/// The bins of one tier: a Gaussian in log space centred on the liquidation price, σ = max(floor,
/// rel·distance), truncated at ±cut·σ, sampled at bin centres and normalised to `weight`. The
/// entry is taken at the centre of its bin, so offsets are exact to within half a bin.
fn tier_parts(
    params: &HeatmapParams,
    grid: &Grid,
    side: Side,
    ratio: f64,
    weight: f64,
    out: &mut Vec<(i32, f64)>,
) {
    let mu = ratio.ln() / grid.lambda(); // signed distance in bins
    let centre = 0.5 + mu; // position relative to the entry bin's lower edge
    let sigma = (params.smear_rel * mu.abs()).max(params.smear_min_bins);
    // Long levels strictly below the entry bin, short strictly above (module invariant).
    let allowed = |j: i32| match side {
        Side::Long => j <= -1,
        Side::Short => j >= 1,
    };
    let nearest = match side {
        Side::Long => (centre.floor() as i32).min(-1),
        Side::Short => (centre.floor() as i32).max(1),
    };
    let mut tier: Vec<(i32, f64)> = Vec::new();
    if sigma > 1e-9 {
        let reach = params.smear_cutoff_sigmas * sigma;
        let first = (centre - reach).floor() as i32;
        let last = (centre + reach).ceil() as i32;
        for j in first..=last {
            let z = (f64::from(j) + 0.5 - centre) / sigma;
            if allowed(j) && z.abs() <= params.smear_cutoff_sigmas {
                tier.push((j, (-0.5 * z * z).exp()));
            }
        }
    }
    if tier.is_empty() {
        tier.push((nearest, 1.0)); // no smear, or all of it clipped: a spike at the level
    }
    let norm: f64 = tier.iter().map(|t| t.1).sum();
    out.extend(tier.into_iter().map(|(j, w)| (j, weight * w / norm)));
}
