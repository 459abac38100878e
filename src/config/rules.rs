//! The analytics sections: `[heatmap]` (the liquidation-heatmap model and its clusters),
//! `[rules]` (cluster, setup, exit and funding settings), `[[mutes]]` and `[[routes]]`, in the
//! units a config author thinks in (minutes, hours, percent). The defaults are the models' own
//! (`HeatmapParams::default()`, `ClusterParams::default()`, `RuleParams::DEFAULT`,
//! `Routes::defaults()`), and the heatmap ranges are at least as strict as
//! `HeatmapParams::problems()`, so a config that passes never builds a model that would refuse
//! its parameters. Must never do I/O, read the clock (a mute that has already ended is inert, not
//! wrong) or read a secret.

use std::ops::Bound::{Excluded, Included};

use super::sections::symbol;
use super::table::{Table, fraction, intervals, one_of, parsed, positive};
use crate::analytics::clusters::ClusterParams;
use crate::analytics::heatmap::{HeatmapParams, LeverageTier};
use crate::model::Interval::{self, D1, H4};
use crate::model::{AlertKind, HOUR_MS, MINUTE_MS, Symbol};
use crate::rules::{
    ClusterRuleParams, ExitParams, FundingParams, KindFilter, Mute, Mutes, PlaybookParams, Route,
    Routes, RuleParams, SINKS, SetupParams,
};

section! {
    /// The liquidation-heatmap model and its cluster extraction (DESIGN.md §4.4).
    #[derive(Default)]
    pub struct HeatmapConfig(t) {
        pub model: HeatmapParams = model(t),
        pub clusters: ClusterParams = heatmap_clusters(&t.table("clusters")),
    }
}

fn model(t: &Table) -> HeatmapParams {
    let d = HeatmapParams::default();
    HeatmapParams {
        bin_bp: t.float("bin_bp", d.bin_bp, positive(1000.0)),
        window_bins: t.int("window_bins", d.window_bins, 256..=65_536),
        reanchor_margin: t.float("reanchor_margin", d.reanchor_margin, 0.0..0.5),
        tiers: tiers(t, &d.tiers),
        smear_rel: t.float("smear", d.smear_rel, 0.0..=1.0),
        smear_min_bins: t.float("smear_min_bins", d.smear_min_bins, 0.0..=1000.0),
        smear_cutoff_sigmas: t.float("smear_cutoff_sigmas", d.smear_cutoff_sigmas, positive(10.0)),
        taker_kappa: t.float("taker_kappa", d.taker_kappa, 0.0..=10.0),
        // Each bound on its own side of an even split, so min ≤ max needs no relation check.
        taker_share_min: t.float("taker_share_min", d.taker_share_min, 0.0..=0.5),
        taker_share_max: t.float("taker_share_max", d.taker_share_max, 0.5..=1.0),
        half_life_ms: t.hours("half_life_hours", d.half_life_ms, 8760.0), // a year
        volume_proxy_factor: t.float("volume_proxy_factor", d.volume_proxy_factor, 0.0..=1.0),
    }
}

/// `leverage_tiers` and `tier_weights`, paired one to one.
fn tiers(t: &Table, default: &[LeverageTier]) -> Vec<LeverageTier> {
    let (leverages, weights) = default.iter().map(|t| (t.leverage, t.weight)).unzip();
    let above_1 = (Excluded(1.0), Included(1000.0));
    let leverages = t.floats("leverage_tiers", leverages, above_1);
    let weights = t.floats("tier_weights", weights, 0.0..=100.0);
    if leverages.value.is_empty() {
        t.report(&leverages.at, "must list at least one leverage");
    } else if leverages.value.len() != weights.value.len() {
        // Blame the list the file wrote, as for an order; the other may be the default.
        let (blamed, other) = match weights.set || !leverages.set {
            true => (&weights, &leverages),
            false => (&leverages, &weights),
        };
        let (n, n_other, path) = (blamed.value.len(), other.value.len(), &other.at.path);
        let default = if other.set { "" } else { ", its default" };
        let pair = "the two lists pair up one to one";
        let message = format!("has {n} entries but {path} has {n_other}{default}; {pair}");
        t.report(&blamed.at, message);
    } else if weights.valid && !weights.value.iter().any(|&w| w > 0.0) {
        t.report(&weights.at, "must have at least one weight above 0");
    }
    let pairs = leverages.value.iter().zip(&weights.value);
    let tier = |(&leverage, &weight)| LeverageTier { leverage, weight };
    pairs.map(tier).collect()
}

/// `[heatmap.clusters]`: `*_pct` keys are percent, fractions in the model.
fn heatmap_clusters(t: &Table) -> ClusterParams {
    let d = ClusterParams::default();
    let window_atr_mult = t.float("window_atr_mult", d.window_atr_mult, 0.0..=100.0);
    let window = (Excluded(0.0), Excluded(100.0));
    let min = t.percent("window_min_pct", d.window_min, window);
    let max = t.percent("window_max_pct", d.window_max, window);
    t.order(&min, &max, false);
    ClusterParams {
        window_atr_mult,
        window_min: fraction(&min, d.window_min),
        window_max: fraction(&max, d.window_max),
        fallback_atr_frac: t.frac("fallback_atr_pct", d.fallback_atr_frac, positive(100.0)),
        hot_background_mult: t.float("hot_background_mult", d.hot_background_mult, 0.0..=100.0),
        hot_percentile: t.float("hot_percentile", d.hot_percentile, 0.0..=1.0),
        background_min_count: t.int("background_min_count", d.background_min_count, 0..=10_000),
        merge_gap_bins: t.int("merge_gap_bins", d.merge_gap_bins, 0..=1000),
        min_share: t.frac("min_share_pct", d.min_share, 0.0..=100.0),
        isolation_cap: t.float("isolation_cap", d.isolation_cap, 0.0..=1000.0),
        fuel_atr_mult: t.float("fuel_atr_mult", d.fuel_atr_mult, 0.0..=100.0),
        id_match_bins: t.int("id_match_bins", d.id_match_bins, 0..=1000),
    }
}

pub(super) fn rules(t: &Table) -> RuleParams {
    let (d, signal) = (RuleParams::DEFAULT, intervals(&Interval::SIGNAL));
    RuleParams {
        bias_timeframe: t.choice("bias_timeframe", d.bias_timeframe, &signal),
        // At most a week.
        cooldown_ms: t.int("cooldown_minutes", d.cooldown_ms / MINUTE_MS, 1..=10_080) * MINUTE_MS,
        clusters: clusters(&t.table("clusters")),
        setup: setup(&t.table("setup")),
        exit: exit(&t.table("exit")),
        funding: funding(&t.table("funding")),
        playbook: playbook(&t.table("playbook")),
    }
}

/// `[rules.playbook]`: ignition, second leg and sweep reversal.
fn playbook(t: &Table) -> PlaybookParams {
    let d = PlaybookParams::DEFAULT;
    let reversal = intervals(&[H4, D1]);
    let on = t.list("reversal_timeframes", None, |text, _: &[Interval]| {
        one_of(text, &reversal)
    });
    let on = |i: Interval, default: bool| on.as_ref().map_or(default, |on| on.contains(&i));
    PlaybookParams {
        impulse_timeframe: t.choice("impulse_timeframe", d.impulse_timeframe, &reversal),
        ignition_atr_mult: t.float("ignition_atr_mult", d.ignition_atr_mult, positive(100.0)),
        ignition_close_position: t.float(
            "ignition_close_position",
            d.ignition_close_position,
            0.0..=1.0,
        ),
        bounce_retrace: t.float("bounce_retrace", d.bounce_retrace, 0.0..=1.0),
        leg_max_bars: t.int("leg_max_bars", d.leg_max_bars, 1..=1000),
        reversal_4h: on(H4, d.reversal_4h),
        reversal_1d: on(D1, d.reversal_1d),
        reversal_stop_atr: t.float("reversal_stop_atr", d.reversal_stop_atr, 0.0..=10.0),
        convergence_entries: t.int("convergence_entries", d.convergence_entries, 1..=60),
    }
}

fn exit(t: &Table) -> ExitParams {
    let d = RuleParams::DEFAULT.exit;
    ExitParams {
        timeframe: t.choice("timeframe", d.timeframe, &intervals(&[H4, D1])),
        touch_window_ms: t.hours("touch_window_hours", d.touch_window_ms, 2160.0), // 90 days
    }
}

fn clusters(t: &Table) -> ClusterRuleParams {
    let d = RuleParams::DEFAULT.clusters;
    ClusterRuleParams {
        min_density: t.float("min_density", d.min_density, positive(1000.0)),
        min_share: t.frac("min_share_pct", d.min_share, 0.0..=100.0),
        min_age_steps: t.int("min_age_steps", d.min_age_steps, 1..=10_000),
        approach_frac: t.frac("approach_pct", d.approach_frac, positive(20.0)),
        approach_atr_mult: t.float("approach_atr_mult", d.approach_atr_mult, 0.0..=20.0),
        rearm_mult: t.float("rearm_mult", d.rearm_mult, 1.0..=20.0),
        // At most 30 days; 0 is off.
        retouch_quiet_ms: t.int("retouch_quiet_hours", d.retouch_quiet_ms / HOUR_MS, 0..=720)
            * HOUR_MS,
    }
}

fn setup(t: &Table) -> SetupParams {
    let d = RuleParams::DEFAULT.setup;
    SetupParams {
        timeframe: t.choice("timeframe", d.timeframe, &intervals(&[H4, D1])),
        min_reward_risk: t.float("min_reward_risk", d.min_reward_risk, positive(100.0)),
        fee_frac: t.frac("fee_pct", d.fee_frac, 0.0..=5.0),
        min_thin_approach: t.float("min_thin_approach", d.min_thin_approach, 0.0..=1.0),
    }
}

fn funding(t: &Table) -> FundingParams {
    let d = RuleParams::DEFAULT.funding;
    let percent = |key, frac| t.percent(key, frac, -1.0..=1.0);
    let longs = percent("crowded_longs_above_pct", d.crowded_longs_above);
    let shorts = percent("crowded_shorts_below_pct", d.crowded_shorts_below);
    t.order(&shorts, &longs, false);
    FundingParams {
        crowded_longs_above: fraction(&longs, d.crowded_longs_above),
        crowded_shorts_below: fraction(&shorts, d.crowded_shorts_below),
    }
}

/// `[[mutes]]`; an entry with a problem is reported and left out.
pub(super) fn mutes(t: &Table) -> Mutes {
    let mute = |m: Table| {
        let symbol = m.required("symbol", |m, key| m.parse(key, parsed::<Symbol>));
        let kind = m.parse("kind", parsed::<AlertKind>);
        let until = m.required("until", Table::utc);
        Some(Mute {
            symbol: symbol?,
            kind,
            until: until?,
        })
    };
    let mutes = t.tables("mutes").unwrap_or_default();
    Mutes::new(mutes.into_iter().filter_map(mute).collect())
}

/// `[[routes]]`: absent means `Routes::defaults()`; present, the routes written replace them.
pub(super) fn routes(t: &Table) -> Routes {
    let Some(routes) = t.tables("routes") else {
        return Routes::defaults();
    };
    if routes.is_empty() {
        // Not a way to keep the defaults, and no route at all would deliver nothing.
        let message = "must list at least one route (leave it out for the default routes)";
        t.problem("routes", message);
    }
    let route = |r: Table| {
        let sink = r.required("sink", |r, key| {
            r.parse(key, |s| one_of(s, &SINKS.map(|s| (s, s))))
        });
        let kinds = r.required("kinds", |r, key| {
            r.list(key, Some("must list at least one kind"), kind_filter)
        });
        let symbols = r.list("symbols", None, symbol).unwrap_or_default();
        Some(Route {
            sink: sink?.to_owned(),
            kinds: kinds?,
            symbols,
        })
    };
    Routes::new(routes.into_iter().filter_map(route).collect())
}

/// A route's kind, optionally narrowed to a label (`cluster_edge:fuel`), at most once per route.
fn kind_filter(text: &str, seen: &[KindFilter]) -> Result<KindFilter, String> {
    match parsed::<KindFilter>(text)? {
        kind if seen.contains(&kind) => Err(format!("duplicate kind {text:?}")),
        kind => Ok(kind),
    }
}
