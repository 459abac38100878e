//! What the market streams have done, as atomics any task can read for metrics and status, and
//! the gate that keeps a flood of bad frames from flooding the log. Owns no I/O; never blocks a
//! reader (a connection's clock is its own atomic, registered once).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::plan::SlotId;
use crate::model::TimeMs;

/// What a text frame turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FrameKind {
    /// A closed bar.
    Candle,
    /// An update of a bar still open.
    OpenBar,
    /// A mark-price array.
    Marks,
    Liquidation,
    /// The reply to a SUBSCRIBE or UNSUBSCRIBE.
    Ack,
    /// A stream liqwave does not consume.
    Unused,
    /// Not JSON, cut short, or JSON of the wrong shape (and binary frames).
    Malformed,
    UnknownStream,
    /// Well-formed, but a value is not a usable domain value.
    BadValue,
    /// Binance refused a request.
    Rejected,
}

impl FrameKind {
    pub const ALL: [FrameKind; 10] = [
        FrameKind::Candle,
        FrameKind::OpenBar,
        FrameKind::Marks,
        FrameKind::Liquidation,
        FrameKind::Ack,
        FrameKind::Unused,
        FrameKind::Malformed,
        FrameKind::UnknownStream,
        FrameKind::BadValue,
        FrameKind::Rejected,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            FrameKind::Candle => "candle",
            FrameKind::OpenBar => "open_bar",
            FrameKind::Marks => "marks",
            FrameKind::Liquidation => "liquidation",
            FrameKind::Ack => "ack",
            FrameKind::Unused => "unused",
            FrameKind::Malformed => "malformed",
            FrameKind::UnknownStream => "unknown_stream",
            FrameKind::BadValue => "bad_value",
            FrameKind::Rejected => "rejected",
        }
    }

    /// A frame that could not be used: counted and skipped, never fatal.
    pub const fn is_fault(self) -> bool {
        matches!(
            self,
            FrameKind::Malformed | FrameKind::UnknownStream | FrameKind::BadValue
        )
    }
}

/// Counters of every connection together, plus each live connection's last market-data time. Share
/// it as an `Arc`; every method takes `&self`.
#[derive(Debug, Default)]
pub struct Counters {
    /// Every WebSocket message received: text, binary, ping, pong, close.
    pub messages: AtomicU64,
    frames: [AtomicU64; FrameKind::ALL.len()],
    /// Entries of a mark-price array that could not be used (the rest of the array was).
    pub bad_entries: AtomicU64,
    /// Events dropped because they had been seen already (overlapping links, a replayed bar).
    pub duplicates: AtomicU64,
    /// Holes found in a pair's series of closed bars.
    pub gaps: AtomicU64,
    /// Bars fetched from REST to fill those holes.
    pub bars_backfilled: AtomicU64,
    /// Connection attempts, successful or not.
    pub attempts: AtomicU64,
    /// Links that came back after being lost.
    pub reconnects: AtomicU64,
    /// Links declared dead after a silence.
    pub stalls: AtomicU64,
    /// Links replaced before Binance's 24-hour cut.
    pub rotations: AtomicU64,
    /// SUBSCRIBE and UNSUBSCRIBE messages sent.
    pub controls_sent: AtomicU64,
    /// Pings sent by us, and pings received (tungstenite answers them).
    pub pings_sent: AtomicU64,
    pub pings_received: AtomicU64,
    last_message: Mutex<BTreeMap<SlotId, Arc<AtomicI64>>>,
}

impl Counters {
    pub fn frames(&self, kind: FrameKind) -> u64 {
        self.frames[kind as usize].load(Ordering::Relaxed)
    }

    pub fn count_frame(&self, kind: FrameKind) {
        self.frames[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Frames counted and skipped: malformed, unknown stream, bad value.
    pub fn faulty_frames(&self) -> u64 {
        FrameKind::ALL
            .into_iter()
            .filter(|k| k.is_fault())
            .map(|k| self.frames(k))
            .sum()
    }

    /// Each live connection's last market-data time, epoch ms (0 before the first).
    pub fn last_message(&self) -> BTreeMap<SlotId, TimeMs> {
        let slots = self.last_message.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .iter()
            .map(|(slot, t)| (*slot, t.load(Ordering::Relaxed)))
            .collect()
    }

    /// The clock a connection updates on every data frame, registered until [`Counters::retire`].
    pub(crate) fn register(&self, slot: SlotId) -> Arc<AtomicI64> {
        let mut slots = self.last_message.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(slot).or_default().clone()
    }

    pub(super) fn retire(&self, slot: SlotId) {
        let mut slots = self.last_message.lock().unwrap_or_else(|e| e.into_inner());
        slots.remove(&slot);
    }
}

/// Adds one to a counter.
pub(super) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Lets one warning through per `every`, and says how many were held back since the last one.
#[derive(Debug, Clone)]
pub struct LogGate {
    every: Duration,
    last: Option<Instant>,
    held: u64,
}

impl LogGate {
    pub fn new(every: Duration) -> Self {
        LogGate {
            every,
            last: None,
            held: 0,
        }
    }

    /// `Some(held back since the last warning)` when this one may be logged.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        let open = self
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.every);
        if open {
            self.last = Some(now);
            Some(std::mem::take(&mut self.held))
        } else {
            self.held += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each case: warning times in ms, then which were logged (with the number held back).
    #[test]
    fn the_gate_logs_once_per_period_and_counts_the_rest() {
        for (times, want) in [
            ("0", "0:0"),
            ("0 1 2 999 1000", "0:0 1000:3"),
            ("0 5000 5001 20000", "0:0 5000:0 20000:1"),
        ] {
            let t0 = Instant::now();
            let mut gate = LogGate::new(Duration::from_secs(1));
            let logged: Vec<String> = times
                .split_whitespace()
                .filter_map(|t| {
                    let ms: u64 = t.parse().unwrap();
                    let held = gate.allow(t0 + Duration::from_millis(ms))?;
                    Some(format!("{ms}:{held}"))
                })
                .collect();
            assert_eq!(logged.join(" "), want, "{times}");
        }
    }

    #[test]
    fn counters_by_kind_and_slot() {
        let counters = Counters::default();
        counters.count_frame(FrameKind::Malformed);
        counters.count_frame(FrameKind::BadValue);
        counters.count_frame(FrameKind::Candle);
        assert_eq!(counters.faulty_frames(), 2);
        assert_eq!(counters.frames(FrameKind::Candle), 1);
        counters.register(3).store(42, Ordering::Relaxed);
        assert_eq!(counters.last_message(), BTreeMap::from([(3, 42)]));
        counters.retire(3);
        assert!(counters.last_message().is_empty());
    }
}
