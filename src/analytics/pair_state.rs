//! All analytic state of one pair: the aggregator from its source bars, the signal state of 4h,
//! 1d and 1w, the liquidation heatmap, and the latest funding. Pure: events in, bar signals out;
//! it never raises alerts itself and never reads the clock.

use serde::{Deserialize, Serialize};

use super::SignalParams;
use super::candles::{AggregationStats, Aggregator};
use super::clusters::ClusterParams;
use super::heat_state::HeatState;
use super::heatmap::Kernel;
use super::timeframe::{BarSignals, TimeframeState};
use crate::model::{Candle, Funding, Interval, MarketEvent, Symbol, TimeMs};

/// What a pair needs from the configuration, borrowed from the engine for one event.
#[derive(Debug, Clone, Copy)]
pub struct PairContext<'a> {
    pub signals: &'a SignalParams,
    pub clusters: &'a ClusterParams,
    /// The heatmap kernel of this pair (tiers capped at its max leverage, its margin rate).
    pub kernel: &'a Kernel,
}

/// Reusable buffers for one event's results: the engine allocates them once.
#[derive(Debug, Default)]
pub struct PairOutput {
    /// Signals of every 4h/1d/1w bar the event closed.
    pub signals: Vec<BarSignals>,
    /// Heatmap steps taken.
    pub heat_steps: u32,
    aggregated: Vec<(Interval, Candle)>,
}

impl PairOutput {
    pub fn clear(&mut self) {
        self.signals.clear();
        self.heat_steps = 0;
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairState {
    symbol: Symbol,
    /// Built on the first source bar: its interval fixes what the pair aggregates from.
    aggregator: Option<Aggregator>,
    /// 4h, 1d and 1w, in the order of `Interval::SIGNAL`.
    timeframes: [TimeframeState; 3],
    heat: HeatState,
    funding: Option<Funding>,
    /// Bars ignored: a second source interval, or a signal bar already covered.
    ignored_bars: u64,
}

impl PairState {
    pub fn new(symbol: Symbol, ctx: &PairContext<'_>) -> PairState {
        PairState {
            symbol,
            aggregator: None,
            timeframes: Interval::SIGNAL.map(|i| TimeframeState::new(i, ctx.signals)),
            heat: HeatState::new(ctx.kernel),
            funding: None,
            ignored_bars: 0,
        }
    }

    pub fn symbol(&self) -> &Symbol {
        &self.symbol
    }

    /// Consumes one market event of this pair.
    pub fn on_event(&mut self, event: &MarketEvent, ctx: &PairContext<'_>, out: &mut PairOutput) {
        match event {
            MarketEvent::Candle { interval, candle } => self.on_candle(*interval, candle, ctx, out),
            MarketEvent::Funding(f) => {
                if self.funding.is_none_or(|old| old.time <= f.time) {
                    self.funding = Some(*f);
                }
            }
            MarketEvent::OpenInterest(oi) => self.heat.on_open_interest(*oi),
            MarketEvent::Mark(m) => self.heat.on_mark(m.time, m.price),
            MarketEvent::Liquidation(l) => self.heat.on_liquidation(l),
            // What a gap means for alerts is the rules' business; the series itself shows it.
            MarketEvent::Gap { .. } => {}
        }
    }

    /// One closed bar. Native 4h/1d/1w bars (REST warm-up) go straight to their timeframe; finer
    /// bars are aggregated, and every 5-minute bar steps the heatmap.
    fn on_candle(
        &mut self,
        interval: Interval,
        candle: &Candle,
        ctx: &PairContext<'_>,
        out: &mut PairOutput,
    ) {
        if Interval::SIGNAL.contains(&interval) {
            self.close_bar(interval, candle, ctx, out);
            return;
        }
        let aggregator = self.aggregator.get_or_insert_with(|| {
            // A 1m source also builds the 5m bars the heatmap steps on.
            let mut targets = Interval::SIGNAL.to_vec();
            if interval < Interval::M5 {
                targets.push(Interval::M5);
            }
            Aggregator::new(interval, &targets)
        });
        if aggregator.source() != interval {
            self.ignored_bars += 1;
            return;
        }
        let mut closed = std::mem::take(&mut out.aggregated);
        closed.clear();
        aggregator.push(candle, &mut closed);
        if interval == Interval::M5 {
            self.heat_step(candle, ctx, out);
        } else {
            // Finer bars stand in for mark ticks between steps: their extremes liquidate.
            let time = candle.open_time + interval.duration_ms();
            self.heat.on_mark(time, candle.low);
            self.heat.on_mark(time, candle.high);
        }
        for (closed_interval, bar) in &closed {
            self.close_bar(*closed_interval, bar, ctx, out);
        }
        out.aggregated = closed;
    }

    fn close_bar(
        &mut self,
        interval: Interval,
        candle: &Candle,
        ctx: &PairContext<'_>,
        out: &mut PairOutput,
    ) {
        if interval == Interval::M5 {
            self.heat_step(candle, ctx, out);
            return;
        }
        let tf = &mut self.timeframes[signal_slot(interval)];
        if tf.last_open().is_some_and(|last| candle.open_time <= last) {
            self.ignored_bars += 1;
            return;
        }
        if interval == Interval::D1 {
            self.heat.on_daily_bar(candle);
        }
        out.signals.push(tf.on_close(candle, ctx.signals));
    }

    fn heat_step(&mut self, bar: &Candle, ctx: &PairContext<'_>, out: &mut PairOutput) {
        // A refused step (bad bar, time not after the last step) is counted inside; the pair
        // carries on with the next bar.
        if self.heat.on_bar(ctx.kernel, ctx.clusters, bar).is_ok() {
            out.heat_steps += 1;
        }
    }

    pub fn funding(&self) -> Option<Funding> {
        self.funding
    }

    pub fn heat(&self) -> &HeatState {
        &self.heat
    }

    /// State of a signal timeframe (4h, 1d or 1w); other intervals map to 4h.
    pub fn timeframe(&self, interval: Interval) -> &TimeframeState {
        &self.timeframes[signal_slot(interval)]
    }

    pub fn timeframes(&self) -> &[TimeframeState; 3] {
        &self.timeframes
    }

    pub fn aggregation(&self) -> AggregationStats {
        self.aggregator
            .as_ref()
            .map(|a| *a.stats())
            .unwrap_or_default()
    }

    pub fn ignored_bars(&self) -> u64 {
        self.ignored_bars
    }

    /// Open time of the last accepted source bar.
    pub fn last_source_open(&self) -> Option<TimeMs> {
        self.aggregator.as_ref().and_then(Aggregator::last_open)
    }
}

fn signal_slot(interval: Interval) -> usize {
    match interval {
        Interval::D1 => 1,
        Interval::W1 => 2,
        _ => 0,
    }
}
