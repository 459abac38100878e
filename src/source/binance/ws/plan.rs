//! Which stream rides on which connection, and the SUBSCRIBE/UNSUBSCRIBE messages that move a
//! live connection from one stream list to another. Pure: no I/O, no clock; the connection task
//! sends the messages and paces them.

use std::collections::BTreeSet;

use serde_json::json;

use crate::model::{Interval, Symbol};

/// The all-market streams, always together on the first connection: mark price and funding of
/// every pair each second, and every liquidation.
pub const ALL_MARKET: [&str; 2] = ["!markPrice@arr@1s", "!forceOrder@arr"];

/// The kline interval subscribed for every pair: closed 5m bars drive everything.
pub const KLINE_INTERVAL: Interval = Interval::M5;

/// Binance's hard limit of streams on one connection.
pub const MAX_STREAMS_PER_CONNECTION: usize = 1024;

/// Stream names in one control message. Binance states no limit; a short message keeps a
/// refusal cheap to diagnose.
pub const MAX_PARAMS_PER_MESSAGE: usize = 100;

/// A connection's identity for the life of the process; a replacement link keeps the slot.
pub type SlotId = u64;

/// What one set of connections serves: streams every connection set carries once (on its first
/// connection) and one kline stream per symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamSet {
    pub fixed: &'static [&'static str],
    pub kline: Interval,
}

impl StreamSet {
    /// The perpetuals: the all-market streams and 5m klines.
    pub const PERP: StreamSet = StreamSet {
        fixed: &ALL_MARKET,
        kline: KLINE_INTERVAL,
    };

    /// `btcusdt@kline_5m`: Binance stream names are lower case.
    pub fn kline_stream(&self, symbol: &Symbol) -> String {
        let name = symbol.as_str().to_ascii_lowercase();
        format!("{name}@kline_{}", self.kline)
    }
}

/// The perpetuals' kline stream of a pair, `btcusdt@kline_5m`.
pub fn kline_stream(symbol: &Symbol) -> String {
    StreamSet::PERP.kline_stream(symbol)
}

/// The pair of a kline stream name; `None` for the all-market streams.
pub fn stream_symbol(stream: &str) -> Option<Symbol> {
    let (symbol, rest) = stream.split_once('@')?;
    rest.starts_with("kline_")
        .then(|| symbol.parse().ok())
        .flatten()
}

/// The assignment of streams to connections. It changes as little as it can: a stream never
/// moves once placed, new streams fill connections that have room before a new one opens, and
/// a connection left with no stream closes.
#[derive(Debug, Clone)]
pub struct Plan {
    set: StreamSet,
    per_connection: usize,
    slots: Vec<(SlotId, Vec<String>)>,
    next_slot: SlotId,
}

/// What one connection must do to follow the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotChange {
    /// Open a connection with these streams in its URL.
    Open { slot: SlotId, streams: Vec<String> },
    /// Subscribe and unsubscribe on the live connection: no reconnect.
    Change {
        slot: SlotId,
        subscribe: Vec<String>,
        unsubscribe: Vec<String>,
    },
    /// The connection serves nothing any more: close it.
    Close { slot: SlotId },
}

impl Plan {
    /// `per_connection` is clamped to 2..=1024: the first connection carries both all-market
    /// streams.
    pub fn new(per_connection: usize) -> Self {
        Plan::of(StreamSet::PERP, per_connection)
    }

    /// A plan for `set`, `per_connection` clamped likewise.
    pub fn of(set: StreamSet, per_connection: usize) -> Self {
        Plan {
            set,
            per_connection: per_connection.clamp(ALL_MARKET.len(), MAX_STREAMS_PER_CONNECTION),
            slots: Vec::new(),
            next_slot: 1,
        }
    }

    /// Moves the plan to serve exactly `symbols` and says what each connection must do:
    /// closes first, then changes, then opens.
    pub fn assign(&mut self, symbols: &[Symbol]) -> Vec<SlotChange> {
        let set = self.set;
        let mut wanted: BTreeSet<String> = symbols.iter().map(|s| set.kline_stream(s)).collect();
        let mut unsubscribed = Vec::new();
        for (_, streams) in &mut self.slots {
            let (keep, drop): (Vec<String>, Vec<String>) = std::mem::take(streams)
                .into_iter()
                .partition(|s| wanted.contains(s) || set.fixed.contains(&s.as_str()));
            *streams = keep;
            unsubscribed.push(drop);
        }
        for (_, streams) in &self.slots {
            for stream in streams {
                wanted.remove(stream);
            }
        }
        let fresh_market = self.slots.is_empty();
        let mut new = fresh_market
            .then(|| set.fixed.iter().map(|s| (*s).to_owned()))
            .into_iter()
            .flatten()
            .chain(wanted);
        let mut changes = Vec::new();
        let mut kept = Vec::new();
        for ((slot, mut streams), unsubscribe) in self.slots.drain(..).zip(unsubscribed) {
            let room = self.per_connection.saturating_sub(streams.len());
            let subscribe: Vec<String> = new.by_ref().take(room).collect();
            streams.extend(subscribe.iter().cloned());
            if streams.is_empty() {
                changes.push(SlotChange::Close { slot });
                continue;
            }
            if !subscribe.is_empty() || !unsubscribe.is_empty() {
                changes.push(SlotChange::Change {
                    slot,
                    subscribe,
                    unsubscribe,
                });
            }
            kept.push((slot, streams));
        }
        changes.sort_by_key(|c| !matches!(c, SlotChange::Close { .. }));
        self.slots = kept;
        loop {
            let streams: Vec<String> = new.by_ref().take(self.per_connection).collect();
            if streams.is_empty() {
                break;
            }
            let slot = self.next_slot;
            self.next_slot += 1;
            changes.push(SlotChange::Open {
                slot,
                streams: streams.clone(),
            });
            self.slots.push((slot, streams));
        }
        changes
    }

    /// The streams a connection serves now.
    pub fn streams(&self, slot: SlotId) -> Option<&[String]> {
        self.slots
            .iter()
            .find(|(s, _)| *s == slot)
            .map(|(_, streams)| streams.as_slice())
    }

    /// Every connection and its streams, in the order they were opened.
    pub fn slots(&self) -> impl Iterator<Item = (SlotId, &[String])> {
        self.slots.iter().map(|(slot, s)| (*slot, s.as_slice()))
    }
}

/// A control request on a live connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    pub id: u64,
    pub subscribe: bool,
    pub params: Vec<String>,
}

impl Control {
    /// `{"method":"SUBSCRIBE","params":["btcusdt@kline_5m"],"id":1}`.
    pub fn to_json(&self) -> String {
        let method = if self.subscribe {
            "SUBSCRIBE"
        } else {
            "UNSUBSCRIBE"
        };
        json!({ "method": method, "params": self.params, "id": self.id }).to_string()
    }
}

/// The messages that turn the `live` stream list into `target`: unsubscribes first (they free
/// room), then subscribes, at most [`MAX_PARAMS_PER_MESSAGE`] names each, ids from `first_id`.
pub fn control_messages(live: &[String], target: &[String], first_id: u64) -> Vec<Control> {
    let live_set: BTreeSet<&String> = live.iter().collect();
    let target_set: BTreeSet<&String> = target.iter().collect();
    let drop: Vec<String> = live
        .iter()
        .filter(|s| !target_set.contains(s))
        .cloned()
        .collect();
    let add: Vec<String> = target
        .iter()
        .filter(|s| !live_set.contains(s))
        .cloned()
        .collect();
    let chunks = drop
        .chunks(MAX_PARAMS_PER_MESSAGE)
        .map(|c| (false, c))
        .chain(add.chunks(MAX_PARAMS_PER_MESSAGE).map(|c| (true, c)));
    chunks
        .zip(first_id..)
        .map(|((subscribe, params), id)| Control {
            id,
            subscribe,
            params: params.to_vec(),
        })
        .collect()
}

/// Applies a sent message to the list the connection is believed to serve.
pub fn apply(live: &mut Vec<String>, control: &Control) {
    if control.subscribe {
        for p in &control.params {
            if !live.contains(p) {
                live.push(p.clone());
            }
        }
    } else {
        live.retain(|s| !control.params.contains(s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbols(text: &str) -> Vec<Symbol> {
        text.split_whitespace()
            .map(|s| s.parse().unwrap())
            .collect()
    }

    fn short(streams: &[String]) -> String {
        let names: Vec<&str> = streams
            .iter()
            .map(|s| match s.as_str() {
                "!markPrice@arr@1s" => "mark",
                "!forceOrder@arr" => "force",
                s => s.trim_end_matches("@kline_5m"),
            })
            .collect();
        names.join(" ")
    }

    fn show(changes: &[SlotChange]) -> String {
        let lines: Vec<String> = changes
            .iter()
            .map(|c| match c {
                SlotChange::Open { slot, streams } => format!("open {slot} [{}]", short(streams)),
                SlotChange::Change {
                    slot,
                    subscribe,
                    unsubscribe,
                } => format!(
                    "change {slot} +[{}] -[{}]",
                    short(subscribe),
                    short(unsubscribe)
                ),
                SlotChange::Close { slot } => format!("close {slot}"),
            })
            .collect();
        lines.join("; ")
    }

    /// Each case: streams per connection, the symbols before (`-`: a new plan), the symbols
    /// after, the changes.
    #[test]
    fn assignment_changes_as_little_as_it_can() {
        for (per, before, after, want) in [
            (4, "-", "", "open 1 [mark force]"),
            (4, "-", "AA BB CC", "open 1 [mark force aa bb]; open 2 [cc]"),
            (4, "", "AA BB CC", "change 1 +[aa bb] -[]; open 2 [cc]"),
            (4, "AA BB CC", "CC BB AA", ""),
            (4, "AA BB CC", "AA CC DD", "change 1 +[dd] -[bb]"),
            (4, "AA BB CC", "AA BB", "close 2"),
            (4, "AA BB CC", "CC", "change 1 +[] -[aa bb]"),
            (4, "AA BB CC", "AA BB CC DD EE", "change 2 +[dd ee] -[]"),
            (
                4,
                "AA BB CC",
                "AA BB CC DD EE FF GG",
                "change 2 +[dd ee ff] -[]; open 3 [gg]",
            ),
            (4, "AA BB CC", "BB DD", "close 2; change 1 +[dd] -[aa]"),
            (4, "AA BB", "", "change 1 +[] -[aa bb]"),
            (2, "-", "AA", "open 1 [mark force]; open 2 [aa]"),
            (1, "-", "AA", "open 1 [mark force]; open 2 [aa]"),
            (3, "AA BB", "AA", "close 2"),
        ] {
            let mut plan = Plan::new(per);
            if before != "-" {
                plan.assign(&symbols(before));
            }
            let got = show(&plan.assign(&symbols(after)));
            assert_eq!(got, want, "{per} per connection, {before:?} -> {after:?}");
        }
    }

    #[test]
    fn five_hundred_pairs_fill_connections_of_two_hundred() {
        let many: Vec<Symbol> = (0..500)
            .map(|i| format!("P{i:03}USDT").parse().unwrap())
            .collect();
        for (per, want) in [
            (200, vec![200, 200, 102]),
            (5000, vec![502]),
            (1024, vec![502]),
        ] {
            let mut plan = Plan::new(per);
            plan.assign(&many);
            let sizes: Vec<usize> = plan.slots().map(|(_, s)| s.len()).collect();
            assert_eq!(sizes, want, "{per} per connection");
        }
    }

    /// Each case: the live list, the target list, the messages (id, method, names).
    #[test]
    fn control_messages_unsubscribe_first_then_subscribe() {
        for (live, target, want) in [
            ("a b", "b a", ""),
            ("a b", "a c", "1 -[b]; 2 +[c]"),
            ("", "a", "1 +[a]"),
            ("a b c", "", "1 -[a b c]"),
        ] {
            let words = |t: &str| t.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
            let messages = control_messages(&words(live), &words(target), 1);
            let got: Vec<String> = messages
                .iter()
                .map(|c| {
                    let sign = if c.subscribe { '+' } else { '-' };
                    format!("{} {sign}[{}]", c.id, c.params.join(" "))
                })
                .collect();
            assert_eq!(got.join("; "), want, "{live:?} -> {target:?}");
            let mut applied = words(live);
            messages.iter().for_each(|c| apply(&mut applied, c));
            applied.sort();
            let mut target = words(target);
            target.sort();
            assert_eq!(applied, target);
        }
    }

    #[test]
    fn large_changes_are_split_into_messages_of_a_hundred_names() {
        let target: Vec<String> = (0..250).map(|i| format!("s{i}@kline_5m")).collect();
        let sizes: Vec<(u64, usize)> = control_messages(&[], &target, 7)
            .iter()
            .map(|c| (c.id, c.params.len()))
            .collect();
        assert_eq!(sizes, [(7, 100), (8, 100), (9, 50)]);
    }

    #[test]
    fn wire_names() {
        let btc: Symbol = "BTCUSDT".parse().unwrap();
        assert_eq!(kline_stream(&btc), "btcusdt@kline_5m");
        assert_eq!(stream_symbol("btcusdt@kline_5m"), Some(btc));
        assert_eq!(stream_symbol("!forceOrder@arr"), None);
        assert_eq!(stream_symbol("!markPrice@arr@1s"), None);
        let control = Control {
            id: 3,
            subscribe: true,
            params: vec!["btcusdt@kline_5m".into()],
        };
        assert_eq!(
            control.to_json(),
            r#"{"id":3,"method":"SUBSCRIBE","params":["btcusdt@kline_5m"]}"#
        );
    }
}
