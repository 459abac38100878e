//! The facts of the playbook's other schools: `ignition`, `second_leg`, `sweep_reversal` and
//! `cascade_loading`. Plain data in the JSON shape the file and the store hold; the rules decide
//! every value, the sinks render them. Must never compute a fact.

use serde::{Deserialize, Serialize};

use super::{BiasFacts, ClusterFacts, FundingFacts, ModelFacts};
use crate::model::{EntryDirection, LoadingScore, Side, TimeMs};

/// The levels of a trade: what a backtest walks and a trader places.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TradeLevels {
    pub direction: EntryDirection,
    pub entry: f64,
    pub stop: f64,
    pub t1: f64,
    pub t2: Option<f64>,
    /// To T1, after round-trip fees of `fee_frac` of the entry.
    pub reward_risk: f64,
    pub fee_frac: f64,
    pub risk_pct: f64,
}

/// The closed bar a playbook alert fired on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlayBar {
    pub bar_open_ms: TimeMs,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    /// Closed bars of the timeframe so far, this one included.
    pub bars: u64,
}

/// `ignition`: an impulse bar into a cluster — a range of several ATRs, a close near its
/// extreme, and open interest falling as it liquidates when open interest is known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IgnitionFacts {
    /// The impulse's direction: `long` is up.
    pub direction: EntryDirection,
    #[serde(flatten)]
    pub bar: PlayBar,
    /// The bar's range over the timeframe's ATR before it.
    pub range_atr: f64,
    /// Where the close sits in the range, from the impulse's start (1 = at the extreme).
    pub close_position: f64,
    /// Open interest change over the bar, percent; `None` without open interest.
    pub oi_change_pct: Option<f64>,
    /// The cluster price drove into (as it was before the bar).
    pub cluster: ClusterFacts,
    /// Whether the bar went through its far edge.
    pub swept: bool,
    pub next_cluster: Option<ClusterFacts>,
    pub bias: BiasFacts,
    pub converged: bool,
    pub model: ModelFacts,
}

/// The second leg's pre-trade checklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegChecklist {
    pub first_cluster_swept: bool,
    pub bounce_held: bool,
    pub continuation_close: bool,
    pub next_cluster_ahead: bool,
    pub with_the_wave: bool,
    pub funding_confirms: bool,
    pub reward_risk_ok: bool,
}

/// `second_leg`: after an ignition swept the first cluster and a bounce formed, the continuation
/// toward the next cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecondLegFacts {
    #[serde(flatten)]
    pub trade: TradeLevels,
    #[serde(flatten)]
    pub bar: PlayBar,
    /// The ignition bar's open time.
    pub ignition_ms: TimeMs,
    /// The first cluster, swept by the ignition.
    pub swept: ClusterFacts,
    /// The bounce's extreme: the stop sits there.
    pub bounce: f64,
    /// The next cluster: T1 is its far edge.
    pub target: ClusterFacts,
    pub counter_trend: bool,
    pub bias: BiasFacts,
    pub converged: bool,
    pub funding: FundingFacts,
    pub model: ModelFacts,
    pub checklist: LegChecklist,
}

/// `sweep_reversal`: price pushed through the brightest nearby cluster and the bar closed back
/// inside the prior range (a swing failure); the trade goes the other way, to the opposite
/// cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepReversalFacts {
    #[serde(flatten)]
    pub trade: TradeLevels,
    #[serde(flatten)]
    pub bar: PlayBar,
    /// The prior range's extreme the bar swept, and its wick beyond (the stop sits
    /// `reversal_stop_atr` ATRs past the wick).
    pub range_level: f64,
    pub wick: f64,
    /// The swept cluster, as it was before the bar.
    pub swept: ClusterFacts,
    /// Liquidation levels of different leverages from different entries fall within one bin of
    /// the swept cluster: the stronger case.
    pub convergence: bool,
    /// The opposite cluster: T1 is its far edge.
    pub target: ClusterFacts,
    /// The trade opposes the wave.
    pub counter_trend: bool,
    pub bias: BiasFacts,
    pub converged: bool,
    pub funding: FundingFacts,
    pub model: ModelFacts,
}

/// `cascade_loading`: the loading score crossed the configured level with a dense cluster near.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CascadeFacts {
    pub score: LoadingScore,
    pub on: usize,
    pub known: usize,
    /// The level it crossed, as a share of the known signals.
    pub level: f64,
    pub price: f64,
    /// The pool a cascade would run through, and which way price would go.
    pub side: Side,
    pub cluster: ClusterFacts,
    pub bias: BiasFacts,
    pub converged: bool,
    pub model: ModelFacts,
}
