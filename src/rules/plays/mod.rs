//! The playbook's other schools on a closed bar: `ignition` and its `second_leg`, and the magnet
//! school's `sweep_reversal` (DESIGN.md §5; issue 19). What they share lives here: the input a
//! closed bar gives them and the trade levels they propose. Pure: state after the bar in, alerts
//! out; never reads the clock.

mod cascade;
mod ignition;
mod reversal;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use cascade::{
    CascadeArm, CascadeInput, CascadeLevel, CascadeSetup, cascade_loading, loading_score,
};
pub use ignition::{LegStep, LegWatch, ignition};
pub use reversal::sweep_reversal;

use super::bias::Bias;
use super::params::RuleParams;
use super::reach::Reached;
use super::setup::targets;
use crate::analytics::clusters::{Cluster, Clusters};
use crate::analytics::regime::Regime;
use crate::analytics::timeframe::BarSignals;
use crate::model::{EntryDirection, Funding, PlayBar, Symbol, TradeLevels};

/// What a closed bar gives the playbook's rules.
#[derive(Debug, Clone, Copy)]
pub struct PlayInput<'a> {
    pub symbol: &'a Symbol,
    pub bar: &'a BarSignals,
    /// The clusters the bar reached, as they were before it.
    pub reached: Option<&'a Reached>,
    /// The clusters after the bar: where targets lie.
    pub clusters: Option<&'a Clusters>,
    pub bias: Bias,
    pub funding: Option<Funding>,
    pub converged: bool,
    /// Open interest at the bar's close (contracts), if known.
    pub oi_close: Option<f64>,
    /// Recent 4h closes, oldest first: the entries leverage convergence looks from.
    pub entries: &'a [f64],
    /// The pair's maintenance-margin rate and the map's bin width, as fractions.
    pub mmr: f64,
    pub bin_frac: f64,
}

impl PlayInput<'_> {
    fn play_bar(&self) -> PlayBar {
        let c = &self.bar.candle;
        PlayBar {
            bar_open_ms: c.open_time,
            open: c.open,
            high: c.high,
            low: c.low,
            close: c.close,
            bars: self.bar.bars,
        }
    }

    /// The trade opposes the wave (a range is no wave).
    fn counter_trend(&self, direction: EntryDirection) -> bool {
        matches!(
            (direction, self.bias.wave),
            (EntryDirection::Long, Regime::Bear) | (EntryDirection::Short, Regime::Bull)
        )
    }
}

/// Why a playbook trade was not proposed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NoPlay {
    /// No qualifying cluster ahead of the entry to aim at.
    NoTarget,
    /// Reward:risk to T1 below the minimum, or the stop on the wrong side.
    RewardRisk(f64),
}

/// A trade from `entry` to the first cluster of the map in `direction` (T1 its far edge, T2 the
/// next one's), stopped at `stop`, with reward:risk after round-trip fees; refused below the
/// setup's minimum. A target is a level, not an alert: every cluster the map found counts, not
/// only those dense enough to alert on (in-sample, 58 of 69 second-leg triggers had no
/// alert-grade cluster ahead).
fn trade<'c>(
    direction: EntryDirection,
    entry: f64,
    stop: f64,
    clusters: Option<&'c Clusters>,
    p: &RuleParams,
) -> Result<(TradeLevels, &'c Cluster), NoPlay> {
    let (target, next) = targets(clusters.ok_or(NoPlay::NoTarget)?, direction, entry, |_| {
        true
    });
    let target = target.ok_or(NoPlay::NoTarget)?;
    let fees = p.setup.fee_frac * entry;
    let wrong_side = match direction {
        EntryDirection::Long => stop >= entry,
        EntryDirection::Short => stop <= entry,
    };
    let reward = (target.far_edge - entry).abs() - fees;
    let risk = (entry - stop).abs() + fees;
    let reward_risk = if wrong_side { f64::NAN } else { reward / risk };
    if reward_risk.is_nan() || reward_risk < p.setup.min_reward_risk {
        return Err(NoPlay::RewardRisk(reward_risk));
    }
    let levels = TradeLevels {
        direction,
        entry,
        stop,
        t1: target.far_edge,
        t2: next.map(|n| n.far_edge),
        reward_risk,
        fee_frac: p.setup.fee_frac,
        risk_pct: 100.0 * (entry - stop).abs() / entry,
    };
    Ok((levels, target))
}

/// The rule state of the playbook that must survive a restart: a second leg being watched.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlayState {
    pub leg: Option<LegWatch>,
    #[serde(default)]
    pub cascade: CascadeArm,
}
