//! A smoke test on recorded Binance liquidations, with a path and frames synthesised from them.

use super::*;

/// Real prints (Binance forceOrder, 2025-06-23, BR: a 60 % swing in half an hour, both sides),
/// with a path and frames synthesised from them: the report must stay well-formed.
#[test]
fn recorded_liquidations_give_a_well_formed_report() {
    let csv = include_str!(
        "../../../../tests/fixtures/binance/liquidations/forceOrder_2025-06-23_NeoParth_binance.csv"
    );
    // s,S,o,f,q,p,ap,X,l,z,T,usd_size
    let mut prints: Vec<Realized> = csv
        .lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f.len() == 12 && f[0] == "BR")
        .map(|f| Realized {
            time: f[10].parse().expect("T"),
            side: if f[1] == "SELL" { Long } else { Short },
            price: f[5].parse().expect("p"),
            notional: f[11].parse().expect("usd_size"),
        })
        .collect();
    prints.sort_by_key(|r| r.time);
    assert_eq!(prints.len(), 134);
    let start = prints[0].time.div_euclid(5 * MINUTE_MS) * 5 * MINUTE_MS + 5 * MINUTE_MS;
    let end = prints[prints.len() - 1].time;
    let (mut frames, mut path) = (Vec::new(), Vec::new());
    let mut last = prints[0].price;
    let mut t = start - 5 * MINUTE_MS;
    while t <= end + MINUTE_MS {
        let inside: Vec<f64> = prints
            .iter()
            .filter(|r| r.time > t - MINUTE_MS && r.time <= t)
            .map(|r| r.price)
            .collect();
        let (low, high) = inside
            .iter()
            .fold((last, last), |(l, h), &x| (l.min(x), h.max(x)));
        path.push(PathBar {
            time: t,
            low: low * 0.999,
            high: high * 1.001,
        });
        last = inside.last().copied().unwrap_or(last);
        if t >= start && (t - start) % (5 * MINUTE_MS) == 0 {
            let bands = [
                (Long, last * 0.97, last * 0.99),
                (Short, last * 1.01, last * 1.03),
            ];
            frames.push(Frame {
                time: t,
                ..frame(0, last, &bands)
            });
        }
        t += MINUTE_MS;
    }
    let r = evaluate(&frames, &path, &prints, &ValidationParams::default());
    assert_well_formed(&r);
    assert!(
        r.counts.before_first_frame > 0 && r.counts.scored > 20,
        "{:?}",
        r.counts
    );
    assert_eq!(r.baselines.len(), 4);
}
