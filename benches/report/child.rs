//! The replay child of the scale rows (`report/scale.rs`): `supervisor::replay` as `liqwave
//! replay` runs it (default config, no alerts printed, a current-thread runtime, `engine.threads`
//! set as `--threads` sets it) in a child process — this binary again, [`CHILD_ENV`] set — so its
//! peak resident set is its own. The parent polls the child's /proc status and stops it past
//! [`rss_cap`] or [`CHILD_BOUND`]: a replay that holds the whole dataset must not take the shared
//! machine's memory with it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use liqwave::config::Config;
use liqwave::supervisor::{ReplayRun, replay};

use crate::runtime;
use crate::scale::SYNTHETIC_RSS_TARGET;
use crate::sys::{hwm, mem_available, mib, proc_status_bytes};

/// Set in a child's environment to the dataset directory it replays.
pub(crate) const CHILD_ENV: &str = "LIQWAVE_REPORT_REPLAY";
/// The child's `engine.threads`, and its store directory (a durable replay) when set.
const THREADS_ENV: &str = "LIQWAVE_REPORT_REPLAY_THREADS";
const STORE_ENV: &str = "LIQWAVE_REPORT_REPLAY_STORE";
/// The longest a child may take.
const CHILD_BOUND: Duration = Duration::from_secs(30 * 60);
const POLL: Duration = Duration::from_millis(20);

/// The child: replays the dataset `dir` with the default config and prints what the parent
/// reads (source bars, malformed rows, pairs, load and run time in ns, its own peak resident set).
pub(crate) fn child(config: &Config, dir: &str) {
    let mut config = config.clone();
    let threads = std::env::var(THREADS_ENV).ok();
    config.engine.threads = threads.and_then(|t| t.parse().ok()).unwrap_or(0);
    config.store.path = std::env::var_os(STORE_ENV).map(PathBuf::from);
    config.replay.data_dir = Some(PathBuf::from(dir));
    let rt = runtime();
    let replayed = rt.block_on(replay(&config, Path::new(dir), ReplayRun::default()));
    rt.shutdown_background();
    let (summary, engine) = replayed.expect("replay");
    drop(engine);
    println!(
        "{} {} {} {} {} {}",
        summary.source_bars,
        summary.load.malformed(),
        summary.pairs,
        summary.load_time.as_nanos(),
        summary.run_time.as_nanos(),
        hwm().unwrap_or(0),
    );
}

/// One child's replay.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChildRun {
    pub(crate) bars: u64,
    /// Rows the replay skipped as malformed.
    pub(crate) malformed: u64,
    pub(crate) pairs: u64,
    pub(crate) load: Duration,
    pub(crate) run: Duration,
    /// The child's peak resident set: its own last word, or what the parent saw.
    pub(crate) peak: u64,
}

impl ChildRun {
    /// Source bars per second of run time, as `ReplaySummary::bars_per_second`.
    pub(crate) fn rate(&self) -> f64 {
        self.bars as f64 / self.run.as_secs_f64().max(1e-9)
    }

    /// Source bars per second of load and run time together.
    pub(crate) fn end_to_end(&self) -> f64 {
        self.bars as f64 / (self.load + self.run).as_secs_f64().max(1e-9)
    }
}

/// Why a child gave no figures.
#[derive(Debug, Clone)]
pub(crate) struct Stopped(pub(crate) String);

/// The most a child may hold: three times the synthetic target, or half the memory available.
pub(crate) fn rss_cap() -> u64 {
    let half = mem_available().map_or(u64::MAX, |b| b / 2);
    (3 * SYNTHETIC_RSS_TARGET).min(half)
}

/// Replays `dir` in a child with `threads` threads (and a store at `store`), polling its
/// resident set; stops it past `cap`.
pub(crate) fn run_child(
    dir: &Path,
    threads: usize,
    store: Option<&Path>,
    cap: u64,
) -> Result<ChildRun, Stopped> {
    let exe = std::env::current_exe().expect("own path");
    let mut command = Command::new(exe);
    command
        .env(CHILD_ENV, dir)
        .env(THREADS_ENV, threads.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(store) = store {
        command.env(STORE_ENV, store);
    }
    let mut child = command
        .spawn()
        .map_err(|e| Stopped(format!("could not start: {e}")))?;
    let pid = child.id().to_string();
    // Read on their own threads, so a chatty child never blocks on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _partial = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let started = Instant::now();
    let mut seen = 0;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(Stopped(format!("could not wait for it: {e}"))),
        }
        seen = seen.max(proc_status_bytes(&pid, "VmHWM").unwrap_or(0));
        let rss = proc_status_bytes(&pid, "VmRSS").unwrap_or(0);
        let late = started.elapsed() > CHILD_BOUND;
        if rss > cap || late {
            let _gone = child.kill();
            let _reaped = child.wait();
            let why = if late {
                format!("still running after {} s", CHILD_BOUND.as_secs())
            } else {
                format!("stopped at {} resident", mib(rss))
            };
            return Err(Stopped(format!(
                "{why}, {:.0} s after it started",
                started.elapsed().as_secs_f64()
            )));
        }
        std::thread::sleep(POLL);
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    let numbers: Vec<u128> = out
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    match numbers[..] {
        [bars, malformed, pairs, load, run, peak] if status.success() => Ok(ChildRun {
            bars: bars as u64,
            malformed: malformed as u64,
            pairs: pairs as u64,
            load: Duration::from_nanos(load as u64),
            run: Duration::from_nanos(run as u64),
            peak: (peak as u64).max(seen),
        }),
        _ => {
            let last = err.lines().rev().find(|l| !l.trim().is_empty());
            Err(Stopped(format!(
                "exited with {status}: {}",
                last.unwrap_or("no message")
            )))
        }
    }
}
