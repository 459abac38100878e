//! Rules turn analytic state into alerts (DESIGN.md §5). Pure: they read bar signals and the
//! switches of the config and build `Alert` values with deterministic ids; no I/O, no clock, no
//! rendering for a particular channel.

mod params;
mod routing;
mod signals;

pub use params::{ClusterRuleParams, ExitParams, FundingParams, RuleParams, SetupParams};
pub use routing::{ClusterLabel, KindFilter, Mute, Mutes, Route, Routes, SINKS};
pub use signals::signal_alerts;
