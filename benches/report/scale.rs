//! Replay at scale (issue 16): the shared Binance history (`../shared/data/binance-history`, 9
//! pairs, 1.03 M 5m bars) at 1 thread and at every core, a synthetic 500-pair year
//! (`report/synthetic.rs`), and the durable replay (a sled store on). Each replay is
//! `supervisor::replay` as `liqwave replay` runs it, in a child process (`report/child.rs`) so
//! that its peak resident set is its own.

use std::path::{Path, PathBuf};

use crate::child::{ChildRun, Stopped, rss_cap, run_child};
use crate::synthetic;
use crate::sys::{mib, open_files_limit};
use crate::{Row, Verdict};

/// The shared history, relative to the repository.
const HISTORY: &str = "../shared/data/binance-history";
/// Runs of the history replay per thread count; the median rate is reported.
const RUNS: usize = 3;
const HISTORY_RSS_TARGET: u64 = 80 * 1000 * 1000;
pub(crate) const SYNTHETIC_RSS_TARGET: u64 = 1000 * 1000 * 1000;
const SPEEDUP_TARGET: f64 = 1.7;
const ALL_CORES_TARGET: f64 = 600_000.0;
const DURABLE_TARGET: f64 = 300_000.0;
/// Resident bytes per source bar beyond which the replay evidently holds the whole dataset (an
/// event in memory takes about a hundred).
const GROWS_PER_BAR: f64 = 50.0;

/// The median of rates.
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

fn krate(x: f64) -> String {
    format!("{:.0} k bars/s", x / 1e3)
}

/// The history replay at each thread count: its runs.
struct AtThreads {
    threads: usize,
    runs: Vec<ChildRun>,
    failed: Option<Stopped>,
}

impl AtThreads {
    fn rate(&self) -> Option<f64> {
        (!self.runs.is_empty()).then(|| median(self.runs.iter().map(ChildRun::rate).collect()))
    }

    fn peak(&self) -> Option<u64> {
        self.runs.iter().map(|r| r.peak).max()
    }
}

/// Everything this module measured.
pub(crate) struct Scale {
    cores: usize,
    /// The history's directory, when present.
    history: Option<PathBuf>,
    at: Vec<AtThreads>,
    synthetic: Synthetic,
    durable: Result<(ChildRun, String), Stopped>,
    open_files: Option<u64>,
}

/// The synthetic replay: what was asked, generated and run.
enum Synthetic {
    Skipped(String),
    Ran {
        spec: synthetic::Spec,
        generated: synthetic::Generated,
        run: Result<ChildRun, Stopped>,
    },
}

/// Measures the history replay at 1, 2 and all cores, the synthetic replay and the durable one;
/// temporary files go under `tmp`.
pub(crate) fn measure(tmp: &Path) -> Scale {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cap = rss_cap();
    let history = Path::new(env!("CARGO_MANIFEST_DIR")).join(HISTORY);
    let history = history.join("klines/5m").is_dir().then_some(history);
    let mut threads = vec![1, 2.min(cores), cores];
    threads.dedup();
    let mut at: Vec<AtThreads> = threads
        .iter()
        .map(|&threads| AtThreads {
            threads,
            runs: Vec::new(),
            failed: None,
        })
        .collect();
    if let Some(dir) = &history {
        println!("  - the shared history at {threads:?} threads, {RUNS} runs each…");
        // Interleaved, so a busy spell of the shared machine falls on every thread count.
        for _ in 0..RUNS {
            for a in at.iter_mut().filter(|a| a.failed.is_none()) {
                match run_child(dir, a.threads, None, cap) {
                    Ok(run) => a.runs.push(run),
                    Err(e) => a.failed = Some(e),
                }
            }
        }
    }
    let durable_dir = history
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/binance"));
    let label = if history.is_some() {
        "the shared history"
    } else {
        "the bundled recordings (tests/fixtures/binance)"
    };
    println!("  - the durable replay of {label}…");
    let store = tmp.join("durable-store");
    let durable = run_child(&durable_dir, cores, Some(&store), cap).map(|r| (r, label.to_owned()));
    let _removed = std::fs::remove_dir_all(&store);
    let synthetic = synthetic_run(tmp, cores, cap);
    Scale {
        cores,
        history,
        at,
        synthetic,
        durable,
        open_files: open_files_limit(),
    }
}

/// Generates the synthetic dataset under `tmp`, replays it on every core, removes it.
fn synthetic_run(tmp: &Path, cores: usize, cap: u64) -> Synthetic {
    let spec = match synthetic::Spec::from_env() {
        Ok(spec) if spec.pairs == 0 => {
            return Synthetic::Skipped(format!("{} = 0", synthetic::PAIRS_ENV));
        }
        Ok(spec) => spec,
        Err(e) => return Synthetic::Skipped(e),
    };
    let free = crate::sys::disk_available(tmp);
    if let Some(free) = free.filter(|&f| f < 2 * spec.disk_estimate() + (1 << 30)) {
        return Synthetic::Skipped(format!(
            "{} free on the temporary directory's disk, about {} needed",
            mib(free),
            mib(spec.disk_estimate())
        ));
    }
    let dir = tmp.join("synthetic");
    println!(
        "  - generating {} pairs × {} days of 5m bars ({:.1} M)…",
        spec.pairs,
        spec.days,
        spec.bars() as f64 / 1e6
    );
    let generated = match synthetic::generate(spec, &dir) {
        Ok(g) => g,
        Err(e) => {
            let _removed = std::fs::remove_dir_all(&dir);
            return Synthetic::Skipped(format!("generating it failed: {e}"));
        }
    };
    println!(
        "  - replaying it on {cores} threads ({} of gz written in {:.0} s)…",
        mib(generated.bytes),
        generated.took.as_secs_f64()
    );
    let run = run_child(&dir, cores, None, cap);
    let _removed = std::fs::remove_dir_all(&dir);
    Synthetic::Ran {
        spec,
        generated,
        run,
    }
}

impl Scale {
    /// A row for when the history is absent.
    fn absent(what: &str, target: &str) -> Row {
        Row {
            what: what.into(),
            measured: format!("not measured: {HISTORY} is absent"),
            target: target.into(),
            verdict: Verdict::Unjudged(format!(
                "{HISTORY} is absent (it is not in the repository)"
            )),
        }
    }

    /// Bars per second over the shared history at 1 thread, 2 and every core.
    pub(crate) fn history_rate_row(&self) -> Row {
        let what = "replay of the shared history (9 pairs, 1.03 M 5m bars), default config, 1 \
                    and N threads";
        let target = "≥ 1.7× from 1 to 2 threads; ≥ 600 k bars/s with all cores";
        if self.history.is_none() {
            return Scale::absent(what, target);
        }
        let mut parts = Vec::new();
        for a in &self.at {
            let part = match (a.rate(), &a.failed) {
                (Some(rate), failed) => {
                    let r = &a.runs[0];
                    let ends = median(a.runs.iter().map(ChildRun::end_to_end).collect());
                    let failed = failed
                        .as_ref()
                        .map_or(String::new(), |f| format!(" (a later run failed: {})", f.0));
                    format!(
                        "{} thread{}: **{}** median of {} runs ({} with loading; {} pairs, {} \
                         bars){failed}",
                        a.threads,
                        if a.threads == 1 { "" } else { "s" },
                        krate(rate),
                        a.runs.len(),
                        krate(ends),
                        r.pairs,
                        r.bars,
                    )
                }
                (None, Some(f)) => format!("{} threads: failed, {}", a.threads, f.0),
                (None, None) => format!("{} threads: not run", a.threads),
            };
            parts.push(part);
        }
        let one = self
            .at
            .iter()
            .find(|a| a.threads == 1)
            .and_then(AtThreads::rate);
        let two = self
            .at
            .iter()
            .find(|a| a.threads == 2)
            .and_then(AtThreads::rate);
        let all = self.at.last().and_then(AtThreads::rate);
        let speedup = one.zip(two).map(|(one, two)| two / one);
        if let Some(s) = speedup {
            parts.push(format!("speed-up 1 → 2 threads **{s:.2}×**"));
        }
        let mut missed = Vec::new();
        if let Some(s) = speedup.filter(|&s| s < SPEEDUP_TARGET) {
            missed.push(if s < 1.15 {
                format!("{s:.2}× from 1 to 2 threads: the second thread does not help")
            } else {
                format!("{s:.2}× from 1 to 2 threads")
            });
        }
        if let Some(r) = all.filter(|&r| r < ALL_CORES_TARGET) {
            missed.push(format!("{} with all {} cores", krate(r), self.cores));
        }
        let verdict = if speedup.is_none() || all.is_none() {
            Verdict::Unjudged(if self.cores < 2 {
                "one core: no speed-up to measure".into()
            } else {
                "a replay failed, see the figures".into()
            })
        } else if missed.is_empty() {
            Verdict::Met
        } else {
            Verdict::Missed(missed.join("; "))
        };
        Row {
            what: what.into(),
            measured: parts.join("; "),
            target: target.into(),
            verdict,
        }
    }

    /// Peak resident set of the history replays.
    pub(crate) fn history_rss_row(&self) -> Row {
        let what = "peak RSS, replay of the shared history";
        let target = "≤ 80 MB";
        if self.history.is_none() {
            return Scale::absent(what, target);
        }
        let parts: Vec<String> = self
            .at
            .iter()
            .filter_map(|a| Some(format!("{} thread(s): **{}**", a.threads, mib(a.peak()?))))
            .collect();
        let worst = self.at.iter().filter_map(AtThreads::peak).max();
        let verdict = match worst {
            None => Verdict::Unjudged("no replay finished".into()),
            Some(b) if b > HISTORY_RSS_TARGET => {
                let bars = self.at.iter().flat_map(|a| &a.runs).map(|r| r.bars).max();
                let per_bar = b as f64 / bars.unwrap_or(1).max(1) as f64;
                let grows = if per_bar > GROWS_PER_BAR {
                    ": memory grows with the dataset, every event held before the first one runs"
                } else {
                    ""
                };
                Verdict::Missed(format!(
                    "{} at the peak, {per_bar:.0} bytes per bar{grows}",
                    mib(b)
                ))
            }
            Some(_) => Verdict::Met,
        };
        Row {
            what: what.into(),
            measured: format!(
                "{} (VmHWM of each child process, the most of its runs)",
                parts.join(", ")
            ),
            target: target.into(),
            verdict,
        }
    }

    pub(crate) fn synthetic_row(&self) -> Row {
        let files = self
            .open_files
            .map_or("unlimited".to_owned(), |n| n.to_string());
        let (what, measured, verdict) = match &self.synthetic {
            Synthetic::Skipped(why) => (
                "synthetic replay, 500 pairs × 1 year of 5m bars".to_owned(),
                format!("not run: {why}"),
                Verdict::Unjudged(why.clone()),
            ),
            Synthetic::Ran {
                spec,
                generated,
                run,
            } => {
                let what = format!(
                    "synthetic replay, {} pairs × {} days of 5m bars ({:.1} M bars, funding \
                     every 8 h), all cores",
                    spec.pairs,
                    spec.days,
                    spec.bars() as f64 / 1e6
                );
                // A replay that keeps every file open needs one descriptor per file and some.
                let short = self
                    .open_files
                    .filter(|&n| n < spec.files() as u64 + 64)
                    .map_or("", |_| ", **too few to hold every file open**");
                let made = format!(
                    "generated in {:.0} s ({} of gz, {} files; open-file limit {files}{short}), \
                     removed afterwards",
                    generated.took.as_secs_f64(),
                    mib(generated.bytes),
                    spec.files()
                );
                let smaller = if spec.is_default() {
                    ""
                } else {
                    " (a smaller run than the target's, set by the environment)"
                };
                match run {
                    Ok(r) => {
                        let verdict = if r.bars != spec.bars() || r.malformed > 0 {
                            Verdict::Unjudged(format!(
                                "the replay read {} of the {} bars ({} malformed rows)",
                                r.bars,
                                spec.bars(),
                                r.malformed
                            ))
                        } else if r.peak > SYNTHETIC_RSS_TARGET {
                            Verdict::Missed(format!("{} at the peak{smaller}", mib(r.peak)))
                        } else if !spec.is_default() {
                            Verdict::Unjudged(format!(
                                "{} at the peak on a smaller run than the target's (set by the \
                                 environment)",
                                mib(r.peak)
                            ))
                        } else {
                            Verdict::Met
                        };
                        let measured = format!(
                            "peak RSS **{}**; {} ({} with loading, load {:.1} s, run {:.1} s); {made}",
                            mib(r.peak),
                            krate(r.rate()),
                            krate(r.end_to_end()),
                            r.load.as_secs_f64(),
                            r.run.as_secs_f64()
                        );
                        (what, measured, verdict)
                    }
                    Err(e) => {
                        let verdict = if e.0.starts_with("stopped at") {
                            Verdict::Missed(format!(
                                "{}, the cap that keeps the shared machine safe",
                                e.0
                            ))
                        } else {
                            Verdict::Unjudged(e.0.clone())
                        };
                        (what, format!("the replay {}; {made}", e.0), verdict)
                    }
                }
            }
        };
        Row {
            what,
            measured,
            target: "peak RSS ≤ 1 GB".into(),
            verdict,
        }
    }

    pub(crate) fn durable_row(&self) -> Row {
        let target = "≥ 300 k bars/s";
        let what = "durable replay (sled store on, default config, all cores)";
        let (measured, verdict) = match &self.durable {
            Ok((r, label)) => {
                let verdict = if r.rate() < DURABLE_TARGET {
                    Verdict::Missed(format!(
                        "{}: each batch's changed pairs are written whole to sled",
                        krate(r.rate())
                    ))
                } else {
                    Verdict::Met
                };
                let measured = format!(
                    "{label}, {} bars: **{}** ({} with loading; peak RSS {})",
                    r.bars,
                    krate(r.rate()),
                    krate(r.end_to_end()),
                    mib(r.peak)
                );
                (measured, verdict)
            }
            Err(e) => (
                format!("not measured: the replay {}", e.0),
                Verdict::Unjudged(e.0.clone()),
            ),
        };
        Row {
            what: what.into(),
            measured,
            target: target.into(),
            verdict,
        }
    }
}
