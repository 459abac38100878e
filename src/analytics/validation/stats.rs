//! Interval arithmetic and seeded resampling for model validation: Wilson score intervals and the
//! percentile bootstrap. Pure and deterministic: the only randomness is a SplitMix64 stream seeded
//! by the caller, so one seed always gives one answer; never reads global randomness or the clock.

/// Φ⁻¹(0.975): the z of a two-sided 95 % interval.
pub(super) const Z95: f64 = 1.959_963_984_540_054;

/// SplitMix64 (Steele, Lea & Flood, 2014). Tiny and statistically fine for drawing resampling
/// indices and donor frames; not meant for anything adversarial.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// An independent stream per purpose, so that e.g. asking for more bootstrap samples never
    /// moves the time-shuffled donors drawn from the same user seed.
    pub fn stream(seed: u64, purpose: u64) -> SplitMix64 {
        let mut mixer = SplitMix64(seed ^ purpose.wrapping_mul(0xD1B5_4A32_D192_ED03));
        SplitMix64(mixer.next_u64())
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform index in `0..n` (`n > 0`) by multiply-shift; its bias is below n / 2⁶⁴, far under
    /// anything a 95 % interval can show.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// The Wilson score 95 % interval for `hits` successes out of `n` trials (hits above n count as
/// n). It stays inside [0, 1] and is honest at 0 and n hits, where the normal approximation
/// collapses to a point. With no trials nothing is known: (0, 1).
pub fn wilson_interval(hits: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n = n as f64;
    let p = hits as f64 / n;
    let p = p.min(1.0);
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // At 0 or n hits the bound is exactly 0 or 1; rounding would leave a few ulps off it.
    let lo = if p == 0.0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let hi = if p == 1.0 {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    (lo, hi)
}

/// Percentile bootstrap 95 % interval: `samples` times, draw `n` indices from `0..n` with
/// replacement and evaluate `stat` on them; the interval is the 2.5 % and 97.5 % percentiles of
/// the values. The caller's statistic decides what an index means (a print, a day of prints),
/// which keeps this one procedure behind every interval of the report.
///
/// Resamples where `stat` is undefined (`None` or not finite, e.g. a ratio whose denominator
/// drew only zeros) are left out; that conditions the interval on the statistic existing, which
/// matters only when such draws are common. `None` when `n` or `samples` is 0 or no resample was
/// defined. The same `seed` and `n` draw the same indices, so intervals of several statistics
/// over the same blocks are paired.
pub fn bootstrap_ci(
    n: usize,
    samples: u32,
    seed: u64,
    mut stat: impl FnMut(&[usize]) -> Option<f64>,
) -> Option<(f64, f64)> {
    bootstrap_cis(n, samples, seed, 1, |draw, out| out[0] = stat(draw))[0]
}

/// [`bootstrap_ci`] for `k` statistics computed from the same draws: `stats` fills one slot per
/// statistic (`None` = undefined for this draw). Paying for the draw once matters when a report
/// has a dozen intervals over tens of thousands of prints.
pub(super) fn bootstrap_cis(
    n: usize,
    samples: u32,
    seed: u64,
    k: usize,
    mut stats: impl FnMut(&[usize], &mut [Option<f64>]),
) -> Vec<Option<(f64, f64)>> {
    if n == 0 || samples == 0 {
        return vec![None; k];
    }
    let mut rng = SplitMix64::new(seed);
    let mut draw = vec![0; n];
    let mut out = vec![None; k];
    let mut values = vec![Vec::with_capacity(samples as usize); k];
    for _ in 0..samples {
        for slot in &mut draw {
            *slot = rng.below(n);
        }
        out.fill(None);
        stats(&draw, &mut out);
        for (v, o) in values.iter_mut().zip(&out) {
            v.extend(o.filter(|x| x.is_finite()));
        }
    }
    values
        .into_iter()
        .map(|mut v| {
            v.sort_by(f64::total_cmp);
            (!v.is_empty()).then(|| (quantile(&v, 0.025), quantile(&v, 0.975)))
        })
        .collect()
}

/// The `q` quantile of sorted, non-empty data by linear interpolation between order statistics
/// (Hyndman–Fan type 7, the default of R and NumPy), so results match a spreadsheet check.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (pos - lo as f64) * (sorted[hi] - sorted[lo])
}

#[cfg(test)]
mod tests;
