//! One side of the heatmap (long- or short-liquidation mass) over the shared window of absolute
//! bins. Owns the scale factor, the swept frontier and the bookkeeping of totals; must never
//! decide *how much* flow to add or remove (that is the step's job in `step.rs`).
//!
//! Storage: `stored[i]` is an `f32`, the bin's mass in USD is `stored[i] · scale`. Decay,
//! proportional removal and the OI cap multiply `scale` (O(1)); deposits divide by it. When the
//! scale gets small the array is renormalised (O(window), about once a month of 5-minute steps).
//! f32 is enough: the model's own error is tens of percent, f32 keeps 7 significant digits, and
//! it halves the memory (16 KB per pair) and the snapshot size while doubling the SIMD width of
//! the deposit loop. Every sum and report is f64.

use serde::{Deserialize, Serialize};

use super::kernel::KernelSide;
use crate::model::Side;

/// No partly swept bin.
const NO_PARTIAL: i32 = i32::MIN;
/// Renormalise once the scale has shrunk this much (2^-16: ~16 half-lives without caps).
const RENORM_BELOW: f64 = 1.0 / 65_536.0;
/// Stored values below this are flushed to zero at renormalisation, so old dust never turns
/// into slow subnormal arithmetic.
const DUST: f32 = 1e-30;

/// Absolute bins `(lo, hi)` that may hold mass, or none.
type Extent = Option<(i32, i32)>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SideMass {
    side: Side,
    /// USD per stored unit.
    scale: f64,
    /// Only its non-empty bins in the store's binary snapshots.
    #[serde(with = "super::sparse")]
    stored: Vec<f32>,
    /// Σ stored, kept from the exact change of every bin (f64 sums of f32 differences), so it
    /// tracks the array to ~1e-13 and reads 0 exactly when the side is empty.
    stored_total: f64,
    /// Lowest and highest bin that may hold mass. Consumption walks from the end nearest to
    /// price, so a tick costs O(bins crossed); sweeping past the far end empties the side.
    extent: Extent,
    /// The bin price is currently inside, and the fraction of it already swept (from the edge
    /// facing away from the mass), so repeated ticks in one bin consume only the increment.
    partial_bin: i32,
    partial_done: f64,
}

impl SideMass {
    pub(crate) fn new(side: Side, len: usize) -> Self {
        SideMass {
            side,
            scale: 1.0,
            stored: vec![0.0; len],
            stored_total: 0.0,
            extent: None,
            partial_bin: NO_PARTIAL,
            partial_done: 0.0,
        }
    }

    /// Total mass in USD.
    pub(crate) fn total(&self) -> f64 {
        self.stored_total.max(0.0) * self.scale
    }

    /// Mass of absolute bin `k` in USD (0 outside the window).
    pub(crate) fn mass(&self, base: i32, k: i32) -> f64 {
        self.index(base, k)
            .map_or(0.0, |i| f64::from(self.stored[i]) * self.scale)
    }

    pub(crate) fn len(&self) -> usize {
        self.stored.len()
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.stored.capacity() * size_of::<f32>()
    }

    /// Multiplies every bin by `factor` in [0, 1]; returns the USD removed.
    pub(crate) fn scale_by(&mut self, factor: f64) -> f64 {
        let before = self.total();
        if factor <= 0.0 {
            self.clear();
            return before;
        }
        self.scale *= factor;
        if self.scale < RENORM_BELOW {
            self.renormalise();
        }
        before - self.total()
    }

    /// Adds `usd` shaped by `kernel` around `entry_bin`; returns `(deposited, dropped)` where
    /// `dropped` is the part that fell outside the window.
    pub(crate) fn deposit(
        &mut self,
        base: i32,
        entry_bin: i32,
        kernel: &KernelSide,
        usd: f64,
    ) -> (f64, f64) {
        let len = self.stored.len() as i64;
        let first = i64::from(entry_bin) + i64::from(kernel.start());
        let lo = first.max(i64::from(base));
        let hi = (first + kernel.weights().len() as i64).min(i64::from(base) + len);
        if usd <= 0.0 || lo >= hi {
            return (0.0, usd.max(0.0));
        }
        let weights = &kernel.weights()[(lo - first) as usize..(hi - first) as usize];
        let lo_i = (lo - i64::from(base)) as usize;
        let added = add_scaled(
            &mut self.stored[lo_i..lo_i + weights.len()],
            weights,
            (usd / self.scale) as f32,
        );
        self.stored_total += added;
        let (lo, hi) = (lo as i32, (hi - 1) as i32);
        self.extent = Some(match self.extent {
            Some((a, b)) => (a.min(lo), b.max(hi)),
            None => (lo, hi),
        });
        if (lo..=hi).contains(&self.partial_bin) {
            // Fresh mass is spread over the whole bin; forget how much of it price had swept.
            self.partial_bin = NO_PARTIAL;
        }
        let deposited = added * self.scale;
        (deposited, (usd - deposited).max(0.0))
    }

    /// Liquidates everything price has crossed: long bins above `pos`, short bins below it, and
    /// the bin containing `pos` pro rata to penetration. `pos` is the price's grid position
    /// (`Grid::position`). Returns the consumed USD.
    pub(crate) fn consume(&mut self, base: i32, pos: f64) -> f64 {
        let Some((lo, hi)) = self.extent else {
            return 0.0;
        };
        let kp = pos.floor() as i32;
        let frac_in = pos - f64::from(kp); // how far up its bin the price sits
        // Longs sit below price: bins above kp are crossed and the top of kp is swept; shorts
        // mirror it.
        // Bins `first..=last` are crossed entirely (none when first > last).
        let (first, last, emptied) = match self.side {
            Side::Long if kp < hi => (kp.saturating_add(1), hi, kp < lo),
            Side::Short if kp > lo => (lo, kp.saturating_sub(1), kp > hi),
            _ if kp == hi || kp == lo => (kp.saturating_add(1), kp, false),
            _ => return 0.0,
        };
        let (a, b) = self.clip(base, first, last);
        let mut sum = 0.0f64;
        for m in &mut self.stored[a..b] {
            sum += f64::from(*m);
            *m = 0.0;
        }
        if emptied {
            let usd = sum * self.scale;
            self.clear();
            return usd;
        }
        if (first..=last).contains(&self.partial_bin) {
            self.partial_bin = NO_PARTIAL;
        }
        sum += self.consume_partial(base, kp, self.swept(frac_in));
        self.extent = Some(match self.side {
            Side::Long => (lo, hi.min(kp)),
            Side::Short => (lo.max(kp), hi),
        });
        self.stored_total = (self.stored_total - sum).max(0.0);
        sum * self.scale
    }

    /// Fraction of a bin swept when price sits `frac_in` of the way up it.
    fn swept(&self, frac_in: f64) -> f64 {
        match self.side {
            Side::Long => 1.0 - frac_in,
            Side::Short => frac_in,
        }
    }

    /// Sweeps bin `k` up to fraction `swept`, counting only what earlier ticks left.
    fn consume_partial(&mut self, base: i32, k: i32, swept: f64) -> f64 {
        let Some(i) = self.index(base, k) else {
            return 0.0;
        };
        let done = if self.partial_bin == k {
            self.partial_done
        } else {
            0.0
        };
        if swept <= done {
            return 0.0;
        }
        let take = ((swept - done) / (1.0 - done)).clamp(0.0, 1.0);
        let old = self.stored[i];
        let new = (f64::from(old) * (1.0 - take)) as f32;
        self.stored[i] = new;
        self.partial_bin = k;
        self.partial_done = swept;
        f64::from(old) - f64::from(new)
    }

    /// Moves the window from `old_base` to `new_base`; returns the USD that fell off its ends.
    pub(crate) fn shift(&mut self, old_base: i32, new_base: i32) -> f64 {
        let len = self.stored.len();
        let d = i64::from(new_base) - i64::from(old_base);
        if d.unsigned_abs() as usize >= len {
            let dropped = self.total();
            self.clear();
            return dropped;
        }
        let n = d.unsigned_abs() as usize;
        let lost: f64 = if d > 0 {
            let lost = self.stored[..n].iter().map(|&v| f64::from(v)).sum();
            self.stored.copy_within(n.., 0);
            self.stored[len - n..].fill(0.0);
            lost
        } else {
            let lost = self.stored[len - n..].iter().map(|&v| f64::from(v)).sum();
            self.stored.copy_within(..len - n, n);
            self.stored[..n].fill(0.0);
            lost
        };
        let top = new_base.saturating_add(len as i32 - 1);
        match self.extent {
            Some((lo, hi)) if hi >= new_base && lo <= top => {
                self.extent = Some((lo.max(new_base), hi.min(top)));
                self.stored_total = (self.stored_total - lost).max(0.0);
            }
            _ => self.clear(),
        }
        if self.index(new_base, self.partial_bin).is_none() {
            self.partial_bin = NO_PARTIAL;
        }
        lost * self.scale
    }

    /// Adds `other`'s mass (whose window starts at `other_base`) to this side, each bin moved
    /// `shift` bins up; returns the USD that fell outside this window.
    pub(crate) fn add_side(
        &mut self,
        base: i32,
        other: &SideMass,
        other_base: i32,
        shift: i32,
    ) -> f64 {
        let Some((lo, hi)) = other.extent else {
            return 0.0;
        };
        let mut dropped = 0.0;
        for k in lo..=hi {
            let usd = other.mass(other_base, k);
            if usd <= 0.0 {
                continue;
            }
            let target = k.saturating_add(shift);
            let Some(i) = self.index(base, target) else {
                dropped += usd;
                continue;
            };
            let old = self.stored[i];
            self.stored[i] = (f64::from(old) + usd / self.scale) as f32;
            self.stored_total += f64::from(self.stored[i]) - f64::from(old);
            self.extent = Some(match self.extent {
                Some((a, b)) => (a.min(target), b.max(target)),
                None => (target, target),
            });
        }
        // Fresh mass is spread over whole bins; forget how much of one price had swept.
        self.partial_bin = NO_PARTIAL;
        dropped
    }

    /// Sets absolute bin `k` to `usd` (tests build hand-made maps with it).
    #[cfg(test)]
    pub(crate) fn put(&mut self, base: i32, k: i32, usd: f64) {
        let i = self.index(base, k).expect("a bin inside the window");
        let old = self.stored[i];
        self.stored[i] = (usd / self.scale) as f32;
        self.stored_total += f64::from(self.stored[i]) - f64::from(old);
        self.extent = Some(self.extent.map_or((k, k), |(a, b)| (a.min(k), b.max(k))));
    }

    fn clear(&mut self) {
        self.stored.fill(0.0);
        self.stored_total = 0.0;
        self.scale = 1.0;
        self.extent = None;
        self.partial_bin = NO_PARTIAL;
        self.partial_done = 0.0;
    }

    /// Folds the scale into the stored values and re-sums the total exactly.
    fn renormalise(&mut self) {
        let scale = self.scale;
        let mut total = 0.0f64;
        for m in &mut self.stored {
            let v = (f64::from(*m) * scale) as f32;
            *m = if v.abs() < DUST { 0.0 } else { v };
            total += f64::from(*m);
        }
        self.stored_total = total;
        self.scale = 1.0;
    }

    fn index(&self, base: i32, k: i32) -> Option<usize> {
        let i = usize::try_from(i64::from(k) - i64::from(base)).ok()?;
        (i < self.stored.len()).then_some(i)
    }

    /// Array range `[a, b)` of absolute bins `first..=last`, clipped to the window.
    fn clip(&self, base: i32, first: i32, last: i32) -> (usize, usize) {
        let len = self.stored.len() as i64;
        let a = (i64::from(first) - i64::from(base)).clamp(0, len);
        let b = (i64::from(last) - i64::from(base) + 1).clamp(a, len);
        (a as usize, b as usize)
    }

    /// Appends the USD mass of `count` bins starting at `from` and walking away from price
    /// (down for longs, up for shorts); bins outside the window read 0.
    pub(crate) fn outward(&self, base: i32, from: i32, count: usize, out: &mut Vec<f64>) {
        let len = self.stored.len() as i64;
        let count = count as i64;
        let first = i64::from(from) - i64::from(base); // array index of `from`
        // The walk covers indices [lo, hi] (clipped to the array), after `before` outside ones.
        let (lo, hi, before) = match self.side {
            Side::Long => (
                (first - count + 1).max(0),
                first.min(len - 1),
                (first - len + 1).max(0),
            ),
            Side::Short => (
                first.max(0),
                (first + count - 1).min(len - 1),
                (-first).max(0),
            ),
        };
        let scale = self.scale;
        let start = out.len();
        out.extend((0..before.min(count)).map(|_| 0.0));
        if lo <= hi {
            let slice = &self.stored[lo as usize..=hi as usize];
            match self.side {
                Side::Long => out.extend(slice.iter().rev().map(|&v| f64::from(v) * scale)),
                Side::Short => out.extend(slice.iter().map(|&v| f64::from(v) * scale)),
            }
        }
        out.resize(start + count as usize, 0.0);
    }
}

/// `dst[i] += amount · w[i]`; returns the exact Σ of the changes (f64 differences of the f32
/// values before and after), in four lanes so the loop still vectorises.
fn add_scaled(dst: &mut [f32], w: &[f32], amount: f32) -> f64 {
    let mut acc = [0.0f64; 4];
    let mut dc = dst.chunks_exact_mut(4);
    let mut wc = w.chunks_exact(4);
    for (d, w) in (&mut dc).zip(&mut wc) {
        for j in 0..4 {
            let old = d[j];
            d[j] = old + amount * w[j];
            acc[j] += f64::from(d[j]) - f64::from(old);
        }
    }
    for (d, &w) in dc.into_remainder().iter_mut().zip(wc.remainder()) {
        let old = *d;
        *d = old + amount * w;
        acc[0] += f64::from(*d) - f64::from(old);
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}
