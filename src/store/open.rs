//! Opening (or refusing) a database directory, and moving one aside for `--reset-state`.

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::error::open_error;
use super::keys::{META_SCHEMA, be_u32};
use super::{
    DEAD, LIQUIDATIONS, META, MUTES, OUTBOX, PAIRS, SCHEMA_VERSION, SENT, Store, StoreError,
};

impl Store {
    /// Opens or creates the database at `path` with a bounded cache (bytes). Writes the schema
    /// version on a fresh DB; refuses a newer one. Never panics: every sled failure (and a sled
    /// panic while opening) becomes a [`StoreError`].
    ///
    /// sled releases its file lock only when its background writes of the last handle finish,
    /// which can be tens of milliseconds after the handle is dropped; a lock is therefore retried
    /// for about a second (blocking) before the answer is [`StoreError::Locked`].
    pub fn open(path: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        // sled creates `conf` and `db`; either one means a database was here before.
        let existed = path.join("conf").exists() || path.join("db").exists();
        let mut waits = LOCK_RETRY_MS.into_iter();
        loop {
            let opened = catch_panic(path, || Store::open_unguarded(path, cache_bytes, existed));
            match (opened, waits.next()) {
                (Err(e), Some(wait)) if e.is_locked() => {
                    thread::sleep(Duration::from_millis(wait));
                }
                (opened, _) => return opened,
            }
        }
    }

    fn open_unguarded(path: &Path, cache_bytes: u64, existed: bool) -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(cache_bytes)
            .open()
            .map_err(|e| open_error(path, e))?;
        let tree = |name: &str| db.open_tree(name).map_err(|e| open_error(path, e));
        let store = Store {
            path: Arc::from(path),
            pairs: tree(PAIRS)?,
            outbox: tree(OUTBOX)?,
            sent: tree(SENT)?,
            dead: tree(DEAD)?,
            mutes: tree(MUTES)?,
            liquidations: tree(LIQUIDATIONS)?,
            meta: tree(META)?,
            db,
        };
        store.check_schema(existed)?;
        Ok(store)
    }

    fn check_schema(&self, existed: bool) -> Result<(), StoreError> {
        let corrupt = |detail: String| StoreError::Corrupt {
            path: self.path.to_path_buf(),
            detail,
        };
        let stored = self
            .meta
            .get(META_SCHEMA)
            .map_err(|e| open_error(&self.path, e))?;
        let found = match stored {
            None if existed => {
                return Err(corrupt(
                    "sled files without a liqwave schema version".to_owned(),
                ));
            }
            None => {
                self.meta
                    .insert(META_SCHEMA, &SCHEMA_VERSION.to_be_bytes())
                    .map_err(|e| open_error(&self.path, e))?;
                self.db.flush().map_err(|e| open_error(&self.path, e))?;
                return Ok(());
            }
            Some(bytes) => be_u32(&bytes).ok_or_else(|| {
                corrupt(format!("unreadable schema version ({} bytes)", bytes.len()))
            })?,
        };
        if found > SCHEMA_VERSION {
            Err(StoreError::NewerSchema {
                path: self.path.to_path_buf(),
                found,
                supported: SCHEMA_VERSION,
            })
        } else if found < SCHEMA_VERSION {
            Err(corrupt(format!(
                "schema version {found} is older than {SCHEMA_VERSION} and has no migration"
            )))
        } else {
            Ok(())
        }
    }

    /// Moves the database directory aside to `<path>.reset-<label>` (never deletes; `-1`, `-2`, …
    /// is appended when that name is taken) and returns the new path. `Ok(None)` when there is
    /// nothing at `path`.
    pub fn move_aside(path: &Path, label: &str) -> io::Result<Option<PathBuf>> {
        if !exists(path)? {
            return Ok(None);
        }
        // `state/` would become `state/.reset-…` inside the directory being moved.
        let base = path.components().as_path();
        let mut n = 0u32;
        loop {
            let mut name = base.as_os_str().to_owned();
            name.push(".reset-");
            name.push(label);
            if n > 0 {
                name.push(format!("-{n}"));
            }
            let target = PathBuf::from(name);
            if !exists(&target)? {
                std::fs::rename(path, &target)?;
                return Ok(Some(target));
            }
            n += 1;
        }
    }
}

/// Waits between attempts to open a locked database: about a second in all.
const LOCK_RETRY_MS: [u64; 7] = [10, 20, 40, 80, 150, 250, 450];

/// Runs `f`, turning a panic (sled 0.34.7 panics on some damaged files) into
/// [`StoreError::Corrupt`].
pub(super) fn catch_panic<T>(
    path: &Path,
    f: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Err(StoreError::Corrupt {
            path: path.to_owned(),
            detail: format!("sled failed while reading it: {message}"),
        })
    })
}

fn exists(path: &Path) -> io::Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}
