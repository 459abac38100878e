//! Where the model's bands would be under each baseline of heatmap-model.md §4.2 (uniform,
//! distance-only, static ladder, time-shuffled), on one side of one frozen frame. Pure placement:
//! it never scores, and never looks at a print at or after the frame it places bands for.

use crate::model::Side;

use super::bins::{Grid, Runs, Span, span_bins};
use super::{Band, SideGeo};

/// Distances beyond this many bins are not kept: far outside any sensible map window (±30 % on
/// 10 bp bins is ~360 bins), and it bounds the histogram's memory.
const MAX_DISTANCE: u32 = 1 << 16;

/// The same-side `bands`, each price multiplied by `scale` (1 for the frame's own bands, the price
/// ratio when re-centring another frame's), as bins clipped to the side's window. Bands with a
/// non-positive or non-finite edge are ignored: they mark nothing on a log grid.
pub(super) fn band_runs(bands: &[Band], scale: f64, grid: Grid, geo: &SideGeo) -> Runs {
    let spans = bands
        .iter()
        .filter(|b| b.side == geo.side)
        .map(|b| (b.low * scale, b.high * scale))
        .filter(|(lo, hi)| lo.is_finite() && hi.is_finite() && *lo > 0.0 && *hi > 0.0)
        .map(|(lo, hi)| (grid.bin(lo), grid.bin(hi)));
    Runs::from_spans(spans).clip(geo.window)
}

/// Baseline (i): the model's bands, same widths and order, spread evenly over the reached span
/// with equal gaps. Deterministic; it knows where price went, which is what makes it the
/// no-information reference for "somewhere inside the reached range".
pub(super) fn uniform(model: &Runs, reached: Span) -> Runs {
    let widths: Vec<u64> = model.spans().iter().map(|&s| span_bins(s)).collect();
    let total: u64 = widths.iter().sum();
    let gap = span_bins(reached).saturating_sub(total) as f64 / (widths.len() + 1) as f64;
    let mut used = 0_i64;
    let mut spans = Vec::with_capacity(widths.len());
    for (i, &w) in widths.iter().enumerate() {
        let start = i64::from(reached.0) + (gap * (i + 1) as f64).floor() as i64 + used;
        let w = i64::try_from(w).unwrap_or(i64::MAX / 4);
        spans.push((to_bin(start), to_bin(start + w - 1)));
        used += w;
    }
    Runs::from_spans(spans)
}

/// Baseline (ii): how often past prints fell at each distance (in bins) from their own frame's
/// price, on one side. Fed only prints strictly before the frame being placed.
#[derive(Debug, Clone, Default)]
pub(super) struct DistanceHistogram {
    counts: Vec<u64>,
    total: u64,
}

impl DistanceHistogram {
    pub(super) fn add(&mut self, distance: u32) {
        if distance >= MAX_DISTANCE {
            return;
        }
        let d = distance as usize;
        if self.counts.len() <= d {
            self.counts.resize(d + 1, 0);
        }
        self.counts[d] += 1;
        self.total += 1;
    }

    /// The model's bands, same widths, moved to the distances where past prints fell most often:
    /// widest band first, each at the free position with the most prints under it (nearest
    /// first on ties). `None` with no history on this side: the caller falls back to uniform.
    pub(super) fn place(&self, model: &Runs, geo: &SideGeo) -> Option<Runs> {
        if self.total == 0 {
            return None;
        }
        let room = span_bins(geo.window).min(u64::from(MAX_DISTANCE)) as usize;
        let mut prefix = vec![0_u64; room + 1];
        for d in 0..room {
            prefix[d + 1] = prefix[d] + self.counts.get(d).copied().unwrap_or(0);
        }
        let mut widths: Vec<usize> = model
            .spans()
            .iter()
            .map(|&s| (span_bins(s) as usize).min(room))
            .collect();
        widths.sort_unstable_by(|a, b| b.cmp(a));
        let mut taken: Vec<(usize, usize)> = Vec::with_capacity(widths.len());
        for w in widths.into_iter().filter(|&w| w > 0) {
            let free = |d: usize| taken.iter().all(|&(a, b)| d + w <= a || d >= b);
            let best = (0..=room - w).filter(|&d| free(d)).max_by(|&a, &b| {
                (prefix[a + w] - prefix[a])
                    .cmp(&(prefix[b + w] - prefix[b]))
                    .then(b.cmp(&a))
            });
            if let Some(d) = best {
                taken.push((d, d + w));
            }
        }
        let spans = taken.iter().map(|&(a, b)| {
            let (near, far) = (geo.at_distance(a as i64), geo.at_distance(b as i64 - 1));
            (near.min(far), near.max(far))
        });
        Some(Runs::from_spans(spans))
    }
}

/// Baseline (iii): bands at the isolated liquidation prices of the leverage ladder centred on the
/// frame's price — long `P(1−1/ℓ)/(1−m)`, short `P(1+1/ℓ)/(1+m)` — sharing `width` bins in
/// proportion to the tier weights. Only tiers whose level falls inside the window share the
/// width (a 3× long level at −33 % is outside a ±30 % map), so the total stays area-matched.
pub(super) fn static_ladder(
    width: u64,
    price: f64,
    grid: Grid,
    geo: &SideGeo,
    ladder: &[(f64, f64)],
    mmr: f64,
) -> Runs {
    let tiers: Vec<(i32, f64)> = ladder
        .iter()
        .filter(|(lev, w)| lev.is_finite() && *lev > 1.0 && w.is_finite() && *w > 0.0)
        .map(|&(lev, w)| {
            let level = match geo.side {
                Side::Long => price * (1.0 - 1.0 / lev) / (1.0 - mmr),
                Side::Short => price * (1.0 + 1.0 / lev) / (1.0 + mmr),
            };
            (level, w)
        })
        .filter(|(level, _)| level.is_finite() && *level > 0.0)
        .map(|(level, w)| (grid.bin(level), w))
        .filter(|(bin, _)| geo.window.0 <= *bin && *bin <= geo.window.1)
        .collect();
    let weights: Vec<f64> = tiers.iter().map(|t| t.1).collect();
    let shares = apportion(width, &weights);
    let spans = tiers
        .iter()
        .zip(shares)
        .filter(|(_, w)| *w > 0)
        .map(|(&(c, _), w)| {
            let w = i64::try_from(w).unwrap_or(i64::MAX / 4);
            let lo = i64::from(c) - (w - 1) / 2;
            (to_bin(lo), to_bin(lo + w - 1))
        });
    Runs::from_spans(spans).clip(geo.window)
}

/// Splits `total` whole bins in proportion to `weights` by largest remainder (Hamilton), so the
/// parts add up to exactly `total`; ties go to the earlier tier.
fn apportion(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    if weights.is_empty() || sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let raw: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut out: Vec<u64> = raw.iter().map(|r| r.floor() as u64).collect();
    let mut left = total.saturating_sub(out.iter().sum());
    let mut order: Vec<usize> = (0..raw.len()).collect();
    order.sort_by(|&a, &b| (raw[b] - raw[b].floor()).total_cmp(&(raw[a] - raw[a].floor())));
    for i in order.into_iter().cycle().take(raw.len() * 2) {
        if left == 0 {
            break;
        }
        out[i] += 1;
        left -= 1;
    }
    out
}

fn to_bin(x: i64) -> i32 {
    x.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}
