//! The liquidation map's past, compact: one column per closed 4h bar, the map's estimated notional
//! by price band around that bar's close, quantized to 6 bits relative to the column's peak. What a
//! chart draws behind its candles, so the past map and the current one are not confused. Persisted
//! with the pair (a few KB); pure: the map in, nothing out, no clock.

use std::collections::VecDeque;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::heatmap::Heatmap;
use super::trail::TRAIL_BARS;
use crate::model::{Side, TimeMs};

/// Price bands per column, log-spaced over `[close·(1−RANGE), close·(1+RANGE)]`.
pub const HISTORY_BANDS: usize = 56;
/// A column spans ±this fraction of its bar's close (the charts' window).
pub const HISTORY_RANGE: f64 = 0.15;
/// Quantization levels: 0 (nothing) to `LEVELS` (the column's peak).
const LEVELS: u8 = 63;
/// One character per level, all plain in JSON (no escapes), so a column is one short string.
const ALPHABET: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";

/// The map at the close of one 4h bar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryColumn {
    /// Open time of the 4h bar it belongs to.
    #[serde(rename = "t")]
    pub bar_open: TimeMs,
    /// Lowest and highest price covered (6 significant digits).
    #[serde(rename = "lo")]
    pub price_low: f64,
    #[serde(rename = "hi")]
    pub price_high: f64,
    /// The band with the most notional, USD (3 significant digits); 0 for an empty map.
    #[serde(rename = "max")]
    pub max_usd: f64,
    /// Per band, bottom up: `round(LEVELS · sqrt(usd / max_usd))`; the square root keeps
    /// resolution for the weaker bands.
    #[serde(rename = "q", serialize_with = "encode", deserialize_with = "decode")]
    pub levels: Vec<u8>,
}

impl HistoryColumn {
    /// Samples `map` around `close` for the bar opened at `bar_open`.
    pub fn sample(map: &Heatmap, bar_open: TimeMs, close: f64) -> Option<HistoryColumn> {
        if !(close.is_finite() && close > 0.0) {
            return None;
        }
        let (lo, hi) = (
            round_sig(close * (1.0 - HISTORY_RANGE), 6),
            round_sig(close * (1.0 + HISTORY_RANGE), 6),
        );
        let grid = map.grid();
        let span = (hi / lo).ln();
        let mut usd = [0.0f64; HISTORY_BANDS];
        for k in grid.bin_of(lo)..=grid.bin_of(hi) {
            let at = (grid.mid(k) / lo).ln() / span;
            if !(0.0..1.0).contains(&at) {
                continue;
            }
            let band = ((at * HISTORY_BANDS as f64) as usize).min(HISTORY_BANDS - 1);
            usd[band] += map.mass(Side::Long, k) + map.mass(Side::Short, k);
        }
        Some(HistoryColumn::from_usd(bar_open, lo, hi, &usd))
    }

    /// A column from notional per band, bottom up, over `[lo, hi]` (log-spaced bands).
    pub fn from_usd(bar_open: TimeMs, lo: f64, hi: f64, usd: &[f64]) -> HistoryColumn {
        let max = usd
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let levels = usd
            .iter()
            .map(|v| match v / max {
                r if r.is_finite() && r > 0.0 => (f64::from(LEVELS) * r.sqrt()).round() as u8,
                _ => 0,
            })
            .collect();
        HistoryColumn {
            bar_open,
            price_low: lo,
            price_high: hi,
            max_usd: round_sig(max, 3),
            levels,
        }
    }

    /// Each band as `(price_low, price_high, usd)`, bottom up, the notional decoded from its level.
    pub fn bands(&self) -> impl Iterator<Item = (f64, f64, f64)> + '_ {
        let n = self.levels.len().max(1) as f64;
        let ratio = self.price_high / self.price_low;
        let edge = move |i: usize| self.price_low * ratio.powf(i as f64 / n);
        self.levels.iter().enumerate().map(move |(i, q)| {
            let share = f64::from(*q) / f64::from(LEVELS);
            (edge(i), edge(i + 1), self.max_usd * share * share)
        })
    }
}

/// The last [`TRAIL_BARS`] columns, oldest first: as many as a chart has candles.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HeatHistory {
    columns: VecDeque<HistoryColumn>,
}

impl HeatHistory {
    pub fn push(&mut self, column: HistoryColumn) {
        if self
            .columns
            .back()
            .is_some_and(|c| c.bar_open >= column.bar_open)
        {
            return; // a bar already sampled (a replayed warm-up bar)
        }
        if self.columns.len() == TRAIL_BARS {
            self.columns.pop_front();
        }
        self.columns.push_back(column);
    }

    /// Oldest first.
    pub fn columns(&self) -> impl ExactSizeIterator<Item = &HistoryColumn> {
        self.columns.iter()
    }
}

fn round_sig(v: f64, digits: i32) -> f64 {
    if !(v.is_finite() && v != 0.0) {
        return if v.is_finite() { v } else { 0.0 };
    }
    let scale = 10f64.powi(digits - 1 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

/// Levels as one short string in JSON; in binary snapshots (the store's) their count and 6 bits
/// each, four levels in three bytes.
fn encode<S: Serializer>(levels: &[u8], s: S) -> Result<S::Ok, S::Error> {
    if !s.is_human_readable() {
        let count = u32::try_from(levels.len()).map_err(serde::ser::Error::custom)?;
        return (count, pack(levels)).serialize(s);
    }
    let text: String = levels
        .iter()
        .map(|q| char::from(ALPHABET[usize::from((*q).min(LEVELS))]))
        .collect();
    s.serialize_str(&text)
}

fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    if !d.is_human_readable() {
        let (count, packed) = <(u32, Vec<u8>)>::deserialize(d)?;
        return unpack(count as usize, &packed).ok_or_else(|| {
            serde::de::Error::custom(format!("{} bytes for {count} heat levels", packed.len()))
        });
    }
    let text = String::deserialize(d)?;
    text.bytes()
        .map(|b| {
            (ALPHABET.iter().position(|a| *a == b))
                .map(|q| q as u8)
                .ok_or_else(|| serde::de::Error::custom(format!("bad heat level {:?}", b as char)))
        })
        .collect()
}

fn pack(levels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity((levels.len() * 6).div_ceil(8));
    let (mut acc, mut bits) = (0u32, 0);
    for q in levels {
        acc = (acc << 6) | u32::from((*q).min(LEVELS));
        bits += 6;
        while bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push((acc << (8 - bits)) as u8);
    }
    out
}

/// `None` when `packed` is not exactly the bytes of `count` levels.
fn unpack(count: usize, packed: &[u8]) -> Option<Vec<u8>> {
    if packed.len() != count.checked_mul(6)?.div_ceil(8) {
        return None;
    }
    let mut out = Vec::with_capacity(count);
    let (mut acc, mut bits) = (0u32, 0);
    for b in packed {
        acc = (acc << 8) | u32::from(*b);
        bits += 8;
        while bits >= 6 && out.len() < count {
            bits -= 6;
            out.push(((acc >> bits) & 63) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(t: TimeMs, levels: Vec<u8>) -> HistoryColumn {
        HistoryColumn {
            bar_open: 1_741_968_000_000 + t,
            price_low: 71_874.3,
            price_high: 97_241.7,
            max_usd: 412_000_000.0,
            levels,
        }
    }

    #[test]
    fn a_full_ring_stays_under_ten_kilobytes_and_round_trips() {
        let mut ring = HeatHistory::default();
        for i in 0..(TRAIL_BARS as i64 + 9) {
            let levels = (0..HISTORY_BANDS)
                .map(|b| ((b as i64 * 7 + i) % 64) as u8)
                .collect();
            ring.push(column(i * 14_400_000, levels));
        }
        assert_eq!(ring.columns().len(), TRAIL_BARS);
        let json = serde_json::to_string(&ring).unwrap();
        assert!(json.len() <= 10_240, "{} bytes", json.len());
        assert_eq!(serde_json::from_str::<HeatHistory>(&json).unwrap(), ring);
        // The store's binary form packs the levels: 42 bytes for 56 instead of a 56-char string.
        let binary = postcard::to_allocvec(&ring).unwrap();
        assert!(binary.len() <= 60 * 80, "{} bytes", binary.len());
        assert_eq!(postcard::from_bytes::<HeatHistory>(&binary).unwrap(), ring);
    }

    #[test]
    fn packed_levels_round_trip_and_a_wrong_length_is_refused() {
        // Every count modulo 4 (the packing's period), the extremes, empty.
        for count in [0, 1, 2, 3, 4, 5, 55, 56] {
            let levels: Vec<u8> = (0..count).map(|i| [0, 63, 1, 62, 37][i % 5]).collect();
            let packed = pack(&levels);
            assert_eq!(packed.len(), (count * 6).div_ceil(8), "{count}");
            assert_eq!(unpack(count, &packed), Some(levels), "{count}");
            assert_eq!(unpack(count + 4, &packed), None, "{count}");
        }
        let column = column(0, vec![5; 3]);
        let mut binary = postcard::to_allocvec(&column).unwrap();
        // The count before the packed bytes (length 3, three bytes): 9 levels need 7 bytes.
        let at = binary.len() - 5;
        assert_eq!(binary[at..at + 2], [3, 3]);
        binary[at] = 9;
        assert!(postcard::from_bytes::<HistoryColumn>(&binary).is_err());
    }

    #[test]
    fn levels_decode_to_notional_relative_to_the_peak() {
        // (level, share of the peak)
        for (q, share) in [(0, 0.0), (63, 1.0), (45, 0.510)] {
            let c = column(0, vec![q]);
            let (_, _, usd) = c.bands().next().unwrap();
            assert!((usd / c.max_usd - share).abs() < 1e-3, "level {q}");
        }
    }

    #[test]
    fn a_bad_level_character_is_refused() {
        let json = r#"{"columns":[{"t":0,"lo":1.0,"hi":2.0,"max":1.0,"q":"0a\\"}]}"#;
        assert!(serde_json::from_str::<HeatHistory>(json).is_err());
    }

    #[test]
    fn a_bar_already_sampled_is_not_sampled_twice() {
        let mut ring = HeatHistory::default();
        for t in [0, 1, 1, 0, 2] {
            ring.push(column(t, vec![1]));
        }
        let times: Vec<TimeMs> = ring
            .columns()
            .map(|c| c.bar_open - column(0, vec![]).bar_open)
            .collect();
        assert_eq!(times, [0, 1, 2]);
    }
}
