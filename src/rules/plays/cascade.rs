//! `cascade_loading`: the pair's loading score crossed the configured level while a dense
//! cluster sits within a few percent of price. Fires once per crossing; the score falling back
//! below the level (or the cluster leaving) re-arms it. Pure: the score, the clusters and the arm
//! in, at most one alert out; never reads the clock.

use serde::{Deserialize, Serialize};

use crate::analytics::PairState;
use crate::analytics::clusters::{Cluster, Clusters};
use crate::analytics::loading::{CalendarEntry, ClusterTest, Crowded, LoadingParams, ScoreInputs};
use crate::analytics::venues::VenueMap;
use crate::model::{Alert, CascadeFacts, Facts, LoadingScore, Severity, Symbol, TimeMs};
use crate::numbers::{price, usd};
use crate::rules::bias::Bias;
use crate::rules::clusters::model_facts;
use crate::rules::params::RuleParams;

/// Whether the next crossing may alert (absent in older snapshots: armed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CascadeArm(bool);

impl Default for CascadeArm {
    fn default() -> Self {
        CascadeArm(true)
    }
}

/// When the alert fires (`[cascade]`): signals on over known at least `level`, at least
/// `min_known` known, an alert-grade cluster within `near_frac` of price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CascadeLevel {
    pub level: f64,
    pub min_known: usize,
    pub near_frac: f64,
}

/// What the score and its alert read from the config (`[cascade]`, `[[calendar]]`).
#[derive(Debug, Clone, Copy)]
pub struct CascadeSetup<'a> {
    pub loading: &'a LoadingParams,
    pub calendar: &'a [CalendarEntry],
    pub when: CascadeLevel,
    /// The pair's market on every followed venue (its home pair only; `None` with one venue).
    pub venues: Option<&'a VenueMap>,
}

/// The pair's cascade-loading score at `at`, judged with the rules' cluster and funding tests;
/// `None` before the pair has a price.
pub fn loading_score(
    pair: &PairState,
    at: TimeMs,
    setup: &CascadeSetup<'_>,
    p: &RuleParams,
) -> Option<LoadingScore> {
    let price = pair.heat().map().last_price()?;
    let c = &p.clusters;
    let inputs = ScoreInputs {
        price,
        clusters: pair.heat().clusters(),
        cluster_test: ClusterTest {
            min_density: c.min_density,
            min_share: c.min_share,
            min_age_steps: c.min_age_steps,
        },
        crowded: Crowded {
            longs_above: p.funding.crowded_longs_above,
            shorts_below: p.funding.crowded_shorts_below,
        },
        calendar: setup.calendar,
        venues: setup.venues,
    };
    Some(pair.loading().score(at, &inputs, setup.loading))
}

/// What the cascade rule reads besides the score.
#[derive(Debug, Clone, Copy)]
pub struct CascadeInput<'a> {
    pub symbol: &'a Symbol,
    pub score: &'a LoadingScore,
    pub clusters: &'a Clusters,
    pub price: f64,
    pub bias: Bias,
    pub converged: bool,
    pub when: CascadeLevel,
}

/// The nearest alert-grade cluster whose near edge lies within `near_frac` of price.
fn dense_near<'c>(
    clusters: &'c Clusters,
    price: f64,
    near_frac: f64,
    p: &RuleParams,
) -> Option<&'c Cluster> {
    let gap = |c: &Cluster| (c.near_edge - price).abs() / price;
    clusters
        .iter()
        .filter(|c| p.clusters.qualifies(c) && gap(c) <= near_frac)
        .min_by(|a, b| gap(a).total_cmp(&gap(b)))
}

/// Judges one score; fires when armed and the score is at or above the level with enough signals
/// known and a dense cluster near.
pub fn cascade_loading(
    input: &CascadeInput<'_>,
    arm: &mut CascadeArm,
    p: &RuleParams,
) -> Option<Alert> {
    let when = input.when;
    let score = input.score;
    let loaded = score.known() >= when.min_known && score.fraction() >= when.level;
    let cluster = dense_near(input.clusters, input.price, when.near_frac, p).filter(|_| loaded);
    let Some(cluster) = cluster else {
        arm.0 = true;
        return None;
    };
    if !std::mem::replace(&mut arm.0, false) {
        return None;
    }
    let title = format!(
        "{} cascade loading {}: {}-liquidation cluster {}–{} (~{} est.) {:.1} % away",
        input.symbol,
        score.ratio(),
        cluster.side.as_str(),
        price(cluster.near_edge.min(cluster.far_edge)),
        price(cluster.near_edge.max(cluster.far_edge)),
        usd(cluster.notional_usd),
        100.0 * (cluster.near_edge - input.price).abs() / input.price,
    );
    let facts = CascadeFacts {
        score: score.clone(),
        on: score.on(),
        known: score.known(),
        level: when.level,
        price: input.price,
        side: cluster.side,
        cluster: cluster.facts(),
        bias: input.bias.facts(),
        converged: input.converged,
        model: model_facts(input.clusters),
    };
    Some(Alert::new(
        input.symbol.clone(),
        None,
        score.time_ms,
        score.time_ms,
        Severity::Info,
        title,
        Facts::CascadeLoading(Box::new(facts)),
    ))
}
