//! Fuzzing every OKX parser with the shared fuzzer (`source::fuzz`): random text and mutated
//! documented frames must never make a parser panic. `LIQWAVE_FUZZ_CASES` sets the cases
//! per test; e.g. `LIQWAVE_FUZZ_CASES=1000000 cargo test --lib source::okx::wire -- --nocapture`.

use super::super::*;
use super::{
    CANDLE_PUSH, FUNDING_PUSH, LIQUIDATION_PUSH, MARK_PUSH, NOTICE, REST_CANDLES, REST_FUNDING,
    REST_INSTRUMENTS, REST_OI, REST_OI_HIST, REST_RATE_LIMIT, REST_TIERS, SUB_ERROR, SUBSCRIBED,
    followed,
};
use crate::source::fuzz;

/// Values of this venue's own dropped into a field, beside the shared [`fuzz::TOKENS`].
const TOKENS: &[&str] = &[
    r#""sell""#,
    r#""net""#,
    r#""BTC-USDT-SWAP""#,
    r#""candle5m""#,
    r#""1""#,
    r#""币-USDT-SWAP""#,
];

fn seeds() -> Vec<String> {
    let candle5m = CANDLE_PUSH
        .replace("candle1D", "candle5m")
        .replace(r#""instId":"BTC-USDT""#, r#""instId":"BTC-USDT-SWAP""#);
    let mut seeds: Vec<String> = [
        CANDLE_PUSH,
        MARK_PUSH,
        FUNDING_PUSH,
        LIQUIDATION_PUSH,
        SUBSCRIBED,
        SUB_ERROR,
        NOTICE,
        REST_CANDLES,
        REST_OI,
        REST_OI_HIST,
        REST_FUNDING,
        REST_TIERS,
        REST_RATE_LIMIT,
        REST_INSTRUMENTS,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let closed = candle5m.replace(r#""0"]]"#, r#""1"]]"#);
    for _ in 0..3 {
        seeds.extend([candle5m.clone(), closed.clone()]);
    }
    seeds.push(MARK_PUSH.replace("LTC-USD-190628", "BTC-USDT-SWAP"));
    seeds
}

/// Every parser on one text; results are only looked at, so any panic is the failure.
fn parse_everything(text: &str, followed: &Contracts) {
    let mut seen = 0usize;
    let mut note = |r: Result<usize, WireError>| {
        seen += r.unwrap_or_else(|e| e.to_string().len());
    };
    note(parse_frame(text, followed).map(|f| format!("{f:?}").len()));
    note(parse_instruments(text).map(|(c, d)| c.len() + d.len()));
    note(parse_candles(text).map(|c| c.len()));
    note(parse_open_interest(text, "BTC-USDT-SWAP", 0.01).map(|r| r.time as usize));
    note(parse_open_interest_history(text, 0.01).map(|r| r.len()));
    note(parse_funding_history(text).map(|r| r.len()));
    note(parse_position_tiers(text, "BTC-USDT").map(|t| t.mmr.to_bits() as usize));
    seen += parse_api_error(text).map_or(0, |e| e.to_string().len());
    std::hint::black_box(seen);
}

#[test]
fn fuzz_mutated_documented_frames() {
    let followed = followed();
    fuzz::mutated("okx mutated frames", seeds(), TOKENS, |text| {
        parse_everything(text, &followed)
    });
}

#[test]
fn fuzz_random_text() {
    let followed = followed();
    fuzz::random("okx random text", |text| parse_everything(text, &followed));
}
