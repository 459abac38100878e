//! The clusters price reached during the bar now forming on one timeframe, kept as they were
//! before the bar took them: a cluster price drives through is consumed by the model, so the
//! bar's close cannot see it any more. Pure: observations and the clusters known before them in;
//! never reads the clock.

use serde::{Deserialize, Serialize};

use crate::analytics::clusters::{Cluster, Clusters};
use crate::model::{Interval, Side, TimeMs};

/// What one forming bar reached, per side the largest cluster by notional: the brightest one the
/// map found there, dense enough to alert on or not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Reached {
    /// The forming bar's open time.
    pub open: TimeMs,
    pub long: Option<Cluster>,
    pub short: Option<Cluster>,
    /// Open interest when the bar's first observation came (contracts), if known.
    pub oi_open: Option<f64>,
}

impl Reached {
    pub fn side(&self, side: Side) -> Option<&Cluster> {
        match side {
            Side::Long => self.long.as_ref(),
            Side::Short => self.short.as_ref(),
        }
    }
}

/// The forming 4h and 1d bars' records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Reach {
    h4: Option<Reached>,
    d1: Option<Reached>,
}

/// One price observation, as the reach records read it.
#[derive(Debug, Clone, Copy)]
pub struct ReachObs {
    /// When the observation was true: a bar's close or a tick's time.
    pub time: TimeMs,
    pub low: f64,
    pub high: f64,
    pub open_interest: Option<f64>,
}

impl Reach {
    /// Records what `obs` reached of `clusters` (the last step's, before the observation) in
    /// the forming bar of each timeframe; a new bar starts a new record.
    pub fn observe(&mut self, obs: &ReachObs, clusters: &Clusters) {
        // The brightest cluster reached per side, found once for both timeframes.
        let brightest = |side: Side| {
            let reached = clusters.side(side).clusters.iter().filter(|c| match side {
                Side::Long => obs.low <= c.near_edge,
                Side::Short => obs.high >= c.near_edge,
            });
            reached.fold(None::<&Cluster>, |best, c| match best {
                Some(b) if c.notional_usd <= b.notional_usd => Some(b),
                _ => Some(c),
            })
        };
        let (long, short) = (brightest(Side::Long), brightest(Side::Short));
        for (slot, interval) in [(&mut self.h4, Interval::H4), (&mut self.d1, Interval::D1)] {
            // A bar's close belongs to the bar it closes.
            let open = interval.bar_open(obs.time - 1);
            let record = match slot {
                Some(r) if r.open == open => r,
                _ => slot.insert(Reached {
                    open,
                    oi_open: obs.open_interest,
                    ..Reached::default()
                }),
            };
            for (kept, found) in [(&mut record.long, long), (&mut record.short, short)] {
                if let Some(c) = found
                    && kept.is_none_or(|k| c.notional_usd > k.notional_usd)
                {
                    *kept = Some(*c);
                }
            }
        }
    }

    /// What the bar of `interval` opening at `open` reached, when it is the one recorded.
    pub fn of(&self, interval: Interval, open: TimeMs) -> Option<&Reached> {
        let slot = match interval {
            Interval::H4 => &self.h4,
            Interval::D1 => &self.d1,
            _ => &None,
        };
        slot.as_ref().filter(|r| r.open == open)
    }
}
