//! `liqwave run`: the daemon. The pipeline of `topology` with the live source, plus what only a
//! daemon has: the metrics endpoint, the Telegram bot, the daily-summary clock and systemd's
//! readiness and watchdog. A failed critical task ends the process non-zero after the drain.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use super::signals::Signals;
use super::sinks;
use super::topology::{Parts, Pipeline, SourceEnd};
use super::{heartbeat, state, summary, systemd};
use crate::clock::wall_ms;
use crate::config::Config;
use crate::engine::Freshness;
use crate::metrics::{Metrics, server};
use crate::notify::secret::Secret;
use crate::notify::telegram::{BotContext, run_bot};
use crate::schedule::SummarySchedule;
use crate::source::{SourceContext, SourceHealth, SourceTask};

/// Runs the daemon until SIGTERM/SIGINT or a fatal error. `source` builds the source task. What
/// the [`preflight`](super::preflight) finds fails the start first, as [`NotReady`](super::NotReady).
pub async fn run_daemon(
    config: &Config,
    reset_state: bool,
    source: impl FnOnce(SourceContext) -> SourceTask,
) -> anyhow::Result<()> {
    // Every problem a restart cannot fix, at once, before anything starts (exit 78).
    super::preflight(config)?;
    let signals = Signals::listen();
    let path = (config.store.path.as_deref()).context("the preflight checked store.path")?;
    // Bound before anything starts: a busy or foreign address fails the start, naming the key.
    let listener = match config.metrics.enabled {
        true => Some(bind_metrics(config.metrics.listen).await?),
        false => None,
    };
    let store = state::open_store(path, config.store.cache_bytes, reset_state)?;
    let metrics = Arc::new(Metrics::default());
    let (mut engine, position) = state::restore(config, &store)?;
    engine.defer_quiet_ticks();
    let resume = state::resume_points(&engine);
    let parts = Parts {
        engine,
        store: Some((store, position)),
        console: sinks::console(config, None, true)?,
        metrics,
        signals,
        fresh: Some(Freshness {
            bars: config.delivery.fresh_bars,
            now: wall_ms,
        }),
        pairs_behind: true,
    };
    let mut pipeline = Pipeline::start(config, parts)?;
    let health = Arc::new(SourceHealth::default());
    add_services(config, &mut pipeline, listener, &health)?;
    let service = config.service.clone();
    let (alive, stop) = (pipeline.engine_alive(), pipeline.stop_token());
    let watched = Arc::clone(&health);
    pipeline.serve(async move { systemd::supervise(&watched, &service, alive, stop).await });
    let source = source(pipeline.source_context(health, resume));
    pipeline.run(source, SourceEnd::Fails).await.map(drop)
}

/// What the daemon runs beside the pipeline: the metrics endpoint (until the sinks are done), the
/// heartbeat, the Telegram bot and the daily-summary clock (feeders of the engine, until
/// shutdown).
fn add_services(
    config: &Config,
    pipeline: &mut Pipeline,
    listener: Option<TcpListener>,
    health: &Arc<SourceHealth>,
) -> anyhow::Result<()> {
    let (health, shutdown) = (Arc::clone(health), pipeline.stop_token());
    pipeline.feed("heartbeat", move |commands| async move {
        heartbeat::run_heartbeat(commands, health, shutdown, heartbeat::EVERY).await;
        Ok(())
    });
    if let Some(listener) = listener {
        let (metrics, drained) = (Arc::clone(pipeline.metrics()), pipeline.drained_token());
        pipeline.serve(server::serve(listener, metrics, drained));
    }
    if let Some(telegram) = config.sinks.telegram.as_ref().filter(|t| t.commands) {
        let token = Secret::load(&telegram.token_env, "telegram_token")
            .context("the Telegram bot needs its token")?;
        let (telegram, shutdown) = (telegram.clone(), pipeline.stop_token());
        pipeline.feed("telegram bot", move |commands| async move {
            let started = tokio::time::Instant::now();
            let cx = BotContext {
                commands,
                started,
                shutdown,
            };
            (run_bot(&telegram, token, cx).await)
                .map_err(|e| anyhow::anyhow!("the Telegram bot stopped: {e}"))
        });
    }
    if config.summary.enabled {
        let schedule = SummarySchedule::new(&config.summary);
        let tz = config.summary.tz.iana_name().unwrap_or("UTC").to_owned();
        let shutdown = pipeline.stop_token();
        pipeline.feed("summary clock", move |commands| async move {
            summary::run_summaries(schedule, tz, commands, shutdown, wall_ms).await;
            Ok(())
        });
    }
    Ok(())
}

/// The metrics endpoint's listener on `addr` (`metrics.listen`).
async fn bind_metrics(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| {
        format!(
            "metrics.listen = {addr}: cannot listen there (in use, or not an address of this host)"
        )
    })
}
