//! What happened after an alert, read from the bars that follow it and never from earlier ones:
//! a trade walked to its stop, target or horizon; a price level swept, rejected or neither; a
//! forward return. Pure arithmetic on [`Bar`]s; it knows no alert kind and no engine.

use serde::{Deserialize, Serialize};

use super::path::{Bar, Path};
use crate::model::{DAY_MS, Side, TimeMs};

/// The direction of a trade or of a move: the entry direction of the model's vocabulary.
pub use crate::model::EntryDirection as Direction;

/// +1 for long, −1 for short: a price change times this is the trade's gain.
pub(super) fn sign(d: Direction) -> f64 {
    match d {
        Direction::Long => 1.0,
        Direction::Short => -1.0,
    }
}

/// A trade to walk: entered at `entry` when the alert was raised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trade {
    pub direction: Direction,
    pub entry: f64,
    pub stop: f64,
    pub t1: f64,
    pub t2: Option<f64>,
    /// Round-trip fees as a fraction of the entry price (the setup rule's `fee_frac`).
    pub fee_frac: f64,
}

impl Trade {
    /// One R: the loss at the stop, fees included, so a stopped trade is exactly −1 R and a T1
    /// exit is the alert's reward:risk.
    fn unit(&self) -> f64 {
        (self.entry - self.stop).abs() + self.fee_frac * self.entry
    }

    /// The trade's result in R when it exits at `price`.
    fn r_at(&self, price: f64) -> f64 {
        (sign(self.direction) * (price - self.entry) - self.fee_frac * self.entry) / self.unit()
    }

    fn is_valid(&self) -> bool {
        let s = sign(self.direction);
        let finite = [self.entry, self.stop, self.t1, self.fee_frac]
            .iter()
            .all(|x| x.is_finite());
        finite
            && self.entry > 0.0
            && s * (self.entry - self.stop) > 0.0
            && s * (self.t1 - self.entry) > 0.0
            && self.t2.is_none_or(|t2| s * (t2 - self.t1) >= 0.0)
    }
}

/// How a trade ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TradeOutcome {
    /// The stop was touched first (or in the same bar as a target).
    Stop,
    /// T1 was touched first; T2 was not reached before the stop, or there is none.
    T1,
    /// T1 was touched first and T2 was then reached before the stop, within the horizon.
    T2,
    /// Neither within the horizon: valued at the close of its last bar.
    Timeout,
}

/// A walked trade. The position exits at T1 (or the stop, or the horizon); `t2` says whether
/// a runner would have reached T2.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TradeResult {
    pub outcome: TradeOutcome,
    /// When the exit (or, for `T2`, the T2 touch) happened: the close of that bar.
    pub outcome_time: TimeMs,
    pub exit_price: f64,
    /// Result after fees, in R (see [`Trade`]).
    pub r: f64,
    /// Largest favourable and adverse excursion before the exit, in R (adverse as a positive
    /// number), over the bars walked up to and including the exit bar.
    pub mfe_r: f64,
    pub mae_r: f64,
}

/// Why a trade or level could not be scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unscored {
    /// The levels are inconsistent (stop not behind the entry, target not ahead of it).
    Invalid,
    /// The data ends before the horizon did and nothing was touched: the outcome is unknown.
    DataEnds,
}

/// Walks `trade` over `bars` (the bars after the alert, in order) until its stop, its T1 or the
/// last bar closing by `end`. A bar that touches both stop and target counts as the stop; a bar
/// that opens beyond the stop fills at its open.
pub fn walk_trade(bars: &[Bar], trade: &Trade, end: TimeMs) -> Result<TradeResult, Unscored> {
    if !trade.is_valid() {
        return Err(Unscored::Invalid);
    }
    let s = sign(trade.direction);
    let unit = trade.unit();
    let (mut mfe, mut mae) = (0.0_f64, 0.0_f64);
    let within: Vec<&Bar> = bars.iter().take_while(|b| b.close_time <= end).collect();
    for (i, b) in within.iter().enumerate() {
        let (best, worst) = match trade.direction {
            Direction::Long => (b.high, b.low),
            Direction::Short => (b.low, b.high),
        };
        mfe = mfe.max(s * (best - trade.entry) / unit);
        mae = mae.max(s * (trade.entry - worst) / unit);
        let stopped = s * (worst - trade.stop) <= 0.0;
        if stopped {
            let fill = if s * (b.open - trade.stop) < 0.0 {
                b.open
            } else {
                trade.stop
            };
            return Ok(result(trade, TradeOutcome::Stop, b, fill, mfe, mae));
        }
        if s * (best - trade.t1) >= 0.0 {
            let runner = trade
                .t2
                .and_then(|t2| reach_before_stop(&within[i..], trade, t2));
            let (outcome, when) = match runner {
                Some(t2_bar) => (TradeOutcome::T2, t2_bar),
                None => (TradeOutcome::T1, **b),
            };
            let exit = result(trade, outcome, b, trade.t1, mfe, mae);
            return Ok(TradeResult {
                outcome_time: when.close_time,
                ..exit
            });
        }
    }
    // Untouched: a timeout only if the horizon really passed inside the data.
    match within.last() {
        Some(last) if bars.len() > within.len() || last.close_time >= end => Ok(result(
            trade,
            TradeOutcome::Timeout,
            last,
            last.close,
            mfe,
            mae,
        )),
        _ => Err(Unscored::DataEnds),
    }
}

fn result(
    trade: &Trade,
    outcome: TradeOutcome,
    bar: &Bar,
    exit: f64,
    mfe: f64,
    mae: f64,
) -> TradeResult {
    TradeResult {
        outcome,
        outcome_time: bar.close_time,
        exit_price: exit,
        r: trade.r_at(exit),
        mfe_r: mfe,
        mae_r: mae,
    }
}

/// The bar where `target` is reached before the stop, walking from the T1 bar (which already
/// did not touch the stop); `None` when the stop or the end comes first.
fn reach_before_stop(bars: &[&Bar], trade: &Trade, target: f64) -> Option<Bar> {
    let s = sign(trade.direction);
    for (i, b) in bars.iter().enumerate() {
        let (best, worst) = match trade.direction {
            Direction::Long => (b.high, b.low),
            Direction::Short => (b.low, b.high),
        };
        if i > 0 && s * (worst - trade.stop) <= 0.0 {
            return None;
        }
        if s * (best - target) >= 0.0 {
            return Some(**b);
        }
    }
    None
}

/// A liquidation band price came to: `side` is the side liquidated there (long clusters lie
/// below price, short clusters above), `near` the edge price meets first, `far` the other.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    pub side: Side,
    pub near: f64,
    pub far: f64,
    /// How far price must come back beyond the near edge to count as rejected (1 × ATR1h).
    pub rejection: f64,
}

/// What price did at a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LevelOutcome {
    /// The far edge was reached: the pool was run through.
    Swept,
    /// Price went back beyond the near edge by the rejection distance first.
    Rejected,
    /// Neither within the window.
    Neither,
}

/// Walks `level` over `bars` (after the alert) until the last bar closing by `end`. A bar that
/// reaches both the far edge and the rejection level counts as swept: the bar's order of events
/// is unknown, and every band set (the model's and the baselines') is judged the same way.
pub fn walk_level(
    bars: &[Bar],
    level: &Level,
    end: TimeMs,
) -> Result<(LevelOutcome, Option<TimeMs>), Unscored> {
    let valid = [level.near, level.far, level.rejection]
        .iter()
        .all(|x| x.is_finite())
        && level.near > 0.0
        && level.rejection > 0.0;
    if !valid {
        return Err(Unscored::Invalid);
    }
    let within: Vec<&Bar> = bars.iter().take_while(|b| b.close_time <= end).collect();
    for b in &within {
        let (swept, rejected) = match level.side {
            Side::Long => (b.low <= level.far, b.high >= level.near + level.rejection),
            Side::Short => (b.high >= level.far, b.low <= level.near - level.rejection),
        };
        if swept {
            return Ok((LevelOutcome::Swept, Some(b.close_time)));
        }
        if rejected {
            return Ok((LevelOutcome::Rejected, Some(b.close_time)));
        }
    }
    match within.last() {
        Some(last) if bars.len() > within.len() || last.close_time >= end => {
            Ok((LevelOutcome::Neither, None))
        }
        _ => Err(Unscored::DataEnds),
    }
}

/// The return in `direction`, in percent, from the last close at or before `time` to the last
/// close at or before `time + days`; `None` when the data does not reach that far.
pub(super) fn forward_return(
    path: &Path,
    time: TimeMs,
    days: i64,
    direction: Direction,
) -> Option<f64> {
    let end = time + days * DAY_MS;
    let last = path.bars().last()?;
    if last.close_time < end {
        return None;
    }
    let from = path.close_at(time)?;
    let to = path.close_at(end)?;
    Some(100.0 * sign(direction) * (to - from) / from)
}

#[cfg(test)]
mod tests;
