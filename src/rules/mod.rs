//! Rules turn analytic state into alerts (DESIGN.md §5): RSI signals, the heatmap's clusters as
//! price levels, setups and exits, with the noise control that keeps them quiet enough to trust.
//! Pure: state and events in, `Alert` values with deterministic ids out; no I/O, no clock, no
//! rendering for a particular channel.

mod bias;
mod clusters;
mod exit;
mod pair;
mod params;
mod plays;
mod reach;
mod routing;
mod setup;
mod signals;
#[cfg(test)]
mod tests;
mod touch;

pub use bias::{Bias, ClusterLabel, Conviction, Crowding, funding_facts};
pub use clusters::{ClusterContext, PriceObs, cluster_alerts, model_facts};
pub use exit::{ExitInput, FuelTouch, divergence_exit};
pub use pair::{PairRules, RuleContext, RuleTally};
pub use params::{
    AlertSwitches, ClusterRuleParams, ExitParams, FundingParams, PlaybookParams, RuleParams,
    SetupParams,
};
pub use plays::{
    CascadeArm, CascadeInput, CascadeLevel, CascadeSetup, LegStep, LegWatch, NoPlay, PlayInput,
    PlayState, cascade_loading, ignition, loading_score, sweep_reversal,
};
pub use reach::{Reach, ReachObs, Reached};
pub use routing::{KindFilter, Mute, Mutes, Route, Routes, SINKS, is_fresh};
pub use setup::{NoSetup, Plan, SetupInput, plan, setup_entry};
pub use signals::signal_alerts;
pub use touch::{Level, Touches};
