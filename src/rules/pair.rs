//! The rule state of one pair and the order rules run in around an event: price observations are
//! judged against the clusters known *before* the event, bar signals *after* it. Owns the gap
//! gate; pure like every rule: state and event in, alerts out, no clock.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::bias::Bias;
use super::clusters::{ClusterContext, PriceObs, cluster_alerts};
use super::exit::{ExitInput, FuelTouch, divergence_exit};
use super::params::AlertSwitches;
use super::params::RuleParams;
use super::plays::{
    CascadeInput, CascadeSetup, LegStep, PlayInput, PlayState, cascade_loading, ignition,
    loading_score, sweep_reversal,
};
use super::reach::{Reach, ReachObs};
use super::setup::{NoSetup, SetupInput, setup_entry};
use super::signals::signal_alerts;
use super::touch::Touches;
use crate::analytics::timeframe::BarSignals;
use crate::analytics::{PairState, SignalParams};
use crate::model::{Alert, AlertBrief, HOUR_MS, Interval, MarketEvent, TimeMs};

/// What the rules read from the config, borrowed for one event.
#[derive(Debug, Clone, Copy)]
pub struct RuleContext<'a> {
    pub signals: &'a SignalParams,
    pub switches: &'a AlertSwitches,
    pub rules: &'a RuleParams,
    /// The pair's maintenance-margin rate and the map's bin width, as fractions.
    pub mmr: f64,
    pub bin_frac: f64,
    /// The cascade-loading score's settings and the calendar.
    pub cascade: CascadeSetup<'a>,
}

/// Counters of what the rules held back, for the summary and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleTally {
    /// Events not judged because the pair's series had an unfilled gap.
    pub gap_withheld: u64,
    /// Entry triggers that did not become a setup, by reason: bias, no fuel, no stop, R:R.
    pub setup_bias: u64,
    pub setup_no_fuel: u64,
    pub setup_no_stop: u64,
    pub setup_reward_risk: u64,
}

impl RuleTally {
    /// Adds what another worker counted.
    pub fn absorb(&mut self, other: RuleTally) {
        self.gap_withheld += other.gap_withheld;
        self.setup_bias += other.setup_bias;
        self.setup_no_fuel += other.setup_no_fuel;
        self.setup_no_stop += other.setup_no_stop;
        self.setup_reward_risk += other.setup_reward_risk;
    }
}

/// Rule state that must survive a restart: arms and cooldowns, the last fuel touch, an open gap.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PairRules {
    touches: Touches,
    fuel_touch: Option<FuelTouch>,
    /// A source gap was reported and bars have not yet been back-filled up to this open time.
    gap_until: Option<TimeMs>,
    /// The pair's latest alerts, newest last, for the daily summary (bounded by count and age).
    #[serde(default)]
    recent: VecDeque<AlertBrief>,
    /// The clusters the forming 4h and 1d bars reached (absent in older snapshots).
    #[serde(default)]
    reach: Reach,
    /// The playbook's watches (absent in older snapshots).
    #[serde(default)]
    plays: PlayState,
}

/// 4h closes leverage convergence looks back over, at most.
const MAX_ENTRIES: usize = 60;

/// Alerts a pair remembers for the summary: enough for a busy day.
const RECENT_MAX: usize = 24;
/// And for no longer than two days.
const RECENT_MS: TimeMs = 2 * 24 * HOUR_MS;

impl PairRules {
    /// Remembers a raised (not muted) alert for the summary.
    pub fn remember(&mut self, alert: &Alert) {
        while self.recent.len() >= RECENT_MAX
            || self
                .recent
                .front()
                .is_some_and(|a| a.time_ms < alert.time_ms - RECENT_MS)
        {
            self.recent.pop_front();
        }
        self.recent.push_back(alert.brief());
    }

    /// The remembered alerts, oldest first.
    pub fn recent(&self) -> impl Iterator<Item = &AlertBrief> {
        self.recent.iter()
    }

    /// Whether alerts wait for a back-fill.
    pub fn gap_open(&self) -> bool {
        self.gap_until.is_some()
    }

    /// Before `pair` consumes `event`: a price observation (source bar or mark tick) against the
    /// clusters of the last heatmap step.
    pub fn before_event(
        &mut self,
        pair: &PairState,
        event: &MarketEvent,
        ctx: &RuleContext<'_>,
        tally: &mut RuleTally,
        out: &mut Vec<Alert>,
    ) {
        let obs = match event {
            MarketEvent::Candle { interval, candle } if !Interval::SIGNAL.contains(interval) => {
                PriceObs {
                    time: candle.open_time + interval.duration_ms(),
                    low: candle.low,
                    high: candle.high,
                    close: candle.close,
                }
            }
            MarketEvent::Mark(m) => PriceObs::tick(m.time, m.price),
            MarketEvent::Gap { to, .. } => {
                self.gap_until = Some(self.gap_until.map_or(*to, |t| t.max(*to)));
                return;
            }
            _ => return,
        };
        if self.gap_open() {
            tally.gap_withheld += 1;
            return;
        }
        let Some(clusters) = pair.heat().clusters() else {
            return;
        };
        let reach = ReachObs {
            time: obs.time,
            low: obs.low,
            high: obs.high,
            open_interest: pair.heat().map().last_open_interest(),
        };
        self.reach.observe(&reach, clusters);
        let bias = Bias::of(pair, ctx.rules.bias_timeframe, ctx.signals);
        if bias.regime.is_none() || (!bias.converged && !ctx.switches.allow_unconverged) {
            return;
        }
        let cctx = ClusterContext {
            symbol: pair.symbol(),
            bias,
            funding: pair.funding(),
            atr_1h: pair.heat().atr_1h(),
            params: ctx.rules,
        };
        if let Some(cluster) = cluster_alerts(&obs, clusters, &cctx, &mut self.touches, out) {
            self.fuel_touch = Some(FuelTouch {
                wave: bias.wave,
                time: obs.time,
                cluster,
            });
        }
    }

    /// After `pair` consumed `event`: the signal bars it closed, judged with the state after it
    /// (a daily regime flip on the same bar already counts against a setup).
    pub fn after_event(
        &mut self,
        pair: &PairState,
        event: &MarketEvent,
        signals: &[BarSignals],
        ctx: &RuleContext<'_>,
        tally: &mut RuleTally,
        out: &mut Vec<Alert>,
    ) {
        let withheld = self.gap_open();
        if let (MarketEvent::Candle { candle, .. }, Some(until)) = (event, self.gap_until)
            && candle.open_time >= until
        {
            // The back-fill reached the end of the gap; the next bar is judged again.
            self.gap_until = None;
        }
        if withheld {
            tally.gap_withheld += u64::from(!signals.is_empty());
            return;
        }
        if let MarketEvent::Candle { interval, candle } = event
            && !Interval::SIGNAL.contains(interval)
            && Interval::H1.is_bar_open(candle.open_time + interval.duration_ms())
        {
            self.cascade(pair, candle.open_time + interval.duration_ms(), ctx, out);
        }
        for s in signals {
            signal_alerts(pair.symbol(), s, ctx.switches, ctx.signals, out);
            if s.rsi.is_none() || s.bars < ctx.signals.min_warmup_bars as u64 {
                continue;
            }
            let bias = Bias::of(pair, ctx.rules.bias_timeframe, ctx.signals);
            let converged = bias.converged && s.bars >= ctx.signals.warmup_bars as u64;
            if !converged && !ctx.switches.allow_unconverged {
                continue;
            }
            if s.interval == ctx.rules.setup.timeframe && s.entry.is_some() {
                let input = SetupInput {
                    symbol: pair.symbol(),
                    trigger: s,
                    bias,
                    clusters: pair.heat().clusters(),
                    swings: pair.timeframe(s.interval).swings(),
                    funding: pair.funding(),
                    converged,
                };
                match setup_entry(&input, ctx.rules) {
                    Ok(alert) => out.push(alert),
                    Err(NoSetup::NoTrigger) => {}
                    Err(NoSetup::BiasDisagrees) => tally.setup_bias += 1,
                    Err(NoSetup::NoFuel) => tally.setup_no_fuel += 1,
                    Err(NoSetup::NoStop) => tally.setup_no_stop += 1,
                    Err(NoSetup::RewardRisk(_)) => tally.setup_reward_risk += 1,
                }
            }
            self.plays(pair, s, bias, converged, ctx, out);
            if s.interval == ctx.rules.exit.timeframe {
                let input = ExitInput {
                    symbol: pair.symbol(),
                    signals: s,
                    bias,
                    touch: self.fuel_touch,
                    funding: pair.funding(),
                    converged,
                };
                out.extend(divergence_exit(&input, ctx.rules));
            }
        }
    }

    /// The cascade-loading score on the hour, and its alert when it crosses the level.
    fn cascade(
        &mut self,
        pair: &PairState,
        at: TimeMs,
        ctx: &RuleContext<'_>,
        out: &mut Vec<Alert>,
    ) {
        let (Some(score), Some(clusters)) = (
            loading_score(pair, at, &ctx.cascade, ctx.rules),
            pair.heat().clusters(),
        ) else {
            return;
        };
        let bias = Bias::of(pair, ctx.rules.bias_timeframe, ctx.signals);
        if !bias.converged && !ctx.switches.allow_unconverged {
            return;
        }
        let input = CascadeInput {
            symbol: pair.symbol(),
            score: &score,
            clusters,
            price: clusters.price,
            bias,
            converged: bias.converged,
            when: ctx.cascade.when,
        };
        out.extend(cascade_loading(&input, &mut self.plays.cascade, ctx.rules));
    }

    /// The playbook's other schools on a closed signal bar: a watched second leg, an ignition,
    /// a sweep reversal.
    fn plays(
        &mut self,
        pair: &PairState,
        s: &BarSignals,
        bias: Bias,
        converged: bool,
        ctx: &RuleContext<'_>,
        out: &mut Vec<Alert>,
    ) {
        let n = (ctx.rules.playbook.convergence_entries as usize).min(MAX_ENTRIES);
        let trail = pair.trail().bars();
        let skip = trail.len().saturating_sub(n);
        let entries: Vec<f64> = trail.skip(skip).map(|b| b.candle.close).collect();
        let input = PlayInput {
            symbol: pair.symbol(),
            bar: s,
            reached: self.reach.of(s.interval, s.candle.open_time),
            clusters: pair.heat().clusters(),
            bias,
            funding: pair.funding(),
            converged,
            oi_close: pair.heat().map().last_open_interest(),
            entries: &entries,
            mmr: ctx.mmr,
            bin_frac: ctx.bin_frac,
        };
        if let Some(watch) = &mut self.plays.leg {
            match watch.step(&input, ctx.rules) {
                LegStep::Watching => {}
                LegStep::Ended => self.plays.leg = None,
                LegStep::Fired(alert) => {
                    out.push(*alert);
                    self.plays.leg = None;
                }
            }
        }
        if let Some((alert, watch)) = ignition(&input, ctx.rules) {
            out.push(alert);
            if watch.is_some() {
                self.plays.leg = watch;
            }
        }
        out.extend(sweep_reversal(&input, ctx.rules));
    }
}
