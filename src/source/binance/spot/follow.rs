//! Each mapped pair's spot series, whole and once: bars after the last one given go on, copies are
//! dropped, bars after a hole wait while REST fetches the hole, and pairs that are behind (never
//! warmed, a fetch that failed, a link that was down across a close) are named for a fetch. Pure:
//! no I/O, no clock (times are passed in); the spot driver runs the fetches it asks for.

use std::collections::{BTreeMap, HashMap};

use super::wire::SPOT_INTERVAL;
use crate::model::{Candle, MarketEvent, Symbol, SymbolEvent, TimeMs, WEEK_MS};

/// The spot history a pair starts with: the last 7 days of hourly bars.
pub const WARMUP_MS: TimeMs = WEEK_MS;
const STEP: TimeMs = SPOT_INTERVAL.duration_ms();

/// A REST fetch of a pair's spot bars opening at `from` or later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    pub perp: Symbol,
    pub spot: Symbol,
    pub from: TimeMs,
}

#[derive(Debug)]
struct Pair {
    spot: Symbol,
    /// The open time of the last bar given on.
    last: Option<TimeMs>,
    /// A fetch is in flight: live bars wait.
    fetching: bool,
    /// Live bars after a hole, by open time, waiting for the hole's bars.
    held: BTreeMap<TimeMs, Candle>,
}

/// Every mapped pair's series state.
#[derive(Debug)]
pub struct Follow {
    pairs: BTreeMap<Symbol, Pair>,
    by_spot: HashMap<Symbol, Symbol>,
}

impl Follow {
    /// Pairs by perpetual, each with its spot market; all start cold.
    pub fn new(map: BTreeMap<Symbol, Symbol>) -> Follow {
        let by_spot = map.iter().map(|(p, s)| (s.clone(), p.clone())).collect();
        let pairs = map
            .into_iter()
            .map(|(perp, spot)| {
                let pair = Pair {
                    spot,
                    last: None,
                    fetching: false,
                    held: BTreeMap::new(),
                };
                (perp, pair)
            })
            .collect();
        Follow { pairs, by_spot }
    }

    /// The spot markets followed.
    pub fn spots(&self) -> Vec<Symbol> {
        self.pairs.values().map(|p| p.spot.clone()).collect()
    }

    /// A closed bar from the streams. Returns the fetch a hole before it needs.
    pub fn live(
        &mut self,
        spot: &Symbol,
        candle: Candle,
        out: &mut Vec<SymbolEvent>,
    ) -> Option<Fetch> {
        let perp = self.by_spot.get(spot)?.clone();
        let pair = self.pairs.get_mut(&perp)?;
        let open = candle.open_time;
        if pair.last.is_some_and(|l| open <= l) {
            return None;
        }
        match pair.last {
            Some(l) if !pair.fetching && open == l + STEP => {
                give(&perp, pair, candle, out);
                release(&perp, pair, out);
                None
            }
            last => {
                pair.held.insert(open, candle);
                if pair.fetching {
                    return None;
                }
                // Cold: the warm-up brings the week before; after a hole: the hole.
                let from = last.map_or(open - WARMUP_MS, |l| l + STEP);
                pair.fetching = true;
                Some(fetch(&perp, pair, from))
            }
        }
    }

    /// A fetch's answer (`None`: it failed; the pair stays behind and is named again by
    /// [`Follow::behind`]). The bars after the last one go on, then the held bars that follow.
    pub fn fetched(
        &mut self,
        perp: &Symbol,
        bars: Option<Vec<Candle>>,
        out: &mut Vec<SymbolEvent>,
    ) {
        let Some(pair) = self.pairs.get_mut(perp) else {
            return;
        };
        pair.fetching = false;
        let mut bars = bars.unwrap_or_default();
        bars.sort_by_key(|c| c.open_time);
        for candle in bars {
            if pair.last.is_none_or(|l| candle.open_time > l) {
                give(perp, pair, candle, out);
            }
        }
        release(perp, pair, out);
    }

    /// The fetches of every pair that is behind at `now`: never warmed, holding bars after a
    /// hole, or without the last bar that closed at least `late` ago. Each is marked fetching.
    pub fn behind(&mut self, now: TimeMs, late: TimeMs) -> Vec<Fetch> {
        let due = SPOT_INTERVAL.bar_open(now - late) - STEP;
        let warm_from = SPOT_INTERVAL.bar_open(now) - WARMUP_MS;
        let mut fetches = Vec::new();
        for (perp, pair) in &mut self.pairs {
            let from = match pair.last {
                _ if pair.fetching => continue,
                None => warm_from,
                Some(l) if l < due || !pair.held.is_empty() => l + STEP,
                Some(_) => continue,
            };
            pair.fetching = true;
            fetches.push(fetch(perp, pair, from));
        }
        fetches
    }

    /// When [`Follow::behind`] is next worth asking: `late` after the next close.
    pub fn next_check(now: TimeMs, late: TimeMs) -> TimeMs {
        SPOT_INTERVAL.bar_open(now - late) + STEP + late
    }
}

fn fetch(perp: &Symbol, pair: &Pair, from: TimeMs) -> Fetch {
    Fetch {
        perp: perp.clone(),
        spot: pair.spot.clone(),
        from,
    }
}

fn give(perp: &Symbol, pair: &mut Pair, candle: Candle, out: &mut Vec<SymbolEvent>) {
    pair.last = Some(candle.open_time);
    out.push(SymbolEvent {
        symbol: perp.clone(),
        event: MarketEvent::SpotCandle {
            interval: SPOT_INTERVAL,
            candle,
        },
    });
}

/// Drops held copies, then gives on the held bars that follow the last one without a hole.
fn release(perp: &Symbol, pair: &mut Pair, out: &mut Vec<SymbolEvent>) {
    let Some(mut last) = pair.last else {
        return;
    };
    pair.held.retain(|&open, _| open > last);
    while let Some(candle) = pair.held.remove(&(last + STEP)) {
        give(perp, pair, candle, out);
        last += STEP;
    }
}

#[cfg(test)]
mod tests;
