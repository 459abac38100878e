//! Property tests of the heatmap invariants over random price, OI and mark paths.

use proptest::prelude::*;

use super::tests::{REL, Run, STEP, T0, array_sum, bar, close_rel, kernel, occupied};
use super::*;
use crate::analytics::brackets::MarginSpec;

/// One random bar and OI move: (log return, range, ΔOI fraction, taker-buy share, mark offset).
fn path() -> impl Strategy<Value = Vec<(f64, f64, f64, f64, f64)>> {
    prop::collection::vec(
        (
            -0.03..0.03f64,
            0.0..0.02f64,
            -0.2..0.15f64,
            0.0..1.0f64,
            -0.02..0.02f64,
        ),
        1..60,
    )
}

/// Replays a random path with mark ticks between steps, checking the invariants at every step.
fn replay(moves: &[(f64, f64, f64, f64, f64)], check: bool) -> Heatmap {
    let mut run = Run::new(kernel());
    let (mut price, mut oi) = (100.0f64, 1e5f64);
    let hl = HeatmapParams::default().half_life_ms as f64;
    for &(ret, range, doi, buy, mark) in moves {
        let prev_long = run.map.total(Side::Long);
        let c = run.map.on_mark(run.t + 1, price * (1.0 + mark));
        let open = price;
        price *= ret.exp();
        oi *= 1.0 + doi;
        let (lo, hi) = (
            open.min(price) * (1.0 - range),
            open.max(price) * (1.0 + range),
        );
        let r = run.step(&bar(lo, hi, price, (lo + hi) / 2.0, buy), Some(oi));
        if !check {
            continue;
        }
        let total = r.total_long + r.total_short;
        assert!(
            total <= oi * price * (1.0 + 1e-12),
            "total {total} > OI·P {}",
            oi * price
        );
        let held = (prev_long - c.long) * (-(STEP as f64) / hl).exp2() - (r.consumed_long - c.long);
        assert!(
            r.closed_long <= held * (1.0 + REL) + 1e-6,
            "closed {} > held {held}",
            r.closed_long
        );
        for side in [Side::Long, Side::Short] {
            let sum = array_sum(&run.map, side);
            assert!(close_rel(sum, run.map.total(side), 1e-9), "{side:?}: {sum}");
        }
        let g = *run.map.grid();
        assert!(
            occupied(&run.map, Side::Long)
                .iter()
                .all(|&k| k <= g.bin_of(hi).max(g.bin_of(lo)))
        );
    }
    run.map
}

proptest! {
    #[test]
    fn kernel_sides_never_cross_the_entry_bin(
        mmr in 0.001..0.03f64, max_lev in 2.0..150.0f64, smear in 0.0..0.6f64, floor in 0.0..3.0f64,
    ) {
        prop_assume!(mmr * max_lev < 1.0);
        let p = HeatmapParams { smear_rel: smear, smear_min_bins: floor, ..HeatmapParams::default() };
        let k = Kernel::new(&p, MarginSpec { mmr, max_leverage: max_lev });
        prop_assert!(k.side(Side::Long).end() <= -1);
        prop_assert!(k.side(Side::Short).start() >= 1);
        prop_assert!((k.side(Side::Long).sum() - 1.0).abs() < 1e-5);
        prop_assert!((k.side(Side::Short).sum() - 1.0).abs() < 1e-5);
    }

    #[test]
    fn each_deposit_puts_longs_below_and_shorts_above_its_entry(
        vwap in 0.001..200_000.0f64, buy in 0.0..1.0f64, doi in 1.0..1e6f64,
    ) {
        let mut run = Run::new(kernel());
        run.flat(vwap, Some(1e6));
        run.step(&bar(vwap, vwap, vwap, vwap, buy), Some(1e6 + doi));
        let e = run.map.grid().bin_of(vwap);
        let (l, s) = (occupied(&run.map, Side::Long), occupied(&run.map, Side::Short));
        prop_assert!(!l.is_empty() && l.iter().all(|&k| k < e));
        prop_assert!(!s.is_empty() && s.iter().all(|&k| k > e));
    }

    #[test]
    fn random_paths_keep_the_invariants(moves in path()) {
        replay(&moves, true);
    }

    #[test]
    fn identical_inputs_give_identical_state(moves in path()) {
        prop_assert_eq!(replay(&moves, false), replay(&moves, false));
    }

    #[test]
    fn a_json_snapshot_round_trips_exactly_and_steps_on_identically(moves in path()) {
        let (head, tail) = moves.split_at(moves.len() / 2);
        let map = replay(head, false);
        let json = serde_json::to_string(&map).unwrap();
        let back: Heatmap = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &map);
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
        let k = kernel();
        let (mut a, mut b) = (map, back);
        for (i, &(_, range, doi, buy, _)) in tail.iter().enumerate() {
            let t = a.last_time().unwrap_or(T0) + STEP;
            let p = 100.0 * (1.0 + 0.01 * i as f64);
            let oi = 1e5 * (1.0 + doi);
            let x = bar(p * (1.0 - range), p * (1.0 + range), p, p, buy);
            prop_assert_eq!(a.step(&k, t, &x, Some(oi)), b.step(&k, t, &x, Some(oi)));
        }
        prop_assert_eq!(a, b);
    }
}
