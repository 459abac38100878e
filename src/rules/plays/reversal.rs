//! `sweep_reversal`, the magnet school: on a 4h or 1d close, price pushed through the brightest
//! cluster it reached and the bar closed back inside the prior range (a swing failure). The
//! trade goes the other way from that close, stopped beyond the sweep's wick, aimed at the
//! opposite cluster. Pure: a closed bar in, at most one alert out; never reads the clock.

use super::{PlayInput, trade};
use crate::analytics::clusters::leverage_convergence;
use crate::analytics::sweeps::SweptEdge;
use crate::model::{Alert, EntryDirection, Facts, Severity, Side, SweepReversalFacts};
use crate::numbers::price;
use crate::rules::bias::funding_facts;
use crate::rules::clusters::model_facts;
use crate::rules::params::RuleParams;

/// The reversal this bar raises, if any.
pub fn sweep_reversal(input: &PlayInput<'_>, p: &RuleParams) -> Option<Alert> {
    let s = input.bar;
    if !p.playbook.reverses_on(s.interval) {
        return None;
    }
    let sweep = s.sweep?;
    let c = &s.candle;
    // Swept highs ran the short liquidations above; the failure points down, and vice versa.
    let (pool, direction, through) = match sweep.edge {
        SweptEdge::High => (Side::Short, EntryDirection::Short, c.high),
        SweptEdge::Low => (Side::Long, EntryDirection::Long, c.low),
    };
    let swept = input.reached?.side(pool)?;
    let pushed_through = match pool {
        Side::Short => through >= swept.peak_price,
        Side::Long => through <= swept.peak_price,
    };
    if !pushed_through {
        return None;
    }
    // Beyond the wick by a share of the ATR: a retest of the wick alone need not stop it.
    let buffer = p.playbook.reversal_stop_atr * s.atr_before.unwrap_or(0.0);
    let stop = match direction {
        EntryDirection::Short => sweep.wick + buffer,
        EntryDirection::Long => sweep.wick - buffer,
    };
    let (levels, target) = trade(direction, c.close, stop, input.clusters, p).ok()?;
    let clusters = input.clusters?;
    let convergence = leverage_convergence(swept, input.entries, input.mmr, input.bin_frac);
    let counter_trend = input.counter_trend(direction);
    let title = format!(
        "{} {} sweep reversal {}: swept {} through the {}-liquidation cluster, entry {}, stop {}, \
         T1 {}, R:R {:.1}{}{}",
        input.symbol,
        s.interval,
        direction.as_str(),
        price(sweep.level),
        pool.as_str(),
        price(levels.entry),
        price(levels.stop),
        price(levels.t1),
        levels.reward_risk,
        if convergence {
            " · leverage convergence"
        } else {
            ""
        },
        if counter_trend {
            " · counter-trend"
        } else {
            ""
        },
    );
    let facts = SweepReversalFacts {
        trade: levels,
        bar: input.play_bar(),
        range_level: sweep.level,
        wick: sweep.wick,
        swept: swept.facts(),
        convergence,
        target: target.facts(),
        counter_trend,
        bias: input.bias.facts(),
        converged: input.converged,
        funding: funding_facts(input.funding, input.bias.wave, &p.funding),
        model: model_facts(clusters),
    };
    Some(Alert::new(
        input.symbol.clone(),
        Some(s.interval),
        c.open_time,
        s.close_time(),
        Severity::Warning,
        title,
        Facts::SweepReversal(Box::new(facts)),
    ))
}
