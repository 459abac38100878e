//! The result types of model validation: scores, counts and the report that `validate-model`
//! prints as a table or JSON. Plain data with serde; never computes anything.

use serde::{Deserialize, Serialize};

use super::{BandSource, BootstrapUnit};
use crate::model::TimeMs;

/// The baselines of heatmap-model.md §4.2; each gets the model's total band width per side
/// (time-shuffled: on average).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineKind {
    /// The model's bands spread evenly over the reached range.
    Uniform,
    /// The model's bands moved to where earlier prints fell most often, by distance from price.
    DistanceOnly,
    /// Bands at the leverage ladder's isolated liquidation prices around the frame's price. The
    /// width is split into one band per tier, so the tolerance widens it more than the model's:
    /// its area shows by how much, and lift corrects for it.
    StaticLadder,
    /// Another frame's bands, re-centred on this frame's price (same relative distances). They
    /// keep that frame's widths, so the area is matched only on average: compare its lift.
    TimeShuffled,
}

impl BaselineKind {
    pub const ALL: [BaselineKind; 4] = [
        BaselineKind::Uniform,
        BaselineKind::DistanceOnly,
        BaselineKind::StaticLadder,
        BaselineKind::TimeShuffled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            BaselineKind::Uniform => "uniform",
            BaselineKind::DistanceOnly => "distance-only",
            BaselineKind::StaticLadder => "static-ladder",
            BaselineKind::TimeShuffled => "time-shuffled",
        }
    }
}

/// How a set of bands did on the scored prints. All zero, with no lift and no intervals, when
/// nothing was scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Share of scored notional inside the (widened) bands.
    pub capture: f64,
    /// Notional-weighted share of reached bins covered by the bands: capture's no-information
    /// expectation.
    pub area: f64,
    /// capture / area; `None` when the bands covered no reached bin at all.
    pub lift: Option<f64>,
    /// Percentile-bootstrap 95 % interval of `capture`.
    pub capture_ci95: Option<(f64, f64)>,
    /// Percentile-bootstrap 95 % interval of `lift` (same resamples as `capture_ci95`).
    pub lift_ci95: Option<(f64, f64)>,
    /// Scored prints that were hits, by count.
    pub hits: u64,
    /// hits / scored prints, unweighted.
    pub hit_rate: f64,
    /// Wilson 95 % interval of `hit_rate`; its low end is the conservative hit rate.
    pub hit_rate_wilson95: (f64, f64),
    /// Unweighted mean covered share of reached bins: `hit_rate`'s no-information expectation.
    pub area_by_count: f64,
}

/// A baseline's score and the paired comparison with the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineScore {
    pub kind: BaselineKind,
    pub score: Score,
    /// 95 % bootstrap interval of (model lift − this lift) on the same resamples; entirely above
    /// 0 means the model beats this baseline beyond resampling noise.
    pub lift_gain_ci95: Option<(f64, f64)>,
}

/// Where every realized print went. `events` = `scored` + all the unscored counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub events: usize,
    pub scored: usize,
    /// Before the first (valid) frame: no prediction existed yet.
    pub before_first_frame: usize,
    /// More than `horizon_ms` after their frame (a gap in the frames).
    pub stale: usize,
    /// Their frame's window has no path bar, so nothing is known about what was reached.
    pub no_path: usize,
    /// Outside the reached region of their side (or the map window): cannot be scored.
    pub outside_reached: usize,
    /// Non-positive or non-finite price or notional.
    pub invalid: usize,
}

/// Everything `validate-model` prints, as a table or JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    pub counts: Counts,
    /// Valid frames used.
    pub frames: usize,
    /// Frames dropped for a non-positive or non-finite price or bin width.
    pub frames_dropped: usize,
    /// Frames with at least one scored print.
    pub frames_scored: usize,
    /// Notional of every valid print, scored or not.
    pub realized_notional: f64,
    pub scored_notional: f64,
    pub tolerance_bins: u32,
    pub horizon_ms: TimeMs,
    /// What the model column scored: the clusters, or the map's top bins by mass.
    pub bands: BandSource,
    pub bootstrap_samples: u32,
    pub bootstrap_unit: BootstrapUnit,
    /// Resampling units the bootstrap drew from (see `bootstrap_unit`).
    pub bootstrap_blocks: usize,
    pub model: Score,
    /// Every baseline that could be computed, in [`BaselineKind::ALL`] order.
    pub baselines: Vec<BaselineScore>,
    /// Fallbacks and skipped parts, in words.
    pub notes: Vec<String>,
}
