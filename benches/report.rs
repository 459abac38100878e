//! The performance report: measures every row of DESIGN.md §10 on this machine and prints a
//! markdown table — measured, target, verdict — to stdout and to `target/perf-report.md`.
//! Run: `cargo bench --bench report` (several minutes on two cores). Rows: `report/replay.rs`
//! (throughput, cost per step), `report/scale.rs` (the shared history at 1 and N threads, the
//! synthetic year of `report/synthetic.rs`, the durable replay), `report/live.rs` (ingest at 10×
//! rate), `report/memory.rs` (per pair, RSS), `report/burst.rs` (snapshot size, close-burst
//! commit), `report/warmup.rs` (cold start, warm restart); `report/sys.rs` reads /proc.
//! `LIQWAVE_REPORT_ONLY=scale,warm,…` measures some groups only ([`Only`]);
//! `LIQWAVE_REPORT_SYNTHETIC_PAIRS` / `_DAYS` shrink the synthetic replay (0 pairs: skip it).

#[path = "report/burst.rs"]
mod burst;
#[path = "report/child.rs"]
mod child;
#[path = "../tests/it/support/coherent.rs"]
mod coherent;
#[allow(dead_code, unused_imports)]
#[path = "../tests/it/support/fake_binance_rest.rs"]
mod fake_binance_rest;
#[allow(dead_code)]
#[path = "../tests/it/support/fake_binance_ws.rs"]
mod fake_binance_ws;
#[path = "report/live.rs"]
mod live;
#[path = "report/memory.rs"]
mod memory;
#[path = "report/replay.rs"]
mod replay;
#[path = "report/scale.rs"]
mod scale;
#[path = "report/synthetic.rs"]
mod synthetic;
#[path = "report/sys.rs"]
mod sys;
#[path = "report/warmup.rs"]
mod warmup;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One line of the table.
pub(crate) struct Row {
    pub(crate) what: String,
    pub(crate) measured: String,
    pub(crate) target: String,
    pub(crate) verdict: Verdict,
}

pub(crate) enum Verdict {
    Met,
    /// Missed, and why.
    Missed(String),
    /// Could not be judged as specified, and why.
    Unjudged(String),
}

impl Verdict {
    fn text(&self) -> String {
        match self {
            Verdict::Met => "met".into(),
            Verdict::Missed(why) => format!("**missed**: {why}"),
            Verdict::Unjudged(why) => format!("not judged: {why}"),
        }
    }
}

/// A current-thread runtime: everything it runs shares one core.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Which groups of rows a run measures: every one, or those `LIQWAVE_REPORT_ONLY` names
/// (comma-separated: `demo` replay and step cost, `scale` replay at scale and durable, `warm`
/// cold start, memory, restart, snapshot size and close burst, `live` the live rows, which need
/// `warm`'s pairs and so run it too).
struct Only(Option<Vec<String>>);

impl Only {
    const ENV: &str = "LIQWAVE_REPORT_ONLY";

    fn from_env() -> Only {
        Only(std::env::var(Only::ENV).ok().map(|v| {
            v.split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect()
        }))
    }

    fn has(&self, group: &str) -> bool {
        self.0
            .as_ref()
            .is_none_or(|groups| groups.iter().any(|g| g == group))
    }
}

fn main() {
    // The child processes of the memory row (memory::run_child): restore, report, exit.
    if let Some(what) = std::env::var_os(memory::CHILD_ENV) {
        memory::child(&default_config(), &what.to_string_lossy());
        return;
    }
    // The child processes of the scale rows (child::run_child): replay, report, exit.
    if let Some(dir) = std::env::var_os(child::CHILD_ENV) {
        child::child(&default_config(), &dir.to_string_lossy());
        return;
    }
    let started = Instant::now();
    let only = Only::from_env();
    let header = machine();
    println!("{header}\nMeasuring; this takes a few minutes.");
    let config = default_config();
    let dir = tempfile::tempdir().expect("temporary directory");

    let scale = only.has("scale").then(|| {
        println!("- replay at scale, each in a child process…");
        scale::measure(dir.path())
    });
    let replay = only.has("demo").then(|| {
        println!("- replay of the recordings…");
        replay::measure()
    });
    let (live_on, warm_on) = (only.has("live"), only.has("warm") || only.has("live"));
    let mut warm_rows = None;
    let mut live_row = None;
    let mut step_row = None;
    if warm_on {
        println!(
            "- cold start of {} pairs against the fake REST exchange…",
            warmup::PAIRS
        );
        let cold = warmup::cold_start(&config, dir.path());
        let cold_row = cold.row();
        println!("- memory of {} warmed pairs…", cold.engine.pairs().len());
        let memory = memory::measure(&cold.engine, &cold.store, dir.path());
        println!("- warm restart after an hour down…");
        let (restart, engine, mut persister) = warmup::warm_restart(&config, cold);
        println!("- the store at a 5m close of every pair…");
        let (snapshots, fills) = restart.closes();
        let burst = burst::measure(&config, snapshots, fills, dir.path());
        step_row = replay
            .as_ref()
            .map(|replay| replay.step_row(restart.step_cost()));
        warm_rows = Some((memory, burst, cold_row, restart.row()));
        if live_on {
            let pairs = engine.pairs().len();
            let restored = |engine: &liqwave::engine::Engine| {
                liqwave::engine::Engine::restore(&config, engine.snapshot())
            };
            let (bare_engine, real_engine) = (restored(&engine), restored(&engine));
            println!("- live ingest at 10× rate, as the daemon runs it (about 40 s)…");
            let daemon = live::measure(engine, Some(&mut persister), live::SPEEDUP);
            println!("- live ingest at 10× rate, without the store (about 40 s)…");
            let bare = live::measure(bare_engine, None, live::SPEEDUP);
            println!("- live ingest at the real rate, as the daemon runs it (about 40 s)…");
            let real = live::measure(real_engine, Some(&mut persister), 1);
            live_row = Some(live::row(
                pairs,
                daemon.as_ref(),
                bare.as_ref(),
                real.as_ref(),
            ));
        }
    }

    let mut rows = Vec::new();
    if let Some(replay) = &replay {
        rows.push(replay.throughput_row());
    }
    if let Some(scale) = &scale {
        rows.extend([
            scale.history_rate_row(),
            scale.history_rss_row(),
            scale.synthetic_row(),
            scale.durable_row(),
        ]);
    }
    rows.extend(step_row);
    rows.extend(live_row);
    if let Some((memory, burst, cold_row, restart_row)) = warm_rows {
        rows.extend([
            memory.pair_row(),
            burst.snapshot_row(),
            burst.burst_row(),
            memory.rss_row(),
            cold_row,
            restart_row,
        ]);
    }
    let report = render(&header, &rows, started.elapsed().as_secs_f64());
    println!("\n{report}");
    let path = target_dir().join("perf-report.md");
    match std::fs::write(&path, &report) {
        Ok(()) => println!("Written to {}.", path.display()),
        Err(e) => println!("Could not write {}: {e}", path.display()),
    }
}

/// The daemon's default configuration (nothing set), as the live rows run it.
fn default_config() -> liqwave::config::Config {
    liqwave::config::from_toml_str("", Path::new(env!("CARGO_MANIFEST_DIR")))
        .expect("default config")
}

/// What the table does not say about its method.
const NOTES: &[&str] = &[
    "Replay and step cost: `supervisor::replay` with config/demo.toml on a current-thread runtime \
     (engine, rules, console sink; loading excluded), five runs each; the step cost is the engine \
     alone over the 5m recording, all its time divided by the 5m bars.",
    "Replay at scale (the shared history, the synthetic year, the durable replay): \
     `supervisor::replay` as `liqwave replay --threads N` runs it (default config, alerts counted, \
     not printed, a current-thread runtime), each run in a child process of the bench binary. \
     Bars/s are source bars ÷ run time as `ReplaySummary::bars_per_second` reports them (loading \
     excluded; \"with loading\" includes it), the median of 3 runs per thread count, interleaved; \
     peak RSS is the child's VmHWM. A child is stopped past 3 GB resident (or half the memory \
     available) so that it cannot exhaust the machine. The synthetic dataset (a seeded random walk \
     per pair on its own tick grid, funding every 8 h, gzip level 1) is generated into a \
     temporary directory and removed afterwards; `LIQWAVE_REPORT_SYNTHETIC_PAIRS` and \
     `LIQWAVE_REPORT_SYNTHETIC_DAYS` shrink it (0 pairs skips it). The durable replay writes to \
     a fresh sled store in a temporary directory.",
    "Cold start, memory, restart and live use the daemon's default config and 600 synthetic pairs \
     of the fake REST exchange (tests/it/support/fake_binance_rest.rs), warmed by `warm_all` into an \
     engine that persists each input's changed pairs to sled as the engine task does. The weight \
     window is 1 s on both sides, so the real-speed figure is the measured time × 60; request \
     round trips on a real link hide mostly behind the budget's waits.",
    "Warm restart: the cold start held back each pair's last hour, so the restart opens that \
     store, restores 600 pairs and back-fills 12 bars each, 4 requests in flight as `run_live`'s \
     back-fill does; `run_live`'s resume path asks for the same holes as soon as discovery has \
     answered (tests/it/live.rs checks it does so before any live event of the pair).",
    "Live: the stream fake plays the REST fake's market (prices and bars continue the warmed \
     pairs) on a clock 10× fast, on its own thread; the client is `run_streams` feeding the \
     engine on this thread (not `run_live`: its warm-up and OI polls are the rows above). \
     Latency counts what can raise an alert, closed bars and mark arrays, from the fake writing \
     the frame to the engine (and its store commit) being done with it; open-bar updates are \
     parsed and dropped before the engine. CPU is this process minus the fake's thread. The \
     verdict is on the two runs as the daemon runs it (at 10× and at the real rate); the run \
     without the store shows the store's part.",
    "Snapshot size and close burst: a fresh sled store receives the 600 warmed pairs of the \
     restart in one commit and is flushed; the size of each stored value (`Store::pair_bytes`) \
     is what the store keeps per pair, whatever its encoding, and the store's files show sled's \
     overhead on disk. Then each pair's next back-filled 5m bar goes through an engine \
     restored from those pairs, pair after pair as at a live close, and the changed pairs are \
     taken and committed as the engine task does after that input; median of 12 closes.",
    "The machine is shared: other builds ran alongside (see the load averages), which stretches \
     tails and medians; the best runs show the code's own speed.",
];

fn render(header: &str, rows: &[Row], seconds: f64) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out = format!("{header}\n\n| row | measured | target | verdict |\n|---|---|---|---|\n");
    for r in rows {
        let _infallible = writeln!(
            out,
            "| {} | {} | {} | {} |",
            cell(&r.what),
            cell(&r.measured),
            cell(&r.target),
            cell(&r.verdict.text())
        );
    }
    out.push_str("\nHow the rows are measured:\n\n");
    for note in NOTES {
        let _infallible = writeln!(out, "- {note}");
    }
    let _infallible = writeln!(
        out,
        "\nReproduce: `cargo bench --bench report` ({seconds:.0} s for this run). RSI against \
         TA-Lib and the fault rows of §10 are covered by tests and `cargo bench --bench pipeline`."
    );
    out
}

/// What the figures were measured on.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let profile = if cfg!(debug_assertions) {
        "debug build"
    } else {
        "optimised build"
    };
    format!(
        "## liqwave performance report (DESIGN.md §10)\n\n{model}, {cores} cores, load average \
         {} at the start, {profile}.",
        load.join(" "),
    )
}

/// Cargo's target directory: `CARGO_TARGET_DIR` or the package's `target/`.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}
