//! The REST side of the Binance source against a fake exchange (`support/fake_binance_rest.rs`):
//! the 600-pair warm-up inside the weight budget, 429 and 418 handling for every request, retries
//! of 5xx and timeouts, refusals with Binance's code, discovery of listings and delistings, and a
//! warmed pair converged in a real engine. Every wait is bounded; nothing leaves the machine.

use std::path::Path;
use std::time::{Duration, Instant};

use liqwave::analytics::regime::Regime;
use liqwave::config::SymbolFilter;
use liqwave::engine::Engine;
use liqwave::model::{Interval, MarketEvent, Symbol, SymbolEvent, TimeMs};
use liqwave::source::Batch;
use liqwave::source::binance::budget::BudgetParams;
use liqwave::source::binance::discovery::{diff, discover};
use liqwave::source::binance::rest::{RestClient, RestError, RestOptions, RetryPolicy};
use liqwave::source::binance::warmup::{
    PairOutcome, Progress, WarmupPlan, backfill, poll_open_interest, warm_all, warm_pair,
};
use tokio::sync::mpsc;
use tokio::time::timeout;

use crate::support::fake_binance_rest::{FakeBinanceRest, FakeConfig, Fault, Hit, Trend, trend};

/// The bound on every exchange in these tests but the 600-pair warm-up.
const BOUND: Duration = Duration::from_secs(30);
/// The warm-up's simulated minute.
const WINDOW_MS: TimeMs = 1000;
const FIVE_MINUTES: TimeMs = 5 * 60_000;

fn client(fake: &FakeBinanceRest, window_ms: TimeMs, timeout: Duration) -> RestClient {
    let budget = BudgetParams {
        weight_limit: 2400,
        share: 0.8,
        window_ms,
    };
    let mut options = RestOptions::new(&fake.url, timeout, budget);
    options.retry = RetryPolicy {
        max_attempts: 4,
        backoff_initial: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
    };
    RestClient::new(options).unwrap()
}

fn sym(name: &str) -> Symbol {
    name.parse().unwrap()
}

fn hits_after(hits: &[Hit], at: TimeMs) -> Vec<&Hit> {
    hits.iter().filter(|h| h.at > at).collect()
}

/// Native signal bars first, by close time; then the rest by the time it became known, open
/// interest before the bar that closes with it.
fn check_engine_order(events: &[SymbolEvent]) -> Result<(), String> {
    let is_signal = |e: &SymbolEvent| matches!(e.event, MarketEvent::Candle { interval, .. } if Interval::SIGNAL.contains(&interval));
    let split = events
        .iter()
        .position(|e| !is_signal(e))
        .unwrap_or(events.len());
    let (signal, heat) = events.split_at(split);
    if let Some(e) = heat.iter().find(|e| is_signal(e)) {
        return Err(format!("signal bar after the heat events: {e:?}"));
    }
    let rank = |e: &SymbolEvent| u8::from(matches!(e.event, MarketEvent::Candle { .. }));
    for (part, ranked) in [(signal, false), (heat, true)] {
        for w in part.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            let key = |e: &SymbolEvent| (e.event.known_at(), if ranked { rank(e) } else { 0 });
            if key(a) > key(b) {
                return Err(format!("out of order: {a:?} before {b:?}"));
            }
        }
    }
    Ok(())
}

fn count(events: &[SymbolEvent], want: impl Fn(&MarketEvent) -> bool) -> usize {
    events.iter().filter(|e| want(&e.event)).count()
}

fn bars(events: &[SymbolEvent], interval: Interval) -> usize {
    count(
        events,
        |e| matches!(e, MarketEvent::Candle { interval: i, .. } if *i == interval),
    )
}

#[tokio::test]
async fn warm_up_of_600_pairs_never_passes_the_weight_budget() {
    let fake = FakeBinanceRest::start(FakeConfig {
        window_ms: WINDOW_MS,
        ..FakeConfig::binance(600)
    });
    let client = client(&fake, WINDOW_MS, Duration::from_secs(10));
    let contracts = discover(&client, &SymbolFilter::default()).await.unwrap();
    assert_eq!(contracts.len(), 600);
    let plan = WarmupPlan {
        signal_bars: 250,
        heat_days: 3,
    };
    let (tx, mut rx) = mpsc::channel::<Batch>(16);
    let receive = async {
        let mut problems = Vec::new();
        let mut batches = 0;
        while let Some(events) = rx.recv().await {
            batches += 1;
            let one_pair = events.iter().all(|e| e.symbol == events[0].symbol);
            let counts = (bars(&events, Interval::H4), bars(&events, Interval::M5));
            let oi = count(&events, |e| matches!(e, MarketEvent::OpenInterest(_)));
            if !one_pair || counts != (250, 864) || oi != 864 {
                problems.push(format!("{}: {counts:?} oi {oi}", events[0].symbol));
            }
            problems.extend(check_engine_order(&events).err());
        }
        (batches, problems)
    };
    let started = Instant::now();
    let warm = warm_all(&client, &contracts, &plan, tx, Progress::DEFAULT);
    let both = async { tokio::join!(warm, receive) };
    let (outcomes, (batches, problems)) = timeout(Duration::from_secs(300), both)
        .await
        .expect("the warm-up is bounded");
    let wall = started.elapsed();
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.is_ready()).collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(batches, 600);
    assert!(problems.is_empty(), "{problems:#?}");
    let hits = fake.hits();
    let refused: Vec<_> = hits.iter().filter(|h| h.status != 200).collect();
    assert!(refused.is_empty(), "{refused:?}");
    let (peak, data_peak) = (fake.peak_weight(), fake.peak_futures_data());
    assert!(
        peak <= 1920,
        "peak weight {peak} per window passes our share of 2400"
    );
    assert!(
        data_peak <= 800,
        "peak futures/data count {data_peak} passes our share of 1000"
    );
    let weight: u32 = hits.iter().map(|h| h.weight).sum();
    println!(
        "600 pairs warmed in {:.1} s ({} requests, weight {weight}); peak weight {peak} per \
         {WINDOW_MS} ms window (share 1920 of 2400); peak futures/data {data_peak} per 5 windows \
         (share 800 of 1000)",
        wall.as_secs_f64(),
        hits.len(),
    );
}

#[tokio::test]
async fn a_429_pauses_every_request_for_retry_after_then_all_continue() {
    let fake = FakeBinanceRest::start(FakeConfig::binance(3));
    let client = client(&fake, 60_000, Duration::from_secs(5));
    fake.inject(
        Some("/fapi/v1/klines"),
        Fault::TooMany {
            retry_after_secs: 1,
        },
        1,
    );
    let (s0, s1) = (sym("SYN000USDT"), sym("SYN001USDT"));
    let later = |ms| tokio::time::sleep(Duration::from_millis(ms));
    let calls = async {
        tokio::join!(client.klines(&s0, Interval::H4, None, None, 10), async {
            later(200).await;
            client.open_interest(&s1).await
        })
    };
    let (bars, oi) = timeout(BOUND, calls).await.unwrap();
    assert_eq!(bars.unwrap().len(), 9, "the forming bar is left out");
    assert!(oi.is_ok());
    let hits = fake.hits();
    let pause = hits.iter().find(|h| h.status == 429).expect("a 429");
    let after = hits_after(&hits, pause.at);
    assert_eq!(after.len(), 2, "{hits:#?}");
    assert!(
        after
            .iter()
            .all(|h| h.status == 200 && h.at >= pause.at + 1000),
        "{hits:#?}"
    );
}

#[tokio::test]
async fn a_418_stops_every_request_until_the_ban_expires() {
    let fake = FakeBinanceRest::start(FakeConfig::binance(3));
    let client = client(&fake, 60_000, Duration::from_secs(5));
    fake.inject(
        Some("/fapi/v1/klines"),
        Fault::Banned {
            retry_after_secs: 2,
        },
        1,
    );
    let (s0, s1) = (sym("SYN000USDT"), sym("SYN001USDT"));
    let later = |ms| tokio::time::sleep(Duration::from_millis(ms));
    let calls = async {
        tokio::join!(
            client.klines(&s0, Interval::D1, None, None, 5),
            async {
                later(200).await;
                client.open_interest(&s1).await
            },
            async {
                later(400).await;
                client.exchange_info().await
            },
        )
    };
    let (a, b, c) = timeout(BOUND, calls).await.unwrap();
    assert!(a.is_ok() && b.is_ok() && c.is_ok(), "{a:?} {b:?} {c:?}");
    let hits = fake.hits();
    let bans: Vec<_> = hits.iter().filter(|h| h.status == 418).collect();
    assert_eq!(bans.len(), 1, "a request arrived during the ban: {hits:#?}");
    let after = hits_after(&hits, bans[0].at);
    assert_eq!(after.len(), 3, "{hits:#?}");
    assert!(after.iter().all(|h| h.at >= bans[0].at + 2000), "{hits:#?}");
}

#[tokio::test]
async fn a_ban_past_the_wait_bound_fails_fast_and_sends_nothing() {
    let fake = FakeBinanceRest::start(FakeConfig::binance(1));
    let mut options = RestOptions::new(
        &fake.url,
        Duration::from_secs(5),
        BudgetParams::per_minute(2400, 0.8),
    );
    options.max_wait = Duration::from_secs(1);
    let client = RestClient::new(options).unwrap();
    fake.inject(
        None,
        Fault::Banned {
            retry_after_secs: 600,
        },
        1,
    );
    let s0 = sym("SYN000USDT");
    let first = timeout(BOUND, client.open_interest(&s0))
        .await
        .unwrap()
        .unwrap_err();
    assert!(first.is_banned() && first.is_retriable(), "{first}");
    assert_eq!(
        first.api().map(|a| a.code),
        Some(-1003),
        "Binance's body is kept: {first}"
    );
    let second = timeout(BOUND, client.klines(&s0, Interval::H4, None, None, 5))
        .await
        .unwrap();
    assert!(second.unwrap_err().is_banned());
    assert_eq!(fake.hits().len(), 1, "nothing goes out during a ban");
}

#[tokio::test]
async fn server_errors_and_timeouts_are_retried_a_bounded_number_of_times() {
    let fake = FakeBinanceRest::start(FakeConfig::binance(1));
    let client = client(&fake, 60_000, Duration::from_millis(500));
    let s0 = sym("SYN000USDT");
    fake.inject(Some("/fapi/v1/openInterest"), Fault::ServerError(503), 2);
    let oi = timeout(BOUND, client.open_interest(&s0)).await.unwrap();
    assert!(oi.is_ok(), "{oi:?}");
    fake.inject(
        Some("/fapi/v1/klines"),
        Fault::Slow(Duration::from_millis(1500)),
        1,
    );
    let bars = timeout(BOUND, client.klines(&s0, Interval::H4, None, None, 3))
        .await
        .unwrap();
    assert!(bars.is_ok(), "{bars:?}");
    fake.inject(Some("/fapi/v1/fundingRate"), Fault::ServerError(500), 4);
    let err = timeout(BOUND, client.funding_rates(&s0, None, 1))
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(err, RestError::Server { status: 500, .. }) && err.is_retriable(),
        "{err}"
    );
    assert!(err.to_string().contains("code -1000"), "{err}");
    let per_path = |p: &str| fake.hits().iter().filter(|h| h.path == p).count();
    assert_eq!(per_path("/fapi/v1/openInterest"), 3);
    assert_eq!(per_path("/fapi/v1/klines"), 2);
    assert_eq!(
        per_path("/fapi/v1/fundingRate"),
        4,
        "max_attempts bounds the retries"
    );
}

#[tokio::test]
async fn binance_refusals_are_not_retried_and_carry_code_and_msg() {
    let fake = FakeBinanceRest::start(FakeConfig::binance(1));
    let client = client(&fake, 60_000, Duration::from_secs(5));
    let err = timeout(
        BOUND,
        client.klines(&sym("NOPEUSDT"), Interval::H4, None, None, 5),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert!(err.is_rejected() && !err.is_retriable(), "{err}");
    assert_eq!(
        err.to_string(),
        "/fapi/v1/klines: Binance refused the request (HTTP 400): code -1121 Invalid symbol."
    );
    assert_eq!(fake.hits().len(), 1);
}

#[tokio::test]
async fn discovery_picks_up_a_listing_and_drops_a_delisting() {
    let fake = FakeBinanceRest::start(FakeConfig::binance(5));
    let client = client(&fake, 60_000, Duration::from_secs(5));
    let filter = SymbolFilter {
        include: Vec::new(),
        exclude: vec![sym("SYN004USDT")],
    };
    let names = |c: &[liqwave::source::binance::wire::Contract]| {
        c.iter()
            .map(|c| c.symbol.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let before = timeout(BOUND, discover(&client, &filter))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        names(&before),
        "SYN000USDT SYN001USDT SYN002USDT SYN003USDT"
    );
    fake.list("NEWCOINUSDT");
    fake.delist("SYN002USDT");
    let after = timeout(BOUND, discover(&client, &filter))
        .await
        .unwrap()
        .unwrap();
    let change = diff(&before, &after);
    assert_eq!(names(&change.added), "NEWCOINUSDT");
    assert_eq!(change.removed, [sym("SYN002USDT")]);
}

#[tokio::test]
async fn warmed_pairs_reach_a_real_engine_in_order_and_converged() {
    let fake = FakeBinanceRest::start(FakeConfig::binance(8));
    let text = format!("[binance]\nrest_url = \"{}\"", fake.url);
    let config = liqwave::config::from_toml_str(&text, Path::new(".")).unwrap();
    let client = RestClient::from_config(&config.binance).unwrap();
    let plan = WarmupPlan::from_config(&config);
    let up = (0..8)
        .map(|i| format!("SYN{i:03}USDT"))
        .find(|n| trend(n) == Trend::Up);
    let down = (0..8)
        .map(|i| format!("SYN{i:03}USDT"))
        .find(|n| trend(n) == Trend::Down);
    let mut engine = Engine::new(&config);
    for (name, want) in [(up.unwrap(), Regime::Bull), (down.unwrap(), Regime::Bear)] {
        let symbol = sym(&name);
        let warm = warm_pair(&client, &symbol, &plan, None, client.now());
        let events = timeout(BOUND, warm).await.unwrap().unwrap();
        check_engine_order(&events).unwrap();
        let mut alerts = Vec::new();
        for event in &events {
            engine.handle(event, &mut alerts);
        }
        let pair = engine.pair(&symbol).unwrap();
        for interval in Interval::SIGNAL {
            let bars = pair.timeframe(interval).bars();
            assert!(bars >= 250, "{name} {interval}: {bars} bars");
        }
        assert_eq!(pair.timeframe(Interval::D1).regime(), want, "{name}");
        let counters = pair.heat().map().counters();
        assert!(counters.oi_steps >= 860, "{name}: {counters:?}");
        assert!(pair.funding().is_some(), "{name}");
    }
}

#[tokio::test]
async fn backfill_returns_the_closed_bars_and_the_poll_stamps_open_interest() {
    let fake = FakeBinanceRest::start(FakeConfig::binance(3));
    let client = client(&fake, 60_000, Duration::from_secs(5));
    let (s0, s1) = (sym("SYN000USDT"), sym("SYN001USDT"));
    let close = Interval::M5.bar_open(client.now());
    let (from, to) = (close - 700 * FIVE_MINUTES, close - FIVE_MINUTES);
    let events = timeout(BOUND, backfill(&client, &s0, from, to))
        .await
        .unwrap()
        .unwrap();
    let opens: Vec<TimeMs> = events
        .iter()
        .map(|e| match e.event {
            MarketEvent::Candle {
                interval: Interval::M5,
                candle,
            } => candle.open_time,
            ref other => panic!("{other:?}"),
        })
        .collect();
    let want: Vec<TimeMs> = (from..=to).step_by(FIVE_MINUTES as usize).collect();
    assert_eq!(
        opens, want,
        "every closed 5m bar in the gap, oldest first, over two pages"
    );
    let symbols = [s0.clone(), sym("NOPEUSDT"), s1.clone()];
    let polled = timeout(BOUND, poll_open_interest(&client, &symbols, close))
        .await
        .unwrap();
    let got: Vec<(String, TimeMs)> = polled
        .iter()
        .map(|e| (e.symbol.to_string(), e.event.known_at()))
        .collect();
    let want = [(s0.to_string(), close), (s1.to_string(), close)];
    assert_eq!(
        got, want,
        "the unknown symbol is left out; the others are stamped at the close"
    );
}

#[tokio::test]
async fn a_pair_that_fails_is_skipped_and_the_others_still_warm() {
    let fake = FakeBinanceRest::start(FakeConfig::binance(3));
    let client = client(&fake, 60_000, Duration::from_secs(5));
    let mut contracts = discover(&client, &SymbolFilter::default()).await.unwrap();
    let mut delisted = contracts[0].clone();
    delisted.symbol = sym("GONEUSDT");
    contracts.insert(1, delisted);
    let plan = WarmupPlan {
        signal_bars: 30,
        heat_days: 1,
    };
    let (tx, mut rx) = mpsc::channel::<Batch>(4);
    let receive = async {
        let mut symbols = Vec::new();
        while let Some(events) = rx.recv().await {
            symbols.push(events[0].symbol.to_string());
        }
        symbols
    };
    let warm = warm_all(&client, &contracts, &plan, tx, Progress::DEFAULT);
    let (outcomes, mut sent) = timeout(BOUND, async { tokio::join!(warm, receive) })
        .await
        .unwrap();
    let shown: Vec<String> = outcomes
        .iter()
        .map(|o| match &o.outcome {
            PairOutcome::Ready { .. } => format!("{} ready", o.symbol),
            PairOutcome::Failed(e) => format!("{} failed: {}", o.symbol, e.api().unwrap().msg),
            PairOutcome::Skipped => format!("{} skipped", o.symbol),
        })
        .collect();
    let want =
        "SYN000USDT ready, GONEUSDT failed: Invalid symbol., SYN001USDT ready, SYN002USDT ready";
    assert_eq!(shown.join(", "), want);
    sent.sort();
    assert_eq!(sent, ["SYN000USDT", "SYN001USDT", "SYN002USDT"]);
}
