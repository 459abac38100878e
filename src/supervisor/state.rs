//! Opening the store for a run and restoring the engine from it: `--reset-state` moves a database
//! aside (never deletes it), a corrupt or locked one fails with what to do, and the engine
//! continues from the last committed event with its mutes and tells the live source how far
//! each pair's series goes.

use std::path::Path;

use anyhow::Context;

use super::topology::BATCH;
use crate::clock::wall_ms;
use crate::config::Config;
use crate::engine::Engine;
use crate::model::{Interval, SymbolEvent};
use crate::source::Resume;
use crate::source::replay::ReplayError;
use crate::store::Store;

/// Opens the store at `path`; with `reset` an existing database is first moved aside (refused,
/// and nothing moved, while another process holds it). A store behind its watermark is used,
/// loudly: the daemon keeps running, and the journal says what may be delivered again.
pub fn open_store(path: &Path, cache_bytes: u64, reset: bool) -> anyhow::Result<Store> {
    if reset {
        let label = wall_ms().to_string();
        if let Some(moved) = Store::move_aside(path, &label)
            .with_context(|| format!("moving the state in {} aside", path.display()))?
        {
            tracing::warn!(
                from = %path.display(),
                to = %moved.display(),
                "Moved the old state aside; starting empty."
            );
        }
    }
    let store = Store::open(path, cache_bytes)?;
    tracing::info!(path = %path.display(), "Opened the state store.");
    if let Some(rollback) = store.rollback() {
        tracing::error!(
            path = %path.display(),
            position = rollback.found.position,
            watermark_position = rollback.watermark.position,
            sent = rollback.found.sent,
            watermark_sent = rollback.watermark.sent,
            "The state store is behind its watermark: it lost work it had made durable (damage, \
             or an older copy put back). Up to {} alerts may be delivered again, and its pair \
             state lacks the last {} events.",
            rollback.redeliveries(),
            rollback.events_lost()
        );
    }
    Ok(store)
}

/// The engine as the store left it, and how many input events it had processed.
pub(super) fn restore(config: &Config, store: &Store) -> anyhow::Result<(Engine, u64)> {
    let snapshots = store.pair_snapshots()?;
    let pairs = snapshots.len();
    let mut engine = Engine::restore(config, snapshots);
    for mute in store.mutes()?.iter() {
        engine.mute(mute.clone());
    }
    let position = store.position()?.unwrap_or(0);
    if pairs > 0 {
        tracing::info!(pairs, position, "Restored pair state from the store.");
    }
    Ok((engine, position))
}

/// Skips the events of a recording that a previous run committed (its `position`), asking
/// `stopped` every batch; `Ok(false)` when it said stop. A recording that ends first belongs to
/// another dataset: an error, as is an error in the data.
pub(super) fn skip_processed(
    events: &mut impl Iterator<Item = Result<SymbolEvent, ReplayError>>,
    position: u64,
    stopped: &dyn Fn() -> bool,
) -> anyhow::Result<bool> {
    if position > 0 {
        tracing::info!(
            position,
            "Resuming after the events a previous run committed."
        );
    }
    for skipped in 0..position {
        if skipped % BATCH as u64 == 0 && stopped() {
            return Ok(false);
        }
        match events.next() {
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e).context("reading the recorded data"),
            None => anyhow::bail!(
                "the store has processed {position} events but this dataset has {skipped}: it \
                 belongs to another dataset; point store.path elsewhere or start with --reset-state"
            ),
        }
    }
    Ok(true)
}

/// The open time of the last 5m bar of every pair the engine holds: a live source continues
/// those series (back-filling the hole since) instead of warming them up again.
pub(super) fn resume_points(engine: &Engine) -> Resume {
    let step = Interval::M5.duration_ms();
    (engine.pairs().into_iter())
        .filter_map(|p| Some((p.symbol().clone(), p.last_source_open()?)))
        .filter(|(_, open)| open % step == 0)
        .collect()
}
