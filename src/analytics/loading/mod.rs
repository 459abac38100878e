//! The cascade-loading score of one pair: the hourly history its eight signals read (perp bars,
//! volumes by hour of the week, open interest, funding periods, swing failures, spot volumes)
//! and the score computed from it with what lives elsewhere (price, clusters, thresholds, the
//! calendar). Pure: events in, readings out; it never reads the clock, and a signal whose data
//! is missing, too short or stale reads `unknown`, never a guess.
//!
//! Units of each signal's value (`SignalReading::value`):
//! 1. `cluster_near`: percent from price to the nearest qualifying cluster's near edge (0 when
//!    price is inside it). A cluster nearer than `cluster_max` counts however near: price already
//!    at the pool is the cascade's fuel within reach, so there is no lower bound.
//! 2. `oi_building`: open-interest change over the window, percent (contracts, not value).
//! 3. `funding_one_sided`: the signed streak, in 8-hour funding periods whose last rate had one
//!    sign (+ longs pay, − shorts pay; 0 for a zero rate).
//! 4. `spot_diverges`: the spot/perp quote-volume ratio of the window over that of the 7 days
//!    before it (0.6 = spot carries 40 % less of the volume than it did).
//! 5. `thin_liquidity`: the last hour's quote volume over the median of the same hour of the
//!    week in the 4 weeks before. A proxy for thin books: traded volume, not resting depth.
//! 6. `other_venues`: always unknown (no multi-venue source).
//! 7. `repeated_sweeps`: hourly swing failures in the window.
//! 8. `volatility_window`: hours to the next `[[calendar]]` entry.

mod ring;
mod signals;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use super::clusters::{Cluster, Clusters};
use super::sweeps::RANGE_BARS;
use super::sweeps::RangeTracker;
use super::venues::VenueMap;
use crate::model::{Candle, Funding, HOUR_MS, LoadingScore, LoadingSignal, OpenInterest, TimeMs};
use ring::{Bars, OpenInterests, Volumes, hour_of};

/// The longest window a signal may look back (hours): what the bar and OI rings keep.
pub const MAX_LOOKBACK_HOURS: u32 = 24;
const LOOKBACK: usize = MAX_LOOKBACK_HOURS as usize;
const WEEK_HOURS: i64 = 168;
/// Four weeks and the hour being judged, for the hour-of-week median.
const VOLUME_HOURS: usize = 4 * WEEK_HOURS as usize + 1;
/// The prior week and the longest window, for the spot/perp ratio.
const SPOT_HOURS: usize = WEEK_HOURS as usize + LOOKBACK;
/// Data whose last hour closed longer ago than this reads `unknown`.
pub const FRESH_MS: TimeMs = 2 * HOUR_MS;
/// Funding observations are grouped into periods of this length (Binance's usual interval).
pub const FUNDING_PERIOD_MS: TimeMs = 8 * HOUR_MS;
/// A settlement print comes a few milliseconds after its period's end (`…00:00.001`): an
/// observation this soon after a boundary still belongs to the period before it.
const SETTLEMENT_LAG_MS: TimeMs = 1_000;
/// A funding reading whose period ended longer ago than this reads `unknown`.
pub const FUNDING_FRESH_MS: TimeMs = 24 * HOUR_MS;

/// The score's thresholds (`[cascade]` in the config). Fractions, not percent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoadingParams {
    /// Signal 1: a qualifying cluster's near edge at most this far from price (default 0.03).
    pub cluster_max: f64,
    /// Signal 2: the window in hours (default 24, at most [`MAX_LOOKBACK_HOURS`]).
    pub oi_hours: u32,
    /// Signal 2: open interest up at least this much over the window (default 0.05).
    pub oi_rise: f64,
    /// Signal 2: while the price range (highest high over lowest low, minus 1) stays within this
    /// (default 0.03).
    pub oi_flat_range: f64,
    /// Signal 3: funding periods of one sign in a row (default 6, two days at 8 h).
    pub funding_streak: u32,
    /// Signal 4: the window in hours (default 24, at most [`MAX_LOOKBACK_HOURS`]).
    pub spot_hours: u32,
    /// Signal 4: the perp moved at least this much over the window, either way (default 0.03).
    pub spot_move: f64,
    /// Signal 4: while the window's spot/perp volume ratio is at most this times the prior
    /// week's (default 0.7).
    pub spot_ratio: f64,
    /// Signal 5: the last hour's volume at most this times the hour-of-week median (default 0.5).
    pub thin_ratio: f64,
    /// Signal 7: the window in hours (default 24, at most [`MAX_LOOKBACK_HOURS`]).
    pub sweep_hours: u32,
    /// Signal 7: at least this many sweeps in the window (default 2).
    pub sweeps: u32,
    /// Signal 8: a calendar entry within this many hours ahead (default 24).
    pub calendar_hours: u32,
}

impl LoadingParams {
    pub const DEFAULT: LoadingParams = LoadingParams {
        cluster_max: 0.03,
        oi_hours: 24,
        oi_rise: 0.05,
        oi_flat_range: 0.03,
        funding_streak: 6,
        spot_hours: 24,
        spot_move: 0.03,
        spot_ratio: 0.7,
        thin_ratio: 0.5,
        sweep_hours: 24,
        sweeps: 2,
        calendar_hours: 24,
    };
}

impl Default for LoadingParams {
    fn default() -> Self {
        LoadingParams::DEFAULT
    }
}

/// A known volatility window (`[[calendar]]`): a release such as US CPI, at a UTC time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarEntry {
    pub time_ms: TimeMs,
    pub name: String,
}

/// The rules' test of a cluster worth an alert (`ClusterRuleParams::qualifies`), passed in since
/// analytics must not import the rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterTest {
    pub min_density: f64,
    pub min_share: f64,
    pub min_age_steps: u32,
}

impl ClusterTest {
    pub fn passes(&self, c: &Cluster) -> bool {
        c.density >= self.min_density
            && c.share >= self.min_share
            && c.age_steps >= self.min_age_steps
    }
}

/// Funding rates the rules call crowded (`FundingParams`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crowded {
    pub longs_above: f64,
    pub shorts_below: f64,
}

/// What the score reads that the pair's state does not hold.
#[derive(Debug, Clone, Copy)]
pub struct ScoreInputs<'a> {
    /// The current price.
    pub price: f64,
    /// The pair's last clusters; `None` when none were computed.
    pub clusters: Option<&'a Clusters>,
    pub cluster_test: ClusterTest,
    pub crowded: Crowded,
    pub calendar: &'a [CalendarEntry],
    /// The market on every followed venue; `None` with one venue (signal 6 is then unknown).
    pub venues: Option<&'a VenueMap>,
}

/// The funding periods seen: the newest one's last rate and the signed streak before it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct FundingStreak {
    /// Index of the newest period (`time / FUNDING_PERIOD_MS`, a settlement counting in the
    /// period it ends).
    period: i64,
    rate: f64,
    /// Signed count of the periods of one sign right before `period`.
    before: i32,
}

impl FundingStreak {
    /// The signed streak including the newest period.
    fn streak(&self) -> i32 {
        let sign = sign(self.rate);
        if sign != 0 && sign == self.before.signum() {
            self.before + sign
        } else {
            sign
        }
    }
}

fn sign(rate: f64) -> i32 {
    if rate > 0.0 {
        1
    } else if rate < 0.0 {
        -1
    } else {
        0
    }
}

/// A pair's history for the loading score, kept small for its snapshot: about 1.1 KB with every
/// ring full (four weeks of hours and a spot market), 0.3 KB after a 3-day warm-up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadingState {
    /// Closed 1h perp bars, for the price range, the move and the sweeps.
    bars: Bars<{ LOOKBACK + 1 }>,
    /// Hourly perp quote volume.
    volume: Volumes<VOLUME_HOURS>,
    /// Hourly spot quote volume.
    spot: Volumes<SPOT_HOURS>,
    /// Open interest in contracts at each hour's end (the hour's last sample).
    oi: OpenInterests<{ LOOKBACK + 1 }>,
    funding: Option<FundingStreak>,
    /// Hours (open time / 1 h) of the hourly sweeps within the longest window.
    sweeps: Vec<i64>,
    /// First hour of the current unbroken run of hours judged for sweeps (20 bars before each).
    sweeps_since: Option<i64>,
}

impl LoadingState {
    /// A closed 1h perp bar.
    pub fn on_hour(&mut self, candle: &Candle) {
        let hour = hour_of(candle.open_time);
        if self.bars.put(hour, candle) {
            self.judge_sweep(hour);
            self.volume.put(hour, quote_volume(candle));
        }
    }

    /// A closed 1h spot bar of the same base asset.
    pub fn on_spot_hour(&mut self, candle: &Candle) {
        self.spot
            .put(hour_of(candle.open_time), quote_volume(candle));
    }

    /// An open-interest sample; the last one in each hour stands for the hour's end.
    pub fn on_open_interest(&mut self, oi: OpenInterest) {
        // A sample at 11:00 closes the hour that opened at 10:00.
        self.oi.put(hour_of(oi.time - 1), oi.contracts);
    }

    /// A funding rate, settled (a print) or announced (the mark-price stream): the last rate
    /// seen in each period counts, a settlement a moment after the boundary in the period it
    /// ends.
    pub fn on_funding(&mut self, f: Funding) {
        if !f.rate.is_finite() {
            return;
        }
        let period = (f.time - SETTLEMENT_LAG_MS).div_euclid(FUNDING_PERIOD_MS);
        let next = match self.funding {
            Some(old) if period < old.period => return,
            Some(old) if period == old.period => FundingStreak {
                rate: f.rate,
                ..old
            },
            Some(old) if period == old.period + 1 => FundingStreak {
                period,
                rate: f.rate,
                before: old.streak(),
            },
            // The first period, or one after a gap: nothing known before it.
            _ => FundingStreak {
                period,
                rate: f.rate,
                before: 0,
            },
        };
        self.funding = Some(next);
    }

    /// Judges the newest bar against the 20 hours before it, when all of them are held. The
    /// bars are kept anyway, so the range is rebuilt from them rather than stored twice.
    fn judge_sweep(&mut self, hour: i64) {
        self.sweeps.retain(|&h| h > hour - LOOKBACK as i64);
        let first = hour - RANGE_BARS as i64;
        let (Some(prior), Some(bar)) = (self.bars.all(first..=hour - 1), self.bars.get(hour))
        else {
            self.sweeps_since = None;
            return;
        };
        let mut range = RangeTracker::default();
        for (h, b) in (first..).zip(prior) {
            range.push(&b.candle(h));
        }
        if range.push(&bar.candle(hour)).is_some() {
            self.sweeps.push(hour);
        }
        self.sweeps_since.get_or_insert(hour);
    }

    /// The score at `at`.
    pub fn score(
        &self,
        at: TimeMs,
        inputs: &ScoreInputs<'_>,
        params: &LoadingParams,
    ) -> LoadingScore {
        let signals = LoadingSignal::ALL
            .map(|signal| signals::read(self, signal, at, inputs, params))
            .to_vec();
        LoadingScore {
            time_ms: at,
            signals,
        }
    }
}

/// A bar's quote volume; volume × close where the source has none (an estimate).
fn quote_volume(c: &Candle) -> f64 {
    c.quote_volume.unwrap_or(c.volume * c.close)
}
