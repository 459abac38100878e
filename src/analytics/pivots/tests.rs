//! Unit tests of `analytics::pivots`: table cases, one line of data each where it reads well.

use super::*;

/// Small windows keep the cases readable: lbL 2, lbR 2, spacing 1..=6.
const P: PivotParams = PivotParams {
    left: 2,
    right: 2,
    range_lower: 1,
    range_upper: 6,
};

/// Runs RSI values and prices (used as both low and high) through a tracker and returns
/// `(confirmation index, kind, pivot index, previous pivot index)` per divergence.
fn run(rsi: &[f64], px: &[f64], p: &PivotParams) -> Vec<(u64, DivergenceKind, u64, u64)> {
    let mut tracker = PivotTracker::new(p);
    let mut out = Vec::new();
    for (i, (&r, &x)) in rsi.iter().zip(px).enumerate() {
        let bar = PivotBar {
            index: i as u64,
            open_time: i as i64,
            rsi: r,
            low: x,
            high: x,
        };
        if let Some(d) = tracker.push(bar, p) {
            out.push((i as u64, d.kind, d.pivot.index, d.prev.index));
        }
    }
    out
}

use DivergenceKind::{HiddenBear, HiddenBull, RegularBear, RegularBull};

#[test]
fn divergences_follow_tradingview_semantics() {
    type Case = (
        &'static str,
        &'static [f64],
        &'static [f64],
        &'static [(u64, DivergenceKind, u64, u64)],
    );
    #[rustfmt::skip]
    let cases: &[Case] = &[
        // Two RSI lows at 2 and 6: RSI higher, price lower → regular bull, confirmed at 6 + lbR.
        ("regular bull", &[50., 45., 40., 45., 50., 47., 42., 47., 50.], &[10., 9., 8., 9., 10., 9., 7., 9., 10.], &[(8, RegularBull, 6, 2)]),
        // RSI lower low, price higher low → hidden bull.
        ("hidden bull", &[50., 45., 42., 45., 50., 47., 40., 47., 50.], &[10., 9., 7., 9., 10., 9., 8., 9., 10.], &[(8, HiddenBull, 6, 2)]),
        // Mirrored highs.
        ("regular bear", &[50., 55., 60., 55., 50., 53., 58., 53., 50.], &[10., 11., 12., 11., 10., 11., 13., 11., 10.], &[(8, RegularBear, 6, 2)]),
        ("hidden bear", &[50., 55., 58., 55., 50., 53., 60., 53., 50.], &[10., 11., 13., 11., 10., 11., 12., 11., 10.], &[(8, HiddenBear, 6, 2)]),
        // Equal values on the left are allowed (ties resolve to the later pivot)…
        ("left tie allowed", &[50., 40., 40., 45., 50., 47., 42., 47., 50.], &[10., 9., 8., 9., 10., 9., 7., 9., 10.], &[(8, RegularBull, 6, 2)]),
        // …equal values on the right are not: bar 2 is no pivot, the flat bottom's pivot is bar 3.
        ("right tie moves the pivot later", &[50., 45., 40., 40., 50., 47., 42., 47., 50.], &[10., 9., 8., 9., 10., 9., 7., 9., 10.], &[(8, RegularBull, 6, 3)]),
        // A tie within EPS counts as equal.
        ("tie within eps", &[50., 45., 40., 40.0 + 1e-12, 50., 47., 42., 47., 50.], &[10., 9., 8., 9., 10., 9., 7., 9., 10.], &[(8, RegularBull, 6, 3)]),
        // Two lows can be no closer than min(lbL, lbR) + 1 bars: lows at 2 and 5, 2 bars between.
        ("closest possible spacing", &[50., 45., 40., 45., 44., 42., 45., 50.], &[10., 9., 8., 9., 8.5, 7., 9., 10.], &[(7, RegularBull, 5, 2)]),
        // Same RSI and price: no divergence either way.
        ("no divergence", &[50., 45., 40., 45., 50., 45., 40., 45., 50.], &[10., 9., 8., 9., 10., 9., 8., 9., 10.], &[]),
    ];
    for (name, rsi, px, want) in cases {
        assert_eq!(run(rsi, px, &P), want.to_vec(), "{name}");
    }
}

#[test]
fn spacing_limits_are_tradingviews_bars_between() {
    // Lows at 2 and 2 + gap; bars strictly between = gap − 1 must lie in range_lower..=range_upper.
    let series = |gap: usize| -> (Vec<f64>, Vec<f64>) {
        let mut rsi = vec![50., 45., 40.];
        let mut px = vec![10., 9., 8.];
        rsi.extend(std::iter::repeat_n(55., gap - 1));
        px.extend(std::iter::repeat_n(10., gap - 1));
        rsi.extend([42., 47., 50.]);
        px.extend([7., 9., 10.]);
        (rsi, px)
    };
    let p = PivotParams {
        range_lower: 3,
        range_upper: 5,
        ..P
    };
    for (gap, fires) in [(3, false), (4, true), (6, true), (7, false)] {
        let (rsi, px) = series(gap);
        assert_eq!(!run(&rsi, &px, &p).is_empty(), fires, "gap {gap}");
    }
}

#[test]
fn only_the_previous_pivot_is_compared() {
    // Lows at 2 (rsi 40, px 8), 6 (rsi 38, px 9) and 10 (rsi 39, px 8.5): 10 vs 6 is regular bull
    // (rsi up, price down); 10 vs 2 would be nothing, and must not be looked at.
    let rsi = [
        50., 45., 40., 45., 50., 45., 38., 45., 50., 45., 39., 45., 50.,
    ];
    let px = [10., 9., 8., 9., 10., 9.5, 9., 9.5, 10., 9.5, 8.5, 9.5, 10.];
    assert_eq!(
        run(&rsi, &px, &P),
        vec![(8, HiddenBull, 6, 2), (12, RegularBull, 10, 6)]
    );
}
