//! The trading words alert facts are written in: regime, 50-cross, divergence kind, entry
//! direction, setup letter, bias conviction, funding crowding, cluster label and heatmap mode.
//! Plain data with their text names (the serde names); the rules that decide them live in
//! `analytics` and `rules`, which re-export these types. Must never compute a signal.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which wave an RSI series is in. [`Regime::next`] (the Cardwell rule) is in `analytics::regime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// RSI lives in 40–80 above 50: up-trend.
    Bull,
    /// RSI lives in 20–60 below 50: down-trend.
    Bear,
    /// Neither: a range, or no RSI yet.
    Range,
}

impl Regime {
    pub const fn as_str(self) -> &'static str {
        match self {
            Regime::Bull => "bull",
            Regime::Bear => "bear",
            Regime::Range => "range",
        }
    }
}

impl fmt::Display for Regime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The 50-line cross on a bar (TradingView `ta.crossover` / `ta.crossunder` of RSI and 50).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cross50 {
    Up,
    Down,
}

impl Cross50 {
    pub const fn as_str(self) -> &'static str {
        match self {
            Cross50::Up => "up",
            Cross50::Down => "down",
        }
    }

    /// `1`, `-1` or `0`, as in the oracle files.
    pub fn as_i8(cross: Option<Cross50>) -> i8 {
        match cross {
            Some(Cross50::Up) => 1,
            Some(Cross50::Down) => -1,
            None => 0,
        }
    }
}

/// The four divergence patterns, named by the direction they point to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DivergenceKind {
    /// Price lower low, RSI higher low: a down-move losing force.
    RegularBull,
    /// Price higher high, RSI lower high: an up-move losing force.
    RegularBear,
    /// Price higher low, RSI lower low: Cardwell's positive reversal, an in-trend buy.
    HiddenBull,
    /// Price lower high, RSI higher high: Cardwell's negative reversal, an in-trend sell.
    HiddenBear,
}

impl DivergenceKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            DivergenceKind::RegularBull => "regular_bull",
            DivergenceKind::RegularBear => "regular_bear",
            DivergenceKind::HiddenBull => "hidden_bull",
            DivergenceKind::HiddenBear => "hidden_bear",
        }
    }

    pub const fn is_regular(self) -> bool {
        matches!(
            self,
            DivergenceKind::RegularBull | DivergenceKind::RegularBear
        )
    }

    /// Whether it points up (its pivots are lows).
    pub const fn is_bullish(self) -> bool {
        matches!(
            self,
            DivergenceKind::RegularBull | DivergenceKind::HiddenBull
        )
    }
}

/// Direction of a fired entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryDirection {
    Long,
    Short,
}

impl EntryDirection {
    pub const fn as_str(self) -> &'static str {
        match self {
            EntryDirection::Long => "long",
            EntryDirection::Short => "short",
        }
    }
}

/// The trader's name of a setup: A is the short in a bear wave, B the long in a bull wave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SetupLetter {
    A,
    B,
}

impl SetupLetter {
    pub const fn of(direction: EntryDirection) -> SetupLetter {
        match direction {
            EntryDirection::Long => SetupLetter::B,
            EntryDirection::Short => SetupLetter::A,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            SetupLetter::A => "A",
            SetupLetter::B => "B",
        }
    }
}

/// How far the weekly regime backs the daily one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conviction {
    /// 1w is in the same wave.
    Strong,
    /// 1w is in a range, or not warmed up.
    Normal,
    /// 1w is in the opposite wave.
    Reduced,
}

impl Conviction {
    pub const fn as_str(self) -> &'static str {
        match self {
            Conviction::Strong => "strong",
            Conviction::Normal => "normal",
            Conviction::Reduced => "reduced",
        }
    }
}

/// Which side of the map the funding rate says is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Crowding {
    /// Longs pay above the baseline: long liquidations below price are loaded.
    Longs,
    /// Shorts pay: short liquidations above price are loaded.
    Shorts,
    Neutral,
}

/// How a cluster relates to the wave: `fuel` lies in the bias direction, `magnet` does not
/// (no bias, or against it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterLabel {
    Fuel,
    Magnet,
}

impl ClusterLabel {
    pub const fn as_str(self) -> &'static str {
        match self {
            ClusterLabel::Fuel => "fuel",
            ClusterLabel::Magnet => "magnet",
        }
    }
}

/// Where the heatmap's new notional came from (`analytics::heatmap::Mode` is this type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeatmapMode {
    /// Open interest drives the deposits; coverage is known.
    Oi,
    /// No open interest: deposits follow quote volume; no coverage.
    VolumeProxy,
}

impl HeatmapMode {
    pub const fn as_str(self) -> &'static str {
        match self {
            HeatmapMode::Oi => "oi",
            HeatmapMode::VolumeProxy => "volume_proxy",
        }
    }
}

impl std::fmt::Display for HeatmapMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `as_str` is what serde writes, so text and JSON never disagree.
    #[test]
    fn text_names_are_the_serde_names() {
        fn check<T: Serialize>(value: T, name: &str) {
            assert_eq!(serde_json::to_value(value).unwrap(), name, "{name}");
        }
        for r in [Regime::Bull, Regime::Bear, Regime::Range] {
            check(r, r.as_str());
        }
        for c in [Cross50::Up, Cross50::Down] {
            check(c, c.as_str());
        }
        for d in [
            DivergenceKind::RegularBull,
            DivergenceKind::RegularBear,
            DivergenceKind::HiddenBull,
            DivergenceKind::HiddenBear,
        ] {
            check(d, d.as_str());
        }
        for e in [EntryDirection::Long, EntryDirection::Short] {
            check(e, e.as_str());
            check(SetupLetter::of(e), SetupLetter::of(e).as_str());
        }
        for c in [Conviction::Strong, Conviction::Normal, Conviction::Reduced] {
            check(c, c.as_str());
        }
        for l in [ClusterLabel::Fuel, ClusterLabel::Magnet] {
            check(l, l.as_str());
        }
        for m in [HeatmapMode::Oi, HeatmapMode::VolumeProxy] {
            check(m, m.as_str());
        }
    }
}
