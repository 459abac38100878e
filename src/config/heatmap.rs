//! The `[heatmap]` and `[heatmap.clusters]` schema: the keys of the liquidation-heatmap model and
//! its cluster extraction, their units and ranges, assembled into `HeatmapConfig`. The defaults
//! are the model's own (`HeatmapParams::default()`, `ClusterParams::default()`), and the ranges
//! are at least as strict as `HeatmapParams::problems()`, so a config that passes never builds a
//! model that would refuse its parameters. Must never do I/O or read a secret.

use std::ops::Bound::{Excluded, Included};

use super::HeatmapConfig;
use super::check::{Checker, fraction, positive};
use super::raw::{RawClusters, RawHeatmap};
use crate::analytics::clusters::ClusterParams;
use crate::analytics::heatmap::{HeatmapParams, LeverageTier};

impl Checker<'_, '_> {
    pub(super) fn heatmap(&mut self, raw: RawHeatmap) -> HeatmapConfig {
        HeatmapConfig {
            model: self.heatmap_model(&raw),
            clusters: self.clusters(&raw.clusters),
        }
    }

    fn heatmap_model(&mut self, raw: &RawHeatmap) -> HeatmapParams {
        let d = HeatmapParams::default();
        let bins = d.window_bins as usize;
        let window_bins = self.int("heatmap.window_bins", raw.window_bins, bins, 256..=65_536);
        HeatmapParams {
            bin_bp: self
                .float("heatmap.bin_bp", raw.bin_bp, d.bin_bp, positive(1000.0))
                .value,
            window_bins: window_bins.value as u32, // at most 65536
            reanchor_margin: self
                .float(
                    "heatmap.reanchor_margin",
                    raw.reanchor_margin,
                    d.reanchor_margin,
                    0.0..0.5,
                )
                .value,
            tiers: self.tiers(raw, &d.tiers),
            smear_rel: self
                .float("heatmap.smear", raw.smear, d.smear_rel, 0.0..=1.0)
                .value,
            smear_min_bins: self
                .float(
                    "heatmap.smear_min_bins",
                    raw.smear_min_bins,
                    d.smear_min_bins,
                    0.0..=1000.0,
                )
                .value,
            smear_cutoff_sigmas: self
                .float(
                    "heatmap.smear_cutoff_sigmas",
                    raw.smear_cutoff_sigmas,
                    d.smear_cutoff_sigmas,
                    positive(10.0),
                )
                .value,
            taker_kappa: self
                .float(
                    "heatmap.taker_kappa",
                    raw.taker_kappa,
                    d.taker_kappa,
                    0.0..=10.0,
                )
                .value,
            // Each bound on its own side of an even split, so min ≤ max needs no relation check.
            taker_share_min: self
                .float(
                    "heatmap.taker_share_min",
                    raw.taker_share_min,
                    d.taker_share_min,
                    0.0..=0.5,
                )
                .value,
            taker_share_max: self
                .float(
                    "heatmap.taker_share_max",
                    raw.taker_share_max,
                    d.taker_share_max,
                    0.5..=1.0,
                )
                .value,
            half_life_ms: self.hours(
                "heatmap.half_life_hours",
                raw.half_life_hours,
                d.half_life_ms,
                8760.0, // a year
            ),
            volume_proxy_factor: self
                .float(
                    "heatmap.volume_proxy_factor",
                    raw.volume_proxy_factor,
                    d.volume_proxy_factor,
                    0.0..=1.0,
                )
                .value,
        }
    }

    /// `leverage_tiers` and `tier_weights`, paired one to one. Weights are shares in any unit
    /// (the model renormalises them), so at least one must be above 0.
    fn tiers(&mut self, raw: &RawHeatmap, default: &[LeverageTier]) -> Vec<LeverageTier> {
        let leverages = self.floats(
            "heatmap.leverage_tiers",
            raw.leverage_tiers.clone(),
            default.iter().map(|t| t.leverage).collect(),
            (Excluded(1.0), Included(1000.0)),
        );
        let weights = self.floats(
            "heatmap.tier_weights",
            raw.tier_weights.clone(),
            default.iter().map(|t| t.weight).collect(),
            0.0..=100.0,
        );
        let (n_lev, n_weights) = (leverages.value.len(), weights.value.len());
        if n_lev == 0 {
            self.report_at(leverages.path, "must list at least one leverage");
        } else if n_lev != n_weights {
            // Blame the list the file wrote, as for an order; the other may be the default.
            let (blamed, other) = if weights.set || !leverages.set {
                (&weights, &leverages)
            } else {
                (&leverages, &weights)
            };
            let (n, n_other) = (blamed.value.len(), other.value.len());
            let default = if other.set { "" } else { ", its default" };
            let message = format!(
                "has {n} entries but {} has {n_other}{default}; the two lists pair up one to one",
                other.path
            );
            self.report_at(blamed.path, message);
        } else if weights.valid && n_weights > 0 && !weights.value.iter().any(|&w| w > 0.0) {
            self.report_at(weights.path, "must have at least one weight above 0");
        }
        let pairs = leverages.value.iter().zip(&weights.value);
        pairs
            .map(|(&leverage, &weight)| LeverageTier { leverage, weight })
            .collect()
    }

    fn clusters(&mut self, raw: &RawClusters) -> ClusterParams {
        let d = ClusterParams::default();
        let window = (Excluded(0.0), Excluded(100.0));
        let min = self.percent(
            "heatmap.clusters.window_min_pct",
            raw.window_min_pct,
            d.window_min,
            window,
        );
        let max = self.percent(
            "heatmap.clusters.window_max_pct",
            raw.window_max_pct,
            d.window_max,
            window,
        );
        self.order(min, max, false);
        let fallback_atr = self.percent(
            "heatmap.clusters.fallback_atr_pct",
            raw.fallback_atr_pct,
            d.fallback_atr_frac,
            positive(100.0),
        );
        let min_share = self.percent(
            "heatmap.clusters.min_share_pct",
            raw.min_share_pct,
            d.min_share,
            0.0..=100.0,
        );
        ClusterParams {
            window_atr_mult: self
                .float(
                    "heatmap.clusters.window_atr_mult",
                    raw.window_atr_mult,
                    d.window_atr_mult,
                    0.0..=100.0,
                )
                .value,
            window_min: fraction(min, d.window_min),
            window_max: fraction(max, d.window_max),
            fallback_atr_frac: fraction(fallback_atr, d.fallback_atr_frac),
            hot_background_mult: self
                .float(
                    "heatmap.clusters.hot_background_mult",
                    raw.hot_background_mult,
                    d.hot_background_mult,
                    0.0..=100.0,
                )
                .value,
            hot_percentile: self
                .float(
                    "heatmap.clusters.hot_percentile",
                    raw.hot_percentile,
                    d.hot_percentile,
                    0.0..=1.0,
                )
                .value,
            background_min_count: self
                .int(
                    "heatmap.clusters.background_min_count",
                    raw.background_min_count,
                    d.background_min_count,
                    0..=10_000,
                )
                .value,
            merge_gap_bins: self
                .int(
                    "heatmap.clusters.merge_gap_bins",
                    raw.merge_gap_bins,
                    d.merge_gap_bins,
                    0..=1000,
                )
                .value,
            min_share: fraction(min_share, d.min_share),
            isolation_cap: self
                .float(
                    "heatmap.clusters.isolation_cap",
                    raw.isolation_cap,
                    d.isolation_cap,
                    0.0..=1000.0,
                )
                .value,
            fuel_atr_mult: self
                .float(
                    "heatmap.clusters.fuel_atr_mult",
                    raw.fuel_atr_mult,
                    d.fuel_atr_mult,
                    0.0..=100.0,
                )
                .value,
            id_match_bins: self
                .int(
                    "heatmap.clusters.id_match_bins",
                    raw.id_match_bins,
                    d.id_match_bins as usize,
                    0..=1000,
                )
                .value as i32, // at most 1000
        }
    }
}
