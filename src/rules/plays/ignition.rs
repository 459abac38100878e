//! `ignition` and `second_leg`: an impulse bar into a cluster (a range of several ATRs, a close
//! near its extreme, open interest falling when it is known), then — when it swept that cluster
//! and a bounce formed — the continuation toward the next one. Pure: a closed bar and the watch
//! in, alerts out; never reads the clock.

use serde::{Deserialize, Serialize};

use super::{NoPlay, PlayInput, trade};
use crate::analytics::clusters::Cluster;
use crate::model::{
    Alert, EntryDirection, Facts, IgnitionFacts, Interval, LegChecklist, Regime, SecondLegFacts,
    Severity, Side, TimeMs,
};
use crate::numbers::price;
use crate::rules::bias::{Crowding, funding_facts};
use crate::rules::clusters::model_facts;
use crate::rules::params::RuleParams;
use crate::rules::setup::targets;

/// A second leg being watched: an ignition swept its first cluster.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LegWatch {
    direction: EntryDirection,
    interval: Interval,
    ignition_ms: TimeMs,
    /// Where the impulse started; a bar beyond it ends the watch.
    origin: f64,
    /// The impulse's furthest point so far.
    extreme: f64,
    swept: Cluster,
    /// The bounce's extreme, once price retraced enough of the impulse.
    bounce: Option<f64>,
    /// The last bar's low and high: a continuation closes beyond the one in its direction.
    last_low: f64,
    last_high: f64,
    bars: u32,
}

/// What a bar did to a watched second leg.
#[derive(Debug, Clone, PartialEq)]
pub enum LegStep {
    Watching,
    /// The impulse failed (price went back beyond its start) or the time ran out.
    Ended,
    Fired(Box<Alert>),
}

/// The ignition on this bar, if any, and the second leg to watch when it swept its cluster.
pub fn ignition(input: &PlayInput<'_>, p: &RuleParams) -> Option<(Alert, Option<LegWatch>)> {
    let pp = &p.playbook;
    let s = input.bar;
    let c = &s.candle;
    if s.interval != pp.impulse_timeframe {
        return None;
    }
    let atr = s.atr_before.filter(|a| a.is_finite() && *a > 0.0)?;
    let range = c.high - c.low;
    let range_atr = range / atr;
    // NaN (a flat ATR) is no impulse either.
    if range_atr.is_nan() || range_atr < pp.ignition_atr_mult {
        return None;
    }
    let (direction, close_position, pool) = match c.close >= c.open {
        true => (EntryDirection::Long, (c.close - c.low) / range, Side::Short),
        false => (
            EntryDirection::Short,
            (c.high - c.close) / range,
            Side::Long,
        ),
    };
    if close_position < pp.ignition_close_position {
        return None;
    }
    let reached = input.reached?;
    let cluster = reached.side(pool)?;
    let oi_change_pct = match (reached.oi_open, input.oi_close) {
        (Some(open), Some(close)) if open > 0.0 => Some(100.0 * (close - open) / open),
        _ => None,
    };
    // Open interest that rose opened positions: that is not a cascade liquidating them.
    if oi_change_pct.is_some_and(|d| d >= 0.0) {
        return None;
    }
    let (swept, origin, extreme) = match direction {
        EntryDirection::Long => (c.high >= cluster.far_edge, c.low, c.high),
        EntryDirection::Short => (c.low <= cluster.far_edge, c.high, c.low),
    };
    let clusters = input.clusters?;
    let next = targets(clusters, direction, c.close, |_| true).0;
    let way = match direction {
        EntryDirection::Long => "up",
        EntryDirection::Short => "down",
    };
    let title = format!(
        "{} {} ignition {way} into {}-liquidation cluster {}–{} (range {range_atr:.1} ATR{})",
        input.symbol,
        s.interval,
        pool.as_str(),
        price(cluster.near_edge.min(cluster.far_edge)),
        price(cluster.near_edge.max(cluster.far_edge)),
        if swept { ", swept" } else { "" },
    );
    let facts = IgnitionFacts {
        direction,
        bar: input.play_bar(),
        range_atr,
        close_position,
        oi_change_pct,
        cluster: cluster.facts(),
        swept,
        next_cluster: next.map(Cluster::facts),
        bias: input.bias.facts(),
        converged: input.converged,
        model: model_facts(clusters),
    };
    let alert = Alert::new(
        input.symbol.clone(),
        Some(s.interval),
        c.open_time,
        s.close_time(),
        Severity::Warning,
        title,
        Facts::Ignition(Box::new(facts)),
    );
    let watch = swept.then_some(LegWatch {
        direction,
        interval: s.interval,
        ignition_ms: c.open_time,
        origin,
        extreme,
        swept: *cluster,
        bounce: None,
        last_low: c.low,
        last_high: c.high,
        bars: 0,
    });
    Some((alert, watch))
}

impl LegWatch {
    /// Judges the next closed bar of the watch's timeframe.
    pub fn step(&mut self, input: &PlayInput<'_>, p: &RuleParams) -> LegStep {
        let s = input.bar;
        let c = &s.candle;
        if s.interval != self.interval || c.open_time <= self.ignition_ms {
            return LegStep::Watching;
        }
        self.bars += 1;
        // Signed so one code path serves both directions: `ahead` grows in the impulse's way.
        let sign = match self.direction {
            EntryDirection::Long => 1.0,
            EntryDirection::Short => -1.0,
        };
        let (ahead, behind) = match self.direction {
            EntryDirection::Long => (c.high, c.low),
            EntryDirection::Short => (c.low, c.high),
        };
        if sign * (behind - self.origin) < 0.0 {
            return LegStep::Ended;
        }
        let mut fired = None;
        match self.bounce {
            None => {
                if sign * (ahead - self.extreme) > 0.0 {
                    self.extreme = ahead;
                }
                let retrace = (self.extreme - behind) / (self.extreme - self.origin);
                if retrace >= p.playbook.bounce_retrace {
                    self.bounce = Some(behind);
                }
            }
            Some(bounce) => {
                let bounce = match self.direction {
                    EntryDirection::Long => bounce.min(behind),
                    EntryDirection::Short => bounce.max(behind),
                };
                self.bounce = Some(bounce);
                let last = match self.direction {
                    EntryDirection::Long => self.last_high,
                    EntryDirection::Short => self.last_low,
                };
                if sign * (c.close - last) > 0.0 {
                    fired = self.second_leg(input, bounce, p).ok();
                }
            }
        }
        (self.last_low, self.last_high) = (c.low, c.high);
        match fired {
            Some(alert) => LegStep::Fired(Box::new(alert)),
            None if self.bars >= p.playbook.leg_max_bars => LegStep::Ended,
            None => LegStep::Watching,
        }
    }

    /// The continuation trade on this bar's close, stopped at the bounce.
    fn second_leg(
        &self,
        input: &PlayInput<'_>,
        bounce: f64,
        p: &RuleParams,
    ) -> Result<Alert, NoPlay> {
        let s = input.bar;
        let entry = s.candle.close;
        let (levels, target) = trade(self.direction, entry, bounce, input.clusters, p)?;
        let clusters = input.clusters.ok_or(NoPlay::NoTarget)?;
        let counter_trend = input.counter_trend(self.direction);
        let wave = match self.direction {
            EntryDirection::Long => Regime::Bull,
            EntryDirection::Short => Regime::Bear,
        };
        let funding_confirms =
            (input.funding).is_some_and(|f| Crowding::of(f.rate, &p.funding).confirms(wave));
        let title = format!(
            "{} {} second leg {}: entry {}, stop {} (the bounce), T1 {}, R:R {:.1}{}",
            input.symbol,
            s.interval,
            self.direction.as_str(),
            price(entry),
            price(bounce),
            price(levels.t1),
            levels.reward_risk,
            if counter_trend {
                " · counter-trend"
            } else {
                ""
            },
        );
        let facts = SecondLegFacts {
            trade: levels,
            bar: input.play_bar(),
            ignition_ms: self.ignition_ms,
            swept: self.swept.facts(),
            bounce,
            target: target.facts(),
            counter_trend,
            bias: input.bias.facts(),
            converged: input.converged,
            funding: funding_facts(input.funding, input.bias.wave, &p.funding),
            model: model_facts(clusters),
            checklist: LegChecklist {
                first_cluster_swept: true,
                bounce_held: true,
                continuation_close: true,
                next_cluster_ahead: true,
                with_the_wave: input.bias.wave == wave,
                funding_confirms,
                reward_risk_ok: true,
            },
        };
        Ok(Alert::new(
            input.symbol.clone(),
            Some(s.interval),
            s.candle.open_time,
            s.close_time(),
            Severity::Warning,
            title,
            Facts::SecondLeg(Box::new(facts)),
        ))
    }
}
