//! The key layout of every tree. Numbers are big-endian so sled's byte order is numeric order;
//! a 0x00 byte separates a name (symbol or sink, never containing NUL) from what follows, so a
//! prefix scan for `BTC` never sees `BTCUSDT`.

use std::fmt;

use serde::Deserialize;
use serde::de::IntoDeserializer;

use crate::model::{AlertId, AlertKind, Symbol, TimeMs};

const SEP: u8 = 0;

/// Meta keys.
pub(super) const META_SCHEMA: &[u8] = b"schema_version";
pub(super) const META_POSITION: &[u8] = b"position";
/// Deliveries recorded in the sent log, ever (retention prunes the log, not this).
pub(super) const META_SENT: &[u8] = b"sent_count";

/// Where one outbox entry lives: the sink it is for and its sequence number (creation order).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OutboxKey {
    pub sink: String,
    pub seq: u64,
}

impl OutboxKey {
    /// `sink`, 0x00, `seq` big-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut key = prefix(self.sink.as_bytes());
        key.extend_from_slice(&self.seq.to_be_bytes());
        key
    }

    /// The inverse of [`OutboxKey::to_bytes`]; `None` unless `bytes` is such a key.
    pub fn from_bytes(bytes: &[u8]) -> Option<OutboxKey> {
        let (sink, rest) = split(bytes)?;
        let seq = u64::from_be_bytes(rest.try_into().ok()?);
        Some(OutboxKey {
            sink: sink.to_owned(),
            seq,
        })
    }
}

impl fmt::Display for OutboxKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.sink, self.seq)
    }
}

/// `name`, 0x00: the prefix of every key of one sink or symbol.
pub(super) fn prefix(name: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 17);
    key.extend_from_slice(name);
    key.push(SEP);
    key
}

/// Splits a key at its first 0x00 into the UTF-8 name before it and the bytes after it.
pub(super) fn split(key: &[u8]) -> Option<(&str, &[u8])> {
    let at = key.iter().position(|&b| b == SEP)?;
    let name = std::str::from_utf8(&key[..at]).ok()?;
    Some((name, &key[at + 1..]))
}

/// Sent log: `sink`, 0x00, alert id.
pub(super) fn sent_key(sink: &str, id: &AlertId) -> Vec<u8> {
    let mut key = prefix(sink.as_bytes());
    key.extend_from_slice(id.as_str().as_bytes());
    key
}

/// The sink and alert id of a sent-log key.
pub(super) fn parse_sent_key(key: &[u8]) -> Option<(String, AlertId)> {
    let (sink, id) = split(key)?;
    let id = std::str::from_utf8(id).ok()?;
    // AlertId has no public constructor from text; its serde form is the bare string.
    let de: serde::de::value::StrDeserializer<'_, serde::de::value::Error> = id.into_deserializer();
    let id = AlertId::deserialize(de).ok()?;
    Some((sink.to_owned(), id))
}

/// Mutes: `symbol`, 0x00, kind name or `*` for every kind.
pub(super) fn mute_key(symbol: &Symbol, kind: Option<AlertKind>) -> Vec<u8> {
    let mut key = prefix(symbol.as_str().as_bytes());
    key.extend_from_slice(kind.map_or("*", AlertKind::as_str).as_bytes());
    key
}

/// Liquidations: `symbol`, 0x00, time, `seq` (both big-endian). The time's sign bit is flipped
/// so that byte order is numeric order for times before 1970 too.
pub(super) fn liquidation_key(symbol: &Symbol, time: TimeMs, seq: u64) -> Vec<u8> {
    let mut key = prefix(symbol.as_str().as_bytes());
    key.extend_from_slice(&ordered_time(time));
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

pub(super) fn ordered_time(time: TimeMs) -> [u8; 8] {
    ((time as u64) ^ (1 << 63)).to_be_bytes()
}

/// Decodes a fixed-width big-endian number stored as a value.
pub(super) fn be_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

pub(super) fn be_i64(bytes: &[u8]) -> Option<i64> {
    Some(i64::from_be_bytes(bytes.try_into().ok()?))
}

pub(super) fn be_u32(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}
