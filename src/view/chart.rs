//! A chart's data, owned and serialisable: candles, RSI and regimes, the map's past behind them,
//! the current map and clusters of one pair, and the levels of the alert it belongs to (entry,
//! stop, targets, the touched cluster), as the engine builds it at the alert's moment and as the
//! outbox keeps it. Plain data; drawing it is `notify::chart`'s, and nothing here draws.

use serde::{Deserialize, Serialize};

pub use crate::analytics::heat_history::HistoryColumn;
pub use crate::analytics::realized::RealizedBar;
use crate::model::{
    Alert, Candle, ClusterFacts, Facts, LevelFacts, Regime, SetupFacts, Side, TimeMs,
};
use crate::numbers::{price, usd};

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
    /// The cluster the alert is about: drawn highlighted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub touched: bool,
}

/// What a level line on the chart is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LevelKind {
    Entry,
    Stop,
    Target,
}

/// A horizontal line across the price panel with its label, e.g. `T1 1,990.0 (+3.4 %)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartLevel {
    pub kind: LevelKind,
    pub price: f64,
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
    /// The current map (one column; drawn as the profile at the right, never behind the past).
    pub heat: Vec<HeatColumn>,
    pub clusters: Vec<ClusterBand>,
    pub mark_price: Option<f64>,
    pub footer: String,
    /// The moment the chart shows: the pair's state time when it was captured, which for an
    /// alert's chart is the alert's time. 0 in entries stored before it was recorded.
    #[serde(default)]
    pub as_of: TimeMs,
    /// The map's past, one column per 4h bar, drawn behind the candles.
    #[serde(default)]
    pub history: Vec<HistoryColumn>,
    /// Entry, stop and targets of a setup.
    #[serde(default)]
    pub levels: Vec<ChartLevel>,
    /// What the chart is about, under the title, e.g. `setup B long · R:R 2.3`.
    #[serde(default)]
    pub note: String,
    /// Real liquidation prints of the candles' bars, only bars that had some, oldest first.
    #[serde(default)]
    pub realized: Vec<RealizedBar>,
}

impl ChartSeries {
    /// The chart of `alert`: its setup's levels and R:R, or its cluster highlighted (added when
    /// the map no longer shows it, as after a sweep), and a note saying which.
    pub fn with_alert(mut self, alert: &Alert) -> ChartSeries {
        match &alert.facts {
            Facts::SetupEntry(f) => self.add_setup(f),
            Facts::ClusterApproach(f) => self.touch(f, "approaching"),
            Facts::ClusterEdge(f) => self.touch(f, "at the edge of"),
            Facts::ClusterSwept(f) => self.touch(f, "swept"),
            _ => {}
        }
        self
    }

    fn add_setup(&mut self, f: &SetupFacts) {
        let levels = SetupLevels {
            long: f.direction == crate::model::EntryDirection::Long,
            entry: f.entry,
            stop: f.stop,
            t1: f.t1,
            t2: f.t2,
            reward_risk: f.reward_risk,
        };
        self.note = format!(
            "setup {} {} · {}",
            f.setup.as_str(),
            f.direction.as_str(),
            levels.summary()
        );
        self.levels = levels.lines();
        self.touch_cluster(&f.cluster, "target");
    }

    fn touch(&mut self, f: &LevelFacts, what: &str) {
        let c = &f.cluster;
        self.note = format!(
            "{what} {} {} {}–{} · {} est.",
            f.label.as_str(),
            side_name(c.side),
            price(c.near_edge),
            price(c.far_edge),
            usd(c.notional_usd)
        );
        self.touch_cluster(c, f.label.as_str());
    }

    /// Marks cluster `c` touched: the map's band of it (same side, same near edge: a step may
    /// have moved its far edge since the rule saw it) takes the alert's edges; without one (as
    /// after a sweep) it is added, labelled with `tag` (e.g. `fuel`).
    fn touch_cluster(&mut self, c: &ClusterFacts, tag: &str) {
        let band = ClusterBand {
            side: c.side,
            near_edge: c.near_edge,
            far_edge: c.far_edge,
            label: band_label(Some(tag), c.side, c.near_edge, c.far_edge, c.notional_usd),
            touched: true,
        };
        let same = |b: &&mut ClusterBand| b.side == c.side && close_to(b.near_edge, c.near_edge);
        match self.clusters.iter_mut().find(same) {
            Some(old) => *old = band,
            None => self.clusters.push(band),
        }
    }

    /// The lines of a trade lining up (the summary's and `/pair`'s setup), with its R:R.
    pub fn with_setup(mut self, s: &SetupLevels) -> ChartSeries {
        self.note = format!(
            "{} lining up · {}",
            if s.long { "long" } else { "short" },
            s.summary()
        );
        self.levels = s.lines();
        self
    }
}

/// A trade's levels as a chart draws them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SetupLevels {
    pub long: bool,
    pub entry: f64,
    pub stop: f64,
    pub t1: f64,
    pub t2: Option<f64>,
    pub reward_risk: f64,
}

impl SetupLevels {
    fn summary(&self) -> String {
        format!(
            "entry {} · stop {} · T1 {} · R:R {:.1}",
            price(self.entry),
            price(self.stop),
            price(self.t1),
            self.reward_risk
        )
    }

    fn lines(&self) -> Vec<ChartLevel> {
        let pct = |p: f64| 100.0 * (p / self.entry - 1.0);
        let line = |kind, name: &str, p: f64| ChartLevel {
            kind,
            price: p,
            label: match kind {
                LevelKind::Entry => format!("{name} {}", price(p)),
                _ => format!("{name} {} ({:+.1} %)", price(p), pct(p)),
            },
        };
        let mut lines = vec![
            line(LevelKind::Entry, "entry", self.entry),
            line(LevelKind::Stop, "stop", self.stop),
            line(LevelKind::Target, "T1", self.t1),
        ];
        lines.extend(self.t2.map(|t2| line(LevelKind::Target, "T2", t2)));
        lines.retain(|l| l.price.is_finite() && l.price > 0.0);
        lines
    }
}

/// A cluster's label beside its box: `fuel · longs 78,200–76,900 · $412M est.`.
pub(super) fn band_label(tag: Option<&str>, side: Side, near: f64, far: f64, usd_: f64) -> String {
    let tag = tag.map_or(String::new(), |t| format!("{t} · "));
    format!(
        "{tag}{} {}–{} · {} est.",
        side_name(side),
        price(near),
        price(far),
        usd(usd_)
    )
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Long => "longs",
        Side::Short => "shorts",
    }
}

/// The same edge, allowing for a bin's drift (10 bp).
fn close_to(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-3 * a.abs().max(b.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An outbox entry's chart stored before `as_of`, the history, levels and the touched mark
    /// existed still decodes, with their defaults.
    #[test]
    fn a_chart_stored_before_as_of_and_levels_still_decodes() {
        let old = r#"{"symbol":"ETHUSDT","interval_label":"4h",
            "candles":[{"open_time":0,"open":1.0,"high":2.0,"low":0.5,"close":1.5,"volume":1.0,
                "quote_volume":null,"taker_buy_quote":null}],
            "rsi":[null],"regimes":["range"],
            "heat":[{"time":0,"width_ms":14400000,"bands":[
                {"price_low":1.0,"price_high":1.1,"long_usd":5.0,"short_usd":0.0}]}],
            "clusters":[{"side":"long","near_edge":1.0,"far_edge":0.9,"label":"longs"}],
            "mark_price":1.5,"footer":"estimated"}"#;
        let chart: ChartSeries = serde_json::from_str(old).expect("an old chart decodes");
        assert_eq!(chart.as_of, 0);
        assert!(chart.history.is_empty() && chart.levels.is_empty() && chart.note.is_empty());
        assert!(chart.realized.is_empty());
        assert!(!chart.clusters[0].touched);
        // And what is written now reads back the same.
        let json = serde_json::to_string(&chart).unwrap();
        assert_eq!(serde_json::from_str::<ChartSeries>(&json).unwrap(), chart);
    }
}
