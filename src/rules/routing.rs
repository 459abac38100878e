//! Mutes and routes: which alerts are silenced, and which sinks receive the rest (DESIGN.md §5).
//! Pure: the time to judge a mute by is the alert's own; never reads the clock or knows how a sink
//! delivers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::{Alert, AlertKind, ClusterLabel, Interval, Symbol, TimeMs};

/// A kind, optionally narrowed to one label: `cluster_edge` or `cluster_edge:fuel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KindFilter {
    pub kind: AlertKind,
    pub label: Option<ClusterLabel>,
}

impl KindFilter {
    pub const fn kind(kind: AlertKind) -> KindFilter {
        KindFilter { kind, label: None }
    }

    pub fn matches(&self, alert: &Alert) -> bool {
        alert.kind() == self.kind && self.label.is_none_or(|l| alert.facts.label() == Some(l))
    }
}

impl FromStr for KindFilter {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, label) = match s.split_once(':') {
            Some((kind, label)) => (kind, Some(label)),
            None => (s, None),
        };
        let kind: AlertKind = kind.parse()?;
        let label = match label {
            None => None,
            Some("fuel") => Some(ClusterLabel::Fuel),
            Some("magnet") => Some(ClusterLabel::Magnet),
            Some(other) => {
                return Err(format!("unknown label {other:?} (expected fuel or magnet)"));
            }
        };
        if label.is_some() && !LABELLED.contains(&kind) {
            return Err(format!("{kind} alerts carry no fuel/magnet label"));
        }
        Ok(KindFilter { kind, label })
    }
}

impl fmt::Display for KindFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.label {
            Some(label) => write!(f, "{}:{}", self.kind, label.as_str()),
            None => write!(f, "{}", self.kind),
        }
    }
}

/// Kinds whose alerts carry a fuel/magnet label.
const LABELLED: [AlertKind; 3] = [
    AlertKind::ClusterApproach,
    AlertKind::ClusterEdge,
    AlertKind::ClusterSwept,
];

/// Silences one symbol (all kinds, or one) until a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mute {
    pub symbol: Symbol,
    /// `None` mutes every kind.
    pub kind: Option<AlertKind>,
    /// Exclusive: an alert at or after this time passes.
    pub until: TimeMs,
}

impl Mute {
    pub fn covers(&self, alert: &Alert) -> bool {
        alert.symbol == self.symbol
            && self.kind.is_none_or(|k| k == alert.kind())
            && alert.time_ms < self.until
    }
}

/// The mutes in force: from the config, plus those added at run time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mutes(Vec<Mute>);

impl Mutes {
    pub fn new(mutes: Vec<Mute>) -> Mutes {
        Mutes(mutes)
    }

    /// Adds a mute; one for the same symbol and kind is replaced, so a second `/mute` extends or
    /// shortens the first instead of stacking.
    pub fn add(&mut self, mute: Mute) {
        self.0
            .retain(|m| !(m.symbol == mute.symbol && m.kind == mute.kind));
        self.0.push(mute);
    }

    /// Removes every mute of `symbol`; returns how many there were.
    pub fn remove(&mut self, symbol: &Symbol) -> usize {
        let before = self.0.len();
        self.0.retain(|m| &m.symbol != symbol);
        before - self.0.len()
    }

    /// Drops mutes that ended at or before `now`.
    pub fn expire(&mut self, now: TimeMs) {
        self.0.retain(|m| m.until > now);
    }

    pub fn is_muted(&self, alert: &Alert) -> bool {
        self.0.iter().any(|m| m.covers(alert))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Mute> {
        self.0.iter()
    }
}

/// The sinks alerts can be routed to.
pub const SINKS: [&str; 4] = ["console", "file", "telegram", "email"];

/// Sends the alerts it matches to one sink: kinds (with optional labels), and optionally only
/// some symbols.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub sink: String,
    pub kinds: Vec<KindFilter>,
    /// Empty: every symbol.
    pub symbols: Vec<Symbol>,
}

impl Route {
    pub fn matches(&self, alert: &Alert) -> bool {
        self.kinds.iter().any(|k| k.matches(alert))
            && (self.symbols.is_empty() || self.symbols.contains(&alert.symbol))
    }
}

/// Every route; an alert goes to each sink that has a matching route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routes(Vec<Route>);

impl Routes {
    pub fn new(routes: Vec<Route>) -> Routes {
        Routes(routes)
    }

    /// DESIGN.md §5: the file sees everything but approaches, the console the same but the
    /// playbook's newer kinds (file only until their backtest numbers justify more); Telegram
    /// the actionable kinds (fuel edges only, magnets stay off); email the regime changes,
    /// setups and the summary.
    pub fn defaults() -> Routes {
        use AlertKind::*;
        let route = |sink: &str, kinds: &[KindFilter]| Route {
            sink: sink.to_owned(),
            kinds: kinds.to_vec(),
            symbols: Vec::new(),
        };
        let all_but_approach: Vec<KindFilter> = AlertKind::ALL
            .into_iter()
            .filter(|k| *k != ClusterApproach)
            .map(KindFilter::kind)
            .collect();
        let fuel_edge = KindFilter {
            kind: ClusterEdge,
            label: Some(ClusterLabel::Fuel),
        };
        let proven: Vec<KindFilter> = (all_but_approach.iter().copied())
            .filter(|k| !AlertKind::PLAYBOOK.contains(&k.kind))
            .collect();
        Routes(vec![
            route("console", &proven),
            route("file", &all_but_approach),
            route(
                "telegram",
                &[
                    KindFilter::kind(RegimeChange),
                    KindFilter::kind(MidlineCross),
                    fuel_edge,
                    KindFilter::kind(ClusterSwept),
                    KindFilter::kind(SetupEntry),
                    KindFilter::kind(DivergenceExit),
                ],
            ),
            route(
                "email",
                &[
                    KindFilter::kind(RegimeChange),
                    KindFilter::kind(SetupEntry),
                    KindFilter::kind(DailySummary),
                ],
            ),
        ])
    }

    /// Whether `sink` receives `alert`.
    pub fn routes_to(&self, alert: &Alert, sink: &str) -> bool {
        self.0.iter().any(|r| r.sink == sink && r.matches(alert))
    }

    /// The sinks that receive `alert`, each once, in route order.
    pub fn sinks_for<'a>(&'a self, alert: &Alert) -> Vec<&'a str> {
        let mut sinks: Vec<&str> = Vec::new();
        for route in self.0.iter().filter(|r| r.matches(alert)) {
            if !sinks.contains(&route.sink.as_str()) {
                sinks.push(&route.sink);
            }
        }
        sinks
    }

    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.0.iter()
    }
}

/// Whether `alert` is still news at `now`: the bar it closed on is at most `bars` bars of its
/// timeframe old. An alert without a timeframe (a cluster's, raised on a tick) counts in 5m bars,
/// the source's step. A warm-up or a back-fill raises alerts about the past: they are not news.
pub fn is_fresh(alert: &Alert, now: TimeMs, bars: u32) -> bool {
    let bar = alert.interval.unwrap_or(Interval::M5).duration_ms();
    now - alert.time_ms <= bar * TimeMs::from(bars)
}
