//! Opening (or refusing) a database directory, and moving one aside for `--reset-state`: the
//! liqwave lock first, then sled (its panics silenced and caught), then the watermark check.
//! Must never create a database for a command that only reads, nor move one that is in use.

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use super::error::open_error;
use super::keys::{META_POSITION, META_SCHEMA, be_u32};
use super::lock::{Lock, sled_lock_held};
use super::snapshot::POSTCARD_SCHEMA_2;
use super::watermark::{self, Marks, Rollback, Watermark};
use super::{
    DEAD, LIQUIDATIONS, META, MUTES, OUTBOX, PAIRS, SCHEMA_VERSION, SENT, Store, StoreError,
};

impl Store {
    /// Opens or creates the database at `path` with a bounded cache (bytes), for a process that
    /// runs on it: takes the liqwave lock, writes the schema version on a fresh DB, refuses a
    /// newer one, and compares the store with its watermark ([`Store::rollback`]). Never panics
    /// and prints no panic: every sled failure (and a sled panic while opening) becomes a
    /// [`StoreError`].
    ///
    /// sled releases its file lock only when its background writes of the last handle finish,
    /// which can be tens of milliseconds after the handle is dropped; a lock is therefore retried
    /// for about a second (blocking) before the answer is [`StoreError::Locked`].
    pub fn open(path: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        Store::open_as(path, cache_bytes, Create::Yes)
    }

    /// Opens the database at `path` like [`Store::open`], but never creates one: for the
    /// commands that only read (`status`, `validate-model --store`). A missing directory, or one
    /// without sled files, is [`StoreError::NotFound`] and stays as it was.
    pub fn open_existing(path: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        Store::open_as(path, cache_bytes, Create::No)
    }

    fn open_as(path: &Path, cache_bytes: u64, create: Create) -> Result<Store, StoreError> {
        // sled creates `conf` and `db`; either one means a database was here before.
        let existed = match kind(path)? {
            Kind::Store => true,
            Kind::Missing | Kind::EmptyDir if create == Create::No => {
                return Err(StoreError::NotFound {
                    path: path.to_owned(),
                    detail: "no liqwave store has been created there".to_owned(),
                });
            }
            Kind::Missing => {
                std::fs::create_dir_all(path).map_err(|e| {
                    StoreError::Io(format!("cannot create {}: {e}", path.display()))
                })?;
                false
            }
            Kind::EmptyDir => false,
        };
        retry_locked(|| {
            let lock = Lock::take(path)?;
            catch_panic(path, || {
                Store::open_unguarded(path, cache_bytes, existed, create, lock)
            })
        })
    }

    fn open_unguarded(
        path: &Path,
        cache_bytes: u64,
        existed: bool,
        create: Create,
        lock: Lock,
    ) -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(cache_bytes)
            .open()
            .map_err(|e| open_error(path, e))?;
        let tree = |name: &str| db.open_tree(name).map_err(|e| open_error(path, e));
        let mut store = Store {
            path: Arc::from(path),
            pairs: tree(PAIRS)?,
            outbox: tree(OUTBOX)?,
            sent: tree(SENT)?,
            dead: tree(DEAD)?,
            mutes: tree(MUTES)?,
            liquidations: tree(LIQUIDATIONS)?,
            meta: tree(META)?,
            db,
            watermark: Arc::new(Watermark::new(path, Marks::default(), None)),
            rollback: None,
            _lock: Arc::new(lock),
        };
        store.check_schema(existed, create)?;
        let found = store.marks()?;
        let on_disk = watermark::read(path).unwrap_or_else(|detail| {
            tracing::warn!(
                path = %path.display(),
                %detail,
                "The store's watermark does not read; opening the store without that check."
            );
            None
        });
        store.rollback = on_disk.and_then(|w| Rollback::check(found, w));
        store.watermark = Arc::new(Watermark::new(path, found, on_disk));
        Ok(store)
    }

    /// Refuses a store without a schema version or with a newer one; writes the version of a
    /// fresh store, and migrates an older one when opened to run on it (`create`).
    fn check_schema(&self, existed: bool, create: Create) -> Result<(), StoreError> {
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
        } else if found < MIGRATES_FROM {
            Err(corrupt(format!(
                "schema version {found} is older than {SCHEMA_VERSION} and has no migration"
            )))
        } else if found < SCHEMA_VERSION && create == Create::Yes {
            // 1 → 2: every value of 1 still reads; pair snapshots become binary as their pairs
            // are next committed. 2 → 3: binary snapshots of 2 have a layout this build cannot
            // read; they go, with the replay position, so their pairs start again (a live source
            // warms them up; a replay starts over, and alerts already sent are not sent again).
            let dropped = self.drop_schema_2_snapshots()?;
            // The new version goes first, so an older build never meets what it cannot read.
            self.meta
                .insert(META_SCHEMA, &SCHEMA_VERSION.to_be_bytes())
                .map_err(|e| open_error(&self.path, e))?;
            self.db.flush().map_err(|e| open_error(&self.path, e))?;
            tracing::info!(
                path = %self.path.display(),
                from = found,
                to = SCHEMA_VERSION,
                dropped,
                "Migrated the store's schema; pair snapshots are rewritten as their pairs change, \
                 and pairs whose snapshot was dropped start again."
            );
            Ok(())
        } else {
            Ok(())
        }
    }

    /// Moves the database directory aside to `<path>.reset-<label>` (never deletes; `-1`, `-2`, …
    /// is appended when that name is taken) and returns the new path. `Ok(None)` when there is
    /// nothing at `path`. A store another process holds is never moved: its lock is taken first
    /// (retried like [`Store::open`]), and the answer is [`StoreError::Locked`] naming the holder.
    pub fn move_aside(path: &Path, label: &str) -> Result<Option<PathBuf>, StoreError> {
        let io_error =
            |e: io::Error| StoreError::Io(format!("cannot move {} aside: {e}", path.display()));
        if !exists(path).map_err(io_error)? {
            return Ok(None);
        }
        // Held across the rename (the lock moves with the directory). A file or a dangling link
        // in the store's place has no lock: nothing can be using it.
        let _lock = match path.is_dir() {
            true => Some(retry_locked(|| {
                let lock = Lock::take(path)?;
                match sled_lock_held(path)? {
                    true => Err(StoreError::Locked {
                        path: path.to_owned(),
                        holder: None,
                    }),
                    false => Ok(lock),
                }
            })?),
            false => None,
        };
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
            if !exists(&target).map_err(io_error)? {
                std::fs::rename(path, &target).map_err(io_error)?;
                return Ok(Some(target));
            }
            n += 1;
        }
    }
}

impl Store {
    /// Removes the binary pair snapshots of schema 2, and the replay position when there were
    /// any; returns how many went.
    fn drop_schema_2_snapshots(&self) -> Result<usize, StoreError> {
        let mut stale = Vec::new();
        for kv in self.pairs.iter() {
            let (key, value) = kv.map_err(|e| open_error(&self.path, e))?;
            if value.first() == Some(&POSTCARD_SCHEMA_2) {
                stale.push(key);
            }
        }
        for key in &stale {
            self.pairs
                .remove(key)
                .map_err(|e| open_error(&self.path, e))?;
        }
        if !stale.is_empty() {
            self.meta
                .remove(META_POSITION)
                .map_err(|e| open_error(&self.path, e))?;
        }
        Ok(stale.len())
    }
}

/// The oldest schema version this build reads (and migrates when it runs on the store).
const MIGRATES_FROM: u32 = 1;

/// Whether an open may create the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Create {
    Yes,
    No,
}

/// What is at a store's path.
enum Kind {
    Missing,
    EmptyDir,
    /// A directory with sled files.
    Store,
}

/// What is at `path`; an error for what can never be opened (a file, a dangling link).
fn kind(path: &Path) -> Result<Kind, StoreError> {
    let io_error = |e: io::Error| StoreError::Io(format!("cannot read {}: {e}", path.display()));
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Kind::Missing),
        Err(e) => return Err(io_error(e)),
        Ok(_) => {}
    }
    let meta = match std::fs::metadata(path) {
        // Without this, creating it fails with a bare "File exists (os error 17)".
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let target = std::fs::read_link(path).map_err(io_error)?;
            return Err(StoreError::NotFound {
                path: path.to_owned(),
                detail: format!(
                    "it is a symbolic link to {}, which does not exist; create that directory or \
                     fix the link",
                    target.display()
                ),
            });
        }
        other => other.map_err(io_error)?,
    };
    if !meta.is_dir() {
        return Err(StoreError::Corrupt {
            path: path.to_owned(),
            detail: "not a directory: a file is in its place".to_owned(),
        });
    }
    Ok(
        match path.join("conf").exists() || path.join("db").exists() {
            true => Kind::Store,
            false => Kind::EmptyDir,
        },
    )
}

/// Waits between attempts to open a locked database: about a second in all.
const LOCK_RETRY_MS: [u64; 7] = [10, 20, 40, 80, 150, 250, 450];

/// Runs `attempt` until it answers other than [`StoreError::Locked`], for about a second.
fn retry_locked<T>(mut attempt: impl FnMut() -> Result<T, StoreError>) -> Result<T, StoreError> {
    let mut waits = LOCK_RETRY_MS.into_iter();
    loop {
        match (attempt(), waits.next()) {
            (Err(e), Some(wait)) if e.is_locked() => thread::sleep(Duration::from_millis(wait)),
            (answer, _) => return answer,
        }
    }
}

/// Serialises swaps of the process's panic hook: stores open on several threads (tests).
pub(super) static HOOK: Mutex<()> = Mutex::new(());

type Hook = Box<dyn Fn(&panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

/// Runs `f`, turning a panic (sled 0.34.7 panics on some damaged files) into
/// [`StoreError::Corrupt`]. Meanwhile a panic of this thread prints nothing (only liqwave's
/// message should reach the journal); other threads' panics still reach the previous hook, which
/// is put back afterwards.
pub(super) fn catch_panic<T>(
    path: &Path,
    f: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let caught = {
        let _swapping = HOOK.lock().unwrap_or_else(PoisonError::into_inner);
        let previous: Arc<Hook> = Arc::new(panic::take_hook());
        let forward = Arc::clone(&previous);
        let opener = thread::current().id();
        panic::set_hook(Box::new(move |info| {
            if thread::current().id() != opener {
                forward(info);
            }
        }));
        let caught = panic::catch_unwind(AssertUnwindSafe(f));
        // Dropping ours drops `forward`: `previous` is the only handle again, restored as is.
        drop(panic::take_hook());
        match Arc::try_unwrap(previous) {
            Ok(hook) => panic::set_hook(hook),
            Err(shared) => panic::set_hook(Box::new(move |info| shared(info))),
        }
        caught
    };
    caught.unwrap_or_else(|panic| {
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
