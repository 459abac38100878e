//! The pipeline, wired once for replay and daemon alike: source → engine → console and outbox →
//! one delivery worker per durable sink, every task on one [`TaskTracker`]. Owns the shutdown
//! order, written here only: the source and the engine's other feeders stop; the engine drains
//! and commits; the sinks deliver what it committed until their deadline; the store flushes.
//! Callers differ only in their source and the services they add; nothing else spawns.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use anyhow::Context;
use futures_util::FutureExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::signals::Signals;
use super::workers::{Worker, finish_workers, spawn_workers};
use crate::config::Config;
use crate::engine::{
    Command, Engine, EngineMeter, Freshness, Inputs, Outlet, Persist, write_behind,
};
use crate::metrics::Metrics;
use crate::notify::console::ConsoleSink;
use crate::notify::{Delivered, Sink};
use crate::source::{Batch, Resume, SourceContext, SourceHealth, SourceTask};
use crate::store::{Routed, Store, StoreError};

/// Events per channel message in a replay: large enough that the channel costs nothing per
/// event, small enough that the engine starts before the source has sent everything.
pub(super) const BATCH: usize = 1024;

/// Alerts buffered between the engine and the console. When full the engine waits: nothing is
/// dropped, and replay speed is then the console's speed.
const CONSOLE_CAPACITY: usize = 1024;

/// Commands (chat, summary clock) waiting for the engine.
const COMMAND_CAPACITY: usize = 64;

/// What a pipeline starts from.
#[derive(Debug)]
pub(super) struct Parts {
    pub(super) engine: Engine,
    /// With a store: durable sinks, their outbox, and the position to continue from.
    pub(super) store: Option<(Store, u64)>,
    pub(super) console: ConsoleSink,
    pub(super) metrics: Arc<Metrics>,
    /// Listening since the command started; a signal is the first phase of shutdown.
    pub(super) signals: Signals,
    /// How old an alert may be to reach people; `None`: any age (a replay).
    pub(super) fresh: Option<Freshness>,
    /// Write pair snapshots behind the engine, off its path (the daemon; see [`Persist::behind`]).
    pub(super) pairs_behind: bool,
}

/// How the source's own end is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SourceEnd {
    /// Its data is done (a replay): drain and finish.
    Finishes,
    /// It should never end (the daemon): its end is a failure, drained and reported.
    Fails,
}

/// What a finished pipeline did.
#[derive(Debug)]
pub(super) struct Finished {
    pub(super) engine: Engine,
    pub(super) console: Delivered,
    /// The durable sinks, by name.
    pub(super) durable: BTreeMap<String, Delivered>,
    /// Whether SIGTERM/SIGINT cut the source short.
    pub(super) interrupted: bool,
}

/// A started pipeline; [`Pipeline::run`] drives it to the end.
#[derive(Debug)]
pub(super) struct Pipeline {
    tracker: TaskTracker,
    /// Phase one: the source and every other feeder of the engine stop.
    stop: CancellationToken,
    /// Phase two, once the engine has drained and committed: the sinks finish.
    drained: CancellationToken,
    /// A signal, or a daemon's failure: the sinks' shutdown deadline runs from here.
    hurry: CancellationToken,
    signals: Signals,
    /// Cancelled when the engine task returns, for whoever must know it is alive.
    engine_gone: CancellationToken,
    market: Option<mpsc::Sender<Batch>>,
    commands: Option<mpsc::Sender<Command>>,
    engine: JoinHandle<(Engine, Result<(), StoreError>)>,
    /// Writes pair snapshots behind the engine (the daemon); ends when the engine lets go.
    writer: Option<JoinHandle<Result<(), StoreError>>>,
    console: JoinHandle<Delivered>,
    workers: Vec<Worker>,
    /// Feeders of the engine besides the source (the bot, the summary clock).
    feeders: Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>,
    store: Option<Store>,
    metrics: Arc<Metrics>,
}

impl Pipeline {
    /// Spawns the engine, the console and a delivery worker per configured durable sink.
    pub(super) fn start(config: &Config, parts: Parts) -> anyhow::Result<Pipeline> {
        super::install_crypto_provider();
        let tracker = TaskTracker::new();
        let signal = parts.signals.received();
        let (stop, hurry) = (signal.child_token(), signal.child_token());
        let drained = CancellationToken::new();
        let capacity = config.engine.input_capacity.div_ceil(BATCH).max(1);
        let (market, market_rx) = mpsc::channel(capacity);
        let (commands, commands_rx) = mpsc::channel(COMMAND_CAPACITY);
        let (console_tx, console_rx) = mpsc::channel(CONSOLE_CAPACITY);
        let (persist, workers, writer) = match parts.store.clone() {
            Some((store, position)) => {
                let (slots, workers) =
                    spawn_workers(config, &store, &tracker, (&drained, &hurry), &parts.metrics)?;
                let (behind, writer) = if parts.pairs_behind {
                    let (tx, rx) = mpsc::channel(1);
                    let writing = store.clone();
                    let writer = tracker.spawn_blocking(move || write_behind(&writing, rx));
                    (Some(tx), Some(writer))
                } else {
                    (None, None)
                };
                let persist = Persist {
                    store,
                    sinks: slots,
                    position,
                    behind,
                };
                (Some(persist), workers, writer)
            }
            None => (None, Vec::new(), None),
        };
        let outlet = Outlet {
            routes: config.routes.clone(),
            console: Some(console_tx),
            persist,
            fresh: parts.fresh,
            meter: parts.metrics.register(EngineMeter::register),
        };
        let engine_gone = CancellationToken::new();
        let gone = engine_gone.clone();
        let inputs = Inputs {
            market: market_rx,
            commands: commands_rx,
        };
        let engine = tracker.spawn(async move {
            let done = parts.engine.run(inputs, outlet).await;
            gone.cancel();
            done
        });
        let console = tracker.spawn(run_console(parts.console, console_rx));
        Ok(Pipeline {
            tracker,
            stop,
            drained,
            hurry,
            signals: parts.signals,
            engine_gone,
            market: Some(market),
            commands: Some(commands),
            engine,
            writer,
            console,
            workers,
            feeders: Vec::new(),
            store: parts.store.map(|(store, _)| store),
            metrics: parts.metrics,
        })
    }

    /// Cancelled at shutdown's first phase (a signal, or a critical task that failed).
    pub(super) fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Cancelled once the engine has drained: for services that must outlive it.
    pub(super) fn drained_token(&self) -> CancellationToken {
        self.drained.clone()
    }

    /// Whether the engine task still runs.
    pub(super) fn engine_alive(&self) -> impl Fn() -> bool + Send + 'static {
        let gone = self.engine_gone.clone();
        move || !gone.is_cancelled()
    }

    pub(super) fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Spawns a feeder of the engine (the bot, the summary clock): given the command channel,
    /// it must return once [`Pipeline::stop_token`] is cancelled, so the engine can drain.
    pub(super) fn feed<F, Fut>(&mut self, name: &'static str, feeder: F)
    where
        F: FnOnce(mpsc::Sender<Command>) -> Fut,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let commands = self.commands.clone().expect("feeders are added before run");
        let task = self.tracker.spawn(feeder(commands));
        self.feeders.push((name, task));
    }

    /// Spawns a service that only watches (the metrics endpoint, the watchdog); it must end by
    /// itself once one of the tokens it was given is cancelled.
    pub(super) fn serve(&self, service: impl Future<Output = ()> + Send + 'static) {
        self.tracker.spawn(service);
    }

    /// What the source is handed; call once.
    pub(super) fn source_context(
        &mut self,
        health: Arc<SourceHealth>,
        resume: Resume,
    ) -> SourceContext {
        SourceContext {
            events: self.market.take().expect("one source per pipeline"),
            shutdown: self.stop.clone(),
            health,
            metrics: Arc::clone(&self.metrics),
            resume,
        }
    }

    /// Runs `source` on this task until it ends (as `end` reads it), a signal comes or the
    /// engine stops; then shuts everything down in order. An error names the first failure
    /// (the source's, the engine's store, a worker's store); the drain happens either way.
    pub(super) async fn run(
        mut self,
        source: SourceTask,
        end: SourceEnd,
    ) -> anyhow::Result<Finished> {
        // The pipeline's own senders go: the engine ends when its feeders have.
        drop((self.market.take(), self.commands.take()));
        // A panicking source must not skip the drain: it becomes an error like any other.
        let mut source = AssertUnwindSafe(source).catch_unwind().map(|done| {
            done.unwrap_or_else(|panic| {
                Err(anyhow::anyhow!("panicked: {}", panic_message(&*panic)))
            })
        });
        let mut failure = None;
        let (mut source_done, mut engine_first) = (false, false);
        tokio::select! {
            // The signal first: a source that returns because of it has not failed.
            biased;
            () = self.stop.cancelled() => {}
            result = &mut source => {
                source_done = true;
                failure = match (result, end) {
                    (Ok(()), SourceEnd::Finishes) => None,
                    (Ok(()), SourceEnd::Fails) => Some(anyhow::anyhow!("the market-data source ended unexpectedly")),
                    (Err(e), _) => Some(e.context("the market-data source failed")),
                };
            }
            () = self.engine_gone.cancelled() => engine_first = true,
        }
        let interrupted = self.signals.received().is_cancelled();
        self.stop.cancel();
        if end == SourceEnd::Fails {
            // A daemon never finishes by itself: whatever stopped it, its sinks get the deadline.
            self.hurry.cancel();
        }
        if !source_done && let Err(e) = source.await {
            // A finite source that failed as it hung up can let the engine end first: its error
            // is still the run's failure, not a note.
            if engine_first && end == SourceEnd::Finishes && failure.is_none() {
                failure = Some(e.context("the market-data source failed"));
            } else {
                tracing::warn!(error = %format!("{e:#}"), "The source stopped with an error.");
            }
        }
        if let Some(e) = &failure {
            tracing::error!(error = %format!("{e:#}"), "A critical task failed; draining before exit.");
        }
        finish_feeders(self.feeders).await;
        // Every input sender is gone now: the engine drains what it has, commits and returns;
        // then the sinks deliver what it committed, whatever became of the engine.
        let engine = self.engine.await;
        let written = finish_writer(self.writer).await;
        self.drained.cancel();
        let console = self.console.await;
        let (durable, lost) = finish_workers(self.workers).await;
        self.tracker.close();
        self.tracker.wait().await;
        if let Some(store) = &self.store {
            store.flush().await.context("flushing the store")?;
        }
        tracing::info!("Stopped.");
        let (engine, stored) = engine.context("the engine task panicked")?;
        let console = console.context("the console task panicked")?;
        // The writer's own error says more than the engine's "it stopped".
        let stored = written
            .and(stored.map_err(anyhow::Error::from))
            .context("the engine could not persist its state");
        match (failure, stored, lost) {
            (Some(e), _, _) | (None, Err(e), _) | (None, Ok(()), Some(e)) => Err(e),
            (None, Ok(()), None) => Ok(Finished {
                engine,
                console,
                durable,
                interrupted,
            }),
        }
    }
}

/// The writer's end: what it wrote was all it was given, or why not.
async fn finish_writer(writer: Option<JoinHandle<Result<(), StoreError>>>) -> anyhow::Result<()> {
    match writer {
        None => Ok(()),
        Some(writer) => writer
            .await
            .context("the pair-state writer panicked")?
            .context("writing the pairs' state"),
    }
}

/// Waits for the engine's other feeders (they stop on the first phase); their errors are logged,
/// never fatal: the bot or the summary clock failing does not stop the alerts.
async fn finish_feeders(feeders: Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>) {
    for (name, feeder) in feeders {
        match feeder.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(task = name, error = %format!("{e:#}"), "Task ended with an error.")
            }
            Err(e) => tracing::error!(task = name, error = %e, "Task panicked."),
        }
    }
}

/// Shows the routed alerts from `rx` on the console until the channel closes (the engine is
/// done). Not durable: a failed write is logged and counted, never retried.
async fn run_console(mut sink: ConsoleSink, mut rx: mpsc::Receiver<Routed>) -> Delivered {
    let mut done = Delivered::default();
    while let Some(routed) = rx.recv().await {
        let shown = routed.sinks.iter().any(|s| s == "console");
        match sink.show(&routed.alert, shown) {
            Ok(()) => done.sent += 1,
            Err(error) => {
                done.failed += 1;
                tracing::error!(sink = sink.name(), alert = %routed.alert.id, %error, "Alert delivery failed.");
            }
        }
    }
    if let Err(error) = sink.flush().await {
        tracing::error!(sink = sink.name(), %error, "Sink flush failed.");
    }
    done
}

/// The text of a panic payload (`panic!` with a literal or a formatted message).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}
