//! Memory at 600 pairs (DESIGN.md §10): the state per pair — serialized (the binary the store keeps)
//! and in memory (a fresh child process restores the 600 warmed pairs from JSON; its resident-set
//! growth divided by 600) — and the resident set with 600 warmed pairs loaded: this process after
//! the cold start, and a fresh child that restores them from the sled store as a restart does.

use std::io::BufReader;
use std::path::Path;
use std::process::Command;

use liqwave::config::Config;
use liqwave::engine::{Engine, PairSnapshot};
use liqwave::store::Store;

use crate::sys::{hwm, kib, mib, rss};
use crate::{Row, Verdict};

/// Set in the child's environment to what it restores: `json:<file>` or `sled:<store>`.
pub(crate) const CHILD_ENV: &str = "LIQWAVE_REPORT_RESTORE";
const PAIR_TARGET: u64 = 64 * 1024;
const RSS_TARGET: u64 = 150 * 1000 * 1000;

/// What a process with 600 warmed pairs holds.
pub(crate) struct Memory {
    pairs: usize,
    /// Bytes per pair snapshot as the store encodes it: mean and largest.
    json_mean: f64,
    json_max: usize,
    /// A child's resident set before and after restoring every pair from JSON, and after
    /// restoring them from the sled store.
    child_before: Option<u64>,
    child_after: Option<u64>,
    child_sled: Option<u64>,
    /// This process right after the cold start: engine, store, REST client, the fake exchange.
    rss_warm: Option<u64>,
    hwm_warm: Option<u64>,
}

/// Measures the engine's pairs: their snapshots' sizes, and child processes restoring them from
/// a JSON file written to `dir` and from the (closed) sled `store`.
pub(crate) fn measure(engine: &Engine, store: &Path, dir: &Path) -> Memory {
    let (rss_warm, hwm_warm) = (rss(), hwm());
    let snapshot = engine.snapshot();
    let sizes: Vec<usize> = snapshot
        .iter()
        .map(|p| liqwave::store::encode_snapshot(p).expect("encode").len())
        .collect();
    let file = dir.join("pairs.json");
    let writer = std::io::BufWriter::new(std::fs::File::create(&file).expect("snapshot file"));
    serde_json::to_writer(writer, &snapshot).expect("write snapshots");
    let (child_before, child_after) = run_child("json", &file);
    let (_, child_sled) = run_child("sled", store);
    Memory {
        pairs: snapshot.len(),
        json_mean: sizes.iter().sum::<usize>() as f64 / sizes.len().max(1) as f64,
        json_max: sizes.iter().copied().max().unwrap_or(0),
        child_before,
        child_after,
        child_sled,
        rss_warm,
        hwm_warm,
    }
}

/// Runs this binary again as a child that restores the pairs in `path` (`kind` json or sled),
/// and reads its resident set before and after.
fn run_child(kind: &str, path: &Path) -> (Option<u64>, Option<u64>) {
    let exe = std::env::current_exe().expect("own path");
    let mut what = std::ffi::OsString::from(format!("{kind}:"));
    what.push(path);
    let out = Command::new(exe)
        .env(CHILD_ENV, what)
        .output()
        .expect("child process");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut numbers = text
        .split_whitespace()
        .map(|w| w.parse::<u64>().ok().filter(|&n| n > 0));
    (numbers.next().flatten(), numbers.next().flatten())
}

/// The child: resident set before and after restoring an engine as `what` says (`json:<file>`
/// or `sled:<store>`), on stdout.
pub(crate) fn child(config: &Config, what: &str) {
    let before = rss().unwrap_or(0);
    let (engine, store) = match what.split_once(':') {
        Some(("json", file)) => {
            let reader = BufReader::new(std::fs::File::open(file).expect("snapshot file"));
            let pairs: Vec<PairSnapshot> = serde_json::from_reader(reader).expect("snapshots");
            (Engine::restore(config, pairs), None)
        }
        Some(("sled", path)) => {
            let store = Store::open(Path::new(path), config.store.cache_bytes).expect("store");
            let pairs = store.pair_snapshots().expect("snapshots");
            (Engine::restore(config, pairs), Some(store))
        }
        _ => panic!("{CHILD_ENV}={what}: expected json:<file> or sled:<store>"),
    };
    let after = rss().unwrap_or(0);
    println!("{before} {after} {}", engine.pairs().len());
    drop(store);
}

impl Memory {
    /// The in-memory state per pair: the child's growth over its pairs.
    fn per_pair(&self) -> Option<f64> {
        let grown = self.child_after?.checked_sub(self.child_before?)?;
        Some(grown as f64 / self.pairs.max(1) as f64)
    }

    pub(crate) fn pair_row(&self) -> Row {
        let per_pair = self.per_pair();
        let in_memory = per_pair.map_or("not measured".to_owned(), kib);
        let measured = format!(
            "**{in_memory}** in memory (a fresh process's resident-set growth restoring {} warmed \
             pairs, ÷ {}); snapshot as the store encodes it (binary) {} mean, {} largest",
            self.pairs,
            self.pairs,
            kib(self.json_mean),
            kib(self.json_max as f64),
        );
        let largest = per_pair.unwrap_or(0.0).max(self.json_mean);
        let verdict = match per_pair {
            None => Verdict::Unjudged("the child process gave no figure".into()),
            Some(_) if largest > PAIR_TARGET as f64 => {
                Verdict::Missed(format!("{} per pair is over 64 KiB", kib(largest)))
            }
            Some(_) => Verdict::Met,
        };
        Row {
            what: "memory per pair (warmed: 3 days of 5m heat, 250 bars per signal timeframe)"
                .into(),
            measured,
            target: "≤ 64 KB state per pair".into(),
            verdict,
        }
    }

    pub(crate) fn rss_row(&self) -> Row {
        let show = |b: Option<u64>| b.map_or("n/a".to_owned(), mib);
        let measured = format!(
            "**{}** after the cold start of {} pairs (engine, sled store, REST client and the fake \
             exchange in one process; peak {}); a fresh process restoring them from the store as \
             a restart does: **{}**; from JSON, the engine alone: {} (the bare process: {})",
            show(self.rss_warm),
            self.pairs,
            show(self.hwm_warm),
            show(self.child_sled),
            show(self.child_after),
            show(self.child_before),
        );
        let worst = self.rss_warm.max(self.child_sled);
        let verdict = match worst {
            None => Verdict::Unjudged("/proc/self/status unreadable".into()),
            Some(b) if b > RSS_TARGET => {
                Verdict::Missed(format!("{} resident at 600 pairs", mib(b)))
            }
            Some(_) => Verdict::Met,
        };
        Row {
            what: "RSS at 600 pairs".into(),
            measured,
            target: "≤ 150 MB".into(),
            verdict,
        }
    }
}
