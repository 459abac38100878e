//! Table tests of ignition, second leg and sweep reversal on hand-made bars and clusters; each
//! case is one line, levels computed by hand in the comments.

use super::*;
use crate::analytics::regime::Regime;
use crate::analytics::sweeps::{Sweep, SweptEdge};
use crate::model::{Candle, Facts, HOUR_MS, Interval};
use crate::rules::tests::{P, bias, map, strong};

/// 4h bars open every 4 hours from this one.
const T0: i64 = 1_000 * HOUR_MS;

fn signals(i: i64, (open, high, low, close): (f64, f64, f64, f64), atr: f64) -> BarSignals {
    BarSignals {
        interval: Interval::H4,
        candle: Candle {
            open_time: T0 + 4 * i * HOUR_MS,
            open,
            high,
            low,
            close,
            volume: 1.0,
            quote_volume: None,
            taker_buy_quote: None,
        },
        bars: 300 + i as u64,
        rsi: None,
        regime_before: Regime::Bear,
        regime: Regime::Bear,
        cross50: None,
        divergence: None,
        entry: None,
        after_gap: false,
        sweep: None,
        atr_before: Some(atr),
    }
}

fn input<'a>(
    symbol: &'a Symbol,
    bar: &'a BarSignals,
    reached: &'a Reached,
    clusters: &'a Clusters,
    wave: Regime,
    oi_close: Option<f64>,
) -> PlayInput<'a> {
    PlayInput {
        symbol,
        bar,
        reached: Some(reached),
        clusters: Some(clusters),
        bias: bias(wave),
        funding: None,
        converged: true,
        oi_close,
        entries: &[],
        mmr: 0.004,
        bin_frac: 0.001,
    }
}

fn btc() -> Symbol {
    "BTCUSDT".parse().unwrap()
}

/// Price reached a long pool 98–96 below and a short pool 104–106 above during the bar.
fn reached(oi_open: Option<f64>) -> Reached {
    Reached {
        open: T0,
        long: Some(strong(1, 98.0, 96.0)),
        short: Some(strong(2, 104.0, 106.0)),
        oi_open,
    }
}

#[test]
fn an_impulse_bar_into_a_cluster_is_an_ignition() {
    use EntryDirection::{Long, Short};
    // (bar o/h/l/c, ATR before, OI open → close, (direction, swept) or none)
    let cases = [
        // Range 5 = 2.5 ATR, close at (100.5 − 96) / 5 = 90 % down, low 95.5 beyond the far 96.
        (
            (100.0, 100.5, 95.5, 96.0),
            2.0,
            (None, None),
            Some((Short, true)),
        ),
        (
            (100.0, 100.5, 96.5, 96.8),
            2.0,
            (None, None),
            Some((Short, false)),
        ),
        ((100.0, 100.5, 95.5, 96.0), 3.0, (None, None), None), // 1.67 ATR
        ((100.0, 100.5, 95.5, 98.0), 2.0, (None, None), None), // close at 50 %
        (
            (100.0, 100.5, 95.5, 96.0),
            2.0,
            (Some(1e3), Some(1010.0)),
            None,
        ), // OI rose
        (
            (100.0, 100.5, 95.5, 96.0),
            2.0,
            (Some(1e3), Some(950.0)),
            Some((Short, true)),
        ),
        (
            (100.0, 100.5, 95.5, 96.0),
            2.0,
            (Some(1e3), None),
            Some((Short, true)),
        ), // OI unknown
        // Up: range 6.7 = 3.35 ATR, close at 95 %, high 106.5 beyond the short pool's far 106.
        (
            (100.0, 106.5, 99.8, 106.2),
            2.0,
            (None, None),
            Some((Long, true)),
        ),
        ((100.0, 103.5, 99.8, 103.4), 1.0, (None, None), None), // the pool above not reached
    ];
    let sym = btc();
    let after = map(96.0, &[strong(3, 93.0, 91.0), strong(4, 108.0, 110.0)]);
    for (ohlc, atr, (oi_open, oi_close), want) in cases {
        let bar = signals(0, ohlc, atr);
        let mut reach = reached(oi_open);
        if ohlc.1 < 104.0 {
            reach.short = None;
        }
        let got = ignition(
            &input(&sym, &bar, &reach, &after, Regime::Bear, oi_close),
            &P,
        );
        let got = got.map(|(alert, watch)| {
            let Facts::Ignition(f) = &alert.facts else {
                panic!("{alert:?}")
            };
            assert_eq!(watch.is_some(), f.swept, "a swept cluster starts a watch");
            (f.direction, f.swept)
        });
        assert_eq!(got, want, "{ohlc:?} ATR {atr} OI {oi_open:?}→{oi_close:?}");
    }
}

#[test]
fn a_second_leg_fires_after_the_bounce_on_a_continuation_close() {
    // The ignition: 100 → 95.5 (origin 100.5). A bounce retraces ≥ 38.2 % of the impulse from
    // its extreme; a close below the last bar's low after it is the entry, stopped at the bounce.
    // Bar 4 of the first case: entry 96, stop 97.8, T1 91 (the pool 93–91): reward 5 − 0.096,
    // risk 1.8 + 0.096, R:R 2.59.
    type Case<'a> = (&'a str, &'a [(f64, f64, f64, f64)], &'a [&'a str]);
    let cases: [Case; 5] = [
        (
            "extension, bounce, continuation",
            &[
                (96.0, 96.5, 94.5, 95.0),
                (95.0, 97.5, 94.8, 97.2),
                (97.2, 97.8, 96.9, 97.0),
                (97.0, 97.3, 95.9, 96.0),
            ],
            &["watch", "watch", "watch", "fire"],
        ),
        (
            "no continuation before a close below the bounce bar",
            &[(95.0, 97.5, 94.8, 97.2), (97.2, 97.8, 96.9, 97.5)],
            &["watch", "watch"],
        ),
        (
            "back above the impulse's start",
            &[(96.0, 100.8, 95.8, 100.2)],
            &["end"],
        ),
        (
            "a continuation too close to its target: R:R 0.9",
            &[
                (95.0, 99.5, 94.8, 99.0),
                (99.0, 99.8, 97.0, 97.2),
                (97.2, 97.3, 92.5, 92.6),
            ],
            &["watch", "watch", "watch"],
        ),
        (
            "no bounce in time (12 bars)",
            &[(96.0, 96.5, 95.0, 95.5); 12],
            &[
                "watch", "watch", "watch", "watch", "watch", "watch", "watch", "watch", "watch",
                "watch", "watch", "end",
            ],
        ),
    ];
    let sym = btc();
    let after = map(96.0, &[strong(3, 93.0, 91.0)]);
    let first = signals(0, (100.0, 100.5, 95.5, 96.0), 2.0);
    let reach = reached(None);
    let (_, watch) = ignition(&input(&sym, &first, &reach, &after, Regime::Bear, None), &P)
        .expect("the ignition of every case");
    for (name, bars, want) in cases {
        let mut watch = watch.expect("a swept cluster starts a watch");
        let got: Vec<&str> = (bars.iter().enumerate())
            .map(|(i, &ohlc)| {
                let bar = signals(i as i64 + 1, ohlc, 2.0);
                match watch.step(&input(&sym, &bar, &reach, &after, Regime::Bear, None), &P) {
                    LegStep::Watching => "watch",
                    LegStep::Ended => "end",
                    LegStep::Fired(alert) => {
                        let Facts::SecondLeg(f) = &alert.facts else {
                            panic!("{alert:?}")
                        };
                        let t = f.trade;
                        assert_eq!((t.entry, t.stop, t.t1), (96.0, 97.8, 91.0), "{name}");
                        assert!((t.reward_risk - 4.904 / 1.896).abs() < 1e-9, "{name}");
                        assert!(!f.counter_trend && f.checklist.with_the_wave, "{name}");
                        "fire"
                    }
                }
            })
            .collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn a_swing_failure_through_the_brightest_cluster_is_a_reversal() {
    use EntryDirection::{Long, Short};
    let high = |wick: f64, close: f64| Sweep {
        edge: SweptEdge::High,
        open_time: T0,
        level: 104.5,
        wick,
        close,
    };
    let low = |wick: f64, close: f64| Sweep {
        edge: SweptEdge::Low,
        open_time: T0,
        level: 97.5,
        wick,
        close,
    };
    // (sweep, wave, clusters after, (direction, counter-trend) or none). The short pool 104–106
    // peaks at 105; the stop sits 0.25 ATR (0.5) beyond the wick: short from 103.2, stop 106,
    // T1 97 (pool 99–97): R:R 6.0968 / 2.9032 = 2.1.
    let targets = [strong(3, 99.0, 97.0), strong(4, 108.0, 110.0)];
    let cases = [
        (
            high(105.5, 103.2),
            Regime::Bull,
            &targets[..],
            Some((Short, true)),
        ),
        (
            high(105.5, 103.2),
            Regime::Bear,
            &targets[..],
            Some((Short, false)),
        ),
        (high(104.8, 103.2), Regime::Bear, &targets[..], None), // short of the peak
        (high(105.5, 103.2), Regime::Bear, &[][..], None),      // nothing to aim at
        (high(108.0, 103.2), Regime::Bear, &targets[..], None), // R:R 1.14
        // Long from 98.2: the long pool 98–96 peaks at 97, stop 96, T1 110 (pool 108–110).
        (
            low(96.5, 98.2),
            Regime::Bull,
            &targets[..],
            Some((Long, false)),
        ),
        (low(97.2, 98.2), Regime::Bull, &targets[..], None), // short of the peak
    ];
    let sym = btc();
    for (sweep, wave, list, want) in cases {
        let (h, l) = match sweep.edge {
            SweptEdge::High => (sweep.wick, 102.5),
            SweptEdge::Low => (99.0, sweep.wick),
        };
        let mut bar = signals(0, (100.0, h, l, sweep.close), 2.0);
        bar.sweep = Some(sweep);
        let after = map(sweep.close, list);
        let reach = reached(None);
        let got = sweep_reversal(&input(&sym, &bar, &reach, &after, wave, None), &P).map(|a| {
            let Facts::SweepReversal(f) = &a.facts else {
                panic!("{a:?}")
            };
            let beyond = if f.trade.direction == Short {
                0.5
            } else {
                -0.5
            };
            assert_eq!(
                f.trade.stop,
                sweep.wick + beyond,
                "the stop is 0.25 ATR beyond the wick"
            );
            (f.trade.direction, f.counter_trend)
        });
        assert_eq!(got, want, "{sweep:?} in a {wave} wave");
    }
}

#[test]
fn a_loaded_score_near_a_dense_cluster_fires_once_per_crossing() {
    use crate::model::{LoadingScore, LoadingSignal, Reading, SignalReading};
    let score = |on: usize, known: usize| LoadingScore {
        time_ms: T0,
        signals: (LoadingSignal::ALL.iter().enumerate())
            .map(|(i, &signal)| SignalReading {
                signal,
                reading: match i {
                    i if i < on => Reading::On,
                    i if i < known => Reading::Off,
                    _ => Reading::Unknown,
                },
                value: None,
            })
            .collect(),
    };
    // One step a line: (signals on, known, the long pool's gap below price 100 in %, fires).
    // Level 0.5 of at least 4 known signals, a pool within 3 %.
    let steps = [
        (3, 6, 2.0, true),
        (4, 6, 2.0, false), // still loaded: already said
        (2, 6, 2.0, false), // below the level: re-armed
        (3, 6, 2.0, true),
        (3, 6, 4.0, false), // the pool too far: re-armed
        (3, 6, 2.5, true),
        (3, 3, 2.5, false), // too little known: re-armed
        (4, 4, 1.0, true),
    ];
    let sym = btc();
    let mut arm = CascadeArm::default();
    for (i, (on, known, gap, fires)) in steps.into_iter().enumerate() {
        let near = 100.0 * (1.0 - gap / 100.0);
        let clusters = map(100.0, &[strong(1, near, near - 2.0)]);
        let s = score(on, known);
        let input = CascadeInput {
            symbol: &sym,
            score: &s,
            clusters: &clusters,
            price: 100.0,
            bias: bias(Regime::Bear),
            converged: true,
            when: CascadeLevel {
                level: 0.5,
                min_known: 4,
                near_frac: 0.03,
            },
        };
        let alert = cascade_loading(&input, &mut arm, &P);
        assert_eq!(alert.is_some(), fires, "step {i}: {on}/{known}, {gap} %");
        if let Some(Facts::CascadeLoading(f)) = alert.map(|a| a.facts) {
            assert_eq!(
                (f.on, f.known, f.side),
                (on, known, crate::model::Side::Long)
            );
        }
    }
}
