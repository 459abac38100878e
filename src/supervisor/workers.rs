//! The delivery workers of a pipeline: one per durable sink the config enables, each woken by the
//! engine's commits and told to finish once the engine has drained; and collecting what each did.
//! Spawns only on the pipeline's tracker; never decides the shutdown order (`topology` does).

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::delivery::{DeliveryContext, DeliveryMeters, RetryPolicy, deliver};
use super::sinks::SinkSet;
use crate::clock::wall_ms;
use crate::config::Config;
use crate::engine::SinkSlot;
use crate::metrics::Metrics;
use crate::notify::{Delivered, Sink};
use crate::store::{OutboxDepth, Store, StoreError};

/// A delivery worker's task, by sink name.
pub(super) type Worker = (String, JoinHandle<Result<Delivered, StoreError>>);

/// Waits for every delivery worker (each stops when its outbox is empty or the deadline passed)
/// and returns what each delivered, with the first one that lost its store.
pub(super) async fn finish_workers(
    workers: Vec<Worker>,
) -> (BTreeMap<String, Delivered>, Option<anyhow::Error>) {
    let mut durable = BTreeMap::new();
    let mut lost = None;
    for (name, worker) in workers {
        match worker.await {
            Ok(Ok(done)) => {
                tracing::info!(sink = %name, sent = done.sent, failed = done.failed, "Sink stopped.");
                durable.insert(name, done);
            }
            Ok(Err(e)) => {
                tracing::error!(sink = %name, error = %e, "Sink lost its store.");
                lost.get_or_insert(
                    anyhow::Error::new(e).context(format!("the {name} sink lost its store")),
                );
            }
            Err(e) => {
                tracing::error!(sink = %name, error = %e, "Sink task panicked.");
                lost.get_or_insert(anyhow::anyhow!("the {name} sink task panicked: {e}"));
            }
        }
    }
    (durable, lost)
}

/// Spawns a delivery worker for every durable sink the config enables, after forgetting sent-log
/// records past their retention; returns the engine's view of them and their tasks.
pub(super) fn spawn_workers(
    config: &Config,
    store: &Store,
    tracker: &TaskTracker,
    (drained, hurry): (&CancellationToken, &CancellationToken),
    metrics: &Metrics,
) -> anyhow::Result<(Vec<SinkSlot>, Vec<Worker>)> {
    let sinks = SinkSet::build(config)?;
    let retention = config.delivery.sent_log_retention.as_millis() as i64;
    let pruned = store.prune_sent(wall_ms() - retention)?;
    if pruned > 0 {
        tracing::info!(pruned, "Forgot sent-log records past their retention.");
    }
    let mut spawner = Workers {
        config,
        store,
        tracker,
        drained,
        hurry,
        meters: metrics.register(DeliveryMeters::register),
        spawned: Vec::new(),
        slots: Vec::new(),
    };
    spawner.spawn(sinks.file);
    spawner.spawn(sinks.telegram);
    spawner.spawn(sinks.email);
    let names = spawner.slots.iter().map(|s| s.name.clone()).collect();
    metrics.register(|r| OutboxDepth::register(r, store.clone(), names));
    Ok((spawner.slots, spawner.spawned))
}

/// Spawns one delivery worker per durable sink, each woken by the engine's commits, told to
/// finish when the engine has drained and hurried by a signal.
struct Workers<'a> {
    config: &'a Config,
    store: &'a Store,
    tracker: &'a TaskTracker,
    drained: &'a CancellationToken,
    hurry: &'a CancellationToken,
    meters: DeliveryMeters,
    spawned: Vec<Worker>,
    /// The engine's view of them.
    slots: Vec<SinkSlot>,
}

impl Workers<'_> {
    fn spawn<S: Sink + Send + 'static>(&mut self, sink: Option<S>) {
        let Some(sink) = sink else { return };
        let name = sink.name().to_owned();
        let wake = Arc::new(Notify::new());
        let cx = DeliveryContext {
            store: self.store.clone(),
            policy: RetryPolicy::from(&self.config.delivery),
            wake: Arc::clone(&wake),
            shutdown: self.drained.clone(),
            hurry: self.hurry.clone(),
            deadline: self.config.delivery.shutdown_deadline,
            meter: self.meters.sink(&name),
        };
        let (draws_charts, reaches_people) = (sink.draws_charts(), sink.reaches_people());
        tracing::info!(sink = %name, "Delivery worker started.");
        self.spawned
            .push((name.clone(), self.tracker.spawn(deliver(sink, cx))));
        self.slots.push(SinkSlot {
            name,
            wake,
            draws_charts,
            reaches_people,
        });
    }
}
