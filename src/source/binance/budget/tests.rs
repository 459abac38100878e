//! The budget as a table: one case per line, a script of timed operations and what it printed.
//!
//! Script tokens are `T:op` with `T` in ms. Ops: `wN` reserves weight N, `dN` and `fN` reserve
//! weight N in the futures-data or funding pool (a suffix `xK` repeats it K times and prints the
//! first refusal, or one `ok`); `c` completes the oldest reservation, `cH` with the server's
//! count H, `cxK` the K oldest; `429`, `429+MS`, `418`, `418+MS` report a response with an
//! optional Retry-After; `u` prints the window's count. Limits: weight 100 at share 0.8 (80) per
//! 1000 ms window, so the pools allow 800 and 400 per 5000 ms.

use super::*;

#[rustfmt::skip]
const CASES: &[(&str, &str, &str)] = &[
    ("fills the share, then waits for the next window", "0:w50 0:w30 0:w1", "ok ok wait@1000:weight"),
    ("a new window starts empty", "0:w80 0:c 1000:w80", "ok ok"),
    ("in flight across a boundary is charged to the new window", "900:w50 1000:w40", "ok wait@2000:weight"),
    ("completed across the boundary is charged too", "900:w50 1001:c 1001:u", "ok used=50"),
    ("completed before the boundary is not carried", "900:w50 950:c 1000:u", "ok used=0"),
    ("a higher server count is adopted", "0:w10 10:c70 20:w20", "ok wait@1000:weight"),
    ("a server count from another window is ignored", "990:w10 1010:c70 1010:u", "ok used=10"),
    ("a lower server count never lowers ours", "0:w60 5:c10 5:u", "ok used=60"),
    ("429 with Retry-After pauses everyone", "0:w1 0:c 100:429+1500 200:w1 1600:w1", "ok until=1600 wait@1600:rate_limited ok"),
    ("429 without Retry-After waits for the next window", "100:429 200:w1 1000:w1", "until=1000 wait@1000:rate_limited ok"),
    ("418 bans until Retry-After", "0:418+5000 4999:w1 5000:w1", "until=5000 wait@5000:banned ok"),
    ("418 without Retry-After bans two minutes", "0:418 119999:w0 120000:w0", "until=120000 wait@120000:banned ok"),
    ("a pause never shortens a ban", "0:418+5000 10:429+100 4000:w1", "until=5000 until=5000 wait@5000:banned"),
    ("a ban outranks a pause ending together", "0:429+500 0:418+500 100:w1", "until=500 until=500 wait@500:banned"),
    ("futures data: 800 requests per five windows", "0:d0x800 10:d0 20:cx800 5000:d0", "ok wait@5000:futures_data ok"),
    ("futures-data requests are counted in flight too", "4990:d0x800 5000:d0", "ok wait@10000:futures_data"),
    ("pooled requests still cost weight", "0:f1x80 1:w1", "ok wait@1000:weight"),
    ("funding: 400 requests per five windows", "0:f0x400 1:f0", "ok wait@5000:funding"),
    ("a request above the share goes alone", "0:w100 0:c 1000:w1 1000:w200", "ok ok wait@2000:weight"),
    ("zero weight always fits", "0:w80 1:w0", "ok ok"),
];

#[test]
fn budget_table() {
    for (name, script, want) in CASES {
        assert_eq!(run(script), *want, "{name}: {script}");
    }
}

#[test]
fn the_exchange_limit_only_ever_lowers_ours() {
    let mut budget = Budget::new(params());
    budget.learn_weight_limit(1000);
    assert!(budget.reserve(Cost::weight(80), 0).is_ok());
    budget.learn_weight_limit(50);
    assert_eq!(budget.reserve(Cost::weight(1), 0).unwrap_err().until, 1000);
    assert_eq!(budget.spent(), 80);
}

fn params() -> BudgetParams {
    BudgetParams {
        weight_limit: 100,
        share: 0.8,
        window_ms: 1000,
    }
}

fn run(script: &str) -> String {
    let mut budget = Budget::new(params());
    let mut tickets = std::collections::VecDeque::new();
    let mut out = Vec::new();
    for token in script.split_whitespace() {
        let (t, op) = token.split_once(':').expect("T:op");
        let t: TimeMs = t.parse().expect("time");
        let num = |s: &str| s.parse::<i64>().expect("number");
        match op.as_bytes()[0] {
            b'w' | b'd' | b'f' => {
                let (cost, times) = op[1..].split_once('x').unwrap_or((&op[1..], "1"));
                let weight = num(cost) as u32;
                let cost = match op.as_bytes()[0] {
                    b'd' => Cost::pooled(weight, Pool::FuturesData),
                    b'f' => Cost::pooled(weight, Pool::Funding),
                    _ => Cost::weight(weight),
                };
                let mut said = "ok".to_owned();
                for _ in 0..num(times) {
                    match budget.reserve(cost, t) {
                        Ok(ticket) => tickets.push_back(ticket),
                        Err(wait) => {
                            said = format!("wait@{}:{}", wait.until, reason(wait.reason));
                            break;
                        }
                    }
                }
                out.push(said);
            }
            b'c' if op.starts_with("cx") => {
                for _ in 0..num(&op[2..]) {
                    let ticket = tickets.pop_front().expect("a reservation to complete");
                    budget.complete(ticket, t, None);
                }
            }
            b'c' => {
                let ticket = tickets.pop_front().expect("a reservation to complete");
                let header = (op.len() > 1).then(|| num(&op[1..]) as u32);
                budget.complete(ticket, t, header);
            }
            b'u' => out.push(format!("used={}", budget.used(t))),
            _ => {
                let (code, after) = op
                    .split_once('+')
                    .map_or((op, None), |(c, a)| (c, Some(num(a))));
                let until = match code {
                    "429" => budget.rate_limited(t, after),
                    "418" => budget.banned(t, after),
                    other => panic!("unknown op {other}"),
                };
                out.push(format!("until={until}"));
            }
        }
    }
    out.join(" ")
}

fn reason(reason: WaitReason) -> &'static str {
    match reason {
        WaitReason::Weight => "weight",
        WaitReason::Pool(Pool::FuturesData) => "futures_data",
        WaitReason::Pool(Pool::Funding) => "funding",
        WaitReason::RateLimited => "rate_limited",
        WaitReason::Banned => "banned",
    }
}
