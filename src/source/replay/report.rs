//! The account of a load: which files were read and what each one yielded or lost.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

use super::error::RowError;
use crate::model::{Interval, Symbol};

/// How many malformed rows a file keeps (and logs one by one); the rest are only counted.
pub const MALFORMED_KEPT: usize = 5;

/// What a data file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileKind {
    Klines,
    Funding,
    OpenInterest,
    Liquidations,
}

/// One skipped row: its 1-based line number in the file (the header is line 1) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedRow {
    pub line: usize,
    pub error: RowError,
}

/// What one file yielded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    pub path: PathBuf,
    pub kind: FileKind,
    /// The file's symbol, taken from its name; `None` for liquidation files (many symbols).
    pub symbol: Option<Symbol>,
    /// Events emitted from this file.
    pub events: usize,
    /// Rows skipped as malformed; the first [`MALFORMED_KEPT`] are in `malformed_rows`.
    pub malformed: usize,
    pub malformed_rows: Vec<MalformedRow>,
    /// Kline rows whose open time is not after the previous row's (duplicate or backwards).
    /// They are kept: the aggregator counts and drops them.
    pub out_of_order: usize,
    /// Liquidation rows skipped because the symbol is outside the loaded universe (no kline file
    /// for it, or rejected by the filter).
    pub outside_universe: usize,
    /// Liquidation rows of non-perpetual contracts (delivery symbols such as `ETHUSDT_250627`).
    pub non_perpetual: usize,
    /// Liquidation rows that repeat an earlier row of the file (dropped).
    pub duplicates: usize,
    /// Rows that sort before more rows than a stream's reorder window holds
    /// ([`super::REORDER_ROWS`]): replayed where they fall, after events they should precede.
    pub displaced: usize,
}

impl FileReport {
    pub(super) fn new(path: PathBuf, kind: FileKind, symbol: Option<Symbol>) -> Self {
        FileReport {
            path,
            kind,
            symbol,
            events: 0,
            malformed: 0,
            malformed_rows: Vec::new(),
            out_of_order: 0,
            outside_universe: 0,
            non_perpetual: 0,
            duplicates: 0,
            displaced: 0,
        }
    }

    /// Counts a malformed row, keeping and logging only the first few.
    pub(super) fn malformed(&mut self, line: usize, error: RowError) {
        self.malformed += 1;
        if self.malformed_rows.len() < MALFORMED_KEPT {
            tracing::warn!(file = %self.path.display(), line, error = %error, "Skipping malformed row.");
            self.malformed_rows.push(MalformedRow { line, error });
        }
    }

    /// Logs the per-file totals once the file is read.
    pub(super) fn finish(&self) {
        let file = self.path.display();
        if self.malformed > 0 {
            tracing::warn!(%file, malformed = self.malformed, events = self.events, "Skipped malformed rows in file.");
        }
        if self.out_of_order > 0 {
            tracing::warn!(%file, out_of_order = self.out_of_order, "Kline open times repeat or go backwards; kept for the aggregator.");
        }
        if self.displaced > 0 {
            tracing::warn!(%file, displaced = self.displaced, window = super::REORDER_ROWS, "Rows out of place by more than the reorder window were replayed late.");
        }
        if self.duplicates > 0 {
            tracing::info!(%file, duplicates = self.duplicates, events = self.events, "Dropped repeated liquidation rows.");
        }
        if self.non_perpetual > 0 || self.outside_universe > 0 {
            tracing::debug!(%file, non_perpetual = self.non_perpetual, outside_universe = self.outside_universe, "Skipped liquidations of unloaded symbols.");
        }
    }
}

/// Events emitted per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindCounts {
    pub candles: usize,
    pub funding: usize,
    pub open_interest: usize,
    pub liquidations: usize,
}

impl KindCounts {
    pub fn total(&self) -> usize {
        self.candles + self.funding + self.open_interest + self.liquidations
    }

    pub(super) fn add(&mut self, kind: FileKind, n: usize) {
        match kind {
            FileKind::Klines => self.candles += n,
            FileKind::Funding => self.funding += n,
            FileKind::OpenInterest => self.open_interest += n,
            FileKind::Liquidations => self.liquidations += n,
        }
    }
}

/// The account of a whole load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReport {
    pub source_interval: Interval,
    /// The universe: symbols with a kline file for the source interval that the filter accepted.
    /// Every event belongs to one of them.
    pub symbols: BTreeSet<Symbol>,
    /// Files read, in reading order (klines, funding, open interest, liquidations; by name).
    pub files: Vec<FileReport>,
    /// Files present but not read: unrecognised names, or symbols outside the universe.
    pub ignored_files: Vec<PathBuf>,
    pub events: KindCounts,
}

impl LoadReport {
    pub fn malformed(&self) -> usize {
        self.files.iter().map(|f| f.malformed).sum()
    }

    /// Repeated liquidation rows dropped.
    pub fn duplicates(&self) -> usize {
        self.files.iter().map(|f| f.duplicates).sum()
    }

    pub fn out_of_order(&self) -> usize {
        self.files.iter().map(|f| f.out_of_order).sum()
    }

    /// Rows replayed late: out of place by more than the reorder window.
    pub fn displaced(&self) -> usize {
        self.files.iter().map(|f| f.displaced).sum()
    }

    /// The report of the file at `path`, if it was read.
    pub fn file(&self, path: &std::path::Path) -> Option<&FileReport> {
        self.files.iter().find(|f| f.path == path)
    }
}

impl fmt::Display for LoadReport {
    /// One line for logs and the CLI.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.events;
        write!(
            f,
            "{} symbols, {} files: {} candles ({}), {} funding, {} open interest, {} liquidations \
             ({} repeated rows dropped); {} malformed rows skipped, {} out-of-order bars kept",
            self.symbols.len(),
            self.files.len(),
            e.candles,
            self.source_interval,
            e.funding,
            e.open_interest,
            e.liquidations,
            self.duplicates(),
            self.malformed(),
            self.out_of_order(),
        )?;
        match self.displaced() {
            0 => Ok(()),
            n => write!(f, ", {n} rows replayed late (beyond the reorder window)"),
        }
    }
}
