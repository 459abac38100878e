//! Table tests of the loading score: each signal's on, off and unknown with the number behind it,
//! computed by hand (within the 3 % step of the one-byte volumes where volumes are involved).

use super::*;
use crate::analytics::clusters::{Cluster, ClusterId, SideClusters};
use crate::analytics::heatmap::Mode;
use crate::model::{Reading, Side};

use Reading::{Off, On, Unknown};

/// 2025-03-10 00:00 UTC, a Monday: hour 0 of every test.
const T0: TimeMs = 1_741_564_800_000;

fn hour(h: i64) -> TimeMs {
    T0 + h * HOUR_MS
}

/// An hourly bar from `low` to `high` closing at `close`, with a quote volume.
fn bar(h: i64, low: f64, high: f64, close: f64, volume: f64) -> Candle {
    Candle {
        open_time: hour(h),
        open: close,
        high,
        low,
        close,
        volume: 1.0,
        quote_volume: Some(volume),
        taker_buy_quote: None,
    }
}

fn flat(h: i64) -> Candle {
    bar(h, 99.0, 101.0, 100.0, 1000.0)
}

const TEST: ClusterTest = ClusterTest {
    min_density: 3.0,
    min_share: 0.05,
    min_age_steps: 2,
};

const CROWDED: Crowded = Crowded {
    longs_above: 0.0005,
    shorts_below: -0.0003,
};

fn inputs<'a>(clusters: Option<&'a Clusters>, calendar: &'a [CalendarEntry]) -> ScoreInputs<'a> {
    ScoreInputs {
        price: 100.0,
        clusters,
        cluster_test: TEST,
        crowded: CROWDED,
        calendar,
        venues: None,
    }
}

/// The reading of one signal, its value rounded to 3 decimals.
fn reading(
    s: &LoadingState,
    signal: LoadingSignal,
    at: TimeMs,
    inputs: &ScoreInputs,
) -> (Reading, Option<f64>) {
    let score = s.score(at, inputs, &LoadingParams::DEFAULT);
    let r = score.get(signal).unwrap();
    (r.reading, r.value.map(|v| (v * 1000.0).round() / 1000.0))
}

/// Asserts a reading and a value within `tolerance`.
fn check(got: (Reading, Option<f64>), want: (Reading, Option<f64>), tolerance: f64, case: &str) {
    assert_eq!(got.0, want.0, "{case}: {got:?}");
    match (got.1, want.1) {
        (Some(g), Some(w)) => assert!((g - w).abs() <= tolerance, "{case}: {g} for {w}"),
        (g, w) => assert_eq!(g, w, "{case}"),
    }
}

/// A cluster from `near` to `far` (a long one below price when `far < near`), qualifying or not.
fn cluster(near: f64, far: f64, qualifies: bool) -> Cluster {
    let side = if far < near { Side::Long } else { Side::Short };
    Cluster {
        id: ClusterId { side, bin: 0 },
        side,
        near_edge: near,
        far_edge: far,
        peak_price: (near + far) / 2.0,
        near_bin: 0,
        far_bin: 0,
        peak_bin: 0,
        notional_usd: 5e6,
        density: if qualifies { 5.0 } else { 2.0 },
        density_rank: 1,
        share: 0.2,
        thin_approach: 0.8,
        gap_pct: 0.0,
        gap_atr: 0.0,
        isolation: 10.0,
        fuel_behind: 0.1,
        age_steps: 3,
    }
}

fn map(list: &[Cluster]) -> Clusters {
    let side = |s: Side| SideClusters {
        background: 1.0,
        threshold: 3.0,
        window_mass: 1e7,
        clusters: list.iter().filter(|c| c.side == s).copied().collect(),
    };
    Clusters {
        time: Some(0),
        price: 100.0,
        mode: Mode::VolumeProxy,
        coverage: None,
        window: 0.1,
        long: side(Side::Long),
        short: side(Side::Short),
    }
}

#[test]
fn cluster_near_reads_the_nearest_qualifying_cluster_within_3_pct() {
    // Price 100. (clusters as (near, far, qualifies), or None for no map; reading, value %)
    type Case = (Option<&'static [(f64, f64, bool)]>, Reading, Option<f64>);
    #[rustfmt::skip]
    let cases: [Case; 10] = [
        (None, Unknown, None),
        (Some(&[]), Off, None),
        (Some(&[(98.0, 96.0, true)]), On, Some(2.0)),
        (Some(&[(96.5, 95.0, true)]), Off, Some(3.5)),
        (Some(&[(99.5, 98.0, true)]), On, Some(0.5)),   // nearer than 1 %: already at it
        (Some(&[(101.0, 97.0, true)]), On, Some(0.0)),  // price inside the pool
        (Some(&[(104.0, 101.0, true)]), Off, None),     // price went through it: swept
        (Some(&[(102.5, 104.0, true)]), On, Some(2.5)), // a short cluster above
        (Some(&[(98.0, 96.0, false)]), Off, None),      // not qualifying
        (Some(&[(99.0, 98.0, false), (96.0, 95.0, true)]), Off, Some(4.0)),
    ];
    for (list, want, value) in cases {
        let clusters = list.map(|l| {
            map(&l
                .iter()
                .map(|&(n, f, q)| cluster(n, f, q))
                .collect::<Vec<_>>())
        });
        let got = reading(
            &LoadingState::default(),
            LoadingSignal::ClusterNear,
            T0,
            &inputs(clusters.as_ref(), &[]),
        );
        check(got, (want, value), 1e-9, &format!("{list:?}"));
    }
}

#[test]
fn oi_building_reads_oi_up_while_price_stays_in_a_range() {
    // 30 hourly bars (hours 0..=29) from 100 to 100·(1 + range); OI at the end of hour 5 and
    // hour 29 (the window's two ends). (range, OI then, OI now, hours dropped, at, reading, value %)
    type Case = (
        f64,
        Option<f64>,
        Option<f64>,
        &'static [i64],
        TimeMs,
        Reading,
        Option<f64>,
    );
    #[rustfmt::skip]
    let cases: [Case; 9] = [
        (0.02, Some(100.0), Some(106.0), &[], hour(30), On, Some(6.0)),
        (0.02, Some(100.0), Some(104.0), &[], hour(30), Off, Some(4.0)),
        (0.04, Some(100.0), Some(106.0), &[], hour(30), Off, Some(6.0)),   // price not flat
        (0.01, Some(100.0), Some(94.0), &[], hour(30), Off, Some(-6.0)),   // OI falling
        (0.02, Some(100.0), Some(106.0), &[], hour(30) + FRESH_MS, On, Some(6.0)),
        (0.02, Some(100.0), Some(106.0), &[], hour(30) + FRESH_MS + 1, Unknown, None), // stale
        (0.02, None, Some(106.0), &[], hour(30), Unknown, None),           // no OI at the start
        (0.02, None, None, &[], hour(30), Unknown, None),                  // no OI at all
        (0.02, Some(100.0), Some(106.0), &[17], hour(30), Unknown, None),  // an hour without a bar
    ];
    for (range, then, now, dropped, at, want, value) in cases {
        let mut s = LoadingState::default();
        for h in (0..30).filter(|h| !dropped.contains(h)) {
            s.on_hour(&bar(h, 100.0, 100.0 * (1.0 + range), 100.0, 1000.0));
        }
        for (h, oi) in [(5, then), (29, now)] {
            if let Some(contracts) = oi {
                s.on_open_interest(OpenInterest {
                    time: hour(h + 1),
                    contracts,
                    value_usd: None,
                });
            }
        }
        let got = reading(&s, LoadingSignal::OiBuilding, at, &inputs(None, &[]));
        // Open interest is kept to 0.01 %: the change is within 0.02 percentage points.
        check(
            got,
            (want, value),
            0.02,
            &format!("{range} {then:?}→{now:?} {dropped:?}"),
        );
    }
}

#[test]
fn funding_one_sided_counts_periods_of_one_sign() {
    const P: TimeMs = FUNDING_PERIOD_MS;
    // Rates observed at (period, ms into it); the settlement print comes a moment after the
    // boundary and counts in the period it ends. (observations, at, reading, signed streak)
    type Case = (&'static [(i64, TimeMs, f64)], TimeMs, Reading, Option<f64>);
    #[rustfmt::skip]
    let cases: [Case; 10] = [
        (&[], 6 * P, Unknown, None),
        (&[(1, 1, 1e-4), (2, 1, 1e-4), (3, 1, 1e-4), (4, 1, 1e-4), (5, 1, 1e-4), (6, 1, 1e-4)], 6 * P, On, Some(6.0)),
        (&[(2, 1, 1e-4), (3, 1, 1e-4), (4, 1, 1e-4), (5, 1, 1e-4), (6, 1, 1e-4)], 6 * P, Off, Some(5.0)),
        (&[(1, 1, -1e-4), (2, 1, -1e-4), (3, 1, -1e-4), (4, 1, -1e-4), (5, 1, -1e-4), (6, 1, -1e-4)], 6 * P, On, Some(-6.0)),
        (&[(1, 1, 1e-4), (2, 1, 1e-4), (3, 1, 1e-4), (4, 1, 1e-4), (5, 1, 1e-4), (6, 1, -1e-4)], 6 * P, Off, Some(-1.0)),
        (&[(1, 1, 1e-4), (2, 1, 1e-4), (3, 1, 1e-4), (5, 1, 1e-4), (6, 1, 1e-4), (7, 1, 1e-4)], 7 * P, Off, Some(3.0)), // a missing period
        (&[(6, 1, 0.001)], 6 * P, On, Some(1.0)),   // crowded longs
        (&[(6, 1, -0.0004)], 6 * P, On, Some(-1.0)), // crowded shorts
        (&[(5, 1, 1e-4), (6, 1, 0.0)], 6 * P, Off, Some(0.0)),
        (&[(6, 1, 0.001)], 6 * P + FUNDING_FRESH_MS + 2, Unknown, None), // stale
    ];
    for (seen, at, want, value) in cases {
        let mut s = LoadingState::default();
        for &(period, into, rate) in seen {
            s.on_funding(Funding {
                time: T0 + period * P + into,
                rate,
            });
        }
        let got = reading(
            &s,
            LoadingSignal::FundingOneSided,
            T0 + at,
            &inputs(None, &[]),
        );
        check(got, (want, value), 0.0, &format!("{seen:?}"));
    }
}

#[test]
fn funding_takes_the_last_rate_of_each_period() {
    // Mark ticks announce the rate of the period they are in; the settlement print a moment
    // after 8:00 closes the period before it: (ms after T0, rate), then the signed streak.
    type Case = (&'static [(TimeMs, f64)], f64);
    #[rustfmt::skip]
    let cases: [Case; 4] = [
        (&[(HOUR_MS, 1e-4), (7 * HOUR_MS, -1e-4)], -1.0),
        (&[(HOUR_MS, 1e-4), (8 * HOUR_MS + 5, 2e-4), (9 * HOUR_MS, 1e-4)], 2.0),
        (&[(HOUR_MS, 1e-4), (8 * HOUR_MS + 5, -2e-4), (9 * HOUR_MS, 1e-4)], 1.0),
        (&[(9 * HOUR_MS, 1e-4), (HOUR_MS, -1e-4)], 1.0), // an older period is dropped
    ];
    for (seen, streak) in cases {
        let mut s = LoadingState::default();
        for &(t, rate) in seen {
            s.on_funding(Funding { time: T0 + t, rate });
        }
        let got = reading(
            &s,
            LoadingSignal::FundingOneSided,
            T0 + 10 * HOUR_MS,
            &inputs(None, &[]),
        );
        assert_eq!(got.1, Some(streak), "{seen:?}");
    }
}

#[test]
fn spot_diverges_reads_spot_share_against_the_prior_week() {
    // Hours 0..=191: the prior week is 0..=167, the window 168..=191. Perp volume 1000 an hour,
    // spot 500 in the prior week; the perp closes at 100 until hour 167, then at 100·(1 + move).
    // (spot an hour in the window, move, first spot hour, reading, spot ratio over the prior's)
    type Case = (f64, f64, Option<i64>, Reading, Option<f64>);
    #[rustfmt::skip]
    let cases: [Case; 6] = [
        (300.0, 0.05, Some(0), On, Some(0.6)),
        (400.0, 0.05, Some(0), Off, Some(0.8)),
        (300.0, -0.05, Some(0), On, Some(0.6)),  // either direction
        (300.0, 0.02, Some(0), Off, Some(0.6)),  // the perp did not move enough
        (300.0, 0.05, Some(10), Unknown, None),  // spot does not cover the prior week
        (300.0, 0.05, None, Unknown, None),      // no spot market
    ];
    for (spot, moved, first_spot, want, value) in cases {
        let mut s = LoadingState::default();
        for h in 0..192 {
            let close = if h < 168 {
                100.0
            } else {
                100.0 * (1.0 + moved)
            };
            s.on_hour(&bar(h, close - 0.5, close + 0.5, close, 1000.0));
            if first_spot.is_some_and(|f| h >= f) {
                let v = if h < 168 { 500.0 } else { spot };
                s.on_spot_hour(&bar(h, close - 0.5, close + 0.5, close, v));
            }
        }
        let got = reading(
            &s,
            LoadingSignal::SpotDiverges,
            hour(192),
            &inputs(None, &[]),
        );
        check(
            got,
            (want, value),
            0.03,
            &format!("{spot} {moved} {first_spot:?}"),
        );
    }
}

#[test]
fn thin_liquidity_compares_the_hour_with_its_hour_of_week_median() {
    // The same hour of four weeks (hour 0, 168, 336, 504), then hour 672, 4 weeks after the first.
    // (volumes of the 4 weeks before, this hour's, at, reading, ratio to the median)
    type Case = ([Option<f64>; 4], f64, TimeMs, Reading, Option<f64>);
    #[rustfmt::skip]
    let cases: [Case; 6] = [
        ([Some(100.0), Some(200.0), Some(300.0), Some(400.0)], 100.0, hour(673), On, Some(0.4)),
        ([Some(100.0), Some(200.0), Some(300.0), Some(400.0)], 150.0, hour(673), Off, Some(0.6)),
        ([None, Some(200.0), Some(300.0), Some(400.0)], 140.0, hour(673), On, Some(0.467)),
        ([None, None, Some(300.0), Some(400.0)], 100.0, hour(673), Unknown, None), // 2 weeks
        ([Some(100.0), Some(200.0), Some(300.0), Some(400.0)], 100.0, hour(676), Unknown, None), // stale
        ([Some(400.0), Some(400.0), Some(400.0), Some(10.0)], 300.0, hour(673), Off, Some(0.75)),
    ];
    for (weeks, now, at, want, value) in cases {
        let mut s = LoadingState::default();
        for (k, v) in weeks.iter().enumerate() {
            if let Some(v) = v {
                s.on_hour(&bar(k as i64 * 168, 99.0, 101.0, 100.0, *v));
            }
        }
        s.on_hour(&bar(672, 99.0, 101.0, 100.0, now));
        let got = reading(&s, LoadingSignal::ThinLiquidity, at, &inputs(None, &[]));
        check(got, (want, value), 0.03, &format!("{weeks:?} {now}"));
    }
}

#[test]
fn repeated_sweeps_count_swing_failures_in_the_window() {
    // Flat bars 99–101 from hour 0; a sweep bar trades above every high before it and closes
    // back at 100 (the k-th at 101 + k). Sweeps are judged from hour 20 on.
    // (hours fed, hours that sweep, at, reading, count)
    type Case = (i64, &'static [i64], TimeMs, Reading, Option<f64>);
    #[rustfmt::skip]
    let cases: [Case; 7] = [
        (44, &[30, 40], hour(44), On, Some(2.0)),
        (44, &[30], hour(44), Off, Some(1.0)),
        (44, &[], hour(44), Off, Some(0.0)),
        (44, &[20, 43], hour(44), On, Some(2.0)),  // both ends of the window (20..=43)
        (44, &[10, 30], hour(44), Off, Some(1.0)), // hour 10 had no full range before it
        (40, &[30, 35], hour(40), Unknown, None),  // hours 16..=19 of the window were not judged
        (44, &[30, 40], hour(47), Unknown, None),  // stale
    ];
    for (fed, sweeping, at, want, value) in cases {
        let mut s = LoadingState::default();
        let mut k = 0.0;
        for h in 0..fed {
            if sweeping.contains(&h) {
                k += 1.0;
                s.on_hour(&bar(h, 99.5, 101.0 + k, 100.0, 1000.0));
            } else {
                s.on_hour(&flat(h));
            }
        }
        let got = reading(&s, LoadingSignal::RepeatedSweeps, at, &inputs(None, &[]));
        check(got, (want, value), 0.0, &format!("{fed} {sweeping:?}"));
    }
}

#[test]
fn a_gap_in_the_bars_restarts_the_sweep_count() {
    let mut s = LoadingState::default();
    for h in (0..60).filter(|&h| h != 40) {
        s.on_hour(&flat(h));
    }
    // Judged again from hour 61 (20 bars after the gap): the window 36..=59 is not covered.
    let got = reading(
        &s,
        LoadingSignal::RepeatedSweeps,
        hour(60),
        &inputs(None, &[]),
    );
    assert_eq!(got, (Unknown, None));
}

#[test]
fn volatility_window_reads_the_next_calendar_entry() {
    // (entries as hours from now, reading, hours to the next)
    type Case = (&'static [f64], Reading, Option<f64>);
    #[rustfmt::skip]
    let cases: [Case; 7] = [
        (&[], Unknown, None),
        (&[-2.0], Unknown, None), // only the past: nothing known ahead
        (&[5.0], On, Some(5.0)),
        (&[30.0], Off, Some(30.0)),
        (&[30.0, 10.5, -1.0], On, Some(10.5)),
        (&[24.0], On, Some(24.0)),
        (&[0.0], On, Some(0.0)),
    ];
    for (hours, want, value) in cases {
        let calendar: Vec<CalendarEntry> = hours
            .iter()
            .map(|h| CalendarEntry {
                time_ms: T0 + (h * HOUR_MS as f64) as TimeMs,
                name: "US CPI".into(),
            })
            .collect();
        let got = reading(
            &LoadingState::default(),
            LoadingSignal::VolatilityWindow,
            T0,
            &inputs(None, &calendar),
        );
        check(got, (want, value), 0.0, &format!("{hours:?}"));
    }
}

#[test]
fn other_venues_read_whether_the_nearest_combined_cluster_is_aligned() {
    let (aligned, apart) = crate::analytics::venues::tests::aligned_and_apart();
    let s = LoadingState::default();
    for (venues, want) in [
        (Some(&aligned), (On, Some(2.0))),
        (Some(&apart), (Off, Some(1.0))),
        (None, (Unknown, None)),
    ] {
        let inputs = ScoreInputs {
            venues,
            ..inputs(None, &[])
        };
        let got = reading(&s, LoadingSignal::OtherVenues, T0, &inputs);
        check(got, want, 0.0, &format!("{want:?}"));
    }
}

#[test]
fn an_empty_state_knows_nothing() {
    let score = LoadingState::default().score(T0, &inputs(None, &[]), &LoadingParams::DEFAULT);
    let signals: Vec<_> = score.signals.iter().map(|s| s.signal).collect();
    assert_eq!(signals, LoadingSignal::ALL);
    assert!(
        score
            .signals
            .iter()
            .all(|s| s.reading == Unknown && s.value.is_none())
    );
    assert_eq!(score.ratio(), "0/0");
}

/// A state with every ring full, as a pair has it after four weeks with a spot market: its
/// snapshot (postcard, as the store writes it) stays near 1.1 KB.
#[test]
fn a_full_state_stays_small() {
    let mut s = LoadingState::default();
    for h in 0..VOLUME_HOURS as i64 + 10 {
        let wave = (h % 17) as f64;
        let candle = bar(
            h,
            90.0 + wave,
            110.0 + wave * 1.5,
            100.0 + wave,
            1e6 * (1.0 + wave),
        );
        s.on_hour(&candle);
        s.on_spot_hour(&candle);
        let oi = 123_456.789 + h as f64;
        s.on_open_interest(OpenInterest {
            time: hour(h + 1),
            contracts: oi,
            value_usd: None,
        });
        s.on_funding(Funding {
            time: hour(h),
            rate: 1e-4,
        });
    }
    let bytes = postcard::to_allocvec(&s).unwrap();
    println!("a full loading state: {} bytes", bytes.len());
    assert!(bytes.len() <= 1_150, "{} bytes", bytes.len());
    let back: LoadingState = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back, s);
}
