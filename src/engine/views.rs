//! What the engine answers about its state: pair and market views for chat commands, and the
//! daily summary alert. Reads state only; the engine stays the single owner and answers between
//! two inputs, so a question never races an update.

use tokio::sync::oneshot;

use super::{Engine, Pair};
use crate::model::{Alert, AlertBrief, AlertKind, DAY_MS, Severity, Symbol, TimeMs, format_utc};
use crate::rules::{CascadeSetup, Mute};
use crate::view::{
    ChartSeries, DeliveryView, FeedHealth, MarketView, PairView, SummaryReport, market_chart,
};

/// Setups whose chart the summary carries.
const SUMMARY_CHARTS: usize = 3;
/// Alerts listed by name in the summary; the rest are counted.
const SUMMARY_ALERTS: usize = 60;

/// A question for the engine; the answer goes back on the channel inside.
#[derive(Debug)]
pub enum Query {
    /// Every pair and the feed health, judged fresh or stale at the asker's wall time.
    Market(TimeMs, oneshot::Sender<MarketView>),
    /// One pair with its chart, at the asker's wall time; `None` for a pair the engine has not
    /// seen.
    Pair(Symbol, TimeMs, oneshot::Sender<Option<PairAnswer>>),
    /// The mutes in force (the engine's own copy, which the store mirrors).
    Mutes(oneshot::Sender<Vec<Mute>>),
    /// The outbox depth and the dead letters (read from the store the engine owns).
    Delivery(oneshot::Sender<DeliveryView>),
    /// The counts of the daemon's heartbeat line, at the supervisor's wall time.
    Pulse(TimeMs, oneshot::Sender<Pulse>),
}

/// The feed's health and the alerts raised so far, for the heartbeat.
#[derive(Debug, Clone, Default)]
pub struct Pulse {
    pub health: FeedHealth,
    pub alerts: u64,
}

/// A pair's view and its chart (none before its first 4h bar).
#[derive(Debug, Clone)]
pub struct PairAnswer {
    pub view: PairView,
    pub chart: Option<ChartSeries>,
}

/// The scheduler's request for the daily summary of `day` (local date in `tz`), at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRequest {
    pub day: String,
    pub tz: String,
    pub now: TimeMs,
}

/// The symbol a market-wide alert carries.
pub const MARKET: &str = "MARKET";

impl Engine {
    pub(super) fn answer(&self, query: Query) {
        // A closed channel means the asker gave up waiting; nothing to do.
        let _gone = match query {
            Query::Market(now, reply) => reply.send(self.market_view(now)).is_err(),
            Query::Pair(symbol, now, reply) => reply.send(self.pair_answer(&symbol, now)).is_err(),
            Query::Mutes(reply) => reply.send(self.mutes.iter().cloned().collect()).is_err(),
            Query::Pulse(now, reply) => {
                let alerts = self.stats.alerts.values().sum();
                let health = self.market_view(now).health;
                reply.send(Pulse { health, alerts }).is_err()
            }
            // Answered by the task, which holds the store (`task.rs`).
            Query::Delivery(reply) => reply.send(DeliveryView::default()).is_err(),
        };
    }

    /// Every pair, in symbol order, with the feed health; data older than
    /// [`crate::view::FRESH_WITHIN_MS`] at `now` is stale.
    pub fn market_view(&self, now: TimeMs) -> MarketView {
        // Markets on several venues show once, as their home pair.
        let mut pairs: Vec<PairView> = (self.pairs.values())
            .filter(|p| p.home)
            .map(|p| self.pair_view(p, now))
            .collect();
        pairs.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        let health = FeedHealth {
            pairs: pairs.len(),
            pairs_ready: pairs.iter().filter(|p| p.ready).count(),
            pairs_stale: pairs.iter().filter(|p| p.stale).count(),
            gaps_open: pairs.iter().filter(|p| p.gap_open).count(),
            events: self.stats.events,
            source_bars: self.stats.source_bars,
            gaps: self.stats.gaps,
            last_event_ms: self.clock,
        };
        MarketView { pairs, health }
    }

    pub fn pair_answer(&self, symbol: &Symbol, now: TimeMs) -> Option<PairAnswer> {
        let pair = self.pairs.get(symbol)?;
        let view = self.pair_view(pair, now);
        let chart = self.view_chart(&view);
        Some(PairAnswer { view, chart })
    }

    fn pair_view(&self, pair: &Pair, now: TimeMs) -> PairView {
        let cascade = CascadeSetup {
            venues: pair.venues.as_ref(),
            ..self.cascade_setup()
        };
        let gap_open = pair.rules.gap_open();
        PairView::of(
            &pair.state,
            gap_open,
            &self.rules,
            &self.params,
            &cascade,
            now,
        )
    }

    /// The chart of a pair's view, with the setup lining up drawn when there is one.
    fn view_chart(&self, view: &PairView) -> Option<ChartSeries> {
        let pair = self.pairs.get(&view.symbol)?;
        let chart = market_chart(&pair.state, pair.venues.as_ref(), &self.rules, &self.params)?;
        Some(match &view.setup {
            Some(setup) => chart.with_setup(&setup.levels()),
            None => chart,
        })
    }

    /// The chart of `alert` at the moment it was raised (`at`, the time of the event that raised
    /// it): the pair's chart now, with the alert's levels or touched cluster.
    pub fn alert_chart(&self, alert: &Alert, at: TimeMs) -> Option<ChartSeries> {
        let pair = self.pairs.get(&alert.symbol)?;
        super::batch::chart_at(&self.rules, &self.params, pair, alert, at)
    }

    /// The daily summary as an alert: one per local day (its id), routed like any alert. An
    /// error only if the report cannot be encoded as JSON (a bug, not a market condition).
    pub fn summary_alert(&self, req: &SummaryRequest) -> Result<Alert, serde_json::Error> {
        let since = req.now - DAY_MS;
        let mut recent: Vec<&AlertBrief> = self
            .pairs
            .values()
            .flat_map(|p| p.rules.recent())
            .filter(|a| a.time_ms > since && a.time_ms <= req.now)
            .collect();
        recent.sort_by(|a, b| b.time_ms.cmp(&a.time_ms).then_with(|| a.id.cmp(&b.id)));
        let (transitions, others): (Vec<&AlertBrief>, Vec<&AlertBrief>) = recent
            .into_iter()
            .partition(|a| a.kind == AlertKind::RegimeChange);
        let market = self.market_view(req.now);
        let charts = market
            .setups()
            .into_iter()
            .filter_map(|view| self.view_chart(view))
            .take(SUMMARY_CHARTS)
            .collect();
        let health = market.health;
        let report = SummaryReport {
            day: req.day.clone(),
            tz: req.tz.clone(),
            generated_ms: req.now,
            since_ms: since,
            market,
            transitions: transitions.into_iter().cloned().collect(),
            alerts_total: others.len(),
            alerts: others.into_iter().take(SUMMARY_ALERTS).cloned().collect(),
            charts,
        };
        let symbol: Symbol = MARKET.parse().expect("a valid symbol");
        let changes = report.transitions.len();
        let stale = if health.is_stale(req.now) {
            "FEED STALE, "
        } else {
            ""
        };
        let title = format!(
            "Daily regime summary {} ({}): {} pairs, {} ready, {changes} regime change{}, {stale}data to {}",
            req.day,
            req.tz,
            health.pairs,
            health.pairs_ready,
            if changes == 1 { "" } else { "s" },
            health.last_event_ms.map_or("n/a".to_owned(), format_utc),
        );
        let facts = report.to_facts()?;
        Ok(Alert::new(
            symbol,
            None,
            &req.day,
            req.now,
            Severity::Info,
            title,
            facts,
        ))
    }
}
