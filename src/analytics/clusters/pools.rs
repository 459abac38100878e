//! Pool (cluster) detection on one side's masses ordered outward from price (heatmap-model.md
//! §5.6). Works on plain slices so it can be tested on hand-made arrays; must never know prices,
//! the grid or ids (the caller maps indices to bins and prices).

use super::ClusterParams;

/// A pool found in an outward slice. Indices count bins away from price: `near` is the pool's
/// price-facing end, `far` its other end (`near ≤ peak ≤ far`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pool {
    pub near: usize,
    pub far: usize,
    pub peak: usize,
    /// Σ raw mass over `near..=far`.
    pub mass: f64,
    /// Mean mass per bin over the background: (mass / width) / background.
    pub density: f64,
    /// 1 = densest pool of the side.
    pub density_rank: u32,
    /// mass / window mass.
    pub share: f64,
    pub thin_approach: f64,
    pub isolation: f64,
    pub fuel_behind: f64,
}

impl Pool {
    pub fn width(&self) -> usize {
        self.far - self.near + 1
    }
}

/// The result of scanning one side.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    /// β: median of the positive smoothed masses in the window (their mean if fewer than
    /// `background_min_count`); 0 when the window is empty.
    pub background: f64,
    /// θ = max(3β, P85 of the smoothed masses); a bin is hot when its smoothed mass ≥ θ.
    pub threshold: f64,
    /// Σ raw mass in the window.
    pub window_mass: f64,
    /// Pools nearest to price first.
    pub pools: Vec<Pool>,
}

/// Scans `masses[..window]` (outward from price; entries beyond `window` are only read for the
/// fuel behind a pool and the smoothing of the last window bin). `fuel_bins` is how far behind a
/// pool's far edge the fuel reaches (1·ATR in bins).
pub fn scan(masses: &[f64], window: usize, fuel_bins: usize, p: &ClusterParams) -> Scan {
    scan_with(masses, window, fuel_bins, p, &mut Scratch::default())
}

/// Buffers [`scan_with`] reuses between calls (one allocation per side saved each).
#[derive(Debug, Default)]
pub struct Scratch {
    smooth: Vec<f64>,
    keys: Vec<u64>,
}

/// [`scan`] with caller-owned buffers.
pub fn scan_with(
    masses: &[f64],
    window: usize,
    fuel_bins: usize,
    p: &ClusterParams,
    scratch: &mut Scratch,
) -> Scan {
    let n = window.min(masses.len());
    smooth3(masses, n, &mut scratch.smooth);
    let smooth = &scratch.smooth[..];
    let window_mass = sum4(&masses[..n]);
    let (background, threshold) = background_and_threshold(smooth, p, &mut scratch.keys);
    if background <= 0.0 || window_mass <= 0.0 {
        return Scan {
            background,
            threshold,
            window_mass,
            pools: Vec::new(),
        };
    }
    let runs = hot_runs(smooth, threshold, p.merge_gap_bins);
    let mut pools: Vec<Pool> = runs
        .into_iter()
        .filter_map(|(near, far)| {
            let mass: f64 = masses[near..=far].iter().sum();
            let share = mass / window_mass;
            (share >= p.min_share && mass > 0.0).then(|| {
                let width = (far - near + 1) as f64;
                let per_bin = mass / width;
                let gap = &smooth[..near];
                let approach = if gap.is_empty() {
                    0.0
                } else {
                    gap.iter().sum::<f64>() / gap.len() as f64
                };
                let behind_end = (far + fuel_bins).min(masses.len() - 1);
                let fuel: f64 = masses[far + 1..=behind_end.max(far)].iter().sum();
                Pool {
                    near,
                    far,
                    peak: argmax(smooth, near, far),
                    mass,
                    density: per_bin / background,
                    density_rank: 0,
                    share,
                    thin_approach: 1.0 - (approach / per_bin).min(1.0),
                    isolation: p.isolation_cap,
                    fuel_behind: fuel / mass,
                }
            })
        })
        .collect();
    finish_scores(&mut pools, p.isolation_cap);
    Scan {
        background,
        threshold,
        window_mass,
        pools,
    }
}

/// Isolation (gap to the nearest other pool over own width, capped) and density ranks.
fn finish_scores(pools: &mut [Pool], cap: f64) {
    for i in 0..pools.len() {
        let width = pools[i].width() as f64;
        let gap_to = |j: usize| -> f64 {
            let (a, b) = if j < i {
                (pools[j], pools[i])
            } else {
                (pools[i], pools[j])
            };
            (b.near - a.far - 1) as f64
        };
        let nearest = [i.checked_sub(1), (i + 1 < pools.len()).then_some(i + 1)]
            .into_iter()
            .flatten()
            .map(gap_to)
            .fold(f64::INFINITY, f64::min);
        pools[i].isolation = (nearest / width).min(cap);
    }
    let mut order: Vec<usize> = (0..pools.len()).collect();
    order.sort_by(|&a, &b| {
        pools[b]
            .density
            .total_cmp(&pools[a].density)
            .then(a.cmp(&b))
    });
    for (rank, i) in order.into_iter().enumerate() {
        pools[i].density_rank = rank as u32 + 1;
    }
}

/// Maximal runs of `s ≥ threshold`, merged across gaps of at most `merge_gap` bins.
pub fn hot_runs(s: &[f64], threshold: f64, merge_gap: usize) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (i, _) in s.iter().enumerate().filter(|(_, v)| **v >= threshold) {
        match runs.last_mut() {
            Some(last) if i - last.1 - 1 <= merge_gap => last.1 = i,
            _ => runs.push((i, i)),
        }
    }
    runs
}

/// 3-tap smoothing `(M[k−1] + 2M[k] + M[k+1]) / 4` of the first `n` values into `out`; outside
/// the slice counts as empty (the bin on the far side of price holds no mass of this side).
fn smooth3(masses: &[f64], n: usize, out: &mut Vec<f64>) {
    let at = |i: usize| masses.get(i).copied().unwrap_or(0.0);
    out.clear();
    if n == 0 {
        return;
    }
    out.push((2.0 * masses[0] + at(1)) / 4.0);
    out.extend(
        masses[..n]
            .windows(3)
            .map(|w| (w[0] + 2.0 * w[1] + w[2]) / 4.0),
    );
    if n > 1 {
        out.push((masses[n - 2] + 2.0 * masses[n - 1] + at(n)) / 4.0);
    }
}

/// Σ in four independent lanes: the order is fixed (deterministic) and the adds pipeline.
fn sum4(v: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let mut chunks = v.chunks_exact(4);
    for c in &mut chunks {
        for j in 0..4 {
            acc[j] += c[j];
        }
    }
    let rest: f64 = chunks.remainder().iter().sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + rest
}

/// β and θ of one side's smoothed window `s` (all values ≥ 0).
///
/// β is the median of the positive values (their mean when fewer than `background_min_count`).
/// θ = max(mult·β, P) with P the nearest-rank `hot_percentile` of all values, zeros included.
/// P only matters when it beats mult·β, which needs at least `n − rank` values at or above
/// mult·β; otherwise it is never computed, and when it is, only among those values. Selection
/// runs on the values' bit patterns, which sort like the numbers for non-negative floats.
fn background_and_threshold(s: &[f64], p: &ClusterParams, keys: &mut Vec<u64>) -> (f64, f64) {
    // Only the positives take part in the median: selecting among them alone is the same
    // selection, on fewer values.
    keys.clear();
    keys.extend(s.iter().filter(|v| **v > 0.0).map(|v| v.to_bits()));
    let positives = keys.len();
    if positives == 0 {
        return (0.0, 0.0);
    }
    let background = if positives < p.background_min_count {
        s.iter().filter(|v| **v > 0.0).sum::<f64>() / positives as f64
    } else {
        let mid = positives / 2; // the upper middle
        let upper = f64::from_bits(*keys.select_nth_unstable(mid).1);
        if positives % 2 == 1 {
            upper
        } else {
            let lower = keys[..mid]
                .iter()
                .copied()
                .max()
                .map_or(upper, f64::from_bits);
            (lower + upper) / 2.0
        }
    };
    let floor = p.hot_background_mult * background;
    let n = s.len();
    let rank = ((p.hot_percentile * n as f64).ceil() as usize).clamp(1, n) - 1;
    let at_or_above = s.iter().filter(|v| **v >= floor).count();
    if at_or_above < n - rank {
        return (background, floor); // the percentile lies below mult·β
    }
    keys.clear();
    keys.extend(s.iter().filter(|v| **v >= floor).map(|v| v.to_bits()));
    let pct = f64::from_bits(*keys.select_nth_unstable(rank - (n - at_or_above)).1);
    (background, pct.max(floor))
}

/// Index of the largest value in `s[a..=b]`, the one nearest to price on ties.
fn argmax(s: &[f64], a: usize, b: usize) -> usize {
    (a..=b).fold(a, |best, i| if s[i] > s[best] { i } else { best })
}
