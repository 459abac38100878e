//! Order across connections and reconnects: per pair, the last closed bar seen says whether a new
//! one is in order, a duplicate (dropped) or after a hole (kept: the live source's lanes find and
//! back-fill the hole); marks and liquidations seen twice (two links overlap during a roll-over)
//! are dropped. Pure: no I/O, no clock; it never declares a hole.

use std::collections::HashMap;

use crate::model::{Interval, MarketEvent, Symbol, SymbolEvent, TimeMs};

/// What a closed bar means for its pair's series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarVerdict {
    /// The first bar seen for the pair: nothing to compare with.
    First,
    /// The bar right after the last one.
    InOrder,
    /// Seen already, or older than the last one: drop it.
    Duplicate,
    /// Bars are missing: their open times run from `from` to `to`, both included, one interval
    /// apart. The new bar itself is in order after them.
    Gap { from: TimeMs, to: TimeMs },
}

impl BarVerdict {
    /// The bar goes on to the engine.
    pub fn is_kept(self) -> bool {
        !matches!(self, BarVerdict::Duplicate)
    }
}

/// Per pair and interval, the open time of the last closed bar that went on.
#[derive(Debug, Clone, Default)]
pub struct GapTracker {
    last_open: HashMap<(Symbol, Interval), TimeMs>,
}

impl GapTracker {
    /// Judges a closed bar and, unless it is a duplicate, remembers it as the last.
    pub fn admit(&mut self, symbol: &Symbol, interval: Interval, open_time: TimeMs) -> BarVerdict {
        let step = interval.duration_ms();
        let key = (symbol.clone(), interval);
        let verdict = match self.last_open.get(&key) {
            None => BarVerdict::First,
            Some(&last) if open_time <= last => BarVerdict::Duplicate,
            Some(&last) if open_time == last + step => BarVerdict::InOrder,
            Some(&last) => BarVerdict::Gap {
                from: last + step,
                to: open_time - step,
            },
        };
        if verdict.is_kept() {
            self.last_open.insert(key, open_time);
        }
        verdict
    }

    /// The open time of the last bar that went on for a pair.
    pub fn last_open(&self, symbol: &Symbol, interval: Interval) -> Option<TimeMs> {
        self.last_open.get(&(symbol.clone(), interval)).copied()
    }

    /// Forgets the pairs no longer followed, so a pair that comes back starts afresh.
    pub fn retain(&mut self, mut keep: impl FnMut(&Symbol) -> bool) {
        self.last_open.retain(|(symbol, _), _| keep(symbol));
    }
}

/// What went through the [`Sequencer`] from one frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Admitted {
    pub events: Vec<SymbolEvent>,
    /// Events dropped as already seen.
    pub duplicates: usize,
}

/// Every event of every connection passes here once: closed bars through the [`GapTracker`],
/// marks and liquidations kept only when newer than the last of their pair. Binance pushes both
/// at most once per pair per second with rising times, so an older or equal time is a copy.
#[derive(Debug, Clone, Default)]
pub struct Sequencer {
    bars: GapTracker,
    marks: HashMap<Symbol, TimeMs>,
    liquidations: HashMap<Symbol, TimeMs>,
}

impl Sequencer {
    pub fn admit(&mut self, events: Vec<SymbolEvent>) -> Admitted {
        let mut out = Admitted {
            events: Vec::with_capacity(events.len()),
            ..Admitted::default()
        };
        for e in events {
            let keep = match &e.event {
                MarketEvent::Candle { interval, candle } => (self.bars)
                    .admit(&e.symbol, *interval, candle.open_time)
                    .is_kept(),
                MarketEvent::Mark(m) => newer(&mut self.marks, &e.symbol, m.time),
                MarketEvent::Liquidation(l) => newer(&mut self.liquidations, &e.symbol, l.time),
                _ => true,
            };
            if keep {
                out.events.push(e);
            } else {
                out.duplicates += 1;
            }
        }
        out
    }

    /// Forgets the pairs no longer followed.
    pub fn retain(&mut self, keep: impl Fn(&Symbol) -> bool) {
        self.bars.retain(&keep);
        self.marks.retain(|s, _| keep(s));
        self.liquidations.retain(|s, _| keep(s));
    }

    pub fn bars(&self) -> &GapTracker {
        &self.bars
    }
}

/// Records `time` for the pair when it is later than the last one.
fn newer(last: &mut HashMap<Symbol, TimeMs>, symbol: &Symbol, time: TimeMs) -> bool {
    match last.get_mut(symbol) {
        Some(t) if *t >= time => false,
        Some(t) => {
            *t = time;
            true
        }
        None => {
            last.insert(symbol.clone(), time);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Candle, Liquidation, MarkTick, Side};

    const M5: TimeMs = 300_000;

    /// Each case: bars as `SYMBOL@open-in-5m-units`, then the verdicts.
    #[test]
    fn each_closed_bar_is_in_order_a_duplicate_or_after_a_gap() {
        for (bars, want) in [
            ("AA@0 AA@1 AA@2", "first in-order in-order"),
            ("AA@0 AA@0", "first duplicate"),
            ("AA@5 AA@3", "first duplicate"),
            ("AA@0 AA@3", "first gap(1..2)"),
            ("AA@0 AA@2 AA@1 AA@3", "first gap(1..1) duplicate in-order"),
            ("AA@0 BB@0 AA@1 BB@4", "first first in-order gap(1..3)"),
            ("AA@0 AA@1 AA@1 AA@2", "first in-order duplicate in-order"),
        ] {
            let mut tracker = GapTracker::default();
            let got: Vec<String> = bars
                .split_whitespace()
                .map(|bar| {
                    let (symbol, at) = bar.split_once('@').unwrap();
                    let open = at.parse::<TimeMs>().unwrap() * M5;
                    match tracker.admit(&symbol.parse().unwrap(), Interval::M5, open) {
                        BarVerdict::First => "first".to_owned(),
                        BarVerdict::InOrder => "in-order".to_owned(),
                        BarVerdict::Duplicate => "duplicate".to_owned(),
                        BarVerdict::Gap { from, to } => format!("gap({}..{})", from / M5, to / M5),
                    }
                })
                .collect();
            assert_eq!(got.join(" "), want, "{bars}");
        }
    }

    fn event(text: &str) -> SymbolEvent {
        let (kind, rest) = text.split_once(' ').unwrap();
        let (symbol, t) = rest.split_once('@').unwrap();
        let t: TimeMs = t.parse().unwrap();
        let event = match kind {
            "bar" => MarketEvent::Candle {
                interval: Interval::M5,
                candle: Candle {
                    open_time: t * M5,
                    open: 1.0,
                    high: 1.0,
                    low: 1.0,
                    close: 1.0,
                    volume: 0.0,
                    quote_volume: None,
                    taker_buy_quote: None,
                },
            },
            "mark" => MarketEvent::Mark(MarkTick {
                time: t,
                price: 1.0,
                funding_rate: None,
            }),
            _ => MarketEvent::Liquidation(Liquidation {
                time: t,
                side: Side::Long,
                price: 1.0,
                quantity: 1.0,
            }),
        };
        SymbolEvent {
            symbol: symbol.parse().unwrap(),
            event,
        }
    }

    /// Each case: events fed in one batch, then what passed (kept count, duplicates).
    #[test]
    fn the_sequencer_drops_copies_and_keeps_bars_after_a_hole() {
        for (events, want) in [
            ("bar AA@0; bar AA@1; mark AA@5; liq AA@7", "kept 4 dup 0"),
            (
                "bar AA@0; bar AA@0; mark AA@5; mark AA@5; mark AA@4",
                "kept 2 dup 3",
            ),
            ("liq AA@7; liq BB@7; liq AA@7", "kept 2 dup 1"),
            ("bar AA@0; bar AA@4; bar BB@2", "kept 3 dup 0"),
        ] {
            let batch: Vec<SymbolEvent> = events.split("; ").map(event).collect();
            let out = Sequencer::default().admit(batch);
            let got = format!("kept {} dup {}", out.events.len(), out.duplicates);
            assert_eq!(got, want, "{events}");
        }
    }

    #[test]
    fn forgotten_pairs_start_afresh() {
        let mut seq = Sequencer::default();
        seq.admit(vec![event("bar AA@0"), event("bar BB@0")]);
        seq.retain(|s| s.as_str() == "BB");
        let out = seq.admit(vec![event("bar AA@9"), event("bar BB@9")]);
        assert_eq!(out.events.len(), 2);
        assert_eq!(
            seq.bars().last_open(&"BB".parse().unwrap(), Interval::M5),
            Some(9 * M5)
        );
        assert_eq!(
            seq.bars().last_open(&"AA".parse().unwrap(), Interval::M5),
            Some(9 * M5)
        );
    }
}
