//! The series rules as scripts: `b<h>` asks who is behind at hour h (plus `LATE`), `l<h>` is a
//! live bar opening at hour h, `r<a>-<b>` answers the fetch in flight with bars a..=b, `r-` with
//! none, `x` fails it. The result lists fetches (`F<from hour>`) and the bars given on, runs of
//! consecutive hours written `a-b`.

use super::*;
use crate::model::{HOUR_MS, MINUTE_MS};

const LATE: TimeMs = MINUTE_MS / 2;
/// An hour boundary far from zero, so a week back is still positive.
const ORIGIN: TimeMs = 480_000 * HOUR_MS;

fn bar(hour: i64) -> Candle {
    Candle {
        open_time: ORIGIN + hour * HOUR_MS,
        open: 1.0,
        high: 1.0,
        low: 1.0,
        close: 1.0,
        volume: 1.0,
        quote_volume: Some(1.0),
        taker_buy_quote: None,
    }
}

fn hour(t: TimeMs) -> i64 {
    (t - ORIGIN) / HOUR_MS
}

/// Runs `script` against one pair, 1000PEPEUSDT on PEPEUSDT.
fn run(script: &str) -> String {
    let perp: Symbol = "1000PEPEUSDT".parse().unwrap();
    let spot: Symbol = "PEPEUSDT".parse().unwrap();
    let mut follow = Follow::new([(perp.clone(), spot.clone())].into());
    let mut tokens = Vec::new();
    let mut given = Vec::new();
    let flush = |given: &mut Vec<SymbolEvent>, tokens: &mut Vec<String>| {
        let hours: Vec<i64> = given
            .drain(..)
            .map(|e| hour(e.event.known_at()) - 1)
            .collect();
        let mut i = 0;
        while i < hours.len() {
            let mut j = i;
            while j + 1 < hours.len() && hours[j + 1] == hours[j] + 1 {
                j += 1;
            }
            tokens.push(match i == j {
                true => hours[i].to_string(),
                false => format!("{}-{}", hours[i], hours[j]),
            });
            i = j + 1;
        }
    };
    for step in script.split(';').map(str::trim) {
        let (op, arg) = step.split_at(1);
        let mut fetches = Vec::new();
        match op {
            "b" => {
                let now = ORIGIN + arg.parse::<i64>().unwrap() * HOUR_MS + LATE;
                fetches = follow.behind(now, LATE);
            }
            "l" => fetches.extend(follow.live(&spot, bar(arg.parse().unwrap()), &mut given)),
            "r" => {
                let bars = match arg.split_once('-') {
                    Some((a, b)) if !a.is_empty() => {
                        (a.parse().unwrap()..=b.parse().unwrap()).map(bar).collect()
                    }
                    _ => Vec::new(),
                };
                follow.fetched(&perp, Some(bars), &mut given);
            }
            "x" => follow.fetched(&perp, None, &mut given),
            _ => panic!("bad step {step:?}"),
        }
        flush(&mut given, &mut tokens);
        tokens.extend(fetches.iter().map(|f| format!("F{}", hour(f.from))));
    }
    tokens.join(" ")
}

/// One line per case: the script, what came out.
#[rustfmt::skip]
const CASES: &[(&str, &str)] = &[
    // Warm-up of the week before, then live bars.
    ("b200; r32-199; l200; l201", "F32 32-199 200 201"),
    // Copies (a replaced link, a bar also fetched) are dropped.
    ("b200; r32-199; l199; l200; l200", "F32 32-199 200"),
    // A hole is fetched; the bar after it waits for it.
    ("b200; r32-199; l202; r200-201", "F32 32-199 F200 200-202"),
    // The REST answer also holds the waiting bar: given once.
    ("b200; r32-199; l202; r200-202", "F32 32-199 F200 200-202"),
    // Live bars wait while the warm-up runs.
    ("b200; l200; l201; r32-199", "F32 32-201"),
    // A live bar of a cold pair asks for its warm-up itself.
    ("l200; r32-199", "F32 32-200"),
    // A failed warm-up is asked again by the next look.
    ("b200; x; b201; r33-200", "F32 F33 33-200"),
    // The link was down across closes: the missed bars are fetched.
    ("b200; r32-199; b202; r200-201; l202", "F32 32-199 F200 200-201 202"),
    // Up to date: nothing to fetch.
    ("b200; r32-199; b200", "F32 32-199"),
    // REST did not have the hole yet: the next look asks again.
    ("b200; r32-199; l202; r-; b202; r200-201", "F32 32-199 F200 F200 200-202"),
    // Nothing is asked twice while a fetch is in flight.
    ("b200; l202; b203; r32-201", "F32 32-202"),
];

#[test]
fn each_pair_gets_its_spot_series_whole_and_once() {
    for (script, want) in CASES {
        assert_eq!(run(script), *want, "{script}");
    }
}

#[test]
fn the_next_look_is_late_after_the_next_close() {
    // (now, next check), in minutes from the origin.
    #[rustfmt::skip]
    let cases = [(0, 60), (30, 60), (59, 60), (60, 120)];
    let at = |m: i64| ORIGIN + m * MINUTE_MS;
    for (now, want) in cases {
        assert_eq!(
            Follow::next_check(at(now) + LATE, LATE),
            at(want) + LATE,
            "{now}"
        );
    }
}

#[test]
fn bars_of_markets_not_followed_are_ignored() {
    let mut follow = Follow::new(BTreeMap::new());
    let mut out = Vec::new();
    let other: Symbol = "BTCUSDT".parse().unwrap();
    assert_eq!(follow.live(&other, bar(1), &mut out), None);
    assert!(out.is_empty());
}
