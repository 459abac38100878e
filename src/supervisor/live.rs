//! `liqwave run`: the daemon. Builds every long-lived task from the validated config — the live
//! source, the engine, a delivery worker per durable sink, the console, the Telegram bot and the
//! daily-summary clock — spawns them (the supervisor is the only place that does), and shuts them
//! down in order: sources stop, the engine drains and commits, sinks deliver until the deadline,
//! the store flushes. A failed critical task ends the process non-zero after the same drain.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use futures_util::FutureExt;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use super::systemd::{self, SourceHealth};
use super::{ALERT_CAPACITY, BATCH, console_sink, start_workers, state, summary, watch_signals};
use crate::config::Config;
use crate::engine::{Input, Outlet};
use crate::metrics::{Metrics, server};
use crate::notify::delivery::now_ms;
use crate::notify::run_worker;
use crate::notify::secret::Secret;
use crate::notify::telegram::{BotContext, run_bot};
use crate::schedule::SummarySchedule;
use crate::source::binance::live::Resume;

/// The market-data source of a run: given the engine's input and the shutdown signal, it feeds
/// the engine until shutdown; an `Err` is fatal (the daemon drains and exits non-zero). It runs
/// on the supervisor's own task (it need not be `Send`), beside the spawned ones.
pub type SourceTask = Pin<Box<dyn Future<Output = anyhow::Result<()>>>>;

/// What the supervisor hands the source it builds.
#[derive(Debug)]
pub struct SourceContext {
    /// The engine's input: a full channel makes the source wait, a closed one ends it.
    pub inputs: mpsc::Sender<Input>,
    /// Turns true on SIGTERM/SIGINT or when another critical task failed.
    pub shutdown: watch::Receiver<bool>,
    /// Where the source says it is warm and data arrives (systemd's watchdog reads it).
    pub health: Arc<SourceHealth>,
    /// Where the source registers what it counts.
    pub metrics: Arc<Metrics>,
    /// The last 5m bar of every pair the restored engine knows: recent pairs need no warm-up.
    pub resume: Resume,
}

/// Runs the daemon until SIGTERM/SIGINT or a fatal error. `source` builds the source task.
pub async fn run_daemon(
    config: &Config,
    reset_state: bool,
    source: impl FnOnce(SourceContext) -> SourceTask,
) -> anyhow::Result<()> {
    let path = config
        .store
        .path
        .as_deref()
        .context("liqwave run needs store.path: the outbox and pair state live there")?;
    // Bound before anything starts: a busy or foreign address fails the start, naming the key.
    let listener = if config.metrics.enabled {
        Some(bind_metrics(config.metrics.listen).await?)
    } else {
        None
    };
    let store = state::open_store(path, config.store.cache_bytes, reset_state)?;
    let metrics = Arc::new(Metrics::default());
    metrics.watch_store(store.clone());
    let (mut engine, position) = state::restore(config, &store)?;
    engine.defer_quiet_ticks();
    let resume = state::resume_points(&engine);

    let (shutdown_tx, shutdown) = watch::channel(false);
    let signals = tokio::spawn(watch_signals(shutdown_tx.clone()));
    let (input_tx, input_rx) = mpsc::channel(config.engine.input_capacity.div_ceil(BATCH).max(1));
    let (alert_tx, alert_rx) = mpsc::channel(ALERT_CAPACITY);
    // The sinks' shutdown comes after the engine's drain: a worker that heard of it earlier
    // could find its outbox empty and stop before the engine's last alerts arrive.
    let (drained_tx, drained) = watch::channel(false);
    let mut workers = Vec::new();
    let persist = start_workers(
        config,
        store.clone(),
        position,
        &drained,
        &mut workers,
        &metrics,
    )?;
    let console = console_sink(
        config,
        super::ReplayRun {
            print_alerts: true,
            ..Default::default()
        },
    )?;
    let console = tokio::spawn(run_worker(console, alert_rx));
    let outlet = Outlet {
        console: Some(alert_tx),
        persist: Some(persist),
    };
    let mut engine = tokio::spawn(engine.run_metered(input_rx, outlet, Arc::clone(&metrics)));
    let metrics_server = listener.map(|listener| {
        tokio::spawn(server::serve(
            listener,
            Arc::clone(&metrics),
            shutdown.clone(),
        ))
    });

    let mut helpers = Vec::new();
    if let Some(telegram) = config.sinks.telegram.as_ref().filter(|t| t.commands) {
        let token = Secret::load(&telegram.token_env, "telegram_token")
            .context("the Telegram bot needs its token")?;
        let cx = BotContext {
            inputs: input_tx.clone(),
            store: store.clone(),
            started: tokio::time::Instant::now(),
            shutdown: shutdown.clone(),
        };
        let telegram = telegram.clone();
        helpers.push((
            "telegram bot",
            tokio::spawn(async move {
                run_bot(&telegram, token, cx)
                    .await
                    .map_err(|e| anyhow::anyhow!("the Telegram bot stopped: {e}"))
            }),
        ));
    }
    if config.summary.enabled {
        let schedule = SummarySchedule::new(&config.summary);
        let tz = config.summary.tz.iana_name().unwrap_or("UTC").to_owned();
        let run = summary::run_summaries(schedule, tz, input_tx.clone(), shutdown.clone(), now_ms);
        helpers.push((
            "summary clock",
            tokio::spawn(async move {
                run.await;
                Ok(())
            }),
        ));
    }
    let health = Arc::new(SourceHealth::default());
    // A panicking source must not skip the drain: it becomes an error like any other.
    let source = source(SourceContext {
        inputs: input_tx,
        shutdown: shutdown.clone(),
        health: Arc::clone(&health),
        metrics: Arc::clone(&metrics),
        resume,
    });
    let mut source = AssertUnwindSafe(source).catch_unwind().map(|done| {
        done.unwrap_or_else(|panic| Err(anyhow::anyhow!("panicked: {}", panic_message(&*panic))))
    });
    let engine_alive = Arc::new(AtomicBool::new(true));
    let watchdog = {
        let service = config.service.clone();
        let (health, alive, shutdown) = (
            Arc::clone(&health),
            Arc::clone(&engine_alive),
            shutdown.clone(),
        );
        tokio::spawn(async move {
            let alive = || alive.load(Ordering::Relaxed);
            systemd::supervise(&health, &service, alive, shutdown).await;
        })
    };

    // Until a signal, or a task that must not end: the source, the engine.
    let mut failure: Option<anyhow::Error> = None;
    let mut engine_done = None;
    let mut source_done = false;
    let mut watch_shutdown = shutdown.clone();
    tokio::select! {
        // The signal first: a source that returns because of it has not failed.
        biased;
        _ = watch_shutdown.wait_for(|stop| *stop) => {}
        result = &mut source => {
            source_done = true;
            failure = Some(match result {
                Ok(()) => anyhow::anyhow!("the market-data source ended unexpectedly"),
                Err(e) => e.context("the market-data source failed"),
            });
        }
        result = &mut engine => {
            engine_alive.store(false, Ordering::Relaxed);
            engine_done = Some(result);
        }
    }
    if let Some(e) = &failure {
        tracing::error!(error = %format!("{e:#}"), "A critical task failed; draining before exit.");
    }
    shutdown_tx.send_replace(true);
    if !source_done && let Err(e) = source.await {
        tracing::warn!(error = %format!("{e:#}"), "The source stopped with an error.");
    }
    for (name, helper) in helpers {
        match helper.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(task = name, error = %format!("{e:#}"), "Task ended with an error.")
            }
            Err(e) => tracing::error!(task = name, error = %e, "Task panicked."),
        }
    }
    // Every input sender is gone now: the engine drains what it has, commits and returns.
    let engine_result = match engine_done {
        Some(result) => result,
        None => engine.await,
    };
    let stored = match engine_result {
        Ok((_engine, stored)) => stored.context("the engine could not persist its state"),
        Err(e) => Err(anyhow::Error::new(e).context("the engine task panicked")),
    };
    drained_tx.send_replace(true);
    let _delivered = console.await;
    for (name, worker) in workers {
        match worker.await {
            Ok(Ok(done)) => {
                tracing::info!(sink = %name, sent = done.sent, failed = done.failed, "Sink stopped.")
            }
            Ok(Err(e)) => tracing::error!(sink = %name, error = %e, "Sink lost its store."),
            Err(e) => tracing::error!(sink = %name, error = %e, "Sink task panicked."),
        }
    }
    signals.abort();
    let _stopped = watchdog.await;
    if let Some(server) = metrics_server {
        let _stopped = server.await;
    }
    store.flush().await.context("flushing the store")?;
    tracing::info!("Stopped.");
    match (failure, stored) {
        (Some(e), _) => Err(e),
        (None, Err(e)) => Err(e),
        (None, Ok(())) => Ok(()),
    }
}

/// The metrics endpoint's listener on `addr` (`metrics.listen`).
async fn bind_metrics(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| {
        format!(
            "metrics.listen = {addr}: cannot listen there (in use, or not an address of this host)"
        )
    })
}

/// The text of a panic payload (`panic!` with a literal or a formatted message).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}
