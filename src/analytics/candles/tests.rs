//! Unit tests of `analytics::candles`: table cases, one line of data each where it reads well.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use super::*;
use crate::model::{DAY_MS, HOUR_MS, MINUTE_MS, civil_from_days, days_from_civil};

// ---------------------------------------------------------------------------------------------
// Table-driven cases: one line each.
//
// `bars` is a list of tokens fed in order:
//   @2025-03-10T08:00  move the cursor (the open time of the next generated bar)
//   x48                48 consecutive source bars from the cursor
//   -3                 skip 3 source bars (a gap)
//   dup                resend the previous bar, with wild prices (must be dropped)
//   back               send the bar before the previous one, with wild prices (must be dropped)
//   mis                send a bar 30 s after the cursor (misaligned for 1m and 5m)
//   noq / notb         the next generated bar lacks quote volume / taker-buy quote volume
// `out` lists the emitted bars in order as `<interval>@<MM-DD>[T<HH:MM>]`, with `/noq` or `/notb`
// when the bar has no quote or taker-buy volume. `stats` lists the non-zero counters:
// a(ccepted) d(uplicates) o(ut of order) m(isaligned) i(ncomplete) e(mitted).
// Every case also checks each emitted candle against a naive group-by of the accepted bars.
// ---------------------------------------------------------------------------------------------

#[test]
fn cases() {
    #[rustfmt::skip]
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        // (source, targets, bars, out, stats)
        // TC0: data starting 10:30: the 08:00 4h bucket and the day are partial, dropped, counted.
        ("5m", "4h 1d", "@2025-03-06T10:30 x163", "4h@03-06T12:00 4h@03-06T16:00 4h@03-06T20:00", "a163 i2 e3"),
        // TC1: the partial day is counted only once a bar of the next day arrives.
        ("5m", "1d", "@2025-03-06T10:30 x162", "", "a162"),
        // TC2: exactly one 4h bucket from 5m, emitted on its last bar (the 03:55 one).
        ("5m", "4h", "@2025-03-10T00:00 x48", "4h@03-10", "a48 e1"),
        // TC3: one bar short: nothing yet, and the trailing bucket is not counted.
        ("5m", "4h", "@2025-03-10T00:00 x47", "", "a47"),
        // TC4: exact 4h and 1d boundaries from 5m; bars completing together come out smallest first.
        ("5m", "1d 4h", "@2025-03-10T00:00 x288", "4h@03-10 4h@03-10T04:00 4h@03-10T08:00 4h@03-10T12:00 4h@03-10T16:00 4h@03-10T20:00 1d@03-10", "a288 e7"),
        // TC5: exact 4h boundary from 1m.
        ("1m", "4h", "@2025-03-10T04:00 x240", "4h@03-10T04:00", "a240 e1"),
        // TC6: exact 1d boundary from 1m, with a 4h target alongside.
        ("1m", "4h 1d", "@2025-03-10T00:00 x1440", "4h@03-10 4h@03-10T04:00 4h@03-10T08:00 4h@03-10T12:00 4h@03-10T16:00 4h@03-10T20:00 1d@03-10", "a1440 e7"),
        // TC7: 1m bars starting mid-bucket.
        ("1m", "4h", "@2025-03-10T03:59 x241", "4h@03-10T04:00", "a241 i1 e1"),
        // TC8: a week of 5m bars, Monday 00:00 to Sunday 23:55: one 1w bar opening Monday.
        ("5m", "1w", "@2025-03-10T00:00 x2016", "1w@03-10", "a2016 e1"),
        // TC9: the same week with daily bars; the Sunday 1d bar comes out before the 1w bar.
        ("5m", "1w 1d", "@2025-03-10T00:00 x2016", "1d@03-10 1d@03-11 1d@03-12 1d@03-13 1d@03-14 1d@03-15 1d@03-16 1w@03-10", "a2016 e8"),
        // TC10: a week starting on Sunday is not a week.
        ("5m", "1w", "@2025-03-09T00:00 x2304", "1w@03-10", "a2304 i1 e1"),
        // TC11: a gap inside a bucket: no bar, counted when the next bucket starts.
        ("5m", "4h", "@2025-03-10T00:00 x10 -1 x37 x48", "4h@03-10T04:00", "a95 i1 e1"),
        // TC12: the gap is the bucket's last bar: abandoned, never emitted.
        ("5m", "4h", "@2025-03-10T00:00 x47 -1 x48", "4h@03-10T04:00", "a95 i1 e1"),
        // TC13: a gap spanning whole buckets: only the partly filled ones are counted.
        ("5m", "4h", "@2025-03-10T00:00 x20 -100 x4 @2025-03-11T00:00 x48", "4h@03-11", "a72 i2 e1"),
        // TC14: a duplicate is dropped; the following bars still aggregate correctly.
        ("5m", "4h", "@2025-03-10T00:00 x10 dup x38", "4h@03-10", "a48 d1 e1"),
        // TC15: out of order, likewise.
        ("5m", "4h", "@2025-03-10T00:00 x10 back x38 back", "4h@03-10", "a48 o2 e1"),
        // TC16: misaligned, likewise.
        ("5m", "4h", "@2025-03-10T00:00 x10 mis x38", "4h@03-10", "a48 m1 e1"),
        // TC17: misaligned from 1m, as the very first bar.
        ("1m", "4h", "@2025-03-10T00:00 mis x240", "4h@03-10", "a240 m1 e1"),
        // TC18: one bar without quote volume makes the bucket's quote volume None, not a partial sum.
        ("5m", "4h", "@2025-03-10T00:00 x10 noq x38 x48", "4h@03-10/noq 4h@03-10T04:00", "a96 e2"),
        // TC19: likewise for the taker-buy quote volume, on the bucket's last bar.
        ("5m", "4h", "@2025-03-10T00:00 x47 notb x1", "4h@03-10/notb", "a48 e1"),
        // TC20: small targets from 1m; the 1h bucket started at 00:00 is partial and trailing.
        ("1m", "1h 15m 5m", "@2025-03-10T00:45 x15", "5m@03-10T00:45 5m@03-10T00:50 5m@03-10T00:55 15m@03-10T00:45", "a15 e4"),
        // TC21: nothing fed, nothing out.
        ("5m", "4h 1d 1w", "", "", ""),
    ];
    for (n, &(source, targets, bars, out, stats)) in cases.iter().enumerate() {
        check(n, source, targets, bars, out, stats);
    }
}

/// Hand-computed OHLCV for a 3m bar from 1m bars, with a duplicate and an out-of-order bar that
/// must not leak into it.
#[test]
fn ohlcv_by_hand() {
    let t0 = ms("2025-03-10T00:00");
    let bar = |min: i64, o, h, l, c, v, q| Candle {
        open_time: t0 + min * MINUTE_MS,
        open: o,
        high: h,
        low: l,
        close: c,
        volume: v,
        quote_volume: q,
        taker_buy_quote: Some(1.0),
    };
    let bars = [
        bar(0, 10.0, 12.0, 9.0, 11.0, 1.5, Some(15.0)),
        bar(1, 11.0, 15.0, 10.5, 14.0, 2.0, Some(28.0)),
        bar(1, 99.0, 99.0, 0.0, 99.0, 9.0, Some(9.0)), // duplicate
        bar(0, 99.0, 99.0, 0.0, 99.0, 9.0, Some(9.0)), // out of order
        bar(2, 14.0, 14.5, 8.0, 13.0, 0.25, Some(3.5)),
        bar(3, 13.0, 13.0, 13.0, 13.0, 1.0, None),
    ];
    let mut agg = Aggregator::new(Interval::M1, &[Interval::M3]);
    let mut out = Vec::new();
    for b in &bars {
        agg.push(b, &mut out);
    }
    let expected = Candle {
        open_time: t0,
        open: 10.0,
        high: 15.0,
        low: 8.0,
        close: 13.0,
        volume: 3.75,
        quote_volume: Some(46.5),
        taker_buy_quote: Some(3.0),
    };
    assert_eq!(out, [(Interval::M3, expected)]);
    assert_eq!(agg.last_open(), Some(t0 + 3 * MINUTE_MS));
    let s = agg.stats();
    assert_eq!(
        (s.accepted, s.duplicates, s.out_of_order, s.emitted),
        (4, 1, 1, 1)
    );
}

#[test]
fn targets_are_sorted_and_deduplicated() {
    let agg = Aggregator::new(
        Interval::M5,
        &[Interval::W1, Interval::H4, Interval::D1, Interval::H4],
    );
    let targets: Vec<_> = agg.targets().collect();
    assert_eq!(targets, [Interval::H4, Interval::D1, Interval::W1]);
    assert_eq!(agg.source(), Interval::M5);
    assert_eq!(agg.last_open(), None);
}

/// A snapshot taken mid-bucket and restored carries on exactly as if never interrupted.
#[test]
fn snapshot_round_trip_resumes_mid_bucket() {
    let bars = build_bars(Interval::M5, "@2025-03-10T02:00 x300");
    let targets = [Interval::H4, Interval::D1, Interval::W1];
    let (whole, whole_agg) = run(Interval::M5, &targets, &bars);

    let mut agg = Aggregator::new(Interval::M5, &targets);
    let mut out = Vec::new();
    for b in &bars[..137] {
        agg.push(b, &mut out);
    }
    let json = serde_json::to_string(&agg).unwrap();
    let mut agg: Aggregator = serde_json::from_str(&json).unwrap();
    for b in &bars[137..] {
        agg.push(b, &mut out);
    }
    assert_eq!(out, whole);
    assert_eq!(agg, whole_agg);
}

// ---------------------------------------------------------------------------------------------
// Real data.
// ---------------------------------------------------------------------------------------------

/// 5m → 1d of BTCUSDT equals the separately downloaded daily bars (same provenance, see
/// tests/fixtures/binance/reference/README.md): OHLC exactly, volume within 1e-9 relative.
#[test]
fn btc_5m_to_1d_matches_native_daily_bars() {
    let bars = read_klines("klines/5m/BTCUSDT_5m.csv.gz");
    let reference = read_klines("reference/BTCUSDT_1d.csv.gz");
    let (out, _) = run(Interval::M5, &[Interval::D1], &bars);
    let daily: BTreeMap<TimeMs, Candle> = out.into_iter().map(|(_, c)| (c.open_time, c)).collect();

    let mut compared = 0;
    for r in &reference {
        let Some(d) = daily.get(&r.open_time) else {
            continue;
        };
        assert_eq!(
            (d.open, d.high, d.low, d.close),
            (r.open, r.high, r.low, r.close),
            "day {}",
            r.open_time
        );
        assert_close(d.volume, r.volume, r.open_time);
        compared += 1;
    }
    // The 5m data runs 2025-03-06 10:30 .. 2025-04-13 07:15, the daily 2025-03-17 .. 2025-04-14:
    // 2025-03-17 .. 2025-04-12 are complete in both.
    assert_eq!(compared, 27);
    assert_eq!(daily.len(), 37);
}

/// The whole BTC 5m fixture into 4h/1d/1w: counts worked out by hand from its date range.
#[test]
fn btc_5m_fixture_counts() {
    let bars = read_klines("klines/5m/BTCUSDT_5m.csv.gz");
    assert_eq!(bars.len(), 10_906);
    let (out, agg) = run(
        Interval::M5,
        &[Interval::H4, Interval::D1, Interval::W1],
        &bars,
    );
    let count = |i| out.iter().filter(|(iv, _)| *iv == i).count();
    // 4h: 12:00, 16:00, 20:00 on 03-06, 6 × 37 full days, 00:00 on 04-13.
    assert_eq!(count(Interval::H4), 226);
    assert_eq!(count(Interval::D1), 37);
    // Weeks opening Monday 03-10, 03-17, 03-24, 03-31; the week of 04-07 is unfinished.
    let weeks: Vec<_> = out
        .iter()
        .filter(|(iv, _)| *iv == Interval::W1)
        .map(|(_, c)| c.open_time)
        .collect();
    let monday = 1_741_564_800_000;
    assert_eq!(weeks, [0, 1, 2, 3].map(|k| monday + k * 7 * DAY_MS));
    let expected = AggregationStats {
        accepted: 10_906,
        // The 08:00 4h bucket, the day and the week of 2025-03-06.
        incomplete: 3,
        emitted: 267,
        ..AggregationStats::default()
    };
    assert_eq!(*agg.stats(), expected);
    assert_eq!(agg.last_open(), Some(bars[bars.len() - 1].open_time));
}

/// The BTC 5m (2025-03-06 .. 2025-04-13) and 1m (2025-05-04 .. 2025-06-03) fixtures do not
/// overlap, so 5m→4h cannot be compared with 1m→4h. Instead the 1m data is aggregated to 4h
/// directly and through 5m bars made by the aggregator itself: OHLC exactly equal, volume within
/// 1e-9 relative (the sums are grouped differently).
#[test]
fn btc_1m_to_4h_direct_equals_through_5m() {
    let bars = read_klines("klines/1m/BTCUSDT_1m.csv.gz");
    let (direct, _) = run(Interval::M1, &[Interval::H4], &bars);
    let (five, _) = run(Interval::M1, &[Interval::M5], &bars);
    let five: Vec<Candle> = five.into_iter().map(|(_, c)| c).collect();
    let (chained, _) = run(Interval::M5, &[Interval::H4], &five);
    assert_eq!(direct.len(), chained.len());
    assert!(direct.len() >= 170, "only {} 4h bars", direct.len());
    for ((_, a), (_, b)) in direct.iter().zip(&chained) {
        assert_eq!(
            (a.open_time, a.open, a.high, a.low, a.close),
            (b.open_time, b.open, b.high, b.low, b.close)
        );
        assert_close(a.volume, b.volume, a.open_time);
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------------

fn check(n: usize, source: &str, targets: &str, bars: &str, out: &str, stats: &str) {
    let source: Interval = source.parse().unwrap();
    let targets: Vec<Interval> = targets
        .split_whitespace()
        .map(|t| t.parse().unwrap())
        .collect();
    let fed = build_bars(source, bars);
    let (got, agg) = run(source, &targets, &fed);
    assert_eq!(render_out(&got), out, "TC{n}: emitted bars");
    assert_eq!(render_stats(agg.stats()), stats, "TC{n}: stats");
    assert_eq!(
        got,
        oracle(source, &targets, &fed),
        "TC{n}: candles differ from the naive group-by"
    );
}

fn run(
    source: Interval,
    targets: &[Interval],
    bars: &[Candle],
) -> (Vec<(Interval, Candle)>, Aggregator) {
    let mut agg = Aggregator::new(source, targets);
    let mut out = Vec::new();
    for b in bars {
        agg.push(b, &mut out);
    }
    (out, agg)
}

/// The specification written the slow way: keep aligned, strictly increasing bars, group them by
/// target bucket, keep full buckets, order by close time then interval.
fn oracle(source: Interval, targets: &[Interval], bars: &[Candle]) -> Vec<(Interval, Candle)> {
    let mut accepted = Vec::new();
    for b in bars {
        if source.is_bar_open(b.open_time)
            && accepted
                .last()
                .is_none_or(|l: &Candle| b.open_time > l.open_time)
        {
            accepted.push(*b);
        }
    }
    let mut groups: BTreeMap<(TimeMs, TimeMs, Interval), Vec<Candle>> = BTreeMap::new();
    for &t in targets {
        for b in &accepted {
            let open = t.bar_open(b.open_time);
            groups
                .entry((open + t.duration_ms(), t.duration_ms(), t))
                .or_default()
                .push(*b);
        }
    }
    let sum_opt =
        |g: &[Candle], f: fn(&Candle) -> Option<f64>| g.iter().map(f).sum::<Option<f64>>();
    groups
        .into_iter()
        .filter(|((_, d, _), g)| g.len() as i64 == d / source.duration_ms())
        .map(|((close, d, t), g)| {
            let candle = Candle {
                open_time: close - d,
                open: g[0].open,
                high: g.iter().map(|c| c.high).fold(f64::MIN, f64::max),
                low: g.iter().map(|c| c.low).fold(f64::MAX, f64::min),
                close: g[g.len() - 1].close,
                volume: g.iter().map(|c| c.volume).sum(),
                quote_volume: sum_opt(&g, |c| c.quote_volume),
                taker_buy_quote: sum_opt(&g, |c| c.taker_buy_quote),
            };
            (t, candle)
        })
        .collect()
}

fn build_bars(source: Interval, spec: &str) -> Vec<Candle> {
    let step = source.duration_ms();
    let mut cursor = 0;
    let (mut noq, mut notb) = (false, false);
    let mut bars = Vec::new();
    let wild = |t| Candle {
        open_time: t,
        open: 1e9,
        high: 2e9,
        low: -1e9,
        close: 1e9,
        volume: 1e9,
        quote_volume: None,
        taker_buy_quote: None,
    };
    for tok in spec.split_whitespace() {
        match tok {
            "dup" => bars.push(wild(cursor - step)),
            "back" => bars.push(wild(cursor - 2 * step)),
            "mis" => bars.push(wild(cursor + 30_000)),
            "noq" => noq = true,
            "notb" => notb = true,
            _ if tok.starts_with('@') => cursor = ms(&tok[1..]),
            _ if tok.starts_with('-') => cursor += step * tok[1..].parse::<i64>().unwrap(),
            _ if tok.starts_with('x') => {
                for _ in 0..tok[1..].parse::<usize>().unwrap() {
                    let mut b = gen_bar(cursor, bars.len());
                    if std::mem::take(&mut noq) {
                        b.quote_volume = None;
                    }
                    if std::mem::take(&mut notb) {
                        b.taker_buy_quote = None;
                    }
                    bars.push(b);
                    cursor += step;
                }
            }
            _ => panic!("bad token {tok:?}"),
        }
    }
    bars
}

/// A bar whose prices zig-zag, so the bucket high and low are rarely at its ends.
fn gen_bar(open_time: TimeMs, i: usize) -> Candle {
    let i = i as f64;
    let open = 100.0 + (i * 7.0) % 13.0;
    let close = 100.0 + (i * 5.0 + 3.0) % 11.0;
    Candle {
        open_time,
        open,
        high: open.max(close) + (i % 4.0) * 0.5,
        low: open.min(close) - (i % 3.0) * 0.25,
        close,
        volume: 1.0 + (i % 5.0) * 0.125,
        quote_volume: Some(open * 2.0),
        taker_buy_quote: Some(open),
    }
}

fn render_out(out: &[(Interval, Candle)]) -> String {
    let item = |(i, c): &(Interval, Candle)| {
        let mut s = format!("{i}@{}", render_time(c.open_time));
        if c.quote_volume.is_none() {
            s.push_str("/noq");
        }
        if c.taker_buy_quote.is_none() {
            s.push_str("/notb");
        }
        s
    };
    out.iter().map(item).collect::<Vec<_>>().join(" ")
}

fn render_stats(s: &AggregationStats) -> String {
    let fields = [
        ('a', s.accepted),
        ('d', s.duplicates),
        ('o', s.out_of_order),
        ('m', s.misaligned),
        ('i', s.incomplete),
        ('e', s.emitted),
    ];
    fields
        .iter()
        .filter(|(_, v)| *v > 0)
        .map(|(k, v)| format!("{k}{v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `2025-03-10T04:00` or `2025-03-10` → epoch ms (UTC).
fn ms(s: &str) -> TimeMs {
    let num = |r: std::ops::Range<usize>| s[r].parse::<i64>().unwrap();
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    let (hh, mm) = if s.len() > 10 {
        (num(11..13), num(14..16))
    } else {
        (0, 0)
    };
    days_from_civil(y, m, d) * DAY_MS + hh * HOUR_MS + mm * MINUTE_MS
}

/// Epoch ms → `MM-DD`, plus `THH:MM` when not midnight (the tests stay within one year).
fn render_time(t: TimeMs) -> String {
    let (_, m, d) = civil_from_days(t.div_euclid(DAY_MS));
    let rest = t.rem_euclid(DAY_MS);
    if rest == 0 {
        format!("{m:02}-{d:02}")
    } else {
        format!(
            "{m:02}-{d:02}T{:02}:{:02}",
            rest / HOUR_MS,
            rest % HOUR_MS / MINUTE_MS
        )
    }
}

#[test]
fn date_helpers_agree_with_known_epochs() {
    assert_eq!(ms("1970-01-01"), 0);
    assert_eq!(ms("2025-03-10"), 1_741_564_800_000); // a Monday
    assert_eq!(ms("2025-03-06T10:30"), 1_741_257_000_000); // first bar of the 5m fixture
    assert_eq!(render_time(ms("2024-02-29T23:55")), "02-29T23:55");
    assert_eq!(render_time(ms("2025-03-01")), "03-01");
}

/// Reads a fixture CSV `open_time_ms,open,high,low,close,volume` (gzip), header skipped.
fn read_klines(rel: &str) -> Vec<Candle> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests/fixtures/binance", rel]
        .iter()
        .collect();
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = BufReader::new(flate2::read::GzDecoder::new(file));
    let mut bars = Vec::new();
    for line in reader.lines().skip(1) {
        let line = line.unwrap();
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 6, "{}: bad row {line:?}", path.display());
        let num = |i: usize| f[i].parse::<f64>().unwrap();
        bars.push(Candle {
            open_time: f[0].parse().unwrap(),
            open: num(1),
            high: num(2),
            low: num(3),
            close: num(4),
            volume: num(5),
            quote_volume: None,
            taker_buy_quote: None,
        });
    }
    bars
}

fn assert_close(a: f64, b: f64, at: TimeMs) {
    let rel = (a - b).abs() / b.abs().max(f64::MIN_POSITIVE);
    assert!(rel <= 1e-9, "volume at {at}: {a} vs {b} (relative {rel:e})");
}
