//! The order of each followed pair's events on their way to the engine: nothing live before the
//! pair's warm-up, a hole answered by a `Gap` and its back-filled bars before the bar that
//! revealed it, never a bar twice, and a live 5m bar held until the open-interest poll of its
//! close has answered (or a bound passes) so that the engine gets that OI first, as in a replay.
//! Pure: no I/O, no clock (`now` is an argument). It says what to send and which holes to fill;
//! the orchestrator does both. Venue-neutral: every venue's live follower orders its pairs here.

use std::collections::{HashMap, VecDeque};

use crate::model::{Interval, MarketEvent, Symbol, SymbolEvent, TimeMs};
use crate::source::gaps::{BarVerdict, GapTracker};

/// Live events kept per pair while it warms up (5m bars and liquidations): a day of bars, so a
/// pair whose warm-up keeps failing cannot grow without bound (600 × 288 small events at most).
pub const PENDING_MAX: usize = 288;
/// How long after its close a live 5m bar waits for the open interest of that close. The poll
/// starts a few seconds after the close and takes seconds for 600 pairs; past this the bar goes
/// on without it (and the OI follows when it comes).
pub const OI_HOLD_MS: TimeMs = 60_000;

const M5: TimeMs = 300_000;
/// Bars are back-filled up to the last one that closed at least this long ago: REST may not
/// serve a bar that closed a moment ago in its final form.
pub const SETTLE_MS: TimeMs = 30_000;

/// Bars missing from a pair's series, open times `from..=to`: to back-fill over REST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hole {
    pub symbol: Symbol,
    pub from: TimeMs,
    pub to: TimeMs,
}

/// What one step produced: events for the engine, in order, and holes to fill.
#[derive(Debug, Default)]
pub struct Out {
    pub events: Vec<SymbolEvent>,
    pub holes: Vec<Hole>,
}

/// What a pair's lane waits for before its queue moves again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Its warm-up has not reached the engine yet.
    Warming,
    /// The hole before the queue's head is being back-filled.
    Fill,
    /// The head is the bar closing at `close`, waiting for that close's open interest.
    OpenInterest { close: TimeMs },
}

#[derive(Debug)]
struct Lane {
    wait: Option<Wait>,
    /// Events not sent yet, in arrival order; a bar at the head may be admitted already.
    queue: VecDeque<(SymbolEvent, bool)>,
}

/// Every followed pair's lane, the last 5m bar that went on per pair, and the answered polls.
#[derive(Debug)]
pub struct Lanes {
    lanes: HashMap<Symbol, Lane>,
    bars: GapTracker,
    /// Open interest is polled at closes that are multiples of this (ms).
    oi_every: TimeMs,
    /// The latest close whose open-interest poll has answered.
    polled: TimeMs,
    /// Polled open interest whose pair's bar has not come yet.
    oi: HashMap<Symbol, SymbolEvent>,
    /// How long after its close a 5m bar that has not come is fetched ([`Lanes::overdue`]); at
    /// least [`SETTLE_MS`].
    late_ms: TimeMs,
}

impl Lanes {
    pub fn new(oi_every: TimeMs, late_ms: TimeMs) -> Lanes {
        Lanes {
            lanes: HashMap::new(),
            bars: GapTracker::default(),
            oi_every: oi_every.max(M5),
            polled: TimeMs::MIN,
            oi: HashMap::new(),
            late_ms: late_ms.max(SETTLE_MS),
        }
    }

    /// Starts following a pair that needs its warm-up.
    pub fn follow(&mut self, symbol: &Symbol) {
        self.lanes.entry(symbol.clone()).or_insert(Lane {
            wait: Some(Wait::Warming),
            queue: VecDeque::new(),
        });
    }

    /// Follows a pair the engine already knows up to the 5m bar opening at `last_open` (a warm
    /// restart). The bars closed since (and settled) are asked for at once: the pair's live
    /// events wait behind that back-fill, so nothing acts on the stale state meanwhile. A bar
    /// that closed just before is left to the stream, or to [`Lanes::overdue`].
    pub fn resume(&mut self, symbol: &Symbol, last_open: TimeMs, now: TimeMs, out: &mut Out) {
        self.bars.admit(symbol, Interval::M5, last_open);
        let mut lane = Lane {
            wait: None,
            queue: VecDeque::new(),
        };
        let settled = last_closed(now - SETTLE_MS);
        if settled > last_open {
            self.bars.admit(symbol, Interval::M5, settled);
            lane.wait = Some(Wait::Fill);
            let (from, to) = (last_open + M5, settled);
            out.holes.push(Hole {
                symbol: symbol.clone(),
                from,
                to,
            });
        }
        self.lanes.insert(symbol.clone(), lane);
    }

    /// Bars that should have come by `now` and have not: a warm pair whose last bar is older than
    /// the last one that closed `late_ms` ago gets the hole back-filled — a final frame the stream
    /// missed, a link that went quiet, a restart just after a close. Never a pair that waits
    /// for something already.
    pub fn overdue(&mut self, now: TimeMs, out: &mut Out) {
        let due = last_closed(now - self.late_ms);
        let mut late: Vec<(Symbol, TimeMs)> = (self.lanes.iter())
            .filter(|(_, lane)| lane.wait.is_none())
            .filter_map(|(s, _)| Some((s.clone(), self.bars.last_open(s, Interval::M5)?)))
            .filter(|&(_, last)| last < due)
            .collect();
        late.sort();
        for (symbol, last) in late {
            self.bars.admit(&symbol, Interval::M5, due);
            if let Some(lane) = self.lanes.get_mut(&symbol) {
                lane.wait = Some(Wait::Fill);
            }
            let (from, to) = (last + M5, due);
            out.holes.push(Hole { symbol, from, to });
        }
    }

    /// When [`Lanes::overdue`] should look next after `now`: `late_ms` after the next close.
    pub fn next_overdue_check(&self, now: TimeMs) -> TimeMs {
        last_closed(now - self.late_ms) + 2 * M5 + self.late_ms
    }

    /// Stops following a pair and forgets its series, so that it starts afresh if it returns.
    pub fn forget(&mut self, symbol: &Symbol) {
        self.lanes.remove(symbol);
        self.oi.remove(symbol);
        self.bars.retain(|s| s != symbol);
    }

    /// Whether a pair is followed and still waits for its warm-up.
    pub fn is_warming(&self, symbol: &Symbol) -> bool {
        self.lanes
            .get(symbol)
            .is_some_and(|l| l.wait == Some(Wait::Warming))
    }

    /// The followed pairs past their warm-up, in symbol order.
    pub fn warm(&self) -> Vec<Symbol> {
        let mut warm: Vec<Symbol> = (self.lanes.iter())
            .filter(|(_, l)| l.wait != Some(Wait::Warming))
            .map(|(s, _)| s.clone())
            .collect();
        warm.sort();
        warm
    }

    /// A pair's warm-up: its events go first, then what its lane gathered meanwhile.
    pub fn warmed(
        &mut self,
        symbol: &Symbol,
        events: Vec<SymbolEvent>,
        now: TimeMs,
        out: &mut Out,
    ) {
        let Some(lane) = self.lanes.get_mut(symbol) else {
            return;
        };
        if lane.wait != Some(Wait::Warming) {
            return;
        }
        lane.wait = None;
        for e in &events {
            if let MarketEvent::Candle {
                interval: Interval::M5,
                candle,
            } = &e.event
            {
                self.bars.admit(symbol, Interval::M5, candle.open_time);
            }
        }
        out.events.extend(events);
        self.drain(symbol, now, out);
    }

    /// A live event: on to the engine, or queued behind what its pair waits for. Events of pairs
    /// not followed are dropped (the all-market streams carry every pair).
    pub fn push(&mut self, e: SymbolEvent, now: TimeMs, out: &mut Out) {
        let Some(lane) = self.lanes.get_mut(&e.symbol) else {
            return;
        };
        if lane.wait == Some(Wait::Warming) {
            // Marks are dropped: the warm-up's last bar sets the price, and they are many.
            if !matches!(e.event, MarketEvent::Mark(_)) && lane.queue.len() < PENDING_MAX {
                lane.queue.push_back((e, false));
            }
            return;
        }
        let symbol = e.symbol.clone();
        lane.queue.push_back((e, false));
        self.drain(&symbol, now, out);
    }

    /// The back-fill of `hole` answered (`bars` empty when it failed): the engine learns of the
    /// hole, gets the bars, then the pair's queue moves on.
    pub fn filled(&mut self, hole: &Hole, bars: Vec<SymbolEvent>, now: TimeMs, out: &mut Out) {
        let Some(lane) = self.lanes.get_mut(&hole.symbol) else {
            return;
        };
        if lane.wait != Some(Wait::Fill) {
            return;
        }
        lane.wait = None;
        let (from, to) = (hole.from, hole.to);
        out.events.push(SymbolEvent {
            symbol: hole.symbol.clone(),
            event: MarketEvent::Gap { from, to },
        });
        out.events
            .extend(bars.into_iter().filter(|e| match &e.event {
                MarketEvent::Candle {
                    interval: Interval::M5,
                    candle,
                } => (from..=to).contains(&candle.open_time),
                _ => false,
            }));
        self.drain(&hole.symbol, now, out);
    }

    /// The open-interest poll of `close` answered: each polled pair's OI goes just before its
    /// bar of that close; bars held for it without an answer go on alone.
    pub fn polled(&mut self, close: TimeMs, events: Vec<SymbolEvent>, now: TimeMs, out: &mut Out) {
        self.polled = self.polled.max(close);
        for e in events {
            if self
                .lanes
                .get(&e.symbol)
                .is_some_and(|l| l.wait != Some(Wait::Warming))
            {
                self.oi.insert(e.symbol.clone(), e);
            }
        }
        self.release(|c| c <= close, now, out);
    }

    /// Bars held for open interest past [`OI_HOLD_MS`] go on without it.
    pub fn expire(&mut self, now: TimeMs, out: &mut Out) {
        self.release(|c| c + OI_HOLD_MS <= now, now, out);
    }

    /// When the first held bar runs out of patience.
    pub fn deadline(&self) -> Option<TimeMs> {
        (self.lanes.values())
            .filter_map(|l| match l.wait {
                Some(Wait::OpenInterest { close }) => Some(close + OI_HOLD_MS),
                _ => None,
            })
            .min()
    }

    fn release(&mut self, due: impl Fn(TimeMs) -> bool, now: TimeMs, out: &mut Out) {
        let mut symbols: Vec<Symbol> = (self.lanes.iter())
            .filter(|(_, l)| matches!(l.wait, Some(Wait::OpenInterest { close }) if due(close)))
            .map(|(s, _)| s.clone())
            .collect();
        symbols.sort();
        for symbol in symbols {
            let lane = self.lanes.get_mut(&symbol).expect("listed above");
            lane.wait = None;
            let Some((bar, _)) = lane.queue.pop_front() else {
                continue;
            };
            self.send_bar(bar, out);
            self.drain(&symbol, now, out);
        }
    }

    /// Moves a pair's queue on until it is empty or has to wait.
    fn drain(&mut self, symbol: &Symbol, now: TimeMs, out: &mut Out) {
        while let Some(lane) = self.lanes.get_mut(symbol)
            && lane.wait.is_none()
            && let Some((e, admitted)) = lane.queue.pop_front()
        {
            let open = match &e.event {
                MarketEvent::Candle {
                    interval: Interval::M5,
                    candle,
                } => candle.open_time,
                _ => {
                    out.events.push(e);
                    continue;
                }
            };
            if !admitted {
                match self.bars.admit(symbol, Interval::M5, open) {
                    BarVerdict::Duplicate => continue,
                    BarVerdict::Gap { from, to } => {
                        lane.queue.push_front((e, true));
                        lane.wait = Some(Wait::Fill);
                        let symbol = symbol.clone();
                        out.holes.push(Hole { symbol, from, to });
                        return;
                    }
                    BarVerdict::First | BarVerdict::InOrder => {}
                }
            }
            let close = open + M5;
            let has_oi = self
                .oi
                .get(symbol)
                .is_some_and(|o| o.event.known_at() == close);
            let polled_here = close % self.oi_every == 0;
            if polled_here && !has_oi && self.polled < close && now < close + OI_HOLD_MS {
                lane.queue.push_front((e, true));
                lane.wait = Some(Wait::OpenInterest { close });
                return;
            }
            self.send_bar(e, out);
        }
    }

    /// A bar, after the polled open interest of its pair up to its close.
    fn send_bar(&mut self, bar: SymbolEvent, out: &mut Out) {
        let close = bar.event.known_at();
        if let Some(oi) = self.oi.remove(&bar.symbol) {
            if oi.event.known_at() <= close {
                out.events.push(oi);
            } else {
                self.oi.insert(bar.symbol.clone(), oi);
            }
        }
        out.events.push(bar);
    }
}

/// The open time of the last 5m bar closed at `t`.
fn last_closed(t: TimeMs) -> TimeMs {
    t.div_euclid(M5) * M5 - M5
}

#[cfg(test)]
mod tests;
