//! The one-line track record each scored kind quotes in its alerts, written from a period's
//! summaries (the last period of the run, out-of-sample when the run is split). Formatting
//! only; every number comes from `summary`.

use super::PeriodReport;
use super::stats::{Mean, Rate};
use crate::model::{AlertKind, ClusterLabel, format_utc};
use crate::view::{TrackLine, TrackRecord};

/// The forward-return horizon quoted, in days (one of `FORWARD_DAYS`).
const QUOTED_DAYS: i64 = 7;

/// Below this many trades a mean R says nothing, and the line says so.
const FEW: usize = 10;

/// The track record of `period` for alerts of a universe of `pairs` pairs; empty without one.
pub(super) fn track_record(period: Option<&PeriodReport>, pairs: usize) -> TrackRecord {
    let Some(p) = period else {
        return TrackRecord::default();
    };
    let day = |t| format_utc(t).chars().take(10).collect::<String>();
    let mut lines = Vec::new();
    let s = &p.setups;
    if s.n > 0 {
        lines.push(TrackLine {
            kind: AlertKind::SetupEntry,
            label: None,
            text: format!(
                "setups: {} over {} trades{}, target first {} vs {} for the bare 4h trigger",
                r_mean(&s.mean_r),
                s.n,
                if s.n < FEW { " (too few to judge)" } else { "" },
                pct_ci(&target_first(s)),
                r_point(s.trigger_only.mean_r.mean),
            ),
        });
    }
    for play in &p.plays {
        let what = match play.kind {
            AlertKind::SecondLeg => "second legs",
            _ => "sweep reversals",
        };
        lines.push(TrackLine {
            kind: play.kind,
            label: None,
            text: format!(
                "{what}: {} over {} trades{} vs {} for the same geometry at random times",
                r_mean(&play.mean_r),
                play.n,
                if play.n < FEW {
                    " (too few to judge)"
                } else {
                    ""
                },
                r_point(play.random_time.mean_r.mean),
            ),
        });
    }
    for l in &p.levels {
        let what = match (l.kind, l.label) {
            (AlertKind::ClusterEdge, ClusterLabel::Fuel) => "fuel edges",
            (AlertKind::ClusterEdge, ClusterLabel::Magnet) => "magnet edges",
            (AlertKind::ClusterApproach, ClusterLabel::Fuel) => "fuel approaches",
            (AlertKind::ClusterApproach, ClusterLabel::Magnet) => "magnet approaches",
            _ => continue,
        };
        lines.push(TrackLine {
            kind: l.kind,
            label: Some(l.label),
            text: format!(
                "{what}: swept within 24 h {} vs {:.0} % for plain levels of the same size (n = {})",
                pct_ci(&l.swept),
                100.0 * l.random_bands.swept.rate,
                l.n
            ),
        });
    }
    for sig in &p.signals {
        let Some(row) = sig.horizons.iter().find(|h| h.days == QUOTED_DAYS) else {
            continue;
        };
        let what = match sig.kind {
            AlertKind::RegimeChange => "regime changes: 7-day move in the new direction",
            AlertKind::MidlineCross => "50-line crosses: 7-day move in the cross's direction",
            AlertKind::Divergence => "divergences: 7-day move in their direction",
            AlertKind::DivergenceExit => "exits: 7-day move of the exited trade",
            AlertKind::Ignition => "ignitions: 7-day move in the impulse's direction",
            AlertKind::CascadeLoading => "cascades loading: 7-day move toward the pool",
            _ => continue,
        };
        lines.push(TrackLine {
            kind: sig.kind,
            label: None,
            text: format!(
                "{what} {} vs {} on any day (n = {})",
                pct_mean(&row.mean_pct),
                signed_pct(row.baseline_pct),
                sig.n
            ),
        });
    }
    TrackRecord {
        source: format!(
            "backtest, {pairs} pairs, {} → {}",
            day(p.from),
            day(p.to - 1)
        ),
        lines,
    }
}

/// T1 or T2 first, as one rate.
pub(crate) fn target_first(s: &super::SetupSummary) -> Rate {
    let hits = ["t1", "t2"]
        .iter()
        .filter_map(|k| s.outcomes.get(*k))
        .map(|r| r.hits)
        .sum();
    Rate::of(hits, s.n as u64)
}

pub(crate) fn pct_ci(r: &Rate) -> String {
    format!(
        "{:.0} % [{:.0}–{:.0}]",
        100.0 * r.rate,
        100.0 * r.ci95.0,
        100.0 * r.ci95.1
    )
}

fn r_point(x: f64) -> String {
    format!("{x:+.2} R")
}

pub(crate) fn r_mean(m: &Mean) -> String {
    match m.ci95 {
        Some((lo, hi)) => format!("mean {:+.2} R [{lo:+.2}, {hi:+.2}]", m.mean),
        None => format!("mean {:+.2} R", m.mean),
    }
}

fn signed_pct(x: f64) -> String {
    format!("{x:+.1} %")
}

fn pct_mean(m: &Mean) -> String {
    match m.ci95 {
        Some((lo, hi)) => format!("{:+.1} % [{lo:+.1}, {hi:+.1}]", m.mean),
        None => signed_pct(m.mean),
    }
}
