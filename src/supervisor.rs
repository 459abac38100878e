//! The supervisor builds every task from the validated config and is the only place that spawns
//! long-lived tasks. Today it runs the offline replay pipeline; the live daemon (sources, store,
//! sinks, signals, sd_notify) grows here in later issues.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::mpsc;

use crate::config::Config;
use crate::engine::{Engine, Input};
use crate::model::{AlertKind, SymbolEvent};
use crate::notify::console::ConsoleSink;
use crate::notify::{Delivered, run_worker};
use crate::rules::RuleTally;
use crate::source::replay::{Dataset, LoadReport, ReplayOptions, SymbolFilter};

/// Events per channel message: large enough that the channel costs nothing per event, small
/// enough that the engine starts before the source has sent everything.
const BATCH: usize = 1024;

/// Alerts buffered between the engine and the console sink. When full the engine waits: nothing
/// is dropped, and replay speed is then the sink's speed.
const ALERT_CAPACITY: usize = 1024;

/// What a replay did, printed at its end.
#[derive(Debug)]
pub struct ReplaySummary {
    pub load: LoadReport,
    pub pairs: usize,
    pub events: u64,
    pub source_bars: u64,
    pub signal_bars: u64,
    pub heat_steps: u64,
    pub alerts: BTreeMap<AlertKind, u64>,
    pub muted: u64,
    pub rules: RuleTally,
    pub delivered: Delivered,
    pub load_time: Duration,
    pub run_time: Duration,
}

impl ReplaySummary {
    /// Source bars through the whole pipeline (engine, rules, sink) per second of run time.
    pub fn bars_per_second(&self) -> f64 {
        self.source_bars as f64 / self.run_time.as_secs_f64().max(1e-9)
    }
}

/// Replays a recorded dataset through engine and console sink as fast as possible.
/// Returns the summary and the engine, whose final state tests compare.
pub async fn replay(
    config: &Config,
    data_dir: &Path,
    alerts_out: Option<&Path>,
    print_alerts: bool,
) -> anyhow::Result<(ReplaySummary, Engine)> {
    let started = Instant::now();
    let options = ReplayOptions {
        source_interval: config.replay.source_interval,
        filter: SymbolFilter::Lists {
            include: config.symbols.include.clone(),
            exclude: config.symbols.exclude.clone(),
        },
    };
    let dataset = Dataset::load(data_dir, &options)
        .with_context(|| format!("loading recorded data from {}", data_dir.display()))?;
    let load_time = started.elapsed();
    let load = dataset.report().clone();
    tracing::info!(
        dir = %data_dir.display(),
        symbols = load.symbols.len(),
        events = dataset.events().len(),
        ms = load_time.as_millis() as u64,
        "Loaded recorded data."
    );

    let console = &config.sinks.console;
    let jsonl = alerts_out.or(console.jsonl_path.as_deref());
    let stdout = (console.enabled && print_alerts).then_some(console.format);
    let sink = ConsoleSink::new(stdout, jsonl)
        .with_context(|| {
            format!(
                "creating alert file {}",
                jsonl.map_or(String::new(), |p| p.display().to_string())
            )
        })?
        .with_routes(config.routes.clone());

    let started = Instant::now();
    let (input_tx, input_rx) = mpsc::channel(config.engine.input_capacity.div_ceil(BATCH).max(1));
    let (alert_tx, alert_rx) = mpsc::channel(ALERT_CAPACITY);
    let source = tokio::spawn(send_batches(dataset.into_events(), input_tx));
    let engine = tokio::spawn(Engine::new(config).run(input_rx, alert_tx));
    let worker = tokio::spawn(run_worker(sink, alert_rx));
    source.await.context("replay source task failed")?;
    let engine = engine.await.context("engine task failed")?;
    let delivered = worker.await.context("console sink task failed")?;
    let run_time = started.elapsed();

    let stats = engine.stats();
    let summary = ReplaySummary {
        load,
        pairs: engine.pairs().len(),
        events: stats.events,
        source_bars: stats.source_bars,
        signal_bars: stats.signal_bars,
        heat_steps: stats.heat_steps,
        alerts: stats.alerts.clone(),
        muted: stats.muted,
        rules: stats.rules,
        delivered,
        load_time,
        run_time,
    };
    Ok((summary, engine))
}

/// The replay source task: hands the recorded events to the engine in order, then hangs up.
async fn send_batches(events: Vec<SymbolEvent>, tx: mpsc::Sender<Input>) {
    let mut events = events.into_iter();
    loop {
        let batch: Vec<SymbolEvent> = events.by_ref().take(BATCH).collect();
        if batch.is_empty() || tx.send(Input::Market(batch)).await.is_err() {
            return;
        }
    }
}
