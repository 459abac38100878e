//! The lanes as one line of data per case: a script of steps, then what reached the engine and
//! which holes were asked for. Times are minutes; open interest is polled at every 5m close.

use super::*;
use crate::model::{Candle, Liquidation, MarkTick, OpenInterest, Side};

const MIN: TimeMs = 60_000;

/// Each case: steps separated by `;`, then the output. Steps: `follow AA`, `resume AA@0`,
/// `warm AA 0` (a warm-up ending with the bar opening at minute 0), `now 10`, `bar AA@5`,
/// `mark AA@7`, `liq AA@7`, `fill AA` / `fail AA` (the pending hole answered with its bars / none),
/// `poll 10 AA BB` (the poll of close 10 answered for AA and BB), `expire`, `overdue`, `forget AA`.
#[rustfmt::skip]
const CASES: &[(&str, &str)] = &[
    // Warm-up first; a live bar it already covers is dropped; the next waits for its OI.
    ("follow AA; bar AA@0; warm AA 0; now 10; bar AA@5", "AA:5m@0"),
    ("follow AA; warm AA 0; now 10; bar AA@5; poll 10 AA", "AA:5m@0 AA:oi@10 AA:5m@5"),
    ("follow AA; warm AA 0; now 10; bar AA@5; poll 10", "AA:5m@0 AA:5m@5"),
    ("follow AA; warm AA 0; now 10; bar AA@5; now 11; expire", "AA:5m@0 AA:5m@5"),
    ("resume AA@0; poll 10 AA; now 10; bar AA@5", "AA:oi@10 AA:5m@5"),
    // What queues behind a held bar follows it; pairs are independent.
    ("resume AA@0; resume BB@0; now 10; bar AA@5; mark AA@10; bar BB@5; poll 10 BB AA",
     "AA:oi@10 AA:5m@5 AA:mark@10 BB:oi@10 BB:5m@5"),
    // A warming pair keeps bars and liquidations, not marks; unfollowed pairs are dropped.
    ("follow AA; mark AA@1; liq AA@2; mark BB@1; warm AA 0", "AA:5m@0 AA:liq@2"),
    // A hole: Gap and the back-filled bars before the bar that revealed it, once.
    ("follow AA; warm AA 0; now 100; bar AA@15; fill AA",
     "AA:5m@0 hole:AA@5..10 AA:gap@5..10 AA:5m@5 AA:5m@10 AA:5m@15"),
    ("resume AA@0; now 100; bar AA@10; mark AA@16; fail AA; bar AA@15",
     "hole:AA@5..5 AA:gap@5..5 AA:5m@10 AA:mark@16 AA:5m@15"),
    ("resume AA@0; now 100; bar AA@10; bar AA@10; fill AA; bar AA@5",
     "hole:AA@5..5 AA:gap@5..5 AA:5m@5 AA:5m@10"),
    // Copies and old bars are dropped; a forgotten pair is no longer followed.
    ("resume AA@5; now 100; bar AA@5; bar AA@0", ""),
    ("resume AA@0; forget AA; bar AA@5", ""),
    // A warm restart asks at once for what closed (and settled) since; live events wait for it.
    ("now 31; resume AA@0; mark AA@31; fill AA",
     "hole:AA@5..25 AA:gap@5..25 AA:5m@5 AA:5m@10 AA:5m@15 AA:5m@20 AA:5m@25 AA:mark@31"),
    // A bar closed under 30 s ago is left to the stream, and fetched once it is late.
    ("now 30; resume AA@20; bar AA@25; poll 30 AA", "AA:oi@30 AA:5m@25"),
    ("now 30; resume AA@20; bar AA@25; poll 30 AA; now 31; overdue", "AA:oi@30 AA:5m@25"),
    ("now 30; resume AA@20; now 31; overdue; fill AA", "hole:AA@25..25 AA:gap@25..25 AA:5m@25"),
    // A final frame the stream never sent is fetched 30 s after its close; then the stream goes on.
    ("follow AA; warm AA 0; now 10; overdue", "AA:5m@0"),
    ("follow AA; warm AA 0; now 11; overdue; fill AA; bar AA@10; poll 15 AA",
     "AA:5m@0 hole:AA@5..5 AA:gap@5..5 AA:5m@5 AA:oi@15 AA:5m@10"),
    // Never for a pair still warming or already waiting for a back-fill.
    ("follow AA; now 31; overdue", ""),
    ("now 31; resume AA@0; now 40; overdue; fill AA",
     "hole:AA@5..25 AA:gap@5..25 AA:5m@5 AA:5m@10 AA:5m@15 AA:5m@20 AA:5m@25"),
];

#[test]
fn lanes_order_each_pair() {
    for (script, want) in CASES {
        assert_eq!(run(script), *want, "{script}");
    }
}

#[test]
fn overdue_bars_are_looked_for_30_s_after_each_close() {
    let lanes = Lanes::new(5 * MIN, 30_000);
    let half = MIN / 2;
    #[rustfmt::skip]
    let cases = [(0, half), (half - 1, half), (half, 5 * MIN + half), (7 * MIN, 10 * MIN + half)];
    for (now, next) in cases {
        assert_eq!(lanes.next_overdue_check(now), next, "now {now}");
    }
}

#[test]
fn a_held_bar_sets_the_deadline() {
    let mut lanes = Lanes::new(5 * MIN, 30_000);
    let mut out = Out::default();
    lanes.resume(&sym("AA"), 0, 0, &mut out);
    assert_eq!(lanes.deadline(), None);
    lanes.push(bar("AA", 5), 10 * MIN, &mut out);
    assert_eq!(lanes.deadline(), Some(10 * MIN + OI_HOLD_MS));
    assert_eq!(lanes.warm(), [sym("AA")]);
}

fn run(script: &str) -> String {
    let mut lanes = Lanes::new(5 * MIN, 30_000);
    let mut now = 0;
    let mut got = Vec::new();
    let mut holes: Vec<Hole> = Vec::new();
    for step in script.split(';').map(str::trim) {
        let words: Vec<&str> = step.split_whitespace().collect();
        let mut out = Out::default();
        match words[..] {
            ["follow", s] => lanes.follow(&sym(s)),
            ["resume", at] => {
                let (s, t) = at.split_once('@').unwrap();
                lanes.resume(&sym(s), minutes(t), now, &mut out);
            }
            ["warm", s, last] => {
                let events = vec![bar(s, last.parse().unwrap())];
                lanes.warmed(&sym(s), events, now, &mut out);
            }
            ["now", t] => now = minutes(t),
            ["bar" | "mark" | "liq", at] => {
                let (s, t) = at.split_once('@').unwrap();
                let e = match words[0] {
                    "bar" => bar(s, t.parse().unwrap()),
                    "mark" => mark(s, minutes(t)),
                    _ => liq(s, minutes(t)),
                };
                lanes.push(e, now, &mut out);
            }
            ["fill" | "fail", s] => {
                let i = holes.iter().position(|h| h.symbol == sym(s)).unwrap();
                let hole = holes.remove(i);
                let bars = match words[0] {
                    "fill" => (hole.from..=hole.to)
                        .step_by(5 * MIN as usize)
                        .map(|t| bar(s, t / MIN))
                        .collect(),
                    _ => Vec::new(),
                };
                lanes.filled(&hole, bars, now, &mut out);
            }
            ["poll", close, ref pairs @ ..] => {
                let close = minutes(close);
                let events = pairs.iter().map(|s| oi(s, close)).collect();
                lanes.polled(close, events, now, &mut out);
            }
            ["expire"] => lanes.expire(now, &mut out),
            ["overdue"] => lanes.overdue(now, &mut out),
            ["forget", s] => lanes.forget(&sym(s)),
            _ => panic!("unknown step {step:?}"),
        }
        got.extend(out.events.iter().map(show));
        for h in out.holes {
            got.push(format!(
                "hole:{}@{}..{}",
                h.symbol,
                h.from / MIN,
                h.to / MIN
            ));
            holes.push(h);
        }
    }
    got.join(" ")
}

fn minutes(t: &str) -> TimeMs {
    t.parse::<TimeMs>().unwrap() * MIN
}

fn sym(s: &str) -> Symbol {
    s.parse().unwrap()
}

fn event(s: &str, event: MarketEvent) -> SymbolEvent {
    SymbolEvent {
        symbol: sym(s),
        event,
    }
}

fn bar(s: &str, open_min: TimeMs) -> SymbolEvent {
    let candle = Candle {
        open_time: open_min * MIN,
        open: 1.0,
        high: 1.0,
        low: 1.0,
        close: 1.0,
        volume: 1.0,
        quote_volume: None,
        taker_buy_quote: None,
    };
    let interval = Interval::M5;
    event(s, MarketEvent::Candle { interval, candle })
}

fn mark(s: &str, time: TimeMs) -> SymbolEvent {
    let m = MarkTick {
        time,
        price: 1.0,
        funding_rate: None,
    };
    event(s, MarketEvent::Mark(m))
}

fn liq(s: &str, time: TimeMs) -> SymbolEvent {
    let l = Liquidation {
        time,
        side: Side::Long,
        price: 1.0,
        quantity: 1.0,
    };
    event(s, MarketEvent::Liquidation(l))
}

fn oi(s: &str, time: TimeMs) -> SymbolEvent {
    let o = OpenInterest {
        time,
        contracts: 1.0,
        value_usd: None,
    };
    event(s, MarketEvent::OpenInterest(o))
}

fn show(e: &SymbolEvent) -> String {
    let what = match &e.event {
        MarketEvent::Candle { candle, .. } => format!("5m@{}", candle.open_time / MIN),
        MarketEvent::OpenInterest(o) => format!("oi@{}", o.time / MIN),
        MarketEvent::Mark(m) => format!("mark@{}", m.time / MIN),
        MarketEvent::Liquidation(l) => format!("liq@{}", l.time / MIN),
        MarketEvent::Gap { from, to } => format!("gap@{}..{}", from / MIN, to / MIN),
        MarketEvent::Funding(_) => "funding".to_owned(),
        MarketEvent::Margin(_) => "margin".to_owned(),
        MarketEvent::SpotCandle { candle, .. } => format!("spot@{}", candle.open_time / MIN),
    };
    format!("{}:{what}", e.symbol)
}
