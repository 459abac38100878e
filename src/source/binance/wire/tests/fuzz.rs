//! Fuzzing every Binance parser with the shared fuzzer (`source::fuzz`): random text and mutated
//! real and documented frames must never make a parser panic. `LIQWAVE_FUZZ_CASES` sets the cases
//! per test; e.g. `LIQWAVE_FUZZ_CASES=1000000 cargo test --lib source::binance::wire -- --nocapture`.

use super::super::*;
use super::{
    ACK, EXCHANGE_INFO, FORCE_ORDER, KLINE, MARK_ARR, REST_ERROR, REST_FUNDING, REST_KLINES,
    REST_OI, REST_OI_HIST, REST_PREMIUM, WS_SAMPLE,
};
use crate::model::Interval;
use crate::source::fuzz;

/// Values of this venue's own dropped into a field, beside the shared [`fuzz::TOKENS`].
const TOKENS: &[&str] = &[
    r#""SELL""#,
    r#""BUY""#,
    r#""BTCUSDT_250627""#,
    r#""2h""#,
    r#""5m""#,
];

/// Real and documented frames and bodies: the material the mutations work on.
fn seed_frames() -> Vec<&'static str> {
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

#[test]
fn fuzz_mutated_real_frames() {
    fuzz::mutated(
        "binance mutated frames",
        seed_frames().into_iter().map(str::to_owned).collect(),
        TOKENS,
        parse_everything,
    );
}

#[test]
fn fuzz_random_text() {
    fuzz::random("binance random text", parse_everything);
}
