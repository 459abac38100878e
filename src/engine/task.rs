//! The engine task: consumes inputs in order, hands alerts to the console channel and — with a
//! store — records the realized liquidations it sees, commits the changed pair state, the routed
//! alerts and the replay position in one transaction, then wakes the sink workers. It never
//! spawns and never sends to a channel itself.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Notify, mpsc};

use super::{Engine, Input};
use crate::metrics::Metrics;
use crate::model::Alert;
use crate::model::AlertKind;
use crate::model::{MarketEvent, SymbolEvent};
use crate::rules::Routes;
use crate::store::{Commit, Routed, Store, StoreError};
use crate::view::chart_series;

/// Durable output: the store, the routes, and the sink workers that read the outbox.
#[derive(Debug)]
pub struct Persist {
    pub store: Store,
    pub routes: Routes,
    /// Sinks with a worker, by name, and how to wake each.
    pub sinks: Vec<(String, Arc<Notify>)>,
    /// Events of the input stream processed so far (restored from the store on a restart).
    pub position: u64,
}

/// Where the engine task puts what it produced.
#[derive(Debug, Default)]
pub struct Outlet {
    /// Every alert, in order, for the console. A closed channel stops the engine.
    pub console: Option<mpsc::Sender<Alert>>,
    pub persist: Option<Persist>,
}

impl Engine {
    /// The engine task without a store: every alert goes to `alerts`.
    pub async fn run(self, inputs: mpsc::Receiver<Input>, alerts: mpsc::Sender<Alert>) -> Engine {
        let outlet = Outlet {
            console: Some(alerts),
            persist: None,
        };
        self.run_with(inputs, outlet).await.0
    }

    /// Consumes inputs until every sender is gone and returns the engine (its final state) with
    /// the store error that stopped it early, if any: without its store the engine cannot keep
    /// its promise that no alert is lost, so it stops.
    pub async fn run_with(
        self,
        inputs: mpsc::Receiver<Input>,
        outlet: Outlet,
    ) -> (Engine, Result<(), StoreError>) {
        self.run_metered(inputs, outlet, Arc::default()).await
    }

    /// [`Engine::run_with`], counting alerts, pairs and the time each input takes in `metrics`.
    /// The task is an edge: it reads the monotonic clock, the engine itself never does.
    pub async fn run_metered(
        mut self,
        mut inputs: mpsc::Receiver<Input>,
        mut outlet: Outlet,
        metrics: Arc<Metrics>,
    ) -> (Engine, Result<(), StoreError>) {
        let mut out = Vec::new();
        while let Some(input) = inputs.recv().await {
            let started = Instant::now();
            let mut processed = 0;
            match input {
                Input::Market(events) => {
                    for ev in &events {
                        self.handle(ev, &mut out);
                    }
                    processed = events.len() as u64;
                    if let Some(p) = &outlet.persist
                        && let Err(e) = record_liquidations(&p.store, &events)
                    {
                        return (self, Err(e));
                    }
                }
                Input::Mute(mute) => {
                    if let Some(p) = &outlet.persist
                        && let Err(e) = p.store.put_mute(&mute)
                    {
                        return (self, Err(e));
                    }
                    tracing::info!(symbol = %mute.symbol, kind = ?mute.kind, until = mute.until, "Muted.");
                    self.mute(mute);
                }
                Input::Unmute(symbol) => {
                    if let Some(p) = &outlet.persist
                        && let Err(e) = p.store.remove_mutes(&symbol)
                    {
                        return (self, Err(e));
                    }
                    let lifted = self.unmute(&symbol);
                    tracing::info!(%symbol, lifted, "Unmuted.");
                }
                Input::Query(query) => self.answer(query),
                Input::Summary(req) => match self.summary_alert(&req) {
                    Ok(alert) => {
                        tracing::info!(alert = %alert.id, "Daily summary raised.");
                        *self.stats.alerts.entry(alert.kind()).or_default() += 1;
                        out.push(alert);
                    }
                    // A report that does not encode is a bug; the engine goes on without it.
                    Err(e) => tracing::error!(
                        day = %req.day,
                        error = %e,
                        "Could not encode the daily summary; none goes out for this day."
                    ),
                },
            }
            if let Some(p) = &mut outlet.persist
                && let Err(e) = self.persist(p, processed, &out)
            {
                tracing::error!(error = %e, "Could not persist the engine's state; the engine stops.");
                return (self, Err(e));
            }
            metrics.engine_step(started.elapsed().as_secs_f64());
            metrics.set_engine_pairs(self.pairs.len());
            for alert in &out {
                metrics.alert(alert.kind());
            }
            if let Some(console) = &outlet.console {
                for alert in out.drain(..) {
                    if console.send(alert).await.is_err() {
                        tracing::error!("Alert sink closed; the engine stops.");
                        return (self, Ok(()));
                    }
                }
            }
            out.clear();
        }
        let drained = match &outlet.persist {
            Some(p) => self.persist_quiet(p),
            None => Ok(()),
        };
        (self, drained)
    }

    /// The drain's last commit: pairs whose quiet ticks were deferred (see
    /// [`Engine::defer_quiet_ticks`]).
    fn persist_quiet(&mut self, p: &Persist) -> Result<(), StoreError> {
        let pairs = self.take_all_changed();
        if pairs.is_empty() {
            return Ok(());
        }
        tracing::info!(pairs = pairs.len(), "Persisted the pairs' last ticks.");
        p.store.commit(&Commit {
            pairs: &pairs,
            alerts: &[],
            position: Some(p.position),
        })
    }

    /// One transaction for one input: the pairs it changed, its alerts for every durable sink
    /// they are routed to, and the new position; then the workers that got something are woken.
    fn persist(
        &mut self,
        p: &mut Persist,
        processed: u64,
        alerts: &[Alert],
    ) -> Result<(), StoreError> {
        let routed: Vec<Routed> = alerts
            .iter()
            .filter_map(|alert| {
                let sinks: Vec<String> = p
                    .routes
                    .sinks_for(alert)
                    .into_iter()
                    .filter(|s| p.sinks.iter().any(|(name, _)| name == s))
                    .map(str::to_owned)
                    .collect();
                if sinks.is_empty() {
                    return None;
                }
                let mut routed = Routed::new(alert.clone(), sinks);
                if shows_chart(&routed) {
                    routed.chart = self
                        .pairs
                        .get(&alert.symbol)
                        .and_then(|pair| chart_series(&pair.state, &self.rules, &self.params));
                }
                Some(routed)
            })
            .collect();
        let pairs = self.take_changed();
        if pairs.is_empty() && routed.is_empty() && processed == 0 {
            return Ok(());
        }
        p.position += processed;
        p.store.commit(&Commit {
            pairs: &pairs,
            alerts: &routed,
            position: Some(p.position),
        })?;
        for (name, wake) in &p.sinks {
            if routed.iter().any(|r| r.sinks.contains(name)) {
                wake.notify_one();
            }
        }
        Ok(())
    }
}

/// Keeps the realized liquidations of a batch for `validate-model --store` (DESIGN.md §4.5).
/// Outside the commit's transaction: a crash between the two records a print twice, at worst.
fn record_liquidations(store: &Store, events: &[SymbolEvent]) -> Result<(), StoreError> {
    for e in events {
        if let MarketEvent::Liquidation(l) = &e.event {
            store.record_liquidation(&e.symbol, l)?;
        }
    }
    Ok(())
}

/// Cluster and setup alerts carry a chart to the sinks that draw one.
fn shows_chart(routed: &Routed) -> bool {
    let kind = matches!(
        routed.alert.kind(),
        AlertKind::ClusterApproach
            | AlertKind::ClusterEdge
            | AlertKind::ClusterSwept
            | AlertKind::SetupEntry
    );
    kind && routed.sinks.iter().any(|s| s == "telegram" || s == "email")
}
