//! The engine task: consumes market batches and commands in order, routes every alert once (to
//! the console channel and the durable sinks), and — with a store — records the realized
//! liquidations it sees, commits the changed pair state, the routed alerts and the position in
//! one transaction, then wakes the sink workers. It never spawns; its only wait is on its inputs
//! and the console channel.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Notify, mpsc};

use super::{Command, Engine, EngineMeter, PairSnapshot, Query, Raised};
use crate::model::{Alert, AlertKind, MarketEvent, SymbolEvent, TimeMs, format_utc};
use crate::rules::{Routes, is_fresh};
use crate::source::Batch;
use crate::store::{Commit, Routed, Store, StoreError};
use crate::view::DeliveryView;

/// Events at most that waiting market batches are joined into (one step, one commit).
pub const COALESCE_EVENTS: usize = 8192;

/// The engine's inputs: market batches from the source, commands from the chat and the clock.
/// The engine runs until both are closed; a command goes before a waiting batch.
#[derive(Debug)]
pub struct Inputs {
    pub market: mpsc::Receiver<Batch>,
    pub commands: mpsc::Receiver<Command>,
}

impl Inputs {
    /// Market data only (a replay): no command can arrive.
    pub fn market(market: mpsc::Receiver<Batch>) -> Inputs {
        let (_none, commands) = mpsc::channel(1);
        Inputs { market, commands }
    }

    /// The next input. Market batches already waiting join the one received (up to
    /// [`COALESCE_EVENTS`]), so a burst — a 5m close of every pair — is stepped over the engine's
    /// threads and committed once, not once per message.
    async fn next(&mut self) -> Option<Next> {
        tokio::select! {
            biased;
            Some(command) = self.commands.recv() => Some(Next::Command(command)),
            Some(mut batch) = self.market.recv() => {
                while batch.len() < COALESCE_EVENTS {
                    let Ok(more) = self.market.try_recv() else { break };
                    batch.extend(more);
                }
                Some(Next::Market(batch))
            }
            else => None,
        }
    }
}

enum Next {
    Market(Batch),
    Command(Command),
}

/// A durable sink as the engine sees it: its name in the routes, how to wake its worker, and
/// whether it draws charts (then its alerts carry the chart data of their moment).
#[derive(Debug, Clone)]
pub struct SinkSlot {
    pub name: String,
    pub wake: Arc<Notify>,
    pub draws_charts: bool,
    /// People read it: a stale alert is not routed to it (see [`Freshness`]).
    pub reaches_people: bool,
}

/// How old an alert may be and still reach people: a live run's, where a warm-up or back-fill
/// raises alerts about the past. The engine task reads `now` when it routes (it is an edge; the
/// engine itself never reads a clock).
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    /// Bars of the alert's timeframe ([`crate::rules::is_fresh`]).
    pub bars: u32,
    pub now: fn() -> TimeMs,
}

/// Durable output: the store and the sink workers that read its outbox.
#[derive(Debug)]
pub struct Persist {
    pub store: Store,
    pub sinks: Vec<SinkSlot>,
    /// Events of the market input processed so far (restored from the store on a restart).
    pub position: u64,
    /// Live: the changed pairs' snapshots go to a writer behind the engine, in order, so a 5m
    /// close of every pair is not encoded and written on the engine's path. An input's alerts
    /// and position still commit before any sink sees them; its pairs may trail by an input,
    /// which a restart back-fills (a repeated alert is dropped by the sent log). `None`: the
    /// pairs go in the input's own transaction (a replay, whose position must match its pairs).
    pub behind: Option<mpsc::Sender<Vec<PairSnapshot>>>,
}

/// The writer behind the engine ([`Persist::behind`]): writes the pair snapshots handed to it,
/// in order, until the engine lets go. Blocking: the supervisor runs it on a thread of its own.
/// A store error stops it, and the engine at its next hand-over.
pub fn write_behind(
    store: &Store,
    mut rx: mpsc::Receiver<Vec<PairSnapshot>>,
) -> Result<(), StoreError> {
    while let Some(pairs) = rx.blocking_recv() {
        let commit = Commit {
            pairs: &pairs,
            alerts: &[],
            position: None,
        };
        store.commit(&commit).inspect_err(|error| {
            tracing::error!(%error, "Could not write the pairs' state; the writer stops.");
        })?;
    }
    Ok(())
}

/// The writer behind the engine stopped (its error is reported where it ran).
fn writer_gone() -> StoreError {
    StoreError::Io("the pair-state writer stopped".to_owned())
}

impl Persist {
    /// The durable sink called `name`, if it has a worker here.
    fn slot(&self, name: &str) -> Option<&SinkSlot> {
        self.sinks.iter().find(|s| s.name == name)
    }
}

/// Where the engine task puts what it produced: routing is decided here, once per alert.
#[derive(Debug)]
pub struct Outlet {
    pub routes: Routes,
    /// Every alert with its route, in order, for the console (which shows those routed to it
    /// and records all). A closed channel stops the engine.
    pub console: Option<mpsc::Sender<Routed>>,
    pub persist: Option<Persist>,
    /// `None`: every alert is news (a replay).
    pub fresh: Option<Freshness>,
    /// What the task counts for `/metrics`.
    pub meter: EngineMeter,
}

impl Outlet {
    /// Whether one of `sinks` draws charts.
    fn draws_chart(&self, sinks: &[String]) -> bool {
        let slot = |name: &String| self.persist.as_ref().and_then(|p| p.slot(name));
        sinks.iter().filter_map(slot).any(|s| s.draws_charts)
    }

    /// Every alert to `console`, nothing durable: a replay without a store, and tests.
    pub fn console(routes: Routes, console: mpsc::Sender<Routed>) -> Outlet {
        Outlet {
            routes,
            console: Some(console),
            persist: None,
            fresh: None,
            meter: EngineMeter::default(),
        }
    }

    /// The time alerts are judged fresh against, read once per input: `None` in a replay.
    fn now(&self) -> Option<(TimeMs, u32)> {
        self.fresh.map(|f| ((f.now)(), f.bars))
    }

    /// The sinks of `alert` that exist here: the console when it is attached, the durable
    /// sinks that have a worker, except those people read when the alert is stale at `now`
    /// (then `true` comes back with them: held).
    fn sinks_of(&self, alert: &Alert, now: Option<(TimeMs, u32)>) -> (Vec<String>, bool) {
        let stale = now.is_some_and(|(now, bars)| !is_fresh(alert, now, bars));
        let slot = |name: &str| self.persist.as_ref().and_then(|p| p.slot(name));
        let (mut sinks, mut held) = (Vec::new(), false);
        for name in self.routes.sinks_for(alert) {
            let takes = match slot(name) {
                _ if name == "console" => self.console.is_some(),
                Some(s) if stale && s.reaches_people => {
                    held = true;
                    false
                }
                found => found.is_some(),
            };
            if takes {
                sinks.push(name.to_owned());
            }
        }
        (sinks, held)
    }

    /// Whether `alert` must carry the chart of its moment: a cluster or setup alert that a
    /// chart-drawing sink takes. No other alert costs a chart.
    fn wants_chart(&self, alert: &Alert, now: Option<(TimeMs, u32)>) -> bool {
        shows_chart(alert.kind()) && self.draws_chart(&self.sinks_of(alert, now).0)
    }

    /// Routes `alert` once: its sinks, with the stale ones held from people and counted.
    fn route(&self, alert: &Alert, now: Option<(TimeMs, u32)>) -> Vec<String> {
        let (sinks, held) = self.sinks_of(alert, now);
        if held {
            self.meter.held_stale();
            let age_s = now.map_or(0, |(now, _)| (now - alert.time_ms) / 1000);
            tracing::debug!(alert = %alert.id, age_s, "Kept a stale alert from people.");
        }
        sinks
    }
}

impl Engine {
    /// Consumes inputs until every sender is gone and returns the engine (its final state) with
    /// the store error that stopped it early, if any: without its store the engine cannot keep
    /// its promise that no alert is lost, so it stops. The task is an edge: it reads the
    /// monotonic clock for its metrics, the engine itself never does.
    pub async fn run(
        mut self,
        mut inputs: Inputs,
        mut outlet: Outlet,
    ) -> (Engine, Result<(), StoreError>) {
        let (mut out, mut raised, mut routed) = (Vec::new(), Vec::new(), Vec::new());
        while let Some(next) = inputs.next().await {
            let started = Instant::now();
            let now = outlet.now();
            let processed = match next {
                Next::Market(events) => {
                    // Charted as each alert is raised, before its pair's next event changes it.
                    let wants_chart = |alert: &Alert| outlet.wants_chart(alert, now);
                    self.handle_batch(&events, &wants_chart, &mut raised);
                    for Raised { alert, chart, .. } in raised.drain(..) {
                        let sinks = outlet.route(&alert, now);
                        routed.push(Routed {
                            alert,
                            sinks,
                            chart,
                        });
                    }
                    if let Some(p) = &outlet.persist
                        && let Err(e) = record_liquidations(&p.store, &events)
                    {
                        return (self, Err(e));
                    }
                    events.len() as u64
                }
                Next::Command(command) => {
                    if let Err(e) = self.obey(command, outlet.persist.as_ref(), &mut out) {
                        return (self, Err(e));
                    }
                    let at = self.clock.unwrap_or(TimeMs::MIN);
                    self.route_raised(&outlet, &mut out, at, now, &mut routed);
                    0
                }
            };
            let routed = std::mem::take(&mut routed);
            if let Some(p) = &mut outlet.persist
                && let Err(e) = self.persist(p, processed, &routed).await
            {
                tracing::error!(error = %e, "Could not persist the engine's state; the engine stops.");
                return (self, Err(e));
            }
            outlet.meter.step(started.elapsed().as_secs_f64());
            outlet.meter.set_pairs(self.pairs.len());
            for r in &routed {
                outlet.meter.alert(r.alert.kind());
            }
            if let Some(console) = &outlet.console {
                for r in routed {
                    if console.send(r).await.is_err() {
                        tracing::error!("The console sink closed; the engine stops.");
                        return (self, Ok(()));
                    }
                }
            }
        }
        let drained = match &outlet.persist {
            Some(p) => self.persist_quiet(p).await,
            None => Ok(()),
        };
        (self, drained)
    }

    /// Routes the alerts a command raised, in order, with the chart of this moment (`at`) where
    /// [`Outlet::wants_chart`] says so.
    fn route_raised(
        &self,
        outlet: &Outlet,
        out: &mut Vec<Alert>,
        at: TimeMs,
        now: Option<(TimeMs, u32)>,
        routed: &mut Vec<Routed>,
    ) {
        for alert in out.drain(..) {
            let chart = (outlet.wants_chart(&alert, now))
                .then(|| self.alert_chart(&alert, at))
                .flatten();
            let sinks = outlet.route(&alert, now);
            routed.push(Routed {
                alert,
                sinks,
                chart,
            });
        }
    }

    /// Applies a command; a mute is stored before it applies, so a restart keeps it.
    fn obey(
        &mut self,
        command: Command,
        persist: Option<&Persist>,
        out: &mut Vec<Alert>,
    ) -> Result<(), StoreError> {
        let store = persist.map(|p| &p.store);
        match command {
            Command::Mute(mute) => {
                if let Some(store) = store {
                    store.put_mute(&mute)?;
                }
                tracing::info!(symbol = %mute.symbol, kind = ?mute.kind, until = %format_utc(mute.until), "Muted.");
                self.mute(mute);
            }
            Command::Unmute(symbol) => {
                if let Some(store) = store {
                    store.remove_mutes(&symbol)?;
                }
                let lifted = self.unmute(&symbol);
                tracing::info!(%symbol, lifted, "Unmuted.");
            }
            Command::Query(Query::Delivery(reply)) => {
                // The asker may have given up waiting; nothing to do then.
                let _gone = reply.send(store.map(delivery_view).unwrap_or_default());
            }
            Command::Query(query) => self.answer(query),
            Command::Summary(req) => match self.summary_alert(&req) {
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
        Ok(())
    }

    /// The drain's last commit: pairs whose quiet ticks were deferred (see
    /// [`Engine::defer_quiet_ticks`]).
    async fn persist_quiet(&mut self, p: &Persist) -> Result<(), StoreError> {
        let pairs = self.take_all_changed();
        if pairs.is_empty() {
            return Ok(());
        }
        tracing::info!(pairs = pairs.len(), "Persisted the pairs' last ticks.");
        match &p.behind {
            Some(writer) => writer.send(pairs).await.map_err(|_| writer_gone()),
            None => p.store.commit(&Commit {
                pairs: &pairs,
                alerts: &[],
                position: Some(p.position),
            }),
        }
    }

    /// One transaction for one input: the pairs it changed (or, with a writer behind, those
    /// handed to it after), its alerts for every durable sink they are routed to (with the
    /// chart captured when each was raised), and the new position; then the workers that got
    /// something are woken.
    async fn persist(
        &mut self,
        p: &mut Persist,
        processed: u64,
        routed: &[Routed],
    ) -> Result<(), StoreError> {
        let durable = |name: &String| p.slot(name);
        let queued: Vec<Routed> = (routed.iter())
            .filter_map(|r| {
                let sinks: Vec<String> = r
                    .sinks
                    .iter()
                    .filter(|s| durable(s).is_some())
                    .cloned()
                    .collect();
                if sinks.is_empty() {
                    return None;
                }
                let mut queued = Routed::new(r.alert.clone(), sinks);
                queued.chart.clone_from(&r.chart);
                Some(queued)
            })
            .collect();
        let pairs = self.take_changed();
        if pairs.is_empty() && queued.is_empty() && processed == 0 {
            return Ok(());
        }
        p.position += processed;
        let (inline, behind) = match p.behind {
            Some(_) => (Vec::new(), pairs),
            None => (pairs, Vec::new()),
        };
        p.store.commit(&Commit {
            pairs: &inline,
            alerts: &queued,
            position: Some(p.position),
        })?;
        for slot in &p.sinks {
            if queued.iter().any(|r| r.sinks.contains(&slot.name)) {
                slot.wake.notify_one();
            }
        }
        if let Some(writer) = &p.behind
            && !behind.is_empty()
        {
            writer.send(behind).await.map_err(|_| writer_gone())?;
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

/// The outbox and dead letters as the store has them; an unreadable part is `None` and logged.
fn delivery_view(store: &Store) -> DeliveryView {
    DeliveryView {
        outbox: (store.outbox_depth())
            .inspect_err(|error| tracing::warn!(%error, "Could not read the outbox depth."))
            .ok(),
        dead_letters: (store.dead_letters())
            .inspect_err(|error| tracing::warn!(%error, "Could not read the dead letters."))
            .ok()
            .map(|d| d.len()),
    }
}

/// Cluster and setup alerts are about a place on the chart.
fn shows_chart(kind: AlertKind) -> bool {
    matches!(
        kind,
        AlertKind::ClusterApproach
            | AlertKind::ClusterEdge
            | AlertKind::ClusterSwept
            | AlertKind::SetupEntry
    )
}
