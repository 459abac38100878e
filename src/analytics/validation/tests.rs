//! Unit tests of `analytics::validation`: table cases, one line of data each where it reads well.

use super::bins::Runs;
use super::*;
use crate::model::MINUTE_MS;
use crate::model::Side::{Long, Short};

mod baselines;
mod pooled;
mod recorded;

/// The test grid: 10 bp bins, as the model's default.
pub(super) const BP: f64 = 10.0;

pub(super) fn bin(price: f64) -> i32 {
    Grid::new(BP).expect("valid").bin(price)
}

pub(super) fn frame(minute: i64, price: f64, bands: &[(Side, f64, f64)]) -> Frame {
    Frame {
        time: minute * MINUTE_MS,
        price,
        bin_bp: BP,
        long_bins: Vec::new(),
        short_bins: Vec::new(),
        clusters: bands
            .iter()
            .map(|&(side, low, high)| Band { side, low, high })
            .collect(),
    }
}

pub(super) fn bar(minute: i64, low: f64, high: f64) -> PathBar {
    PathBar {
        time: minute * MINUTE_MS,
        low,
        high,
    }
}

pub(super) fn print(minute: i64, side: Side, price: f64, notional: f64) -> Realized {
    Realized {
        time: minute * MINUTE_MS,
        side,
        price,
        notional,
    }
}

/// Exact bins (no tolerance) and a one-hour horizon keep hand-computed answers simple.
pub(super) fn params() -> ValidationParams {
    ValidationParams {
        horizon_ms: 60 * MINUTE_MS,
        tolerance_bins: 0,
        bootstrap_samples: 200,
        ..ValidationParams::default()
    }
}

pub(super) fn baseline(r: &ValidationReport, kind: BaselineKind) -> Option<&Score> {
    r.baselines
        .iter()
        .find(|b| b.kind == kind)
        .map(|b| &b.score)
}

/// Everything a consumer relies on: counts add up, numbers are finite and in range, intervals
/// are ordered, lift is capture / area.
pub(super) fn assert_well_formed(r: &ValidationReport) {
    let c = r.counts;
    let unscored = c.before_first_frame + c.stale + c.no_path + c.outside_reached + c.invalid;
    assert_eq!(c.events, c.scored + unscored, "{c:?}");
    assert!(r.scored_notional <= r.realized_notional + 1e-6);
    let scores = std::iter::once(&r.model).chain(r.baselines.iter().map(|b| &b.score));
    for s in scores {
        for x in [s.capture, s.area, s.hit_rate, s.area_by_count] {
            assert!(x.is_finite() && (0.0..=1.0 + 1e-12).contains(&x), "{s:?}");
        }
        match s.lift {
            Some(lift) => assert!((lift * s.area - s.capture).abs() < 1e-9, "{s:?}"),
            None => assert_eq!(s.capture, 0.0),
        }
        let (lo, hi) = s.hit_rate_wilson95;
        assert!(lo <= s.hit_rate && s.hit_rate <= hi, "{s:?}");
        assert!(s.hits as usize <= c.scored);
        for (lo, hi) in [s.capture_ci95, s.lift_ci95].into_iter().flatten() {
            assert!(lo.is_finite() && hi.is_finite() && lo <= hi, "{s:?}");
        }
    }
    let json = serde_json::to_string(r).expect("serialises");
    assert!(!json.contains("null,\"lift_ci95\":[") && !json.contains("NaN"));
    assert!(render_table(r).lines().count() >= 12);
}

#[test]
fn runs_union_widen_clip_and_membership() {
    let r = Runs::from_spans([(5, 3), (7, 9), (10, 10), (20, 21)]);
    assert_eq!(r.spans(), &[(3, 5), (7, 10), (20, 21)]);
    assert_eq!(r.bins(), 9);
    assert_eq!(r.widen(1).spans(), &[(2, 11), (19, 22)]);
    assert_eq!(r.bins_in((4, 20)), 2 + 4 + 1);
    let cases = [
        (2, false),
        (3, true),
        (6, false),
        (10, true),
        (21, true),
        (22, false),
    ];
    for (b, inside) in cases {
        assert_eq!(r.contains(b), inside, "bin {b}");
    }
}

#[test]
fn each_print_lands_in_exactly_one_count() {
    // One frame at minute 10, price 100, a band around 99 on each side; one bar closing at 40
    // that traded 98..102. Horizon 60 min.
    let frames = [frame(
        10,
        100.0,
        &[(Long, 98.8, 99.2), (Short, 100.8, 101.2)],
    )];
    let path = [bar(40, 98.0, 102.0)];
    let cases: &[(Realized, &str)] = &[
        (print(5, Long, 99.0, 1.0), "before_first_frame"), // TC0: no map yet
        (print(10, Long, 99.0, 1.0), "scored"),            // TC1: the frame's own minute counts
        (print(69, Short, 101.0, 1.0), "scored"),          // TC2: inside the horizon
        (print(71, Long, 99.0, 1.0), "stale"),             // TC3: 61 min after the frame
        (print(20, Long, 97.0, 1.0), "outside_reached"),   // TC4: below the lowest low
        (print(20, Long, 100.5, 1.0), "outside_reached"),  // TC5: a long above price
        (print(20, Short, 99.5, 1.0), "outside_reached"),  // TC6: a short below price
        (print(20, Long, 0.0, 1.0), "invalid"),            // TC7: no price
        (print(20, Long, 99.0, f64::NAN), "invalid"),      // TC8: no notional
    ];
    for (i, (r, want)) in cases.iter().enumerate() {
        let c = evaluate(&frames, &path, &[*r], &params()).counts;
        let got = [
            ("scored", c.scored),
            ("before_first_frame", c.before_first_frame),
            ("stale", c.stale),
            ("no_path", c.no_path),
            ("outside_reached", c.outside_reached),
            ("invalid", c.invalid),
        ];
        let hit: Vec<&str> = got.iter().filter(|g| g.1 == 1).map(|g| g.0).collect();
        assert_eq!((c.events, hit), (1, vec![*want]), "TC{i}");
    }
    let no_bar = evaluate(
        &frames,
        &[bar(80, 90.0, 110.0)],
        &[print(20, Long, 99.0, 1.0)],
        &params(),
    );
    assert_eq!(
        no_bar.counts.no_path, 1,
        "a bar after the window says nothing about it"
    );
}

#[test]
fn a_frame_stamped_after_a_print_is_never_used_for_it() {
    // Frame 0 expects longs at 91–92, frame 30 (knowing more) at 99. A print at 99 is a hit
    // only if scored against frame 30, which is allowed from minute 30 on.
    let frames = [
        frame(0, 100.0, &[(Long, 91.0, 92.0)]),
        frame(30, 100.0, &[(Long, 98.8, 99.2)]),
    ];
    let path = [bar(30, 90.0, 100.0), bar(60, 90.0, 100.0)];
    let cases = [(29, 0.0), (30, 1.0), (31, 1.0)];
    for (minute, capture) in cases {
        let r = evaluate(&frames, &path, &[print(minute, Long, 99.0, 1.0)], &params());
        assert_eq!(r.model.capture, capture, "print at minute {minute}");
    }
}

#[test]
fn unreached_bins_are_excluded_from_the_area() {
    // Price 100 fell only to 98: the reached long bins run from bin(98) to bin(100).
    let reached = f64::from(bin(100.0) - bin(98.0) + 1);
    let cases: &[(f64, f64, f64, Option<f64>)] = &[
        // TC0: the band reaches below 98, but only its reached part counts.
        (
            96.0,
            99.0,
            f64::from(bin(99.0) - bin(98.0) + 1) / reached,
            Some(1.0),
        ),
        // TC1: a band entirely in the unreached region covers nothing: no area, no lift.
        (93.0, 95.0, 0.0, None),
    ];
    for (i, &(low, high, area, capture)) in cases.iter().enumerate() {
        let frames = [frame(0, 100.0, &[(Long, low, high)])];
        let r = evaluate(
            &frames,
            &[bar(5, 98.0, 100.0)],
            &[print(2, Long, 98.5, 1.0)],
            &params(),
        );
        assert!(
            (r.model.area - area).abs() < 1e-12,
            "TC{i}: {}",
            r.model.area
        );
        assert_eq!(r.model.lift.map(|_| r.model.capture), capture, "TC{i}");
    }
}

#[test]
fn tolerance_widens_hits_and_area_alike() {
    let frames = [frame(0, 100.0, &[(Long, 99.0, 99.0)])];
    let path = [bar(5, 95.0, 100.0)];
    let next_bin = 1.001_f64.powf(f64::from(bin(99.0)) + 1.5);
    let reached = f64::from(bin(100.0) - bin(95.0) + 1);
    for (tolerance_bins, capture, covered) in [(0, 0.0, 1.0), (1, 1.0, 3.0), (2, 1.0, 5.0)] {
        let p = ValidationParams {
            tolerance_bins,
            ..params()
        };
        let r = evaluate(&frames, &path, &[print(1, Long, next_bin, 1.0)], &p);
        assert_eq!(r.model.capture, capture, "±{tolerance_bins}");
        assert!(
            (r.model.area - covered / reached).abs() < 1e-12,
            "±{tolerance_bins}"
        );
    }
}

/// Hourly frames at price 100 whose bands sit exactly where that hour's prints land, at
/// distances that change every hour; path 90..110 every hour.
pub(super) fn oracle_case(n: i64) -> (Vec<Frame>, Vec<PathBar>, Vec<Realized>) {
    let (mut frames, mut path, mut prints) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..n {
        let long = 100.0 * (0.99 - 0.001 * ((k * 37) % 80) as f64);
        let short = 100.0 * (1.01 + 0.001 * ((k * 53) % 80) as f64);
        let bands = [
            (Long, long * 0.9995, long * 1.0005),
            (Short, short * 0.9995, short * 1.0005),
        ];
        frames.push(frame(60 * k, 100.0, &bands));
        path.push(bar(60 * k + 60, 90.0, 110.0));
        prints.push(print(60 * k + 10, Long, long, 1000.0 + k as f64));
        prints.push(print(60 * k + 20, Short, short, 500.0));
    }
    (frames, path, prints)
}

#[test]
fn a_map_with_bands_where_prints_happen_beats_every_baseline() {
    let (frames, path, prints) = oracle_case(72);
    let p = ValidationParams {
        tolerance_bins: 1,
        ..params()
    };
    let r = evaluate(&frames, &path, &prints, &p);
    assert_well_formed(&r);
    assert_eq!((r.counts.scored, r.model.capture), (144, 1.0));
    let lift = r.model.lift.expect("bands inside the reached range");
    assert!(lift > 20.0, "lift {lift}");
    assert_eq!(r.baselines.len(), 4, "{:?}", r.notes);
    for b in &r.baselines {
        assert!(
            b.score.capture < 0.5,
            "{:?} capture {}",
            b.kind,
            b.score.capture
        );
        assert!(b.score.lift.unwrap_or(0.0) < lift / 2.0, "{:?}", b.kind);
        let (gain_low, _) = b.lift_gain_ci95.expect("defined");
        assert!(gain_low > 0.0, "{:?} gain {gain_low}", b.kind);
    }
}

#[test]
fn a_map_far_from_every_print_captures_nothing() {
    let frames = [frame(
        0,
        100.0,
        &[(Long, 91.0, 92.0), (Short, 108.0, 109.0)],
    )];
    let path = [bar(60, 90.0, 110.0)];
    // Longs between 98 and 99, shorts between 101 and 102: near price, far from the bands.
    let side = |i: i64| {
        if i % 2 == 0 {
            (Long, 99.0)
        } else {
            (Short, 101.0)
        }
    };
    let prints: Vec<Realized> = (0..20)
        .map(|i| {
            print(
                i,
                side(i).0,
                side(i).1 + 0.05 * (i as f64) * (side(i).1 - 100.0),
                10.0,
            )
        })
        .collect();
    let r = evaluate(&frames, &path, &prints, &params());
    assert_well_formed(&r);
    assert_eq!(
        (r.counts.scored, r.model.capture, r.model.lift),
        (20, 0.0, Some(0.0))
    );
    assert_eq!(r.model.capture_ci95, Some((0.0, 0.0)));
    assert!(r.model.hit_rate_wilson95.1 < 0.17, "Wilson high for 0/20");
}

#[test]
fn an_uninformative_map_scores_lift_near_one() {
    // Prints fall uniformly over the reached bins, whatever the bands say.
    let mut rng = super::stats::SplitMix64::new(42);
    let (lo, hi) = (bin(90.0), bin(100.0));
    let (mut frames, mut path, mut prints) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..40 {
        frames.push(frame(
            60 * k,
            100.0,
            &[(Long, 94.0, 96.0), (Long, 98.0, 98.5)],
        ));
        path.push(bar(60 * k + 60, 90.0, 100.0));
        for j in 0..50 {
            let b = lo + rng.below((hi - lo + 1) as usize) as i32;
            let price = 1.001_f64.powf(f64::from(b) + 0.5);
            prints.push(print(60 * k + j, Long, price, 100.0));
        }
    }
    let p = ValidationParams {
        tolerance_bins: 1,
        ..params()
    };
    let r = evaluate(&frames, &path, &prints, &p);
    assert_well_formed(&r);
    assert_eq!(r.counts.scored, 2000);
    for (name, s) in [
        ("model", &r.model),
        (
            "uniform",
            baseline(&r, BaselineKind::Uniform).expect("scored"),
        ),
    ] {
        let lift = s.lift.expect("defined");
        let (ci_lo, ci_hi) = s.lift_ci95.expect("defined");
        assert!(
            (0.85..1.15).contains(&lift) && ci_lo < 1.0 && 1.0 < ci_hi,
            "{name}: {lift} [{ci_lo}, {ci_hi}]"
        );
    }
}

#[test]
fn reports_are_deterministic_and_empty_input_is_well_formed() {
    let (frames, path, prints) = oracle_case(30);
    let p = params();
    assert_eq!(
        evaluate(&frames, &path, &prints, &p),
        evaluate(&frames, &path, &prints, &p)
    );
    let reseeded = evaluate(
        &frames,
        &path,
        &prints,
        &ValidationParams {
            seed: 1,
            ..params()
        },
    );
    assert_eq!(
        reseeded.model.capture,
        evaluate(&frames, &path, &prints, &p).model.capture
    );
    let empty = evaluate(&[], &[], &[], &p);
    assert_well_formed(&empty);
    assert_eq!(
        (
            empty.counts.events,
            empty.model.lift,
            empty.model.capture_ci95
        ),
        (0, None, None)
    );
    let bad = [
        Frame {
            price: f64::NAN,
            ..frame(0, 1.0, &[])
        },
        Frame {
            bin_bp: 0.0,
            ..frame(0, 1.0, &[])
        },
    ];
    assert_eq!(evaluate(&bad, &[], &[], &p).frames_dropped, 2);
}

#[test]
fn report_renders_as_a_table_and_as_json() {
    let (frames, path, prints) = oracle_case(30);
    let r = evaluate(&frames, &path, &prints, &params());
    let table = render_table(&r);
    let header = table.lines().nth(2).expect("header row");
    let columns: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(
        columns,
        [
            "metric",
            "model",
            "uniform",
            "distance-only",
            "static-ladder",
            "time-shuffled"
        ]
    );
    assert!(table.contains("lift = capture/area") && table.contains("95% Wilson"));
    let json: serde_json::Value = serde_json::to_value(&r).expect("serialises");
    assert_eq!(json["baselines"][3]["kind"], "time_shuffled");
    assert_eq!(json["model"]["capture"], 1.0);
}
