//! Reading the planned files, in parallel, into per-file events and reports.

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
    pub(super) fn run(
        &self,
        interval: Interval,
        limits: &RowLimits,
        universe: &liquidations::Universe,
    ) -> Result<JobOutput, ReplayError> {
        let mut out = Vec::new();
        let report = match self {
            Job::Klines(symbol, path) => {
                let mut r = FileReport::new(path.clone(), FileKind::Klines, Some(symbol.clone()));
                klines::read(path, symbol, interval, limits, &mut out, &mut r)?;
                r
            }
            Job::Funding(symbol, path) => {
                let mut r = FileReport::new(path.clone(), FileKind::Funding, Some(symbol.clone()));
                metrics::read_funding(path, symbol, limits, &mut out, &mut r)?;
                r
            }
            Job::OpenInterest(symbol, path) => {
                let mut r =
                    FileReport::new(path.clone(), FileKind::OpenInterest, Some(symbol.clone()));
                metrics::read_open_interest(path, symbol, limits, &mut out, &mut r)?;
                r
            }
            Job::Liquidations(path) => {
                let mut r = FileReport::new(path.clone(), FileKind::Liquidations, None);
                liquidations::read(path, universe, limits, &mut out, &mut r)?;
                r
            }
        };
        Ok((report, out))
    }
}

/// Runs the jobs on up to `available_parallelism` threads; results (and the first error) come
/// back in job order, so the outcome does not depend on scheduling.
pub(super) fn run_jobs<T: Send>(
    jobs: &[Job],
    run: &(dyn Fn(&Job) -> Result<T, ReplayError> + Sync),
) -> Result<Vec<T>, ReplayError> {
    let workers = thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len());
    if workers <= 1 {
        return jobs.iter().map(run).collect();
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
                            done.push((i, run(job)));
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
