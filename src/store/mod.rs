//! Durable state in sled behind a typed API (DESIGN.md §6): pair snapshots, the outbox, the sent
//! log, dead letters, mutes, recorded liquidations and metadata. The only module that knows the
//! key layout and the encoding; it must never decide what to send or when (workers do).
//!
//! # Layout (schema version [`SCHEMA_VERSION`])
//!
//! Values are JSON (serde_json with `float_roundtrip`, so f64 state restores bit-exactly) unless
//! noted; numbers in keys are big-endian so that sled's byte order is numeric order; `0` is a
//! 0x00 byte.
//!
//! | tree           | key                                   | value                        |
//! |----------------|---------------------------------------|------------------------------|
//! | `pairs`        | symbol                                | a [`Snapshot`] (pair state)  |
//! | `outbox`       | sink `0` seq u64                      | [`OutboxEntry`]              |
//! | `sent`         | sink `0` alert id                     | sent_at i64 (8 bytes BE)     |
//! | `dead`         | seq u64                               | [`DeadLetter`]               |
//! | `mutes`        | symbol `0` kind name or `*`           | [`Mute`](crate::rules::Mute) |
//! | `liquidations` | symbol `0` time (i64, sign flipped) seq u64 | [`Liquidation`](crate::model::Liquidation) |
//! | `meta`         | `schema_version` / `position`         | u32 BE / u64 BE              |
//!
//! Sequence numbers come from sled's crash-safe `generate_id`, so outbox keys sort in creation
//! order per sink. Everything written inside a sled transaction is encoded before it: sled's
//! transactions are optimistic and may run their closure more than once.
//!
//! # Failure modes
//!
//! [`Store::open`] never panics: sled 0.34.7 panics on some damaged files (e.g. "tried to serialize
//! Uninitialized" for an overwritten segment header), so opening runs under `catch_unwind` and
//! any panic becomes [`StoreError::Corrupt`] (the default panic hook still prints it). A
//! database directory whose sled files exist but that has no schema version is also `Corrupt`:
//! sled silently opens a garbage or truncated `db` file as an empty database, and a fresh store
//! writes and flushes its version before it returns. Damage in the middle of a log that sled
//! takes for a torn tail is invisible: it recovers the prefix before it.
//!
//! The store never reads the clock (times are arguments) and never spawns.

mod error;
mod keys;
mod meter;
mod open;
mod outbox;
mod records;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::ConflictableTransactionResult;

pub use error::StoreError;
pub use keys::OutboxKey;
pub use meter::OutboxDepth;
pub use outbox::{DeadLetter, OutboxEntry, SentRecord};

use crate::model::Alert;
use crate::view::ChartSeries;
use error::{decode_error, op_error, tx_error};
use keys::{META_POSITION, be_u64};

/// Bumped when the key layout or encoding changes.
pub const SCHEMA_VERSION: u32 = 1;

const PAIRS: &str = "pairs";
const OUTBOX: &str = "outbox";
const SENT: &str = "sent";
const DEAD: &str = "dead";
const MUTES: &str = "mutes";
const LIQUIDATIONS: &str = "liquidations";
const META: &str = "meta";

/// The open database. Cloning is cheap (sled handles are reference-counted) and every clone
/// sees the same data; the files stay locked until the last clone is dropped.
#[derive(Clone)]
pub struct Store {
    path: Arc<Path>,
    db: sled::Db,
    pairs: sled::Tree,
    outbox: sled::Tree,
    sent: sled::Tree,
    dead: sled::Tree,
    mutes: sled::Tree,
    liquidations: sled::Tree,
    meta: sled::Tree,
}

/// sled's own `Debug` dumps every tree's pages; the path is what a reader of a log needs.
impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// What the store keeps per pair: any serialisable state that names the key it is stored under
/// (the engine's pair snapshot). The store never looks inside.
pub trait Snapshot: Serialize + DeserializeOwned {
    fn key(&self) -> &str;
}

/// The snapshot type of a commit that carries alerts only: there is no value of it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub enum NoPairs {}

impl Snapshot for NoPairs {
    fn key(&self) -> &str {
        match *self {}
    }
}

/// What one engine step persists, in one transaction.
#[derive(Debug, Clone, Copy)]
pub struct Commit<'a, P = NoPairs> {
    /// Upserted by [`Snapshot::key`].
    pub pairs: &'a [P],
    /// Each alert with the sinks it is routed to: one outbox entry per (alert, sink).
    pub alerts: &'a [Routed],
    /// Events of the input processed so far, when it changed.
    pub position: Option<u64>,
}

impl<'a> Commit<'a, NoPairs> {
    /// Alerts into the outbox without a state change or a new position.
    pub fn alerts(alerts: &'a [Routed]) -> Commit<'a> {
        Commit {
            pairs: &[],
            alerts,
            position: None,
        }
    }
}

/// An alert on its way into the outbox: the sinks it goes to and, for alerts that show one, the
/// chart's data as it was when the alert fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Routed {
    pub alert: Alert,
    pub sinks: Vec<String>,
    pub chart: Option<ChartSeries>,
}

impl Routed {
    pub fn new(alert: Alert, sinks: Vec<String>) -> Routed {
        Routed {
            alert,
            sinks,
            chart: None,
        }
    }
}

impl Store {
    /// Where the database lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One transaction over pairs, outbox and meta: upserts every pair snapshot, inserts one
    /// outbox entry per (alert, sink) — due at once, no attempts yet — and sets the replay
    /// position when given. Not durable until the next [`Store::flush`] (or sled's background
    /// flush, every 500 ms).
    pub fn commit<P: Snapshot>(&self, commit: &Commit<'_, P>) -> Result<(), StoreError> {
        // Encode and allocate ids first: the transaction closure may run more than once.
        let pairs = commit
            .pairs
            .iter()
            .map(|p| Ok((p.key().as_bytes().to_vec(), encode(PAIRS, p)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut outbox = Vec::new();
        for routed in commit.alerts {
            let mut entry = OutboxEntry::new(routed.alert.clone());
            entry.chart.clone_from(&routed.chart);
            let value = encode(OUTBOX, &entry)?;
            for sink in &routed.sinks {
                debug_assert!(!sink.is_empty() && !sink.contains('\0'), "sink {sink:?}");
                let seq = self.db.generate_id().map_err(|e| self.op_error(e))?;
                let key = OutboxKey {
                    sink: sink.clone(),
                    seq,
                };
                outbox.push((key.to_bytes(), value.clone()));
            }
        }
        let position = commit.position.map(u64::to_be_bytes);
        (&self.pairs, &self.outbox, &self.meta)
            .transaction(
                |(pairs_tx, outbox_tx, meta_tx)| -> ConflictableTransactionResult<(), StoreError> {
                    for (key, value) in &pairs {
                        pairs_tx.insert(key.as_slice(), value.as_slice())?;
                    }
                    for (key, value) in &outbox {
                        outbox_tx.insert(key.as_slice(), value.as_slice())?;
                    }
                    if let Some(position) = &position {
                        meta_tx.insert(META_POSITION, position)?;
                    }
                    Ok(())
                },
            )
            .map_err(|e| tx_error(&self.path, e))
    }

    /// Makes every write so far durable (sled's `flush_async`: dirty buffers written and
    /// fsynced on sled's own thread pool).
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await.map_err(|e| self.op_error(e))?;
        Ok(())
    }

    /// Every stored pair snapshot, in symbol order.
    pub fn pair_snapshots<P: Snapshot>(&self) -> Result<Vec<P>, StoreError> {
        self.pairs
            .iter()
            .map(|kv| {
                let (_, value) = kv.map_err(|e| self.op_error(e))?;
                decode(PAIRS, &value)
            })
            .collect()
    }

    /// The replay position (events processed) of the last commit that set one.
    pub fn position(&self) -> Result<Option<u64>, StoreError> {
        let Some(bytes) = self.meta.get(META_POSITION).map_err(|e| self.op_error(e))? else {
            return Ok(None);
        };
        be_u64(&bytes)
            .map(Some)
            .ok_or_else(|| decode_error(META, format!("position of {} bytes", bytes.len())))
    }

    fn op_error(&self, e: sled::Error) -> StoreError {
        op_error(&self.path, e)
    }
}

fn encode<T: Serialize>(tree: &'static str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value)
        .map_err(|e| StoreError::Io(format!("cannot encode a value for the {tree} tree: {e}")))
}

fn decode<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| decode_error(tree, e))
}
