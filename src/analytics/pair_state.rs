//! All analytic state of one pair: the aggregator from its source bars to 4h/1d/1w, the signal
//! state of each of those timeframes, and the latest funding. Pure: events in, bar signals out;
//! never raises alerts itself.

use serde::{Deserialize, Serialize};

use super::SignalParams;
use super::candles::{AggregationStats, Aggregator};
use super::timeframe::{BarSignals, TimeframeState};
use crate::model::{Candle, Funding, Interval, Symbol, TimeMs};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairState {
    symbol: Symbol,
    /// Built on the first source bar: its interval fixes what the pair aggregates from.
    aggregator: Option<Aggregator>,
    /// 4h, 1d and 1w, in the order of `Interval::SIGNAL`.
    timeframes: [TimeframeState; 3],
    funding: Option<Funding>,
    /// Bars ignored: a second source interval, or a native signal bar already covered.
    ignored_bars: u64,
}

impl PairState {
    pub fn new(symbol: Symbol, params: &SignalParams) -> PairState {
        PairState {
            symbol,
            aggregator: None,
            timeframes: Interval::SIGNAL.map(|i| TimeframeState::new(i, params)),
            funding: None,
            ignored_bars: 0,
        }
    }

    pub fn symbol(&self) -> &Symbol {
        &self.symbol
    }

    /// Consumes one closed bar and appends the signals of every signal-timeframe bar it closes.
    /// Native 4h/1d/1w bars (REST warm-up) go straight to their timeframe; finer bars are
    /// aggregated.
    pub fn on_candle(
        &mut self,
        interval: Interval,
        candle: &Candle,
        params: &SignalParams,
        out: &mut Vec<BarSignals>,
        scratch: &mut Vec<(Interval, Candle)>,
    ) {
        if Interval::SIGNAL.contains(&interval) {
            self.close_bar(interval, candle, params, out);
            return;
        }
        let aggregator = self
            .aggregator
            .get_or_insert_with(|| Aggregator::new(interval, &Interval::SIGNAL));
        if aggregator.source() != interval {
            self.ignored_bars += 1;
            return;
        }
        scratch.clear();
        aggregator.push(candle, scratch);
        for (closed_interval, bar) in scratch.drain(..) {
            self.close_bar(closed_interval, &bar, params, out);
        }
    }

    fn close_bar(
        &mut self,
        interval: Interval,
        candle: &Candle,
        params: &SignalParams,
        out: &mut Vec<BarSignals>,
    ) {
        let tf = self.timeframe_mut(interval);
        if tf.last_open().is_some_and(|last| candle.open_time <= last) {
            self.ignored_bars += 1;
            return;
        }
        out.push(tf.on_close(candle, params));
    }

    pub fn on_funding(&mut self, funding: Funding) {
        if self.funding.is_none_or(|f| f.time <= funding.time) {
            self.funding = Some(funding);
        }
    }

    pub fn funding(&self) -> Option<Funding> {
        self.funding
    }

    /// State of a signal timeframe (4h, 1d or 1w); other intervals map to 4h.
    pub fn timeframe(&self, interval: Interval) -> &TimeframeState {
        &self.timeframes[signal_slot(interval)]
    }

    fn timeframe_mut(&mut self, interval: Interval) -> &mut TimeframeState {
        &mut self.timeframes[signal_slot(interval)]
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
