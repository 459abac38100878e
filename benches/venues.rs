//! Three venues live at once (DESIGN.md §10's row for issue 20): Binance, Bybit and OKX, 200
//! pairs each (`LIQWAVE_VENUES_PAIRS`), every source warmed over REST from its fake and then
//! streaming into one engine through `run_venues`, as `liqwave run` wires them. The fakes run on
//! their own OS thread and runtime; the clock runs 10× fast so the warm-ups (paced by each
//! venue's documented limits, in market time) take seconds, and the fakes' update counts are set
//! so that the message rate per pair is about the real one (a kline update per pair every 250 ms
//! on Binance and Bybit, a mark array a second): only the 5m bars come 10× as often, which makes
//! this a heavier load than real. Measured over `LIQWAVE_VENUES_SECS` (60) of wall time once
//! every pair of every venue streams: events per second into the engine, the client's CPU (the
//! process minus the fakes' thread) and the process's RSS (fakes included: an upper bound).
//! Run: `cargo bench --bench venues`.

#[path = "../tests/it/support/coherent.rs"]
mod coherent;
#[allow(dead_code, unused_imports)]
#[path = "../tests/it/support/fake_binance_rest.rs"]
mod fake_binance_rest;
#[allow(dead_code)]
#[path = "../tests/it/support/fake_binance_ws.rs"]
mod fake_binance_ws;
#[allow(dead_code)]
#[path = "../tests/it/support/fake_bybit.rs"]
mod fake_bybit;
#[allow(dead_code)]
#[path = "../tests/it/support/fake_okx.rs"]
mod fake_okx;
#[path = "report/sys.rs"]
#[allow(dead_code)]
mod sys;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use liqwave::clock::{Clock, wall_ms};
use liqwave::engine::{Engine, Inputs, Outlet};
use liqwave::metrics::Metrics;
use liqwave::model::{Interval, MarketEvent, Symbol, TimeMs, Venue};
use liqwave::source::binance::live::LiveOptions;
use liqwave::source::binance::ws::WsConfig;
use liqwave::source::bybit::BybitOptions;
use liqwave::source::okx::OkxOptions;
use liqwave::source::venues::{VenueOptions, run_venues};
use liqwave::source::{Batch, Resume, SourceContext, SourceHealth};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use coherent::Coherent;
use fake_binance_rest::FakeBinanceRest;
use fake_binance_ws::FakeBinance;
use fake_bybit::FakeBybit;
use fake_okx::{FakeOkx, FakeOkxConfig};
use sys::{hwm, process_cpu, rss, task_cpu, thread_id};

const SPEED: u32 = 10;
const M5: TimeMs = 300_000;
/// Wall time a 5m bar takes at [`SPEED`].
const BAR_WALL: Duration = Duration::from_secs(30);
/// Kline updates per bar: one per 250 ms of market time... at 10×, one per 25 ms of wall time
/// would be 10× the real rate, so one per 250 ms of wall time: 120 per 30 s bar.
const UPDATES_PER_BAR: u32 = 120;
/// Every warm-up must be done and every pair streaming within this.
const WARM_BOUND: Duration = Duration::from_secs(600);

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The three fakes' endpoints, and the id of the thread they run on.
struct Fakes {
    binance_rest: String,
    binance_ws: String,
    bybit: (String, String),
    okx: (String, String),
    tid: Option<u32>,
}

/// Starts every fake on one thread of its own; they serve until `stop` fires.
fn start_fakes(pairs: usize, clock: Clock, bars: u32, stop: oneshot::Receiver<()>) -> Fakes {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("fake-venues".into())
        .spawn(move || {
            runtime().block_on(async move {
                let rest = FakeBinanceRest::start(fake_binance_rest::FakeConfig {
                    clock,
                    ..fake_binance_rest::FakeConfig::binance(pairs)
                });
                let mut ws = fake_binance_ws::FakeConfig::new(0, bars);
                ws.tape = Some(Arc::new(Coherent(rest.market())));
                ws.updates_per_bar = UPDATES_PER_BAR;
                ws.mark_every = Some(Duration::from_secs(1));
                ws.ping_every = Duration::from_secs(60);
                let ws = FakeBinance::start(ws).await;
                let names: Vec<String> = (0..pairs).map(|i| format!("SYN{i:03}USDT")).collect();
                let bybit = FakeBybit::start(fake_bybit::FakeConfig {
                    symbols: names,
                    clock,
                    updates_per_bar: UPDATES_PER_BAR,
                    faults: Vec::new(),
                    stall_for: Duration::from_secs(1),
                    instruments_page: 500,
                    rate_limit_first: 0,
                    ban_first: 0,
                })
                .await;
                let okx = FakeOkx::start(FakeOkxConfig {
                    insts: (0..pairs).map(|i| format!("SYN{i:03}-USDT-SWAP")).collect(),
                    clock,
                    bars: i64::from(bars),
                    faults: Vec::new(),
                    rate_limit_first: 0,
                    mute: false,
                    unlisted: 0,
                })
                .await;
                ws.open_market();
                let fakes = Fakes {
                    binance_rest: rest.url.clone(),
                    binance_ws: ws.url(),
                    bybit: (bybit.rest_url.clone(), bybit.ws_url.clone()),
                    okx: (okx.rest_url(), okx.ws_url()),
                    tid: thread_id(),
                };
                tx.send(fakes).expect("the bench waits for the fakes");
                let _stopped = stop.await;
                drop((rest, ws, bybit, okx));
            })
        })
        .expect("the fakes' thread");
    rx.recv().expect("the fakes start")
}

/// Events into the engine, per venue, and the pairs that streamed a live bar.
#[derive(Default)]
struct Tally {
    events: BTreeMap<Venue, u64>,
    live: BTreeSet<Symbol>,
}

fn main() {
    liqwave::telemetry::init("warn", liqwave::config::LogFormat::Pretty);
    let pairs = env("LIQWAVE_VENUES_PAIRS", 200) as usize;
    let window = Duration::from_secs(env("LIQWAVE_VENUES_SECS", 60));
    // A minute before a 5m close.
    let clock = Clock::accelerated(wall_ms().div_euclid(M5) * M5 + 4 * 60_000, SPEED);
    let bars = ((WARM_BOUND + window).as_secs() / BAR_WALL.as_secs() + 4) as u32;
    let (stop_fakes, stopped) = oneshot::channel();
    let fakes = start_fakes(pairs, clock, bars, stopped);
    let text = format!(
        "[binance]\nrest_url = \"{}\"\nws_url = \"{}\"\nwarmup_days = 1\n",
        fakes.binance_rest, fakes.binance_ws
    );
    let config = liqwave::config::from_toml_str(&text, Path::new(".")).expect("config");
    let mut binance = LiveOptions::new(&config.binance);
    binance.clock = clock;
    binance.ws = WsConfig::new(&fakes.binance_ws, 200);
    binance.late = Duration::from_secs(240);
    let mut bybit = BybitOptions::new(&fakes.bybit.0, &fakes.bybit.1);
    (bybit.clock, bybit.late) = (clock, Duration::from_secs(240));
    let mut okx = OkxOptions::new(&fakes.okx.0, &fakes.okx.1);
    (okx.clock, okx.late) = (clock, Duration::from_secs(240));
    let options = VenueOptions {
        binance,
        bybit: Some(bybit),
        okx: Some(okx),
    };
    let first_live = Interval::M5.bar_open(clock.now()) + M5;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let measured = runtime().block_on(async {
        let stop = CancellationToken::new();
        let (source_tx, mut source_rx) = mpsc::channel::<Batch>(256);
        let (engine_tx, engine_rx) = mpsc::channel::<Batch>(256);
        let cx = SourceContext {
            events: source_tx,
            shutdown: stop.clone(),
            health: Arc::new(SourceHealth::default()),
            metrics: Arc::new(Metrics::default()),
            resume: Resume::new(),
        };
        let source = async {
            run_venues(&config, cx, options)
                .await
                .expect("the sources run")
        };
        let tap = async {
            while let Some(events) = source_rx.recv().await {
                {
                    let mut t = tally.lock().unwrap();
                    for e in &events {
                        *t.events.entry(e.symbol.venue()).or_default() += 1;
                        if let MarketEvent::Candle {
                            interval: Interval::M5,
                            candle,
                        } = &e.event
                            && candle.open_time >= first_live
                        {
                            t.live.insert(e.symbol.clone());
                        }
                    }
                }
                if engine_tx.send(events).await.is_err() {
                    break;
                }
            }
        };
        let outlet = Outlet {
            routes: config.routes.clone(),
            console: None,
            persist: None,
            fresh: None,
            meter: Default::default(),
        };
        let engine = Engine::new(&config).run(Inputs::market(engine_rx), outlet);
        let body = async {
            let bound = Instant::now() + WARM_BOUND;
            let mut said = Instant::now();
            while tally.lock().unwrap().live.len() < 3 * pairs {
                if Instant::now() > bound {
                    stop.cancel();
                    return None;
                }
                if said.elapsed() > Duration::from_secs(15) {
                    said = Instant::now();
                    let t = tally.lock().unwrap();
                    let live = |v: Venue| t.live.iter().filter(|s| s.venue() == v).count();
                    let (b, y, o) = (live(Venue::Binance), live(Venue::Bybit), live(Venue::Okx));
                    println!(
                        "{:>4.0} s: streaming pairs binance {b}, bybit {y}, okx {o}; events {:?}",
                        started.elapsed().as_secs_f64(),
                        t.events
                    );
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let warm = started.elapsed();
            let cpu = || {
                let fake = fakes.tid.and_then(task_cpu).unwrap_or_default();
                process_cpu().unwrap_or_default().saturating_sub(fake)
            };
            let (cpu0, t0) = (cpu(), Instant::now());
            let events0: u64 = tally.lock().unwrap().events.values().sum();
            tokio::time::sleep(window).await;
            let (cpu1, wall) = (cpu(), t0.elapsed());
            let t = tally.lock().unwrap();
            let events: u64 = t.events.values().sum::<u64>() - events0;
            let per_venue = format!("{:?}", t.events);
            drop(t);
            stop.cancel();
            Some((
                warm,
                (cpu1 - cpu0).as_secs_f64() / wall.as_secs_f64(),
                events as f64 / wall.as_secs_f64(),
                per_venue,
            ))
        };
        // The run ends with the measurement: the pipeline is dropped, not drained.
        let pipeline = async {
            let ((), (), (_engine, committed)) = tokio::join!(source, tap, engine);
            committed.expect("nothing to commit without a store");
        };
        let out = tokio::select! {
            out = body => out,
            () = pipeline => None,
        };
        out
    });
    let _stopped = stop_fakes.send(());
    let mib = |b: Option<u64>| {
        b.map_or("n/a".to_owned(), |b| {
            format!("{:.0} MiB", b as f64 / (1 << 20) as f64)
        })
    };
    let row = match measured {
        Some((warm, cpu, rate, per_venue)) => format!(
            "| 3 venues × {pairs} pairs live (fakes, ≈ real message rate, 5m bars 10× as often) | \
             warm in {:.0} s; then {rate:.0} events/s into the engine; client CPU {:.1} % of a core; \
             RSS {} (peak {}, fakes included); events by venue over the run {per_venue} | \
             CPU < 25 % of a core |",
            warm.as_secs_f64(),
            cpu * 100.0,
            mib(rss()),
            mib(hwm()),
        ),
        None => format!(
            "| 3 venues × {pairs} pairs live | not measured: not every pair streamed within {} s | |",
            WARM_BOUND.as_secs()
        ),
    };
    println!("{row}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/perf-venues.md");
    if let Err(e) = std::fs::write(&out, format!("{row}\n")) {
        println!("could not write {}: {e}", out.display());
    }
}
