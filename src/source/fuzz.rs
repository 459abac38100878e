//! The wire fuzzer every venue's parsers share: random text, and real or documented frames
//! mutated (byte flips, cuts, removals, splices of other frames, values swapped for tokens),
//! handed to a venue's parse-everything function, which must answer without panicking.
//! `LIQWAVE_FUZZ_CASES` sets the cases per test (default 5,000, well under a second in the dev
//! profile); e.g. `LIQWAVE_FUZZ_CASES=1000000 cargo test --lib wire::tests::fuzz -- --nocapture`.

use std::time::Instant;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const DEFAULT_CASES: u32 = 5_000;

/// Values every venue's frames get dropped into a field: numbers, shapes and strings that reach
/// the number and shape checks. Each venue adds its own (symbols, sides, intervals).
pub(crate) const TOKENS: &[&str] = &[
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
    "[[]]",
    "1e400",
    "-1",
    "0.5",
    "18446744073709551616",
    r#""18446744073709551616""#,
    r#""9223372036854775807""#,
    "9223372036854775807",
    r#""\u0000""#,
    r#""币安人生USDT""#,
];

fn cases() -> u32 {
    std::env::var("LIQWAVE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(DEFAULT_CASES)
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
        1 => (n(), n(), n(), 1..64usize)
            .prop_map(|(at, seed, from, len)| Edit::Splice { at, seed, from, len }),
        4 => (n(), n()).prop_map(|(nth, token)| Edit::Value { nth, token }),
    ]
}

fn apply(text: &mut Vec<u8>, edit: &Edit, seeds: &[String], tokens: &[&str]) {
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
            let keys: Vec<usize> = (text.windows(2).enumerate())
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
            let token = tokens[token % tokens.len()].as_bytes();
            text.splice(start..end, token.iter().copied());
        }
    }
}

fn run(name: &str, strategy: impl Strategy<Value = String>, parse: impl Fn(&str)) {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let started = Instant::now();
    let result = runner.run(&strategy, |text| {
        parse(&text);
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

/// Mutations of `seeds` (one to three edits each; values swapped for [`TOKENS`] and the
/// venue's own `tokens`) through `parse`.
pub(crate) fn mutated(name: &str, seeds: Vec<String>, tokens: &[&str], parse: impl Fn(&str)) {
    let tokens: Vec<String> = TOKENS
        .iter()
        .chain(tokens)
        .map(|t| (*t).to_owned())
        .collect();
    let strategy = (any::<usize>(), vec(edit(), 1..4)).prop_map(move |(seed, edits)| {
        let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let mut text = seeds[seed % seeds.len()].as_bytes().to_vec();
        for edit in &edits {
            apply(&mut text, edit, &seeds, &tokens);
        }
        String::from_utf8_lossy(&text).into_owned()
    });
    run(name, strategy, parse);
}

/// Any text, and short JSON-like text, through `parse`.
pub(crate) fn random(name: &str, parse: impl Fn(&str)) {
    let json_like = r#"[{}\[\]":,0-9a-zA-Z@!_.eE+\- \\]{0,80}"#;
    let strategy = prop_oneof![any::<String>(), json_like.prop_map(|s| s)];
    run(name, strategy, parse);
}
