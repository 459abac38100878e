//! Live ingest at 10× Binance's real message rate for 600 pairs (DESIGN.md §10). The fake
//! market-stream server runs on its own OS thread with its own current-thread runtime and plays
//! the REST fake's market (the one the pairs were warmed from, so prices and bars continue them)
//! on a clock 10× fast: a kline update per stream every 25 ms (Binance: about every 250 ms while
//! trades happen), a mark-price array of all pairs every 100 ms (Binance: every second), a 5m bar
//! closing every 30 s. The client — `run_streams` feeding the 600 warmed pairs' engine, which
//! persists the pairs each input changed as the engine task does (or not, for comparison) — runs
//! on this thread. Measured: CPU time over wall time of this thread and of the whole process but
//! the fake's thread, and the latency from the fake writing a closed bar or a mark array to the
//! engine (and its store) being done with it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use liqwave::clock::{Clock, wall_ms};
use liqwave::engine::Engine;
use liqwave::model::{Interval, MarketEvent, Symbol};
use liqwave::source::binance::ws::{
    ALL_MARKET, Counters, FrameKind, StreamEvent, WsConfig, kline_stream, run_streams,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::coherent::Coherent;
use crate::fake_binance_rest::{self as rest, FakeBinanceRest};
use crate::fake_binance_ws::{FakeBinance, FakeConfig};
use crate::sys::{process_cpu, task_cpu, thread_cpu, thread_id};
use crate::warmup::Persister;
use crate::{Row, Verdict, runtime};

/// The rate of the judged runs, in multiples of Binance's.
pub(crate) const SPEEDUP: u32 = 10;
/// Binance's cadence per stream: a kline update about every 250 ms, the mark-price array every
/// second (research/binance-api.md §1.3–1.4).
const KLINE_EVERY: Duration = Duration::from_millis(250);
const MARK_EVERY: Duration = Duration::from_secs(1);
const BAR: Duration = Duration::from_secs(300);
/// After the market opens, before measuring: connections settle, every pair appears.
const SETTLE: Duration = Duration::from_secs(3);
/// The measured stretch: one 5m close at 10× (every 30 s), a little before and after it; at 1×,
/// about 30 mark arrays.
const WINDOW: Duration = Duration::from_secs(32);
/// How long the client may take to have every stream served.
const CONNECT_BOUND: Duration = Duration::from_secs(60);
const CPU_TARGET: f64 = 0.25;
/// p99 from the frame to the engine done with it and its commit: at 10× and at the real rate.
const P99_TARGET: Duration = Duration::from_millis(20);
const REAL_P99_TARGET: Duration = Duration::from_millis(5);

/// What the fake's thread reports when stopped: when each final kline and mark array was
/// written, by stream and time.
struct FakeSide {
    sent: BTreeMap<(String, i64), Instant>,
}

/// The fake on its own thread: its URL and thread id, when the market opened, and the switch
/// that stops it.
struct FakeThread {
    url: String,
    tid: Option<u32>,
    opened: oneshot::Receiver<Instant>,
    stop: oneshot::Sender<()>,
    handle: JoinHandle<FakeSide>,
}

/// Starts the stream fake on its thread, playing `pairs` pairs of the REST fake's market from
/// now on, `speedup` times as fast as Binance.
fn start_fake(pairs: usize, speedup: u32) -> FakeThread {
    // A REST fake of the same pairs, for its market only: the same walk (its origin is this
    // week's Monday) on a clock that starts now and runs `speedup` times as fast.
    let market = FakeBinanceRest::start(rest::FakeConfig {
        clock: Clock::accelerated(wall_ms(), speedup),
        ..rest::FakeConfig::binance(pairs)
    });
    let steps = (BAR.as_millis() / KLINE_EVERY.as_millis()) as u32;
    let bars = (SETTLE + WINDOW).as_secs_f64() / (BAR / speedup).as_secs_f64();
    let mut config = FakeConfig::new(0, bars.ceil() as u32 + 2);
    config.tape = Some(Arc::new(Coherent(market.market())));
    config.updates_per_bar = steps - 1;
    config.mark_every = Some(MARK_EVERY / speedup);
    config.ping_every = Duration::from_secs(60);
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let (opened_tx, opened) = oneshot::channel();
    let (stop, stop_rx) = oneshot::channel::<()>();
    let handle = std::thread::Builder::new()
        .name("fake-binance-ws".into())
        .spawn(move || {
            runtime().block_on(async move {
                let fake = FakeBinance::start(config).await;
                url_tx
                    .send((fake.url(), thread_id()))
                    .expect("the main thread waits for the URL");
                let bound = Instant::now() + CONNECT_BOUND;
                while fake.served().len() < pairs + ALL_MARKET.len() && Instant::now() < bound {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                // Kept until the end: the tape reads its market.
                let _market = market;
                fake.open_market();
                // The client may have given up: then it stops us too.
                let _gone = opened_tx.send(Instant::now());
                let _stopped = stop_rx.await;
                fake.record(|r| FakeSide {
                    sent: r
                        .sent_at
                        .iter()
                        .map(|(k, at)| (k.clone(), at.into_std()))
                        .collect(),
                })
            })
        })
        .expect("fake thread");
    let (url, tid) = url_rx.recv().expect("the fake's URL");
    FakeThread {
        url,
        tid,
        opened,
        stop,
        handle,
    }
}

/// A closed bar or mark array that reached the engine: its stream and time (the fake's key),
/// and when the engine was done with it.
struct Sample {
    key: (String, i64),
    entered: Instant,
    done: Instant,
}

/// The client at one moment.
#[derive(Debug, Clone, Copy)]
struct Mark {
    at: Instant,
    thread: Option<Duration>,
    /// The client thread's time waiting for a CPU.
    waited: Option<Duration>,
    /// The whole process but the fake's thread.
    process: Option<Duration>,
    messages: u64,
    open_bars: u64,
    closes: u64,
    mark_arrays: u64,
    persisted: u64,
    /// The one-minute load average of the machine.
    load: Option<f64>,
}

impl Mark {
    fn now(counters: &Counters, fake_tid: Option<u32>, persisted: u64) -> Mark {
        let fake = fake_tid.and_then(task_cpu);
        Mark {
            at: Instant::now(),
            thread: thread_cpu(),
            waited: crate::sys::thread_run_wait(),
            process: process_cpu()
                .zip(fake)
                .map(|(all, fake)| all.saturating_sub(fake)),
            messages: counters.messages.load(std::sync::atomic::Ordering::Relaxed),
            open_bars: counters.frames(FrameKind::OpenBar),
            closes: counters.frames(FrameKind::Candle),
            mark_arrays: counters.frames(FrameKind::Marks),
            persisted,
            load: crate::sys::load_average(),
        }
    }
}

/// The client's side of a run.
#[derive(Default)]
struct ClientSide {
    begin: Option<Mark>,
    end: Option<Mark>,
    samples: Vec<Sample>,
    gaps: u64,
}

/// One run: with or without the store, at some rate.
pub(crate) struct Run {
    persisting: bool,
    speedup: u32,
    begin: Mark,
    end: Mark,
    gaps: u64,
    /// Latencies (to the engine's input, to done) per kind.
    closes: Latency,
    marks: Latency,
    all: Latency,
}

#[derive(Debug, Default, Clone, Copy)]
struct Latency {
    n: usize,
    p99_in: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

impl Latency {
    fn of(pairs: &[(Duration, Duration)]) -> Latency {
        let mut entered: Vec<Duration> = pairs.iter().map(|p| p.0).collect();
        let mut done: Vec<Duration> = pairs.iter().map(|p| p.1).collect();
        entered.sort();
        done.sort();
        Latency {
            n: pairs.len(),
            p99_in: quantile(&entered, 0.99),
            p50: quantile(&done, 0.5),
            p99: quantile(&done, 0.99),
            max: done.last().copied().unwrap_or_default(),
        }
    }
}

/// The nearest-rank quantile of sorted values.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Streams every pair of `engine` into it at `speedup` times Binance's rate, persisting
/// through `persister` when given. `None` when the run never got going.
pub(crate) fn measure(
    engine: Engine,
    persister: Option<&mut Persister>,
    speedup: u32,
) -> Option<Run> {
    let symbols: Vec<Symbol> = engine.pairs().iter().map(|p| p.symbol().clone()).collect();
    let mut engine = engine;
    if persister.is_some() {
        // As `liqwave run` does: quiet mark ticks wait for their pair's next bar.
        engine.defer_quiet_ticks();
    }
    let fake_thread = start_fake(symbols.len(), speedup);
    let FakeThread {
        url,
        tid,
        opened,
        stop,
        handle,
    } = fake_thread;
    let persisting = persister.is_some();
    let client = runtime().block_on(follow(engine, persister, symbols, url, tid, opened));
    // The fake has stopped by itself if it failed; its record is wanted when it has not.
    let _gone = stop.send(());
    let fake = handle.join().expect("fake thread");
    let (mut closes, mut marks) = (Vec::new(), Vec::new());
    for s in &client.samples {
        let Some(&sent) = fake.sent.get(&s.key) else {
            continue;
        };
        let latency = (
            s.entered.saturating_duration_since(sent),
            s.done.saturating_duration_since(sent),
        );
        if s.key.0.starts_with('!') {
            marks.push(latency);
        } else {
            closes.push(latency);
        }
    }
    let all: Vec<_> = closes.iter().chain(&marks).copied().collect();
    Some(Run {
        persisting,
        speedup,
        begin: client.begin?,
        end: client.end?,
        gaps: client.gaps,
        closes: Latency::of(&closes),
        marks: Latency::of(&marks),
        all: Latency::of(&all),
    })
}

/// The client: streams for every pair into the engine, on this thread, until the window is over.
async fn follow(
    engine: Engine,
    persister: Option<&mut Persister>,
    symbols: Vec<Symbol>,
    url: String,
    fake_tid: Option<u32>,
    opened: oneshot::Receiver<Instant>,
) -> ClientSide {
    let counters = Arc::new(Counters::default());
    let (_symbols_tx, symbols_rx) = watch::channel(symbols);
    let (out_tx, out_rx) = mpsc::channel(1024);
    let stop = CancellationToken::new();
    // The daemon's stream settings (200 streams per connection).
    let ws = WsConfig::new(url, 200);
    let streams = run_streams(ws, counters.clone(), symbols_rx, out_tx, stop.clone());
    let client = Client {
        engine,
        persister,
        counters: &counters,
        fake_tid,
    };
    let consume = client.consume(out_rx, opened, stop);
    let ((), side) = tokio::join!(streams, consume);
    side
}

struct Client<'a> {
    engine: Engine,
    persister: Option<&'a mut Persister>,
    counters: &'a Counters,
    fake_tid: Option<u32>,
}

impl Client<'_> {
    fn mark(&self) -> Mark {
        let persisted = self.persister.as_ref().map_or(0, |p| p.pairs);
        Mark::now(self.counters, self.fake_tid, persisted)
    }

    /// Feeds the engine and measures from [`SETTLE`] after the market opened for [`WINDOW`];
    /// then stops the streams and lets go of what is still queued.
    async fn consume(
        mut self,
        mut rx: mpsc::Receiver<StreamEvent>,
        mut opened: oneshot::Receiver<Instant>,
        stop: CancellationToken,
    ) -> ClientSide {
        let mut side = ClientSide::default();
        let mut raised = Vec::new();
        let mut last_open = BTreeMap::new();
        let mut open_at: Option<Instant> = None;
        let mut waiting = true;
        let give_up = Instant::now() + CONNECT_BOUND + Duration::from_secs(5);
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            let event = tokio::select! {
                event = rx.recv() => match event {
                    Some(event) => Some(event),
                    None => break,
                },
                at = &mut opened, if waiting => {
                    waiting = false;
                    // Without the fake there is nothing to measure.
                    let Ok(at) = at else { break };
                    open_at = Some(at);
                    None
                }
                _ = tick.tick() => None,
            };
            let now = Instant::now();
            match open_at {
                Some(open) if side.begin.is_none() && now >= open + SETTLE => {
                    side.begin = Some(self.mark());
                }
                Some(open) if now >= open + SETTLE + WINDOW => {
                    side.end = Some(self.mark());
                    break;
                }
                None if now >= give_up => break,
                _ => {}
            }
            let measuring = side.begin.is_some();
            match event {
                Some(StreamEvent::Events(first)) => {
                    // As the engine task does: inputs already waiting join this one (up to the
                    // same bound), are stepped as one batch and committed once.
                    let mut inputs = vec![first];
                    let mut queued = inputs[0].len();
                    while queued < liqwave::engine::COALESCE_EVENTS {
                        match rx.try_recv() {
                            Ok(StreamEvent::Events(more)) => {
                                queued += more.len();
                                inputs.push(more);
                            }
                            Ok(StreamEvent::Reconnected { .. }) => {}
                            Err(_) => break,
                        }
                    }
                    let entered = Instant::now();
                    let mut keys = Vec::with_capacity(inputs.len());
                    let mut events = Vec::with_capacity(queued);
                    for input in inputs {
                        keys.push(input.first().and_then(|e| match &e.event {
                            MarketEvent::Candle { candle, .. } => {
                                Some((kline_stream(&e.symbol), candle.open_time))
                            }
                            MarketEvent::Mark(m) => Some((ALL_MARKET[0].to_owned(), m.time)),
                            _ => None,
                        }));
                        events.extend(input);
                    }
                    for e in &events {
                        // A hole: this pair's bar is more than one bar after its last one.
                        if let MarketEvent::Candle { candle, .. } = &e.event {
                            let last = last_open.insert(e.symbol.clone(), candle.open_time);
                            let hole = last
                                .is_some_and(|t| candle.open_time - t > Interval::M5.duration_ms());
                            side.gaps += u64::from(hole && measuring);
                        }
                    }
                    self.engine.handle_batch(&events, &|_| false, &mut raised);
                    raised.clear();
                    if let Some(p) = self.persister.as_deref_mut() {
                        p.commit(&mut self.engine, events.len());
                    }
                    let done = Instant::now();
                    for key in keys.into_iter().flatten().filter(|_| measuring) {
                        side.samples.push(Sample { key, entered, done });
                    }
                }
                Some(StreamEvent::Reconnected { .. }) | None => {}
            }
        }
        // Dropping the receiver ends the streams even while they wait to hand on more.
        stop.cancel();
        side
    }
}

impl Run {
    fn seconds(&self) -> f64 {
        self.end.at.duration_since(self.begin.at).as_secs_f64()
    }

    fn per_s(&self, of: impl Fn(&Mark) -> u64) -> f64 {
        of(&self.end).saturating_sub(of(&self.begin)) as f64 / self.seconds()
    }

    fn share(&self, of: impl Fn(&Mark) -> Option<Duration>) -> Option<f64> {
        let (b, e) = (of(&self.begin)?, of(&self.end)?);
        Some(e.saturating_sub(b).as_secs_f64() / self.seconds())
    }
}

/// The messages per second the fake offers at `speedup` times Binance's rate.
fn offered(pairs: usize, speedup: u32) -> f64 {
    f64::from(speedup) * (pairs as f64 / KLINE_EVERY.as_secs_f64() + 1.0 / MARK_EVERY.as_secs_f64())
}

fn pct(x: Option<f64>) -> String {
    x.map_or("n/a".to_owned(), |x| format!("{:.0} %", 100.0 * x))
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// The row: the daemon's path at 10× (`daemon`, persisting) judged; beside it the bare ingest at
/// 10× (`bare`) and the daemon's path at Binance's real rate (`real`).
pub(crate) fn row(
    pairs: usize,
    daemon: Option<&Run>,
    bare: Option<&Run>,
    real: Option<&Run>,
) -> Row {
    let what = "live ingest, 600 warmed pairs, at 10× and at Binance's real rate (fake WS, \
                `run_streams` → engine)";
    let target = "as the daemon runs it: p99 frame → engine done and committed ≤ 20 ms at 10×, \
                  ≤ 5 ms at Binance's real rate; CPU < 25 % of a core";
    let Some(run) = daemon.or(bare) else {
        return Row {
            what: what.into(),
            measured: "not measured: the client never had every stream served".into(),
            target: target.into(),
            verdict: Verdict::Unjudged("the run did not get going".into()),
        };
    };
    let mut parts = Vec::new();
    for r in [daemon, bare, real].into_iter().flatten() {
        let how = match (r.persisting, r.speedup) {
            (true, SPEEDUP) => {
                "**as the daemon runs it** (each input's changed pairs persisted to sled)"
            }
            (false, _) => "without persisting",
            (true, _) => "**as the daemon runs it at Binance's real rate**",
        };
        parts.push(format!("{how}: {}", describe(r, pairs)));
    }
    let measured = parts.join(". ");
    let offered = offered(pairs, run.speedup);
    let mut missed = Vec::new();
    let taken = run.per_s(|m| m.messages) / offered;
    if taken < 0.95 {
        missed.push(format!(
            "it keeps up with only {:.0} % of the messages",
            100.0 * taken
        ));
    }
    if let Some(share) = run.share(|m| m.process).filter(|&c| c >= CPU_TARGET) {
        missed.push(format!("{:.0} % of a core", 100.0 * share));
    }
    if run.all.p99 > P99_TARGET {
        missed.push(format!("p99 {} at 10×", ms(run.all.p99)));
    }
    let real_missed = real.filter(|r| r.persisting && r.all.p99 > REAL_P99_TARGET);
    if let Some(real) = real_missed {
        missed.push(format!("p99 {} at the real rate", ms(real.all.p99)));
    }
    let verdict = if daemon.is_none() || real.is_none() {
        Verdict::Unjudged("a run as the daemon runs it did not get going".into())
    } else if missed.is_empty() {
        Verdict::Met
    } else {
        let mut why = Vec::new();
        if run.persisting && bare.is_some_and(|b| b.all.p99 < run.all.p99 / 4) {
            why.push(
                "mostly the store's part: a 5m close changes all 600 pairs at once and the \
                 engine task persists each pair's whole snapshot in that input's commit (the \
                 close-burst row)"
                    .to_owned(),
            );
        }
        let base = bare.unwrap_or(run);
        if base.all.p99 > P99_TARGET {
            why.push(format!(
                "without the store p99 is still {} (closed bars {}, mark arrays {}): a 5m close \
                 brings 600 bars at once, each a heat step of several µs, while the client \
                 thread waited for a CPU {} of the time on this shared machine",
                ms(base.all.p99),
                ms(base.closes.p99),
                ms(base.marks.p99),
                pct(base.share(|m| m.waited)),
            ));
        }
        if let Some(real) = real_missed {
            why.push(format!(
                "at the real rate the p99 is the mark arrays' ({} of {}; closed bars {} of {}): \
                 a 100 KB array is parsed and applied to 600 pairs in one go",
                ms(real.marks.p99),
                real.marks.n,
                ms(real.closes.p99),
                real.closes.n,
            ));
        }
        let why = if why.is_empty() {
            String::new()
        } else {
            format!(": {}", why.join("; "))
        };
        Verdict::Missed(format!("{}{why}", missed.join(", ")))
    };
    Row {
        what: what.into(),
        measured,
        target: target.into(),
        verdict,
    }
}

/// A run's figures in words.
fn describe(r: &Run, pairs: usize) -> String {
    let persisted = if r.persisting {
        format!(", {:.0} pair snapshots persisted", r.per_s(|m| m.persisted))
    } else {
        String::new()
    };
    let load = r
        .begin
        .load
        .zip(r.end.load)
        .map_or(String::new(), |(a, b)| {
            format!("; load average {a:.1}–{b:.1}")
        });
    format!(
        "{:.0} of {:.0} messages/s taken in ({:.0} open-bar updates, {:.1} closed bars, {:.1} \
         mark arrays of 600{persisted} per s); CPU: client thread {} (and {} of the time \
         waiting for a CPU), process but the fake **{}**; fake wrote → engine done: **p99 {}** \
         (p50 {}, max {}; to the engine's input p99 {}; closed bars p99 {} of {}, mark arrays \
         p99 {} of {}); {} gaps over {:.0} s{load}",
        r.per_s(|m| m.messages),
        offered(pairs, r.speedup),
        r.per_s(|m| m.open_bars),
        r.per_s(|m| m.closes),
        r.per_s(|m| m.mark_arrays),
        pct(r.share(|m| m.thread)),
        pct(r.share(|m| m.waited)),
        pct(r.share(|m| m.process)),
        ms(r.all.p99),
        ms(r.all.p50),
        ms(r.all.max),
        ms(r.all.p99_in),
        ms(r.closes.p99),
        r.closes.n,
        ms(r.marks.p99),
        r.marks.n,
        r.gaps,
        r.seconds(),
    )
}
