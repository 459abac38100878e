//! The words of the cascade-loading score: its eight signals, each read as `on`, `off` or
//! `unknown` with the number behind it. Plain data with their text names; `analytics::loading`
//! computes them. Must never compute a signal, and never turn an unknown into a guess.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::TimeMs;

/// The eight signals that a liquidation cascade is loading, in the playbook's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadingSignal {
    /// A qualifying cluster within 3 % of price (nearer counts too: price is already at it).
    ClusterNear,
    /// Open interest rising while price goes sideways.
    OiBuilding,
    /// Funding one-sided for a while, or beyond the crowded thresholds.
    FundingOneSided,
    /// Spot volume not confirming the perpetual's move.
    SpotDiverges,
    /// The last hour's volume thin against the same hour of the week.
    ThinLiquidity,
    /// The same cluster on other venues.
    OtherVenues,
    /// Local highs or lows swept with instant reversals, repeatedly.
    RepeatedSweeps,
    /// A known volatility window (a `[[calendar]]` entry) approaching.
    VolatilityWindow,
}

impl LoadingSignal {
    pub const ALL: [LoadingSignal; 8] = [
        LoadingSignal::ClusterNear,
        LoadingSignal::OiBuilding,
        LoadingSignal::FundingOneSided,
        LoadingSignal::SpotDiverges,
        LoadingSignal::ThinLiquidity,
        LoadingSignal::OtherVenues,
        LoadingSignal::RepeatedSweeps,
        LoadingSignal::VolatilityWindow,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            LoadingSignal::ClusterNear => "cluster_near",
            LoadingSignal::OiBuilding => "oi_building",
            LoadingSignal::FundingOneSided => "funding_one_sided",
            LoadingSignal::SpotDiverges => "spot_diverges",
            LoadingSignal::ThinLiquidity => "thin_liquidity",
            LoadingSignal::OtherVenues => "other_venues",
            LoadingSignal::RepeatedSweeps => "repeated_sweeps",
            LoadingSignal::VolatilityWindow => "volatility_window",
        }
    }

    /// A few words for people.
    pub const fn label(self) -> &'static str {
        match self {
            LoadingSignal::ClusterNear => "cluster within 3 %",
            LoadingSignal::OiBuilding => "OI rising on a flat price",
            LoadingSignal::FundingOneSided => "funding one-sided",
            LoadingSignal::SpotDiverges => "spot not confirming",
            LoadingSignal::ThinLiquidity => "thin liquidity (volume proxy)",
            LoadingSignal::OtherVenues => "same cluster on other venues",
            LoadingSignal::RepeatedSweeps => "repeated sweeps",
            LoadingSignal::VolatilityWindow => "volatility window ahead",
        }
    }
}

impl fmt::Display for LoadingSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one signal reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reading {
    On,
    Off,
    /// The data behind it is missing (no OI, no spot market, no other venue): never guessed.
    Unknown,
}

impl Reading {
    pub const fn as_str(self) -> &'static str {
        match self {
            Reading::On => "on",
            Reading::Off => "off",
            Reading::Unknown => "unknown",
        }
    }
}

/// One signal with its reading and the number behind it (`None` when unknown).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SignalReading {
    pub signal: LoadingSignal,
    pub reading: Reading,
    pub value: Option<f64>,
}

/// The score of one pair at one time: every signal, in [`LoadingSignal::ALL`]'s order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadingScore {
    pub time_ms: TimeMs,
    pub signals: Vec<SignalReading>,
}

impl LoadingScore {
    /// Signals that read `on`.
    pub fn on(&self) -> usize {
        self.count(|r| r == Reading::On)
    }

    /// Signals that read `on` or `off`.
    pub fn known(&self) -> usize {
        self.count(|r| r != Reading::Unknown)
    }

    /// `on / known`, 0 when nothing is known.
    pub fn fraction(&self) -> f64 {
        match self.known() {
            0 => 0.0,
            known => self.on() as f64 / known as f64,
        }
    }

    /// The reading of one signal.
    pub fn get(&self, signal: LoadingSignal) -> Option<&SignalReading> {
        self.signals.iter().find(|s| s.signal == signal)
    }

    /// `5/7` as people read it.
    pub fn ratio(&self) -> String {
        format!("{}/{}", self.on(), self.known())
    }

    fn count(&self, f: impl Fn(Reading) -> bool) -> usize {
        self.signals.iter().filter(|s| f(s.reading)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_score_counts_on_over_known() {
        use Reading::*;
        // (readings in signal order, on, known, fraction)
        let cases: [([Reading; 8], usize, usize, f64); 3] = [
            ([Unknown; 8], 0, 0, 0.0),
            ([On, Off, On, Unknown, Off, Unknown, On, Off], 3, 6, 0.5),
            ([On, On, On, On, On, On, On, On], 8, 8, 1.0),
        ];
        for (readings, on, known, fraction) in cases {
            let score = LoadingScore {
                time_ms: 0,
                signals: LoadingSignal::ALL
                    .iter()
                    .zip(readings)
                    .map(|(&signal, reading)| SignalReading {
                        signal,
                        reading,
                        value: None,
                    })
                    .collect(),
            };
            assert_eq!((score.on(), score.known()), (on, known), "{readings:?}");
            assert_eq!(score.fraction(), fraction, "{readings:?}");
        }
    }
}
