//! The typed facts an alert carries: one [`Facts`] variant per alert kind, one plain struct per
//! shape (signal bar, cluster level, setup, exit, daily summary). Owns their JSON shape, which is
//! the one the JSONL file and the store have always held; must never compute a fact (the rules
//! do) nor render one (the sinks do).
//!
//! Facts serialise through a `serde_json` map, so keys come out sorted whatever the field order
//! here, exactly as when facts were a map. They deserialise only together with their kind
//! ([`Facts::from_json`]): the JSON carries no tag, the alert's `kind` is the tag.

mod plays;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use super::vocab::{
    ClusterLabel, Conviction, Cross50, Crowding, DivergenceKind, EntryDirection, HeatmapMode,
    Regime, SetupLetter,
};
use super::{AlertKind, Interval, Side, TimeMs};

pub use plays::{
    CascadeFacts, IgnitionFacts, LegChecklist, PlayBar, SecondLegFacts, SweepReversalFacts,
    TradeLevels,
};

/// What triggered an alert, by kind. The kind of an alert is the variant of its facts.
#[derive(Debug, Clone, PartialEq)]
pub enum Facts {
    RegimeChange(RegimeChangeFacts),
    MidlineCross(MidlineCrossFacts),
    Divergence(DivergenceFacts),
    // The large shapes are boxed so a signal alert stays small.
    ClusterApproach(Box<LevelFacts>),
    ClusterEdge(Box<LevelFacts>),
    ClusterSwept(Box<LevelFacts>),
    SetupEntry(Box<SetupFacts>),
    DivergenceExit(Box<ExitFacts>),
    DailySummary(SummaryFacts),
    Ignition(Box<IgnitionFacts>),
    SecondLeg(Box<SecondLegFacts>),
    SweepReversal(Box<SweepReversalFacts>),
    CascadeLoading(Box<CascadeFacts>),
}

impl Facts {
    pub fn kind(&self) -> AlertKind {
        match self {
            Facts::RegimeChange(_) => AlertKind::RegimeChange,
            Facts::MidlineCross(_) => AlertKind::MidlineCross,
            Facts::Divergence(_) => AlertKind::Divergence,
            Facts::ClusterApproach(_) => AlertKind::ClusterApproach,
            Facts::ClusterEdge(_) => AlertKind::ClusterEdge,
            Facts::ClusterSwept(_) => AlertKind::ClusterSwept,
            Facts::SetupEntry(_) => AlertKind::SetupEntry,
            Facts::DivergenceExit(_) => AlertKind::DivergenceExit,
            Facts::DailySummary(_) => AlertKind::DailySummary,
            Facts::Ignition(_) => AlertKind::Ignition,
            Facts::SecondLeg(_) => AlertKind::SecondLeg,
            Facts::SweepReversal(_) => AlertKind::SweepReversal,
            Facts::CascadeLoading(_) => AlertKind::CascadeLoading,
        }
    }

    /// The fuel/magnet label of a cluster alert; routes filter on it.
    pub fn label(&self) -> Option<ClusterLabel> {
        match self {
            Facts::ClusterApproach(f) | Facts::ClusterEdge(f) | Facts::ClusterSwept(f) => {
                Some(f.label)
            }
            _ => None,
        }
    }

    /// Whether the RSI behind the alert had its full warm-up; `None` for the summary.
    pub fn converged(&self) -> Option<bool> {
        match self {
            Facts::RegimeChange(f) => Some(f.bar.converged),
            Facts::MidlineCross(f) => Some(f.bar.converged),
            Facts::Divergence(f) => Some(f.bar.converged),
            Facts::ClusterApproach(f) | Facts::ClusterEdge(f) | Facts::ClusterSwept(f) => {
                Some(f.converged)
            }
            Facts::SetupEntry(f) => Some(f.converged),
            Facts::DivergenceExit(f) => Some(f.converged),
            Facts::DailySummary(_) => None,
            Facts::Ignition(f) => Some(f.converged),
            Facts::SecondLeg(f) => Some(f.converged),
            Facts::SweepReversal(f) => Some(f.converged),
            Facts::CascadeLoading(f) => Some(f.converged),
        }
    }

    /// The trade a playbook alert proposes: a setup's, a second leg's or a reversal's.
    pub fn trade(&self) -> Option<TradeLevels> {
        match self {
            Facts::SetupEntry(f) => Some(TradeLevels {
                direction: f.direction,
                entry: f.entry,
                stop: f.stop,
                t1: f.t1,
                t2: f.t2,
                reward_risk: f.reward_risk,
                fee_frac: f.fee_frac,
                risk_pct: f.risk_pct,
            }),
            Facts::SecondLeg(f) => Some(f.trade),
            Facts::SweepReversal(f) => Some(f.trade),
            _ => None,
        }
    }

    /// The facts as the JSON object the JSONL file and the store hold (keys sorted).
    pub fn to_json(&self) -> Result<Value, serde_json::Error> {
        match self {
            Facts::RegimeChange(f) => serde_json::to_value(f),
            Facts::MidlineCross(f) => serde_json::to_value(f),
            Facts::Divergence(f) => serde_json::to_value(f),
            Facts::ClusterApproach(f) | Facts::ClusterEdge(f) | Facts::ClusterSwept(f) => {
                serde_json::to_value(f)
            }
            Facts::SetupEntry(f) => serde_json::to_value(f),
            Facts::DivergenceExit(f) => serde_json::to_value(f),
            Facts::DailySummary(f) => Ok(f.0.clone()),
            Facts::Ignition(f) => serde_json::to_value(f),
            Facts::SecondLeg(f) => serde_json::to_value(f),
            Facts::SweepReversal(f) => serde_json::to_value(f),
            Facts::CascadeLoading(f) => serde_json::to_value(f),
        }
    }

    /// The facts of an alert of `kind` from their JSON; an error when they are not that kind's.
    pub fn from_json(kind: AlertKind, json: Value) -> Result<Facts, serde_json::Error> {
        fn parse<T: DeserializeOwned>(json: Value) -> Result<T, serde_json::Error> {
            serde_json::from_value(json)
        }
        Ok(match kind {
            AlertKind::RegimeChange => Facts::RegimeChange(parse(json)?),
            AlertKind::MidlineCross => Facts::MidlineCross(parse(json)?),
            AlertKind::Divergence => Facts::Divergence(parse(json)?),
            AlertKind::ClusterApproach => Facts::ClusterApproach(parse(json)?),
            AlertKind::ClusterEdge => Facts::ClusterEdge(parse(json)?),
            AlertKind::ClusterSwept => Facts::ClusterSwept(parse(json)?),
            AlertKind::SetupEntry => Facts::SetupEntry(parse(json)?),
            AlertKind::DivergenceExit => Facts::DivergenceExit(parse(json)?),
            AlertKind::DailySummary => Facts::DailySummary(parse(json)?),
            AlertKind::Ignition => Facts::Ignition(parse(json)?),
            AlertKind::SecondLeg => Facts::SecondLeg(parse(json)?),
            AlertKind::SweepReversal => Facts::SweepReversal(parse(json)?),
            AlertKind::CascadeLoading => Facts::CascadeLoading(parse(json)?),
        })
    }
}

impl Serialize for Facts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // Already a map, nothing to sort.
            Facts::DailySummary(f) => f.0.serialize(serializer),
            other => other
                .to_json()
                .map_err(serde::ser::Error::custom)?
                .serialize(serializer),
        }
    }
}

/// The closed bar a signal alert fired on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BarFacts {
    pub rsi: f64,
    pub close: f64,
    pub bar_open_ms: TimeMs,
    /// Closed bars of the timeframe so far, this one included.
    pub bars: u64,
    /// At least `warmup_bars` bars: the RSI no longer depends on where the data began.
    pub converged: bool,
}

/// `regime_change`: the Cardwell regime of a timeframe changed on this bar.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RegimeChangeFacts {
    pub from: Regime,
    pub to: Regime,
    #[serde(flatten)]
    pub bar: BarFacts,
}

/// `midline_cross`: RSI crossed 50 against the regime the timeframe was in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MidlineCrossFacts {
    pub direction: Cross50,
    pub against: Regime,
    #[serde(flatten)]
    pub bar: BarFacts,
}

/// `divergence`: a confirmed divergence between the previous pivot and this one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DivergenceFacts {
    pub divergence: DivergenceKind,
    /// The timeframe's regime after the bar.
    pub regime: Regime,
    pub pivot_open_ms: TimeMs,
    pub pivot_rsi: f64,
    pub pivot_low: f64,
    pub pivot_high: f64,
    pub prev_pivot_open_ms: TimeMs,
    pub prev_pivot_rsi: f64,
    pub prev_pivot_low: f64,
    pub prev_pivot_high: f64,
    #[serde(flatten)]
    pub bar: BarFacts,
}

/// One liquidation cluster, with the field names of `liqwave heatmap --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterFacts {
    /// The cluster's stable id, `side@bin`.
    pub id: String,
    pub side: Side,
    pub near_edge: f64,
    pub far_edge: f64,
    pub peak: f64,
    pub notional_usd: f64,
    pub density: f64,
    pub share: f64,
    pub thin_approach: f64,
    pub isolation: f64,
    pub fuel_behind: f64,
    pub gap_pct: f64,
    pub gap_atr: f64,
    pub age_steps: u32,
    pub age_hours: f64,
}

/// The wave a pair is in when the alert fires.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BiasFacts {
    pub wave: Regime,
    /// The bias timeframe and its regime (`None` before warm-up).
    pub timeframe: Interval,
    pub regime: Option<Regime>,
    /// The next higher timeframe's regime, which qualifies the bias.
    pub higher_regime: Option<Regime>,
    pub conviction: Conviction,
}

/// The funding reading; without a funding print only `confirms: false` is known.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FundingFacts {
    pub rate: Option<f64>,
    /// Absent (not null) without a print, as it always was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_ms: Option<TimeMs>,
    pub crowded: Option<Crowding>,
    pub confirms: bool,
}

/// Which heatmap the levels come from. `estimate` is always true: every level is a model's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModelFacts {
    pub estimate: bool,
    pub mode: HeatmapMode,
    /// Share of open notional the map accounts for; `None` in volume-proxy mode.
    pub coverage: Option<f64>,
    pub step_ms: Option<TimeMs>,
}

/// `cluster_approach`, `cluster_edge`, `cluster_swept`: a price observation at a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelFacts {
    pub label: ClusterLabel,
    /// The observation's close, low and high.
    pub price: f64,
    pub low: f64,
    pub high: f64,
    pub approach_distance: f64,
    pub cluster: ClusterFacts,
    /// The next qualifying cluster beyond, on the same side.
    pub next_cluster: Option<ClusterFacts>,
    pub bias: BiasFacts,
    pub converged: bool,
    pub funding: FundingFacts,
    pub model: ModelFacts,
}

/// The pre-trade checklist of a setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checklist {
    pub regime_clear: bool,
    pub cluster_in_wave_direction: bool,
    pub thin_approach: bool,
    pub trigger_4h: bool,
    pub funding_confirms: bool,
    pub invalidation_level: bool,
    pub reward_risk_ok: bool,
}

/// `setup_entry`: a trade with its levels, the fuel it aims at and the checklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetupFacts {
    pub setup: SetupLetter,
    pub direction: EntryDirection,
    pub entry: f64,
    pub stop: f64,
    pub stop_swing_open_ms: TimeMs,
    /// The target cluster's far edge, and the next one's.
    pub t1: f64,
    pub t2: Option<f64>,
    /// After round-trip fees of `fee_frac` of the entry.
    pub reward_risk: f64,
    pub fee_frac: f64,
    pub risk_pct: f64,
    pub rsi: Option<f64>,
    pub bar_open_ms: TimeMs,
    pub bars: u64,
    pub converged: bool,
    pub bias: BiasFacts,
    pub cluster: ClusterFacts,
    pub next_cluster: Option<ClusterFacts>,
    pub model: ModelFacts,
    pub funding: FundingFacts,
    pub checklist: Checklist,
}

/// `divergence_exit`: a divergence against the wave after price reached its fuel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExitFacts {
    pub divergence: DivergenceKind,
    pub rsi: Option<f64>,
    pub close: f64,
    pub bar_open_ms: TimeMs,
    pub pivot_open_ms: TimeMs,
    pub pivot_rsi: f64,
    pub prev_pivot_open_ms: TimeMs,
    pub prev_pivot_rsi: f64,
    /// When price reached the fuel cluster.
    pub touched_ms: TimeMs,
    pub cluster: ClusterFacts,
    pub bias: BiasFacts,
    pub converged: bool,
    pub funding: FundingFacts,
}

/// `daily_summary`: the report as JSON. The report is a view (board, alerts, chart data) that
/// lives above `model`, so it is kept here as JSON; `view::SummaryReport::to_facts` and
/// `from_facts` are the typed encode and decode, and both return errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SummaryFacts(Value);

impl SummaryFacts {
    pub fn from_json(json: Value) -> SummaryFacts {
        SummaryFacts(json)
    }

    pub fn json(&self) -> &Value {
        &self.0
    }
}
