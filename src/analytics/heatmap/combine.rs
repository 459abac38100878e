//! One market's maps summed across venues: each venue's map added bin by bin onto the home
//! venue's grid and window. Pure; must never step, decay or consume (the venues' own maps do).
//!
//! The sum is notional-weighted by construction: every bin holds USD of estimated liquidations,
//! so a venue with three times the open interest weighs three times as much. A venue quoting a
//! multiple of the base asset (`1000PEPE` against `PEPE`) sits a fixed number of log-bins away:
//! `shift` moves it, rounded to the nearest bin.

use super::{Heatmap, Mode};
use crate::model::Side;

impl Heatmap {
    /// Adds `other`'s mass to this map, every bin `shift` bins up; returns the USD that fell
    /// outside this map's window (all of it when the grids differ). The sum has no open
    /// interest of its own, so it reports no coverage; it is in OI mode when any part is.
    pub fn absorb(&mut self, other: &Heatmap, shift: i32) -> f64 {
        if self.grid != other.grid {
            return other.total(Side::Long) + other.total(Side::Short);
        }
        let base = self.base;
        let dropped = self.long.add_side(base, &other.long, other.base, shift)
            + self.short.add_side(base, &other.short, other.base, shift);
        self.last_oi = None;
        if other.mode == Mode::Oi {
            self.mode = Mode::Oi;
        }
        dropped
    }

    /// How many bins a venue quoting `multiplier` units of the base asset per unit of price sits
    /// below one quoting `home_multiplier` (the shift [`Heatmap::absorb`] takes).
    pub fn multiplier_shift(&self, home_multiplier: u32, multiplier: u32) -> i32 {
        let ratio = f64::from(home_multiplier) / f64::from(multiplier);
        (ratio.ln() / self.grid.lambda()).round() as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::brackets::MarginSpec;
    use crate::analytics::heatmap::{HeatmapParams, Kernel};

    fn map(long: &[(i32, f64)], short: &[(i32, f64)]) -> Heatmap {
        let kernel = Kernel::new(
            &HeatmapParams::default(),
            MarginSpec {
                mmr: 0.005,
                max_leverage: 50.0,
            },
        );
        Heatmap::with_masses(&kernel, 10_000, long, short)
    }

    /// `(bin, USD)` masses of one side.
    type Bins = &'static [(i32, f64)];

    /// One line per case: home bins, other bins, shift, the sum's bins (long side; USD).
    #[rustfmt::skip]
    const SUMS: &[(Bins, Bins, i32, Bins)] = &[
        (&[(10_100, 5.0)], &[(10_100, 3.0)], 0, &[(10_100, 8.0)]),
        (&[(10_100, 5.0)], &[(10_101, 3.0)], 0, &[(10_100, 5.0), (10_101, 3.0)]),
        (&[(10_100, 5.0)], &[(10_090, 3.0)], 10, &[(10_100, 8.0)]),
        (&[], &[(10_200, 2.0), (10_201, 2.0)], 0, &[(10_200, 2.0), (10_201, 2.0)]),
    ];

    #[test]
    fn maps_sum_bin_by_bin() {
        for &(home, other, shift, want) in SUMS {
            let mut sum = map(home, &[]);
            let dropped = sum.absorb(&map(other, &[]), shift);
            assert_eq!(dropped, 0.0);
            for &(bin, usd) in want {
                assert!(
                    (sum.mass(Side::Long, bin) - usd).abs() < 1e-4,
                    "{home:?} + {other:?} at {bin}"
                );
            }
            let total: f64 = want.iter().map(|(_, usd)| usd).sum();
            assert!(
                (sum.total(Side::Long) - total).abs() < 1e-4,
                "{home:?} + {other:?}"
            );
            assert_eq!(sum.total(Side::Short), 0.0);
        }
    }

    #[test]
    fn mass_outside_the_window_is_reported_not_kept() {
        let mut sum = map(&[(10_100, 1.0)], &[]);
        let dropped = sum.absorb(&map(&[], &[(10_100, 4.0)]), 1_000_000);
        assert_eq!(dropped, 4.0);
        assert_eq!(sum.total(Side::Short), 0.0);
    }

    #[test]
    fn a_thousandfold_contract_sits_a_fixed_number_of_bins_away() {
        let m = map(&[], &[]);
        // ln(1000) / ln(1.001) = 6911.2…: 1000PEPE's bins are 6911 above PEPE's.
        assert_eq!(m.multiplier_shift(1000, 1), 6911);
        assert_eq!(m.multiplier_shift(1, 1000), -6911);
        assert_eq!(m.multiplier_shift(1, 1), 0);
    }
}
