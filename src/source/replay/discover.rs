//! Finding the files of a dataset directory and deciding which of them a load reads.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::{fs, io};

use super::ReplayOptions;
use super::error::ReplayError;
use super::jobs::Job;
use crate::model::Symbol;

/// What a load will read: the universe, one job per file, and the files it leaves alone.
pub(super) struct Plan {
    pub(super) symbols: BTreeSet<Symbol>,
    pub(super) jobs: Vec<Job>,
    pub(super) ignored_files: Vec<PathBuf>,
}

impl Plan {
    pub(super) fn new(dir: &Path, opts: &ReplayOptions) -> Result<Plan, ReplayError> {
        let meta = fs::metadata(dir).map_err(|source| ReplayError::DataDir {
            path: dir.to_owned(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(ReplayError::NotADirectory {
                path: dir.to_owned(),
            });
        }
        let interval = opts.source_interval;
        let mut ignored = Vec::new();
        let kline_dir = dir.join("klines").join(interval.as_str());
        let klines = series_files(&kline_dir, &format!("_{interval}"), &mut ignored)?;
        if klines.is_empty() {
            return Err(ReplayError::NoKlines {
                dir: kline_dir,
                interval,
            });
        }
        let found = symbol_list(klines.keys());
        let klines = keep(klines, |s| opts.filter.accepts(s), &mut ignored);
        if klines.is_empty() {
            return Err(ReplayError::FilteredOut {
                dir: kline_dir,
                interval,
                filter: opts.filter.to_string(),
                found,
            });
        }
        let symbols: BTreeSet<Symbol> = klines.keys().cloned().collect();
        let funding = series_files(&dir.join("funding"), "_funding", &mut ignored)?;
        let funding = keep(funding, |s| symbols.contains(s), &mut ignored);
        let oi = series_files(&dir.join("oi"), "_metrics_5m", &mut ignored)?;
        let oi = keep(oi, |s| symbols.contains(s), &mut ignored);

        let mut jobs: Vec<Job> = Vec::new();
        jobs.extend(klines.into_iter().map(|(s, p)| Job::Klines(s, p)));
        jobs.extend(funding.into_iter().map(|(s, p)| Job::Funding(s, p)));
        jobs.extend(oi.into_iter().map(|(s, p)| Job::OpenInterest(s, p)));
        for path in files_in(&dir.join("liquidations"))? {
            if liquidation_file(&path) {
                jobs.push(Job::Liquidations(path));
            } else {
                let reason = "not a .csv or .jsonl file, plain or .gz";
                tracing::info!(file = %path.display(), reason, "Skipping file.");
                ignored.push(path);
            }
        }
        Ok(Plan {
            symbols,
            jobs,
            ignored_files: ignored,
        })
    }
}

/// The `<SYMBOL><suffix>.csv[.gz]` files of `dir` by symbol; other files are logged with the
/// reason and go to `ignored`. A missing directory has no files; two files for one symbol are an
/// error.
fn series_files(
    dir: &Path,
    suffix: &str,
    ignored: &mut Vec<PathBuf>,
) -> Result<BTreeMap<Symbol, PathBuf>, ReplayError> {
    let mut by_symbol = BTreeMap::new();
    for path in files_in(dir)? {
        let symbol = match series_symbol(&path, suffix) {
            Ok(symbol) => symbol,
            Err(reason) => {
                tracing::info!(file = %path.display(), %reason, "Skipping file.");
                ignored.push(path);
                continue;
            }
        };
        if let Some(first) = by_symbol.get(&symbol) {
            return Err(ReplayError::DuplicateFile {
                first: PathBuf::clone(first),
                second: path,
            });
        }
        by_symbol.insert(symbol, path);
    }
    Ok(by_symbol)
}

/// The symbol a series file is named after, or why its name is not `<SYMBOL><suffix>.csv[.gz]`.
fn series_symbol(path: &Path, suffix: &str) -> Result<Symbol, String> {
    let expected = || format!("the name is not <SYMBOL>{suffix}.csv or .csv.gz");
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(expected)?;
    let name = name.strip_suffix(".gz").unwrap_or(name);
    let stem = name
        .strip_suffix(".csv")
        .and_then(|n| n.strip_suffix(suffix));
    let stem = stem.ok_or_else(expected)?;
    stem.parse()
        .map_err(|e| format!("{stem:?} is not a symbol ({e})"))
}

/// Keeps the series whose symbol passes `accept`; the files of the others go to `ignored`.
fn keep(
    files: BTreeMap<Symbol, PathBuf>,
    accept: impl Fn(&Symbol) -> bool,
    ignored: &mut Vec<PathBuf>,
) -> BTreeMap<Symbol, PathBuf> {
    let (kept, dropped): (BTreeMap<_, _>, BTreeMap<_, _>) =
        files.into_iter().partition(|(s, _)| accept(s));
    for path in dropped.into_values() {
        tracing::debug!(file = %path.display(), "Skipping file: its symbol is not loaded.");
        ignored.push(path);
    }
    kept
}

/// Up to ten symbols for a message, and how many more there are.
fn symbol_list<'a>(symbols: impl ExactSizeIterator<Item = &'a Symbol>) -> String {
    let more = symbols.len().saturating_sub(10);
    let names: Vec<&str> = symbols.take(10).map(Symbol::as_str).collect();
    match more {
        0 => names.join(", "),
        n => format!("{} and {n} more", names.join(", ")),
    }
}

/// Regular files directly in `dir` (or symlinks to them), sorted by name; none when `dir` does not
/// exist. Other entries (directories, dangling symlinks) are logged with the reason and skipped.
pub(super) fn files_in(dir: &Path) -> Result<Vec<PathBuf>, ReplayError> {
    let read_error = |source| ReplayError::Read {
        path: dir.to_owned(),
        source,
    };
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(read_error(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(read_error)?.path();
        let reason = match fs::metadata(&path) {
            Ok(meta) if meta.is_file() => {
                files.push(path);
                continue;
            }
            Ok(meta) if meta.is_dir() => "a directory".to_owned(),
            Ok(_) => "not a regular file".to_owned(),
            Err(_) if path.is_symlink() => "a dangling symlink".to_owned(),
            Err(e) => e.to_string(),
        };
        tracing::info!(entry = %path.display(), %reason, "Skipping directory entry: not a data file.");
    }
    files.sort();
    Ok(files)
}

pub(super) fn liquidation_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(name);
    name.ends_with(".csv") || name.ends_with(".jsonl")
}
