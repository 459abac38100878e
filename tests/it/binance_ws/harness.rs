//! The test's side of a running client: the streams and the test body side by side in one
//! future (no spawn), what the client handed on, and the series rebuilt against the fake's record.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use liqwave::model::{Candle, MarketEvent, Symbol, TimeMs};
use liqwave::source::binance::ws::{Counters, StreamEvent, WsConfig, run_streams};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;

use crate::support::fake_binance_ws::{BAR_MS, FakeBinance, START, symbol};

/// The bound on every test.
pub(crate) const BOUND: Duration = Duration::from_secs(20);

pub(crate) fn client_config(fake: &FakeBinance, per_connection: usize) -> WsConfig {
    let mut config = WsConfig::new(fake.url(), per_connection);
    config.silence_timeout = Duration::from_millis(400);
    config.backoff_base = Duration::from_millis(20);
    config.backoff_cap = Duration::from_millis(200);
    config.connect_timeout = Duration::from_secs(2);
    config
}

pub(crate) fn symbols(range: std::ops::Range<usize>) -> Vec<Symbol> {
    range.map(|i| symbol(i).parse().unwrap()).collect()
}

pub(crate) fn kline(i: usize) -> String {
    format!("{}@kline_5m", symbol(i).to_ascii_lowercase())
}

pub(crate) fn open_of(k: i64) -> TimeMs {
    START + k * BAR_MS
}

/// What the client handed on.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    /// Closed bars received live, per pair, in arrival order (which must be open-time order).
    pub(crate) bars: BTreeMap<Symbol, Vec<Candle>>,
    pub(crate) reconnects: Vec<(Vec<Symbol>, TimeMs)>,
    pub(crate) marks: usize,
    pub(crate) liquidations: usize,
}

impl Collected {
    pub(crate) fn add(&mut self, event: StreamEvent) {
        match event {
            StreamEvent::Events(events) => {
                for e in events {
                    match e.event {
                        MarketEvent::Candle { candle, .. } => {
                            let bars = self.bars.entry(e.symbol).or_default();
                            if let Some(last) = bars.last() {
                                assert!(
                                    candle.open_time > last.open_time,
                                    "the streams hand on bars in order, each once"
                                );
                            }
                            bars.push(candle);
                        }
                        MarketEvent::Mark(_) => self.marks += 1,
                        MarketEvent::Liquidation(_) => self.liquidations += 1,
                        _ => {}
                    }
                }
            }
            StreamEvent::Reconnected {
                symbols,
                down_since,
            } => self.reconnects.push((symbols, down_since)),
        }
    }

    /// The holes between the bars received, per pair: bar open times `from..=to`. The streams
    /// declare none (the live source's lanes find them); a test finds them as the lanes do.
    pub(crate) fn gaps(&self) -> Vec<(Symbol, TimeMs, TimeMs)> {
        let mut gaps = Vec::new();
        for (symbol, bars) in &self.bars {
            for pair in bars.windows(2) {
                let (last, next) = (pair[0].open_time, pair[1].open_time);
                if next - last > BAR_MS {
                    gaps.push((symbol.clone(), last + BAR_MS, next - BAR_MS));
                }
            }
        }
        gaps
    }

    pub(crate) fn count(&self, i: usize) -> usize {
        self.bars
            .get(&symbol(i).parse().unwrap())
            .map_or(0, Vec::len)
    }

    pub(crate) fn has_bar(&self, i: usize, k: i64) -> bool {
        let s: Symbol = symbol(i).parse().unwrap();
        self.bars
            .get(&s)
            .is_some_and(|b| b.iter().any(|c| c.open_time == open_of(k)))
    }
}

/// The test's side of a running client.
#[derive(Debug)]
pub(crate) struct Harness {
    events: mpsc::Receiver<StreamEvent>,
    pub(crate) symbols: watch::Sender<Vec<Symbol>>,
    stop: CancellationToken,
    pub(crate) got: Collected,
}

impl Harness {
    /// Collects events until `done` holds; panics (naming `what`) after [`BOUND`].
    pub(crate) async fn until(&mut self, what: &str, done: impl Fn(&Collected) -> bool) {
        let deadline = Instant::now() + BOUND;
        while !done(&self.got) {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) => self.got.add(event),
                Ok(None) => panic!("the streams ended before {what}"),
                Err(_) => panic!("timed out waiting for {what}: {:?}", self.got.bars.len()),
            }
        }
    }

    /// Waits (collecting events) until `done` holds for the fake.
    pub(crate) async fn until_fake(&mut self, what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + BOUND;
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            if let Ok(Some(event)) = timeout(Duration::from_millis(10), self.events.recv()).await {
                self.got.add(event);
            }
        }
    }

    pub(crate) fn finish(self) -> Collected {
        self.stop.cancel();
        self.got
    }
}

/// Runs `run_streams` and `body` side by side (no spawn), bounded; returns the body's result.
pub(crate) async fn with_client<F, Fut, T>(
    config: WsConfig,
    counters: Arc<Counters>,
    initial: Vec<Symbol>,
    body: F,
) -> T
where
    F: FnOnce(Harness) -> Fut,
    Fut: Future<Output = T>,
{
    let (symbols, symbols_rx) = watch::channel(initial);
    let (tx, events) = mpsc::channel(1024);
    let stop = CancellationToken::new();
    let harness = Harness {
        events,
        symbols,
        stop: stop.clone(),
        got: Collected::default(),
    };
    let streams = run_streams(config, counters, symbols_rx, tx, stop);
    let both = async { tokio::join!(streams, body(harness)).1 };
    timeout(BOUND, both).await.expect("the test is bounded")
}

/// Live bars plus the back-filled gaps against the exchange's record: (missing, duplicate,
/// back-filled) closed bars over all pairs. Values must match too.
pub(crate) fn reconstruct(
    fake: &FakeBinance,
    got: &Collected,
    pairs: usize,
) -> (usize, usize, usize) {
    let (mut missing, mut duplicate, mut backfilled) = (0, 0, 0);
    for i in 0..pairs {
        let name = symbol(i);
        let s: Symbol = name.parse().unwrap();
        let mut series: Vec<Candle> = got.bars.get(&s).cloned().unwrap_or_default();
        for (_, from, to) in got.gaps().iter().filter(|(g, _, _)| *g == s) {
            let filled = fake.backfill(&name, *from, *to);
            assert_eq!(
                filled.len() as i64,
                (to - from) / BAR_MS + 1,
                "{name} gap in the record"
            );
            backfilled += filled.len();
            series.extend(filled);
        }
        series.sort_by_key(|c| c.open_time);
        let truth = fake.record(|r| r.truth[&name].clone());
        let seen: BTreeSet<TimeMs> = series.iter().map(|c| c.open_time).collect();
        duplicate += series.len() - seen.len();
        missing += truth
            .iter()
            .filter(|c| !seen.contains(&c.open_time))
            .count();
        for c in &series {
            let want = truth.iter().find(|t| t.open_time == c.open_time);
            assert_eq!(
                Some(c),
                want,
                "{name} bar {} differs from the exchange's",
                c.open_time
            );
        }
    }
    (missing, duplicate, backfilled)
}

/// Closed bars the gaps ask to back-fill.
pub(crate) fn backfilled(got: &Collected) -> usize {
    got.gaps()
        .iter()
        .map(|(_, from, to)| ((to - from) / BAR_MS + 1) as usize)
        .sum()
}
