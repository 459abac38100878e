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
//! | `pairs`        | symbol                                | a [`Snapshot`] (pair state): byte 0x01 and postcard ([`encode_snapshot`]); JSON in schema 1 |
//! | `outbox`       | sink `0` seq u64                      | [`OutboxEntry`]              |
//! | `sent`         | sink `0` alert id                     | sent_at i64 (8 bytes BE)     |
//! | `dead`         | seq u64 (the id `dead-letters` shows) | [`DeadLetter`]               |
//! | `mutes`        | symbol `0` kind name or `*`           | [`Mute`](crate::rules::Mute) |
//! | `liquidations` | symbol `0` time (i64, sign flipped) seq u64 | [`Liquidation`](crate::model::Liquidation) |
//! | `meta`         | `schema_version` / `position` / `sent_count` | u32 BE / u64 BE / u64 BE |
//!
//! Pair snapshots are binary because they are most of what the store writes (every pair at every
//! 5m close, 600 of them in one burst): postcard is about a third of the JSON's size and several
//! times faster both ways. The heatmap's mass arrays go sparse there (non-empty bins only).
//!
//! | schema | what changed                          | an older store opened by this build          |
//! |--------|---------------------------------------|----------------------------------------------|
//! | 1      | first                                 | read; [`Store::open`] marks it 2, each JSON snapshot is rewritten binary by its pair's next commit (read-only opens change nothing) |
//! | 2      | pair snapshots binary                 | —                                            |
//!
//! A JSON snapshot is told from a binary one by its first byte (`{`), so a store of schema 2 may
//! hold both until every pair has been committed once; the migration is lazy because the store
//! cannot decode a snapshot without its type, and a pair that never changes again (delisted)
//! keeps its JSON harmlessly. A build of schema 1 refuses a store of 2 ([`StoreError::NewerSchema`]).
//!
//! `sent_count` counts every delivery recorded in the sent log, ever (retention prunes the log,
//! not the count). Beside sled's files (`conf`, `db`, `blobs/`, `snap.*`) the directory holds:
//!
//! | file                | what                                                           |
//! |---------------------|----------------------------------------------------------------|
//! | `liqwave.lock`      | the liqwave lock (`flock`), held while a process uses the store; the holder's pid |
//! | `liqwave.watermark` | JSON `{"position":…,"sent":…}`: the [`Marks`] sled last made durable |
//!
//! Sequence numbers come from sled's crash-safe `generate_id`, so outbox keys sort in creation
//! order per sink. Everything written inside a sled transaction is encoded before it: sled's
//! transactions are optimistic and may run their closure more than once.
//!
//! # Failure modes
//!
//! - **Another process has the store.** [`Store::open`] takes `liqwave.lock` before sled opens,
//!   and [`Store::move_aside`] (`--reset-state`) takes it (and checks sled's own lock on `db`)
//!   before it moves anything: a held store is refused with [`StoreError::Locked`] naming the
//!   holder's pid, and never moved. The lock is an `flock`, which the kernel releases when the
//!   process ends, SIGKILL included; it lives inside the store directory, so it needs nothing
//!   writable beyond it (systemd's `StateDirectory=`) and moves aside with it.
//! - **sled panics on damaged files.** sled 0.34.7 panics on some (e.g. "tried to serialize
//!   Uninitialized" for an overwritten segment header): opening runs under `catch_unwind` with a
//!   scoped panic hook that silences this thread's panics (other threads' still print; the
//!   previous hook is put back), so only [`StoreError::Corrupt`] reaches the journal.
//! - **Unreadable files.** A directory whose sled files exist but that has no schema version is
//!   `Corrupt`: sled silently opens a garbage or truncated `db` file as an empty database, and a
//!   fresh store writes and flushes its version before it returns.
//! - **A silent rollback.** Damage in the middle of sled's log that sled takes for a torn tail
//!   is invisible to sled: it recovers the prefix before it, and the alerts whose delivery it
//!   forgot would go out again. [`Store::flush`] reads the [`Marks`] (position, `sent_count`),
//!   flushes, and only then writes them to `liqwave.watermark` (temporary file, fsync, rename),
//!   so the watermark is never ahead of what sled made durable and a crash raises no false alarm.
//!   An open that finds the store behind it reports a [`Rollback`] ([`Store::rollback`]: how
//!   many alerts may be delivered again); `run` and `replay` log it as an error and go on,
//!   `status` prints it. The watermark is written at flush points only (after each delivery and
//!   at shutdown), not per commit; an older copy of the whole directory, watermark included,
//!   cannot be told from the real thing.
//! - **Commands that only read.** [`Store::open_existing`] (`status`, `validate-model --store`)
//!   never creates a database: a missing directory, one without sled files or a dangling
//!   symbolic link is [`StoreError::NotFound`].
//!
//! The store never reads the clock (times are arguments) and never spawns.

mod error;
mod keys;
mod lock;
mod meter;
mod open;
mod outbox;
mod records;
mod snapshot;
#[cfg(test)]
mod tests;
mod watermark;

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
pub use outbox::{DeadLetter, Failure, OutboxEntry, SentRecord, Settle};
pub use snapshot::{decode_snapshot, encode_snapshot};
pub use watermark::{Marks, Rollback};

use crate::model::Alert;
use crate::view::ChartSeries;
use error::{decode_error, op_error, tx_error};
use keys::{META_POSITION, META_SENT, be_u64};
use lock::Lock;
use watermark::Watermark;

/// Bumped when the key layout or encoding changes. 2: pair snapshots binary (JSON ones of 1 are
/// still read, and rewritten binary by their pair's next commit). 3: the binary layout of a pair
/// grew (the playbook's state); binary snapshots of 2 cannot be read and are dropped on opening.
pub const SCHEMA_VERSION: u32 = 3;

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
    watermark: Arc<Watermark>,
    /// Found when the store was opened.
    rollback: Option<Rollback>,
    /// Last: fields drop in order, so the liqwave lock outlives the sled handles.
    _lock: Arc<Lock>,
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
/// (the engine's pair snapshot). The store never looks inside; its serde form must suit a format
/// that is not self-describing ([`encode_snapshot`] says which attributes break it).
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
            .map(|p| Ok((p.key().as_bytes().to_vec(), encode_snapshot(p)?)))
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
    /// fsynced on sled's own thread pool), then moves the watermark up to what it covered.
    pub async fn flush(&self) -> Result<(), StoreError> {
        // Read before the flush, so the flush covers them: the watermark is never ahead of sled.
        let marks = self.marks()?;
        self.db.flush_async().await.map_err(|e| self.op_error(e))?;
        self.watermark.advance(marks);
        Ok(())
    }

    /// How far the store has got: events processed and deliveries recorded, ever.
    pub fn marks(&self) -> Result<Marks, StoreError> {
        Ok(Marks {
            position: self.position()?.unwrap_or(0),
            sent: self.meta_u64(META_SENT)?.unwrap_or(0),
        })
    }

    /// The store was found behind its watermark when opened: it lost work sled had made durable
    /// (damage sled took for a torn tail, or an older copy of the directory put back), and the
    /// alerts whose delivery it forgot may be delivered again. Stays until the store is flushed
    /// after some use, which writes a watermark for what it now holds.
    pub fn rollback(&self) -> Option<Rollback> {
        self.rollback
    }

    /// Every stored pair snapshot, in symbol order.
    pub fn pair_snapshots<P: Snapshot>(&self) -> Result<Vec<P>, StoreError> {
        self.pairs
            .iter()
            .map(|kv| {
                let (key, value) = kv.map_err(|e| self.op_error(e))?;
                decode_snapshot(&key, &value)
            })
            .collect()
    }

    /// The replay position (events processed) of the last commit that set one.
    pub fn position(&self) -> Result<Option<u64>, StoreError> {
        self.meta_u64(META_POSITION)
    }

    /// The encoded size of every stored pair snapshot, in symbol order: what the store keeps per
    /// pair, whatever the encoding (the performance report reads it).
    pub fn pair_bytes(&self) -> Result<Vec<usize>, StoreError> {
        self.pairs
            .iter()
            .map(|kv| Ok(kv.map_err(|e| self.op_error(e))?.1.len()))
            .collect()
    }

    fn meta_u64(&self, key: &[u8]) -> Result<Option<u64>, StoreError> {
        let Some(bytes) = self.meta.get(key).map_err(|e| self.op_error(e))? else {
            return Ok(None);
        };
        be_u64(&bytes).map(Some).ok_or_else(|| {
            let key = String::from_utf8_lossy(key);
            decode_error(META, format!("{key} of {} bytes", bytes.len()))
        })
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
