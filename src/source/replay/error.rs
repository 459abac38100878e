//! What can go wrong while loading a recording: whole-load errors and per-row problems.

use std::io;
use std::path::PathBuf;

use crate::model::{Interval, TimeMs};

/// A problem that stops the whole load. Every message names the path it is about.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("data directory {} cannot be read", path.display())]
    DataDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("data directory {} is not a directory", path.display())]
    NotADirectory { path: PathBuf },
    #[error("no kline files for interval {interval} in {}: expected <SYMBOL>_{interval}.csv or .csv.gz", dir.display())]
    NoKlines { dir: PathBuf, interval: Interval },
    #[error("no kline files for interval {interval} in {} pass the symbol filter ({filter}); found {found}", dir.display())]
    FilteredOut {
        dir: PathBuf,
        interval: Interval,
        /// The filter as written, e.g. `include [BTCUSDT], exclude []`.
        filter: String,
        /// The symbols that have a kline file, comma-separated.
        found: String,
    },
    #[error("{} cannot be read", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not valid gzip data (corrupt or truncated near line {line})", path.display())]
    Gzip {
        path: PathBuf,
        line: usize,
        #[source]
        source: io::Error,
    },
    /// A line longer than the reader's cap: not a data file, or a corrupt one. Reading stops
    /// there, so a file without line ends cannot exhaust memory.
    #[error("{} line {line} is longer than {limit} bytes; not a data file?", path.display())]
    LineTooLong {
        path: PathBuf,
        line: usize,
        limit: usize,
    },
    #[error("{} has no header line", path.display())]
    MissingHeader { path: PathBuf },
    #[error("{} lacks required column `{column}` in its header", path.display())]
    MissingColumn { path: PathBuf, column: &'static str },
    /// A stream keeps every series file open; the process may not open that many.
    #[error(
        "replaying {files} series files keeps them all open, which needs about {needed} file descriptors, but the hard open-file limit is {limit}: raise it (ulimit -Hn, LimitNOFILE= under systemd) or replay fewer symbols"
    )]
    TooManyFiles {
        files: usize,
        needed: u64,
        limit: u64,
    },
    #[error("{} and {} hold the same series; keep one of them", first.display(), second.display())]
    DuplicateFile { first: PathBuf, second: PathBuf },
}

/// Why one row was skipped. Rows are skipped, counted and logged; they never stop a load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    #[error("expected {expected} columns, found {found}")]
    ColumnCount { expected: usize, found: usize },
    #[error("column `{column}` is not a number")]
    Number { column: &'static str },
    #[error("column `{column}` is not a finite positive value")]
    NotPositive { column: &'static str },
    #[error("column `{column}` is negative or not finite")]
    Negative { column: &'static str },
    #[error("column `{column}` is implausibly large")]
    TooLarge { column: &'static str },
    #[error("column `{column}` is {time} ms, outside 2017-01-01 to a day after now")]
    TimeOutOfRange { column: &'static str, time: TimeMs },
    #[error("open time {time} ms is not on the {interval} grid")]
    OffGrid { time: TimeMs, interval: Interval },
    #[error("price moves more than replay.max_price_jump times from {from}")]
    PriceJump { from: &'static str },
    #[error("high is below low")]
    HighBelowLow,
    #[error("open or close lies outside [low, high]")]
    OutsideRange,
    #[error("column `{column}` is not a UTC time like 2025-05-30 10:30:00")]
    DateTime { column: &'static str },
    #[error("symbol {found:?} does not match the file's symbol")]
    SymbolMismatch { found: String },
    #[error("symbol {found:?} is not a valid symbol")]
    Symbol { found: String },
    #[error("side {found:?} is neither BUY nor SELL")]
    Side { found: String },
    #[error("not valid UTF-8")]
    Utf8,
    #[error("not a forceOrder JSON object: {reason}")]
    Json { reason: String },
}
