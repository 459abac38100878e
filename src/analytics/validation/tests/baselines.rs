//! Tests of each baseline's placement through `evaluate`: re-centring, the distance prior and
//! its fallback, the static ladder's liquidation prices.

use super::*;

#[test]
fn time_shuffling_recentres_another_frame_and_needs_two_frames() {
    // The model at price 100 expects longs at −5 %; the other frame (price 200, a day later)
    // expects them at −10 %. Re-centred, that is 90: where the print is.
    let a = frame(0, 100.0, &[(Long, 94.9, 95.1)]);
    let b = frame(24 * 60, 200.0, &[(Long, 179.8, 180.2)]);
    let path = [bar(30, 89.0, 100.0), bar(24 * 60 + 30, 190.0, 200.0)];
    let prints = [print(10, Long, 90.0, 1.0)];
    let one = evaluate(std::slice::from_ref(&a), &path, &prints, &params());
    assert!(baseline(&one, BaselineKind::TimeShuffled).is_none());
    assert!(
        one.notes
            .iter()
            .any(|n| n.starts_with("time-shuffled: skipped")),
        "{:?}",
        one.notes
    );
    let two = evaluate(&[a, b], &path, &prints, &params());
    assert_eq!(two.model.capture, 0.0);
    assert_eq!(
        baseline(&two, BaselineKind::TimeShuffled).map(|s| s.capture),
        Some(1.0)
    );
}

#[test]
fn distance_only_uses_earlier_prints_and_falls_back_to_uniform_without_them() {
    // Hour 0: a long print 3 % below price. Hour 1: the model expects −7 %, the print is at −3 %
    // again; the distance prior (one print at 3 %) puts the model's band there.
    let frames = [
        frame(0, 100.0, &[(Long, 92.9, 93.1)]),
        frame(60, 200.0, &[(Long, 185.9, 186.1)]),
    ];
    let path = [bar(60, 90.0, 100.0), bar(120, 180.0, 200.0)];
    let prints = [print(10, Long, 97.0, 1.0), print(70, Long, 194.0, 1.0)];
    let r = evaluate(&frames, &path, &prints, &params());
    let distance = baseline(&r, BaselineKind::DistanceOnly).expect("scored");
    assert_eq!((r.model.capture, distance.hits), (0.0, 1));
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("distance-only: no earlier print on 1 of 2")),
        "{:?}",
        r.notes
    );
}

#[test]
fn static_ladder_bands_sit_on_isolated_liquidation_prices() {
    // 10× with m = 0.4 %: long 100·0.9/0.996 ≈ 90.36, short 100·1.1/1.004 ≈ 109.56.
    let p = ValidationParams {
        ladder: vec![(10.0, 1.0)],
        mmr: 0.004,
        ..params()
    };
    let frames = [frame(
        0,
        100.0,
        &[(Long, 95.0, 95.0), (Short, 105.0, 105.0)],
    )];
    let path = [bar(60, 89.0, 111.0)];
    let prints = [
        print(5, Long, 90.0 / 0.996, 1.0),
        print(6, Short, 110.0 / 1.004, 1.0),
    ];
    let r = evaluate(&frames, &path, &prints, &p);
    let ladder = baseline(&r, BaselineKind::StaticLadder).expect("scored");
    assert_eq!(
        (r.model.capture, ladder.capture, ladder.hits),
        (0.0, 1.0, 2)
    );
}
