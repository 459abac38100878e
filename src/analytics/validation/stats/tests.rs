//! Unit tests of `analytics::validation::stats`: table cases, one line of data each where it reads well.

use super::*;

#[test]
fn wilson_interval_matches_hand_computed_values() {
    // Reference values from the Wilson formula with z = 1.959963984540054, computed by hand
    // (centre (p + z²/2n)/(1 + z²/n), half-width z/(1 + z²/n)·√(p(1−p)/n + z²/4n²)).
    let cases: &[(u64, u64, f64, f64)] = &[
        (0, 10, 0.0, 0.277_532_799_9), // TC0: no hit: lower bound exactly 0
        (5, 10, 0.236_593_090_5, 0.763_406_909_5), // TC1: symmetric around 0.5
        (10, 10, 0.722_467_200_1, 1.0), // TC2: mirror of TC0
        (50, 100, 0.403_831_530_4, 0.596_168_469_6), // TC3: more trials, narrower
        (1, 3, 0.061_491_944_7, 0.792_340_399_2), // TC4: asymmetric
        (0, 1, 0.0, 0.793_450_685_6),  // TC5: a single miss
        (0, 0, 0.0, 1.0),              // TC6: no trials: nothing known
        (12, 10, 0.722_467_200_1, 1.0), // TC7: hits above n count as n
    ];
    for (i, &(hits, n, lo, hi)) in cases.iter().enumerate() {
        let (got_lo, got_hi) = wilson_interval(hits, n);
        assert!((got_lo - lo).abs() < 1e-9, "TC{i}: low {got_lo} != {lo}");
        assert!((got_hi - hi).abs() < 1e-9, "TC{i}: high {got_hi} != {hi}");
    }
}

/// `n` draws from a skewed distance-like variable, mean ≈ 1/3.
fn sample(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| {
            let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            u * u
        })
        .collect()
}

fn mean_ci(xs: &[f64], samples: u32, seed: u64) -> Option<(f64, f64)> {
    bootstrap_ci(xs.len(), samples, seed, |draw| {
        Some(draw.iter().map(|&i| xs[i]).sum::<f64>() / draw.len() as f64)
    })
}

#[test]
fn bootstrap_interval_brackets_the_estimate_shrinks_and_repeats() {
    let (small, large) = (sample(40, 1), sample(4000, 2));
    for xs in [&small, &large] {
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let (lo, hi) = mean_ci(xs, 1000, 7).expect("defined");
        assert!(lo < mean && mean < hi, "{lo} < {mean} < {hi}");
    }
    let width = |xs: &[f64]| {
        let (lo, hi) = mean_ci(xs, 1000, 7).expect("defined");
        hi - lo
    };
    // The interval narrows like 1/√n: 100× the events, about a tenth of the width.
    assert!(width(&large) < width(&small) / 5.0);
    assert_eq!(mean_ci(&small, 500, 9), mean_ci(&small, 500, 9));
    assert_ne!(mean_ci(&small, 500, 9), mean_ci(&small, 500, 10));
}

#[test]
fn bootstrap_without_data_or_defined_statistic_has_no_interval() {
    assert_eq!(bootstrap_ci(0, 100, 1, |_| Some(1.0)), None);
    assert_eq!(bootstrap_ci(5, 0, 1, |_| Some(1.0)), None);
    assert_eq!(bootstrap_ci(5, 100, 1, |_| None), None);
    assert_eq!(bootstrap_ci(5, 100, 1, |_| Some(f64::NAN)), None);
    assert_eq!(bootstrap_ci(3, 100, 1, |_| Some(0.25)), Some((0.25, 0.25)));
}

#[test]
fn quantile_interpolates_like_type_7() {
    let cases: &[(&[f64], f64, f64)] = &[
        (&[1.0, 2.0, 3.0, 4.0], 0.5, 2.5), // TC0: type 7 interpolates
        (&[1.0, 2.0, 3.0, 4.0], 0.0, 1.0), // TC1: minimum
        (&[1.0, 2.0, 3.0, 4.0], 1.0, 4.0), // TC2: maximum
        (&[5.0], 0.975, 5.0),              // TC3: one value
        (&[0.0, 10.0], 0.025, 0.25),       // TC4: 2.5 % of the way
    ];
    for (i, &(xs, q, want)) in cases.iter().enumerate() {
        assert!((quantile(xs, q) - want).abs() < 1e-12, "TC{i}");
    }
}
