//! The store at a 5m close (issue 16): the bytes the store keeps per warmed pair, and how long the
//! engine task takes to persist a close burst — every one of the 600 pairs stepped by its next 5m
//! bar, as at a live close, then the changed pairs taken (`take_changed`) and committed in one
//! transaction (`Store::commit`), as the engine task does after that input. On a fresh sled store
//! that first receives the 600 warmed pairs of the restart, whose back-filled bars are the closes.
//! Sizes are the store's own (`Store::pair_bytes`, and its files), so any encoding it picks is
//! measured as it is.

use std::path::Path;
use std::time::{Duration, Instant};

use liqwave::config::Config;
use liqwave::engine::{Engine, PairSnapshot};
use liqwave::model::SymbolEvent;
use liqwave::store::{Commit, Store};

use crate::sys::{kib, mib};
use crate::warmup::dir_bytes;
use crate::{Row, Verdict, runtime};

/// Closes timed; the median is reported.
const CLOSES: usize = 12;
const SNAPSHOT_TARGET: f64 = 20.0 * 1024.0;
const COMMIT_TARGET: Duration = Duration::from_millis(20);

/// One close: all pairs stepped, then persisted.
#[derive(Debug, Clone, Copy)]
struct Close {
    changed: usize,
    step: Duration,
    take: Duration,
    commit: Duration,
}

pub(crate) struct Burst {
    pairs: usize,
    /// The store's files after one commit of every pair and a flush.
    store_bytes: u64,
    /// The same after the closes' commits and a flush.
    store_after: u64,
    first_commit: Duration,
    /// Each pair's value as the store encoded it (`Store::pair_bytes`): mean and largest.
    encoded_mean: f64,
    encoded_max: usize,
    closes: Vec<Close>,
}

/// Measures the store of `snapshots` (in a new store under `dir`) and the closes of `fills`.
pub(crate) fn measure(
    config: &Config,
    snapshots: &[PairSnapshot],
    fills: &[Vec<SymbolEvent>],
    dir: &Path,
) -> Burst {
    let path = dir.join("burst-store");
    let store = Store::open(&path, config.store.cache_bytes).expect("store");
    let rt = runtime();
    let t = Instant::now();
    let all = Commit {
        pairs: snapshots,
        alerts: &[],
        position: Some(0),
    };
    store.commit(&all).expect("commit");
    let first_commit = t.elapsed();
    rt.block_on(store.flush()).expect("flush");
    let store_bytes = dir_bytes(&path);
    let encoded = store.pair_bytes().expect("pair sizes");

    let mut engine = Engine::restore(config, snapshots.to_vec());
    // As `liqwave run` does.
    engine.defer_quiet_ticks();
    let mut alerts = Vec::new();
    let steps = fills.iter().map(Vec::len).max().unwrap_or(0).min(CLOSES);
    let mut closes = Vec::with_capacity(steps);
    for i in 0..steps {
        let t = Instant::now();
        let mut events = 0;
        for e in fills.iter().filter_map(|f| f.get(i)) {
            engine.handle(e, &mut alerts);
            events += 1;
        }
        alerts.clear();
        let stepped = Instant::now();
        let pairs = engine.take_changed();
        let taken = Instant::now();
        let commit = Commit {
            pairs: &pairs,
            alerts: &[],
            position: Some(((i + 1) * events) as u64),
        };
        store.commit(&commit).expect("commit");
        closes.push(Close {
            changed: pairs.len(),
            step: stepped - t,
            take: taken - stepped,
            commit: taken.elapsed(),
        });
    }
    rt.block_on(store.flush()).expect("flush");
    let store_after = dir_bytes(&path);
    drop(store);
    let _removed = std::fs::remove_dir_all(&path);
    Burst {
        pairs: snapshots.len(),
        store_bytes,
        store_after,
        first_commit,
        encoded_mean: encoded.iter().sum::<usize>() as f64 / encoded.len().max(1) as f64,
        encoded_max: encoded.iter().copied().max().unwrap_or(0),
        closes,
    }
}

/// The median and the largest of some durations.
fn median_max(mut xs: Vec<Duration>) -> (Duration, Duration) {
    xs.sort();
    let max = xs.last().copied().unwrap_or_default();
    (xs.get(xs.len() / 2).copied().unwrap_or_default(), max)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

impl Burst {
    /// The store's files per pair: sled's log and page blobs, all it holds.
    fn on_disk(&self) -> f64 {
        self.store_bytes as f64 / self.pairs.max(1) as f64
    }

    pub(crate) fn snapshot_row(&self) -> Row {
        let measured = format!(
            "**{}** mean per pair as the store encodes it, {} largest ({} warmed pairs, \
             `Store::pair_bytes`); on disk a fresh store after that one commit, flushed, holds \
             {} ({} per pair: sled's log and page blobs), {} after {} close commits of every \
             pair (its log grows until it compacts)",
            kib(self.encoded_mean),
            kib(self.encoded_max as f64),
            self.pairs,
            mib(self.store_bytes),
            kib(self.on_disk()),
            mib(self.store_after),
            self.closes.len(),
        );
        let verdict = if self.pairs == 0 {
            Verdict::Unjudged("no pairs were warmed".into())
        } else if self.encoded_mean > SNAPSHOT_TARGET {
            Verdict::Missed(format!(
                "{} per pair: the store keeps each pair's whole state, heat arrays and bar \
                 history included",
                kib(self.encoded_mean),
            ))
        } else {
            Verdict::Met
        };
        Row {
            what: "snapshot size per warmed pair (what the store keeps)".into(),
            measured,
            target: "≤ 20 KB".into(),
            verdict,
        }
    }

    pub(crate) fn burst_row(&self) -> Row {
        let what = "close burst: 600 warmed pairs' next 5m bars, the changed pairs persisted";
        let target = "taking and committing them ≤ 20 ms (part of the live p99 ≤ 20 ms)";
        if self.closes.is_empty() {
            return Row {
                what: what.into(),
                measured: "not measured: no back-filled bars".into(),
                target: target.into(),
                verdict: Verdict::Unjudged("the restart back-filled nothing".into()),
            };
        }
        let persist = |c: &Close| c.take + c.commit;
        let (persist_med, persist_max) = median_max(self.closes.iter().map(persist).collect());
        let (commit, _) = median_max(self.closes.iter().map(|c| c.commit).collect());
        let (take, _) = median_max(self.closes.iter().map(|c| c.take).collect());
        let (step, _) = median_max(self.closes.iter().map(|c| c.step).collect());
        let changed = self.closes.iter().map(|c| c.changed).max().unwrap_or(0);
        let measured = format!(
            "median of {} closes, {changed} pairs changed each: **{}** to persist (max {}): \
             `take_changed` {}, `Store::commit` {}; the engine's step of the bars {} before it; \
             the store's first commit of all {} pairs {}",
            self.closes.len(),
            ms(persist_med),
            ms(persist_max),
            ms(take),
            ms(commit),
            ms(step),
            self.pairs,
            ms(self.first_commit),
        );
        let verdict = if persist_med > COMMIT_TARGET {
            Verdict::Missed(format!(
                "{} per close: {changed} whole snapshots ({} each in the store) cloned, encoded \
                 and written in one sled transaction",
                ms(persist_med),
                kib(self.encoded_mean),
            ))
        } else {
            Verdict::Met
        };
        Row {
            what: what.into(),
            measured,
            target: target.into(),
            verdict,
        }
    }
}
