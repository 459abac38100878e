//! A chart's data, owned and serialisable: candles, RSI and regimes, the estimated heat and the
//! clusters of one pair, as the engine builds it for an alert or a `/pair` answer and as the
//! outbox keeps it. Plain data; drawing it is `notify::chart`'s, and nothing here draws.

use serde::{Deserialize, Serialize};

use crate::model::{Candle, Regime, Side, TimeMs};

/// The estimated liquidation map at one moment, covering `[time, time + width_ms)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeatColumn {
    pub time: TimeMs,
    pub width_ms: i64,
    pub bands: Vec<HeatBand>,
}

/// Estimated notional that would be liquidated between two prices.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeatBand {
    pub price_low: f64,
    pub price_high: f64,
    pub long_usd: f64,
    pub short_usd: f64,
}

/// A current cluster: `side` is the position that would be liquidated (longs sit below price).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterBand {
    pub side: Side,
    /// The edge closest to price, where a move first reaches the cluster.
    pub near_edge: f64,
    pub far_edge: f64,
    /// Shown beside the box, e.g. `longs 78,200–76,900 · $412M est.`.
    pub label: String,
}

/// A chart's data, owned: what the engine hands to a sink (through the outbox) so the sink can
/// draw it later without the engine's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartSeries {
    pub symbol: String,
    pub interval_label: String,
    pub candles: Vec<Candle>,
    pub rsi: Vec<Option<f64>>,
    pub regimes: Vec<Regime>,
    pub heat: Vec<HeatColumn>,
    pub clusters: Vec<ClusterBand>,
    pub mark_price: Option<f64>,
    pub footer: String,
}
