//! The bias of a pair (DESIGN.md §4.2): the 1d regime qualified by the 1w regime, and what it
//! makes of a cluster (fuel or magnet) and of the funding rate. Pure: reads regimes, never prices
//! or the clock.

use serde::{Deserialize, Serialize};

use super::params::FundingParams;
use crate::analytics::regime::Regime;
use crate::analytics::timeframe::TimeframeState;
use crate::analytics::{PairState, SignalParams};
use crate::model::{BiasFacts, Funding, FundingFacts, Interval, Side};
// The words live in `model` (alert facts carry them); what they mean for a pair is decided here.
pub use crate::model::{ClusterLabel, Conviction, Crowding};

/// Which wave a pair is in, for the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bias {
    /// The regime of the bias timeframe, or `Range` while its RSI is not warmed up.
    pub wave: Regime,
    /// The bias timeframe (1d by default) and its regime, `None` before warm-up.
    pub interval: Interval,
    pub regime: Option<Regime>,
    /// The next higher timeframe (1w for 1d) and its regime, which qualifies the bias.
    pub higher: Option<Regime>,
    pub conviction: Conviction,
    /// The bias timeframe has at least `warmup_bars` closed bars.
    pub converged: bool,
}

impl Bias {
    /// The bias from the pair's last closed bars of `interval` (1d by default) and of the next
    /// higher timeframe; a timeframe with fewer than `min_warmup_bars` bars counts as unknown.
    pub fn of(pair: &PairState, interval: Interval, p: &SignalParams) -> Bias {
        let regime = |tf: &TimeframeState| {
            (tf.bars() >= p.min_warmup_bars as u64 && tf.rsi().is_some()).then(|| tf.regime())
        };
        let own = pair.timeframe(interval);
        let higher = match interval {
            Interval::H4 => Some(Interval::D1),
            Interval::D1 => Some(Interval::W1),
            _ => None,
        };
        let higher = higher.and_then(|h| regime(pair.timeframe(h)));
        let mut bias = Bias::from_regimes(regime(own), higher);
        bias.interval = own.interval();
        bias.converged = own.bars() >= p.warmup_bars as u64;
        bias
    }

    /// A 1d bias from its regime and the 1w regime (`None`: not warmed up).
    pub fn from_regimes(regime: Option<Regime>, higher: Option<Regime>) -> Bias {
        let wave = regime.unwrap_or(Regime::Range);
        let conviction = match higher {
            _ if wave == Regime::Range => Conviction::Normal,
            Some(w) if w == wave => Conviction::Strong,
            Some(Regime::Bull | Regime::Bear) => Conviction::Reduced,
            _ => Conviction::Normal,
        };
        Bias {
            wave,
            interval: Interval::D1,
            regime,
            higher,
            conviction,
            converged: true,
        }
    }

    /// The side of the map that is fuel in this wave: short liquidations above price in a bull
    /// wave, long liquidations below in a bear wave; none in a range.
    pub fn fuel_side(&self) -> Option<Side> {
        match self.wave {
            Regime::Bull => Some(Side::Short),
            Regime::Bear => Some(Side::Long),
            Regime::Range => None,
        }
    }

    pub fn label(&self, side: Side) -> ClusterLabel {
        if self.fuel_side() == Some(side) {
            ClusterLabel::Fuel
        } else {
            ClusterLabel::Magnet
        }
    }

    /// A wave is clear when the daily regime has one and the weekly does not oppose it.
    pub fn is_clear(&self) -> bool {
        self.wave != Regime::Range && self.conviction != Conviction::Reduced
    }

    pub fn facts(&self) -> BiasFacts {
        BiasFacts {
            wave: self.wave,
            timeframe: self.interval,
            regime: self.regime,
            higher_regime: self.higher,
            conviction: self.conviction,
        }
    }
}

impl Crowding {
    pub fn of(rate: f64, p: &FundingParams) -> Crowding {
        if rate > p.crowded_longs_above {
            Crowding::Longs
        } else if rate < p.crowded_shorts_below {
            Crowding::Shorts
        } else {
            Crowding::Neutral
        }
    }

    /// Funding confirms a wave when the side its fuel would liquidate is the crowded one.
    pub fn confirms(self, wave: Regime) -> bool {
        matches!(
            (self, wave),
            (Crowding::Shorts, Regime::Bull) | (Crowding::Longs, Regime::Bear)
        )
    }
}

/// The funding facts every heatmap and setup alert carries; `confirms` is false without data.
pub fn funding_facts(funding: Option<Funding>, wave: Regime, p: &FundingParams) -> FundingFacts {
    let crowded = funding.map(|f| Crowding::of(f.rate, p));
    FundingFacts {
        rate: funding.map(|f| f.rate),
        time_ms: funding.map(|f| f.time),
        crowded,
        confirms: crowded.is_some_and(|c| c.confirms(wave)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::rules::RuleParams;

    #[test]
    fn bias_is_the_daily_wave_qualified_by_the_weekly() {
        use Regime::*;
        // (1d, 1w, wave, conviction, clear, fuel side)
        #[rustfmt::skip]
        let cases = [
            (Some(Bull), Some(Bull), Bull, Conviction::Strong, true, Some(Side::Short)),
            (Some(Bull), Some(Range), Bull, Conviction::Normal, true, Some(Side::Short)),
            (Some(Bull), None, Bull, Conviction::Normal, true, Some(Side::Short)),
            (Some(Bull), Some(Bear), Bull, Conviction::Reduced, false, Some(Side::Short)),
            (Some(Bear), Some(Bear), Bear, Conviction::Strong, true, Some(Side::Long)),
            (Some(Range), Some(Bear), Range, Conviction::Normal, false, None),
            (Some(Range), Some(Range), Range, Conviction::Normal, false, None),
            (None, Some(Bull), Range, Conviction::Normal, false, None),
        ];
        for (d1, w1, wave, conviction, clear, fuel) in cases {
            let b = Bias::from_regimes(d1, w1);
            let got = (b.wave, b.conviction, b.is_clear(), b.fuel_side());
            assert_eq!(got, (wave, conviction, clear, fuel), "1d {d1:?}, 1w {w1:?}");
        }
    }

    /// Without a print there is no `time_ms` key at all, as alerts have always been written.
    #[test]
    fn funding_facts_keep_their_json_shape() {
        let p = RuleParams::DEFAULT.funding;
        let print = Funding {
            time: 7,
            rate: -0.0002,
        };
        // (funding, JSON of the facts)
        let cases = [
            (
                None,
                json!({"rate": null, "crowded": null, "confirms": false}),
            ),
            (
                Some(print),
                json!({"rate": -0.0002, "time_ms": 7, "crowded": "shorts", "confirms": true}),
            ),
        ];
        for (funding, want) in cases {
            let facts = funding_facts(funding, Regime::Bull, &p);
            assert_eq!(serde_json::to_value(facts).unwrap(), want, "{funding:?}");
            assert_eq!(serde_json::from_value::<FundingFacts>(want).unwrap(), facts);
        }
    }

    #[test]
    fn funding_names_the_crowded_side_and_what_it_confirms() {
        let p = RuleParams::DEFAULT.funding;
        // (rate, crowding, confirms a bull wave, confirms a bear wave)
        #[rustfmt::skip]
        let cases = [
            (0.0003, Crowding::Longs, false, true),
            (0.0001, Crowding::Neutral, false, false),
            (0.00005, Crowding::Neutral, false, false),
            (0.0, Crowding::Neutral, false, false),
            (-0.0002, Crowding::Shorts, true, false),
        ];
        for (rate, crowding, bull, bear) in cases {
            let c = Crowding::of(rate, &p);
            let got = (c, c.confirms(Regime::Bull), c.confirms(Regime::Bear));
            assert_eq!(got, (crowding, bull, bear), "rate {rate}");
        }
    }
}
