//! Unit tests of `analytics::heatmap`: table cases, one line of data each where it reads well.

use super::*;
use crate::analytics::brackets::{MarginSpec, margin_for};
use crate::model::{Candle, MINUTE_MS};

pub(super) const T0: TimeMs = 1_748_736_000_000; // 2025-06-01 00:00 UTC
pub(super) const STEP: TimeMs = 5 * MINUTE_MS;
/// f32 bins against f64 bookkeeping: relative tolerance of sums.
pub(super) const REL: f64 = 1e-5;

pub(super) fn btc() -> MarginSpec {
    margin_for(&"BTCUSDT".parse().unwrap())
}

pub(super) fn kernel() -> Kernel {
    Kernel::new(&HeatmapParams::default(), btc())
}

/// A bar with VWAP `vwap` (quote volume = vwap × 1000) and taker-buy share `buy`.
pub(super) fn bar(low: f64, high: f64, close: f64, vwap: f64, buy: f64) -> Candle {
    Candle {
        open_time: 0,
        open: close,
        high,
        low,
        close,
        volume: 1000.0,
        quote_volume: Some(vwap * 1000.0),
        taker_buy_quote: Some(buy * vwap * 1000.0),
    }
}

/// A map plus the clock, stepping one 5-minute bar at a time.
pub(super) struct Run {
    pub(super) k: Kernel,
    pub(super) map: Heatmap,
    pub(super) t: TimeMs,
}

impl Run {
    pub(super) fn new(k: Kernel) -> Self {
        let map = Heatmap::new(&k);
        Run { k, map, t: T0 }
    }

    pub(super) fn step(&mut self, b: &Candle, oi: Option<f64>) -> StepReport {
        self.t += STEP;
        self.map.step(&self.k, self.t, b, oi).unwrap()
    }

    /// A flat bar at `p` (inside one bin, so it consumes nothing the kernel deposited).
    pub(super) fn flat(&mut self, p: f64, oi: Option<f64>) -> StepReport {
        self.step(&bar(p, p, p, p, 0.5), oi)
    }
}

/// Σ of one side's bins as the arrays hold them.
pub(super) fn array_sum(map: &Heatmap, side: Side) -> f64 {
    let base = map.window_base();
    (0..map.window_len() as i32)
        .map(|i| map.mass(side, base + i))
        .sum()
}

pub(super) fn occupied(map: &Heatmap, side: Side) -> Vec<i32> {
    let base = map.window_base();
    (base..base + map.window_len() as i32)
        .filter(|&k| map.mass(side, k) > 0.0)
        .collect()
}

pub(super) fn close_rel(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn liquidation_prices_match_hand_computed_cases_with_btc_mmr() {
    let m = btc().mmr;
    assert_eq!(m, 0.004);
    // E = 100 000: long E(1−1/ℓ)/(1−m), short E(1+1/ℓ)/(1+m), worked by hand.
    let cases = [
        (10.0, 90_000.0 / 0.996, 110_000.0 / 1.004),
        (25.0, 96_000.0 / 0.996, 104_000.0 / 1.004),
        (100.0, 99_000.0 / 0.996, 101_000.0 / 1.004),
    ];
    let expected = [
        (90_361.445_783_132_5, 109_561.752_988_047_8),
        (96_385.542_168_674_7, 103_585.657_370_517_9),
        (99_397.590_361_445_8, 100_597.609_561_753),
    ];
    for ((lev, long, short), (el, es)) in cases.into_iter().zip(expected) {
        let l = liquidation_price(Side::Long, 100_000.0, lev, m);
        let s = liquidation_price(Side::Short, 100_000.0, lev, m);
        assert!(
            (l - long).abs() < 1e-9 && (l - el).abs() < 1e-6,
            "{lev}x long {l}"
        );
        assert!(
            (s - short).abs() < 1e-9 && (s - es).abs() < 1e-6,
            "{lev}x short {s}"
        );
    }
}

#[test]
fn a_spike_kernel_deposits_in_the_liquidation_bin() {
    for lev in [10.0, 25.0, 100.0] {
        let params = HeatmapParams {
            tiers: vec![LeverageTier {
                leverage: lev,
                weight: 1.0,
            }],
            smear_rel: 0.0,
            smear_min_bins: 0.0,
            ..HeatmapParams::default()
        };
        let mut run = Run::new(Kernel::new(&params, btc()));
        let g = *run.map.grid();
        let entry = g.mid(g.bin_of(100_000.0)); // the kernel assumes entry at its bin's centre
        run.flat(entry, Some(1000.0));
        let r = run.step(&bar(entry, entry, entry, entry, 0.5), Some(1010.0));
        let want_l = g.bin_of(liquidation_price(Side::Long, entry, lev, 0.004));
        let want_s = g.bin_of(liquidation_price(Side::Short, entry, lev, 0.004));
        assert_eq!(occupied(&run.map, Side::Long), vec![want_l], "{lev}x");
        assert_eq!(occupied(&run.map, Side::Short), vec![want_s], "{lev}x");
        assert!(close_rel(
            run.map.mass(Side::Long, want_l),
            10.0 * entry * 0.5,
            REL
        ));
        assert!(close_rel(r.opened_long + r.opened_short, 10.0 * entry, REL));
    }
}

#[test]
fn tiers_above_max_leverage_are_capped_and_weights_renormalised() {
    let p = HeatmapParams {
        tiers: vec![
            LeverageTier {
                leverage: 10.0,
                weight: 1.0,
            },
            LeverageTier {
                leverage: 100.0,
                weight: 3.0,
            },
        ],
        ..HeatmapParams::default()
    };
    let t = kernel::effective_tiers(&p, 50.0);
    assert_eq!(t, vec![(10.0, 0.25), (50.0, 0.75)]);
}

#[test]
fn mark_ticks_consume_crossed_mass_and_the_step_reports_it() {
    let mut run = Run::new(kernel());
    run.flat(100.0, Some(1e6));
    run.flat(100.0, Some(1.1e6)); // deposits 1e5 contracts × 100 on both sides
    let (long0, short0) = (run.map.total(Side::Long), run.map.total(Side::Short));
    assert!(long0 > 0.0 && short0 > 0.0);

    let c = run.map.on_mark(run.t + 1000, 97.0);
    let k = run.map.grid().bin_of(97.0);
    assert!(
        occupied(&run.map, Side::Long).iter().all(|&b| b <= k),
        "nothing above the mark"
    );
    assert!(c.long > 0.0 && c.short == 0.0);
    assert!(close_rel(run.map.total(Side::Long), long0 - c.long, 1e-9));
    assert!(close_rel(
        array_sum(&run.map, Side::Long),
        long0 - c.long,
        REL
    ));
    // A second tick at the same price finds nothing more; a tick back up consumes nothing.
    assert_eq!(run.map.on_mark(run.t + 2000, 97.0), Consumed::default());
    assert_eq!(run.map.on_mark(run.t + 3000, 99.0), Consumed::default());
    // The next step reports what the ticks consumed, plus its own bar (which crosses nothing).
    let r = run.flat(99.0, Some(1.1e6));
    assert_eq!(r.consumed_long, c.long);
}

#[test]
fn a_partly_swept_bin_is_consumed_only_by_the_increment() {
    let mut run = Run::new(kernel());
    run.flat(100.0, Some(1e6));
    run.flat(100.0, Some(1.1e6));
    let g = *run.map.grid();
    let k = g.bin_of(99.0);
    let full = run.map.mass(Side::Long, k);
    assert!(full > 0.0);
    let at = |f: f64| ((f64::from(k) + f) * g.lambda()).exp();
    let c1 = run.map.on_mark(run.t + 1, at(0.75)); // top quarter of bin k swept
    let left1 = run.map.mass(Side::Long, k);
    assert!(close_rel(left1, 0.75 * full, REL), "{left1} vs {full}");
    run.map.on_mark(run.t + 2, at(0.5)); // half swept in all: one more quarter of the original
    assert!(close_rel(run.map.mass(Side::Long, k), 0.5 * full, REL));
    assert!(c1.long > 0.0);
}

#[test]
fn decay_halves_mass_in_exactly_one_half_life() {
    let mut run = Run::new(kernel());
    run.flat(100.0, Some(1e6));
    run.flat(100.0, Some(1.1e6));
    let before = run.map.total(Side::Long) + run.map.total(Side::Short);
    let steps = HeatmapParams::default().half_life_ms / STEP;
    assert_eq!(steps, 576);
    for _ in 0..steps {
        run.flat(100.0, Some(1.1e6));
    }
    let after = run.map.total(Side::Long) + run.map.total(Side::Short);
    assert!(
        close_rel(after, before / 2.0, 1e-12),
        "{after} vs {}",
        before / 2.0
    );
    // One step spanning a whole half-life halves it too (exp2(−1) is exact).
    run.t += HeatmapParams::default().half_life_ms - STEP;
    let r = run.flat(100.0, Some(1.1e6));
    assert!(close_rel(r.total_long + r.total_short, after / 2.0, 1e-12));
    assert!(close_rel(r.decayed, after / 2.0, 1e-12));
}

#[test]
fn the_opening_split_follows_the_clamped_taker_share() {
    let mut run = Run::new(kernel());
    run.flat(100.0, Some(1e6));
    for (buy, want_long) in [(0.6, 0.6), (0.95, 0.8), (0.02, 0.2)] {
        let oi = run.map.last_open_interest().unwrap() + 100.0;
        let r = run.step(&bar(100.0, 100.0, 100.0, 100.0, buy), Some(oi));
        let share = r.opened_long / (r.opened_long + r.opened_short);
        assert!(close_rel(share, want_long, 1e-6), "{buy}: {share}");
        assert!(close_rel(
            r.opened_long + r.opened_short,
            100.0 * 100.0,
            REL
        ));
    }
}

#[test]
fn closing_flow_is_net_of_consumption_and_capped_at_what_exists() {
    let mut run = Run::new(kernel());
    run.flat(100.0, Some(1e6));
    run.flat(100.0, Some(1.1e6));
    // OI back to 1e6: 1e7 USD closes, less what this bar's wick liquidated.
    let r = run.step(&bar(98.0, 100.0, 100.0, 100.0, 0.5), Some(1e6));
    assert!(r.consumed_long > 0.0);
    let open_before = 1.1e6 * 100.0;
    let rest = 1e7 - r.consumed_long - r.consumed_short;
    let long_before = r.total_long + r.closed_long;
    assert!(close_rel(
        r.closed_long,
        long_before * rest / open_before,
        1e-9
    ));
    // Everything closes: nothing negative, nothing beyond the totals.
    let r = run.step(&bar(100.0, 100.0, 100.0, 100.0, 0.9), Some(0.0));
    assert_eq!((r.total_long, r.total_short), (0.0, 0.0));
    assert!(
        occupied(&run.map, Side::Long).is_empty() && occupied(&run.map, Side::Short).is_empty()
    );
}

#[test]
fn without_open_interest_the_map_runs_in_volume_proxy_mode() {
    let mut run = Run::new(kernel());
    let r = run.flat(100.0, None);
    assert_eq!(r.mode, Mode::VolumeProxy);
    assert_eq!(r.coverage, None);
    let expected = HeatmapParams::default().volume_proxy_factor * 100.0 * 1000.0;
    assert!(close_rel(r.opened_long + r.opened_short, expected, REL));
    // A bar without quote volume: base volume × typical price.
    let b = Candle {
        quote_volume: None,
        taker_buy_quote: None,
        ..bar(99.0, 102.0, 102.0, 100.0, 0.5)
    };
    let r = run.step(&b, None);
    let expected = HeatmapParams::default().volume_proxy_factor * 101.0 * 1000.0;
    assert!(close_rel(r.opened_long + r.opened_short, expected, REL));
    // No taker volume: the close-location value (close at the high → 1) tilts it, clamped.
    assert!(close_rel(
        r.opened_long / (r.opened_long + r.opened_short),
        0.8,
        1e-6
    ));
    assert_eq!(run.map.mode(), Mode::VolumeProxy);
    assert_eq!(run.map.counters().proxy_steps, 2);
}

#[test]
fn a_missing_oi_sample_in_oi_mode_applies_no_flow() {
    let mut run = Run::new(kernel());
    run.flat(100.0, Some(1e6));
    let r = run.flat(100.0, None);
    assert_eq!((r.mode, r.opened_long, r.closed_long), (Mode::Oi, 0.0, 0.0));
    assert_eq!(run.map.counters().oi_missing_steps, 1);
    // The next sample's ΔOI spans both steps.
    let r = run.flat(100.0, Some(1.01e6));
    assert!(close_rel(r.opened_long + r.opened_short, 1e4 * 100.0, REL));
}

#[test]
fn bad_inputs_are_rejected_and_leave_the_map_unchanged() {
    let mut run = Run::new(kernel());
    run.flat(100.0, Some(1e6));
    let before = run.map.clone();
    let t = run.t + STEP;
    let k = &run.k;
    let nan = bar(f64::NAN, 100.0, 100.0, 100.0, 0.5);
    assert!(matches!(
        run.map.step(k, t, &nan, None),
        Err(HeatmapError::BadBar { .. })
    ));
    let inverted = bar(101.0, 100.0, 100.0, 100.0, 0.5);
    assert!(run.map.step(k, t, &inverted, None).is_err());
    let b = bar(100.0, 100.0, 100.0, 100.0, 0.5);
    assert!(matches!(
        run.map.step(k, t, &b, Some(-1.0)),
        Err(HeatmapError::BadOpenInterest(_))
    ));
    let err = run.map.step(k, run.t, &b, None);
    assert!(matches!(err, Err(HeatmapError::NotAfterLastStep { .. })));
    assert_eq!(run.map, before);
    run.map.on_mark(run.t - 1, 50.0); // older than the last step: ignored
    run.map.on_mark(run.t + 1, f64::INFINITY);
    assert_eq!(run.map.counters().ignored_marks, 2);
    assert_eq!(run.map.total(Side::Long), before.total(Side::Long));
}

#[test]
fn the_window_follows_price_and_keeps_mass_near_it() {
    let mut run = Run::new(kernel());
    run.flat(100.0, Some(1e6));
    run.flat(100.0, Some(1.1e6));
    let short = run.map.total(Side::Short);
    // Price halves in one step (no consumption of shorts): the window re-centres, and short mass
    // (within ~+45 % of 100, ~1100 bins above 50) partly falls off its top.
    let r = run.flat(50.0, Some(1.1e6));
    assert_eq!(run.map.counters().reanchors, 1);
    let g = *run.map.grid();
    let centre = run.map.window_base() + run.map.window_len() as i32 / 2;
    assert_eq!(centre, g.bin_of(50.0));
    assert!(r.dropped > 0.0 && r.total_short < short);
    assert!(close_rel(
        r.total_short,
        array_sum(&run.map, Side::Short),
        REL
    ));
    assert_eq!(r.total_long, 0.0, "every long level was above 50");
}

#[test]
fn default_params_are_valid_and_bad_ones_are_named() {
    assert!(HeatmapParams::default().problems().is_empty());
    let bad = HeatmapParams {
        bin_bp: 0.0,
        tiers: vec![],
        taker_share_min: 0.6,
        ..HeatmapParams::default()
    };
    let problems = bad.problems();
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert!(problems.iter().any(|p| p.starts_with("bin_bp")));
}

#[test]
fn outward_reads_match_single_bins_inside_and_outside_the_window() {
    let mut run = Run::new(kernel());
    run.flat(100.0, Some(1e6));
    run.flat(100.0, Some(1.1e6));
    let (base, len) = (run.map.window_base(), run.map.window_len() as i32);
    for side in [Side::Long, Side::Short] {
        for from in [
            base - 50,
            base + 3,
            base + len / 2,
            base + len - 2,
            base + len + 40,
        ] {
            let mut out = vec![7.0];
            run.map.outward(side, from, 300, &mut out);
            let dir = if side == Side::Long { -1 } else { 1 };
            let want: Vec<f64> = (0..300)
                .map(|j| run.map.mass(side, from + dir * j))
                .collect();
            assert_eq!(out[0], 7.0);
            assert_eq!(&out[1..], &want[..], "{side:?} from {from}");
        }
    }
}
