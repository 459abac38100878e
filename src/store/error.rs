//! What can go wrong with the store, worded for an operator, and the mapping from sled's errors.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Errors the caller branches on. The message is [`StoreError::problem`] followed by
/// [`StoreError::remedy`], the advice of `liqwave run` and `replay`; a command that cannot follow
/// that advice (`validate-model`, `status`) words its own from the problem.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the database: its liqwave lock (`holder` is the pid written in
    /// it) or, for a process that predates that lock, sled's own.
    Locked { path: PathBuf, holder: Option<u32> },
    /// Nothing to open: a read-only command found no database there, or the path is a symbolic
    /// link to nothing.
    NotFound { path: PathBuf, detail: String },
    /// The files cannot be read as a sled database, or sled reported corruption.
    Corrupt { path: PathBuf, detail: String },
    /// Written by a newer liqwave (schema version found > [`super::SCHEMA_VERSION`]).
    NewerSchema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    /// Any other I/O or sled error during operation.
    Io(String),
    /// A stored value that does not decode.
    Decode { tree: &'static str, detail: String },
}

impl StoreError {
    /// The database is unreadable (or sled found corruption): `--reset-state` is the way out.
    pub fn is_corrupt(&self) -> bool {
        matches!(self, StoreError::Corrupt { .. })
    }

    /// Another process has the database open.
    pub fn is_locked(&self) -> bool {
        matches!(self, StoreError::Locked { .. })
    }

    /// There is no database to open (and none was created).
    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::NotFound { .. })
    }

    /// What is wrong, without advice.
    pub fn problem(&self) -> String {
        match self {
            StoreError::Locked {
                path,
                holder: Some(pid),
            } => format!(
                "the state database {} is in use by another liqwave process (pid {pid}; the \
                 daemon?): stop it or use a copy",
                path.display()
            ),
            StoreError::Locked { path, holder: None } => format!(
                "the state database {} is in use by another process (the daemon?): stop it or \
                 use a copy",
                path.display()
            ),
            StoreError::NotFound { path, detail } => {
                format!(
                    "the state database {} does not exist ({detail})",
                    path.display()
                )
            }
            StoreError::Corrupt { path, detail } => format!(
                "the state database {} is damaged or not a liqwave database ({detail})",
                path.display()
            ),
            StoreError::NewerSchema {
                path,
                found,
                supported,
            } => format!(
                "the state database {} was written by a newer liqwave (schema version {found}, \
                 this build supports {supported})",
                path.display()
            ),
            StoreError::Io(detail) => format!("state database I/O error: {detail}"),
            StoreError::Decode { tree, detail } => format!(
                "a stored value in the state database's {tree} tree does not decode ({detail})"
            ),
        }
    }

    /// What `liqwave run` or `replay` can do about it, when a flag of theirs helps.
    pub fn remedy(&self) -> Option<&'static str> {
        match self {
            StoreError::Corrupt { .. } | StoreError::Decode { .. } => {
                Some("run with --reset-state to move it aside and start empty")
            }
            StoreError::NewerSchema { .. } => Some("upgrade or --reset-state"),
            StoreError::Locked { .. } | StoreError::NotFound { .. } | StoreError::Io(_) => None,
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problem())?;
        match self.remedy() {
            Some(remedy) => write!(f, "; {remedy}"),
            None => Ok(()),
        }
    }
}

/// Maps an error of `sled::Config::open` (or of the first reads after it) at `path`.
///
/// sled 0.34.7 reports a held lock as `Io(Other, "could not acquire lock on …: WouldBlock")`
/// (fs2's `try_lock_exclusive`, an `flock`, which also conflicts within one process); garbage
/// `conf` files come back as `Unsupported("… created using a sled version earlier than 0.29")`.
pub(super) fn open_error(path: &Path, err: sled::Error) -> StoreError {
    let corrupt = |detail: String| StoreError::Corrupt {
        path: path.to_owned(),
        detail,
    };
    match err {
        sled::Error::Io(e) if is_lock_error(&e) => StoreError::Locked {
            path: path.to_owned(),
            holder: None,
        },
        sled::Error::Io(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotADirectory
                    | io::ErrorKind::InvalidData
                    | io::ErrorKind::UnexpectedEof
            ) =>
        {
            corrupt(e.to_string())
        }
        sled::Error::Io(e) => StoreError::Io(format!("cannot open {}: {e}", path.display())),
        e @ sled::Error::Corruption { .. } => corrupt(e.to_string()),
        sled::Error::Unsupported(detail) | sled::Error::ReportableBug(detail) => corrupt(detail),
        sled::Error::CollectionNotFound(name) => corrupt(format!(
            "tree {:?} not found",
            String::from_utf8_lossy(&name)
        )),
    }
}

/// Maps an error of an operation on an open database.
pub(super) fn op_error(path: &Path, err: sled::Error) -> StoreError {
    match err {
        e @ sled::Error::Corruption { .. } => StoreError::Corrupt {
            path: path.to_owned(),
            detail: e.to_string(),
        },
        other => StoreError::Io(format!("{}: {other}", path.display())),
    }
}

/// Maps the result of a sled transaction whose closure aborts with a [`StoreError`].
pub(super) fn tx_error(
    path: &Path,
    err: sled::transaction::TransactionError<StoreError>,
) -> StoreError {
    match err {
        sled::transaction::TransactionError::Abort(e) => e,
        sled::transaction::TransactionError::Storage(e) => op_error(path, e),
    }
}

/// sled folds the `flock` error into its message; only a lock someone else holds (`WouldBlock`)
/// means "in use", not e.g. a file system without locks.
fn is_lock_error(e: &io::Error) -> bool {
    let message = e.to_string();
    e.kind() == io::ErrorKind::WouldBlock
        || (message.contains("could not acquire lock") && message.contains("WouldBlock"))
}

pub(super) fn decode_error(tree: &'static str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Decode {
        tree,
        detail: detail.to_string(),
    }
}
