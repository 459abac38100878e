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
use crate::view::{ChartSeries, chart_series};

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

/// Which of a batch's events belong to one pair, in order.
type Group<'p> = (&'p mut Pair, Vec<usize>);

impl Engine {
    /// Processes a batch of events and appends the alerts they raise to `out`, each with the
    /// index of its event, in the order [`Engine::handle`] one event at a time would raise them.
    /// `wants_chart` says which alerts carry the chart of their moment. Pairs are independent, so
    /// each pair's events run together (its state stays in cache) and pairs spread over threads.
    pub fn handle_batch(
        &mut self,
        events: &[SymbolEvent],
        wants_chart: &(dyn Fn(&Alert) -> bool + Sync),
        out: &mut Vec<Raised>,
    ) {
        self.out.clear();
        let mut by_pair: HashMap<&Symbol, Vec<usize>> = HashMap::new();
        for (i, ev) in events.iter().enumerate() {
            if self.admit(ev) {
                by_pair.entry(&ev.symbol).or_default().push(i);
            }
        }
        let threads = self.threads.min(by_pair.len());
        let (knobs, pairs, stats, scratch) = self.split();
        let start = out.len();
        if threads <= 1 || events.len() < PARALLEL_FROM {
            for (symbol, indices) in by_pair {
                let pair = pairs
                    .get_mut(symbol)
                    .expect("an admitted event has its pair");
                let group = (pair, indices);
                run_group(&knobs, group, events, wants_chart, stats, scratch, out);
            }
        } else {
            let mut groups: Vec<Group<'_>> = (pairs.iter_mut())
                .filter_map(|(symbol, pair)| Some((pair, by_pair.remove(symbol)?)))
                .collect();
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

/// Steps one pair through its events of the batch, charting an alert right after the event that
/// raised it, before the pair's next event changes it.
fn run_group(
    knobs: &Knobs<'_>,
    (pair, indices): Group<'_>,
    events: &[SymbolEvent],
    wants_chart: &(dyn Fn(&Alert) -> bool + Sync),
    stats: &mut EngineStats,
    scratch: &mut PairOutput,
    out: &mut Vec<Raised>,
) {
    let mut raised = Vec::new();
    for index in indices {
        let event = &events[index].event;
        pair.step(knobs, event, stats, scratch, &mut raised);
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
    let mut chart = chart_series(&pair.state, rules, params)?;
    chart.as_of = chart.as_of.max(at);
    Some(chart.with_alert(alert))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::PairSnapshot;
    use crate::engine::tests::demo;

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
}
