//! One input's events stepped pair by pair: each pair's events in their order, different pairs on
//! up to `engine.threads` scoped threads that all end before the call returns. The alerts come
//! back in the input's order, so the outcome is the same with any number of threads. Never spawns
//! anything that outlives the call, never reads a clock.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::thread;

use super::{Engine, EngineStats, Knobs, Pair};
use crate::analytics::PairOutput;
use crate::analytics::SignalParams;
use crate::model::{Alert, Symbol, SymbolEvent, TimeMs};
use crate::rules::RuleParams;
use crate::view::{ChartSeries, market_chart};

/// Below this many events a batch steps on the calling thread: a thread costs more than it saves.
const PARALLEL_FROM: usize = 256;

/// An alert a batch raised: the index of the event that raised it and, when asked for, the chart
/// of that moment (the pair just after that event).
#[derive(Debug)]
pub struct Raised {
    pub index: usize,
    pub alert: Alert,
    pub chart: Option<ChartSeries>,
}

/// `engine.threads` as a count: 0 is one per core.
pub fn worker_threads(configured: usize) -> usize {
    match configured {
        0 => thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// One market's pairs (its only pair, or each venue's) and the batch's events of them, in order.
type Group<'p> = (Vec<&'p mut Pair>, Vec<usize>);

impl Engine {
    /// Processes a batch of events and appends the alerts they raise to `out`, each with the
    /// index of its event, in the order [`Engine::handle`] one event at a time would raise them.
    /// `wants_chart` says which alerts carry the chart of their moment. Markets are independent,
    /// so each market's events run together (its state stays in cache) and markets spread over
    /// threads.
    pub fn handle_batch(
        &mut self,
        events: &[SymbolEvent],
        wants_chart: &(dyn Fn(&Alert) -> bool + Sync),
        out: &mut Vec<Raised>,
    ) {
        self.out.clear();
        let admitted: Vec<usize> = (0..events.len())
            .filter(|&i| self.admit(&events[i]))
            .collect();
        let threads = self.threads;
        let (knobs, pairs, stats, scratch) = self.split();
        let mut by_market: HashMap<&Symbol, Vec<usize>> = HashMap::new();
        for i in admitted {
            let home = knobs.markets.home(&events[i].symbol);
            by_market.entry(home).or_default().push(i);
        }
        let threads = threads.min(by_market.len());
        let start = out.len();
        if threads <= 1 || events.len() < PARALLEL_FROM {
            for (home, indices) in by_market {
                let members = knobs.markets.members(home);
                if let [only] = members {
                    let pair = pairs.get_mut(only).expect("an admitted event has its pair");
                    let group = (vec![pair], indices);
                    run_group(&knobs, group, events, wants_chart, stats, scratch, out);
                    continue;
                }
                // Out of the map while they step, so each can read the others.
                let mut owned: Vec<Pair> = members.iter().filter_map(|s| pairs.remove(s)).collect();
                let group = (owned.iter_mut().collect(), indices);
                run_group(&knobs, group, events, wants_chart, stats, scratch, out);
                for pair in owned {
                    pairs.insert(pair.state.symbol().clone(), pair);
                }
            }
        } else {
            let mut groups: HashMap<&Symbol, Group<'_>> = HashMap::new();
            for (symbol, pair) in pairs.iter_mut() {
                let home = knobs.markets.home(symbol);
                if let Some(indices) = by_market.remove(home) {
                    groups.insert(home, (Vec::new(), indices));
                }
                if let Some(group) = groups.get_mut(home) {
                    group.0.push(pair);
                }
            }
            let mut groups: Vec<Group<'_>> = groups.into_values().collect();
            // Largest first, each taken by whichever thread is free: the threads finish close
            // together even when one of them is slowed (another process, the replay's reader).
            groups.sort_by_key(|(_, indices)| Reverse(indices.len()));
            let queue = Mutex::new(groups.into_iter());
            let next = || queue.lock().unwrap_or_else(PoisonError::into_inner).next();
            let dispatch = tracing::dispatcher::get_default(tracing::Dispatch::clone);
            let done: Vec<(EngineStats, Vec<Raised>)> = thread::scope(|scope| {
                let (knobs, dispatch, next) = (&knobs, &dispatch, &next);
                let handles: Vec<_> = (1..threads)
                    .map(|_| {
                        scope.spawn(move || {
                            tracing::dispatcher::with_default(dispatch, || {
                                run_queue(knobs, next, events, wants_chart)
                            })
                        })
                    })
                    .collect();
                let mut done = vec![run_queue(knobs, next, events, wants_chart)];
                for h in handles {
                    done.push(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
                }
                done
            });
            for (share_stats, raised) in done {
                stats.absorb(share_stats);
                out.extend(raised);
            }
        }
        // Stable: the alerts of one event keep the order their pair raised them in.
        out[start..].sort_by_key(|r| r.index);
    }
}

/// One thread's part: groups from `next` until none is left, with its own counters and alerts,
/// merged by the caller.
fn run_queue<'p>(
    knobs: &Knobs<'_>,
    next: &(dyn Fn() -> Option<Group<'p>> + Sync),
    events: &[SymbolEvent],
    wants_chart: &(dyn Fn(&Alert) -> bool + Sync),
) -> (EngineStats, Vec<Raised>) {
    let (mut stats, mut scratch, mut out) = Default::default();
    while let Some(group) = next() {
        run_group(
            knobs,
            group,
            events,
            wants_chart,
            &mut stats,
            &mut scratch,
            &mut out,
        );
    }
    (stats, out)
}

/// Steps one market's pairs through their events of the batch in order, charting an alert right
/// after the event that raised it, before the pair's next event changes it.
fn run_group(
    knobs: &Knobs<'_>,
    (mut members, indices): Group<'_>,
    events: &[SymbolEvent],
    wants_chart: &(dyn Fn(&Alert) -> bool + Sync),
    stats: &mut EngineStats,
    scratch: &mut PairOutput,
    out: &mut Vec<Raised>,
) {
    let mut raised = Vec::new();
    for index in indices {
        let (symbol, event) = (&events[index].symbol, &events[index].event);
        let at = match members.len() {
            1 => 0,
            _ => (members.iter())
                .position(|p| p.state.symbol() == symbol)
                .expect("a group holds the pair of each of its events"),
        };
        let (before, rest) = members.split_at_mut(at);
        let (pair, after) = rest.split_first_mut().expect("`at` is a member");
        if before.is_empty() && after.is_empty() {
            pair.step(knobs, event, &[], stats, scratch, &mut raised);
        } else {
            let siblings: Vec<&Pair> = before.iter().chain(after.iter()).map(|p| &**p).collect();
            pair.step(knobs, event, &siblings, stats, scratch, &mut raised);
        }
        for alert in raised.drain(..) {
            let chart = wants_chart(&alert)
                .then(|| chart_at(knobs.rules, knobs.params, pair, &alert, event.known_at()))
                .flatten();
            out.push(Raised {
                index,
                alert,
                chart,
            });
        }
    }
}

/// The chart of `alert` at `at` (the time of the event that raised it): the pair's chart now,
/// with the alert's levels or touched cluster.
pub(super) fn chart_at(
    rules: &RuleParams,
    params: &SignalParams,
    pair: &Pair,
    alert: &Alert,
    at: TimeMs,
) -> Option<ChartSeries> {
    let mut chart = market_chart(&pair.state, pair.venues.as_ref(), rules, params)?;
    chart.as_of = chart.as_of.max(at);
    Some(chart.with_alert(alert))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::PairSnapshot;
    use crate::engine::tests::demo;
    use crate::model::Venue;

    /// Every alert kind that carries a chart does here.
    fn charted(alert: &Alert) -> bool {
        alert.kind().as_str().starts_with("cluster_") || alert.kind().as_str() == "setup_entry"
    }

    /// What a run leaves: its alerts (with index and chart) as JSON, the pairs, the counters.
    type Outcome = (Vec<String>, Vec<PairSnapshot>, EngineStats);

    fn line(index: usize, alert: &Alert, chart: &Option<ChartSeries>) -> String {
        let chart = serde_json::to_string(chart).expect("chart");
        let alert = serde_json::to_string(alert).expect("alert");
        format!("{index} {alert} {chart}")
    }

    /// The reference: [`Engine::handle`], one event at a time, charting right after each.
    fn one_by_one(engine: &mut Engine, events: &[SymbolEvent]) -> Outcome {
        let (mut lines, mut raised) = (Vec::new(), Vec::new());
        for (index, ev) in events.iter().enumerate() {
            engine.handle(ev, &mut raised);
            for alert in raised.drain(..) {
                let chart = charted(&alert)
                    .then(|| engine.alert_chart(&alert, ev.event.known_at()))
                    .flatten();
                lines.push(line(index, &alert, &chart));
            }
        }
        (lines, engine.snapshot(), engine.stats().clone())
    }

    fn batched(engine: &mut Engine, events: &[SymbolEvent], size: usize) -> Outcome {
        let (mut lines, mut raised) = (Vec::new(), Vec::new());
        for (n, batch) in events.chunks(size).enumerate() {
            engine.handle_batch(batch, &charted, &mut raised);
            for r in raised.drain(..) {
                lines.push(line(n * size + r.index, &r.alert, &r.chart));
            }
        }
        (lines, engine.snapshot(), engine.stats().clone())
    }

    /// Batches step pair by pair on any number of threads and still raise exactly the alerts,
    /// charts and state of one event at a time, in the same order.
    #[test]
    fn a_batch_equals_one_event_at_a_time_with_any_threads() {
        let (config, events) = demo();
        let want = one_by_one(&mut Engine::new(&config), &events);
        assert!(want.0.len() > 100, "the demo raises alerts");
        assert!(want.0.iter().any(|l| !l.ends_with(" null")), "and charts");
        // (threads, events per batch)
        let cases = [
            (1, 1),
            (1, 1024),
            (2, 1024),
            (2, 255),
            (3, 300),
            (2, 50_000),
            (8, 4096),
        ];
        for (threads, size) in cases {
            let mut engine = Engine::new(&config);
            engine.threads = threads;
            let got = batched(&mut engine, &events, size);
            assert!(
                got.0 == want.0,
                "alerts differ: {threads} threads, batches of {size}"
            );
            assert!(
                got.1 == want.1,
                "state differs: {threads} threads, batches of {size}"
            );
            assert_eq!(got.2, want.2, "{threads} threads, batches of {size}");
        }
    }

    /// The demo with every pair also on Bybit (the same market data): the Binance pairs stay
    /// home and raise every alert, Bybit's raise none, each home pair holds the combined map,
    /// and batches still equal one event at a time.
    #[test]
    fn a_market_on_two_venues_alerts_once_and_batches_alike() {
        let (config, events) = demo();
        let mut both: Vec<SymbolEvent> = Vec::with_capacity(events.len() * 2);
        for ev in &events {
            both.push(ev.clone());
            let symbol = Symbol::on(Venue::Bybit, ev.symbol.name()).unwrap();
            both.push(SymbolEvent {
                symbol,
                ..ev.clone()
            });
        }
        both.sort_by_key(|e| e.event.known_at());
        let alone = one_by_one(&mut Engine::new(&config), &events);
        let mut engine = Engine::new(&config);
        let want = one_by_one(&mut engine, &both);
        assert!(
            want.0.iter().all(|l| !l.contains("BYBIT:")),
            "Bybit pairs raise nothing"
        );
        // Each alert as it would be alone (no event index, no chart: a home pair's chart now
        // draws the combined map); the cascade score gains its sixth signal, so its alerts may
        // differ.
        let alerts = |lines: &[String]| -> Vec<serde_json::Value> {
            (lines.iter())
                .filter(|l| !l.contains("cascade_loading"))
                .map(|l| {
                    let json = l.split_once(' ').unwrap().1;
                    let mut values = serde_json::Deserializer::from_str(json).into_iter();
                    values.next().unwrap().unwrap()
                })
                .collect()
        };
        assert_eq!(
            alerts(&want.0),
            alerts(&alone.0),
            "home pairs alert as alone"
        );
        let home = &engine.pairs[&"BTCUSDT".parse::<Symbol>().unwrap()];
        let view = home
            .venues
            .as_ref()
            .expect("the home pair holds the combined map");
        let venues: Vec<Venue> = view.shares.iter().map(|s| s.venue).collect();
        assert_eq!(venues, [Venue::Binance, Venue::Bybit]);
        // The same data on both books: every combined cluster is held by both, and aligned.
        assert!(
            view.venues
                .iter()
                .all(|v| v.aligned && v.held_by.len() == 2)
        );
        for (threads, size) in [(1, 1024), (2, 300), (3, 4096)] {
            let mut engine = Engine::new(&config);
            engine.threads = threads;
            let got = batched(&mut engine, &both, size);
            assert!(
                got.0 == want.0,
                "alerts differ: {threads} threads, batches of {size}"
            );
            assert!(
                got.1 == want.1,
                "state differs: {threads} threads, batches of {size}"
            );
        }
    }
}
