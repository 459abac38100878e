//! The watermark: `<store>/liqwave.watermark`, how far the store had got when sled last made it
//! durable (events processed, deliveries recorded), kept outside sled so that a store rolled
//! back (sled silently recovers the prefix before a damaged spot; an old copy put back) is
//! reported when opened instead of re-delivering what it forgot. It must never be ahead of what
//! sled made durable, or a crash would raise a false alarm: it is written only after a flush that
//! covers its values, and atomically (temporary file, fsync, rename).

use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

/// The watermark file's name inside the store directory.
pub(super) const WATERMARK_FILE: &str = "liqwave.watermark";
const TMP_FILE: &str = "liqwave.watermark.tmp";

/// How far a store has got; both only ever grow (the sent count is a counter in `meta`, not the
/// sent log's length, which retention prunes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marks {
    /// Input events processed (the replay position).
    pub position: u64,
    /// Deliveries recorded in the sent log, ever.
    pub sent: u64,
}

impl Marks {
    fn max(self, other: Marks) -> Marks {
        Marks {
            position: self.position.max(other.position),
            sent: self.sent.max(other.sent),
        }
    }
}

/// A store found behind its watermark when opened: it lost work sled had made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rollback {
    /// What the store holds.
    pub found: Marks,
    /// What the watermark says it held.
    pub watermark: Marks,
}

impl Rollback {
    /// `Some` when `found` is behind `watermark` in either mark.
    pub(super) fn check(found: Marks, watermark: Marks) -> Option<Rollback> {
        let behind = found.position < watermark.position || found.sent < watermark.sent;
        behind.then_some(Rollback { found, watermark })
    }

    /// Deliveries whose record was lost: those alerts may be delivered again.
    pub fn redeliveries(&self) -> u64 {
        self.watermark.sent.saturating_sub(self.found.sent)
    }

    /// Input events processed again.
    pub fn events_lost(&self) -> u64 {
        self.watermark.position.saturating_sub(self.found.position)
    }
}

impl fmt::Display for Rollback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the store is behind its watermark (damage, or an older copy put back): it holds {} \
             events processed and {} deliveries, where {} and {} had been made durable; up to {} \
             alerts may be delivered again",
            self.found.position,
            self.found.sent,
            self.watermark.position,
            self.watermark.sent,
            self.redeliveries()
        )
    }
}

/// The watermark of one open store, shared by its clones.
#[derive(Debug)]
pub(super) struct Watermark {
    dir: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Never written below this: the highest marks known durable in this process.
    floor: Marks,
    /// What the file says, `None` when there is none (or it is unreadable).
    on_disk: Option<Marks>,
    /// The last write failed (logged once per streak).
    failing: bool,
}

impl Watermark {
    /// The watermark of the store in `dir`, whose durable marks are `found`. The next
    /// [`Watermark::advance`] writes at least `found`, so a rollback is reported by every open
    /// until the store has been used (and flushed) once after it.
    pub(super) fn new(dir: &Path, found: Marks, on_disk: Option<Marks>) -> Watermark {
        Watermark {
            dir: dir.to_owned(),
            state: Mutex::new(State {
                floor: found,
                on_disk,
                failing: false,
            }),
        }
    }

    /// Records that `marks` are durable (a flush covering them has finished). A failed write is
    /// logged, not returned: the watermark then lags, which can hide a rollback but never
    /// invents one, and the store itself is fine.
    pub(super) fn advance(&self, marks: Marks) {
        // Workers flush concurrently: one lock, so writes never interleave or go backwards.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let marks = state.floor.max(marks);
        state.floor = marks;
        if state.on_disk == Some(marks) {
            return;
        }
        match write(&self.dir, marks) {
            Ok(()) => {
                state.on_disk = Some(marks);
                state.failing = false;
            }
            Err(error) if !state.failing => {
                state.failing = true;
                tracing::warn!(
                    path = %self.dir.join(WATERMARK_FILE).display(),
                    %error,
                    "Cannot write the store's watermark; a rollback of the store may go unnoticed."
                );
            }
            Err(_) => {}
        }
    }
}

/// The watermark of the store in `dir`: `Ok(None)` when there is none, `Err` (what is wrong)
/// when it does not read.
pub(super) fn read(dir: &Path) -> Result<Option<Marks>, String> {
    let path = dir.join(WATERMARK_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn write(dir: &Path, marks: Marks) -> io::Result<()> {
    let tmp = dir.join(TMP_FILE);
    let mut file = File::create(&tmp)?;
    serde_json::to_writer(&mut file, &marks)?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    // The directory is not synced: after a power loss the rename may be undone, which leaves the
    // older watermark (behind, never ahead) and halves the fsyncs on every delivery.
    std::fs::rename(&tmp, dir.join(WATERMARK_FILE))
}
