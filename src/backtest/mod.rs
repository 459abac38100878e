//! `liqwave backtest`: replays recorded data through the same engine and rules as `replay`, then
//! scores every alert on the bars after it, beside baselines drawn from the same bars (DESIGN.md
//! §11). Owns the run and the report; reads no file and no clock (the CLI loads the data), and
//! implements no rule of its own: every alert comes from the engine.

mod baselines;
mod charts;
mod outcome;
mod path;
mod render;
mod run;
mod score;
mod stats;
mod summary;
mod track;
mod volume;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use charts::charts;
pub use outcome::{
    Direction, Level, LevelOutcome, Trade, TradeOutcome, TradeResult, Unscored, walk_level,
    walk_trade,
};
pub use path::{Bar, Path};
pub use render::render_markdown;
pub use run::run;
pub use score::{FORWARD_DAYS, Horizons, Scored};
pub use stats::{Diff, Mean, Rate};
pub use summary::{
    ForwardRow, LevelBaseline, LevelSummary, PlaySummary, SetupSummary, SignalSummary, SymbolRow,
    TradeBaseline,
};
pub use volume::{SinkVolume, Volume};

use crate::model::TimeMs;
use crate::view::TrackRecord;

/// A named stretch of alert times, `[from, to)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Period {
    pub name: String,
    pub from: TimeMs,
    pub to: TimeMs,
}

/// How a backtest scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// Alerts are scored and summarised per period; the replay itself always runs over all the
    /// data, so the state at a period's start is the same as in one long run.
    pub periods: Vec<Period>,
    pub horizons: Horizons,
    /// Seeds every random baseline and bootstrap.
    pub seed: u64,
    /// Random-time trades or bands drawn per scored alert.
    pub random_per_alert: usize,
    /// Pairs the alert volume is projected to.
    pub project_pairs: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            periods: Vec::new(),
            horizons: Horizons::default(),
            seed: 0x5EED,
            random_per_alert: 20,
            project_pairs: 500,
        }
    }
}

/// The whole result: every alert with its outcome, and the summaries per period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub options: Options,
    pub alerts: Vec<Scored>,
    pub summary: Summary,
    /// One line per scored kind, from the last period: what alerts quote as their track record.
    pub track_record: TrackRecord,
}

/// What the run measured, beside the alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Per pair: its first and last bar, and when its daily bias became known (enough daily
    /// bars for the bias timeframe's RSI); before that no cluster or setup alert can fire.
    pub pairs: Vec<PairSpan>,
    pub periods: Vec<PeriodReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairSpan {
    pub symbol: String,
    pub first_ms: TimeMs,
    pub last_ms: TimeMs,
    pub bias_known_ms: Option<TimeMs>,
}

/// One period's summaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodReport {
    pub name: String,
    pub from: TimeMs,
    pub to: TimeMs,
    /// Pair-days with data, and those with a known daily bias.
    pub pair_days: f64,
    pub bias_pair_days: f64,
    /// Alerts raised, by kind.
    pub counts: BTreeMap<String, usize>,
    pub setups: SetupSummary,
    /// Second legs and sweep reversals, kind by kind (`[]` in reports written before them).
    #[serde(default)]
    pub plays: Vec<PlaySummary>,
    pub levels: Vec<LevelSummary>,
    pub signals: Vec<SignalSummary>,
    pub volume: Volume,
    /// The same, pair by pair.
    pub per_symbol: Vec<SymbolRow>,
}
