//! The streaming read of a dataset: every planned file read lazily, row by row, and merged by
//! time into one stream, so a replay holds a few events per file, never the whole recording.
//! Owns the per-file reorder window and the k-way merge; must never hold a whole series
//! (liquidation files excepted, below), run analytics or read the clock.
//!
//! Order: the stream yields what a stable sort of every file's events by [`event_order`] yields
//! (ties in reading order: job — klines, funding, open interest, liquidations, each by name — then
//! line), as long as no row sorts more than [`REORDER_ROWS`] rows before where it stands:
//! - a series file passes through a reorder window: [`REORDER_ROWS`] events read ahead, kept
//!   sorted by (event order, line); each new row pushes the smallest out. A row preceded by at
//!   most that many rows that sort after it is placed exactly as the sort would place it. In a
//!   sorted file each row joins at the back: no search, no move.
//! - a row displaced further is counted (`FileReport::displaced`), logged once per file and
//!   replayed where it falls: at once, after events it should have preceded.
//! - a liquidation file is read whole at open and sorted stably: such files are small (hours or
//!   days of prints) and their rows are de-duplicated over the whole file anyway.
//! - the files' heads are merged by a heap of their keys (event order, job, line); the events
//!   wait beside it, so the heap moves a few integers, not events.
//!
//! Errors: planning and opening (every header and first window) fail before any event. A problem
//! found later — corrupt gzip at a file's end, an over-long line, a read error — ends the stream:
//! it yields the events before it, then the error once, then nothing. A replay stops there with
//! that error (its source fails; the pipeline drains what it was sent).
//!
//! Open files: every series file stays open until its last row (three per pair); when the soft
//! open-file limit is too low for that, it is raised to the hard limit (see `fds`).

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::path::{Path, PathBuf};

use super::checks::RowLimits;
use super::discover::Plan;
use super::error::ReplayError;
use super::jobs::{Job, run_jobs};
use super::klines::KlineRows;
use super::lines::CsvReader;
use super::metrics::{FundingRows, OiRows};
use super::report::{FileReport, KindCounts, LoadReport};
use super::{ReplayOptions, event_order, fds, kind_rank};
use crate::model::{Interval, Symbol, SymbolEvent, TimeMs};

/// Rows a series file's reorder window holds. A row may stand after up to this many rows that sort
/// after it and still be replayed in its place. Recorded series are sorted (Binance archives,
/// our own recorder), so the window only absorbs a few swapped or re-sent rows; a whole block out
/// of place (a month appended late) is beyond any window and is counted instead. The cost is
/// this many events (about 200 B each) per file: 256 × 3 files × 500 pairs is about 75 MB.
pub const REORDER_ROWS: usize = 256;

/// An event's place in the replay order: [`event_order`] in integers (the symbol by its rank in
/// the sorted universe), then reading order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    known_at: TimeMs,
    symbol: u32,
    rank: u8,
    job: u32,
    seq: u64,
}

/// An event with its place.
#[derive(Debug)]
struct Entry {
    key: Key,
    event: SymbolEvent,
}

/// Symbols by their rank in the sorted universe, so the merge compares integers.
type Ranks = HashMap<Symbol, u32>;

/// Where a file's events come from.
enum Rows {
    Klines(CsvReader<8>, KlineRows),
    Funding(CsvReader<2>, FundingRows),
    OpenInterest(CsvReader<4>, OiRows),
    /// A liquidation file, read whole and sorted.
    Sorted(std::vec::IntoIter<SymbolEvent>),
    /// Read to its end; the reader (its file, buffers) is gone.
    Done,
}

impl Rows {
    fn next(&mut self, report: &mut FileReport) -> Result<Option<SymbolEvent>, ReplayError> {
        match self {
            Rows::Klines(csv, rows) => csv.next_event(report, |f, r| rows.event(f, r)),
            Rows::Funding(csv, rows) => csv.next_event(report, |f, _| rows.event(f)),
            Rows::OpenInterest(csv, rows) => csv.next_event(report, |f, _| rows.event(f)),
            Rows::Sorted(events) => Ok(events.next()),
            Rows::Done => Ok(None),
        }
    }
}

/// One file read lazily through its reorder window.
pub(super) struct FileStream {
    rows: Rows,
    report: FileReport,
    job: u32,
    /// The file's symbol rank; `None` for liquidation files (many symbols), looked up per row.
    symbol: Option<u32>,
    window: usize,
    /// The rows read ahead, sorted by key.
    pending: VecDeque<Entry>,
    seq: u64,
    /// The greatest key emitted so far: an entry below it is displaced beyond the window.
    emitted: Option<Key>,
    finished: bool,
}

impl FileStream {
    /// Opens `job`'s file and fills its first window; a liquidation file is read whole here.
    pub(super) fn open(
        job: &Job,
        index: usize,
        ctx: &OpenContext<'_>,
    ) -> Result<FileStream, ReplayError> {
        let (report, rows, symbol) = match job {
            Job::Klines(symbol, path) => {
                let csv = CsvReader::open(path, &super::klines::COLUMNS)?;
                let rows = KlineRows::new(symbol.clone(), ctx.interval, ctx.limits);
                (job.report(), Rows::Klines(csv, rows), Some(symbol))
            }
            Job::Funding(symbol, path) => {
                let csv = CsvReader::open(path, &super::metrics::FUNDING_COLUMNS)?;
                let rows = FundingRows::new(symbol.clone(), ctx.limits);
                (job.report(), Rows::Funding(csv, rows), Some(symbol))
            }
            Job::OpenInterest(symbol, path) => {
                let csv = CsvReader::open(path, &super::metrics::OI_COLUMNS)?;
                let rows = OiRows::new(symbol.clone(), ctx.limits);
                (job.report(), Rows::OpenInterest(csv, rows), Some(symbol))
            }
            Job::Liquidations(_) => {
                let (report, mut events) = job.run(ctx.interval, ctx.limits, ctx.universe)?;
                events.sort_by(event_order);
                (report, Rows::Sorted(events.into_iter()), None)
            }
        };
        let window = match rows {
            Rows::Sorted(_) => 0,
            _ => ctx.window,
        };
        let mut file = FileStream {
            rows,
            report,
            job: u32::try_from(index).expect("fewer than 2^32 files"),
            symbol: symbol.map(|s| ctx.ranks[s]),
            window,
            pending: VecDeque::with_capacity(window.saturating_add(1).min(1 << 16)),
            seq: 0,
            emitted: None,
            finished: false,
        };
        file.fill(ctx.ranks)?;
        Ok(file)
    }

    /// Reads rows until the window is full (or the file ends).
    fn fill(&mut self, ranks: &Ranks) -> Result<(), ReplayError> {
        while self.pending.len() <= self.window && !matches!(self.rows, Rows::Done) {
            let Some(event) = self.rows.next(&mut self.report)? else {
                self.rows = Rows::Done;
                break;
            };
            let symbol = match self.symbol {
                Some(rank) => rank,
                None => ranks[&event.symbol],
            };
            let key = Key {
                known_at: event.event.known_at(),
                symbol,
                rank: kind_rank(&event.event),
                job: self.job,
                seq: self.seq,
            };
            self.seq += 1;
            // Sorted rows join at the back; one out of place is put where it belongs.
            let at = match self.pending.back() {
                Some(last) if key < last.key => self.pending.partition_point(|e| e.key < key),
                _ => self.pending.len(),
            };
            self.pending.insert(at, Entry { key, event });
        }
        Ok(())
    }

    /// The file's next event in replay order, reading on as the window empties; `None` at its end.
    fn next_entry(&mut self, ranks: &Ranks) -> Result<Option<Entry>, ReplayError> {
        self.fill(ranks)?;
        let Some(entry) = self.pending.pop_front() else {
            if !self.finished {
                self.finished = true;
                self.pending = VecDeque::new();
                self.report.finish();
            }
            return Ok(None);
        };
        match self.emitted {
            Some(last) if entry.key < last => self.displaced(&entry),
            _ => self.emitted = Some(entry.key),
        }
        Ok(Some(entry))
    }

    fn displaced(&mut self, entry: &Entry) {
        self.report.displaced += 1;
        if self.report.displaced == 1 {
            tracing::warn!(
                file = %self.report.path.display(),
                time = entry.key.known_at,
                window = REORDER_ROWS,
                "A row sorts before more rows than the reorder window holds; it is replayed where it falls, after later events."
            );
        }
    }
}

/// What every file is opened with.
pub(super) struct OpenContext<'a> {
    pub(super) interval: Interval,
    pub(super) limits: &'a RowLimits,
    pub(super) universe: &'a super::liquidations::Universe,
    pub(super) ranks: &'a Ranks,
    pub(super) window: usize,
}

/// A dataset read as one stream of events in replay order; see the module doc.
pub struct ReplayStream {
    files: Vec<FileStream>,
    /// The key of each unfinished file's next event, which waits in `next`.
    heads: BinaryHeap<Reverse<Key>>,
    /// Each file's next event, by job.
    next: Vec<Option<SymbolEvent>>,
    ranks: Ranks,
    dir: PathBuf,
    interval: Interval,
    symbols: BTreeSet<Symbol>,
    ignored_files: Vec<PathBuf>,
    /// An error met while refilling a file, yielded after the event already taken.
    error: Option<ReplayError>,
    ended: bool,
}

impl std::fmt::Debug for ReplayStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayStream")
            .field("dir", &self.dir)
            .field("files", &self.files.len())
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl ReplayStream {
    /// Plans the dataset at `dir` and opens every file (in parallel), reading each header and
    /// first window. Fails as [`super::Dataset::load`] does for whatever is found this early.
    pub fn open(dir: &Path, opts: &ReplayOptions) -> Result<ReplayStream, ReplayError> {
        Self::with_window(dir, opts, REORDER_ROWS)
    }

    /// [`ReplayStream::open`] with a reorder window of `window` rows per file: 0 yields every
    /// file in its own order (the merge still interleaves files).
    pub fn with_window(
        dir: &Path,
        opts: &ReplayOptions,
        window: usize,
    ) -> Result<ReplayStream, ReplayError> {
        let Plan {
            symbols,
            jobs,
            ignored_files,
        } = Plan::new(dir, opts)?;
        let series = jobs
            .iter()
            .filter(|j| !matches!(j, Job::Liquidations(_)))
            .count();
        fds::ensure_open_files(series)?;
        let universe = super::liquidations::universe(&symbols);
        let ranks: Ranks = (symbols.iter().cloned())
            .zip(0..)
            .collect::<HashMap<_, _>>();
        let ctx = OpenContext {
            interval: opts.source_interval,
            limits: &opts.limits,
            universe: &universe,
            ranks: &ranks,
            window,
        };
        let mut files = run_jobs(&jobs, &|i, job| FileStream::open(job, i, &ctx))?;
        let mut heads = BinaryHeap::with_capacity(files.len());
        let mut next = Vec::with_capacity(files.len());
        for file in &mut files {
            let entry = file.next_entry(&ranks)?;
            if let Some(entry) = &entry {
                heads.push(Reverse(entry.key));
            }
            next.push(entry.map(|e| e.event));
        }
        Ok(ReplayStream {
            files,
            heads,
            next,
            ranks,
            dir: dir.to_owned(),
            interval: opts.source_interval,
            symbols,
            ignored_files,
            error: None,
            ended: false,
        })
    }

    /// The symbol universe.
    pub fn symbols(&self) -> &BTreeSet<Symbol> {
        &self.symbols
    }

    /// The account so far: complete once the stream has ended; events are counted per kind for
    /// files read to their end.
    pub fn report(&self) -> LoadReport {
        let mut counts = KindCounts::default();
        for f in self.files.iter().filter(|f| f.finished) {
            counts.add(f.report.kind, f.report.events);
        }
        LoadReport {
            source_interval: self.interval,
            symbols: self.symbols.clone(),
            files: self.files.iter().map(|f| f.report.clone()).collect(),
            ignored_files: self.ignored_files.clone(),
            events: counts,
        }
    }

    fn end(&mut self) {
        if !self.ended {
            self.ended = true;
            let report = self.report();
            tracing::info!(dir = %self.dir.display(), %report, "Read recorded dataset.");
        }
    }
}

impl Iterator for ReplayStream {
    type Item = Result<SymbolEvent, ReplayError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(error) = self.error.take() {
            self.ended = true;
            return Some(Err(error));
        }
        if self.ended {
            return None;
        }
        let Some(Reverse(key)) = self.heads.pop() else {
            self.end();
            return None;
        };
        let job = key.job as usize;
        let event = self.next[job].take().expect("a queued key has its event");
        match self.files[job].next_entry(&self.ranks) {
            Ok(Some(entry)) => {
                self.heads.push(Reverse(entry.key));
                self.next[job] = Some(entry.event);
            }
            Ok(None) => {}
            Err(error) => self.error = Some(error),
        }
        Some(Ok(event))
    }
}
