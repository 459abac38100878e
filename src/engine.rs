//! The engine: the single owner of all per-pair state. It takes one closed input enum, runs the
//! analytics and rules synchronously, and hands the alerts on. It never spawns tasks, touches the
//! network or reads the clock: ordering is the order of its inputs, so a replay is deterministic.

use std::collections::{BTreeMap, HashMap};

use tokio::sync::mpsc;

use crate::analytics::brackets::margin_for;
use crate::analytics::clusters::ClusterParams;
use crate::analytics::heatmap::{HeatmapParams, Kernel};
use crate::analytics::{PairContext, PairOutput, PairState, SignalParams};
use crate::config::{AlertSwitches, Config, SymbolFilter};
use crate::model::{Alert, AlertKind, MarketEvent, Symbol, SymbolEvent};
use crate::rules;

/// Everything the engine task consumes.
#[derive(Debug)]
pub enum Input {
    /// Market events in time order; sources send them in batches to keep channel cost off the
    /// per-event path.
    Market(Vec<SymbolEvent>),
}

/// Counters of what the engine has processed, for the replay summary and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub events: u64,
    /// Closed source bars (1m/5m) received.
    pub source_bars: u64,
    /// Closed 4h/1d/1w bars produced.
    pub signal_bars: u64,
    pub alerts: BTreeMap<AlertKind, u64>,
    /// Events for symbols the config filters out.
    pub filtered_events: u64,
    /// Gap events received from sources.
    pub gaps: u64,
    /// Heatmap steps taken (one per pair per 5-minute bar).
    pub heat_steps: u64,
}

#[derive(Debug)]
pub struct Engine {
    params: SignalParams,
    heatmap: HeatmapParams,
    clusters: ClusterParams,
    switches: AlertSwitches,
    filter: SymbolFilter,
    pairs: HashMap<Symbol, Pair>,
    stats: EngineStats,
    /// Reused buffers: the hot path allocates nothing per event.
    out: PairOutput,
}

/// A pair's state with its heatmap kernel, which is derived from the config and the pair's
/// margin bracket and so rebuilt, never stored.
#[derive(Debug)]
struct Pair {
    state: PairState,
    kernel: Kernel,
}

impl Engine {
    pub fn new(config: &Config) -> Engine {
        Engine {
            params: config.signals,
            heatmap: config.heatmap.model.clone(),
            clusters: config.heatmap.clusters,
            switches: config.alerts.clone(),
            filter: config.symbols.clone(),
            pairs: HashMap::new(),
            stats: EngineStats::default(),
            out: PairOutput::default(),
        }
    }

    /// Processes one event and appends the alerts it raises to `out`.
    pub fn handle(&mut self, ev: &SymbolEvent, out: &mut Vec<Alert>) {
        self.stats.events += 1;
        if !self.filter.accepts(&ev.symbol) {
            self.stats.filtered_events += 1;
            return;
        }
        let pair = match self.pairs.get_mut(&ev.symbol) {
            Some(pair) => pair,
            None => {
                let kernel = Kernel::new(&self.heatmap, margin_for(&ev.symbol));
                let ctx = context(&self.params, &self.clusters, &kernel);
                let state = PairState::new(ev.symbol.clone(), &ctx);
                self.pairs
                    .entry(ev.symbol.clone())
                    .or_insert(Pair { state, kernel })
            }
        };
        match ev.event {
            MarketEvent::Candle { .. } => self.stats.source_bars += 1,
            MarketEvent::Gap { .. } => self.stats.gaps += 1,
            _ => {}
        }
        self.out.clear();
        let ctx = context(&self.params, &self.clusters, &pair.kernel);
        pair.state.on_event(&ev.event, &ctx, &mut self.out);
        self.stats.heat_steps += u64::from(self.out.heat_steps);
        self.stats.signal_bars += self.out.signals.len() as u64;
        let before = out.len();
        for s in &self.out.signals {
            rules::signal_alerts(&ev.symbol, s, &self.switches, &self.params, out);
        }
        for alert in &out[before..] {
            *self.stats.alerts.entry(alert.kind).or_default() += 1;
        }
    }

    /// Every pair's state, in symbol order: what a warm restart needs (the store persists it).
    pub fn snapshot(&self) -> Vec<PairState> {
        self.pairs().into_iter().cloned().collect()
    }

    /// An engine that continues from `snapshot` as if it had processed the events behind it.
    /// Kernels are rebuilt from the config, so a changed config applies from here on.
    pub fn restore(config: &Config, snapshot: Vec<PairState>) -> Engine {
        let mut engine = Engine::new(config);
        for state in snapshot {
            let kernel = Kernel::new(&engine.heatmap, margin_for(state.symbol()));
            engine
                .pairs
                .insert(state.symbol().clone(), Pair { state, kernel });
        }
        engine
    }

    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    pub fn pair(&self, symbol: &Symbol) -> Option<&PairState> {
        self.pairs.get(symbol).map(|p| &p.state)
    }

    /// Pairs in symbol order (the map itself has no stable order).
    pub fn pairs(&self) -> Vec<&PairState> {
        let mut pairs: Vec<&PairState> = self.pairs.values().map(|p| &p.state).collect();
        pairs.sort_by(|a, b| a.symbol().cmp(b.symbol()));
        pairs
    }

    /// The engine task: consumes inputs until every sender is gone, forwards alerts in order, and
    /// returns itself so the caller can read the final state. A closed alert channel (the sink
    /// is gone) stops it early.
    pub async fn run(
        mut self,
        mut inputs: mpsc::Receiver<Input>,
        alerts: mpsc::Sender<Alert>,
    ) -> Engine {
        let mut out = Vec::new();
        while let Some(input) = inputs.recv().await {
            match input {
                Input::Market(events) => {
                    for ev in &events {
                        self.handle(ev, &mut out);
                    }
                }
            }
            for alert in out.drain(..) {
                if alerts.send(alert).await.is_err() {
                    tracing::error!("Alert sink closed; the engine stops.");
                    return self;
                }
            }
        }
        self
    }
}

fn context<'a>(
    signals: &'a SignalParams,
    clusters: &'a ClusterParams,
    kernel: &'a Kernel,
) -> PairContext<'a> {
    PairContext {
        signals,
        clusters,
        kernel,
    }
}
