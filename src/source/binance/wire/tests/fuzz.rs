//! Fuzzing: random text and mutated real frames (byte flips, cuts, splices, swapped values) go
//! to every parser, which must answer without panicking. `LIQWAVE_FUZZ_CASES` sets the number
//! of cases per test (default 5,000, well under a second in the dev profile); e.g.
//! `LIQWAVE_FUZZ_CASES=1000000 cargo test --release --lib wire -- --nocapture`.

use std::time::Instant;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::super::*;
use super::{
    ACK, EXCHANGE_INFO, FORCE_ORDER, KLINE, MARK_ARR, REST_ERROR, REST_FUNDING, REST_KLINES,
    REST_OI, REST_OI_HIST, REST_PREMIUM, WS_SAMPLE,
};
use crate::model::Interval;

const DEFAULT_CASES: u32 = 5_000;

/// Values dropped into a field, chosen to reach the number, symbol and shape checks.
const TOKENS: [&str; 24] = [
    r#""NaN""#,
    r#""inf""#,
    r#""-1""#,
    r#""0""#,
    r#""1e400""#,
    r#""1e-400""#,
    r#""""#,
    "null",
    "true",
    "[]",
    "{}",
    "1e400",
    "-1",
    "18446744073709551616",
    r#""\u0000""#,
    r#""SELL""#,
    r#""BUY""#,
    r#""BTCUSDT_250627""#,
    r#""币安人生USDT""#,
    r#""2h""#,
    r#""5m""#,
    "0.5",
    r#""9223372036854775807""#,
    "9223372036854775807",
];

fn cases() -> u32 {
    std::env::var("LIQWAVE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

/// Real and documented frames and bodies: the material the mutations work on.
fn seeds() -> Vec<&'static str> {
    let mut seeds: Vec<&str> = WS_SAMPLE.lines().collect();
    // The documented events three times over: the recording has no mark price or liquidation.
    seeds.extend([KLINE, MARK_ARR, FORCE_ORDER].repeat(3));
    seeds.extend([
        ACK,
        REST_KLINES,
        REST_OI,
        REST_OI_HIST,
        REST_FUNDING,
        REST_PREMIUM,
        REST_ERROR,
        EXCHANGE_INFO,
    ]);
    seeds
}

/// One edit, its numbers taken modulo the text's length when applied.
#[derive(Debug, Clone)]
enum Edit {
    Flip {
        at: usize,
        bits: u8,
    },
    Cut {
        at: usize,
    },
    Remove {
        at: usize,
        len: usize,
    },
    /// Insert a stretch of another seed.
    Splice {
        at: usize,
        seed: usize,
        from: usize,
        len: usize,
    },
    /// Replace the value after the n-th `":` with a token.
    Value {
        nth: usize,
        token: usize,
    },
}

fn edit() -> impl Strategy<Value = Edit> {
    let n = any::<usize>;
    prop_oneof![
        1 => (n(), 1..=255u8).prop_map(|(at, bits)| Edit::Flip { at, bits }),
        1 => n().prop_map(|at| Edit::Cut { at }),
        1 => (n(), 1..16usize).prop_map(|(at, len)| Edit::Remove { at, len }),
        1 => (n(), n(), n(), 1..64usize).prop_map(|(at, seed, from, len)| Edit::Splice {
            at,
            seed,
            from,
            len
        }),
        4 => (n(), n()).prop_map(|(nth, token)| Edit::Value { nth, token }),
    ]
}

fn apply(text: &mut Vec<u8>, edit: &Edit, seeds: &[&str]) {
    let len = text.len().max(1);
    match *edit {
        Edit::Flip { at, bits } => {
            if let Some(b) = text.get_mut(at % len) {
                *b ^= bits;
            }
        }
        Edit::Cut { at } => text.truncate(at % len),
        Edit::Remove { at, len: n } => {
            let at = at % len;
            text.drain(at.min(text.len())..(at + n).min(text.len()));
        }
        Edit::Splice {
            at,
            seed,
            from,
            len: n,
        } => {
            let other = seeds[seed % seeds.len()].as_bytes();
            let from = from % other.len().max(1);
            let piece = &other[from..(from + n).min(other.len())];
            let at = (at % len).min(text.len());
            text.splice(at..at, piece.iter().copied());
        }
        Edit::Value { nth, token } => {
            let keys: Vec<usize> = text
                .windows(2)
                .enumerate()
                .filter(|(_, w)| w == b"\":")
                .map(|(i, _)| i + 2)
                .collect();
            let Some(&start) = keys.get(nth % keys.len().max(1)) else {
                return;
            };
            let end = text[start..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']'))
                .map_or(text.len(), |p| start + p);
            let token = TOKENS[token % TOKENS.len()].as_bytes();
            text.splice(start..end, token.iter().copied());
        }
    }
}

/// Every parser on one text; results are only displayed, so any panic is the failure.
fn parse_everything(text: &str) {
    let mut seen = 0usize;
    let mut note = |r: Result<usize, WireError>| {
        seen += r.unwrap_or_else(|e| e.to_string().len());
    };
    note(parse_frame(text).map(|f| format!("{f:?}").len()));
    note(parse_exchange_info(text).map(|i| {
        i.contracts().filter(Result::is_ok).count() + usize::from(i.request_weight().is_some())
    }));
    for interval in [Interval::M1, Interval::W1] {
        note(parse_klines(text, interval, i64::MAX).map(|c| c.len()));
    }
    note(parse_open_interest(text).map(|_| 1));
    note(parse_open_interest_hist(text, Interval::M5).map(|e| e.len()));
    note(parse_funding_rates(text).map(|e| e.len()));
    note(parse_premium_index(text).map(|b| b.events.len() + b.skipped + b.dropped.len()));
    note(parse_api_error(text).map(|e| e.msg.len()));
    std::hint::black_box(seen);
}

fn run(name: &str, strategy: impl Strategy<Value = String>) {
    let mut runner = runner();
    let started = Instant::now();
    let result = runner.run(&strategy, |text| {
        parse_everything(&text);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    // Only shown with --nocapture: how many cases the fuzzer ran and how long they took.
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "fuzz {name}: {} cases in {:.2?}",
            cases(),
            started.elapsed()
        );
    }
}

#[test]
fn fuzz_mutated_real_frames() {
    let seeds = seeds();
    let strategy = (any::<usize>(), vec(edit(), 1..4)).prop_map(move |(seed, edits)| {
        let mut text = seeds[seed % seeds.len()].as_bytes().to_vec();
        for edit in &edits {
            apply(&mut text, edit, &seeds);
        }
        String::from_utf8_lossy(&text).into_owned()
    });
    run("mutated frames", strategy);
}

#[test]
fn fuzz_random_text() {
    let json_like = r#"[{}\[\]":,0-9a-zA-Z@!_.eE+\- \\]{0,80}"#;
    let strategy = prop_oneof![any::<String>(), json_like.prop_map(|s| s)];
    run("random text", strategy);
}
