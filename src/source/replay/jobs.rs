//! The planned files, and running work over them in parallel: opening them for a stream, or
//! reading them whole.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use super::checks::RowLimits;
use super::error::ReplayError;
use super::report::{FileKind, FileReport};
use super::{klines, liquidations, metrics};
use crate::model::{Interval, Symbol, SymbolEvent};

/// One file to read.
pub(super) enum Job {
    Klines(Symbol, PathBuf),
    Funding(Symbol, PathBuf),
    OpenInterest(Symbol, PathBuf),
    Liquidations(PathBuf),
}

pub(super) type JobOutput = (FileReport, Vec<SymbolEvent>);

impl Job {
    /// An empty report for this file.
    pub(super) fn report(&self) -> FileReport {
        let (path, kind, symbol) = match self {
            Job::Klines(s, p) => (p, FileKind::Klines, Some(s)),
            Job::Funding(s, p) => (p, FileKind::Funding, Some(s)),
            Job::OpenInterest(s, p) => (p, FileKind::OpenInterest, Some(s)),
            Job::Liquidations(p) => (p, FileKind::Liquidations, None),
        };
        FileReport::new(path.clone(), kind, symbol.cloned())
    }

    /// Reads the whole file: its events in file order, and its report.
    pub(super) fn run(
        &self,
        interval: Interval,
        limits: &RowLimits,
        universe: &liquidations::Universe,
    ) -> Result<JobOutput, ReplayError> {
        let mut report = self.report();
        let mut out = Vec::new();
        match self {
            Job::Klines(symbol, path) => {
                out = klines::read(path, symbol, interval, limits, &mut report)?;
            }
            Job::Funding(symbol, path) => {
                let mut csv = super::lines::CsvReader::open(path, &metrics::FUNDING_COLUMNS)?;
                let mut rows = metrics::FundingRows::new(symbol.clone(), limits);
                while let Some(e) = csv.next_event(&mut report, |f, _| rows.event(f))? {
                    out.push(e);
                }
            }
            Job::OpenInterest(symbol, path) => {
                let mut csv = super::lines::CsvReader::open(path, &metrics::OI_COLUMNS)?;
                let mut rows = metrics::OiRows::new(symbol.clone(), limits);
                while let Some(e) = csv.next_event(&mut report, |f, _| rows.event(f))? {
                    out.push(e);
                }
            }
            Job::Liquidations(path) => {
                liquidations::read(path, universe, limits, &mut out, &mut report)?;
            }
        }
        Ok((report, out))
    }
}

/// Runs the jobs on up to `available_parallelism` threads; results (and the first error) come
/// back in job order, so the outcome does not depend on scheduling.
pub(super) fn run_jobs<T: Send>(
    jobs: &[Job],
    run: &(dyn Fn(usize, &Job) -> Result<T, ReplayError> + Sync),
) -> Result<Vec<T>, ReplayError> {
    let workers = thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len());
    if workers <= 1 {
        return jobs
            .iter()
            .enumerate()
            .map(|(i, job)| run(i, job))
            .collect();
    }
    let next = AtomicUsize::new(0);
    // Workers log through the caller's subscriber, scoped or global.
    let dispatch = tracing::dispatcher::get_default(tracing::Dispatch::clone);
    let mut done: Vec<(usize, Result<T, ReplayError>)> = thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    tracing::dispatcher::with_default(&dispatch, || {
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(job) = jobs.get(i) else { break };
                            done.push((i, run(i, job)));
                        }
                        done
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}
