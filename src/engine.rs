//! The engine: the single owner of all per-pair state. It takes one closed input enum, runs the
//! analytics and rules synchronously, and hands the alerts on. It never spawns tasks, touches the
//! network or reads the clock: ordering is the order of its inputs, so a replay is deterministic.
//! The task around it (`task.rs`) routes its alerts, hands them on and persists what it changed.

mod batch;
mod markets;
mod meter;
mod task;
#[cfg(test)]
mod tests;
mod views;

pub use batch::{Raised, worker_threads};
pub use meter::EngineMeter;
pub use task::{COALESCE_EVENTS, Freshness, Inputs, Outlet, Persist, SinkSlot, write_behind};
pub use views::{MARKET, PairAnswer, Pulse, Query, SummaryRequest};

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::analytics::brackets::{MarginSpec, margin_for};
use crate::analytics::clusters::ClusterParams;
use crate::analytics::heatmap::{HeatmapParams, Kernel};
use crate::analytics::loading::CalendarEntry;
use crate::analytics::timeframe::BarSignals;
use crate::analytics::venues::{Member, VenueMap, combine};
use crate::analytics::{PairContext, PairOutput, PairState, SignalParams};
use crate::config::CascadeConfig;
use crate::config::{Config, SymbolFilter};
use crate::model::{Alert, AlertKind, Instrument, MarketEvent, Symbol, SymbolEvent, TimeMs};
use crate::rules::{
    AlertSwitches, CascadeLevel, CascadeSetup, Mute, Mutes, PairRules, RuleContext, RuleParams,
    RuleTally,
};
use crate::store::Snapshot;
use markets::Markets;

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

impl EngineStats {
    /// Adds what another worker counted (a thread's share of a batch).
    fn absorb(&mut self, other: EngineStats) {
        self.events += other.events;
        self.source_bars += other.source_bars;
        self.signal_bars += other.signal_bars;
        for (kind, n) in other.alerts {
            *self.alerts.entry(kind).or_default() += n;
        }
        self.filtered_events += other.filtered_events;
        self.gaps += other.gaps;
        self.heat_steps += other.heat_steps;
        self.muted += other.muted;
        self.rules.absorb(other.rules);
    }
}

#[derive(Debug)]
pub struct Engine {
    params: SignalParams,
    heatmap: HeatmapParams,
    clusters: ClusterParams,
    switches: AlertSwitches,
    rules: RuleParams,
    mutes: Mutes,
    cascade: CascadeConfig,
    calendar: Vec<CalendarEntry>,
    filter: SymbolFilter,
    pairs: HashMap<Symbol, Pair>,
    /// Which pairs are one market on several venues.
    markets: Markets,
    stats: EngineStats,
    /// The newest event time seen: the engine's only notion of "now".
    clock: Option<TimeMs>,
    /// Reused buffers: the hot path allocates nothing per event.
    out: PairOutput,
    /// Persist soft changes (quiet marks, liquidations) only with a pair's next hard change.
    defer_soft: bool,
    /// Threads that step one batch's pairs (at least 1).
    threads: usize,
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
    /// Whether it raises its market's alerts (the only venue, or the first followed one).
    home: bool,
    /// Base-asset units per unit of its price ([`Instrument::multiplier`]).
    multiplier: u32,
    /// Its market on every followed venue, rebuilt at each of its heatmap steps (home pairs of
    /// markets on several venues only; derived, never stored).
    venues: Option<VenueMap>,
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

/// What every pair's step reads and none writes: the settings, and the mutes (commands change
/// them between inputs only).
#[derive(Debug, Clone, Copy)]
struct Knobs<'a> {
    params: &'a SignalParams,
    clusters: &'a ClusterParams,
    switches: &'a AlertSwitches,
    rules: &'a RuleParams,
    mutes: &'a Mutes,
    cascade: CascadeSetup<'a>,
    markets: &'a Markets,
}

/// [`Engine::split`]: the knobs, the pairs, the counters and the step's scratch.
type Stepping<'a> = (
    Knobs<'a>,
    &'a mut HashMap<Symbol, Pair>,
    &'a mut EngineStats,
    &'a mut PairOutput,
);

impl Pair {
    fn new(state: PairState, rules: PairRules, kernel: Kernel) -> Pair {
        Pair {
            multiplier: Instrument::of(state.symbol()).map_or(1, |i| i.multiplier),
            state,
            rules,
            kernel,
            changed: Change::Clean,
            home: true,
            venues: None,
        }
    }

    /// Runs one event of this pair through its analytics and rules and appends the alerts that
    /// pass the mutes to `out`; counts into `stats`. Changes nothing but this pair, and reads
    /// only its market's other pairs (`siblings`), so markets can step on different threads. A
    /// pair that is not its market's home runs no rules: it feeds the home pair's combined map.
    fn step(
        &mut self,
        k: &Knobs<'_>,
        event: &MarketEvent,
        siblings: &[&Pair],
        stats: &mut EngineStats,
        scratch: &mut PairOutput,
        out: &mut Vec<Alert>,
    ) {
        scratch.clear();
        match event {
            MarketEvent::Candle { .. } => stats.source_bars += 1,
            MarketEvent::Gap { .. } => stats.gaps += 1,
            // A venue that publishes its tiers places its own positions' liquidations.
            MarketEvent::Margin(tier) => {
                let margin = MarginSpec {
                    mmr: tier.mmr,
                    max_leverage: tier.max_leverage,
                };
                self.kernel = Kernel::new(&self.kernel.params().clone(), margin);
            }
            _ => {}
        }
        let ctx = context(k.params, k.clusters, &self.kernel);
        let before = out.len();
        let tally = &mut stats.rules;
        if self.home {
            let rctx = rule_context(k, &self.kernel, self.venues.as_ref());
            (self.rules).before_event(&self.state, event, &rctx, tally, out);
        }
        self.state.on_event(event, &ctx, scratch);
        if self.home {
            if scratch.heat_steps > 0 && !siblings.is_empty() {
                self.venues = self.combined(k.clusters, siblings);
            }
            let rctx = rule_context(k, &self.kernel, self.venues.as_ref());
            (self.rules).after_event(&self.state, event, &scratch.signals, &rctx, tally, out);
        }
        stats.heat_steps += u64::from(scratch.heat_steps);
        stats.signal_bars += scratch.signals.len() as u64;
        let quiet = out.len() == before
            && matches!(event, MarketEvent::Mark(_) | MarketEvent::Liquidation(_));
        let change = if quiet { Change::Soft } else { Change::Hard };
        self.changed = self.changed.max(change);
        if out.len() > before {
            let raised = out.split_off(before);
            for alert in raised {
                if k.mutes.is_muted(&alert) {
                    stats.muted += 1;
                    continue;
                }
                *stats.alerts.entry(alert.kind()).or_default() += 1;
                self.rules.remember(&alert);
                out.push(alert);
            }
        }
    }

    /// This pair's market on every venue: its own map with its siblings' summed onto it. The
    /// siblings are as of their last step, which for a bar of the same close may be the one
    /// before (input order decides, the same in a replay as live).
    fn combined(&self, clusters: &ClusterParams, siblings: &[&Pair]) -> Option<VenueMap> {
        let heat = self.state.heat();
        let price = heat.map().last_price()?;
        let members: Vec<Member<'_>> = std::iter::once(self)
            .chain(siblings.iter().copied())
            .map(|p| Member {
                venue: p.state.symbol().venue(),
                map: p.state.heat().map(),
                clusters: p.state.heat().clusters(),
                shift: heat.map().multiplier_shift(self.multiplier, p.multiplier),
            })
            .collect();
        let atr = heat.atr_1d().unwrap_or(0.0);
        let previous = self.venues.as_ref().map(|v| &v.clusters);
        combine(&members, clusters, price, atr, previous)
    }
}

/// What the rules of a pair read: the knobs, its kernel's margin and bin width, its market.
fn rule_context<'b>(
    k: &'b Knobs<'_>,
    kernel: &'b Kernel,
    venues: Option<&'b VenueMap>,
) -> RuleContext<'b> {
    RuleContext {
        signals: k.params,
        switches: k.switches,
        rules: k.rules,
        mmr: kernel.margin().mmr,
        bin_frac: kernel.params().bin_bp / 1e4,
        cascade: CascadeSetup {
            venues,
            ..k.cascade
        },
    }
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
            cascade: config.cascade.clone(),
            calendar: config.calendar.clone(),
            mutes: config.mutes.clone(),
            filter: config.symbols.clone(),
            pairs: HashMap::new(),
            markets: Markets::default(),
            stats: EngineStats::default(),
            clock: None,
            out: PairOutput::default(),
            defer_soft: false,
            threads: worker_threads(config.engine.threads),
        }
    }

    /// Processes one event and appends the alerts it raises to `out`.
    pub fn handle(&mut self, ev: &SymbolEvent, out: &mut Vec<Alert>) {
        self.out.clear();
        if !self.admit(ev) {
            return;
        }
        let (knobs, pairs, stats, scratch) = self.split();
        let members = knobs.markets.members(&ev.symbol);
        if members.len() == 1 {
            let pair = pairs
                .get_mut(&ev.symbol)
                .expect("an admitted event has its pair");
            pair.step(&knobs, &ev.event, &[], stats, scratch, out);
            return;
        }
        // Out of the map while it steps, so its siblings can be read beside it.
        let mut pair = pairs
            .remove(&ev.symbol)
            .expect("an admitted event has its pair");
        let siblings: Vec<&Pair> = (members.iter()).filter_map(|s| pairs.get(s)).collect();
        pair.step(&knobs, &ev.event, &siblings, stats, scratch, out);
        pairs.insert(ev.symbol.clone(), pair);
    }

    /// What the cascade-loading score and its alert read from the config.
    fn cascade_setup(&self) -> CascadeSetup<'_> {
        cascade_setup(&self.cascade, &self.calendar)
    }

    /// The engine as a step sees it: the knobs every pair reads, and the pairs, counters and
    /// scratch the step changes.
    fn split(&mut self) -> Stepping<'_> {
        let knobs = Knobs {
            params: &self.params,
            clusters: &self.clusters,
            switches: &self.switches,
            rules: &self.rules,
            mutes: &self.mutes,
            cascade: cascade_setup(&self.cascade, &self.calendar),
            markets: &self.markets,
        };
        (knobs, &mut self.pairs, &mut self.stats, &mut self.out)
    }

    /// Counts `ev`, moves the data clock and makes sure its pair exists; false when the config
    /// filters its symbol out (then it is only counted).
    fn admit(&mut self, ev: &SymbolEvent) -> bool {
        self.stats.events += 1;
        let known = ev.event.known_at();
        self.clock = Some(self.clock.map_or(known, |c| c.max(known)));
        if !self.filter.accepts(&ev.symbol) {
            self.stats.filtered_events += 1;
            return false;
        }
        if !self.pairs.contains_key(&ev.symbol) {
            let kernel = Kernel::new(&self.heatmap, margin_for(&ev.symbol));
            let ctx = context(&self.params, &self.clusters, &kernel);
            let state = PairState::new(ev.symbol.clone(), &ctx);
            self.insert(Pair::new(state, PairRules::default(), kernel));
        }
        true
    }

    /// Adds a pair and places it in its market: when that market is on several venues, its
    /// members learn which one is home.
    fn insert(&mut self, pair: Pair) {
        let symbol = pair.state.symbol().clone();
        self.pairs.insert(symbol.clone(), pair);
        if let Some(members) = self.markets.join(&symbol) {
            for (i, member) in members.iter().enumerate() {
                if let Some(p) = self.pairs.get_mut(member) {
                    p.home = i == 0;
                }
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
            engine.insert(Pair::new(state, rules, kernel));
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

fn cascade_setup<'a>(c: &'a CascadeConfig, calendar: &'a [CalendarEntry]) -> CascadeSetup<'a> {
    CascadeSetup {
        loading: &c.loading,
        calendar,
        when: CascadeLevel {
            level: c.alert_level,
            min_known: c.min_known,
            near_frac: c.loading.cluster_max,
        },
        venues: None,
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
