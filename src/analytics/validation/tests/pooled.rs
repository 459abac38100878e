//! Pooling symbols, the bootstrap unit, and the map's own top-mass bands.

use super::*;

/// Two symbols of the oracle case shifted in price: each alone and both pooled.
#[test]
fn pooling_adds_counts_and_scores_every_print_against_its_own_frames() {
    let (fa, pa, ra) = oracle_case(24);
    let scale = |f: &Frame| Frame {
        price: f.price * 3.0,
        clusters: (f.clusters.iter())
            .map(|b| Band {
                low: b.low * 3.0,
                high: b.high * 3.0,
                ..*b
            })
            .collect(),
        ..f.clone()
    };
    let fb: Vec<Frame> = fa.iter().map(scale).collect();
    let pb: Vec<PathBar> = (pa.iter())
        .map(|b| PathBar {
            low: b.low * 3.0,
            high: b.high * 3.0,
            ..*b
        })
        .collect();
    let rb: Vec<Realized> = (ra.iter())
        .map(|r| Realized {
            price: r.price * 3.0,
            ..*r
        })
        .collect();
    let p = params();
    let a = evaluate(&fa, &pa, &ra, &p);
    let b = evaluate(&fb, &pb, &rb, &p);
    let both = evaluate_pooled(
        &[
            Part {
                frames: &fa,
                path: &pa,
                realized: &ra,
            },
            Part {
                frames: &fb,
                path: &pb,
                realized: &rb,
            },
        ],
        &p,
    );
    assert_well_formed(&both);
    assert_eq!(both.counts.scored, a.counts.scored + b.counts.scored);
    assert_eq!(both.frames, a.frames + b.frames);
    assert!((both.scored_notional - a.scored_notional - b.scored_notional).abs() < 1e-6);
    // The same bands at three times the price: every print still lands in its own frame's bands.
    assert_eq!(
        (a.model.capture, b.model.capture, both.model.capture),
        (1.0, 1.0, 1.0)
    );
    // One unit per step: both symbols' frames share their times, so units do not double.
    assert_eq!(both.bootstrap_blocks, a.bootstrap_blocks);
    let per_print = ValidationParams {
        bootstrap_unit: BootstrapUnit::Print,
        ..params()
    };
    let printed = evaluate_pooled(
        &[Part {
            frames: &fa,
            path: &pa,
            realized: &ra,
        }],
        &per_print,
    );
    assert_eq!(printed.bootstrap_blocks, a.counts.scored);
    assert_eq!(
        a.bootstrap_blocks, 24,
        "one step per hourly frame with prints"
    );
}

#[test]
fn top_mass_bands_mark_the_heaviest_bins_of_each_side() {
    let mut f = frame(0, 100.0, &[]);
    let at = |p: f64| bin(p);
    // Long side: heavy at 95, lighter at 97 and 99; short side: one bin at 104.
    f.long_bins = vec![
        (at(95.0), 50.0),
        (at(97.0), 20.0),
        (at(99.0), 5.0),
        (at(98.0), 0.0),
    ];
    f.short_bins = vec![(at(104.0), 7.0)];
    // ±10 % window: about 106 bins a side; 2 % of it rounds up to 3 bins.
    let bands = f.top_mass_bands(0.02, 0.10);
    let marked = |side: Side| -> Vec<i32> {
        let mut v: Vec<i32> = (bands.iter())
            .filter(|b| b.side == side)
            .map(|b| {
                assert_eq!(bin(b.low), bin(b.high), "one bin per band");
                bin(b.low)
            })
            .collect();
        v.sort_unstable();
        v
    };
    assert_eq!(marked(Side::Long), vec![at(95.0), at(97.0), at(99.0)]);
    assert_eq!(marked(Side::Short), vec![at(104.0)], "no bin without mass");
    assert_eq!(
        f.top_mass_bands(0.01, 0.10)
            .iter()
            .filter(|b| b.side == Side::Long)
            .count(),
        2
    );
    assert!(frame(0, 0.0, &[]).top_mass_bands(0.1, 0.1).is_empty());
}
