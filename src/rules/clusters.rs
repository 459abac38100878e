//! `cluster_approach`, `cluster_edge` and `cluster_swept`: price arriving at, reaching and going
//! through a qualifying liquidation cluster (DESIGN.md §5). Pure: one price observation and the
//! clusters known before it in, alerts out; it never looks at a cluster computed after the price
//! it judges, and never reads the clock.

use super::bias::{Bias, funding_facts};
use super::params::{ClusterRuleParams, RuleParams};
use super::touch::{Level, Quiet, Touches};
use crate::analytics::clusters::{Cluster, Clusters};
use crate::model::{
    Alert, AlertKind, ClusterLabel, Facts, Funding, LevelFacts, ModelFacts, Severity, Side, Symbol,
    TimeMs,
};
use crate::numbers::{price, usd};

/// Where price went between two looks: a mark tick (low = high = close) or a closed bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceObs {
    pub time: TimeMs,
    pub low: f64,
    pub high: f64,
    pub close: f64,
}

impl PriceObs {
    pub fn tick(time: TimeMs, price: f64) -> PriceObs {
        PriceObs {
            time,
            low: price,
            high: price,
            close: price,
        }
    }

    fn is_valid(&self) -> bool {
        self.low.is_finite() && self.high.is_finite() && self.low > 0.0 && self.low <= self.high
    }
}

/// What the cluster rules read besides the clusters.
#[derive(Debug, Clone, Copy)]
pub struct ClusterContext<'a> {
    pub symbol: &'a Symbol,
    pub bias: Bias,
    pub funding: Option<Funding>,
    /// Hourly ATR in price units, when known.
    pub atr_1h: Option<f64>,
    pub params: &'a RuleParams,
}

impl ClusterRuleParams {
    /// Whether a cluster is worth an alert.
    pub fn qualifies(&self, c: &Cluster) -> bool {
        c.density >= self.min_density
            && c.share >= self.min_share
            && c.age_steps >= self.min_age_steps
    }

    /// Approach distance in price units: max(frac · price, mult · ATR1h).
    pub fn approach_distance(&self, price: f64, atr_1h: Option<f64>) -> f64 {
        let atr = atr_1h.filter(|a| a.is_finite()).unwrap_or(0.0);
        (self.approach_frac * price).max(self.approach_atr_mult * atr)
    }
}

/// Evaluates one price observation against `clusters` (the list of the last heatmap step) and
/// appends the alerts it raises. Returns the qualifying fuel cluster whose near edge price
/// reached, if any (a divergence exit looks for it), whether or not an alert was raised.
pub fn cluster_alerts(
    obs: &PriceObs,
    clusters: &Clusters,
    ctx: &ClusterContext<'_>,
    touches: &mut Touches,
    out: &mut Vec<Alert>,
) -> Option<Cluster> {
    let p = &ctx.params.clusters;
    let quiet = Quiet {
        cooldown: ctx.params.cooldown_ms,
        retouch: p.retouch_quiet_ms,
    };
    touches.prune(|id| clusters.iter().any(|c| c.id == id), obs.time, quiet);
    if !obs.is_valid() {
        return None;
    }
    let distance = p.approach_distance(clusters.price, ctx.atr_1h);
    let mut fuel_reached = None;
    for side in [Side::Long, Side::Short] {
        let list = &clusters.side(side).clusters;
        for (i, c) in list.iter().enumerate().filter(|(_, c)| p.qualifies(c)) {
            let ahead = |edge: f64, by: f64| reach(side, obs, edge, by);
            let away = |edge: f64| {
                let gap = match side {
                    Side::Long => obs.close - edge,
                    Side::Short => edge - obs.close,
                };
                gap >= p.rearm_mult * distance
            };
            let born_armed = |edge: f64| (edge - clusters.price).abs() > distance;
            let level = |touched: bool, edge: f64| match (touched, away(edge)) {
                (true, _) => Level::Touched,
                (false, true) => Level::Away,
                (false, false) => Level::Near,
            };
            let at_edge = ahead(c.near_edge, 0.0);
            if at_edge && ctx.bias.label(side) == ClusterLabel::Fuel {
                fuel_reached = Some(*c);
            }
            let checks = [
                (
                    AlertKind::ClusterApproach,
                    !at_edge && ahead(c.near_edge, distance),
                    c.near_edge,
                ),
                (AlertKind::ClusterEdge, at_edge, c.near_edge),
                (AlertKind::ClusterSwept, ahead(c.far_edge, 0.0), c.far_edge),
            ];
            for (kind, touched, edge) in checks {
                let fire = touches.observe(
                    kind,
                    c.id,
                    level(touched, edge),
                    born_armed(edge),
                    obs.time,
                    quiet,
                );
                if fire {
                    let next = list[i + 1..].iter().find(|n| p.qualifies(n));
                    out.push(alert(kind, obs, c, next, clusters, distance, ctx));
                }
            }
        }
    }
    fuel_reached
}

/// Whether price came within `by` of `edge` from its side: down to it for long clusters below,
/// up to it for short clusters above.
fn reach(side: Side, obs: &PriceObs, edge: f64, by: f64) -> bool {
    match side {
        Side::Long => obs.low <= edge + by,
        Side::Short => obs.high >= edge - by,
    }
}

/// Every heatmap fact is an estimate: say so, with the model's mode and coverage.
pub fn model_facts(clusters: &Clusters) -> ModelFacts {
    ModelFacts {
        estimate: true,
        mode: clusters.mode,
        coverage: clusters.coverage,
        step_ms: clusters.time,
    }
}

fn alert(
    kind: AlertKind,
    obs: &PriceObs,
    c: &Cluster,
    next: Option<&Cluster>,
    clusters: &Clusters,
    distance: f64,
    ctx: &ClusterContext<'_>,
) -> Alert {
    let label = ctx.bias.label(c.side);
    let zone = format!(
        "{}-liquidation cluster {}–{} ({}, ~{} est., density {:.1})",
        c.side.as_str(),
        price(c.near_edge.min(c.far_edge)),
        price(c.near_edge.max(c.far_edge)),
        label.as_str(),
        usd(c.notional_usd),
        c.density,
    );
    let symbol = ctx.symbol;
    let title = match kind {
        AlertKind::ClusterApproach => {
            let gap = 100.0 * (c.near_edge - obs.close).abs() / obs.close;
            format!("{symbol} {gap:.2} % from {zone}")
        }
        AlertKind::ClusterEdge => format!("{symbol} reached {zone}"),
        _ => match next {
            Some(n) => format!(
                "{symbol} swept {zone}; next {}–{}",
                price(n.near_edge.min(n.far_edge)),
                price(n.near_edge.max(n.far_edge))
            ),
            None => format!("{symbol} swept {zone}; no further cluster in the window"),
        },
    };
    let severity = match (kind, label) {
        (AlertKind::ClusterApproach, _) | (_, ClusterLabel::Magnet) => Severity::Info,
        _ => Severity::Warning,
    };
    // The touch window: one cooldown long, so a restart that sees the same touch again
    // derives the same id.
    let window = obs.time.div_euclid(ctx.params.cooldown_ms.max(1));
    let facts = Box::new(LevelFacts {
        label,
        price: obs.close,
        low: obs.low,
        high: obs.high,
        approach_distance: distance,
        cluster: c.facts(),
        next_cluster: next.map(Cluster::facts),
        bias: ctx.bias.facts(),
        converged: ctx.bias.converged,
        funding: funding_facts(ctx.funding, ctx.bias.wave, &ctx.params.funding),
        model: model_facts(clusters),
    });
    let facts = match kind {
        AlertKind::ClusterApproach => Facts::ClusterApproach(facts),
        AlertKind::ClusterEdge => Facts::ClusterEdge(facts),
        _ => Facts::ClusterSwept(facts),
    };
    let trigger = format!("{}:{window}", c.id);
    Alert::new(
        symbol.clone(),
        None,
        trigger,
        obs.time,
        severity,
        title,
        facts,
    )
}
