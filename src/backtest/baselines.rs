//! What the same walk gives without the signal, on the same bars: trades at seeded random times
//! with the same direction and distances, bands of the same geometry at random times, the levels
//! of a static leverage ladder, and unconditional forward returns. Pure and seeded; it never sees
//! an alert's outcome, only its geometry.

use super::outcome::{
    Direction, Level, LevelOutcome, Trade, TradeResult, forward_return, walk_level, walk_trade,
};
use super::path::Path;
use crate::analytics::heatmap::liquidation_price;
use crate::analytics::validation::SplitMix64;
use crate::model::{DAY_MS, Side, TimeMs};

/// A stretch of time alerts and baselines are drawn from: `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Span {
    pub from: TimeMs,
    pub to: TimeMs,
}

impl Span {
    pub(super) fn contains(&self, t: TimeMs) -> bool {
        self.from <= t && t < self.to
    }
}

/// How baseline draws are taken: from `span`, `k` per alert, each followed for `window`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Draws {
    pub(super) span: Span,
    pub(super) window: TimeMs,
    pub(super) k: usize,
}

/// The static ladder: (leverage, weight) tiers and the maintenance rate of their levels.
#[derive(Debug, Clone)]
pub(super) struct Ladder {
    pub(super) tiers: Vec<(f64, f64)>,
    pub(super) mmr: f64,
}

/// `k` bar-close times drawn uniformly from the bars of `path` that close inside `span`.
fn random_times(path: &Path, span: Span, k: usize, rng: &mut SplitMix64) -> Vec<TimeMs> {
    let bars = path.bars();
    let lo = bars.partition_point(|b| b.close_time < span.from);
    let hi = bars.partition_point(|b| b.close_time < span.to);
    if hi <= lo {
        return Vec::new();
    }
    (0..k)
        .map(|_| bars[lo + rng.below(hi - lo)].close_time)
        .collect()
}

/// `trade`'s geometry (direction, stop, T1 and T2 as fractions of the entry) entered at the
/// close of `k` random bars of `span`, each walked like the alert's trade.
pub(super) fn random_trades(
    path: &Path,
    trade: &Trade,
    d: Draws,
    rng: &mut SplitMix64,
) -> Vec<(TimeMs, TradeResult)> {
    let rel = |x: f64| x / trade.entry;
    random_times(path, d.span, d.k, rng)
        .into_iter()
        .filter_map(|t| {
            let entry = path.close_at(t)?;
            let moved = Trade {
                entry,
                stop: entry * rel(trade.stop),
                t1: entry * rel(trade.t1),
                t2: trade.t2.map(|t2| entry * rel(t2)),
                ..*trade
            };
            let after = &path.bars()[path.first_after(t)..];
            walk_trade(after, &moved, t + d.window).ok().map(|r| (t, r))
        })
        .collect()
}

/// A band of `level`'s geometry (edges as fractions of `price`, the price when it fired) at the
/// close of `k` random bars of `span`, with that moment's hourly ATR, each walked like the alert.
pub(super) fn random_levels(
    path: &Path,
    level: &Level,
    price: f64,
    d: Draws,
    rng: &mut SplitMix64,
) -> Vec<(TimeMs, LevelOutcome)> {
    random_times(path, d.span, d.k, rng)
        .into_iter()
        .filter_map(|t| {
            let now = path.close_at(t)?;
            let moved = Level {
                side: level.side,
                near: now * level.near / price,
                far: now * level.far / price,
                rejection: path.atr_1h_at(t)?,
            };
            let after = &path.bars()[path.first_after(t)..];
            walk_level(after, &moved, t + d.window)
                .ok()
                .map(|(o, _)| (t, o))
        })
        .collect()
}

/// Levels where a static leverage ladder says liquidations sit, with the alert's geometry:
/// `k` draws of a random UTC day of `span` and a tier picked by its weight; that day's midnight
/// close anchors the tier's isolated liquidation price on `level.side`, which is the near edge
/// (the far edge keeps the alert's width as a fraction). The first bar of that day that comes as
/// close to the near edge as price was when the alert fired (`price`: 0 for an edge alert, the
/// approach gap for an approach) triggers the draw, which is walked from the next bar for
/// `window`; a draw price never came that close to that day is dropped.
pub(super) fn ladder_levels(
    path: &Path,
    level: &Level,
    price: f64,
    ladder: &Ladder,
    d: Draws,
    rng: &mut SplitMix64,
) -> Vec<(TimeMs, LevelOutcome)> {
    let (span, tiers) = (d.span, &ladder.tiers);
    let bars = path.bars();
    let (Some(first), Some(last)) = (bars.first(), bars.last()) else {
        return Vec::new();
    };
    let from = span.from.max(first.open_time).div_euclid(DAY_MS);
    let to = (span.to.min(last.close_time) - 1).div_euclid(DAY_MS);
    let total: f64 = tiers.iter().map(|t| t.1).sum();
    if to < from || total <= 0.0 {
        return Vec::new();
    }
    let width = level.far / level.near;
    // How far from the near edge price was when the alert fired, as a fraction (never negative:
    // an edge alert's price may already be inside the band).
    let gap = match level.side {
        Side::Long => price / level.near - 1.0,
        Side::Short => 1.0 - price / level.near,
    }
    .max(0.0);
    let mut out = Vec::new();
    for _ in 0..d.k {
        let day = (from + rng.below((to - from + 1) as usize) as i64) * DAY_MS;
        let mut pick = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * total;
        let lev = tiers
            .iter()
            .find(|t| {
                pick -= t.1;
                pick < 0.0
            })
            .map_or(tiers[tiers.len() - 1].0, |t| t.0);
        let Some(anchor) = path.close_at(day) else {
            continue;
        };
        let near = liquidation_price(level.side, anchor, lev, ladder.mmr);
        let lo = bars.partition_point(|b| b.open_time < day);
        let hi = bars.partition_point(|b| b.open_time < day + DAY_MS);
        let touched = bars[lo..hi].iter().position(|b| match level.side {
            Side::Long => b.low <= near * (1.0 + gap),
            Side::Short => b.high >= near * (1.0 - gap),
        });
        let Some(i) = touched.map(|i| lo + i) else {
            continue;
        };
        let t = bars[i].close_time;
        let Some(atr) = path.atr_1h_at(t) else {
            continue;
        };
        let drawn = Level {
            side: level.side,
            near,
            far: near * width,
            rejection: atr,
        };
        if let Ok((o, _)) = walk_level(&bars[i + 1..], &drawn, t + d.window) {
            out.push((t, o));
        }
    }
    out
}

/// Forward returns in `direction` from every UTC midnight of `span`, for each horizon in days.
pub(super) fn unconditional_returns(
    path: &Path,
    span: Span,
    direction: Direction,
    days: &[i64],
) -> Vec<Vec<(TimeMs, f64)>> {
    days.iter()
        .map(|&d| {
            let mut out = Vec::new();
            let mut t = span.from.div_euclid(DAY_MS) * DAY_MS;
            while t < span.to {
                if span.contains(t)
                    && let Some(r) = forward_return(path, t, d, direction)
                {
                    out.push((t, r));
                }
                t += DAY_MS;
            }
            out
        })
        .collect()
}
