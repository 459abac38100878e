//! Pooling: several symbols scored as one sample. Each part (a symbol's frames, path and prints)
//! is scored against its own frames, then the counts add up and one bootstrap runs over the
//! union. Owns the totals and the bootstrap units; never scores a print itself (`score` does).

use super::score::{self, Outcomes, score_frames, summarise};
use super::{
    BaselineKind, BootstrapUnit, Counts, Event, Frame, Grid, PathBar, Prepared, Realized, Sorted,
    ValidationParams, ValidationReport, prepare, sort_prints,
};
use crate::model::TimeMs;

/// One symbol's share of a validation: its frames, price path and prints.
#[derive(Debug, Clone, Copy)]
pub struct Part<'a> {
    pub frames: &'a [Frame],
    pub path: &'a [PathBar],
    pub realized: &'a [Realized],
}

/// Scores several symbols as one sample: each print against its own symbol's frames, every
/// count and sum added up, one bootstrap over the union (a step's prints move together across
/// symbols under [`BootstrapUnit::Step`], as they share a market). A baseline missing from a part
/// that has scored prints (time-shuffled needs two frames) is left out of the pooled report.
pub fn evaluate_pooled(parts: &[Part<'_>], p: &ValidationParams) -> ValidationReport {
    let mut notes = Vec::new();
    let mut pool = Pool::default();
    for part in parts {
        pool.add(score_part(part, p, &mut notes));
    }
    let kinds: Vec<BaselineKind> = BaselineKind::ALL
        .into_iter()
        .filter(|k| pool.missing.iter().all(|m| m != k))
        .collect();
    let sets = pool.sets(&kinds);
    let units = units(&pool.events, p.bootstrap_unit);
    let (model, baselines, blocks) = summarise(&pool.events, &units, &kinds, &sets, p);
    let t = &pool.totals;
    if t.frames_dropped > 0 {
        notes.push(format!(
            "{} frame(s) dropped: non-positive or non-finite price or bin width",
            t.frames_dropped
        ));
    }
    if t.counts.scored == 0 {
        notes.push("no print could be scored: every score is empty".to_owned());
    }
    notes.sort();
    notes.dedup();
    ValidationReport {
        counts: t.counts,
        frames: t.frames,
        frames_dropped: t.frames_dropped,
        frames_scored: t.frames_scored,
        realized_notional: t.realized_notional,
        scored_notional: t.scored_notional,
        tolerance_bins: p.tolerance_bins,
        horizon_ms: p.horizon_ms,
        bands: p.bands,
        bootstrap_samples: p.bootstrap_samples,
        bootstrap_unit: p.bootstrap_unit,
        bootstrap_blocks: blocks,
        model,
        baselines,
        notes,
    }
}

/// The sums a report states, per part and pooled.
#[derive(Debug, Default)]
struct Totals {
    counts: Counts,
    realized_notional: f64,
    scored_notional: f64,
    frames: usize,
    frames_dropped: usize,
    frames_scored: usize,
}

impl Totals {
    fn add(&mut self, other: &Totals) {
        let (c, d) = (&mut self.counts, other.counts);
        c.events += d.events;
        c.scored += d.scored;
        c.before_first_frame += d.before_first_frame;
        c.stale += d.stale;
        c.no_path += d.no_path;
        c.outside_reached += d.outside_reached;
        c.invalid += d.invalid;
        self.realized_notional += other.realized_notional;
        self.scored_notional += other.scored_notional;
        self.frames += other.frames;
        self.frames_dropped += other.frames_dropped;
        self.frames_scored += other.frames_scored;
    }
}

/// One part scored: its totals, its events and what every band set did with them.
#[derive(Debug)]
struct PartScore {
    totals: Totals,
    events: Vec<Event>,
    outcomes: Outcomes,
}

fn score_part(part: &Part<'_>, p: &ValidationParams, notes: &mut Vec<String>) -> PartScore {
    let mut valid: Vec<(&Frame, Grid)> = (part.frames.iter())
        .filter(|f| f.price.is_finite() && f.price > 0.0)
        .filter_map(|f| Grid::new(f.bin_bp).map(|g| (f, g)))
        .collect();
    valid.sort_by_key(|(f, _)| f.time);
    let mut bars: Vec<PathBar> = (part.path.iter())
        .filter(|b| b.low.is_finite() && b.high.is_finite() && b.low > 0.0 && b.high >= b.low)
        .copied()
        .collect();
    bars.sort_by_key(|b| b.time);
    let times: Vec<TimeMs> = valid.iter().map(|(f, _)| f.time).collect();
    let prepared: Vec<Prepared<'_>> = (0..valid.len())
        .map(|k| {
            let mut end = times[k].saturating_add(p.horizon_ms);
            if let Some(&next) = times.get(k + 1) {
                end = end.min(next);
            }
            prepare(valid[k].0, valid[k].1, end, &bars, p)
        })
        .collect();
    let Sorted {
        counts,
        realized_notional,
        scored_notional,
        mut events,
        history,
    } = sort_prints(part.realized, &times, &prepared, p);
    let outcomes = score_frames(&prepared, &events, &history, p, notes);
    let mut frame_ids: Vec<usize> = events.iter().map(|e| e.frame).collect();
    frame_ids.dedup();
    // From here on an event names its frame by time: indices mean nothing across parts.
    for e in &mut events {
        e.frame_time = prepared[e.frame].frame.time;
    }
    PartScore {
        totals: Totals {
            counts,
            realized_notional,
            scored_notional,
            frames: valid.len(),
            frames_dropped: part.frames.len() - valid.len(),
            frames_scored: frame_ids.len(),
        },
        events,
        outcomes,
    }
}

/// The parts added up.
#[derive(Debug, Default)]
struct Pool {
    totals: Totals,
    events: Vec<Event>,
    /// Per event: the model's outcome, then each baseline's by kind.
    outcomes: Vec<Outcomes>,
    /// Baselines some part with scored prints could not compute.
    missing: Vec<BaselineKind>,
}

impl Pool {
    fn add(&mut self, part: PartScore) {
        self.totals.add(&part.totals);
        if !part.events.is_empty() {
            let absent = BaselineKind::ALL
                .into_iter()
                .filter(|k| !part.outcomes.kinds().contains(k));
            self.missing.extend(absent);
        }
        self.events.extend(part.events);
        self.outcomes.push(part.outcomes);
    }

    /// The model's outcomes, then those of each of `kinds`, over every event in pool order.
    fn sets(&self, kinds: &[BaselineKind]) -> Vec<Vec<score::Outcome>> {
        let mut sets = vec![Vec::with_capacity(self.events.len()); kinds.len() + 1];
        for o in &self.outcomes {
            sets[0].extend_from_slice(o.model());
            for (set, &kind) in sets[1..].iter_mut().zip(kinds) {
                set.extend_from_slice(o.baseline(kind).unwrap_or_default());
            }
        }
        sets
    }
}

/// The bootstrap unit of each event, as dense ids in first-seen order.
fn units(events: &[Event], unit: BootstrapUnit) -> Vec<usize> {
    let mut ids = std::collections::HashMap::new();
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let key = match unit {
                BootstrapUnit::Print => i as i64,
                BootstrapUnit::Step => e.frame_time,
                BootstrapUnit::Block(ms) => e.time.div_euclid(ms.max(1)),
            };
            let next = ids.len();
            *ids.entry(key).or_insert(next)
        })
        .collect()
}
