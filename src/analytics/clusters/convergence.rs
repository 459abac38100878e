//! Leverage convergence: a cluster where the liquidation levels of different leverages, opened
//! at different entries, land within one bin of each other — the level several crowds share.
//! Pure: the cluster, recent entries and the margin rate in, one answer out.

use super::Cluster;
use crate::analytics::heatmap::liquidation_price;

/// The leverages whose levels are looked for (the round ones traders pick).
pub const CONVERGENCE_LEVERAGES: [f64; 3] = [25.0, 50.0, 100.0];

/// Whether liquidation prices of two different leverages from two different `entries` lie within
/// `bin_frac` of each other inside the cluster's band (widened by one bin). `mmr` is the pair's
/// maintenance-margin rate.
pub fn leverage_convergence(c: &Cluster, entries: &[f64], mmr: f64, bin_frac: f64) -> bool {
    let lo = c.near_edge.min(c.far_edge) * (1.0 - bin_frac);
    let hi = c.near_edge.max(c.far_edge) * (1.0 + bin_frac);
    let mut levels: Vec<(f64, usize, usize)> = Vec::new();
    for (e, &entry) in entries.iter().enumerate() {
        for (l, &leverage) in CONVERGENCE_LEVERAGES.iter().enumerate() {
            let price = liquidation_price(c.side, entry, leverage, mmr);
            if price.is_finite() && (lo..=hi).contains(&price) {
                levels.push((price, l, e));
            }
        }
    }
    levels.sort_by(|a, b| a.0.total_cmp(&b.0));
    levels.iter().enumerate().any(|(i, &(p, l, e))| {
        levels[i + 1..]
            .iter()
            .take_while(|(q, ..)| *q <= p * (1.0 + bin_frac))
            .any(|&(_, l2, e2)| l2 != l && e2 != e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::clusters::ClusterId;
    use crate::model::Side;

    fn long_band(lo: f64, hi: f64) -> Cluster {
        Cluster {
            id: ClusterId {
                side: Side::Long,
                bin: 0,
            },
            side: Side::Long,
            near_edge: hi,
            far_edge: lo,
            peak_price: (lo + hi) / 2.0,
            near_bin: 0,
            far_bin: 0,
            peak_bin: 0,
            notional_usd: 1.0,
            density: 5.0,
            density_rank: 1,
            share: 0.1,
            thin_approach: 1.0,
            gap_pct: 1.0,
            gap_atr: 1.0,
            isolation: 1.0,
            fuel_behind: 0.0,
            age_steps: 3,
        }
    }

    #[test]
    fn levels_of_different_leverages_and_entries_converge() {
        // With mmr 0: a long at E and leverage L liquidates at E·(1 − 1/L).
        // 25× from 102.0833… = 98.0; 50× from 100 = 98.0; 100× from 99 = 98.01.
        let e25 = 98.0 / 0.96;
        // (band, entries, bin, converges)
        type Case<'a> = ((f64, f64), &'a [f64], f64, bool);
        let cases: [Case; 5] = [
            ((97.5, 98.5), &[e25, 100.0], 0.001, true),
            ((97.5, 98.5), &[100.0], 0.001, false), // one entry: never two crowds
            ((97.5, 98.5), &[e25, 100.4], 0.001, false), // 98.0 vs 98.39: more than a bin apart
            ((97.5, 98.5), &[e25, 100.4], 0.005, true), // …but within a wider bin
            ((90.0, 91.0), &[e25, 100.0], 0.001, false), // both levels outside the band
        ];
        for ((lo, hi), entries, bin, want) in cases {
            let got = leverage_convergence(&long_band(lo, hi), entries, 0.0, bin);
            assert_eq!(got, want, "band {lo}–{hi}, entries {entries:?}, bin {bin}");
        }
    }
}
