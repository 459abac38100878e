//! What `liqwave run` needs from its environment before it starts: a store path it can write,
//! the secret of each enabled sink, the files it appends to, the report its alerts quote and the
//! CA file email trusts. Checked all at once (`check-config --for-run`, and `run` before anything
//! else), so a problem restarting cannot fix exits 78 with every problem named by its key. Never
//! creates a database, never changes a file, never keeps a secret it read.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io;
use std::path::Path;

use crate::config::{Config, Problem};
use crate::notify::email::{EmailError, load_ca_file};
use crate::notify::secret::Secret;
use crate::view::TrackRecord;

/// What `liqwave run` would refuse at start, every problem at once, each with its key path.
#[derive(Debug, thiserror::Error)]
pub struct NotReady(pub Vec<Problem>);

impl fmt::Display for NotReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "not ready for liqwave run, {n} problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        self.0.iter().try_for_each(|p| write!(f, "\n  {p}"))
    }
}

/// Checks everything `liqwave run` needs beyond a valid config.
pub fn preflight(config: &Config) -> Result<(), NotReady> {
    let mut problems = Vec::new();
    let mut check = |path: &str, result: Result<(), String>| {
        if let Err(message) = result {
            let (path, line) = (path.to_owned(), None);
            problems.push(Problem {
                path,
                message,
                line,
            });
        }
    };
    let store = config.store.path.as_deref();
    let why = "is required by liqwave run: the outbox and pair state live there";
    check("store.path", store.ok_or_else(|| why.to_owned()).map(drop));
    if let Some(path) = store {
        check("store.path", writes(path, database_dir(path)));
    }
    let sinks = &config.sinks;
    if let Some(path) = &sinks.console.jsonl_path {
        check("sinks.console.jsonl_path", writes(path, file(path)));
    }
    if let Some(file_sink) = &sinks.file {
        check(
            "sinks.file.path",
            writes(&file_sink.path, file(&file_sink.path)),
        );
    }
    if let Some(telegram) = &sinks.telegram {
        check(
            "sinks.telegram.token_env",
            secret(&telegram.token_env, "telegram_token"),
        );
    }
    if let Some(email) = sinks.email.as_ref().filter(|e| e.username.is_some()) {
        check(
            "sinks.email.password_env",
            secret(&email.password_env, "smtp_password"),
        );
    }
    if let Some(ca_file) = sinks.email.as_ref().and_then(|e| e.ca_file.as_deref()) {
        check(
            "sinks.email.ca_file",
            load_ca_file(ca_file).map(drop).map_err(ca_problem),
        );
    }
    if let Some(report) = &config.signal.report {
        let loaded = TrackRecord::load(report);
        check("signal.report", loaded.map(drop).map_err(|e| e.to_string()));
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(NotReady(problems)),
    }
}

/// The CA file's problem without the key, which the report puts in front.
fn ca_problem(error: EmailError) -> String {
    match error {
        EmailError::CaFile { reason, .. } => reason,
        other => other.to_string(),
    }
}

fn writes(path: &Path, result: io::Result<()>) -> Result<(), String> {
    result.map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn secret(env: &str, credential: &str) -> Result<(), String> {
    Secret::load(env, credential)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// sled creates the database directory and its parents: the nearest one that exists must take
/// a new file.
fn database_dir(path: &Path) -> io::Result<()> {
    let existing = path
        .ancestors()
        .find(|a| a.as_os_str().is_empty() || a.exists());
    probe(
        existing
            .filter(|a| !a.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
    )
}

/// A file appended to: opened as it is when it exists (not changed), else its directory must
/// exist and take a new file.
fn file(path: &Path) -> io::Result<()> {
    match path.try_exists()? {
        true => OpenOptions::new().append(true).open(path).map(drop),
        false => probe(
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        ),
    }
}

/// Creates and removes a file in `dir`, which is what writing there needs (a read-only mount,
/// permissions, or a file where the directory should be all fail here).
fn probe(dir: &Path) -> io::Result<()> {
    let probe = dir.join(format!(".liqwave-preflight-{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    fs::remove_file(&probe)
}
