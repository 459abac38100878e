use super::*;
use crate::model::{DAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS};

/// 2025-03-10 00:00 UTC, a Monday.
const MONDAY: TimeMs = 1_741_564_800_000;

fn bar(t: TimeMs, close: f64) -> Candle {
    Candle {
        open_time: t,
        open: close - 1.0,
        high: close + 1.0,
        low: close - 2.0,
        close,
        volume: 1.0,
        quote_volume: Some(close),
        taker_buy_quote: None,
    }
}

/// Feeds 5m bars at `MONDAY + offset` for each offset (in minutes) and returns what closed as
/// `(interval, open minutes after MONDAY)`, plus the stats.
fn run(
    targets: &[Interval],
    minutes: impl IntoIterator<Item = i64>,
) -> (Vec<(Interval, i64)>, AggregationStats) {
    let mut agg = Aggregator::new(Interval::M5, targets);
    let mut out = Vec::new();
    for m in minutes {
        agg.push(&bar(MONDAY + m * MINUTE_MS, 100.0 + m as f64), &mut out);
    }
    let closed = out
        .iter()
        .map(|(i, c)| (*i, (c.open_time - MONDAY) / MINUTE_MS))
        .collect();
    (closed, *agg.stats())
}

fn every_5m(from_min: i64, to_min: i64) -> impl Iterator<Item = i64> {
    (from_min..to_min).step_by(5)
}

#[test]
fn complete_buckets_close_on_their_last_bar() {
    // Two full 4h buckets.
    let (closed, stats) = run(&[Interval::H4], every_5m(0, 480));
    assert_eq!(closed, vec![(Interval::H4, 0), (Interval::H4, 240)]);
    assert_eq!(
        (stats.accepted, stats.emitted, stats.incomplete),
        (96, 2, 0)
    );
}

#[test]
fn edges_are_counted_and_dropped() {
    type Case = (
        &'static str,
        Vec<i64>,
        Vec<(Interval, i64)>,
        (u64, u64, u64, u64),
    );
    // (name, 5m bar offsets in minutes, closed 4h bars, (incomplete, duplicates, out_of_order, misaligned))
    let cases: Vec<Case> = vec![
        (
            "first partial bucket dropped",
            every_5m(120, 480).collect(),
            vec![(Interval::H4, 240)],
            (1, 0, 0, 0),
        ),
        (
            "gap inside a bucket",
            every_5m(0, 480).filter(|m| *m != 60).collect(),
            vec![(Interval::H4, 240)],
            (1, 0, 0, 0),
        ),
        (
            "missing last bar abandons at next bucket",
            every_5m(0, 480).filter(|m| *m != 235).collect(),
            vec![(Interval::H4, 240)],
            (1, 0, 0, 0),
        ),
        (
            "duplicate dropped",
            [0, 5, 5].into_iter().chain(every_5m(10, 240)).collect(),
            vec![(Interval::H4, 0)],
            (0, 1, 0, 0),
        ),
        (
            "out of order dropped",
            [0, 5, 10, 5].into_iter().chain(every_5m(15, 240)).collect(),
            vec![(Interval::H4, 0)],
            (0, 0, 1, 0),
        ),
        (
            "misaligned dropped",
            [0, 7].into_iter().chain(every_5m(5, 240)).collect(),
            vec![(Interval::H4, 0)],
            (0, 0, 0, 1),
        ),
        (
            "trailing bucket not emitted nor counted",
            every_5m(0, 300).collect(),
            vec![(Interval::H4, 0)],
            (0, 0, 0, 0),
        ),
    ];
    for (name, minutes, want, (incomplete, dups, ooo, mis)) in cases {
        let (closed, s) = run(&[Interval::H4], minutes);
        assert_eq!(closed, want, "{name}");
        assert_eq!(
            (s.incomplete, s.duplicates, s.out_of_order, s.misaligned),
            (incomplete, dups, ooo, mis),
            "{name}"
        );
    }
}

#[test]
fn weekly_bar_opens_monday_and_closes_sunday_night() {
    let week_min = WEEK_MS / MINUTE_MS;
    // Start on the Sunday before: that partial week is dropped, the full week closes.
    let (closed, stats) = run(
        &[Interval::H4, Interval::D1, Interval::W1],
        every_5m(-DAY_MS / MINUTE_MS, week_min),
    );
    let weekly: Vec<_> = closed.iter().filter(|(i, _)| *i == Interval::W1).collect();
    assert_eq!(weekly, vec![&(Interval::W1, 0)]);
    assert_eq!(closed.iter().filter(|(i, _)| *i == Interval::D1).count(), 8);
    assert_eq!(
        closed.iter().filter(|(i, _)| *i == Interval::H4).count(),
        48
    );
    assert_eq!(stats.incomplete, 1, "the partial week before MONDAY");
    // Smallest interval first when several close on one bar.
    let last_three: Vec<Interval> = closed[closed.len() - 3..].iter().map(|c| c.0).collect();
    assert_eq!(last_three, vec![Interval::H4, Interval::D1, Interval::W1]);
}

#[test]
fn ohlcv_and_optional_volumes() {
    let mut agg = Aggregator::new(Interval::M5, &[Interval::H4]);
    let mut out = Vec::new();
    for (i, m) in every_5m(0, 240).enumerate() {
        let mut b = bar(MONDAY + m * MINUTE_MS, 100.0 + (i % 7) as f64);
        if i == 3 {
            b.quote_volume = None;
        }
        b.taker_buy_quote = Some(1.0);
        agg.push(&b, &mut out);
    }
    let (_, c) = out[0];
    assert_eq!(c.open_time, MONDAY);
    assert_eq!((c.open, c.close), (99.0, 100.0 + (47 % 7) as f64));
    assert_eq!((c.high, c.low), (107.0, 98.0));
    assert_eq!(c.volume, 48.0);
    assert_eq!(c.quote_volume, None, "one bar lacked quote volume");
    assert_eq!(c.taker_buy_quote, Some(48.0));
}

#[test]
fn one_minute_source_fills_four_hours_with_240_bars() {
    let mut agg = Aggregator::new(Interval::M1, &[Interval::H4, Interval::D1]);
    let mut out = Vec::new();
    for m in 0..(DAY_MS / MINUTE_MS) {
        agg.push(&bar(MONDAY + m * MINUTE_MS, 1.0), &mut out);
    }
    assert_eq!(out.iter().filter(|(i, _)| *i == Interval::H4).count(), 6);
    assert_eq!(
        out.last().map(|(i, c)| (*i, c.open_time)),
        Some((Interval::D1, MONDAY))
    );
    assert_eq!(out[1].1.open_time - out[0].1.open_time, 4 * HOUR_MS);
}
