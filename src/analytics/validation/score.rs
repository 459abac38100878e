//! Turns prepared frames and scorable prints into hits and areas for the model and each baseline,
//! then into scores with bootstrap and Wilson intervals. Pure; its only randomness is the seeded
//! stream of `stats`. Every band set of a frame side is scored on the same reached bins.

use super::baselines::{self, DistanceHistogram, band_runs, static_ladder};
use super::bins::{Runs, Span, span_bins};
use super::stats::{SplitMix64, bootstrap_cis, wilson_interval};
use super::{
    BaselineKind, BaselineScore, Event, Frame, Prepared, Score, SideGeo, ValidationParams,
};
use crate::model::TimeMs;

/// Stream ids, so each use of the user's seed draws independently.
const BOOTSTRAP_STREAM: u64 = 1;
const SHUFFLE_STREAM: u64 = 2;

/// What one band set did with one print.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Outcome {
    hit: bool,
    /// Share of the reached bins of the print's frame side that the widened bands cover.
    area: f64,
}

/// Hits and areas per band set, one outcome per event, aligned with the events.
#[derive(Debug)]
pub(super) struct Outcomes {
    /// The baselines scored, in [`BaselineKind::ALL`] order (time-shuffled only with a donor).
    kinds: Vec<BaselineKind>,
    /// `sets[0]` is the model, `sets[i + 1]` is `kinds[i]`.
    sets: Vec<Vec<Outcome>>,
}

impl Outcomes {
    pub(super) fn kinds(&self) -> &[BaselineKind] {
        &self.kinds
    }

    pub(super) fn model(&self) -> &[Outcome] {
        &self.sets[0]
    }

    pub(super) fn baseline(&self, kind: BaselineKind) -> Option<&[Outcome]> {
        let i = self.kinds.iter().position(|&k| k == kind)?;
        Some(&self.sets[i + 1])
    }
}

/// Scores every event of `events` (sorted by time) against its frame's bands and the baselines.
/// `history` holds (time, side, distance) of earlier prints for the distance-only baseline.
pub(super) fn score_frames(
    prepared: &[Prepared<'_>],
    events: &[Event],
    history: &[(TimeMs, usize, u32)],
    p: &ValidationParams,
    notes: &mut Vec<String>,
) -> Outcomes {
    let donors = choose_donors(prepared, p, notes);
    let kinds: Vec<BaselineKind> = BaselineKind::ALL
        .into_iter()
        .filter(|&k| donors.is_some() || k != BaselineKind::TimeShuffled)
        .collect();
    let mut sets = vec![vec![Outcome::default(); events.len()]; kinds.len() + 1];
    let mut hist = [DistanceHistogram::default(), DistanceHistogram::default()];
    let mut fed = 0;
    let (mut fallbacks, mut frame_sides) = (0, 0);
    let mut start = 0;
    while start < events.len() {
        let k = events[start].frame;
        let end = start + events[start..].iter().take_while(|e| e.frame == k).count();
        let f = &prepared[k];
        // Strictly before the frame: a print at the frame's own time is not yet history.
        while let Some(&(_, side, d)) = history.get(fed).filter(|h| h.0 < f.frame.time) {
            hist[side].add(d);
            fed += 1;
        }
        for (side, geo) in f.sides.iter().enumerate() {
            let group: Vec<usize> = (start..end).filter(|&i| events[i].side == side).collect();
            let Some(reached) = geo.reached.filter(|_| !group.is_empty()) else {
                continue;
            };
            frame_sides += 1;
            let donor = donors.as_ref().map(|d| prepared[d[k]].frame);
            let (runs, fell_back) = band_sets(f, geo, reached, &hist[side], donor, p);
            fallbacks += usize::from(fell_back);
            for (outcomes, bands) in sets.iter_mut().zip(runs.into_iter().flatten()) {
                let cover = bands.widen(p.tolerance_bins);
                let area = cover.bins_in(reached) as f64 / span_bins(reached) as f64;
                for &i in &group {
                    outcomes[i] = Outcome {
                        hit: cover.contains(events[i].bin),
                        area,
                    };
                }
            }
        }
        start = end;
    }
    if fallbacks > 0 {
        notes.push(format!(
            "distance-only: no earlier print on {fallbacks} of {frame_sides} scored frame sides; \
             placed uniformly there"
        ));
    }
    Outcomes { kinds, sets }
}

/// The model's bands on one side of frame `f`, then each baseline's, in [`BaselineKind::ALL`]
/// order (time-shuffled only with a `donor`); the flag says distance-only fell back to uniform.
fn band_sets(
    f: &Prepared<'_>,
    geo: &SideGeo,
    reached: Span,
    hist: &DistanceHistogram,
    donor: Option<&Frame>,
    p: &ValidationParams,
) -> ([Option<Runs>; 5], bool) {
    let model = band_runs(&f.frame.clusters, 1.0, f.grid, geo);
    let width = model.bins();
    let uniform = baselines::uniform(&model, reached);
    let distance = hist.place(&model, geo);
    let fell_back = distance.is_none();
    let distance = distance.unwrap_or_else(|| uniform.clone());
    let ladder = static_ladder(width, f.frame.price, f.grid, geo, &p.ladder, p.mmr);
    // Another frame's bands keep their own widths (see `BaselineKind::TimeShuffled`); nothing
    // when the model put nothing on this side, like every other baseline.
    let shuffled = donor.map(|d| match width {
        0 => Runs::default(),
        _ => band_runs(&d.clusters, f.frame.price / d.price, f.grid, geo),
    });
    let sets = [
        Some(model),
        Some(uniform),
        Some(distance),
        Some(ladder),
        shuffled,
    ];
    (sets, fell_back)
}

/// One donor frame per frame for the time-shuffled baseline: uniformly among frames at least
/// `shuffle_min_gap_ms` away, else among all other frames (noted). `None` with fewer than two
/// frames: a map cannot be shuffled against itself, and reusing it would copy the model's score.
fn choose_donors(
    prepared: &[Prepared<'_>],
    p: &ValidationParams,
    notes: &mut Vec<String>,
) -> Option<Vec<usize>> {
    let n = prepared.len();
    if n < 2 {
        notes.push("time-shuffled: skipped, it needs at least two frames".to_owned());
        return None;
    }
    let times: Vec<TimeMs> = prepared.iter().map(|f| f.frame.time).collect();
    // At least 1 ms, so a frame is never its own donor.
    let gap = p.shuffle_min_gap_ms.max(1);
    let mut rng = SplitMix64::stream(p.seed, SHUFFLE_STREAM);
    let mut near = 0;
    let donors = (0..n)
        .map(|k| {
            let before = times.partition_point(|&t| t <= times[k].saturating_sub(gap));
            let after = times.partition_point(|&t| t < times[k].saturating_add(gap));
            let far = before + (n - after);
            if far > 0 {
                let r = rng.below(far);
                if r < before { r } else { after + r - before }
            } else {
                near += 1;
                let r = rng.below(n - 1);
                if r < k { r } else { r + 1 }
            }
        })
        .collect();
    if near > 0 {
        notes.push(format!(
            "time-shuffled: {near} of {n} frames had no frame {} min away; donors drawn from \
             nearer frames, which resemble the model more",
            gap / 60_000
        ));
    }
    Some(donors)
}

/// Per-block sums of one band set: (Σ w·hit, Σ w, Σ w·area).
type Sums = Vec<(f64, f64, f64)>;

/// The model's score (`sets[0]`), the scores of `kinds` (`sets[1..]`) with paired gains, and
/// the number of bootstrap units; `units[i]` is event `i`'s unit, a dense id.
pub(super) fn summarise(
    events: &[Event],
    units: &[usize],
    kinds: &[BaselineKind],
    sets: &[Vec<Outcome>],
    p: &ValidationParams,
) -> (Score, Vec<BaselineScore>, usize) {
    let blocks = units.iter().max().map_or(0, |b| b + 1);
    let sums: Vec<Sums> = sets
        .iter()
        .map(|outcomes| {
            let mut s = vec![(0.0, 0.0, 0.0); blocks];
            for ((e, o), &b) in events.iter().zip(outcomes).zip(units) {
                let hit = if o.hit { e.weight } else { 0.0 };
                s[b] = (s[b].0 + hit, s[b].1 + e.weight, s[b].2 + e.weight * o.area);
            }
            s
        })
        .collect();
    // One joint bootstrap: each resample draws the blocks once and gives every set's capture
    // (slot 2j) and lift (2j + 1), then each baseline's lift gain (2n + j − 1), so all intervals
    // are paired and the draw is paid once.
    let n = sets.len();
    let seed = SplitMix64::stream(p.seed, BOOTSTRAP_STREAM).next_u64();
    let cis = bootstrap_cis(blocks, p.bootstrap_samples, seed, 3 * n - 1, |draw, out| {
        for (j, set) in sums.iter().enumerate() {
            let (hit_w, w, area_w) = total(set, draw.iter().copied());
            out[2 * j] = (w > 0.0).then(|| hit_w / w);
            out[2 * j + 1] = (area_w > 0.0).then(|| hit_w / area_w);
        }
        for j in 1..n {
            out[2 * n + j - 1] = out[1].zip(out[2 * j + 1]).map(|(m, b)| m - b);
        }
    });
    let score = |j: usize| Score {
        capture_ci95: cis[2 * j],
        lift_ci95: cis[2 * j + 1],
        ..score_of(&sets[j], &sums[j])
    };
    let baselines = (1..n)
        .map(|j| BaselineScore {
            kind: kinds[j - 1],
            score: score(j),
            lift_gain_ci95: cis[2 * n + j - 1],
        })
        .collect();
    (score(0), baselines, blocks)
}

/// Σ over the given blocks, each counted as often as it appears.
fn total(sums: &[(f64, f64, f64)], blocks: impl Iterator<Item = usize>) -> (f64, f64, f64) {
    blocks.fold((0.0, 0.0, 0.0), |a, i| {
        let b = sums[i];
        (a.0 + b.0, a.1 + b.1, a.2 + b.2)
    })
}

/// The point estimates of one band set; intervals are filled in by the caller.
fn score_of(outcomes: &[Outcome], sums: &Sums) -> Score {
    let (hit_w, w, area_w) = total(sums, 0..sums.len());
    let hits = outcomes.iter().filter(|o| o.hit).count() as u64;
    let scored = outcomes.len() as u64;
    let per_print = |x: f64| if scored > 0 { x / scored as f64 } else { 0.0 };
    Score {
        capture: if w > 0.0 { hit_w / w } else { 0.0 },
        area: if w > 0.0 { area_w / w } else { 0.0 },
        lift: (area_w > 0.0).then(|| hit_w / area_w),
        capture_ci95: None,
        lift_ci95: None,
        hits,
        hit_rate: per_print(hits as f64),
        hit_rate_wilson95: wilson_interval(hits, scored),
        area_by_count: per_print(outcomes.iter().map(|o| o.area).sum()),
    }
}
