//! All analytic state of one pair: the aggregator from its source bars, the signal state of 4h,
//! 1d and 1w, the liquidation heatmap, and the latest funding. Pure: events in, bar signals out;
//! it never raises alerts itself and never reads the clock.

use serde::{Deserialize, Serialize};

use super::SignalParams;
use super::candles::{AggregationStats, Aggregator};
use super::clusters::ClusterParams;
use super::heat_history::{HeatHistory, HistoryColumn};
use super::heat_state::HeatState;
use super::heatmap::Kernel;
use super::loading::LoadingState;
use super::realized::RealizedTape;
use super::timeframe::{BarSignals, TimeframeState};
use super::trail::{Trail, TrailBar};
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
    /// The last 4h bars, for charts.
    #[serde(default)]
    trail: Trail,
    /// The map at each of those bars' closes, for the chart's past (absent in old snapshots).
    #[serde(default)]
    history: HeatHistory,
    /// Real liquidation prints per 4h bar and by price (absent in old snapshots).
    #[serde(default)]
    realized: RealizedTape,
    /// The hourly history of the cascade-loading score (absent in old snapshots).
    #[serde(default)]
    loading: LoadingState,
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
            trail: Trail::default(),
            history: HeatHistory::default(),
            realized: RealizedTape::default(),
            loading: LoadingState::default(),
        }
    }

    pub fn symbol(&self) -> &Symbol {
        &self.symbol
    }

    /// Consumes one market event of this pair.
    pub fn on_event(&mut self, event: &MarketEvent, ctx: &PairContext<'_>, out: &mut PairOutput) {
        match event {
            MarketEvent::Candle { interval, candle } => self.on_candle(*interval, candle, ctx, out),
            MarketEvent::Funding(f) => self.on_funding(*f),
            MarketEvent::OpenInterest(oi) => {
                self.heat.on_open_interest(*oi);
                self.loading.on_open_interest(*oi);
            }
            MarketEvent::Mark(m) => {
                self.heat.on_mark(m.time, m.price);
                // Live, the mark-price stream carries the current funding rate.
                if let Some(rate) = m.funding_rate {
                    self.on_funding(Funding { time: m.time, rate });
                }
            }
            MarketEvent::Liquidation(l) => {
                self.heat.on_liquidation(l);
                self.realized.on_print(l);
            }
            // What a gap means for alerts is the rules' business; the series itself shows it.
            MarketEvent::Gap { .. } => {}
            // The cascade-loading score compares hourly spot volume with the perpetual's.
            MarketEvent::SpotCandle { interval, candle } if *interval == Interval::H1 => {
                self.loading.on_spot_hour(candle);
            }
            // The engine rebuilds the pair's kernel from it; the state keeps nothing.
            MarketEvent::SpotCandle { .. } | MarketEvent::Margin(_) => {}
        }
    }

    fn on_funding(&mut self, f: Funding) {
        self.loading.on_funding(f);
        if self.funding.is_none_or(|old| old.time <= f.time) {
            self.funding = Some(f);
        }
    }

    /// One closed bar. Native 4h/1d/1w bars (REST warm-up) go straight to their timeframe; finer
    /// bars are aggregated (to 5m, 1h, 4h, 1d, 1w), and every 5-minute bar steps the heatmap.
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
            // The hourly ATR needs 1h bars; a 1m source also builds the 5m bars the heatmap
            // steps on.
            let mut targets = Interval::SIGNAL.to_vec();
            targets.push(Interval::H1);
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
        match interval {
            Interval::M5 => return self.heat_step(candle, ctx, out),
            Interval::H1 => {
                self.heat.on_hourly_bar(candle);
                return self.loading.on_hour(candle);
            }
            _ => {}
        }
        let tf = &mut self.timeframes[signal_slot(interval)];
        if tf.last_open().is_some_and(|last| candle.open_time <= last) {
            self.ignored_bars += 1;
            return;
        }
        if interval == Interval::D1 {
            self.heat.on_daily_bar(candle);
        }
        let signals = tf.on_close(candle, ctx.signals);
        if interval == Interval::H4 {
            self.trail.push(TrailBar {
                candle: *candle,
                rsi: signals.rsi.map(|v| v.rsi),
                regime: signals.regime,
            });
            let map = self.heat.map();
            if let Some(column) = HistoryColumn::sample(map, candle.open_time, candle.close) {
                self.history.push(column);
            }
        }
        out.signals.push(signals);
    }

    fn heat_step(&mut self, bar: &Candle, ctx: &PairContext<'_>, out: &mut PairOutput) {
        // A refused step (bad bar, time not after the last step) is counted inside; the pair
        // carries on with the next bar.
        if self.heat.on_bar(ctx.kernel, ctx.clusters, bar).is_ok() {
            out.heat_steps += 1;
        }
    }

    /// The last 4h bars with RSI and regime, for charts.
    pub fn trail(&self) -> &Trail {
        &self.trail
    }

    /// The map at the close of each of the trail's bars, for charts.
    pub fn history(&self) -> &HeatHistory {
        &self.history
    }

    /// The real liquidation prints: per 4h bar, by price, and what they say.
    pub fn realized(&self) -> &RealizedTape {
        &self.realized
    }

    /// When this state was last known: its last source bar's close or a later model step or
    /// mark tick (the time a chart of it shows).
    pub fn as_of(&self) -> Option<TimeMs> {
        self.last_source_close().max(self.heat.map().last_time())
    }

    /// The hourly history the cascade-loading score reads.
    pub fn loading(&self) -> &LoadingState {
        &self.loading
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

    /// Close time of the last accepted source bar: when the data of this state was last known.
    pub fn last_source_close(&self) -> Option<TimeMs> {
        let aggregator = self.aggregator.as_ref()?;
        Some(aggregator.last_open()? + aggregator.source().duration_ms())
    }
}

fn signal_slot(interval: Interval) -> usize {
    match interval {
        Interval::D1 => 1,
        Interval::W1 => 2,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::brackets::margin_for;
    use crate::analytics::heatmap::HeatmapParams;
    use crate::model::HOUR_MS;

    /// 2025-03-10 00:00 UTC, a Monday.
    const MONDAY: TimeMs = 1_741_564_800_000;

    fn bars(interval: Interval, hours: i64) -> Vec<Candle> {
        let step = interval.duration_ms();
        (0..hours * HOUR_MS / step)
            .map(|i| {
                let close = 100.0 + (i % 7) as f64;
                Candle {
                    open_time: MONDAY + i * step,
                    open: close - 0.5,
                    high: close + 1.0,
                    low: close - 1.0,
                    close,
                    volume: 10.0,
                    quote_volume: Some(10.0 * close),
                    taker_buy_quote: None,
                }
            })
            .collect()
    }

    /// What a BTCUSDT pair reads besides its events, owned so a test can lend it.
    struct Parts {
        symbol: Symbol,
        kernel: Kernel,
        signals: SignalParams,
        clusters: ClusterParams,
    }

    impl Parts {
        fn btc() -> Parts {
            let symbol: Symbol = "BTCUSDT".parse().unwrap();
            let kernel = Kernel::new(&HeatmapParams::default(), margin_for(&symbol));
            let (signals, clusters) = (SignalParams::DEFAULT, ClusterParams::default());
            Parts {
                symbol,
                kernel,
                signals,
                clusters,
            }
        }

        fn ctx(&self) -> PairContext<'_> {
            PairContext {
                signals: &self.signals,
                clusters: &self.clusters,
                kernel: &self.kernel,
            }
        }
    }

    /// Feeds bars and returns (heat steps, 4h bars closed, hourly ATR known, daily ATR known).
    fn run(interval: Interval, hours: i64) -> (u64, usize, bool, bool) {
        let parts = Parts::btc();
        let ctx = parts.ctx();
        let mut pair = PairState::new(parts.symbol.clone(), &ctx);
        let mut out = PairOutput::default();
        let mut four_hour = 0;
        for candle in bars(interval, hours) {
            out.clear();
            pair.on_event(&MarketEvent::Candle { interval, candle }, &ctx, &mut out);
            four_hour += out
                .signals
                .iter()
                .filter(|s| s.interval == Interval::H4)
                .count();
        }
        let heat = pair.heat();
        (
            heat.steps(),
            four_hour,
            heat.atr_1h().is_some(),
            heat.atr_1d().is_some(),
        )
    }

    #[test]
    fn source_bars_feed_heat_steps_signals_and_atrs() {
        // (source, hours, (heat steps, 4h bars, hourly ATR, daily ATR))
        let cases = [
            (Interval::M5, 13, (156, 3, false, false)),
            (Interval::M5, 14, (168, 3, true, false)),
            (Interval::M1, 14, (168, 3, true, false)),
            (Interval::M5, 14 * 24, (4032, 84, true, true)),
        ];
        for (interval, hours, want) in cases {
            assert_eq!(run(interval, hours), want, "{interval} for {hours} h");
        }
    }

    /// A snapshot written before the heat history existed still opens, with an empty history
    /// that the next 4h bars fill.
    #[test]
    fn a_snapshot_without_heat_history_opens() {
        let parts = Parts::btc();
        let ctx = parts.ctx();
        let mut pair = PairState::new(parts.symbol.clone(), &ctx);
        let mut out = PairOutput::default();
        for candle in bars(Interval::M5, 24) {
            let interval = Interval::M5;
            pair.on_event(&MarketEvent::Candle { interval, candle }, &ctx, &mut out);
        }
        assert_eq!(pair.history().columns().len(), 6, "one column per 4h bar");
        let mut json = serde_json::to_value(&pair).unwrap();
        json.as_object_mut()
            .unwrap()
            .remove("history")
            .expect("a history key");
        let old: PairState = serde_json::from_value(json).expect("an old snapshot opens");
        assert_eq!(old.history().columns().len(), 0);
        assert_eq!(old.trail(), pair.trail());
    }
}
