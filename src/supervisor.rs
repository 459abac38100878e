//! The supervisor builds every task from the validated config and is the only place that spawns
//! long-lived tasks. The pipeline is wired once (`topology`); its two callers differ only in their
//! source: the offline replay here, and the live daemon in `live`.

pub mod delivery;
mod heartbeat;
mod live;
mod preflight;
mod signals;
mod sinks;
mod state;
mod summary;
mod systemd;
mod topology;
mod workers;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use live::run_daemon;
pub use preflight::{NotReady, preflight};
pub use state::open_store;

use crate::config::Config;
use crate::engine::Engine;
use crate::model::AlertKind;
use crate::notify::Delivered;
use crate::rules::RuleTally;
use crate::source::replay::{
    Dataset, LoadReport, ReplayOptions, ReplayStream, RowLimits, SymbolFilter,
};
use crate::source::{Batch, SourceHealth};
use signals::Signals;
use topology::{BATCH, Finished, Parts, Pipeline, SourceEnd};

/// Makes ring the process-wide rustls crypto provider, once, at start. Our TLS clients (Binance,
/// Bot API, SMTP) use ring; when another provider is also compiled in (a test server's), rustls
/// refuses to guess. Tests that build TLS clients directly call it too.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means a provider is already installed, which is what we want.
        let _already = rustls::crypto::ring::default_provider().install_default();
    });
}

/// What a replay did, printed at its end.
#[derive(Debug)]
pub struct ReplaySummary {
    pub load: LoadReport,
    pub pairs: usize,
    /// Events skipped because a previous run had processed them (a restart with a store).
    pub resumed_at: u64,
    pub events: u64,
    pub source_bars: u64,
    pub signal_bars: u64,
    pub heat_steps: u64,
    pub alerts: BTreeMap<AlertKind, u64>,
    pub muted: u64,
    pub rules: RuleTally,
    /// The console sink.
    pub delivered: Delivered,
    /// The durable sinks, by name.
    pub durable: BTreeMap<String, Delivered>,
    /// Whether a signal cut the replay short.
    pub interrupted: bool,
    /// Alerts still in the outbox at exit, by sink (only when a signal hurried the sinks, or a
    /// store error stopped them): the next start delivers them.
    pub undelivered: BTreeMap<String, usize>,
    pub load_time: Duration,
    pub run_time: Duration,
}

impl ReplaySummary {
    fn new(
        load: LoadReport,
        resumed_at: u64,
        done: &Finished,
        load_time: Duration,
        run_time: Duration,
    ) -> ReplaySummary {
        let stats = done.engine.stats();
        ReplaySummary {
            load,
            pairs: done.engine.pairs().len(),
            resumed_at,
            events: stats.events,
            source_bars: stats.source_bars,
            signal_bars: stats.signal_bars,
            heat_steps: stats.heat_steps,
            alerts: stats.alerts.clone(),
            muted: stats.muted,
            rules: stats.rules,
            delivered: done.console,
            durable: done.durable.clone(),
            interrupted: done.interrupted,
            undelivered: BTreeMap::new(),
            load_time,
            run_time,
        }
    }

    /// A replay stopped by a signal while its dataset loaded: nothing ran.
    fn stopped_loading(config: &Config, load_time: Duration) -> ReplaySummary {
        let load = LoadReport {
            source_interval: config.replay.source_interval,
            symbols: Default::default(),
            files: Vec::new(),
            ignored_files: Vec::new(),
            events: Default::default(),
        };
        ReplaySummary {
            load,
            pairs: 0,
            resumed_at: 0,
            events: 0,
            source_bars: 0,
            signal_bars: 0,
            heat_steps: 0,
            alerts: BTreeMap::new(),
            muted: 0,
            rules: RuleTally::default(),
            delivered: Delivered::default(),
            durable: BTreeMap::new(),
            interrupted: true,
            undelivered: BTreeMap::new(),
            load_time,
            run_time: Duration::ZERO,
        }
    }

    /// Source bars through the whole pipeline (engine, rules, sink) per second of run time.
    pub fn bars_per_second(&self) -> f64 {
        self.source_bars as f64 / self.run_time.as_secs_f64().max(1e-9)
    }
}

/// How a replay starts.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplayRun<'a> {
    pub alerts_out: Option<&'a Path>,
    pub print_alerts: bool,
    /// Move an existing store aside and start empty.
    pub reset_state: bool,
}

/// Replays a recorded dataset through engine and sinks as fast as possible. With a store, a
/// restart continues after the last committed event and the durable sinks deliver what the
/// outbox holds. Returns the summary and the engine, whose final state tests compare.
pub async fn replay(
    config: &Config,
    data_dir: &Path,
    run: ReplayRun<'_>,
) -> anyhow::Result<(ReplaySummary, Engine)> {
    let signals = Signals::listen();
    let started = Instant::now();
    let (opening, dir) = (config.clone(), data_dir.to_owned());
    let opened = tokio::task::spawn_blocking(move || open_stream(&opening, &dir));
    let signal = signals.received();
    let stream = tokio::select! {
        opened = opened => opened.context("opening the dataset panicked")??,
        () = signal.cancelled() => {
            tracing::info!("Stopped while loading; nothing was replayed.");
            let summary = ReplaySummary::stopped_loading(config, started.elapsed());
            return Ok((summary, Engine::new(config)));
        }
    };
    let load_time = started.elapsed();
    tracing::info!(
        dir = %data_dir.display(),
        symbols = stream.symbols().len(),
        ms = load_time.as_millis() as u64,
        "Opened recorded data; it is replayed as it is read."
    );

    let store = match &config.store.path {
        Some(path) => Some(open_store(path, config.store.cache_bytes, run.reset_state)?),
        None => None,
    };
    let (engine, position) = match &store {
        Some(store) => state::restore(config, store)?,
        None => (Engine::new(config), 0),
    };
    let console = sinks::console(config, run.alerts_out, run.print_alerts)?;
    let started = Instant::now();
    let parts = Parts {
        engine,
        store: store.clone().map(|store| (store, position)),
        console,
        metrics: Arc::default(),
        signals,
        fresh: None,
        pairs_behind: false,
    };
    let mut pipeline = Pipeline::start(config, parts)?;
    let cx = pipeline.source_context(Arc::new(SourceHealth::default()), Default::default());
    let account = Arc::new(Mutex::new(None));
    let source = stream_batches(
        stream,
        position,
        cx.events,
        cx.shutdown,
        Arc::clone(&account),
    );
    let done = pipeline.run(Box::pin(source), SourceEnd::Finishes).await?;
    let run_time = started.elapsed();
    let load = (account
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take())
    .context("the replay source ended without its account")?;

    let mut summary = ReplaySummary::new(load, position, &done, load_time, run_time);
    if let Some(store) = &store {
        let depth = store.outbox_depth()?.into_iter();
        summary.undelivered = depth.filter(|(_, n)| *n > 0).collect();
        for (sink, left) in &summary.undelivered {
            let why = "the next start sends them";
            tracing::warn!(sink, left, "Alerts stay undelivered in the outbox; {why}.");
        }
    }
    Ok((summary, done.engine))
}

/// The recorded dataset in `dir`, read as the config says (source interval, symbol lists).
pub fn load_dataset(config: &Config, dir: &Path) -> anyhow::Result<Dataset> {
    Dataset::load(dir, &replay_options(config))
        .with_context(|| format!("loading recorded data from {}", dir.display()))
}

/// The recorded dataset in `dir` opened as a stream, read as the config says.
fn open_stream(config: &Config, dir: &Path) -> anyhow::Result<ReplayStream> {
    ReplayStream::open(dir, &replay_options(config))
        .with_context(|| format!("opening recorded data in {}", dir.display()))
}

fn replay_options(config: &Config) -> ReplayOptions {
    ReplayOptions {
        source_interval: config.replay.source_interval,
        filter: SymbolFilter::Lists {
            include: config.symbols.include.clone(),
            exclude: config.symbols.exclude.clone(),
        },
        limits: row_limits(config),
    }
}

/// The bounds of a recorded row as the config says, with times up to a day after the wall clock.
pub fn row_limits(config: &Config) -> RowLimits {
    RowLimits::new(crate::clock::wall_ms(), config.replay.max_price_jump)
}

/// The replay source: reads the stream on a blocking thread (parsing and decompression are CPU
/// work) and hands its events to the engine in order, after the `position` a previous run
/// committed, then hangs up. A shutdown stops it between batches; an error in the data (found
/// mid-stream) fails it. The stream's account goes to `account` however it ends.
async fn stream_batches(
    stream: ReplayStream,
    position: u64,
    tx: mpsc::Sender<Batch>,
    shutdown: CancellationToken,
    account: Arc<Mutex<Option<LoadReport>>>,
) -> anyhow::Result<()> {
    let reading = tokio::task::spawn_blocking(move || {
        let mut stream = stream;
        let sent = send_stream(&mut stream, position, &tx, &shutdown);
        (stream.report(), sent)
    });
    let (report, sent) = match reading.await {
        Ok(done) => done,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => return Err(e).context("the replay source was cancelled"),
    };
    *account.lock().unwrap_or_else(PoisonError::into_inner) = Some(report);
    sent
}

/// The blocking half of [`stream_batches`].
fn send_stream(
    stream: &mut ReplayStream,
    position: u64,
    tx: &mpsc::Sender<Batch>,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let stopped = || {
        let stop = shutdown.is_cancelled();
        if stop {
            tracing::info!("Shutdown requested; the source stops.");
        }
        stop
    };
    if !state::skip_processed(stream, position, &stopped)? {
        return Ok(());
    }
    loop {
        if stopped() {
            return Ok(());
        }
        let mut batch: Batch = Vec::with_capacity(BATCH);
        let mut failed = None;
        for event in stream.by_ref() {
            match event {
                Ok(event) => batch.push(event),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
            if batch.len() == BATCH {
                break;
            }
        }
        // The events before an error still go: the engine replays what was sound.
        let ended = batch.len() < BATCH;
        if !batch.is_empty() && tx.blocking_send(batch).is_err() {
            return Ok(());
        }
        if let Some(e) = failed {
            return Err(e).context("reading the recorded data");
        }
        if ended {
            return Ok(());
        }
    }
}
