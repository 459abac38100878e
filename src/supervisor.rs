//! The supervisor builds every task from the validated config and is the only place that spawns
//! long-lived tasks: the offline replay pipeline here — with a store, durably: state and outbox in
//! sled, sink workers, SIGTERM/SIGINT handled with a delivery deadline — and the live daemon in
//! `live`.

mod live;
mod state;
mod summary;
mod systemd;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

pub use live::{SourceContext, SourceTask, run_daemon};
pub use state::open_store;
pub use systemd::SourceHealth;

use crate::config::Config;
use crate::engine::{Engine, Input, Outlet, Persist};
use crate::metrics::Metrics;
use crate::model::{AlertKind, SymbolEvent};
use crate::notify::console::ConsoleSink;
use crate::notify::delivery::{DeliveryContext, RetryPolicy, deliver_metered, now_ms};
use crate::notify::email::EmailSink;
use crate::notify::file::FileSink;
use crate::notify::secret::Secret;
use crate::notify::telegram::TelegramSink;
use crate::notify::{Delivered, Sink, run_worker};
use crate::rules::RuleTally;
use crate::source::replay::{Dataset, LoadReport, ReplayOptions, SymbolFilter};
use crate::store::{Store, StoreError};
use crate::view::TrackRecord;

/// Events per channel message: large enough that the channel costs nothing per event, small
/// enough that the engine starts before the source has sent everything.
const BATCH: usize = 1024;

/// Alerts buffered between the engine and the console sink. When full the engine waits: nothing
/// is dropped, and replay speed is then the sink's speed.
const ALERT_CAPACITY: usize = 1024;

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
    pub load_time: Duration,
    pub run_time: Duration,
}

impl ReplaySummary {
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
    let started = Instant::now();
    let dataset = load_dataset(config, data_dir)?;
    let load_time = started.elapsed();
    let load = dataset.report().clone();
    tracing::info!(
        dir = %data_dir.display(),
        symbols = load.symbols.len(),
        events = dataset.events().len(),
        ms = load_time.as_millis() as u64,
        "Loaded recorded data."
    );

    let store = match &config.store.path {
        Some(path) => Some(open_store(path, config.store.cache_bytes, run.reset_state)?),
        None => None,
    };
    let (engine, position) = match &store {
        Some(store) => state::restore(config, store)?,
        None => (Engine::new(config), 0),
    };
    let events = dataset.into_events();
    anyhow::ensure!(
        position as usize <= events.len(),
        "the store has processed {position} events but this dataset has {}: it belongs to another \
         dataset; point store.path elsewhere or start with --reset-state",
        events.len()
    );
    if position > 0 {
        tracing::info!(
            position,
            "Resuming after the events a previous run committed."
        );
    }

    let console = console_sink(config, run)?;
    let (shutdown_tx, shutdown) = watch::channel(false);
    let signals = tokio::spawn(watch_signals(shutdown_tx.clone()));
    let started = Instant::now();
    let (input_tx, input_rx) = mpsc::channel(config.engine.input_capacity.div_ceil(BATCH).max(1));
    let (alert_tx, alert_rx) = mpsc::channel(ALERT_CAPACITY);
    let mut workers = Vec::new();
    let persist = match store {
        Some(store) => Some(start_workers(
            config,
            store,
            position,
            &shutdown,
            &mut workers,
            &Arc::default(),
        )?),
        None => None,
    };
    let outlet = Outlet {
        console: Some(alert_tx),
        persist,
    };
    let remaining = events.into_iter().skip(position as usize).collect();
    let source = tokio::spawn(send_batches(remaining, input_tx, shutdown.clone()));
    let engine = tokio::spawn(engine.run_with(input_rx, outlet));
    let console = tokio::spawn(run_worker(console, alert_rx));
    source.await.context("replay source task failed")?;
    let (engine, stored) = engine.await.context("engine task failed")?;
    // The data is done (or a signal stopped it): the sinks deliver until their deadline.
    let interrupted = *shutdown.borrow();
    shutdown_tx.send_replace(true);
    let delivered = console.await.context("console sink task failed")?;
    let mut durable = BTreeMap::new();
    for (name, worker) in workers {
        let done = worker
            .await
            .with_context(|| format!("{name} sink task failed"))?
            .with_context(|| format!("{name} sink lost its store"))?;
        durable.insert(name, done);
    }
    signals.abort();
    stored.context("the engine could not persist its state")?;
    let run_time = started.elapsed();

    let stats = engine.stats();
    let summary = ReplaySummary {
        load,
        pairs: engine.pairs().len(),
        resumed_at: position,
        events: stats.events,
        source_bars: stats.source_bars,
        signal_bars: stats.signal_bars,
        heat_steps: stats.heat_steps,
        alerts: stats.alerts.clone(),
        muted: stats.muted,
        rules: stats.rules,
        delivered,
        durable,
        interrupted,
        load_time,
        run_time,
    };
    Ok((summary, engine))
}

/// The recorded dataset in `dir`, read as the config says (source interval, symbol lists).
pub fn load_dataset(config: &Config, dir: &Path) -> anyhow::Result<Dataset> {
    let options = ReplayOptions {
        source_interval: config.replay.source_interval,
        filter: SymbolFilter::Lists {
            include: config.symbols.include.clone(),
            exclude: config.symbols.exclude.clone(),
        },
    };
    Dataset::load(dir, &options)
        .with_context(|| format!("loading recorded data from {}", dir.display()))
}

fn console_sink(config: &Config, run: ReplayRun<'_>) -> anyhow::Result<ConsoleSink> {
    let console = &config.sinks.console;
    let jsonl = run.alerts_out.or(console.jsonl_path.as_deref());
    let stdout = (console.enabled && run.print_alerts).then_some(console.format);
    let sink = ConsoleSink::new(stdout, jsonl).with_context(|| {
        format!(
            "creating alert file {}",
            jsonl.map_or(String::new(), |p| p.display().to_string())
        )
    })?;
    Ok(sink.with_routes(config.routes.clone()))
}

type Worker = (String, JoinHandle<Result<Delivered, StoreError>>);

/// Spawns a delivery worker for every configured durable sink and returns what the engine needs
/// to feed them.
fn start_workers(
    config: &Config,
    store: Store,
    position: u64,
    shutdown: &watch::Receiver<bool>,
    workers: &mut Vec<Worker>,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<Persist> {
    let retention = config.delivery.sent_log_retention.as_millis() as i64;
    let pruned = store.prune_sent(now_ms() - retention)?;
    if pruned > 0 {
        tracing::info!(pruned, "Forgot sent-log records past their retention.");
    }
    let mut launch = Launch {
        config,
        store: &store,
        shutdown,
        workers,
        metrics,
        sinks: Vec::new(),
    };
    if let Some(file) = &config.sinks.file {
        let sink = FileSink::open(&file.path, file.delay)
            .with_context(|| format!("opening the alert file {}", file.path.display()))?;
        launch.add(sink);
    }
    let track = match &config.signal.report {
        Some(path) => {
            let track = TrackRecord::load(path)?;
            tracing::info!(report = %path.display(), source = %track.source, lines = track.lines.len(), "Alerts quote the backtest's track record.");
            track
        }
        None => TrackRecord::default(),
    };
    if let Some(telegram) = &config.sinks.telegram {
        let token = Secret::load(&telegram.token_env, "telegram_token")
            .context("the Telegram sink needs its bot token")?;
        let sink = TelegramSink::new(telegram, token)
            .context("setting up the Telegram sink")?
            .with_track_record(track.clone());
        launch.add(sink);
    }
    if let Some(email) = &config.sinks.email {
        let password = match &email.username {
            Some(_) => Some(
                Secret::load(&email.password_env, "smtp_password")
                    .context("the email sink has a username and needs its SMTP password")?,
            ),
            None => None,
        };
        let sink = EmailSink::new(email, password)
            .context("setting up the email sink")?
            .with_track_record(track);
        launch.add(sink);
    }
    let sinks = launch.sinks;
    Ok(Persist {
        store,
        routes: config.routes.clone(),
        sinks,
        position,
    })
}

/// Spawns one delivery worker per durable sink and remembers how to wake it.
struct Launch<'a> {
    config: &'a Config,
    store: &'a Store,
    shutdown: &'a watch::Receiver<bool>,
    workers: &'a mut Vec<Worker>,
    metrics: &'a Arc<Metrics>,
    sinks: Vec<(String, Arc<Notify>)>,
}

impl Launch<'_> {
    fn add<S: Sink + Send + 'static>(&mut self, sink: S) {
        let name = sink.name().to_owned();
        let wake = Arc::new(Notify::new());
        let context = DeliveryContext {
            store: self.store.clone(),
            policy: RetryPolicy::from(&self.config.delivery),
            wake: Arc::clone(&wake),
            shutdown: self.shutdown.clone(),
            deadline: self.config.delivery.shutdown_deadline,
        };
        tracing::info!(sink = %name, "Delivery worker started.");
        let meter = self.metrics.sink(&name);
        let worker = tokio::spawn(deliver_metered(sink, context, meter));
        self.workers.push((name.clone(), worker));
        self.sinks.push((name, wake));
    }
}

/// The replay source task: hands the recorded events to the engine in order, then hangs up; a
/// shutdown stops it between batches.
async fn send_batches(
    events: Vec<SymbolEvent>,
    tx: mpsc::Sender<Input>,
    shutdown: watch::Receiver<bool>,
) {
    let mut events = events.into_iter();
    loop {
        if *shutdown.borrow() {
            tracing::info!("Shutdown requested; the source stops.");
            return;
        }
        let batch: Vec<SymbolEvent> = events.by_ref().take(BATCH).collect();
        if batch.is_empty() || tx.send(Input::Market(batch)).await.is_err() {
            return;
        }
    }
}

/// Turns SIGTERM or SIGINT into a shutdown request.
async fn watch_signals(shutdown: watch::Sender<bool>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("Cannot listen for signals; stop with SIGKILL only.");
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!(signal = "SIGTERM", "Shutting down."),
        _ = int.recv() => tracing::info!(signal = "SIGINT", "Shutting down."),
    }
    shutdown.send_replace(true);
}
