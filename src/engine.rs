//! The engine: the single owner of all per-pair state. It takes one closed input enum, runs the
//! analytics and rules synchronously, and hands the alerts on. It never spawns tasks, touches the
//! network or reads the clock: ordering is the order of its inputs, so a replay is deterministic.
//! The task around it (`task.rs`) routes its alerts, hands them on and persists what it changed.

mod meter;
mod task;
#[cfg(test)]
mod tests;
mod views;

pub use meter::EngineMeter;
pub use task::{Freshness, Inputs, Outlet, Persist, SinkSlot};
pub use views::{MARKET, PairAnswer, Pulse, Query, SummaryRequest};

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::analytics::brackets::margin_for;
use crate::analytics::clusters::ClusterParams;
use crate::analytics::heatmap::{HeatmapParams, Kernel};
use crate::analytics::timeframe::BarSignals;
use crate::analytics::{PairContext, PairOutput, PairState, SignalParams};
use crate::config::{Config, SymbolFilter};
use crate::model::{Alert, AlertKind, MarketEvent, Symbol, SymbolEvent, TimeMs};
use crate::rules::{AlertSwitches, Mute, Mutes, PairRules, RuleContext, RuleParams, RuleTally};
use crate::store::Snapshot;

/// What the engine task takes besides market data (which arrives as [`crate::source::Batch`]es).
#[derive(Debug)]
pub enum Command {
    /// Silences a symbol (one kind or all) until a time, e.g. a `/mute` from the chat.
    Mute(Mute),
    /// Lifts every mute of a symbol.
    Unmute(Symbol),
    /// A question from a chat command; answered between two inputs, never blocking them long.
    Query(Query),
    /// Time for the daily summary: the engine raises it as an alert.
    Summary(SummaryRequest),
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
    /// Alerts dropped by a mute.
    pub muted: u64,
    /// What the rules held back (gaps, setups that did not qualify).
    pub rules: RuleTally,
}

#[derive(Debug)]
pub struct Engine {
    params: SignalParams,
    heatmap: HeatmapParams,
    clusters: ClusterParams,
    switches: AlertSwitches,
    rules: RuleParams,
    mutes: Mutes,
    filter: SymbolFilter,
    pairs: HashMap<Symbol, Pair>,
    stats: EngineStats,
    /// The newest event time seen: the engine's only notion of "now".
    clock: Option<TimeMs>,
    /// Reused buffers: the hot path allocates nothing per event.
    out: PairOutput,
    /// Persist soft changes (quiet marks, liquidations) only with a pair's next hard change.
    defer_soft: bool,
}

/// A pair's state with its heatmap kernel, which is derived from the config and the pair's
/// margin bracket and so rebuilt, never stored.
#[derive(Debug)]
struct Pair {
    state: PairState,
    rules: PairRules,
    kernel: Kernel,
    /// What happened to it since the last [`Engine::take_changed`].
    changed: Change,
}

/// How much a pair changed since it was last persisted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
enum Change {
    #[default]
    Clean,
    /// Only mark ticks or liquidations that raised nothing: with deferred marks (live) it waits
    /// for the pair's next bar or the drain.
    Soft,
    /// Anything else: the next commit persists it.
    Hard,
}

/// What a warm restart needs of one pair: its analytic state and its rule state (arms,
/// cooldowns, the last fuel touch, an open gap).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairSnapshot {
    pub state: PairState,
    pub rules: PairRules,
}

impl Snapshot for PairSnapshot {
    fn key(&self) -> &str {
        self.state.symbol().as_str()
    }
}

impl Engine {
    pub fn new(config: &Config) -> Engine {
        Engine {
            params: config.signals,
            heatmap: config.heatmap.model.clone(),
            clusters: config.heatmap.clusters,
            switches: config.alerts.clone(),
            rules: config.rules,
            mutes: config.mutes.clone(),
            filter: config.symbols.clone(),
            pairs: HashMap::new(),
            stats: EngineStats::default(),
            clock: None,
            out: PairOutput::default(),
            defer_soft: false,
        }
    }

    /// Processes one event and appends the alerts it raises to `out`.
    pub fn handle(&mut self, ev: &SymbolEvent, out: &mut Vec<Alert>) {
        self.stats.events += 1;
        self.out.clear();
        let known = ev.event.known_at();
        self.clock = Some(self.clock.map_or(known, |c| c.max(known)));
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
                self.pairs.entry(ev.symbol.clone()).or_insert(Pair {
                    state,
                    rules: PairRules::default(),
                    kernel,
                    changed: Change::Clean,
                })
            }
        };
        match ev.event {
            MarketEvent::Candle { .. } => self.stats.source_bars += 1,
            MarketEvent::Gap { .. } => self.stats.gaps += 1,
            _ => {}
        }
        let ctx = context(&self.params, &self.clusters, &pair.kernel);
        let rctx = RuleContext {
            signals: &self.params,
            switches: &self.switches,
            rules: &self.rules,
        };
        let before = out.len();
        let tally = &mut self.stats.rules;
        pair.rules
            .before_event(&pair.state, &ev.event, &rctx, tally, out);
        pair.state.on_event(&ev.event, &ctx, &mut self.out);
        pair.rules
            .after_event(&pair.state, &ev.event, &self.out.signals, &rctx, tally, out);
        self.stats.heat_steps += u64::from(self.out.heat_steps);
        self.stats.signal_bars += self.out.signals.len() as u64;
        let quiet = out.len() == before
            && matches!(ev.event, MarketEvent::Mark(_) | MarketEvent::Liquidation(_));
        let change = if quiet { Change::Soft } else { Change::Hard };
        pair.changed = pair.changed.max(change);
        if out.len() > before {
            let raised = out.split_off(before);
            for alert in raised {
                if self.mutes.is_muted(&alert) {
                    self.stats.muted += 1;
                    continue;
                }
                *self.stats.alerts.entry(alert.kind()).or_default() += 1;
                pair.rules.remember(&alert);
                out.push(alert);
            }
        }
    }

    /// Mutes `mute.symbol` (one kind or all) until `mute.until`, replacing an earlier mute of the
    /// same symbol and kind.
    pub fn mute(&mut self, mute: Mute) {
        self.mutes.add(mute);
    }

    /// Lifts every mute of `symbol`; returns how many there were.
    pub fn unmute(&mut self, symbol: &Symbol) -> usize {
        self.mutes.remove(symbol)
    }

    pub fn mutes(&self) -> &Mutes {
        &self.mutes
    }

    /// Every pair's state, in symbol order: what a warm restart needs (the store persists it).
    pub fn snapshot(&self) -> Vec<PairSnapshot> {
        let mut pairs: Vec<&Pair> = self.pairs.values().collect();
        pairs.sort_by(|a, b| a.state.symbol().cmp(b.state.symbol()));
        pairs
            .into_iter()
            .map(|p| PairSnapshot {
                state: p.state.clone(),
                rules: p.rules.clone(),
            })
            .collect()
    }

    /// An engine that continues from `snapshot` as if it had processed the events behind it.
    /// Kernels are rebuilt from the config, so a changed config applies from here on. Its data
    /// clock starts at the newest source bar restored: the restored pairs are data, and the
    /// views (the bot's board, `/status`) must not call them "no data" until the next event.
    pub fn restore(config: &Config, snapshot: Vec<PairSnapshot>) -> Engine {
        let mut engine = Engine::new(config);
        engine.clock = snapshot
            .iter()
            .filter_map(|p| p.state.last_source_close())
            .max();
        for PairSnapshot { state, rules } in snapshot {
            let kernel = Kernel::new(&engine.heatmap, margin_for(state.symbol()));
            let pair = Pair {
                state,
                rules,
                kernel,
                changed: Change::Clean,
            };
            engine.pairs.insert(pair.state.symbol().clone(), pair);
        }
        engine
    }

    /// Live: a mark tick or a liquidation that raised no alert no longer makes its pair's snapshot
    /// due; the pair is persisted with its next bar (every 5 minutes) or at the drain. Every mark
    /// array touches every pair each second, and a snapshot is tens of KB: without this the store
    /// would rewrite every pair every second. A crash loses at most those quiet ticks, which the
    /// next bar's high and low cover. Replays keep persisting everything, so their position stays
    /// exact.
    pub fn defer_quiet_ticks(&mut self) {
        self.defer_soft = true;
    }

    /// Snapshots of the pairs due since the last call, in symbol order.
    pub fn take_changed(&mut self) -> Vec<PairSnapshot> {
        let due = if self.defer_soft {
            Change::Hard
        } else {
            Change::Soft
        };
        self.take_from(due)
    }

    /// Snapshots of every pair changed at all since the last call: the drain's last commit.
    pub fn take_all_changed(&mut self) -> Vec<PairSnapshot> {
        self.take_from(Change::Soft)
    }

    fn take_from(&mut self, due: Change) -> Vec<PairSnapshot> {
        let mut changed: Vec<&mut Pair> = self
            .pairs
            .values_mut()
            .filter(|p| p.changed >= due)
            .collect();
        changed.sort_by(|a, b| a.state.symbol().cmp(b.state.symbol()));
        changed
            .into_iter()
            .map(|p| {
                p.changed = Change::Clean;
                PairSnapshot {
                    state: p.state.clone(),
                    rules: p.rules.clone(),
                }
            })
            .collect()
    }

    /// The 4h/1d/1w bars the last [`Engine::handle`] closed, for its event's pair (empty when it
    /// closed none): what the backtest reads to take every entry trigger as a baseline trade.
    pub fn last_signals(&self) -> &[BarSignals] {
        &self.out.signals
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
