//! Fuzzing every Bybit parser with the shared fuzzer (`source::fuzz`): random text and mutated
//! documented frames must never make a parser panic. `LIQWAVE_FUZZ_CASES` sets the cases
//! per test; e.g. `LIQWAVE_FUZZ_CASES=1000000 cargo test --lib source::bybit::wire -- --nocapture`.

use super::super::*;
use super::{
    KLINE_CLOSED, KLINE_OPEN, LIQUIDATION, PONG, REST_FUNDING, REST_INSTRUMENTS, REST_KLINES,
    REST_OI, REST_RATE_LIMITED, REST_RISK, SUB_ACK, SUB_REFUSED, TICKER_DELTA, TICKER_SNAPSHOT,
};
use crate::model::Interval;
use crate::source::fuzz;

/// Values of this venue's own dropped into a field, beside the shared [`fuzz::TOKENS`].
const TOKENS: &[&str] = &[
    r#""Sell""#,
    r#""Buy""#,
    r#""BTCUSDT-26DEC25""#,
    r#""delta""#,
    r#""snapshot""#,
];

/// Documented frames and bodies: the material the mutations work on.
fn seed_frames() -> Vec<&'static str> {
    let mut seeds = [
        KLINE_OPEN,
        KLINE_CLOSED,
        TICKER_SNAPSHOT,
        TICKER_DELTA,
        LIQUIDATION,
    ]
    .repeat(3);
    seeds.extend([
        SUB_ACK,
        SUB_REFUSED,
        PONG,
        REST_INSTRUMENTS,
        REST_KLINES,
        REST_OI,
        REST_FUNDING,
        REST_RISK,
        REST_RATE_LIMITED,
    ]);
    seeds
}

/// Every parser on one text, frames through the ticker book too; results are only looked at,
/// so any panic is the failure.
fn parse_everything(text: &str) {
    let mut seen = 0usize;
    let mut note = |r: Result<usize, WireError>| {
        seen += r.unwrap_or_else(|e| e.to_string().len());
    };
    let mut book = TickerBook::default();
    note(parse_frame(text).map(|f| match f {
        Frame::Ticker {
            symbol,
            ts,
            delta,
            fields,
        } => book.apply(&symbol, ts, delta, fields).len(),
        other => format!("{other:?}").len(),
    }));
    note(parse_instruments(text).map(|p| p.items.iter().filter(|l| is_usdt_perpetual(l)).count()));
    for interval in [Interval::M5, Interval::W1] {
        note(parse_klines(text, interval, i64::MAX).map(|c| c.len()));
    }
    note(parse_open_interest(text).map(|p| p.items.len()));
    note(parse_funding(text).map(|f| f.len()));
    note(parse_risk_limit(text).map(|p| p.items.len()));
    std::hint::black_box(seen);
}

#[test]
fn fuzz_mutated_real_frames() {
    fuzz::mutated(
        "bybit mutated frames",
        seed_frames().into_iter().map(str::to_owned).collect(),
        TOKENS,
        parse_everything,
    );
}

#[test]
fn fuzz_random_text() {
    fuzz::random("bybit random text", parse_everything);
}
