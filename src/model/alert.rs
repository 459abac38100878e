//! Alerts: their kind, deterministic id, severity and the typed facts, and their JSON (the JSONL
//! line and the store's record), which keeps the shape alerts have always had. Must never build
//! the facts of a kind (the rules do) nor render an alert for a channel (the sinks do).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use super::facts::Facts;
use super::{Interval, Symbol, TimeMs};

/// The kinds of alert liqwave raises (DESIGN.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    RegimeChange,
    MidlineCross,
    /// A confirmed RSI divergence on a signal timeframe (informational until the heatmap makes
    /// it a `divergence_exit`).
    Divergence,
    ClusterApproach,
    ClusterEdge,
    ClusterSwept,
    SetupEntry,
    DivergenceExit,
    DailySummary,
    /// An impulse bar into a cluster (the cascade playbook).
    Ignition,
    /// The continuation toward the next cluster after an ignition and its bounce.
    SecondLeg,
    /// A swing failure through the brightest nearby cluster: the "magnet" school's reversal.
    SweepReversal,
    /// The cascade-loading score crossed its level with a dense cluster near.
    CascadeLoading,
}

impl AlertKind {
    pub const ALL: [AlertKind; 13] = [
        AlertKind::RegimeChange,
        AlertKind::MidlineCross,
        AlertKind::Divergence,
        AlertKind::ClusterApproach,
        AlertKind::ClusterEdge,
        AlertKind::ClusterSwept,
        AlertKind::SetupEntry,
        AlertKind::DivergenceExit,
        AlertKind::DailySummary,
        AlertKind::Ignition,
        AlertKind::SecondLeg,
        AlertKind::SweepReversal,
        AlertKind::CascadeLoading,
    ];

    /// The playbook's newer kinds: routed to the file only by default, until their backtest
    /// numbers justify more.
    pub const PLAYBOOK: [AlertKind; 4] = [
        AlertKind::Ignition,
        AlertKind::SecondLeg,
        AlertKind::SweepReversal,
        AlertKind::CascadeLoading,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            AlertKind::RegimeChange => "regime_change",
            AlertKind::MidlineCross => "midline_cross",
            AlertKind::Divergence => "divergence",
            AlertKind::ClusterApproach => "cluster_approach",
            AlertKind::ClusterEdge => "cluster_edge",
            AlertKind::ClusterSwept => "cluster_swept",
            AlertKind::SetupEntry => "setup_entry",
            AlertKind::DivergenceExit => "divergence_exit",
            AlertKind::DailySummary => "daily_summary",
            AlertKind::Ignition => "ignition",
            AlertKind::SecondLeg => "second_leg",
            AlertKind::SweepReversal => "sweep_reversal",
            AlertKind::CascadeLoading => "cascade_loading",
        }
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AlertKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AlertKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown alert kind {s:?}"))
    }
}

/// Deterministic identity of an alert: kind, symbol, timeframe and the trigger (bar open time or
/// cluster id and touch window). The same market data always yields the same id, so a restart or
/// a second replay never sends an alert twice.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AlertId(String);

impl AlertId {
    pub fn new(
        kind: AlertKind,
        symbol: &Symbol,
        interval: Option<Interval>,
        trigger: impl fmt::Display,
    ) -> Self {
        let tf = interval.map_or("-", Interval::as_str);
        AlertId(format!("{kind}:{symbol}:{tf}:{trigger}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AlertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// One alert with the facts that triggered it. Sinks render it; the engine never formats text for a
/// particular channel beyond the neutral `title`. Its kind is the variant of its facts, so the two
/// cannot disagree; [`Alert::new`] derives the id from them too.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub id: AlertId,
    pub symbol: Symbol,
    pub interval: Option<Interval>,
    /// When the alert became true: the close of the triggering bar, or the tick time.
    pub time_ms: TimeMs,
    pub severity: Severity,
    pub title: String,
    /// What triggered it (prices, RSI values, regime, …), typed per kind.
    pub facts: Facts,
}

impl Alert {
    /// An alert whose id is `kind:symbol:timeframe:trigger`, the kind being that of `facts`.
    pub fn new(
        symbol: Symbol,
        interval: Option<Interval>,
        trigger: impl fmt::Display,
        time_ms: TimeMs,
        severity: Severity,
        title: String,
        facts: Facts,
    ) -> Alert {
        Alert {
            id: AlertId::new(facts.kind(), &symbol, interval, trigger),
            symbol,
            interval,
            time_ms,
            severity,
            title,
            facts,
        }
    }

    pub fn kind(&self) -> AlertKind {
        self.facts.kind()
    }

    /// The alert without its facts, for lists (the summary, `/status`).
    pub fn brief(&self) -> AlertBrief {
        AlertBrief {
            id: self.id.clone(),
            kind: self.kind(),
            symbol: self.symbol.clone(),
            interval: self.interval,
            time_ms: self.time_ms,
            title: self.title.clone(),
        }
    }
}

/// The JSON of an alert, written: the fields in the order they have always had, `kind` from the
/// facts.
#[derive(Serialize)]
struct AlertOut<'a> {
    id: &'a AlertId,
    kind: AlertKind,
    symbol: &'a Symbol,
    interval: Option<Interval>,
    time_ms: TimeMs,
    severity: Severity,
    title: &'a str,
    facts: &'a Facts,
}

impl Serialize for Alert {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        AlertOut {
            id: &self.id,
            kind: self.kind(),
            symbol: &self.symbol,
            interval: self.interval,
            time_ms: self.time_ms,
            severity: self.severity,
            title: &self.title,
            facts: &self.facts,
        }
        .serialize(serializer)
    }
}

/// The JSON of an alert, read: the facts stay JSON until the kind says what they must be.
#[derive(Deserialize)]
struct AlertIn {
    id: AlertId,
    kind: AlertKind,
    symbol: Symbol,
    interval: Option<Interval>,
    time_ms: TimeMs,
    severity: Severity,
    title: String,
    facts: serde_json::Value,
}

impl<'de> Deserialize<'de> for Alert {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = AlertIn::deserialize(deserializer)?;
        let facts = Facts::from_json(raw.kind, raw.facts).map_err(|e| {
            de::Error::custom(format_args!("alert {}: no {} facts: {e}", raw.id, raw.kind))
        })?;
        Ok(Alert {
            id: raw.id,
            symbol: raw.symbol,
            interval: raw.interval,
            time_ms: raw.time_ms,
            severity: raw.severity,
            title: raw.title,
            facts,
        })
    }
}

/// An alert as one line of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertBrief {
    pub id: AlertId,
    pub kind: AlertKind,
    pub symbol: Symbol,
    pub interval: Option<Interval>,
    pub time_ms: TimeMs,
    pub title: String,
}

#[cfg(test)]
pub(crate) mod tests;
