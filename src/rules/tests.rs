//! Table tests of the rules on hand-made clusters, bars and swings: each case is one line.

use super::*;
use crate::analytics::clusters::{Cluster, ClusterId, Clusters, SideClusters};
use crate::analytics::entry::EntryDirection;
use crate::analytics::heatmap::Mode;
use crate::analytics::pivots::{Divergence, DivergenceKind, PivotBar};
use crate::analytics::regime::Regime;
use crate::analytics::rsi::RsiValue;
use crate::analytics::swings::SwingTracker;
use crate::analytics::timeframe::BarSignals;
use crate::model::{
    Alert, AlertKind, Candle, Checklist, Facts, Funding, HOUR_MS, Interval, MINUTE_MS, Side,
    demo_alert,
};

pub(super) const P: RuleParams = RuleParams::DEFAULT;

fn symbol() -> crate::model::Symbol {
    "BTCUSDT".parse().unwrap()
}

/// A cluster from near edge to far edge with its qualifying scores; `bin` names it.
pub(super) fn cluster(
    bin: i32,
    near: f64,
    far: f64,
    density: f64,
    share: f64,
    age: u32,
) -> Cluster {
    let side = if far < near { Side::Long } else { Side::Short };
    Cluster {
        id: ClusterId { side, bin },
        side,
        near_edge: near,
        far_edge: far,
        peak_price: (near + far) / 2.0,
        near_bin: bin,
        far_bin: bin,
        peak_bin: bin,
        notional_usd: 5e6,
        density,
        density_rank: 1,
        share,
        thin_approach: 0.8,
        gap_pct: 0.0,
        gap_atr: 0.0,
        isolation: 10.0,
        fuel_behind: 0.1,
        age_steps: age,
    }
}

/// A strong cluster (density 5, share 20 %, 3 steps old).
pub(super) fn strong(bin: i32, near: f64, far: f64) -> Cluster {
    cluster(bin, near, far, 5.0, 0.2, 3)
}

/// Clusters around `price`, nearest first per side.
pub(super) fn map(price: f64, list: &[Cluster]) -> Clusters {
    let side = |s: Side| SideClusters {
        background: 1.0,
        threshold: 3.0,
        window_mass: 1e7,
        clusters: list.iter().filter(|c| c.side == s).copied().collect(),
    };
    Clusters {
        time: Some(0),
        price,
        mode: Mode::VolumeProxy,
        coverage: None,
        window: 0.1,
        long: side(Side::Long),
        short: side(Side::Short),
    }
}

pub(super) fn bias(wave: Regime) -> Bias {
    Bias::from_regimes(Some(wave), None)
}

/// What the cluster rules read, for `symbol` in a `wave` with no funding and no hourly ATR.
fn context(symbol: &crate::model::Symbol, wave: Regime) -> ClusterContext<'_> {
    ClusterContext {
        symbol,
        bias: bias(wave),
        funding: None,
        atr_1h: None,
        params: &P,
    }
}

/// Observations (minute, low, high, close) against fixed clusters; the (minute, kind) alerts.
fn touches(
    wave: Regime,
    clusters: &Clusters,
    obs: &[(i64, f64, f64, f64)],
) -> Vec<(i64, AlertKind)> {
    let sym = symbol();
    let ctx = context(&sym, wave);
    let mut state = Touches::default();
    let mut out = Vec::new();
    for &(minute, low, high, close) in obs {
        let o = PriceObs {
            time: minute * MINUTE_MS,
            low,
            high,
            close,
        };
        let before = out.len();
        cluster_alerts(&o, clusters, &ctx, &mut state, &mut out);
        for a in &out[before..] {
            assert_eq!(a.time_ms, o.time, "an alert carries its observation's time");
        }
    }
    out.iter()
        .map(|a| (a.time_ms / MINUTE_MS, a.kind()))
        .collect()
}

#[test]
fn cluster_levels_alert_once_per_touch_and_rearm_only_after_moving_away() {
    use AlertKind::{ClusterApproach as A, ClusterEdge as E, ClusterSwept as S};
    // A short cluster 102–105 above price 100; approach distance 0.5 % of 100 = 0.5, re-arm 1.0;
    // cooldown 60 min, retouch quiet span 12 h (720 min).
    let above = map(100.0, &[strong(1, 102.0, 105.0)]);
    let weak = map(100.0, &[cluster(1, 102.0, 105.0, 3.9, 0.2, 3)]);
    let thin = map(100.0, &[cluster(1, 102.0, 105.0, 5.0, 0.04, 3)]);
    let young = map(100.0, &[cluster(1, 102.0, 105.0, 5.0, 0.2, 1)]);
    let at_price = map(102.0, &[strong(1, 102.0, 105.0)]);
    type Obs = &'static [(i64, f64, f64, f64)];
    type Fired = &'static [(i64, AlertKind)];
    // (clusters, observations (minute, low, high, close), alerts (minute, kind))
    #[rustfmt::skip]
    let cases: [(&Clusters, Obs, Fired); 11] = [
        (&above, &[(5, 100.0, 101.0, 100.5)], &[]),
        (&above, &[(5, 100.0, 101.6, 101.5)], &[(5, A)]),
        (&above, &[(5, 100.0, 102.0, 101.9)], &[(5, E)]),
        (&above, &[(5, 100.0, 102.1, 101.9), (10, 101.0, 102.3, 102.0), (15, 101.5, 102.2, 102.0)], &[(5, E)]),
        (&above, &[(5, 100.0, 102.1, 100.5), (30, 100.0, 100.8, 100.5), (40, 100.5, 102.1, 102.0)], &[(5, E)]),
        (&above, &[(5, 100.0, 102.1, 100.5), (30, 100.0, 100.8, 100.5), (70, 100.5, 102.1, 102.0)], &[(5, E)]),
        (&above, &[(5, 100.0, 102.1, 100.5), (30, 100.0, 100.8, 100.5), (725, 100.5, 102.1, 102.0)], &[(5, E), (725, E)]),
        (&above, &[(5, 100.0, 102.1, 101.5), (30, 100.0, 101.2, 101.1), (70, 100.5, 102.1, 102.0)], &[(5, E)]),
        (&above, &[(5, 101.0, 106.0, 105.5)], &[(5, E), (5, S)]),
        (&at_price, &[(5, 101.8, 102.5, 102.2), (30, 100.2, 101.0, 100.9), (725, 100.5, 102.1, 102.0)], &[(725, E)]),
        (&young, &[(5, 100.0, 106.0, 105.0)], &[]),
    ];
    for (clusters, obs, want) in cases {
        assert_eq!(touches(Regime::Bull, clusters, obs), want, "{obs:?}");
    }
    for unqualified in [&weak, &thin] {
        assert!(touches(Regime::Bull, unqualified, &[(5, 100.0, 106.0, 105.0)]).is_empty());
    }
}

#[test]
fn clusters_are_fuel_in_the_wave_direction_and_magnets_otherwise() {
    let both = map(100.0, &[strong(1, 98.0, 95.0), strong(2, 102.0, 105.0)]);
    // (wave, observation low/high reaching one side, cluster side, label)
    #[rustfmt::skip]
    let cases = [
        (Regime::Bull, (100.0, 102.0), Side::Short, ClusterLabel::Fuel),
        (Regime::Bull, (98.0, 100.0), Side::Long, ClusterLabel::Magnet),
        (Regime::Bear, (98.0, 100.0), Side::Long, ClusterLabel::Fuel),
        (Regime::Bear, (100.0, 102.0), Side::Short, ClusterLabel::Magnet),
        (Regime::Range, (98.0, 100.0), Side::Long, ClusterLabel::Magnet),
        (Regime::Range, (100.0, 102.0), Side::Short, ClusterLabel::Magnet),
    ];
    for (wave, (low, high), side, label) in cases {
        let sym = symbol();
        let ctx = context(&sym, wave);
        let mut out = Vec::new();
        let obs = PriceObs {
            time: 0,
            low,
            high,
            close: 100.0,
        };
        let fuel = cluster_alerts(&obs, &both, &ctx, &mut Touches::default(), &mut out);
        let edge: Vec<&Alert> = out
            .iter()
            .filter(|a| a.kind() == AlertKind::ClusterEdge)
            .collect();
        assert_eq!(edge.len(), 1, "{wave} {side:?}");
        let Facts::ClusterEdge(facts) = &edge[0].facts else {
            panic!("{:?}", edge[0])
        };
        assert_eq!(facts.cluster.side, side);
        assert_eq!(edge[0].facts.label(), Some(label), "{wave} {side:?}");
        assert_eq!(
            fuel.is_some(),
            label == ClusterLabel::Fuel,
            "fuel touch is reported"
        );
    }
}

#[test]
fn a_sweep_names_the_next_cluster() {
    let list = map(
        100.0,
        &[
            strong(1, 102.0, 105.0),
            cluster(2, 106.0, 108.0, 2.0, 0.2, 3),
            strong(3, 110.0, 112.0),
        ],
    );
    let got = sweep_next(&list);
    assert_eq!(
        got,
        Some(112.0),
        "the next qualifying cluster, skipping a weak one"
    );
    assert_eq!(sweep_next(&map(100.0, &[strong(1, 102.0, 105.0)])), None);
}

fn sweep_next(clusters: &Clusters) -> Option<f64> {
    let sym = symbol();
    let ctx = context(&sym, Regime::Bull);
    let mut out = Vec::new();
    let obs = PriceObs {
        time: 0,
        low: 100.0,
        high: 105.5,
        close: 105.2,
    };
    cluster_alerts(&obs, clusters, &ctx, &mut Touches::default(), &mut out);
    let swept = out
        .iter()
        .find(|a| a.kind() == AlertKind::ClusterSwept)
        .expect("swept");
    let Facts::ClusterSwept(facts) = &swept.facts else {
        panic!("{swept:?}")
    };
    facts.next_cluster.as_ref().map(|n| n.far_edge)
}

/// A closed 4h bar with RSI 45 and the given close, entry and divergence.
fn bar(
    close: f64,
    entry: Option<EntryDirection>,
    divergence: Option<DivergenceKind>,
) -> BarSignals {
    let pivot = PivotBar {
        index: 10,
        open_time: 0,
        rsi: 40.0,
        low: 90.0,
        high: 110.0,
    };
    BarSignals {
        interval: Interval::H4,
        candle: Candle {
            open_time: 100 * HOUR_MS,
            open: close,
            high: close + 1.0,
            low: close - 1.0,
            close,
            volume: 1.0,
            quote_volume: None,
            taker_buy_quote: None,
        },
        bars: 300,
        rsi: Some(RsiValue {
            rsi: 45.0,
            avg_gain: 1.0,
            avg_loss: 1.0,
        }),
        regime_before: Regime::Bull,
        regime: Regime::Bull,
        cross50: None,
        divergence: divergence.map(|kind| Divergence {
            kind,
            pivot,
            prev: pivot,
        }),
        entry,
        after_gap: false,
        sweep: None,
        atr_before: None,
    }
}

/// Swing lows and highs, confirmed with lbL = lbR = 1 from V shapes.
fn swings(lows: &[f64], highs: &[f64]) -> SwingTracker {
    let mut t = SwingTracker::default();
    let mut time = 0;
    for &low in lows {
        for l in [low + 1.0, low, low + 1.0] {
            t.push(time, l, 1e9, 1, 1);
            time += 1;
        }
    }
    for &high in highs {
        for h in [high - 1.0, high, high - 1.0] {
            t.push(time, 0.0, h, 1, 1);
            time += 1;
        }
    }
    t
}

type SetupOutcome = Result<(f64, f64, Option<f64>, f64), NoSetup>;

/// (stop, T1, T2, R:R rounded to 0.01) of a setup, or why there is none.
fn setup(
    direction: EntryDirection,
    wave: Regime,
    clusters: &[Cluster],
    swings: &SwingTracker,
    funding: Option<f64>,
) -> SetupOutcome {
    let sym = symbol();
    let trigger = bar(100.0, Some(direction), None);
    let clusters = map(100.0, clusters);
    let input = SetupInput {
        symbol: &sym,
        trigger: &trigger,
        bias: bias(wave),
        clusters: Some(&clusters),
        swings,
        funding: funding.map(|rate| Funding { time: 0, rate }),
        converged: true,
    };
    setup_entry(&input, &P).map(|a| {
        let Facts::SetupEntry(f) = a.facts else {
            panic!("{a:?}")
        };
        (f.stop, f.t1, f.t2, (f.reward_risk * 100.0).round() / 100.0)
    })
}

#[test]
fn setups_need_the_wave_fuel_ahead_a_stop_and_enough_reward() {
    use EntryDirection::{Long, Short};
    use Regime::{Bear, Bull, Range};
    let up = [strong(1, 104.0, 110.0), strong(2, 115.0, 120.0)];
    let down = [strong(1, 96.0, 90.0)];
    let lows = swings(&[95.0, 97.0], &[]);
    let highs = swings(&[], &[103.0]);
    // R:R long = (110 − 100 − 0.1) / (100 − 97 + 0.1) = 3.19; short = (10 − 0.1) / (3 + 0.1).
    // (direction, wave after the bar, clusters, swings, outcome)
    #[rustfmt::skip]
    let cases: [(EntryDirection, Regime, &[Cluster], &SwingTracker, SetupOutcome); 9] = [
        (Long, Bull, &up, &lows, Ok((97.0, 110.0, Some(120.0), 3.19))),
        (Short, Bear, &down, &highs, Ok((103.0, 90.0, None, 3.19))),
        (Long, Bear, &up, &lows, Err(NoSetup::BiasDisagrees)),
        (Long, Range, &up, &lows, Err(NoSetup::BiasDisagrees)),
        (Long, Bull, &down, &lows, Err(NoSetup::NoFuel)),
        (Long, Bull, &[cluster(1, 104.0, 110.0, 5.0, 0.2, 1)], &lows, Err(NoSetup::NoFuel)),
        (Long, Bull, &up, &highs, Err(NoSetup::NoStop)),
        (Long, Bull, &up, &swings(&[95.0], &[]), Err(NoSetup::RewardRisk(9.9 / 5.1))),
        (Long, Bull, &[strong(1, 100.5, 101.0)], &lows, Err(NoSetup::RewardRisk(0.9 / 3.1))),
    ];
    for (direction, wave, clusters, swings, want) in cases {
        let got = setup(direction, wave, clusters, swings, None);
        match (&got, &want) {
            (Err(NoSetup::RewardRisk(a)), Err(NoSetup::RewardRisk(b))) => {
                assert!((a - b).abs() < 1e-9)
            }
            _ => assert_eq!(got, want, "{direction:?} in {wave}"),
        }
    }
}

/// Every item of a setup's checklist ticked.
const CHECKED: Checklist = Checklist {
    regime_clear: true,
    cluster_in_wave_direction: true,
    thin_approach: true,
    trigger_4h: true,
    funding_confirms: true,
    invalidation_level: true,
    reward_risk_ok: true,
};

#[test]
fn a_setup_carries_its_checklist_and_funding_reading() {
    let sym = symbol();
    let trigger = bar(100.0, Some(EntryDirection::Long), None);
    let clusters = map(100.0, &[strong(1, 104.0, 110.0)]);
    let lows = swings(&[97.0], &[]);
    // (funding rate, crowded, funding confirms a long)
    #[rustfmt::skip]
    let cases = [
        (Some(-0.0003), Some(Crowding::Shorts), true),
        (Some(0.0005), Some(Crowding::Longs), false),
        (None, None, false),
    ];
    for (rate, crowded, confirms) in cases {
        let input = SetupInput {
            symbol: &sym,
            trigger: &trigger,
            bias: Bias::from_regimes(Some(Regime::Bull), Some(Regime::Bull)),
            clusters: Some(&clusters),
            swings: &lows,
            funding: rate.map(|rate| Funding { time: 0, rate }),
            converged: true,
        };
        let a = setup_entry(&input, &P).expect("setup");
        assert_eq!(a.id.as_str(), "setup_entry:BTCUSDT:4h:360000000");
        let Facts::SetupEntry(f) = &a.facts else {
            panic!("{a:?}")
        };
        let list = f.checklist;
        let want = Checklist {
            funding_confirms: confirms,
            ..CHECKED
        };
        assert_eq!(list, want, "{rate:?}");
        assert_eq!(f.funding.crowded, crowded);
        assert_eq!(f.funding.confirms, confirms);
    }
}

#[test]
fn a_divergence_exit_needs_a_recent_touch_of_this_waves_fuel() {
    use DivergenceKind::{HiddenBear, RegularBear, RegularBull};
    use Regime::{Bear, Bull};
    let fuel = strong(1, 104.0, 110.0);
    let close = 104 * HOUR_MS; // close of the bar at 100 h
    // (wave, divergence, touch (wave, hours before the close), fires)
    #[rustfmt::skip]
    let cases = [
        (Bull, RegularBear, Some((Bull, 10)), true),
        (Bull, RegularBear, Some((Bull, 48)), true),
        (Bull, RegularBear, Some((Bull, 49)), false),
        (Bull, RegularBear, None, false),
        (Bull, RegularBear, Some((Bear, 10)), false),
        (Bull, RegularBull, Some((Bull, 10)), false),
        (Bull, HiddenBear, Some((Bull, 10)), false),
        (Bear, RegularBull, Some((Bear, 10)), true),
    ];
    for (wave, kind, touch, fires) in cases {
        let sym = symbol();
        let signals = bar(105.0, None, Some(kind));
        let input = ExitInput {
            symbol: &sym,
            signals: &signals,
            bias: bias(wave),
            touch: touch.map(|(wave, hours)| FuelTouch {
                wave,
                time: close - hours * HOUR_MS,
                cluster: fuel,
            }),
            funding: None,
            converged: true,
        };
        let got = divergence_exit(&input, &P);
        assert_eq!(got.is_some(), fires, "{wave} {kind:?} {touch:?}");
    }
}

#[test]
fn routes_and_mutes_pick_sinks_per_kind_label_and_symbol() {
    // A real alert of the kind, moved to BTCUSDT at `time_ms`, with the given label.
    let alert = |kind: AlertKind, label: Option<ClusterLabel>, time_ms: i64| {
        let mut a = demo_alert(kind);
        (a.symbol, a.time_ms) = (symbol(), time_ms);
        if let (
            Facts::ClusterApproach(f) | Facts::ClusterEdge(f) | Facts::ClusterSwept(f),
            Some(l),
        ) = (&mut a.facts, label)
        {
            f.label = l;
        }
        a
    };
    let routes = Routes::defaults();
    // (kind, label, sinks by the default routes)
    #[rustfmt::skip]
    let cases: [(AlertKind, Option<ClusterLabel>, &[&str]); 6] = [
        (AlertKind::RegimeChange, None, &["console", "file", "telegram", "email"]),
        (AlertKind::ClusterApproach, Some(ClusterLabel::Fuel), &[]),
        (AlertKind::ClusterEdge, Some(ClusterLabel::Fuel), &["console", "file", "telegram"]),
        (AlertKind::ClusterEdge, Some(ClusterLabel::Magnet), &["console", "file"]),
        (AlertKind::SetupEntry, None, &["console", "file", "telegram", "email"]),
        (AlertKind::DailySummary, None, &["console", "file", "email"]),
    ];
    for (kind, label, want) in cases {
        assert_eq!(
            routes.sinks_for(&alert(kind, label, 0)),
            want,
            "{kind} {label:?}"
        );
    }
    // (filter text, parsed back to text or the error's start)
    #[rustfmt::skip]
    let filters = [
        ("cluster_edge:fuel", "cluster_edge:fuel"),
        ("setup_entry", "setup_entry"),
        ("regime_change:fuel", "regime_change alerts carry no"),
        ("cluster_edge:hot", "unknown label"),
        ("nope", "unknown alert kind"),
    ];
    for (text, want) in filters {
        let got = text
            .parse::<KindFilter>()
            .map_or_else(|e| e, |f| f.to_string());
        assert!(got.starts_with(want), "{text}: {got}");
    }
    let mut mutes = Mutes::default();
    let edge = |t| alert(AlertKind::ClusterEdge, Some(ClusterLabel::Fuel), t);
    mutes.add(Mute {
        symbol: symbol(),
        kind: Some(AlertKind::ClusterEdge),
        until: 100,
    });
    assert!(mutes.is_muted(&edge(99)) && !mutes.is_muted(&edge(100)));
    assert!(!mutes.is_muted(&alert(AlertKind::RegimeChange, None, 0)));
    mutes.add(Mute {
        symbol: symbol(),
        kind: Some(AlertKind::ClusterEdge),
        until: 200,
    });
    assert_eq!(
        mutes.iter().count(),
        1,
        "a second mute of the same kind replaces the first"
    );
    assert!(mutes.is_muted(&edge(150)));
    assert_eq!(mutes.remove(&symbol()), 1);
    assert!(!mutes.is_muted(&edge(150)));
}

#[test]
fn an_alert_is_news_for_as_many_bars_of_its_timeframe_as_configured() {
    use crate::model::{TimeMs, testing::alert};
    const M: i64 = MINUTE_MS;
    #[rustfmt::skip]
    let cases: &[(Option<Interval>, TimeMs, u32, bool)] = &[
        // timeframe, age at `now`, bars, fresh
        (Some(Interval::H4), 0, 1, true),
        (Some(Interval::H4), 4 * HOUR_MS, 1, true),
        (Some(Interval::H4), 4 * HOUR_MS + 1, 1, false),
        (Some(Interval::H4), 8 * HOUR_MS, 2, true),
        (Some(Interval::D1), 20 * HOUR_MS, 1, true),
        (Some(Interval::D1), 3 * 24 * HOUR_MS, 1, false),
        (None, 5 * M, 1, true),
        (None, 5 * M + 1, 1, false),
        (None, 14 * 24 * HOUR_MS, 3, false),
    ];
    let now = 1_000 * 24 * HOUR_MS;
    for &(interval, age, bars, fresh) in cases {
        let mut a = alert(AlertKind::RegimeChange).at(now - age);
        if let Some(interval) = interval {
            a = a.interval(interval);
        }
        let a = a.build();
        assert_eq!(
            is_fresh(&a, now, bars),
            fresh,
            "{interval:?}, age {age} ms, {bars} bars"
        );
    }
}
