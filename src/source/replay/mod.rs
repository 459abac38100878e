//! Replay source: reads a recorded dataset directory into one time-ordered stream of `SymbolEvent`s.
//! Owns file discovery, parsing, validation of rows and ordering; must never run analytics, read
//! the clock or touch the network.
//!
//! Layout of a dataset directory (every part but the klines is optional):
//!
//! ```text
//! klines/<tf>/<SYMBOL>_<tf>.csv[.gz]      header required; only <tf> = the source interval is read
//! funding/<SYMBOL>_funding.csv[.gz]       funding_time_ms,funding_rate
//! oi/<SYMBOL>_metrics_5m.csv[.gz]         Binance metrics archive; OI known at create_time + 5 min
//! liquidations/*.csv[.gz] | *.jsonl[.gz]  forceOrder rows (see `liquidations`)
//! ```
//!
//! The universe is the set of symbols with a kline file for the source interval that the filter
//! accepts; funding, open interest and liquidations of other symbols are skipped (and counted).
//! Malformed rows — unparsable, or outside the [`RowLimits`] — are skipped, counted per file and
//! logged (the first few by line). Files are read lazily and merged by time ([`ReplayStream`],
//! see `stream` for the order and its reorder window): a replay holds a few events per file.
//! [`Dataset::load`] collects that stream.

mod checks;
mod discover;
mod error;
mod fds;
mod jobs;
mod klines;
mod lines;
mod liquidations;
mod metrics;
mod report;
mod stream;
#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

pub use checks::{
    DEFAULT_MAX_PRICE_JUMP, EARLIEST_MS, MAX_AMOUNT, MAX_FUNDING_RATE, MAX_PRICE, RowLimits,
};
pub use error::{ReplayError, RowError};
pub use lines::MAX_LINE_BYTES;
pub use report::{FileKind, FileReport, KindCounts, LoadReport, MALFORMED_KEPT, MalformedRow};
pub use stream::{REORDER_ROWS, ReplayStream};

use crate::model::{Candle, Interval, MarketEvent, Symbol, SymbolEvent, TimeMs};

/// Which symbols a load reads. The default reads every symbol it finds.
#[derive(Default)]
pub enum SymbolFilter {
    #[default]
    All,
    /// Symbols in `include` (every symbol when it is empty) that are not in `exclude`.
    Lists {
        include: Vec<Symbol>,
        exclude: Vec<Symbol>,
    },
    /// Symbols for which the function returns true.
    Predicate(Box<dyn Fn(&Symbol) -> bool + Send + Sync>),
}

impl SymbolFilter {
    pub fn accepts(&self, symbol: &Symbol) -> bool {
        match self {
            SymbolFilter::All => true,
            SymbolFilter::Lists { include, exclude } => {
                (include.is_empty() || include.contains(symbol)) && !exclude.contains(symbol)
            }
            SymbolFilter::Predicate(f) => f(symbol),
        }
    }
}

impl fmt::Debug for SymbolFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SymbolFilter::All => f.write_str("All"),
            SymbolFilter::Lists { include, exclude } => f
                .debug_struct("Lists")
                .field("include", include)
                .field("exclude", exclude)
                .finish(),
            SymbolFilter::Predicate(_) => f.write_str("Predicate(..)"),
        }
    }
}

impl fmt::Display for SymbolFilter {
    /// For messages: `include [BTCUSDT], exclude [ETHUSDT]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |s: &[Symbol]| s.iter().map(Symbol::as_str).collect::<Vec<_>>().join(", ");
        match self {
            SymbolFilter::All => f.write_str("every symbol"),
            SymbolFilter::Lists { include, exclude } => {
                write!(
                    f,
                    "include [{}], exclude [{}]",
                    list(include),
                    list(exclude)
                )
            }
            SymbolFilter::Predicate(_) => f.write_str("a predicate"),
        }
    }
}

/// What to load from a dataset directory.
#[derive(Debug)]
pub struct ReplayOptions {
    /// The kline interval to read: only `klines/<source_interval>/` is read. Default 5m.
    pub source_interval: Interval,
    pub filter: SymbolFilter,
    /// Bounds on row values; rows outside them are malformed.
    pub limits: RowLimits,
}

impl ReplayOptions {
    /// Every symbol's 5m bars, the default price-jump limit, times up to a day after `now` (read
    /// by the caller: this module never reads the clock).
    pub fn new(now: TimeMs) -> Self {
        ReplayOptions {
            source_interval: Interval::M5,
            filter: SymbolFilter::All,
            limits: RowLimits::new(now, DEFAULT_MAX_PRICE_JUMP),
        }
    }
}

/// A loaded recording: every event of the universe in replay order, the [`ReplayStream`] collected.
#[derive(Debug)]
pub struct Dataset {
    events: Vec<SymbolEvent>,
    report: LoadReport,
}

impl Dataset {
    /// Reads the dataset at `dir`. Fails on a missing or unreadable directory or file, corrupt gzip,
    /// a line longer than [`MAX_LINE_BYTES`], a headed file without a required column, or no kline
    /// file for the source interval (or none the filter accepts); skips malformed rows.
    pub fn load(dir: &Path, opts: &ReplayOptions) -> Result<Dataset, ReplayError> {
        let mut stream = ReplayStream::open(dir, opts)?;
        let events = stream.by_ref().collect::<Result<Vec<_>, _>>()?;
        let report = stream.report();
        Ok(Dataset { events, report })
    }

    /// Every event, merged and sorted by [`event_order`].
    pub fn events(&self) -> &[SymbolEvent] {
        &self.events
    }

    pub fn into_events(self) -> Vec<SymbolEvent> {
        self.events
    }

    /// Files read, events per kind, malformed rows per file, the symbol universe.
    pub fn report(&self) -> &LoadReport {
        &self.report
    }
}

/// Reads recorded liquidations outside a dataset (`validate-model --prints`): `path` is one file
/// or a directory of them (as a dataset's `liquidations/`), read like a dataset's, for the
/// symbols in `symbols` only. Returns the events in time order and one report per file.
pub fn read_liquidations(
    path: &Path,
    symbols: &BTreeSet<Symbol>,
    limits: &RowLimits,
) -> Result<(Vec<SymbolEvent>, Vec<FileReport>), ReplayError> {
    let files = if path.is_dir() {
        let mut files = discover::files_in(path)?;
        files.retain(|f| discover::liquidation_file(f));
        files.sort();
        files
    } else {
        vec![path.to_owned()]
    };
    let universe = liquidations::universe(symbols);
    let mut events = Vec::new();
    let mut reports = Vec::new();
    for file in files {
        let mut report = FileReport::new(file.clone(), FileKind::Liquidations, None);
        liquidations::read(&file, &universe, limits, &mut events, &mut report)?;
        report.finish();
        reports.push(report);
    }
    events.sort_by(event_order);
    Ok((events, reports))
}

/// Reads one kline file on its own (`liqwave rsi`): its candles in file order and its report.
/// Malformed rows are skipped and counted exactly as in a dataset load; open times are checked
/// against the minute grid, which every kline interval keeps.
pub fn read_kline_file(
    path: &Path,
    limits: &RowLimits,
) -> Result<(Vec<Candle>, FileReport), ReplayError> {
    // The symbol and interval only label the events; the caller works out the bar interval.
    let symbol: Symbol = "KLINES".parse().expect("a valid placeholder symbol");
    let mut report = FileReport::new(path.to_owned(), FileKind::Klines, None);
    let events = klines::read(path, &symbol, Interval::M1, limits, &mut report)?;
    report.finish();
    let candles = events
        .into_iter()
        .filter_map(|e| match e.event {
            MarketEvent::Candle { candle, .. } => Some(candle),
            _ => None,
        })
        .collect();
    Ok((candles, report))
}

/// The replay order: by `known_at()` (a candle is known at its close, open OI at the end of its
/// 5m bar), then symbol, then kind — funding, open interest, candle, liquidation — so that the
/// OI measured at a bar's close is in hand when that bar steps the heatmap. Events equal under this key keep
/// their reading order: file name, then line. `Mark` and `Gap` are not produced by the replay and
/// sort after liquidations. A stream orders by this key too (see `stream`).
pub fn event_order(a: &SymbolEvent, b: &SymbolEvent) -> Ordering {
    a.event
        .known_at()
        .cmp(&b.event.known_at())
        .then_with(|| a.symbol.cmp(&b.symbol))
        .then_with(|| kind_rank(&a.event).cmp(&kind_rank(&b.event)))
}

pub(super) fn kind_rank(event: &MarketEvent) -> u8 {
    match event {
        MarketEvent::Funding(_) | MarketEvent::Margin(_) => 0,
        MarketEvent::OpenInterest(_) => 1,
        MarketEvent::Candle { .. } | MarketEvent::SpotCandle { .. } => 2,
        MarketEvent::Liquidation(_) => 3,
        MarketEvent::Mark(_) => 4,
        MarketEvent::Gap { .. } => 5,
    }
}
