//! The `[rules]`, `[[mutes]]` and `[[routes]]` schema: the settings of the heatmap and setup rules
//! in the units a config author thinks in (minutes, hours, percent), assembled into `RuleParams`;
//! and the mutes and routes, each entry checked on its own and reported by its index. The defaults
//! are the rules' own (`RuleParams::DEFAULT`, `Routes::defaults()`). Must never do I/O, read the
//! clock (a mute that has already ended is inert, not wrong) or read a secret.

use super::check::{Checker, fraction, positive};
use super::raw::{RawExit, RawFunding, RawMute, RawRoute, RawRuleClusters, RawRules, RawSetup};
use crate::model::{AlertKind, Interval, MINUTE_MS, Symbol, TimeMs, parse_utc};
use crate::rules::{
    ClusterRuleParams, ExitParams, FundingParams, KindFilter, Mute, Mutes, Route, Routes,
    RuleParams, SINKS, SetupParams,
};

/// The timeframes whose regime can be the wave (each qualified by the next higher one).
const BIAS_TIMEFRAMES: &[(&str, Interval)] = &[
    ("4h", Interval::H4),
    ("1d", Interval::D1),
    ("1w", Interval::W1),
];

/// The timing timeframes a setup or an exit can watch.
const RULE_TIMEFRAMES: &[(&str, Interval)] = &[("4h", Interval::H4), ("1d", Interval::D1)];

impl Checker<'_, '_> {
    pub(super) fn rules(&mut self, raw: &RawRules) -> RuleParams {
        let d = RuleParams::DEFAULT;
        let cooldown = self.int(
            "rules.cooldown_minutes",
            raw.cooldown_minutes,
            (d.cooldown_ms / MINUTE_MS) as usize,
            1..=10_080, // a week
        );
        RuleParams {
            bias_timeframe: self.choice(
                "rules.bias_timeframe",
                raw.bias_timeframe.clone(),
                d.bias_timeframe,
                BIAS_TIMEFRAMES,
            ),
            cooldown_ms: if cooldown.set {
                cooldown.value as TimeMs * MINUTE_MS
            } else {
                d.cooldown_ms
            },
            clusters: self.rule_clusters(&raw.clusters),
            setup: self.setup(&raw.setup),
            exit: self.exit(&raw.exit),
            funding: self.funding(&raw.funding),
        }
    }

    fn rule_clusters(&mut self, raw: &RawRuleClusters) -> ClusterRuleParams {
        let d = RuleParams::DEFAULT.clusters;
        let min_share = self.percent(
            "rules.clusters.min_share_pct",
            raw.min_share_pct,
            d.min_share,
            0.0..=100.0,
        );
        let approach = self.percent(
            "rules.clusters.approach_pct",
            raw.approach_pct,
            d.approach_frac,
            positive(20.0),
        );
        ClusterRuleParams {
            min_density: self
                .float(
                    "rules.clusters.min_density",
                    raw.min_density,
                    d.min_density,
                    positive(1000.0),
                )
                .value,
            min_share: fraction(min_share, d.min_share),
            min_age_steps: self
                .int(
                    "rules.clusters.min_age_steps",
                    raw.min_age_steps,
                    d.min_age_steps as usize,
                    1..=10_000,
                )
                .value as u32, // at most 10000
            approach_frac: fraction(approach, d.approach_frac),
            approach_atr_mult: self
                .float(
                    "rules.clusters.approach_atr_mult",
                    raw.approach_atr_mult,
                    d.approach_atr_mult,
                    0.0..=20.0,
                )
                .value,
            rearm_mult: self
                .float(
                    "rules.clusters.rearm_mult",
                    raw.rearm_mult,
                    d.rearm_mult,
                    1.0..=20.0,
                )
                .value,
        }
    }

    fn setup(&mut self, raw: &RawSetup) -> SetupParams {
        let d = RuleParams::DEFAULT.setup;
        let fee = self.percent("rules.setup.fee_pct", raw.fee_pct, d.fee_frac, 0.0..=5.0);
        SetupParams {
            timeframe: self.choice(
                "rules.setup.timeframe",
                raw.timeframe.clone(),
                d.timeframe,
                RULE_TIMEFRAMES,
            ),
            min_reward_risk: self
                .float(
                    "rules.setup.min_reward_risk",
                    raw.min_reward_risk,
                    d.min_reward_risk,
                    positive(100.0),
                )
                .value,
            fee_frac: fraction(fee, d.fee_frac),
            min_thin_approach: self
                .float(
                    "rules.setup.min_thin_approach",
                    raw.min_thin_approach,
                    d.min_thin_approach,
                    0.0..=1.0,
                )
                .value,
        }
    }

    fn exit(&mut self, raw: &RawExit) -> ExitParams {
        let d = RuleParams::DEFAULT.exit;
        ExitParams {
            timeframe: self.choice(
                "rules.exit.timeframe",
                raw.timeframe.clone(),
                d.timeframe,
                RULE_TIMEFRAMES,
            ),
            touch_window_ms: self.hours(
                "rules.exit.touch_window_hours",
                raw.touch_window_hours,
                d.touch_window_ms,
                2160.0, // 90 days
            ),
        }
    }

    /// Funding thresholds in percent per funding interval; shorts are crowded below the one and
    /// longs above the other, so the first may not exceed the second.
    fn funding(&mut self, raw: &RawFunding) -> FundingParams {
        let d = RuleParams::DEFAULT.funding;
        let longs = self.percent(
            "rules.funding.crowded_longs_above_pct",
            raw.crowded_longs_above_pct,
            d.crowded_longs_above,
            -1.0..=1.0,
        );
        let shorts = self.percent(
            "rules.funding.crowded_shorts_below_pct",
            raw.crowded_shorts_below_pct,
            d.crowded_shorts_below,
            -1.0..=1.0,
        );
        self.order(shorts, longs, false);
        FundingParams {
            crowded_longs_above: fraction(longs, d.crowded_longs_above),
            crowded_shorts_below: fraction(shorts, d.crowded_shorts_below),
        }
    }

    /// `[[mutes]]`: each entry needs `symbol` and `until`; without `kind` it mutes every kind.
    /// An entry with a problem is reported and left out.
    pub(super) fn mutes(&mut self, raw: Option<Vec<RawMute>>) -> Mutes {
        let mut mutes = Vec::new();
        for (i, raw) in raw.unwrap_or_default().into_iter().enumerate() {
            let at = |key: &str| format!("mutes[{i}].{key}");
            let symbol = match raw.symbol {
                Some(text) => self.parsed::<Symbol>(&at("symbol"), &text),
                None => {
                    self.missing(&at("symbol"));
                    None
                }
            };
            let kind = match raw.kind {
                Some(text) => self.parsed::<AlertKind>(&at("kind"), &text).map(Some),
                None => Some(None),
            };
            let until = match raw.until {
                Some(text) => {
                    let parsed = parse_utc(&text.0);
                    if parsed.is_none() {
                        let message = format!(
                            "must be a UTC date and time such as \"2025-07-01T00:00:00Z\", got \
                             {:?}",
                            text.0
                        );
                        self.report_at(&at("until"), message);
                    }
                    parsed
                }
                None => {
                    self.missing(&at("until"));
                    None
                }
            };
            if let (Some(symbol), Some(kind), Some(until)) = (symbol, kind, until) {
                mutes.push(Mute {
                    symbol,
                    kind,
                    until,
                });
            }
        }
        Mutes::new(mutes)
    }

    /// `[[routes]]`: absent means `Routes::defaults()`; present, the routes written replace the
    /// defaults entirely. Each needs `sink` and a non-empty `kinds`; `symbols` narrows it.
    pub(super) fn routes(&mut self, raw: Option<Vec<RawRoute>>) -> Routes {
        let Some(raw) = raw else {
            return Routes::defaults();
        };
        if raw.is_empty() {
            // Not a way to keep the defaults, and no route at all would deliver nothing.
            let message = "must list at least one route (leave it out for the default routes)";
            self.report_at("routes", message);
        }
        let sinks = SINKS.map(|sink| (sink, sink));
        let mut routes = Vec::new();
        for (i, raw) in raw.into_iter().enumerate() {
            let at = |key: &str| format!("routes[{i}].{key}");
            let sink = match raw.sink {
                Some(text) => self.one_of(&at("sink"), &text, &sinks),
                None => {
                    self.missing(&at("sink"));
                    None
                }
            };
            let kinds = self.kind_filters(&at("kinds"), raw.kinds);
            let symbols = self.symbols(&at("symbols"), raw.symbols);
            if let (Some(sink), Some(kinds)) = (sink, kinds) {
                routes.push(Route {
                    sink: sink.to_owned(),
                    kinds,
                    symbols,
                });
            }
        }
        Routes::new(routes)
    }

    /// A route's `kinds`: required, not empty, each a kind optionally narrowed to a label
    /// (`cluster_edge:fuel`), each at most once. `None` after any problem.
    fn kind_filters(&mut self, path: &str, raw: Option<Vec<String>>) -> Option<Vec<KindFilter>> {
        let Some(raw) = raw else {
            self.missing(path);
            return None;
        };
        if raw.is_empty() {
            self.report_at(path, "must list at least one kind");
            return None;
        }
        let mut kinds = Vec::with_capacity(raw.len());
        let mut valid = true;
        for (j, text) in raw.iter().enumerate() {
            let at = format!("{path}[{j}]");
            match self.parsed::<KindFilter>(&at, text) {
                Some(kind) if kinds.contains(&kind) => {
                    self.report_at(&at, format!("duplicate kind {text:?}"));
                    valid = false;
                }
                Some(kind) => kinds.push(kind),
                None => valid = false,
            }
        }
        valid.then_some(kinds)
    }
}
