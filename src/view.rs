//! Read-only views of the engine's state for chat commands, charts and the daily summary: per pair
//! the regimes, the nearest qualifying clusters, funding and the setup lining up; the market board
//! and its health. Pure: built from state and parameters, time is an argument; never rendered for
//! a channel here.

mod chart;
mod track;
mod venues;

pub use chart::{
    ChartLevel, ChartSeries, ClusterBand, HeatBand, HeatColumn, HistoryColumn, LevelKind,
    RealizedBar, SetupLevels,
};
pub use track::{TrackLine, TrackRecord, TrackRecordError};
pub use venues::{AlignedView, VenuesView};

use crate::analytics::venues::VenueMap;

use serde::{Deserialize, Serialize};

use crate::analytics::PairState;
use crate::analytics::clusters::Cluster;
use crate::analytics::entry::EntryDirection;
use crate::analytics::heatmap::Heatmap;
use crate::analytics::realized::{Exhaustion, Reading, RealizedParams};
use crate::analytics::regime::Regime;
use crate::model::{
    AlertBrief, Facts, Interval, LoadingScore, MINUTE_MS, Side, SummaryFacts, Symbol, TimeMs,
};
use crate::rules::{Bias, CascadeSetup, ClusterLabel, Crowding, RuleParams, loading_score, plan};

/// Heat bands on a chart are this many model bins tall (0.5 % at 10 bp bins).
pub const BAND_BINS: i32 = 5;
/// A chart shows ±this fraction of price: the span the map's history keeps.
pub const CHART_RANGE: f64 = crate::analytics::heat_history::HISTORY_RANGE;
/// Data older than this is stale: a live feed brings a mark price every few seconds and a bar
/// every 5 minutes, so 15 minutes without either is a dead feed, not a slow one.
pub const FRESH_WITHIN_MS: TimeMs = 15 * MINUTE_MS;

/// One signal timeframe of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TimeframeView {
    pub interval: Interval,
    pub regime: Regime,
    pub rsi: Option<f64>,
    pub bars: u64,
}

/// A qualifying cluster as a level to watch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LevelView {
    /// The positions that would be liquidated there (longs sit below price).
    pub side: Side,
    pub label: ClusterLabel,
    pub near_edge: f64,
    pub far_edge: f64,
    pub notional_usd: f64,
    pub density: f64,
    /// Distance from price to the near edge, in percent of price.
    pub distance_pct: f64,
}

/// The trade the pair offers if its 4h trigger fired at the current price.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SetupView {
    pub direction: EntryDirection,
    pub entry: f64,
    pub stop: f64,
    pub t1: f64,
    pub t2: Option<f64>,
    pub reward_risk: f64,
    /// Reward:risk reaches the configured minimum.
    pub qualifies: bool,
    /// Funding shows the other side crowded, which backs the wave.
    pub funding_confirms: bool,
}

/// Everything a chat answer or the summary says about one pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairView {
    pub symbol: Symbol,
    /// Last mark price, or the last close before any mark.
    pub price: Option<f64>,
    /// When the pair's data was last known: its price, levels and setup are of this moment.
    /// `None` in a report stored before this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<TimeMs>,
    /// 4h, 1d, 1w.
    pub timeframes: Vec<TimeframeView>,
    pub bias: Bias,
    pub funding_rate: Option<f64>,
    /// What the configured thresholds (`[rules.funding]`) make of `funding_rate`; `None` without
    /// a rate, or in a report stored before this field (read it with [`PairView::crowding`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding_crowding: Option<Crowding>,
    pub above: Option<LevelView>,
    pub below: Option<LevelView>,
    pub setup: Option<SetupView>,
    /// Warmed and fresh: the bias timeframe has a regime (at least `min_warmup_bars` closed
    /// bars) and the data is not stale, so the pair's alerts and setups are judged.
    /// `bias.converged` says whether the full warm-up is done.
    pub ready: bool,
    /// The pair's data is older than [`FRESH_WITHIN_MS`] when the view was made: what it shows
    /// is of `as_of`, not now.
    #[serde(default)]
    pub stale: bool,
    /// Alerts wait for a back-fill of missing bars.
    pub gap_open: bool,
    /// Prices where large real liquidations happened, strongest first (support and resistance
    /// context); empty in a report stored before this field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub realized: Vec<RealizedLevelView>,
    /// A move whose losing side stopped being liquidated, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exhaustion: Option<Exhaustion>,
    /// The cascade-loading score at the state's time (absent before a price, and in old views).
    #[serde(default)]
    pub loading: Option<LoadingScore>,
    /// The pair's market on every followed venue (home pairs of markets on several venues).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venues: Option<VenuesView>,
}

/// A price where large realized liquidations happened.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RealizedLevelView {
    /// The positions that were liquidated.
    pub side: Side,
    /// Notional-weighted price of the prints.
    pub price: f64,
    pub notional_usd: f64,
    /// How long before the view the last print was.
    pub ago_ms: TimeMs,
}

impl PairView {
    pub fn timeframe(&self, interval: Interval) -> Option<&TimeframeView> {
        self.timeframes.iter().find(|t| t.interval == interval)
    }

    /// Which side funding says is crowded: as judged with the configured thresholds when the
    /// view was made; for a report stored before that was recorded, by the default thresholds.
    pub fn crowding(&self) -> Option<Crowding> {
        let rate = self.funding_rate.filter(|r| r.is_finite())?;
        Some(
            self.funding_crowding
                .unwrap_or_else(|| Crowding::of(rate, &RuleParams::DEFAULT.funding)),
        )
    }

    /// The nearest qualifying cluster on the fuel side of the wave.
    pub fn fuel(&self) -> Option<&LevelView> {
        [&self.above, &self.below]
            .into_iter()
            .flatten()
            .find(|l| l.label == ClusterLabel::Fuel)
    }

    /// Whether the pair is warmed but its data stopped: not ready because of the feed.
    pub fn warmed_but_stale(&self) -> bool {
        self.stale && self.bias.regime.is_some()
    }

    /// Builds the view of `pair` at `now`; `gap_open` comes from its rule state.
    pub fn of(
        pair: &PairState,
        gap_open: bool,
        p: &RuleParams,
        signals: &crate::analytics::SignalParams,
        cascade: &CascadeSetup<'_>,
        now: TimeMs,
    ) -> PairView {
        let bias = Bias::of(pair, p.bias_timeframe, signals);
        let price = pair
            .heat()
            .map()
            .last_price()
            .or_else(|| pair.trail().bars().last().map(|b| b.candle.close));
        let timeframes = pair
            .timeframes()
            .iter()
            .map(|tf| TimeframeView {
                interval: tf.interval(),
                regime: tf.regime(),
                rsi: tf.rsi().map(|v| v.rsi),
                bars: tf.bars(),
            })
            .collect();
        let level = |side: Side| -> Option<LevelView> {
            let price = price?;
            let c = pair
                .heat()
                .clusters()?
                .side(side)
                .clusters
                .iter()
                .find(|c| p.clusters.qualifies(c))?;
            Some(level_view(c, price, bias.label(side)))
        };
        let setup = price.and_then(|entry| setup_view(pair, &bias, entry, p));
        let as_of = pair.as_of();
        let stale = as_of.is_some_and(|t| now - t > FRESH_WITHIN_MS);
        let (realized, exhaustion) = realized_view(pair, now);
        let loading = as_of.and_then(|at| loading_score(pair, at, cascade, p));
        PairView {
            symbol: pair.symbol().clone(),
            price,
            as_of,
            timeframes,
            bias,
            funding_rate: pair.funding().map(|f| f.rate),
            funding_crowding: pair.funding().map(|f| Crowding::of(f.rate, &p.funding)),
            above: level(Side::Short),
            below: level(Side::Long),
            setup,
            ready: bias.regime.is_some() && !stale,
            stale,
            gap_open,
            realized,
            exhaustion,
            loading,
            venues: cascade.venues.map(VenuesView::of),
        }
    }
}

/// The pair's large realized levels as of its state time (ages counted to `now`) and its
/// exhaustion reading, by the default [`RealizedParams`].
fn realized_view(pair: &PairState, now: TimeMs) -> (Vec<RealizedLevelView>, Option<Exhaustion>) {
    let p = RealizedParams::DEFAULT;
    let tape = pair.realized();
    let levels = (tape.levels(pair.as_of().unwrap_or(now), &p).iter())
        .map(|l| RealizedLevelView {
            side: l.side,
            price: l.price(),
            notional_usd: l.notional_usd(),
            ago_ms: now - l.last_time,
        })
        .collect();
    let exhaustion = match tape.exhaustion(pair.trail(), &p) {
        Reading::Exhausted(e) => Some(e),
        Reading::Unknown(_) | Reading::NotExhausted => None,
    };
    (levels, exhaustion)
}

#[cfg(test)]
impl PairView {
    /// A ready, fresh pair known by name only: the start of a view a test fills in.
    pub(crate) fn named(symbol: Symbol) -> PairView {
        PairView {
            symbol,
            price: None,
            as_of: None,
            timeframes: Vec::new(),
            bias: Bias::from_regimes(None, None),
            funding_rate: None,
            funding_crowding: None,
            above: None,
            below: None,
            setup: None,
            ready: true,
            stale: false,
            gap_open: false,
            realized: Vec::new(),
            exhaustion: None,
            loading: None,
            venues: None,
        }
    }
}

fn level_view(c: &Cluster, price: f64, label: ClusterLabel) -> LevelView {
    LevelView {
        side: c.side,
        label,
        near_edge: c.near_edge,
        far_edge: c.far_edge,
        notional_usd: c.notional_usd,
        density: c.density,
        distance_pct: 100.0 * (c.near_edge - price).abs() / price,
    }
}

fn setup_view(pair: &PairState, bias: &Bias, entry: f64, p: &RuleParams) -> Option<SetupView> {
    let direction = match bias.wave {
        Regime::Bull => EntryDirection::Long,
        Regime::Bear => EntryDirection::Short,
        Regime::Range => return None,
    };
    let clusters = pair.heat().clusters()?;
    let swings = pair.timeframe(p.setup.timeframe).swings();
    let plan = plan(direction, entry, clusters, swings, p).ok()?;
    let funding_confirms = pair
        .funding()
        .is_some_and(|f| Crowding::of(f.rate, &p.funding).confirms(bias.wave));
    Some(SetupView {
        direction,
        entry,
        stop: plan.stop,
        t1: plan.target.far_edge,
        t2: plan.next.map(|c| c.far_edge),
        reward_risk: plan.reward_risk,
        qualifies: plan.reward_risk >= p.setup.min_reward_risk,
        funding_confirms,
    })
}

/// What waits for delivery, as the store tells it; `None` where there is no store or it could not
/// be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryView {
    /// Outbox entries per sink.
    pub outbox: Option<std::collections::BTreeMap<String, usize>>,
    pub dead_letters: Option<usize>,
}

/// How the feeds and the engine are doing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedHealth {
    pub pairs: usize,
    /// Pairs warmed and fresh ([`PairView::ready`]).
    pub pairs_ready: usize,
    /// Pairs whose data is older than [`FRESH_WITHIN_MS`].
    #[serde(default)]
    pub pairs_stale: usize,
    /// Pairs whose alerts wait for a back-fill.
    pub gaps_open: usize,
    pub events: u64,
    pub source_bars: u64,
    pub gaps: u64,
    /// The newest event time the engine has seen (data time, not the wall clock).
    pub last_event_ms: Option<TimeMs>,
}

impl FeedHealth {
    /// The newest data is older than [`FRESH_WITHIN_MS`] at `now`: the feed is dead or cut off.
    /// No data at all is not stale, it is "no data yet".
    pub fn is_stale(&self, now: TimeMs) -> bool {
        self.last_event_ms
            .is_some_and(|t| now - t > FRESH_WITHIN_MS)
    }
}

/// Every pair at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MarketView {
    pub pairs: Vec<PairView>,
    pub health: FeedHealth,
}

impl MarketView {
    /// Pairs with a trade lining up, best reward:risk first; those reaching the minimum first.
    pub fn setups(&self) -> Vec<&PairView> {
        let mut ranked: Vec<&PairView> = self
            .pairs
            .iter()
            .filter(|p| p.ready && p.setup.is_some_and(|s| s.reward_risk > 0.0))
            .collect();
        ranked.sort_by(|a, b| {
            let (sa, sb) = (a.setup.unwrap(), b.setup.unwrap());
            sb.qualifies
                .cmp(&sa.qualifies)
                .then(sb.reward_risk.total_cmp(&sa.reward_risk))
                .then_with(|| a.symbol.cmp(&b.symbol))
        });
        ranked
    }
}

/// What the daily summary reports: the board, the last day's transitions and alerts, the top
/// setups with their charts, and feed health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryReport {
    /// The local date it is for, e.g. `2026-11-23`.
    pub day: String,
    /// The IANA time zone of the schedule.
    pub tz: String,
    pub generated_ms: TimeMs,
    /// The report covers `[since_ms, generated_ms]`.
    pub since_ms: TimeMs,
    pub market: MarketView,
    /// Regime changes in the window, newest first.
    pub transitions: Vec<AlertBrief>,
    /// Every other alert in the window, newest first (capped; `alerts_total` has the count).
    pub alerts: Vec<AlertBrief>,
    pub alerts_total: usize,
    /// Charts of the top setups, best first.
    pub charts: Vec<ChartSeries>,
}

impl SummaryReport {
    /// The report as the facts of a `daily_summary` alert: its JSON, since `model` cannot name
    /// a view. [`SummaryReport::from_facts`] is the inverse.
    pub fn to_facts(&self) -> Result<Facts, serde_json::Error> {
        let json = serde_json::to_value(self)?;
        Ok(Facts::DailySummary(SummaryFacts::from_json(json)))
    }

    /// The report a `daily_summary` alert carries; an error when its facts are not one.
    pub fn from_facts(facts: &SummaryFacts) -> Result<SummaryReport, serde_json::Error> {
        SummaryReport::deserialize(facts.json())
    }
}

/// The map around `price` in bands of [`BAND_BINS`] bins, as one chart column covering
/// `[time, time + width_ms)`.
pub fn heat_column(map: &Heatmap, time: TimeMs, width_ms: i64, price: f64) -> HeatColumn {
    let grid = map.grid();
    let (lo, hi) = (
        grid.bin_of(price * (1.0 - CHART_RANGE)),
        grid.bin_of(price * (1.0 + CHART_RANGE)),
    );
    let bands = (lo..=hi)
        .step_by(BAND_BINS as usize)
        .map(|start| {
            let bins = start..start + BAND_BINS;
            HeatBand {
                price_low: grid.lower_edge(start),
                price_high: grid.upper_edge(start + BAND_BINS - 1),
                long_usd: bins.clone().map(|k| map.mass(Side::Long, k)).sum(),
                short_usd: bins.map(|k| map.mass(Side::Short, k)).sum(),
            }
        })
        .collect();
    HeatColumn {
        time,
        width_ms,
        bands,
    }
}

/// A cluster as a labelled box on a chart.
pub fn cluster_band(c: &Cluster, label: Option<ClusterLabel>) -> ClusterBand {
    let tag = label.map(ClusterLabel::as_str);
    ClusterBand {
        side: c.side,
        near_edge: c.near_edge,
        far_edge: c.far_edge,
        label: chart::band_label(tag, c.side, c.near_edge, c.far_edge, c.notional_usd),
        touched: false,
    }
}

/// The chart of a pair now: its last 4h bars with RSI and regime, the map's past behind them
/// (one column per bar), the current map as a profile and its qualifying clusters labelled fuel
/// or magnet, as of the pair's state time. `None` before the first 4h bar.
pub fn chart_series(
    pair: &PairState,
    p: &RuleParams,
    signals: &crate::analytics::SignalParams,
) -> Option<ChartSeries> {
    market_chart(pair, None, p, signals)
}

/// [`chart_series`] of a market on several venues: the current profile and the clusters are the
/// combined map's (`venues`), and the footer gives each venue's share; the map's past behind the
/// bars stays the pair's own.
pub fn market_chart(
    pair: &PairState,
    venues: Option<&VenueMap>,
    p: &RuleParams,
    signals: &crate::analytics::SignalParams,
) -> Option<ChartSeries> {
    let trail = pair.trail();
    let last = trail.bars().last()?;
    let map = venues.map_or(pair.heat().map(), |v| &v.map);
    let price = map.last_price().unwrap_or(last.candle.close);
    let bias = Bias::of(pair, p.bias_timeframe, signals);
    let clusters = venues
        .map(|v| &v.clusters)
        .or(pair.heat().clusters())
        .into_iter()
        .flat_map(|c| c.iter())
        .filter(|c| p.clusters.qualifies(c))
        .map(|c| cluster_band(c, Some(bias.label(c.side))))
        .collect();
    let shares = venues.map_or(String::new(), |v| {
        let shares: Vec<String> = (VenuesView::of(v).shares.iter())
            .map(|(venue, share)| format!("{venue} {:.0} %", share * 100.0))
            .collect();
        format!(" · venues {}", shares.join(", "))
    });
    let coverage = map
        .coverage()
        .map_or("n/a".to_owned(), |c| format!("{c:.2}"));
    let bar_end = last.candle.open_time + Interval::H4.duration_ms();
    let as_of = pair.as_of().unwrap_or(bar_end);
    Some(ChartSeries {
        symbol: pair.symbol().to_string(),
        interval_label: "4h".to_owned(),
        candles: trail.bars().map(|b| b.candle).collect(),
        rsi: trail.bars().map(|b| b.rsi).collect(),
        regimes: trail.bars().map(|b| b.regime).collect(),
        heat: vec![heat_column(map, as_of, 0, price)],
        clusters,
        mark_price: map.last_price(),
        footer: format!(
            "estimated liquidation map (model, not an order book) · mode {} · coverage \
             {coverage}{shares}",
            map.mode().as_str()
        ),
        as_of,
        history: pair.history().columns().cloned().collect(),
        levels: Vec::new(),
        note: String::new(),
        realized: (trail.bars())
            .filter_map(|b| pair.realized().bar(b.candle.open_time))
            .collect(),
    })
}

impl SetupView {
    /// The trade's levels as a chart draws them.
    pub fn levels(&self) -> SetupLevels {
        SetupLevels {
            long: self.direction == EntryDirection::Long,
            entry: self.entry,
            stop: self.stop,
            t1: self.t1,
            t2: self.t2,
            reward_risk: self.reward_risk,
        }
    }
}
