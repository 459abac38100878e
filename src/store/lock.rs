//! The liqwave lock: `<store>/liqwave.lock`, held (an `flock`, released by the kernel when the
//! process ends, SIGKILL included) for as long as a process uses the store, with the holder's
//! pid inside for the message of whoever is refused. Must never block: the caller decides how
//! long to retry.
//!
//! sled locks its own `db` file the same way, but only once it is open, with no pid, and nothing
//! stopped `--reset-state` from moving a held store aside; this lock is taken before sled opens
//! and before a store is moved.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::Path;

use super::StoreError;

/// The lock file's name inside the store directory.
pub(super) const LOCK_FILE: &str = "liqwave.lock";

/// A held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub(super) struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock of the store directory `dir` (which must exist) and writes this process's
    /// pid in it; [`StoreError::Locked`] naming the holder when another process has it.
    pub(super) fn take(dir: &Path) -> Result<Lock, StoreError> {
        let io_error = |e: io::Error| {
            StoreError::Io(format!(
                "cannot lock {}: {e}",
                dir.join(LOCK_FILE).display()
            ))
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(LOCK_FILE))
            .map_err(io_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    path: dir.to_owned(),
                    holder: read_pid(&mut file),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_error(e)),
        }
        // Informational only (no fsync): a reader that races with this write says "another
        // process" instead of naming it.
        file.set_len(0)
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .map_err(io_error)?;
        Ok(Lock { _file: file })
    }
}

/// Whether some process holds sled's own lock on `<dir>/db` (a liqwave that predates the liqwave
/// lock, or a sled tool). Only asks: the probe's lock, if it got one, is released at once.
pub(super) fn sled_lock_held(dir: &Path) -> Result<bool, StoreError> {
    let file = match File::open(dir.join("db")) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => {
            return Err(StoreError::Io(format!(
                "cannot read {}: {e}",
                dir.display()
            )));
        }
    };
    match file.try_lock() {
        Ok(()) => Ok(false),
        Err(TryLockError::WouldBlock) => Ok(true),
        Err(TryLockError::Error(e)) => Err(StoreError::Io(format!(
            "cannot probe the lock of {}: {e}",
            dir.display()
        ))),
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}
