//! The outbox (alerts waiting for a sink), the sent log (what each sink has delivered, so a
//! repeat after a crash is dropped) and the dead letters (what failed for good, until an operator
//! retries or drops them).
//!
//! A sink with several recipients (Telegram's chats) keeps its progress in the entry: `to` lists
//! the recipients still owed the alert, so a retry goes to those only, and a dead letter names
//! the recipients it failed for. One transaction settles each send ([`Store::settle`]).

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
    /// The recipients (Telegram chats) still owed the alert; `None`: every recipient of the sink
    /// (a new entry, or a sink that is one recipient).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Vec<String>>,
}

impl OutboxEntry {
    /// A new entry: no attempts yet, due at once, owed to every recipient.
    pub fn new(alert: Alert) -> OutboxEntry {
        OutboxEntry {
            alert,
            attempts: 0,
            next_attempt_ms: 0,
            last_error: None,
            chart: None,
            to: None,
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
    /// The recipients (Telegram chats) it failed for while the sink's others got it; empty: the
    /// whole sink.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
    /// The chart the alert fired with, so a retry draws the same picture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<ChartSeries>,
}

/// What becomes of one outbox entry after a send ([`Store::settle`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Settle {
    /// Settled for every recipient (delivered, or a dead letter for some): removed and recorded
    /// in the sent log.
    Sent,
    /// Still owed to someone: rewritten in place (attempts, backoff, the recipients still owed).
    Again(Box<OutboxEntry>),
    /// Failed for good and nobody got it: removed, not recorded as sent.
    Dead,
}

/// A dead letter to add for each settled entry: the recipients it names and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Empty: the whole sink.
    pub recipients: Vec<String>,
    pub error: String,
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
        self.settle(&[(key.clone(), Settle::Sent)], &[], sent_at)
    }

    /// Removes an outbox entry whose alert the sent log already has (a repeat after a crash).
    pub fn drop_pending(&self, key: &OutboxKey) -> Result<(), StoreError> {
        self.outbox
            .remove(key.to_bytes())
            .map_err(|e| self.op_error(e))?;
        Ok(())
    }

    /// Rewrites the entry (attempts, next_attempt_ms, last_error, to) in place; a no-op when the
    /// entry is gone (it is never resurrected).
    pub fn reschedule(&self, key: &OutboxKey, entry: &OutboxEntry) -> Result<(), StoreError> {
        self.settle(
            &[(key.clone(), Settle::Again(Box::new(entry.clone())))],
            &[],
            0,
        )
    }

    /// One transaction: removes the outbox entry and adds a dead letter for the whole sink with
    /// `error`, `at` and the stored attempts plus this final failed one. A no-op when the entry
    /// is gone.
    pub fn dead_letter(&self, key: &OutboxKey, error: &str, at: TimeMs) -> Result<(), StoreError> {
        let failure = Failure {
            recipients: Vec::new(),
            error: error.to_owned(),
        };
        self.settle(&[(key.clone(), Settle::Dead)], &[failure], at)
    }

    /// One transaction for what one send did to its entries (one alert, or the alerts of one
    /// digest): each is removed and recorded as sent, rewritten, or removed as dead (see
    /// [`Settle`]); every entry gets one dead letter per `failures` (its stored attempts plus
    /// this failed one, at `at`). Entries already gone are skipped with their dead letters, so a
    /// settlement never resurrects or repeats anything.
    pub fn settle(
        &self,
        entries: &[(OutboxKey, Settle)],
        failures: &[Failure],
        at: TimeMs,
    ) -> Result<(), StoreError> {
        // Encode and allocate ids first: the transaction closure may run more than once.
        let mut planned = Vec::with_capacity(entries.len());
        for (key, settle) in entries {
            let rewrite = match settle {
                Settle::Again(entry) => Some(encode(OUTBOX, entry)?),
                Settle::Sent | Settle::Dead => None,
            };
            let dead_keys = failures
                .iter()
                .map(|_| self.db.generate_id().map_err(|e| self.op_error(e)))
                .collect::<Result<Vec<u64>, StoreError>>()?;
            planned.push((key, settle, rewrite, dead_keys));
        }
        let sent_at = at.to_be_bytes();
        (&self.outbox, &self.sent, &self.meta, &self.dead)
            .transaction(
                |(outbox, sent, meta, dead)| -> ConflictableTransactionResult<(), StoreError> {
                    let abort = ConflictableTransactionError::Abort;
                    let mut delivered = 0u64;
                    for (key, settle, rewrite, dead_keys) in &planned {
                        let outbox_key = key.to_bytes();
                        let Some(value) = outbox.get(outbox_key.as_slice())? else {
                            continue;
                        };
                        let entry: OutboxEntry = decode(OUTBOX, &value).map_err(abort)?;
                        for (failure, dead_key) in failures.iter().zip(dead_keys) {
                            let letter = DeadLetter {
                                sink: key.sink.clone(),
                                alert: entry.alert.clone(),
                                error: failure.error.clone(),
                                at,
                                attempts: entry.attempts.saturating_add(1),
                                recipients: failure.recipients.clone(),
                                chart: entry.chart.clone(),
                            };
                            let letter = encode(DEAD, &letter).map_err(abort)?;
                            dead.insert(&dead_key.to_be_bytes(), letter)?;
                        }
                        match (settle, rewrite) {
                            (Settle::Again(_), Some(value)) => {
                                outbox.insert(outbox_key.as_slice(), value.as_slice())?;
                            }
                            (Settle::Sent, _) => {
                                outbox.remove(outbox_key.as_slice())?;
                                sent.insert(sent_key(&key.sink, &entry.alert.id), &sent_at)?;
                                delivered += 1;
                            }
                            _ => {
                                outbox.remove(outbox_key.as_slice())?;
                            }
                        }
                    }
                    if delivered > 0 {
                        let count = match meta.get(META_SENT)? {
                            None => 0,
                            Some(bytes) => be_u64(&bytes).ok_or_else(|| {
                                let detail = format!("sent_count of {} bytes", bytes.len());
                                abort(decode_error(META, detail))
                            })?,
                        };
                        meta.insert(META_SENT, &(count + delivered).to_be_bytes())?;
                    }
                    Ok(())
                },
            )
            .map_err(|e| tx_error(&self.path, e))
    }

    /// Every dead letter with its id (for `liqwave dead-letters`), oldest first.
    pub fn dead_letters_by_id(&self) -> Result<Vec<(u64, DeadLetter)>, StoreError> {
        self.dead
            .iter()
            .map(|kv| {
                let (key, value) = kv.map_err(|e| self.op_error(e))?;
                let id = be_u64(&key).ok_or_else(|| decode_error(DEAD, format!("key {key:?}")))?;
                Ok((id, decode(DEAD, &value)?))
            })
            .collect()
    }

    /// One transaction: moves the dead letters `ids` back into their sinks' outboxes, due at
    /// once with no attempts, owed to the recipients each names (all when it names none), in
    /// id order behind what is queued. Ids not found are skipped; returns how many moved.
    pub fn retry_dead(&self, ids: &[u64]) -> Result<usize, StoreError> {
        let letters = self.dead_letters_by_id()?;
        let mut moves = Vec::new();
        for (id, letter) in letters.into_iter().filter(|(id, _)| ids.contains(id)) {
            let entry = OutboxEntry {
                chart: letter.chart,
                to: (!letter.recipients.is_empty()).then_some(letter.recipients),
                ..OutboxEntry::new(letter.alert)
            };
            let seq = self.db.generate_id().map_err(|e| self.op_error(e))?;
            let key = OutboxKey {
                sink: letter.sink,
                seq,
            };
            moves.push((id.to_be_bytes(), key.to_bytes(), encode(OUTBOX, &entry)?));
        }
        (&self.outbox, &self.dead)
            .transaction(
                |(outbox, dead)| -> ConflictableTransactionResult<usize, StoreError> {
                    let mut moved = 0;
                    for (dead_key, outbox_key, value) in &moves {
                        if dead.remove(dead_key.as_slice())?.is_some() {
                            outbox.insert(outbox_key.as_slice(), value.as_slice())?;
                            moved += 1;
                        }
                    }
                    Ok(moved)
                },
            )
            .map_err(|e| tx_error(&self.path, e))
    }

    /// Deletes the dead letters `ids`; ids not found are skipped. Returns how many went.
    pub fn drop_dead(&self, ids: &[u64]) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let mut dropped = 0;
        for id in ids {
            let key = id.to_be_bytes();
            if self.dead.contains_key(key).map_err(|e| self.op_error(e))? {
                batch.remove(&key);
                dropped += 1;
            }
        }
        self.dead.apply_batch(batch).map_err(|e| self.op_error(e))?;
        Ok(dropped)
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
