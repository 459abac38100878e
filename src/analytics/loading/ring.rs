//! Hour-indexed rings for the loading score: the last `CAP` hours of one series, one slot per
//! hour, and hourly volumes coded to one byte on a log scale. Owns the snapshot cost of the
//! score's history; must never interpret what a slot means.

use std::collections::VecDeque;
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::model::{Candle, HOUR_MS, TimeMs};

/// The hour a time falls in, as an index (`open_time / 1 h`).
pub(super) fn hour_of(time: TimeMs) -> i64 {
    time.div_euclid(HOUR_MS)
}

/// The last `CAP` hours of a series, newest last. `T::default()` marks an hour without data, so
/// a slot costs only its value in the snapshot (no `Option` tag).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct HourRing<T, const CAP: usize> {
    /// Hour index of the newest slot.
    last: Option<i64>,
    slots: VecDeque<T>,
}

impl<T, const CAP: usize> Default for HourRing<T, CAP> {
    fn default() -> Self {
        HourRing {
            last: None,
            slots: VecDeque::new(),
        }
    }
}

impl<T: Copy + Default + PartialEq, const CAP: usize> HourRing<T, CAP> {
    /// Sets the value of `hour`: the newest hour is overwritten (last value wins), hours skipped
    /// read as missing, and an hour before the newest is dropped (returns false).
    pub(super) fn put(&mut self, hour: i64, value: T) -> bool {
        match self.last {
            Some(last) if hour < last => return false,
            Some(last) if hour == last => {
                if let Some(slot) = self.slots.back_mut() {
                    *slot = value;
                }
            }
            Some(last) if hour - last <= CAP as i64 => {
                for _ in last + 1..hour {
                    self.push(T::default());
                }
                self.push(value);
            }
            _ => {
                self.slots.clear();
                self.push(value);
            }
        }
        self.last = Some(hour);
        true
    }

    fn push(&mut self, value: T) {
        if self.slots.len() == CAP {
            self.slots.pop_front();
        }
        self.slots.push_back(value);
    }

    /// The newest hour held.
    pub(super) fn last(&self) -> Option<i64> {
        self.last
    }

    /// The value of `hour`, `None` when missing or outside the ring.
    pub(super) fn get(&self, hour: i64) -> Option<T> {
        let back = usize::try_from(self.last? - hour).ok()?;
        let index = self.slots.len().checked_sub(back + 1)?;
        Some(self.slots[index]).filter(|v| *v != T::default())
    }

    /// The values of `hours`, `None` when any is missing.
    fn slots_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.slots.iter_mut()
    }
}

/// Codes per unit of natural log, for prices and open interest: 0.01 % apart.
const SCALE: f64 = 1e4;

fn code(value: f64) -> Option<i32> {
    (value.is_finite() && value > 0.0).then(|| (value.ln() * SCALE).round() as i32)
}

fn decode(code: i32, base: i32) -> f64 {
    (f64::from(code + base) / SCALE).exp()
}

/// One hourly bar as log-price codes: its close relative to the newest close, its low and high
/// as steps below and above its own close (one byte each for a bar within ±1.28 %).
/// `i32::MIN` as the close is the default: no bar.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(super) struct BarCodes {
    close: i32,
    down: u32,
    up: u32,
}

impl Default for BarCodes {
    fn default() -> Self {
        BarCodes {
            close: i32::MIN,
            down: 0,
            up: 0,
        }
    }
}

/// A bar read back from its codes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Bar {
    pub(super) low: f64,
    pub(super) high: f64,
    pub(super) close: f64,
}

impl Bar {
    /// The bar as a candle, for the sweep detector.
    pub(super) fn candle(self, hour: i64) -> Candle {
        Candle {
            open_time: hour * HOUR_MS,
            open: self.close,
            high: self.high,
            low: self.low,
            close: self.close,
            volume: 0.0,
            quote_volume: None,
            taker_buy_quote: None,
        }
    }
}

/// Hourly bars on a log scale, 0.01 % apart (about 4 bytes a bar in the snapshot, against 24
/// for three `f64`s). Every comparison the score makes (a range, a move, a swing failure) is
/// made on these codes, so a high beyond the prior one by less than 0.01 % reads as equal to it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Bars<const CAP: usize> {
    /// The newest close's code: every close is relative to it, so its codes stay small.
    base: i32,
    ring: HourRing<BarCodes, CAP>,
}

impl<const CAP: usize> Bars<CAP> {
    /// Records the bar of `hour` unless it is not after the newest or not a valid bar.
    pub(super) fn put(&mut self, hour: i64, c: &Candle) -> bool {
        let codes = code(c.low).zip(code(c.high)).zip(code(c.close));
        let Some(((low, high), close)) = codes.filter(|((l, h), c)| l <= c && c <= h) else {
            return false;
        };
        if self.ring.last().is_some_and(|last| hour <= last) {
            return false;
        }
        let shift = close - self.base;
        for slot in self.ring.slots_mut().filter(|b| **b != BarCodes::default()) {
            slot.close -= shift;
        }
        self.base = close;
        let (down, up) = ((close - low) as u32, (high - close) as u32);
        self.ring.put(hour, BarCodes { close: 0, down, up })
    }

    pub(super) fn last(&self) -> Option<i64> {
        self.ring.last()
    }

    pub(super) fn get(&self, hour: i64) -> Option<Bar> {
        let b = self.ring.get(hour)?;
        let price = |code| decode(code, self.base);
        Some(Bar {
            low: price(b.close - b.down as i32),
            high: price(b.close + b.up as i32),
            close: price(b.close),
        })
    }

    /// The bars of `hours`, `None` when any is missing.
    pub(super) fn all(&self, hours: RangeInclusive<i64>) -> Option<Vec<Bar>> {
        hours.map(|h| self.get(h)).collect()
    }
}

/// A code of an hourly series; `i32::MIN` is the default: no sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(super) struct Code(i32);

impl Default for Code {
    fn default() -> Self {
        Code(i32::MIN)
    }
}

/// Open interest by hour on a log scale, 0.01 % apart, relative to the newest sample.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct OpenInterests<const CAP: usize> {
    base: i32,
    ring: HourRing<Code, CAP>,
}

impl<const CAP: usize> OpenInterests<CAP> {
    /// Records the value of `hour` (the newest is overwritten; an older hour is dropped).
    pub(super) fn put(&mut self, hour: i64, value: f64) {
        let Some(code) = code(value) else {
            return;
        };
        if self.ring.last().is_some_and(|last| hour < last) {
            return;
        }
        let shift = code - self.base;
        for slot in self.ring.slots_mut().filter(|c| **c != Code::default()) {
            slot.0 -= shift;
        }
        self.base = code;
        self.ring.put(hour, Code(0));
    }

    pub(super) fn last(&self) -> Option<i64> {
        self.ring.last()
    }

    pub(super) fn get(&self, hour: i64) -> Option<f64> {
        Some(decode(self.ring.get(hour)?.0, self.base))
    }
}

/// Ratio between two codes: a volume is stored to within ±1.5 %.
const STEP: f64 = 1.03;
/// The code a ring's first volume gets: room for 5× more above it before the scale moves.
const FIRST_CODE: i32 = 200;

/// Hourly quote volumes, one byte each: `STEP^(code + offset)`. The scale follows the largest
/// volume seen (a larger one moves `offset` up and the others down); a volume more than
/// `STEP^254` ≈ 1,800× below the largest reads as that floor, and volumes below 1 as 1. Code 0
/// is a missing hour.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Volumes<const CAP: usize> {
    offset: i32,
    ring: HourRing<u8, CAP>,
}

impl<const CAP: usize> Volumes<CAP> {
    /// Records the volume of `hour`; a negative or non-finite volume is dropped.
    pub(super) fn put(&mut self, hour: i64, volume: f64) {
        if !(volume.is_finite() && volume >= 0.0) || self.ring.last().is_some_and(|l| hour < l) {
            return;
        }
        let code = (volume.max(1.0).ln() / STEP.ln()).round() as i32;
        if self.ring.last().is_none() {
            self.offset = code - FIRST_CODE;
        }
        let over = code - self.offset - i32::from(u8::MAX);
        if over > 0 {
            self.offset += over;
            for slot in self.ring.slots_mut().filter(|s| **s != 0) {
                *slot = (i32::from(*slot) - over).max(1) as u8;
            }
        }
        let stored = (code - self.offset).clamp(1, i32::from(u8::MAX));
        self.ring.put(hour, stored as u8);
    }

    pub(super) fn last(&self) -> Option<i64> {
        self.ring.last()
    }

    pub(super) fn get(&self, hour: i64) -> Option<f64> {
        let code = self.ring.get(hour)?;
        Some(STEP.powi(i32::from(code) + self.offset))
    }

    /// The sum over `hours`, `None` when any hour is missing.
    pub(super) fn sum(&self, hours: RangeInclusive<i64>) -> Option<f64> {
        hours.map(|h| self.get(h)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_keeps_the_last_hours_and_marks_gaps() {
        // (puts as (hour, value), hour asked, what it reads)
        type Case = (&'static [(i64, u32)], i64, Option<u32>);
        let cases: [Case; 8] = [
            (&[(10, 1), (11, 2)], 11, Some(2)),
            (&[(10, 1), (11, 2)], 10, Some(1)),
            (&[(10, 1), (13, 2)], 12, None), // skipped hour
            (&[(10, 1), (11, 2), (10, 9)], 10, Some(1)), // late: dropped
            (&[(10, 1), (10, 5)], 10, Some(5)), // the newest is overwritten
            (&[(10, 1), (11, 2), (12, 3), (13, 4)], 10, None), // CAP 3: forgotten
            (&[(10, 1), (20, 2)], 10, None), // a gap longer than the ring clears it
            (&[(10, 1)], 11, None),          // after the newest
        ];
        for (puts, hour, want) in cases {
            let mut ring = HourRing::<u32, 3>::default();
            for &(h, v) in puts {
                ring.put(h, v);
            }
            assert_eq!(ring.get(hour), want, "{puts:?} at {hour}");
        }
    }

    fn candle(low: f64, high: f64, close: f64) -> Candle {
        Candle {
            open_time: 0,
            open: close,
            high,
            low,
            close,
            volume: 0.0,
            quote_volume: None,
            taker_buy_quote: None,
        }
    }

    #[test]
    fn bars_and_open_interest_read_back_within_their_step() {
        // (hour, low, high, close, kept): each bar moves the base to its close.
        let puts = [
            (0, 99.0, 101.0, 100.0, true),
            (1, 0.000_123_4, 0.000_125_1, 0.000_124_9, true), // a jump of six decades
            (2, 84_653.3, 84_742.3, 84_701.4, true),
            (3, 10.0, 9.0, 9.5, false), // low above high
            (2, 1.0, 3.0, 2.0, false),  // not after the newest
        ];
        let mut bars = Bars::<8>::default();
        let mut oi = OpenInterests::<8>::default();
        for (hour, low, high, close, kept) in puts {
            assert_eq!(bars.put(hour, &candle(low, high, close)), kept, "{hour}");
            oi.put(hour, high * 1000.0);
        }
        for (hour, low, high, close, _) in &puts[..3] {
            let b = bars.get(*hour).unwrap();
            for (got, want) in [(b.low, low), (b.high, high), (b.close, close)] {
                assert!(
                    (got / want - 1.0).abs() <= 0.51e-4,
                    "{hour}: {got} for {want}"
                );
            }
            let o = oi.get(*hour).unwrap();
            assert!((o / (high * 1000.0) - 1.0).abs() <= 0.51e-4, "{hour}: {o}");
        }
        assert_eq!(bars.get(3), None);
    }

    #[test]
    fn volumes_read_back_within_the_step_and_follow_the_largest() {
        let mut v = Volumes::<8>::default();
        // (hour, volume put, volume read back at the end, or None for the floor check)
        let puts = [(0, 1.0e6), (1, 2.5e6), (2, 0.0), (3, 9.0e8), (4, 3.0e3)];
        for (hour, volume) in puts {
            v.put(hour, volume);
        }
        for (hour, put) in [(1, 2.5e6), (3, 9.0e8)] {
            let got = v.get(hour).unwrap();
            assert!((got / put - 1.0).abs() <= 0.015, "{hour}: {got} for {put}");
        }
        // 9e8 moved the scale up: 1e6 is still above its floor (9e8 / 1800 = 5e5)...
        assert!((v.get(0).unwrap() / 1.0e6 - 1.0).abs() <= 0.03);
        // ...while nothing and 3,000 read as the floor.
        let floor = 9.0e8 / STEP.powi(254);
        for hour in [2, 4] {
            assert!((v.get(hour).unwrap() / floor - 1.0).abs() <= 0.05, "{hour}");
        }
        assert!(v.sum(0..=4).is_some());
        assert_eq!(v.sum(0..=5), None, "hour 5 is missing");
    }
}
