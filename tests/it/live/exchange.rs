//! One coherent fake exchange for the live source: the REST fake's synthetic market streamed by
//! the stream fake (same pairs, same bars) on one accelerated clock shared with the client; and
//! the test's side of a run — `run_live` feeding a real engine through a tap that records, per
//! pair, what reached the engine. Everything runs in the test's one future; nothing spawns here.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use liqwave::clock::{Clock, wall_ms};
use liqwave::config::Config;
use liqwave::engine::{Engine, Inputs, Outlet, Persist};
use liqwave::metrics::Metrics;
use liqwave::model::{Candle, Interval, MarketEvent, Symbol, TimeMs};
use liqwave::source::binance::live::{LiveOptions, run_live};
use liqwave::source::binance::ws::WsConfig;
use liqwave::source::{Batch, Resume, SourceContext, SourceHealth};
use liqwave::store::Store;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

use crate::support::coherent::Coherent;
use crate::support::fake_binance_rest::{self as rest, FakeBinanceRest};
use crate::support::fake_binance_ws::{self as ws, FakeBinance};

/// Market milliseconds per wall millisecond: a 5m bar every 250 ms, an hourly re-discovery
/// every 3 s.
pub(crate) const SPEED: u32 = 1200;
pub(crate) const M5: TimeMs = 300_000;
/// The bound on every wait of a test.
pub(crate) const BOUND: Duration = Duration::from_secs(25);

/// Both fakes on one clock, and the config pointing at them.
pub(crate) struct Exchange {
    pub(crate) rest: FakeBinanceRest,
    pub(crate) ws: FakeBinance,
    pub(crate) clock: Clock,
    pub(crate) config: Config,
}

impl Exchange {
    /// `pairs` synthetic pairs (`SYN000USDT`, …) streaming `bars` bars with `faults`.
    pub(crate) async fn start(pairs: usize, bars: u32, faults: Vec<(u32, ws::Fault)>) -> Exchange {
        // A minute before a 5m close: the first bar closes 50 ms after the start.
        let clock = Clock::accelerated(wall_ms().div_euclid(M5) * M5 + 4 * 60_000, SPEED);
        let rest = FakeBinanceRest::start(rest::FakeConfig {
            clock,
            ..rest::FakeConfig::binance(pairs)
        });
        let mut stream = ws::FakeConfig::new(0, bars);
        stream.updates_per_bar = 1;
        stream.faults = faults;
        stream.tape = Some(Arc::new(Coherent(rest.market())));
        let ws = FakeBinance::start(stream).await;
        let text = format!(
            "[binance]\nrest_url = \"{}\"\nws_url = \"{}\"\nwarmup_days = 1\n",
            rest.url,
            ws.url()
        );
        let config = liqwave::config::from_toml_str(&text, Path::new(".")).unwrap();
        Exchange {
            rest,
            ws,
            clock,
            config,
        }
    }

    /// The live source's options: this clock, stream timings for a fast test.
    pub(crate) fn options(&self) -> LiveOptions {
        let mut ws = WsConfig::new(self.ws.url(), 4);
        ws.silence_timeout = Duration::from_millis(400);
        // A bar is 250 ms of wall time here; a muted link is caught within a few.
        (ws.data_silence, ws.bar_silence) =
            (Duration::from_millis(400), Duration::from_millis(800));
        ws.backoff_base = Duration::from_millis(20);
        ws.backoff_cap = Duration::from_millis(200);
        ws.connect_timeout = Duration::from_secs(2);
        ws.rotate_after = Duration::from_secs(2);
        LiveOptions {
            clock: self.clock,
            ws,
            // Late enough (200 ms of wall time) that a loaded machine does not make live bars
            // look missed, early enough to fetch one before the next bar shows the hole.
            late: Duration::from_secs(4 * 60),
        }
    }

    pub(crate) fn bars_closed(&self) -> u32 {
        self.ws.record(|r| r.bars_closed)
    }

    /// The closed 5m bars the exchange streamed for `name`.
    pub(crate) fn truth(&self, name: &str) -> Vec<Candle> {
        self.ws
            .record(|r| r.truth.get(name).cloned().unwrap_or_default())
    }
}

/// One event as the engine received it, per pair.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seen {
    Bar(Candle),
    /// A native 4h/1d/1w bar: only warm-ups send them.
    Signal,
    Gap {
        from: TimeMs,
        to: TimeMs,
    },
    OpenInterest(TimeMs),
    Liquidation,
    /// A spot bar, by open time.
    Spot(Candle),
    Other,
}

/// What reached the engine, per pair, in order.
pub(crate) type Tapped = Arc<Mutex<BTreeMap<Symbol, Vec<Seen>>>>;

/// Runs `run_live` into a real engine (committing to `store` when given), with `body` beside
/// them; `body` gets the tap, and the run ends when it returns. Returns the body's result and
/// the engine.
pub(crate) async fn run<T>(
    exchange: &Exchange,
    resume: Resume,
    store: Option<Store>,
    body: impl AsyncFnOnce(Tapped) -> T,
) -> (T, Engine) {
    let options = exchange.options();
    let config = &exchange.config;
    let source = async |cx| {
        run_live(config, cx, options)
            .await
            .map_err(anyhow::Error::from)
    };
    run_source(config, source, resume, store, body).await
}

/// [`run`] with any source: `source` gets the context and runs until its shutdown.
pub(crate) async fn run_source<T>(
    config: &Config,
    source: impl AsyncFnOnce(SourceContext) -> anyhow::Result<()>,
    resume: Resume,
    store: Option<Store>,
    body: impl AsyncFnOnce(Tapped) -> T,
) -> (T, Engine) {
    let stop = CancellationToken::new();
    let (source_tx, mut source_rx) = mpsc::channel::<Batch>(64);
    let (engine_tx, engine_rx) = mpsc::channel::<Batch>(64);
    let tapped = Tapped::default();
    let cx = SourceContext {
        events: source_tx,
        shutdown: stop.clone(),
        health: Arc::new(SourceHealth::default()),
        metrics: Arc::new(Metrics::default()),
        resume,
    };
    let source = async {
        source(cx).await.unwrap();
    };
    let tap = async {
        while let Some(events) = source_rx.recv().await {
            {
                let mut seen = tapped.lock().unwrap();
                for e in &events {
                    seen.entry(e.symbol.clone())
                        .or_default()
                        .push(seen_as(&e.event));
                }
            }
            if engine_tx.send(events).await.is_err() {
                break;
            }
        }
        drop(engine_tx);
    };
    let persist = store.map(|store| Persist {
        store,
        sinks: Vec::new(),
        position: 0,
        behind: None,
    });
    let outlet = Outlet {
        routes: config.routes.clone(),
        console: None,
        persist,
        fresh: None,
        meter: Default::default(),
    };
    let engine = Engine::new(config).run(Inputs::market(engine_rx), outlet);
    let body = async {
        let out = body(Arc::clone(&tapped)).await;
        stop.cancel();
        out
    };
    let all = async { tokio::join!(source, tap, engine, body) };
    let ((), (), (engine, stored), out) = tokio::time::timeout(2 * BOUND, all)
        .await
        .expect("the run is bounded");
    stored.unwrap();
    (out, engine)
}

fn seen_as(event: &MarketEvent) -> Seen {
    match event {
        MarketEvent::Candle {
            interval: Interval::M5,
            candle,
        } => Seen::Bar(*candle),
        MarketEvent::Candle { .. } => Seen::Signal,
        MarketEvent::Gap { from, to } => Seen::Gap {
            from: *from,
            to: *to,
        },
        MarketEvent::OpenInterest(o) => Seen::OpenInterest(o.time),
        MarketEvent::Liquidation(_) => Seen::Liquidation,
        MarketEvent::SpotCandle { candle, .. } => Seen::Spot(*candle),
        _ => Seen::Other,
    }
}

/// Waits (polling every 10 ms) until `done` holds; panics naming `what` after [`BOUND`].
pub(crate) async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + BOUND;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(10)).await;
    }
}

pub(crate) fn sym(name: &str) -> Symbol {
    name.parse().unwrap()
}

/// A pair's 5m bars as the engine got them, in order.
pub(crate) fn bars(seen: &[Seen]) -> Vec<Candle> {
    (seen.iter())
        .filter_map(|s| match s {
            Seen::Bar(c) => Some(*c),
            _ => None,
        })
        .collect()
}

/// A pair's series against the exchange's.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Checked {
    /// Bars streamed after the pair's first bar that never reached the engine.
    pub(crate) missing: usize,
    /// Bars not after the one before.
    pub(crate) duplicate: usize,
    /// Jumps in the series with no `Gap` since the bar before.
    pub(crate) silent_holes: usize,
    pub(crate) gaps: usize,
}

/// Checks what reached the engine for a pair against the exchange's bars; every bar must equal
/// the exchange's, and every `Gap` must be followed by exactly its bars.
pub(crate) fn check(name: &str, seen: &[Seen], truth: &[Candle]) -> Checked {
    let series = bars(seen);
    let mut checked = Checked {
        duplicate: (series.windows(2))
            .filter(|w| w[1].open_time <= w[0].open_time)
            .count(),
        ..Checked::default()
    };
    let first = series.first().map_or(TimeMs::MAX, |c| c.open_time);
    let got: BTreeMap<TimeMs, &Candle> = series.iter().map(|c| (c.open_time, c)).collect();
    for want in truth.iter().filter(|c| c.open_time >= first) {
        match got.get(&want.open_time) {
            Some(c) => assert_eq!(*c, want, "{name} bar {} differs", want.open_time),
            None => checked.missing += 1,
        }
    }
    let (mut last, mut announced) = (None, false);
    for (i, s) in seen.iter().enumerate() {
        match *s {
            Seen::Gap { from, to } => {
                checked.gaps += 1;
                announced = true;
                let after: Vec<TimeMs> = bars(&seen[i + 1..]).iter().map(|c| c.open_time).collect();
                let want: Vec<TimeMs> = (from..=to).step_by(M5 as usize).collect();
                assert!(
                    after.starts_with(&want),
                    "{name}: gap {from}..{to} without its bars"
                );
            }
            Seen::Bar(c) => {
                let jump = last.is_some_and(|l| c.open_time > l + M5);
                checked.silent_holes += usize::from(jump && !announced);
                (last, announced) = (Some(c.open_time), false);
            }
            _ => {}
        }
    }
    checked
}
