//! Cold start and warm restart of 600 pairs against the fake REST exchange (DESIGN.md §10): the
//! daemon's warm-up (`warm_all`) into an engine that persists to sled as the engine task does,
//! with a 1-second weight window; then a restart from that store after an hour of missed bars
//! (`backfill`, 12 bars a pair). Reports requests, weight, peak weight per window against the
//! budget, and the wall time projected at Binance's real one-minute window next to the
//! accelerated one.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use liqwave::config::Config;
use liqwave::engine::{Engine, PairSnapshot};
use liqwave::model::{HOUR_MS, Interval, MarketEvent, Symbol, SymbolEvent, TimeMs};
use liqwave::source::binance::budget::{BudgetParams, FUTURES_DATA_LIMIT};
use liqwave::source::binance::discovery::discover;
use liqwave::source::binance::rest::{RestClient, RestOptions};
use liqwave::source::binance::warmup::{Progress, WarmupPlan, backfill, warm_all};
use liqwave::store::{Commit, Store};
use tokio::sync::mpsc;

use crate::fake_binance_rest::{FakeBinanceRest, FakeConfig, Hit};
use crate::{Row, Verdict, runtime};

pub(crate) const PAIRS: usize = 600;
/// The simulated minute: the fake and the client both count weight per second, so a warm-up
/// that Binance paces over minutes runs in seconds with the same schedule, 60× faster.
const WINDOW_MS: TimeMs = 1000;
const REAL_WINDOW_MS: TimeMs = 60_000;
const WEIGHT_LIMIT: u32 = 2400;
/// The daemon's default `binance.weight_share`.
const SHARE: f64 = 0.8;
/// How long the restarted daemon was down.
const DOWN_MS: TimeMs = HOUR_MS;
/// Requests a pair's back-fill and the warm-up keep in flight (warmup::CONCURRENCY).
const IN_FLIGHT: usize = 4;
/// Binance round trips assumed for the real-speed projection of latency-bound work.
const RTT_MS: [u64; 2] = [50, 200];

/// The fake exchange and a client of it, with the weight window shortened to [`WINDOW_MS`].
pub(crate) struct Exchange {
    fake: FakeBinanceRest,
    client: RestClient,
}

impl Exchange {
    fn start() -> Exchange {
        let fake = FakeBinanceRest::start(FakeConfig {
            window_ms: WINDOW_MS,
            weight_limit: WEIGHT_LIMIT,
            ..FakeConfig::binance(PAIRS)
        });
        let budget = BudgetParams {
            weight_limit: WEIGHT_LIMIT,
            share: SHARE,
            window_ms: WINDOW_MS,
        };
        let options = RestOptions::new(&fake.url, Duration::from_secs(10), budget);
        let client = RestClient::new(options).expect("REST client");
        Exchange { fake, client }
    }
}

/// What the exchange saw of a run: requests and the weight they cost.
#[derive(Debug, Default)]
struct Traffic {
    requests: usize,
    weight: u64,
    /// The most weight counted in one (shortened) window.
    peak_weight: u32,
    /// `/futures/data` requests, and the most in one five-window period.
    futures_data: usize,
    peak_futures_data: u32,
    /// Answered 429 or 418.
    refused: usize,
}

impl Traffic {
    fn of(hits: &[&Hit]) -> Traffic {
        let mut windows = std::collections::HashMap::<TimeMs, u32>::new();
        let mut long = std::collections::HashMap::<TimeMs, u32>::new();
        let mut t = Traffic::default();
        for h in hits {
            t.requests += 1;
            t.weight += u64::from(h.weight);
            *windows.entry(h.at.div_euclid(WINDOW_MS)).or_default() += h.weight;
            if h.futures_data {
                t.futures_data += 1;
                *long.entry(h.at.div_euclid(5 * WINDOW_MS)).or_default() += 1;
            }
            t.refused += usize::from(matches!(h.status, 429 | 418));
        }
        t.peak_weight = windows.into_values().max().unwrap_or(0);
        t.peak_futures_data = long.into_values().max().unwrap_or(0);
        t
    }

    /// Minutes the weight alone needs at our share of the real per-minute limit.
    fn weight_minutes(&self) -> f64 {
        self.weight as f64 / (f64::from(WEIGHT_LIMIT) * SHARE)
    }

    /// Minutes the `/futures/data` requests need at our share of 1000 per five minutes.
    fn futures_data_minutes(&self) -> f64 {
        5.0 * self.futures_data as f64 / (f64::from(FUTURES_DATA_LIMIT) * SHARE)
    }
}

/// The engine task's persistence (engine/task.rs): after every input, the pairs it changed go to
/// the store in one transaction with the input position.
pub(crate) struct Persister {
    store: Store,
    position: u64,
    /// Pair snapshots written.
    pub(crate) pairs: u64,
}

impl Persister {
    pub(crate) fn open(path: &Path, config: &Config) -> Persister {
        Persister {
            store: Store::open(path, config.store.cache_bytes).expect("store"),
            position: 0,
            pairs: 0,
        }
    }

    /// What the engine task does after an input of `processed` events.
    pub(crate) fn commit(&mut self, engine: &mut Engine, processed: usize) {
        let pairs = engine.take_changed();
        if pairs.is_empty() && processed == 0 {
            return;
        }
        self.position += processed as u64;
        self.pairs += pairs.len() as u64;
        let commit = Commit {
            pairs: &pairs,
            alerts: &[],
            position: Some(self.position),
        };
        self.store.commit(&commit).expect("commit");
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }
}

/// The result of the cold start: the warmed engine (an hour behind, see [`cold_start`]), its
/// store, closed, and what it cost.
pub(crate) struct ColdStart {
    pub(crate) engine: Engine,
    pub(crate) store: PathBuf,
    exchange: Exchange,
    traffic: Traffic,
    ready: usize,
    wall: Duration,
    /// The engine task's part: events through the engine, and changed pairs persisted.
    engine_time: Duration,
    persist_time: Duration,
    events: usize,
    /// Events newer than this were held back from the engine: the hour the restart misses.
    cut: TimeMs,
}

/// Warms 600 pairs as the daemon does (discovery, `warm_all` with the default plan: 250 native
/// bars per signal timeframe, 3 days of 5m bars and open interest) into an engine persisting to
/// a sled store in `dir`. The last hour of every pair is held back, so the store is that of a
/// daemon that has been down for an hour ([`warm_restart`]).
pub(crate) fn cold_start(config: &Config, dir: &Path) -> ColdStart {
    let exchange = Exchange::start();
    let client = &exchange.client;
    let plan = WarmupPlan::from_config(config);
    let mut engine = Engine::new(config);
    let path = dir.join("state");
    let mut persister = Persister::open(&path, config);
    let (outcomes, events, engine_time, persist_time, wall, cut) = runtime().block_on(async {
        let contracts = discover(client, &config.symbols).await.expect("discovery");
        assert_eq!(contracts.len(), PAIRS, "the fake lists {PAIRS} pairs");
        let started = Instant::now();
        let cut = client.now() - DOWN_MS;
        let (tx, mut rx) =
            mpsc::channel::<Vec<SymbolEvent>>(config.engine.input_capacity.clamp(1, 16));
        let mut alerts = Vec::new();
        let feed = async {
            let (mut events, mut busy, mut storing) = (0, Duration::ZERO, Duration::ZERO);
            while let Some(batch) = rx.recv().await {
                let t = Instant::now();
                let mut n = 0;
                for e in batch.iter().filter(|e| e.event.known_at() <= cut) {
                    engine.handle(e, &mut alerts);
                    n += 1;
                }
                let handled = Instant::now();
                persister.commit(&mut engine, n);
                events += n;
                busy += handled - t;
                storing += handled.elapsed();
            }
            (events, busy, storing)
        };
        let warm = warm_all(client, &contracts, &plan, tx, Progress::DEFAULT);
        let (outcomes, (events, engine_time, persist_time)) = tokio::join!(warm, feed);
        let wall = started.elapsed();
        persister.store().flush().await.expect("flush");
        (outcomes, events, engine_time, persist_time, wall, cut)
    });
    drop(persister);
    let hits = exchange.fake.hits();
    let traffic = Traffic::of(&hits.iter().collect::<Vec<_>>());
    ColdStart {
        ready: outcomes.iter().filter(|o| o.is_ready()).count(),
        engine,
        store: path,
        exchange,
        traffic,
        wall,
        engine_time,
        persist_time,
        events,
        cut,
    }
}

impl ColdStart {
    /// Projected real time: the accelerated schedule scaled back to one-minute windows.
    fn projected(&self) -> Duration {
        self.wall * (REAL_WINDOW_MS / WINDOW_MS) as u32
    }

    pub(crate) fn row(&self) -> Row {
        let t = &self.traffic;
        let share = (f64::from(WEIGHT_LIMIT) * SHARE) as u32;
        let pace = t.weight_minutes().max(t.futures_data_minutes());
        let projected = self.projected().as_secs_f64() / 60.0;
        let measured = format!(
            "{}/{PAIRS} warm; {} requests, weight {}, peak {} per window (share {share} of \
             {WEIGHT_LIMIT}), openInterestHist peak {} per 5 windows (share {} of {}), {} × \
             429/418; {:.1} s with a 1 s window ({} events: engine {:.1} s, persisting pairs \
             {:.1} s) → **{projected:.1} min** at the real 1-minute window (at the budget's \
             steady pace: weight {:.1} min, openInterestHist {:.1} min)",
            self.ready,
            t.requests,
            t.weight,
            t.peak_weight,
            t.peak_futures_data,
            (f64::from(FUTURES_DATA_LIMIT) * SHARE) as u32,
            FUTURES_DATA_LIMIT,
            t.refused,
            self.wall.as_secs_f64(),
            self.events,
            self.engine_time.as_secs_f64(),
            self.persist_time.as_secs_f64(),
            t.weight_minutes(),
            t.futures_data_minutes(),
        );
        let verdict = if self.ready < PAIRS {
            Verdict::Missed(format!("only {} of {PAIRS} pairs warmed", self.ready))
        } else if t.refused > 0 {
            Verdict::Missed(format!("{} requests refused (429/418)", t.refused))
        } else if projected > 10.0 {
            Verdict::Missed(format!(
                "the budget paces it: {pace:.1} min of weight and openInterestHist at a steady pace"
            ))
        } else {
            Verdict::Met
        };
        Row {
            what: "cold start, 600 pairs (fake exchange, daemon's warm-up)".into(),
            measured,
            target: "warm within 10 min, never a 429".into(),
            verdict,
        }
    }
}

/// What the restart did.
pub(crate) struct Restart {
    pairs: usize,
    traffic: Traffic,
    bars: usize,
    /// Opening the store, reading 600 snapshots and rebuilding the engine.
    restore: Duration,
    /// The back-fill requests, `IN_FLIGHT` at a time, answers fed to the engine as they come.
    fill: Duration,
    /// The engine task's part of the back-fill: the bars through the engine, and the pairs
    /// persisted.
    engine_time: Duration,
    persist_time: Duration,
    total: Duration,
    /// The sled store's files before the restart.
    store_bytes: u64,
    /// The engine's cost per pair per 5m step with the restored pairs.
    step: StepCost,
    /// The pairs as the store held them before the back-fill, and each pair's back-filled bars:
    /// what the close-burst row replays (`report/burst.rs`).
    snapshots: Vec<PairSnapshot>,
    fills: Vec<Vec<SymbolEvent>>,
}

/// Runs of [`step_cost`].
const STEP_RUNS: usize = 3;

/// The engine's cost per pair per 5m step with 600 warmed pairs, µs per bar.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StepCost {
    /// Every pair's next bar, pair after pair, as at a live close: median and best run.
    pub(crate) in_turn: (f64, f64),
    /// The same over the second half of the steps only, past the first steps after the restore:
    /// median run.
    pub(crate) in_turn_later: f64,
    /// Each pair's bars one after the other, its state staying in cache: median run.
    pub(crate) pair_by_pair: f64,
}

/// [`StepCost`] measured with `fills`, each pair's back-filled bars, replayed into engines
/// restored from `snapshots`.
fn step_cost(config: &Config, snapshots: &[PairSnapshot], fills: &[Vec<SymbolEvent>]) -> StepCost {
    let steps = fills.iter().map(Vec::len).max().unwrap_or(0);
    let in_turn: Vec<&SymbolEvent> = (0..steps)
        .flat_map(|i| fills.iter().filter_map(move |f| f.get(i)))
        .collect();
    let half = (0..steps / 2)
        .map(|i| fills.iter().filter(|f| f.len() > i).count())
        .sum();
    let pair_by_pair: Vec<&SymbolEvent> = fills.iter().flatten().collect();
    let (whole, later) = time_steps(config, snapshots, &in_turn, half);
    StepCost {
        in_turn: whole,
        in_turn_later: later,
        pair_by_pair: time_steps(config, snapshots, &pair_by_pair, 0).0.0,
    }
}

/// µs per event of `events` into an engine restored from `snapshots`, [`STEP_RUNS`] times, fed
/// as the engine task is at a close: one batch per pair count of events (`handle_batch`, over
/// `engine.threads`). Returns the median and best run, and the median run over the events from
/// the first batch at or after `split` on.
fn time_steps(
    config: &Config,
    snapshots: &[PairSnapshot],
    events: &[&SymbolEvent],
    split: usize,
) -> ((f64, f64), f64) {
    let mut whole = Vec::with_capacity(STEP_RUNS);
    let mut later = Vec::with_capacity(STEP_RUNS);
    let batches: Vec<Vec<SymbolEvent>> = (events.chunks(snapshots.len().max(1)))
        .map(|c| c.iter().map(|e| (*e).clone()).collect())
        .collect();
    let no_chart = |_: &liqwave::model::Alert| false;
    for _ in 0..STEP_RUNS {
        let mut engine = Engine::restore(config, snapshots.to_vec());
        let mut raised = Vec::new();
        let t = Instant::now();
        let (mut at_split, mut from) = (None, 0);
        let mut seen = 0;
        for batch in &batches {
            if at_split.is_none() && seen >= split {
                (at_split, from) = (Some(Instant::now()), seen);
            }
            engine.handle_batch(batch, &no_chart, &mut raised);
            raised.clear();
            seen += batch.len();
        }
        let per = |d: Duration, n: usize| d.as_secs_f64() * 1e6 / n.max(1) as f64;
        whole.push(per(t.elapsed(), events.len()));
        let later_time = at_split.map_or(Duration::ZERO, |s| s.elapsed());
        later.push(per(later_time, events.len() - from));
    }
    whole.sort_by(f64::total_cmp);
    later.sort_by(f64::total_cmp);
    ((whole[whole.len() / 2], whole[0]), later[later.len() / 2])
}

/// A daemon restarted after an hour down: it opens the store the cold start left, restores the
/// engine and back-fills each pair's missed 5m bars — a `Gap` and the bars, one input per pair as
/// the live source sends them, each persisted. Returns the caught-up engine and its store.
pub(crate) fn warm_restart(config: &Config, cold: ColdStart) -> (Restart, Engine, Persister) {
    let ColdStart {
        engine,
        store: path,
        exchange,
        cut,
        ..
    } = cold;
    drop(engine);
    let store_bytes = dir_bytes(&path);
    let client = &exchange.client;
    let hits_before = exchange.fake.hits().len();
    runtime().block_on(async {
        let started = Instant::now();
        let mut persister = Persister::open(&path, config);
        let snapshots = persister.store().pair_snapshots().expect("snapshots");
        let mut engine = Engine::restore(config, snapshots);
        let restore = started.elapsed();
        let before = persister.store().pair_snapshots().expect("snapshots");
        let symbols: Vec<Symbol> = engine.pairs().iter().map(|p| p.symbol().clone()).collect();
        let from = Interval::M5.bar_open(cut);
        let to = Interval::M5.bar_open(client.now()) - Interval::M5.duration_ms();
        let fill_started = Instant::now();
        let mut fills = futures_util::stream::iter(&symbols)
            .map(|s| async move { (s, backfill(client, s, from, to).await) })
            .buffered(IN_FLIGHT);
        let (mut bars, mut engine_time, mut persist_time) = (0, Duration::ZERO, Duration::ZERO);
        let mut alerts = Vec::new();
        let mut filled_bars = Vec::with_capacity(symbols.len());
        while let Some((symbol, result)) = fills.next().await {
            let filled = result.expect("back-fill");
            let t = Instant::now();
            let gap = SymbolEvent {
                symbol: symbol.clone(),
                event: MarketEvent::Gap { from, to },
            };
            engine.handle(&gap, &mut alerts);
            for e in &filled {
                engine.handle(e, &mut alerts);
            }
            let handled = Instant::now();
            persister.commit(&mut engine, filled.len() + 1);
            bars += filled.len();
            engine_time += handled - t;
            persist_time += handled.elapsed();
            filled_bars.push(filled);
        }
        let fill = fill_started.elapsed();
        let total = started.elapsed();
        let hits = exchange.fake.hits();
        let traffic = Traffic::of(&hits[hits_before..].iter().collect::<Vec<_>>());
        drop(fills);
        let step = step_cost(config, &before, &filled_bars);
        let restart = Restart {
            pairs: symbols.len(),
            traffic,
            bars,
            restore,
            fill,
            engine_time,
            persist_time,
            total,
            store_bytes,
            step,
            snapshots: before,
            fills: filled_bars,
        };
        (restart, engine, persister)
    })
}

impl Restart {
    pub(crate) fn step_cost(&self) -> StepCost {
        self.step
    }

    /// The restored pairs and each pair's next bars, in 5m steps.
    pub(crate) fn closes(&self) -> (&[PairSnapshot], &[Vec<SymbolEvent>]) {
        (&self.snapshots, &self.fills)
    }

    pub(crate) fn row(&self) -> Row {
        let t = &self.traffic;
        let local = self.restore + self.engine_time + self.persist_time;
        // Weight-bound or latency-bound, whichever is longer, plus the local work.
        let budget_s = t.weight_minutes() * 60.0;
        let projected: Vec<f64> = RTT_MS
            .iter()
            .map(|rtt| {
                let latency_s = (t.requests as u64).div_ceil(IN_FLIGHT as u64) * rtt;
                local.as_secs_f64() + (latency_s as f64 / 1000.0).max(budget_s)
            })
            .collect();
        let measured = format!(
            "{} pairs, {} bars back-filled: {} requests, weight {}, peak {} per window, {} × \
             429/418; measured {:.2} s (store open + restore {:.2} s, back-fill {:.2} s of which \
             engine {:.3} s and persisting pairs {:.3} s; store {} on disk); projected at a real \
             Binance round trip of {}–{} ms, {IN_FLIGHT} in flight: **{:.0}–{:.0} s**",
            self.pairs,
            self.bars,
            t.requests,
            t.weight,
            t.peak_weight,
            t.refused,
            self.total.as_secs_f64(),
            self.restore.as_secs_f64(),
            self.fill.as_secs_f64(),
            self.engine_time.as_secs_f64(),
            self.persist_time.as_secs_f64(),
            crate::sys::mib(self.store_bytes),
            RTT_MS[0],
            RTT_MS[1],
            projected[0],
            projected[1],
        );
        let worst = projected[1];
        let verdict = if t.refused > 0 {
            Verdict::Missed(format!("{} requests refused", t.refused))
        } else if worst > 60.0 {
            Verdict::Missed(format!(
                "{} round trips at {IN_FLIGHT} in flight take {worst:.0} s at {} ms",
                t.requests, RTT_MS[1]
            ))
        } else {
            Verdict::Met
        };
        Row {
            what: "warm restart after 1 h down, 600 pairs".into(),
            measured,
            target: "≤ 60 s".into(),
            verdict,
        }
    }
}

/// Bytes of the files under `path`.
pub(crate) fn dir_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return std::fs::metadata(path).map_or(0, |m| m.len());
    };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                dir_bytes(&p)
            } else {
                e.metadata().map_or(0, |m| m.len())
            }
        })
        .sum()
}
