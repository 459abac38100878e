//! The log-price grid of the heatmap: absolute bin indices and their edges. Pure arithmetic; must
//! never hold state, so every pair and every restart agrees on which bin a price is in.
//!
//! Bin `k` covers prices `[(1+δ)^k, (1+δ)^(k+1))`. Indices are absolute (`k = ⌊ln p / ln(1+δ)⌋`),
//! so a bin never moves when price does: no re-binning, and a cluster's peak bin is a stable id.

use serde::{Deserialize, Serialize};

/// A log-price grid with bin width `δ` (10 bp by default).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// `ln(1+δ)`: the width of one bin in log-price.
    lambda: f64,
}

impl Grid {
    /// A grid whose bins are `bin_bp` basis points wide (10 → δ = 0.001).
    pub fn new(bin_bp: f64) -> Self {
        Grid {
            lambda: (bin_bp / 10_000.0).ln_1p(),
        }
    }

    /// Width of one bin in log-price, `ln(1+δ)`.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// Position of `price` in bin units: the integer part is the bin, the fraction is how far up
    /// the bin the price sits (in log space). `price` must be positive and finite.
    pub fn position(&self, price: f64) -> f64 {
        price.ln() / self.lambda
    }

    /// The absolute bin containing `price`.
    pub fn bin_of(&self, price: f64) -> i32 {
        // Positions of real prices are within ±40 000, far inside i32; `as` saturates anyway.
        self.position(price).floor() as i32
    }

    /// Lowest price of bin `k`.
    pub fn lower_edge(&self, k: i32) -> f64 {
        (f64::from(k) * self.lambda).exp()
    }

    /// Highest price of bin `k` (the lower edge of `k + 1`).
    pub fn upper_edge(&self, k: i32) -> f64 {
        (f64::from(k + 1) * self.lambda).exp()
    }

    /// Representative (log-midpoint) price of bin `k`.
    pub fn mid(&self, k: i32) -> f64 {
        ((f64::from(k) + 0.5) * self.lambda).exp()
    }

    /// Number of bins spanned by a relative move of `frac` (0.06 = 6 %), rounded up.
    pub fn bins_for_fraction(&self, frac: f64) -> usize {
        ((frac.max(0.0)).ln_1p() / self.lambda).ceil() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_absolute_and_contain_their_price() {
        let g = Grid::new(10.0);
        for p in [0.000_123, 0.5, 1.0, 33.3, 97_123.4, 1.0e6] {
            let k = g.bin_of(p);
            assert!(g.lower_edge(k) <= p * (1.0 + 1e-12) && p < g.upper_edge(k) * (1.0 + 1e-12));
            let ratio = g.upper_edge(k) / g.lower_edge(k);
            assert!((ratio - 1.001).abs() < 1e-9, "{p}: {ratio}");
        }
        // 1.0 is the lower edge of bin 0 on every grid.
        assert_eq!(g.bin_of(1.0), 0);
        assert_eq!(g.bin_of(1.0005), 0);
        assert_eq!(g.bin_of(0.9995), -1);
    }

    #[test]
    fn fraction_to_bins() {
        let g = Grid::new(10.0);
        assert_eq!(g.bins_for_fraction(0.06), 59); // ln 1.06 / ln 1.001 = 58.3
        assert_eq!(g.bins_for_fraction(0.0), 0);
    }
}
