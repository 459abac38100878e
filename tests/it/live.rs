//! The live source end to end: `run_live` feeding a real engine against one coherent fake
//! exchange (`live/exchange.rs`: REST and streams agree on pairs, bars and an accelerated
//! clock, a 5m bar every 250 ms). With drops, stalls and garbage, every followed pair's series
//! reaches the engine whole — no bar missing, none twice, every hole announced by a `Gap` and
//! filled before the bar after it; a pair listed mid-run is warmed and followed, a delisted one
//! dropped; a failed warm-up is retried; a warm restart only back-fills its hole. Every wait is
//! bounded; nothing asserts on timing.

pub(crate) mod exchange;

use exchange::{Checked, Exchange, M5, Seen, Tapped, bars, check, run, sym, until};
use std::time::Duration;

use liqwave::source::Resume;

use crate::support::fake_binance_rest;
use crate::support::fake_binance_ws::{Fault, mix};
use crate::support::testing::temp_store;

const NEW: &str = "SYNNEWUSDT";
const DELISTED: &str = "SYN001USDT";

fn has_bar(tapped: &Tapped, name: &str, open: i64) -> bool {
    let seen = tapped.lock().unwrap();
    let series = seen.get(&sym(name)).map(|s| bars(s)).unwrap_or_default();
    series.iter().any(|c| c.open_time == open)
}

/// Whether every pair in `names` got the last bar the exchange streamed for it.
fn caught_up(ex: &Exchange, tapped: &Tapped, names: &[String]) -> bool {
    (names.iter()).all(|n| {
        ex.truth(n)
            .last()
            .is_some_and(|c| has_bar(tapped, n, c.open_time))
    })
}

/// 8 pairs × 48 bars over three connections that roll over every 2 s, a drop about every
/// fourth bar, two stalls, garbage; a listing and a delisting at bar 12.
#[tokio::test]
async fn faults_lose_no_bar_and_listings_come_and_go() {
    const PAIRS: usize = 8;
    const BARS: u32 = 48;
    let mut faults = vec![(14, Fault::Stall), (22, Fault::Mute), (28, Fault::Stall)];
    let mut rng = 5u64;
    for k in 4..36 {
        rng = mix(rng);
        if rng.is_multiple_of(4) {
            faults.push((k, Fault::Drop));
        }
    }
    for k in [9, 20] {
        faults.extend([(k, Fault::Garbage), (k, Fault::Truncated)]);
    }
    let ex = Exchange::start(PAIRS, BARS, faults).await;
    ex.ws.open_market();
    let initial: Vec<String> = (0..PAIRS).map(|i| format!("SYN{i:03}USDT")).collect();
    let mut followed: Vec<String> = initial.iter().filter(|n| *n != DELISTED).cloned().collect();
    followed.push(NEW.to_owned());
    let (tapped, engine) = run(&ex, Resume::new(), None, async |tapped: Tapped| {
        until("every pair warmed", || {
            tapped.lock().unwrap().len() >= PAIRS
        })
        .await;
        until("bar 12", || ex.bars_closed() >= 12).await;
        ex.rest.list(NEW);
        ex.rest.delist(DELISTED);
        let stream = format!("{}@kline_5m", DELISTED.to_ascii_lowercase());
        until("the delisted pair's stream dropped", || {
            !ex.ws.served().contains(&stream)
        })
        .await;
        until("the last bar of every followed pair", || {
            ex.bars_closed() == BARS && caught_up(&ex, &tapped, &followed)
        })
        .await;
        tapped
    })
    .await;
    let seen = tapped.lock().unwrap();
    let mut total = Checked::default();
    let (mut live, mut with_oi) = (0, 0);
    for name in &followed {
        let s = &seen[&sym(name)];
        let got = check(name, s, &ex.truth(name));
        assert_eq!(
            (got.missing, got.duplicate, got.silent_holes),
            (0, 0, 0),
            "{name}: {got:?}"
        );
        total.gaps += got.gaps;
        let first_live = ex.truth(name).first().map_or(0, |c| c.open_time);
        for (i, e) in s.iter().enumerate() {
            if let Seen::Bar(c) = e
                && c.open_time >= first_live
            {
                live += 1;
                let close = c.open_time + M5;
                with_oi += usize::from(i > 0 && s[i - 1] == Seen::OpenInterest(close));
            }
        }
    }
    let new = &seen[&sym(NEW)];
    assert!(new.contains(&Seen::Signal), "the new pair was warmed up");
    let delisted = check(DELISTED, &seen[&sym(DELISTED)], &ex.truth(DELISTED));
    assert_eq!((delisted.duplicate, delisted.silent_holes), (0, 0));
    let applied = ex.ws.record(|r| r.faults.clone());
    let count = |f: Fault| applied.get(&f).copied().unwrap_or(0);
    println!(
        "{} pairs followed, {live} bars after the first streamed one, {} gaps filled; drops {}, \
         stalls {}, garbage {}; {with_oi} of those bars had their open interest just before; \
         engine: {} events, {} gaps",
        followed.len(),
        total.gaps,
        count(Fault::Drop),
        count(Fault::Stall),
        count(Fault::Garbage),
        engine.stats().events,
        engine.stats().gaps,
    );
    assert!(
        count(Fault::Drop) >= 3 && count(Fault::Stall) == 2 && count(Fault::Mute) == 1,
        "{applied:?}"
    );
    assert!(total.gaps > 0, "the faults cost live bars");
}

/// The new pair's first warm-up meets five 503s in a row (the client's attempts) and fails; the
/// next re-discovery warms it again.
#[tokio::test]
async fn a_failed_warm_up_is_retried() {
    let ex = Exchange::start(3, 60, Vec::new()).await;
    ex.ws.open_market();
    let (tapped, _engine) = run(&ex, Resume::new(), None, async |tapped: Tapped| {
        until("every pair warmed", || tapped.lock().unwrap().len() >= 3).await;
        ex.rest.inject(
            Some("/fapi/v1/klines"),
            fake_binance_rest::Fault::ServerError(503),
            5,
        );
        ex.rest.list(NEW);
        let warmed = || {
            tapped
                .lock()
                .unwrap()
                .get(&sym(NEW))
                .is_some_and(|s| s.contains(&Seen::Signal))
        };
        until("the new pair warmed", warmed).await;
        until("a live bar of the new pair", || {
            caught_up(&ex, &tapped, &[NEW.to_owned()])
        })
        .await;
        tapped
    })
    .await;
    let hits = ex.rest.hits();
    let statuses: Vec<u16> = (hits.iter())
        .filter(|h| h.path == "/fapi/v1/klines" && h.symbol.as_deref() == Some(NEW))
        .map(|h| h.status)
        .collect();
    assert_eq!(
        statuses[..6],
        [503, 503, 503, 503, 503, 200],
        "{statuses:?}"
    );
    // Retried on its own timer (5 market minutes), not at the hourly re-discovery.
    let new_klines = |h: &&fake_binance_rest::Hit| {
        h.path == "/fapi/v1/klines" && h.symbol.as_deref() == Some(NEW)
    };
    let failed = hits.iter().position(|h| new_klines(&h) && h.status == 503);
    let warmed = hits.iter().position(|h| new_klines(&h) && h.status == 200);
    let (failed, warmed) = (failed.unwrap(), warmed.unwrap());
    let discoveries = (hits[failed..warmed].iter())
        .filter(|h| h.path == "/fapi/v1/exchangeInfo")
        .count();
    assert_eq!(discoveries, 0, "retried before the next re-discovery");
    let seen = tapped.lock().unwrap();
    let got = check(NEW, &seen[&sym(NEW)], &ex.truth(NEW));
    assert_eq!((got.missing, got.duplicate, got.silent_holes), (0, 0, 0));
}

/// Pairs the restored engine knows up to an hour ago skip the warm-up: one klines request each
/// (the back-fill), a `Gap` and the hour's bars, then live bars. The engine's store records every
/// liquidation the streams carried, for `validate-model --store`. The back-fills after the
/// restart run side by side, at most four at once.
#[tokio::test]
async fn a_warm_restart_only_backfills_the_hole() {
    const PAIRS: usize = 6;
    let ex = Exchange::start(PAIRS, 40, Vec::new()).await;
    let names: Vec<String> = (0..PAIRS).map(|i| format!("SYN{i:03}USDT")).collect();
    // Slow back-fills: those of all six pairs would overlap if nothing bounded them.
    let slow = fake_binance_rest::Fault::Slow(Duration::from_millis(150));
    ex.rest.inject(Some("/fapi/v1/klines"), slow, PAIRS);
    let last = ex.clock.now().div_euclid(M5) * M5 - 13 * M5;
    let resume: Resume = names.iter().map(|n| (sym(n), last)).collect();
    ex.ws.open_market();
    let (_dir, store) = temp_store();
    let (tapped, _engine) = run(&ex, resume, Some(store.clone()), async |tapped: Tapped| {
        until("bar 3", || ex.bars_closed() >= 3).await;
        until("every pair's last bar", || caught_up(&ex, &tapped, &names)).await;
        tapped
    })
    .await;
    let seen = tapped.lock().unwrap();
    let mut liquidations_seen = 0;
    for name in &names {
        let s = &seen[&sym(name)];
        let klines = (ex.rest.hits().iter())
            .filter(|h| h.path == "/fapi/v1/klines" && h.symbol.as_deref() == Some(name))
            .count();
        assert_eq!(klines, 1, "{name}: the back-fill only");
        assert!(!s.contains(&Seen::Signal), "{name}: no warm-up");
        assert!(
            matches!(s.first(), Some(Seen::Gap { .. })),
            "{name}: the hole is filled at start, before any live event: {s:?}"
        );
        let Some(Seen::Gap { from, .. }) = s.iter().find(|e| matches!(e, Seen::Gap { .. })) else {
            panic!("{name}: no gap in {s:?}");
        };
        assert_eq!(
            *from,
            last + M5,
            "{name}: the hole starts after the restored bar"
        );
        let got = check(name, s, &ex.truth(name));
        assert_eq!(
            (got.missing, got.duplicate, got.silent_holes, got.gaps),
            (0, 0, 0, 1)
        );
        let liquidations = s.iter().filter(|e| **e == Seen::Liquidation).count();
        let recorded = store.liquidations(&sym(name)).unwrap().len();
        assert_eq!(recorded, liquidations, "{name}: every liquidation recorded");
        liquidations_seen += liquidations;
    }
    assert!(liquidations_seen > 0, "the streams carried liquidations");
    let peak = ex.rest.peak_in_flight("/fapi/v1/klines");
    println!("back-fills in flight at once: {peak} (of {PAIRS} pairs)");
    assert!(
        (2..=4).contains(&peak),
        "back-fills run side by side, at most 4: {peak}"
    );
}
