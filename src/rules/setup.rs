//! `setup_entry`: Setup B (long in a bull wave) and Setup A (short in a bear wave) — the 4h
//! pullback trigger fires while the daily bias holds and a qualifying fuel cluster lies ahead,
//! with entry, stop, targets, reward:risk and the pre-trade checklist (DESIGN.md §1, §5). Pure:
//! the state after the triggering bar in, one alert or the reason for none out.

use super::bias::{Bias, Crowding, funding_facts};
use super::clusters::model_facts;
use super::params::RuleParams;
use crate::analytics::clusters::{Cluster, Clusters};
use crate::analytics::entry::EntryDirection;
use crate::analytics::regime::Regime;
use crate::analytics::swings::SwingTracker;
use crate::analytics::timeframe::BarSignals;
use crate::model::{
    Alert, Checklist, Facts, Funding, SetupFacts, SetupLetter, Severity, Side, Symbol,
};
use crate::numbers::price;

/// What a setup is judged on: the state right after the trigger bar closed.
#[derive(Debug, Clone, Copy)]
pub struct SetupInput<'a> {
    pub symbol: &'a Symbol,
    /// The closed bar of the timing timeframe.
    pub trigger: &'a BarSignals,
    /// The bias after the same event: a daily flip on this bar already counts.
    pub bias: Bias,
    pub clusters: Option<&'a Clusters>,
    pub swings: &'a SwingTracker,
    pub funding: Option<Funding>,
    /// Both the timing and the daily series have their full warm-up.
    pub converged: bool,
}

/// Why a trigger did not become a setup.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NoSetup {
    /// The bar fired no entry trigger.
    NoTrigger,
    /// The daily wave is not the trigger's (or is gone).
    BiasDisagrees,
    /// No qualifying cluster on the fuel side.
    NoFuel,
    /// No confirmed swing beyond the entry to put the stop behind.
    NoStop,
    /// Reward:risk to T1 below the minimum.
    RewardRisk(f64),
}

/// Builds the setup alert, or says why there is none.
pub fn setup_entry(input: &SetupInput<'_>, p: &RuleParams) -> Result<Alert, NoSetup> {
    let s = input.trigger;
    let direction = s.entry.ok_or(NoSetup::NoTrigger)?;
    let wave = match direction {
        EntryDirection::Long => Regime::Bull,
        EntryDirection::Short => Regime::Bear,
    };
    if input.bias.wave != wave {
        return Err(NoSetup::BiasDisagrees);
    }
    let entry = s.candle.close;
    let clusters = input.clusters.ok_or(NoSetup::NoFuel)?;
    let plan = plan(direction, entry, clusters, input.swings, p)?;
    if plan.reward_risk.is_nan() || plan.reward_risk < p.setup.min_reward_risk {
        return Err(NoSetup::RewardRisk(plan.reward_risk));
    }
    Ok(alert(input, p, direction, clusters, &plan))
}

/// A trade from `entry` in `direction`: the first qualifying fuel cluster beyond the entry is
/// the target (T1 its far edge), the one after it T2, the stop the most recent confirmed swing
/// beyond the entry, and reward:risk after round-trip fees.
#[derive(Debug, Clone, Copy)]
pub struct Plan<'a> {
    pub target: &'a Cluster,
    pub next: Option<&'a Cluster>,
    pub stop: f64,
    pub stop_bar_ms: i64,
    pub reward_risk: f64,
}

/// The plan for a trade, or why there is none (no fuel ahead, no swing for the stop). The
/// reward:risk is not judged here.
pub fn plan<'a>(
    direction: EntryDirection,
    entry: f64,
    clusters: &'a Clusters,
    swings: &SwingTracker,
    p: &RuleParams,
) -> Result<Plan<'a>, NoSetup> {
    let (target, next) = targets(clusters, direction, entry, |c| p.clusters.qualifies(c));
    let target = target.ok_or(NoSetup::NoFuel)?;
    let stop = match direction {
        EntryDirection::Long => swings.low_below(entry),
        EntryDirection::Short => swings.high_above(entry),
    }
    .ok_or(NoSetup::NoStop)?;
    let fees = p.setup.fee_frac * entry;
    let reward = (target.far_edge - entry).abs() - fees;
    let risk = (entry - stop.price).abs() + fees;
    Ok(Plan {
        target,
        next,
        stop: stop.price,
        stop_bar_ms: stop.open_time,
        reward_risk: reward / risk,
    })
}

/// The first two clusters `keep` accepts whose far edge lies beyond `entry` in `direction`:
/// short liquidations above for a long, long liquidations below for a short.
pub(super) fn targets(
    clusters: &Clusters,
    direction: EntryDirection,
    entry: f64,
    keep: impl Fn(&Cluster) -> bool,
) -> (Option<&Cluster>, Option<&Cluster>) {
    let side = match direction {
        EntryDirection::Long => Side::Short,
        EntryDirection::Short => Side::Long,
    };
    let mut ahead = (clusters.side(side).clusters.iter())
        .filter(|c| keep(c) && beyond(direction, c.far_edge, entry));
    (ahead.next(), ahead.next())
}

/// Whether `level` lies in the trade's direction from `entry`.
fn beyond(direction: EntryDirection, level: f64, entry: f64) -> bool {
    match direction {
        EntryDirection::Long => level > entry,
        EntryDirection::Short => level < entry,
    }
}

fn alert(
    input: &SetupInput<'_>,
    p: &RuleParams,
    direction: EntryDirection,
    clusters: &Clusters,
    plan: &Plan<'_>,
) -> Alert {
    let s = input.trigger;
    let bias = input.bias;
    let entry = s.candle.close;
    let (target, next, stop, rr) = (plan.target, plan.next, plan.stop, plan.reward_risk);
    let crowding = input.funding.map(|f| Crowding::of(f.rate, &p.funding));
    let funding_confirms = crowding.is_some_and(|c| c.confirms(bias.wave));
    let setup = SetupLetter::of(direction);
    let title = format!(
        "{} Setup {} {}: entry {}, stop {}, T1 {}, R:R {rr:.1}",
        input.symbol,
        setup.as_str(),
        direction.as_str(),
        price(entry),
        price(stop),
        price(target.far_edge),
    );
    let facts = SetupFacts {
        setup,
        direction,
        entry,
        stop,
        stop_swing_open_ms: plan.stop_bar_ms,
        t1: target.far_edge,
        t2: next.map(|n| n.far_edge),
        reward_risk: rr,
        fee_frac: p.setup.fee_frac,
        risk_pct: 100.0 * (entry - stop).abs() / entry,
        rsi: s.rsi.map(|v| v.rsi),
        bar_open_ms: s.candle.open_time,
        bars: s.bars,
        converged: input.converged,
        bias: bias.facts(),
        cluster: target.facts(),
        next_cluster: next.map(Cluster::facts),
        model: model_facts(clusters),
        funding: funding_facts(input.funding, bias.wave, &p.funding),
        checklist: Checklist {
            regime_clear: bias.is_clear(),
            cluster_in_wave_direction: true,
            thin_approach: target.thin_approach >= p.setup.min_thin_approach,
            trigger_4h: true,
            funding_confirms,
            invalidation_level: true,
            reward_risk_ok: true,
        },
    };
    Alert::new(
        input.symbol.clone(),
        Some(s.interval),
        s.candle.open_time,
        s.close_time(),
        Severity::Critical,
        title,
        Facts::SetupEntry(Box::new(facts)),
    )
}
