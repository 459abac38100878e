//! The outbox (alerts waiting for a sink), the sent log (what each sink has delivered, so a
//! repeat after a crash is dropped) and the dead letters (what failed for good).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, ConflictableTransactionResult};

use super::error::{decode_error, tx_error};
use super::keys::{META_SENT, be_i64, be_u64, parse_sent_key, prefix, sent_key, split};
use super::{DEAD, META, OUTBOX, OutboxKey, SENT, Store, StoreError, decode, encode};
use crate::model::{Alert, AlertId, TimeMs};
use crate::view::ChartSeries;

/// An alert waiting for one sink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub alert: Alert,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Not to be tried before this time; 0 for a new entry (due at once).
    pub next_attempt_ms: TimeMs,
    pub last_error: Option<String>,
    /// The chart the sink attaches, drawn from the state when the alert fired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<ChartSeries>,
}

impl OutboxEntry {
    /// A new entry: no attempts yet, due at once.
    pub fn new(alert: Alert) -> OutboxEntry {
        OutboxEntry {
            alert,
            attempts: 0,
            next_attempt_ms: 0,
            last_error: None,
            chart: None,
        }
    }
}

/// An alert a sink failed to deliver for good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub sink: String,
    pub alert: Alert,
    pub error: String,
    pub at: TimeMs,
    /// Attempts made, the final failed one included.
    pub attempts: u32,
}

/// One delivery in the sent log.
#[derive(Debug, Clone, PartialEq)]
pub struct SentRecord {
    pub sink: String,
    pub id: AlertId,
    pub sent_at: TimeMs,
}

impl Store {
    /// The first `limit` entries of `sink` in key (= creation) order.
    pub fn pending(
        &self,
        sink: &str,
        limit: usize,
    ) -> Result<Vec<(OutboxKey, OutboxEntry)>, StoreError> {
        self.outbox
            .scan_prefix(prefix(sink.as_bytes()))
            .take(limit)
            .map(|kv| {
                let (key, value) = kv.map_err(|e| self.op_error(e))?;
                let key = OutboxKey::from_bytes(&key)
                    .ok_or_else(|| decode_error(OUTBOX, format!("key {key:?}")))?;
                Ok((key, decode(OUTBOX, &value)?))
            })
            .collect()
    }

    /// Entries per sink, for every sink that has any.
    pub fn outbox_depth(&self) -> Result<BTreeMap<String, usize>, StoreError> {
        let mut depth = BTreeMap::new();
        for key in self.outbox.iter().keys() {
            let key = key.map_err(|e| self.op_error(e))?;
            let (sink, _) =
                split(&key).ok_or_else(|| decode_error(OUTBOX, format!("key {key:?}")))?;
            match depth.get_mut(sink) {
                Some(n) => *n += 1,
                None => {
                    depth.insert(sink.to_owned(), 1);
                }
            }
        }
        Ok(depth)
    }

    /// Whether the sent log records `id` as delivered to `sink`.
    pub fn is_sent(&self, sink: &str, id: &AlertId) -> Result<bool, StoreError> {
        self.sent
            .contains_key(sent_key(sink, id))
            .map_err(|e| self.op_error(e))
    }

    /// One transaction: removes the outbox entry, records (sink, alert id) → `sent_at` in the
    /// sent log and counts the delivery in `meta` (for the watermark). A no-op when the entry is
    /// gone.
    pub fn mark_sent(&self, key: &OutboxKey, sent_at: TimeMs) -> Result<(), StoreError> {
        let outbox_key = key.to_bytes();
        let sent_at = sent_at.to_be_bytes();
        (&self.outbox, &self.sent, &self.meta)
            .transaction(
                |(outbox, sent, meta)| -> ConflictableTransactionResult<(), StoreError> {
                    let Some(value) = outbox.remove(outbox_key.as_slice())? else {
                        return Ok(());
                    };
                    let entry: OutboxEntry =
                        decode(OUTBOX, &value).map_err(ConflictableTransactionError::Abort)?;
                    sent.insert(sent_key(&key.sink, &entry.alert.id), &sent_at)?;
                    let count = match meta.get(META_SENT)? {
                        None => 0,
                        Some(bytes) => be_u64(&bytes).ok_or_else(|| {
                            let detail = format!("sent_count of {} bytes", bytes.len());
                            ConflictableTransactionError::Abort(decode_error(META, detail))
                        })?,
                    };
                    meta.insert(META_SENT, &(count + 1).to_be_bytes())?;
                    Ok(())
                },
            )
            .map_err(|e| tx_error(&self.path, e))
    }

    /// Removes an outbox entry whose alert the sent log already has (a repeat after a crash).
    pub fn drop_pending(&self, key: &OutboxKey) -> Result<(), StoreError> {
        self.outbox
            .remove(key.to_bytes())
            .map_err(|e| self.op_error(e))?;
        Ok(())
    }

    /// Rewrites the entry (attempts, next_attempt_ms, last_error) in place; a no-op when the
    /// entry is gone (it is never resurrected).
    pub fn reschedule(&self, key: &OutboxKey, entry: &OutboxEntry) -> Result<(), StoreError> {
        let value = encode(OUTBOX, entry)?;
        self.outbox
            .fetch_and_update(key.to_bytes(), |old| old.map(|_| value.clone()))
            .map_err(|e| self.op_error(e))?;
        Ok(())
    }

    /// One transaction: removes the outbox entry and adds a dead letter with `error`, `at` and
    /// the stored attempts plus this final failed one. A no-op when the entry is gone.
    pub fn dead_letter(&self, key: &OutboxKey, error: &str, at: TimeMs) -> Result<(), StoreError> {
        let outbox_key = key.to_bytes();
        let dead_key = self
            .db
            .generate_id()
            .map_err(|e| self.op_error(e))?
            .to_be_bytes();
        (&self.outbox, &self.dead)
            .transaction(
                |(outbox, dead)| -> ConflictableTransactionResult<(), StoreError> {
                    let Some(value) = outbox.remove(outbox_key.as_slice())? else {
                        return Ok(());
                    };
                    // Pure decoding and encoding: safe to repeat if the transaction retries.
                    let entry: OutboxEntry =
                        decode(OUTBOX, &value).map_err(ConflictableTransactionError::Abort)?;
                    let letter = DeadLetter {
                        sink: key.sink.clone(),
                        attempts: entry.attempts.saturating_add(1),
                        alert: entry.alert,
                        error: error.to_owned(),
                        at,
                    };
                    let letter =
                        encode(DEAD, &letter).map_err(ConflictableTransactionError::Abort)?;
                    dead.insert(&dead_key, letter)?;
                    Ok(())
                },
            )
            .map_err(|e| tx_error(&self.path, e))
    }

    /// Every dead letter, oldest first.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        self.dead
            .iter()
            .values()
            .map(|value| decode(DEAD, &value.map_err(|e| self.op_error(e))?))
            .collect()
    }

    /// Drops sent-log records older than `before`; returns how many.
    pub fn prune_sent(&self, before: TimeMs) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let mut pruned = 0;
        for kv in self.sent.iter() {
            let (key, value) = kv.map_err(|e| self.op_error(e))?;
            let sent_at = be_i64(&value)
                .ok_or_else(|| decode_error(SENT, format!("sent_at of {} bytes", value.len())))?;
            if sent_at < before {
                batch.remove(key);
                pruned += 1;
            }
        }
        self.sent.apply_batch(batch).map_err(|e| self.op_error(e))?;
        Ok(pruned)
    }

    /// The most recent `n` sent records, newest first (ties: sink, then id, descending).
    pub fn recent_sent(&self, n: usize) -> Result<Vec<SentRecord>, StoreError> {
        let mut records = self
            .sent
            .iter()
            .map(|kv| {
                let (key, value) = kv.map_err(|e| self.op_error(e))?;
                let (sink, id) = parse_sent_key(&key)
                    .ok_or_else(|| decode_error(SENT, format!("key {key:?}")))?;
                let sent_at = be_i64(&value).ok_or_else(|| {
                    decode_error(SENT, format!("sent_at of {} bytes", value.len()))
                })?;
                Ok(SentRecord { sink, id, sent_at })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        records.sort_by(|a, b| (b.sent_at, &b.sink, &b.id).cmp(&(a.sent_at, &a.sink, &a.id)));
        records.truncate(n);
        Ok(records)
    }
}
