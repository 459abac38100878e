//! Walkers on hand-made bars: one line per case, each answer worked out by hand.

use super::*;
use crate::model::MINUTE_MS;

const M5: TimeMs = 5 * MINUTE_MS;

/// Bars from (open, high, low, close) tuples, five minutes apart from time 0.
fn bars(ohlc: &[(f64, f64, f64, f64)]) -> Vec<Bar> {
    ohlc.iter()
        .enumerate()
        .map(|(i, &(open, high, low, close))| Bar {
            open_time: i as TimeMs * M5,
            close_time: (i as TimeMs + 1) * M5,
            open,
            high,
            low,
            close,
        })
        .collect()
}

fn long(entry: f64, stop: f64, t1: f64, t2: Option<f64>) -> Trade {
    Trade {
        direction: Direction::Long,
        entry,
        stop,
        t1,
        t2,
        fee_frac: 0.0,
    }
}

/// (trade, bars, horizon end, outcome, exit price, R, outcome bar index)
type TradeCase = (Trade, Vec<Bar>, TimeMs, TradeOutcome, f64, f64, TimeMs);

#[test]
fn trades_end_at_the_first_level_touched() {
    use TradeOutcome::*;
    let far = 100 * M5;
    let cases: [TradeCase; 7] = [
        (
            long(100.0, 90.0, 120.0, None),
            bars(&[(100.0, 105.0, 95.0, 101.0), (101.0, 102.0, 89.0, 90.0)]),
            far,
            Stop,
            90.0,
            -1.0,
            2,
        ),
        (
            long(100.0, 90.0, 120.0, None),
            bars(&[(100.0, 110.0, 95.0, 108.0), (108.0, 121.0, 104.0, 119.0)]),
            far,
            T1,
            120.0,
            2.0,
            2,
        ),
        // One bar through both: the stop, whatever the close says.
        (
            long(100.0, 90.0, 120.0, None),
            bars(&[(100.0, 125.0, 85.0, 124.0)]),
            far,
            Stop,
            90.0,
            -1.0,
            1,
        ),
        // Opens below the stop: filled at the open, worse than −1 R.
        (
            long(100.0, 90.0, 120.0, None),
            bars(&[(100.0, 101.0, 99.0, 100.0), (85.0, 88.0, 84.0, 86.0)]),
            far,
            Stop,
            85.0,
            -1.5,
            2,
        ),
        // Nothing within the horizon (two bars), valued at the second bar's close.
        (
            long(100.0, 90.0, 120.0, None),
            bars(&[
                (100.0, 105.0, 95.0, 103.0),
                (103.0, 106.0, 101.0, 104.0),
                (104.0, 130.0, 104.0, 125.0),
            ]),
            2 * M5,
            Timeout,
            104.0,
            0.4,
            2,
        ),
        // T1 in bar 1, T2 in bar 3 before any stop: outcome T2 at bar 3, exit still at T1.
        (
            long(100.0, 90.0, 120.0, Some(130.0)),
            bars(&[
                (100.0, 121.0, 99.0, 118.0),
                (118.0, 125.0, 115.0, 124.0),
                (124.0, 131.0, 120.0, 130.0),
            ]),
            far,
            T2,
            120.0,
            2.0,
            3,
        ),
        // T1, then the stop before T2: T1.
        (
            long(100.0, 90.0, 120.0, Some(130.0)),
            bars(&[
                (100.0, 121.0, 99.0, 118.0),
                (118.0, 119.0, 89.0, 90.0),
                (90.0, 140.0, 90.0, 135.0),
            ]),
            far,
            T1,
            120.0,
            2.0,
            1,
        ),
    ];
    for (i, (trade, bars, end, outcome, exit, r, at)) in cases.into_iter().enumerate() {
        let got = walk_trade(&bars, &trade, end).expect("scored");
        assert_eq!(
            (got.outcome, got.exit_price, got.outcome_time),
            (outcome, exit, at * M5),
            "case {i}"
        );
        assert!((got.r - r).abs() < 1e-12, "case {i}: R {}", got.r);
    }
}

#[test]
fn shorts_mirror_longs_and_fees_cost_r() {
    let short = Trade {
        direction: Direction::Short,
        entry: 100.0,
        stop: 110.0,
        t1: 80.0,
        t2: None,
        fee_frac: 0.001,
    };
    let b = bars(&[(100.0, 104.0, 90.0, 92.0), (92.0, 93.0, 79.0, 80.0)]);
    let got = walk_trade(&b, &short, 100 * M5).unwrap();
    // Unit = 10 + 0.1; gain 20 − 0.1 fees.
    assert_eq!(got.outcome, TradeOutcome::T1);
    assert!((got.r - 19.9 / 10.1).abs() < 1e-12);
    assert!((got.mae_r - 4.0 / 10.1).abs() < 1e-12);
    assert!((got.mfe_r - 21.0 / 10.1).abs() < 1e-12);
    let stopped = walk_trade(&bars(&[(100.0, 111.0, 99.0, 110.0)]), &short, 100 * M5).unwrap();
    assert!((stopped.r + 1.0).abs() < 1e-12, "fees are inside the −1 R");
}

#[test]
fn unscorable_trades_say_why() {
    let b = bars(&[(100.0, 105.0, 95.0, 101.0)]);
    assert_eq!(
        walk_trade(&b, &long(100.0, 110.0, 120.0, None), 10 * M5),
        Err(Unscored::Invalid)
    );
    assert_eq!(
        walk_trade(&b, &long(100.0, 90.0, 95.0, None), 10 * M5),
        Err(Unscored::Invalid)
    );
    // One bar, horizon ten bars away, nothing touched: the data ended first.
    assert_eq!(
        walk_trade(&b, &long(100.0, 90.0, 120.0, None), 10 * M5),
        Err(Unscored::DataEnds)
    );
    assert_eq!(
        walk_trade(&[], &long(100.0, 90.0, 120.0, None), 10 * M5),
        Err(Unscored::DataEnds)
    );
}

#[test]
fn levels_are_swept_rejected_or_neither() {
    use LevelOutcome::*;
    let below = Level {
        side: Side::Long,
        near: 100.0,
        far: 95.0,
        rejection: 2.0,
    };
    let above = Level {
        side: Side::Short,
        near: 100.0,
        far: 105.0,
        rejection: 2.0,
    };
    let cases = [
        (
            below,
            bars(&[(100.0, 101.0, 97.0, 98.0), (98.0, 99.0, 94.0, 95.0)]),
            Swept,
            Some(2 * M5),
        ),
        (
            below,
            bars(&[(100.0, 101.0, 97.0, 98.0), (98.0, 102.5, 98.0, 102.0)]),
            Rejected,
            Some(2 * M5),
        ),
        // Both in one bar: swept.
        (below, bars(&[(100.0, 103.0, 94.0, 100.0)]), Swept, Some(M5)),
        (
            below,
            bars(&[
                (100.0, 101.0, 97.0, 98.0),
                (98.0, 101.9, 95.1, 99.0),
                (99.0, 99.0, 99.0, 99.0),
            ]),
            Neither,
            None,
        ),
        (above, bars(&[(100.0, 106.0, 99.0, 104.0)]), Swept, Some(M5)),
        (
            above,
            bars(&[(100.0, 101.0, 97.9, 98.0)]),
            Rejected,
            Some(M5),
        ),
    ];
    for (i, (level, bars, outcome, at)) in cases.into_iter().enumerate() {
        let end = bars.len().min(2) as TimeMs * M5;
        assert_eq!(
            walk_level(&bars, &level, end),
            Ok((outcome, at)),
            "case {i}"
        );
    }
}

#[test]
fn forward_returns_need_the_whole_span() {
    let candles = (0..600).map(|i| crate::model::Candle {
        open_time: i * M5,
        open: 100.0,
        high: 100.0 + i as f64,
        low: 100.0,
        close: 100.0 + i as f64,
        volume: 1.0,
        quote_volume: None,
        taker_buy_quote: None,
    });
    let path = Path::new(crate::model::Interval::M5, candles);
    // Close at 1 h (bar 11 closed): 111; a day later (bar 299): 399.
    let r = forward_return(&path, 12 * M5, 1, Direction::Long).unwrap();
    assert!((r - 100.0 * (399.0 - 111.0) / 111.0).abs() < 1e-9);
    let s = forward_return(&path, 12 * M5, 1, Direction::Short).unwrap();
    assert!((s + r).abs() < 1e-12);
    assert_eq!(forward_return(&path, 12 * M5, 3, Direction::Long), None);
}

/// Real Binance 5m bars (tests/fixtures/backtest, from `shared/data/binance-history`).
fn real(file: &str) -> Path {
    use crate::source::replay::{DEFAULT_MAX_PRICE_JUMP, RowLimits, read_kline_file};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/backtest")
        .join(file);
    // The backtest reads no clock; the recordings are in the past, so no upper bound on times.
    let limits = RowLimits::new(TimeMs::MAX, DEFAULT_MAX_PRICE_JUMP);
    let (candles, report) = read_kline_file(&path, &limits).expect("fixture");
    assert_eq!(report.malformed, 0);
    Path::new(crate::model::Interval::M5, candles)
}

/// 2025-10-10 UTC as epoch ms plus hours and minutes.
fn oct10(h: i64, m: i64) -> TimeMs {
    1_760_054_400_000 + h * 3_600_000 + m * 60_000
}

fn walk(path: &Path, trade: Trade, at: TimeMs, minutes: i64) -> TradeResult {
    let after = &path.bars()[path.first_after(at)..];
    walk_trade(after, &trade, at + minutes * 60_000).expect("scored")
}

/// ETHUSDT on 2025-10-10, the evening of the liquidation cascade, each answer checked against
/// the bars by hand (20:45 close 4009.99; 20:50 bar 3877–4009.98; 21:15 close 3476.18; 21:20 bar
/// 3400–3780; 20:10–20:35 bars inside 3994.23–4022.18, the last closing at 4008.81).
#[test]
fn real_trades_hand_checked() {
    use TradeOutcome::*;
    let eth = real("ETHUSDT_5m_2025-10-10.csv");
    let t = |direction, entry, stop, t1| Trade {
        direction,
        entry,
        stop,
        t1,
        t2: None,
        fee_frac: 0.0,
    };
    let (long, short) = (Direction::Long, Direction::Short);
    // (trade, alert time, horizon minutes, outcome, outcome bar close, exit, R)
    let cases = [
        // The stop first: the 20:50 bar's low 3877 is under the stop.
        (
            t(long, 4009.99, 3950.0, 4100.0),
            oct10(20, 50),
            600,
            Stop,
            oct10(20, 55),
            3950.0,
            -1.0,
        ),
        // T1 first: the 20:50 bar's high 4009.98 stays under the stop, its low 3877 reaches T1.
        (
            t(short, 4009.99, 4060.0, 3900.0),
            oct10(20, 50),
            600,
            T1,
            oct10(20, 55),
            3900.0,
            109.99 / 50.01,
        ),
        // One bar through both (21:20: 3400–3780): the stop.
        (
            t(long, 3476.18, 3420.0, 3700.0),
            oct10(21, 20),
            600,
            Stop,
            oct10(21, 25),
            3420.0,
            -1.0,
        ),
        // Nothing in 30 minutes: valued at the 20:35 bar's close.
        (
            t(short, 3997.53, 4100.0, 3500.0),
            oct10(20, 10),
            30,
            Timeout,
            oct10(20, 40),
            4008.81,
            -11.28 / 102.47,
        ),
    ];
    for (i, (trade, at, minutes, outcome, when, exit, r)) in cases.into_iter().enumerate() {
        let got = walk(&eth, trade, at, minutes);
        assert_eq!(
            (got.outcome, got.outcome_time, got.exit_price),
            (outcome, when, exit),
            "case {i}"
        );
        assert!((got.r - r).abs() < 1e-9, "case {i}: R {} vs {r}", got.r);
    }
    // PIPPINUSDT's setup of 2025-11-11 12:00 (entry 0.03382, stop 0.03353): the very next bar's
    // low 0.03342 stops it.
    let pippin = real("PIPPINUSDT_5m_2025-11-11.csv");
    let at = 1_762_862_400_000;
    let got = walk(&pippin, t(long, 0.03382, 0.03353, 0.044), at, 14 * 24 * 60);
    assert_eq!((got.outcome, got.outcome_time), (Stop, at + 5 * 60_000));
}

/// Levels on the same ETHUSDT evening: swept (long pool 3990–3900, the 20:50 bar goes to 3877),
/// rejected (short pool 3700–3800 after the 21:25 close: the 21:30 bar tops at 3778.29 and dips
/// to 3594.44, 50 under the near edge) and neither (20:10–20:35 stay inside 3994.23–4022.18).
#[test]
fn real_levels_hand_checked() {
    use LevelOutcome::*;
    let eth = real("ETHUSDT_5m_2025-10-10.csv");
    let level = |side, near, far, rejection| Level {
        side,
        near,
        far,
        rejection,
    };
    let cases = [
        (
            level(Side::Long, 3990.0, 3900.0, 30.0),
            oct10(20, 50),
            24 * 60,
            Swept,
            Some(oct10(20, 55)),
        ),
        (
            level(Side::Short, 3700.0, 3800.0, 50.0),
            oct10(21, 30),
            24 * 60,
            Rejected,
            Some(oct10(21, 35)),
        ),
        (
            level(Side::Long, 3990.0, 3950.0, 40.0),
            oct10(20, 10),
            30,
            Neither,
            None,
        ),
    ];
    for (i, (l, at, minutes, outcome, when)) in cases.into_iter().enumerate() {
        let after = &eth.bars()[eth.first_after(at)..];
        assert_eq!(
            walk_level(after, &l, at + minutes * 60_000),
            Ok((outcome, when)),
            "case {i}"
        );
    }
}
