//! The heatmap side of one pair: the model, its last clusters, the daily ATR that sizes the
//! cluster window, and the open interest waiting for the next 5-minute step. Pure: events in,
//! step reports out; it never raises alerts and never reads the clock.

use serde::{Deserialize, Serialize};

use super::atr::Atr;
use super::clusters::{ClusterParams, Clusters, find_clusters};
use super::heatmap::{Heatmap, HeatmapError, Kernel, StepReport};
use crate::model::{Candle, Interval, Liquidation, OpenInterest, Side, TimeMs};

/// Wilder period of the daily ATR.
const ATR_PERIOD: u32 = 14;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeatState {
    map: Heatmap,
    clusters: Option<Clusters>,
    atr_1d: Atr,
    atr_1h: Atr,
    /// The latest open interest; a step uses it only when it was measured at the bar's close.
    open_interest: Option<OpenInterest>,
    steps: u64,
    /// Steps the model refused (bad bar, bad OI, not after the last step): counted, skipped.
    rejected: u64,
    /// Realized liquidations seen, per side, in USD (the ground truth for validation).
    realized_long: f64,
    realized_short: f64,
}

impl HeatState {
    pub fn new(kernel: &Kernel) -> HeatState {
        HeatState {
            map: Heatmap::new(kernel),
            clusters: None,
            atr_1d: Atr::new(ATR_PERIOD),
            atr_1h: Atr::new(ATR_PERIOD),
            open_interest: None,
            steps: 0,
            rejected: 0,
            realized_long: 0.0,
            realized_short: 0.0,
        }
    }

    /// One closed 5-minute bar: a model step with the OI measured at its close, then clusters.
    pub fn on_bar(
        &mut self,
        kernel: &Kernel,
        params: &ClusterParams,
        bar: &Candle,
    ) -> Result<StepReport, HeatmapError> {
        let close_time = bar.open_time + Interval::M5.duration_ms();
        let oi = self
            .open_interest
            .filter(|o| o.time == close_time)
            .map(|o| o.contracts);
        let report = self
            .map
            .step(kernel, close_time, bar, oi)
            .inspect_err(|_| {
                self.rejected += 1;
            })?;
        self.steps += 1;
        let atr = self.atr_1d.current().unwrap_or(f64::NAN);
        let clusters = find_clusters(&self.map, params, bar.close, atr, self.clusters.as_ref());
        self.clusters = Some(clusters);
        Ok(report)
    }

    /// A mark price between steps: liquidates the mass it crosses.
    pub fn on_mark(&mut self, time: TimeMs, price: f64) {
        if price.is_finite() && price > 0.0 {
            self.map.on_mark(time, price);
        }
    }

    pub fn on_open_interest(&mut self, oi: OpenInterest) {
        if self.open_interest.is_none_or(|o| o.time <= oi.time) {
            self.open_interest = Some(oi);
        }
    }

    pub fn on_daily_bar(&mut self, bar: &Candle) {
        self.atr_1d.update(bar);
    }

    pub fn on_hourly_bar(&mut self, bar: &Candle) {
        self.atr_1h.update(bar);
    }

    pub fn on_liquidation(&mut self, liq: &Liquidation) {
        match liq.side {
            Side::Long => self.realized_long += liq.notional(),
            Side::Short => self.realized_short += liq.notional(),
        }
    }

    pub fn map(&self) -> &Heatmap {
        &self.map
    }

    /// Clusters after the last step.
    pub fn clusters(&self) -> Option<&Clusters> {
        self.clusters.as_ref()
    }

    pub fn atr_1d(&self) -> Option<f64> {
        self.atr_1d.current()
    }

    /// Wilder ATR(14) of hourly bars: the scale of "near" for approach alerts.
    pub fn atr_1h(&self) -> Option<f64> {
        self.atr_1h.current()
    }

    pub fn steps(&self) -> u64 {
        self.steps
    }

    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// Realized liquidation notional seen, `(longs, shorts)`, USD.
    pub fn realized(&self) -> (f64, f64) {
        (self.realized_long, self.realized_short)
    }
}
