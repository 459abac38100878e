//! `liqwave heatmap`: replays one pair up to a time and prints its estimated liquidation clusters
//! as a table or JSON, optionally with the chart. Owns the presentation; the model is the
//! analytics', and the replay of one pair is shared with `validate-model`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::json;

use super::DatasetArgs;
use crate::analytics::brackets::margin_for;
use crate::analytics::clusters::Cluster;
use crate::analytics::heatmap::Kernel;
use crate::analytics::{PairContext, PairOutput, PairState};
use crate::config::Config;
use crate::model::{ClusterFacts, Side, Symbol, SymbolEvent, TimeMs, format_utc};
use crate::numbers::usd;
use crate::source::replay::{Dataset, ReplayOptions, SymbolFilter};
use crate::view::chart_series;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    dataset: DatasetArgs,
    /// The pair, e.g. BTCUSDT.
    #[arg(long)]
    symbol: Symbol,
    /// Replay up to this time: epoch ms or RFC 3339 UTC (default: the end of the data).
    #[arg(long, value_parser = super::parse_time)]
    at: Option<TimeMs>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Also render the chart (the alerts' chart: candles over the map's past, the current map as
    /// a profile, clusters, RSI panel) to this PNG.
    #[arg(long)]
    png: Option<PathBuf>,
}

pub(super) fn run(args: &Args) -> anyhow::Result<()> {
    let (config, dir) = args.dataset.load()?;
    let events = load_pair(&config, &dir, &args.symbol)?;
    let state = replay_pair(&config, &args.symbol, &events, args.at, |_, _| {})?;
    let mut stdout = io::stdout().lock();
    if args.json {
        writeln!(stdout, "{}", report_json(&state))?;
    } else {
        write_table(&mut stdout, &state)?;
    }
    if let Some(path) = &args.png {
        // The same chart as alerts, `/pair` and the summary draw.
        let chart = chart_series(&state, &config.rules, &config.signals)
            .context("no complete 4h bar to chart")?;
        let png = chart.render().context("rendering the chart")?;
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))?;
        writeln!(stdout, "chart written to {}", path.display())?;
    }
    Ok(())
}

/// Every recorded event of one symbol, in replay order.
fn load_pair(config: &Config, dir: &Path, symbol: &Symbol) -> anyhow::Result<Vec<SymbolEvent>> {
    let options = ReplayOptions {
        source_interval: config.replay.source_interval,
        filter: SymbolFilter::Lists {
            include: vec![symbol.clone()],
            exclude: Vec::new(),
        },
        limits: crate::supervisor::row_limits(config),
    };
    let dataset = Dataset::load(dir, &options)
        .with_context(|| format!("loading recorded data from {}", dir.display()))?;
    anyhow::ensure!(
        dataset.report().symbols.contains(symbol),
        "{} has no {} klines for {symbol}",
        dir.display(),
        config.replay.source_interval
    );
    Ok(dataset.into_events())
}

/// Runs one pair's events known at or before `until` through a fresh `PairState`, calling
/// `observe` after each event; returns the final state.
pub(super) fn replay_pair(
    config: &Config,
    symbol: &Symbol,
    events: &[SymbolEvent],
    until: Option<TimeMs>,
    mut observe: impl FnMut(&PairState, &PairOutput),
) -> anyhow::Result<PairState> {
    let kernel = Kernel::new(&config.heatmap.model, margin_for(symbol));
    let ctx = PairContext {
        signals: &config.signals,
        clusters: &config.heatmap.clusters,
        kernel: &kernel,
    };
    let mut state = PairState::new(symbol.clone(), &ctx);
    let mut out = PairOutput::default();
    let until = until.unwrap_or(TimeMs::MAX);
    for ev in events.iter().take_while(|e| e.event.known_at() <= until) {
        out.clear();
        state.on_event(&ev.event, &ctx, &mut out);
        observe(&state, &out);
    }
    anyhow::ensure!(
        state.heat().steps() > 0,
        "no 5-minute bar of {symbol} at or before that time"
    );
    Ok(state)
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Long => "long",
        Side::Short => "short",
    }
}

/// The JSON report of the clusters after the last step.
pub(super) fn report_json(state: &PairState) -> serde_json::Value {
    let heat = state.heat();
    let map = heat.map();
    let clusters: Vec<ClusterFacts> = heat
        .clusters()
        .into_iter()
        .flat_map(|c| c.iter())
        .map(Cluster::facts)
        .collect();
    json!({
        "symbol": state.symbol(),
        "time_ms": map.last_time(),
        "price": map.last_price(),
        "mode": map.mode().as_str(),
        "coverage": map.coverage(),
        "estimate": true,
        "clusters": clusters,
    })
}

fn write_table(out: &mut impl Write, state: &PairState) -> io::Result<()> {
    let heat = state.heat();
    let map = heat.map();
    let coverage = map
        .coverage()
        .map_or("n/a".to_owned(), |c| format!("{:.0} %", c * 100.0));
    writeln!(
        out,
        "{} at {} UTC, price {}, mode {}, coverage {coverage} (an estimate, not an order book)",
        state.symbol(),
        map.last_time().map_or("-".to_owned(), format_utc),
        map.last_price().unwrap_or(f64::NAN),
        map.mode().as_str(),
    )?;
    writeln!(
        out,
        "{:<6} {:<12} {:>12} {:>12} {:>12} {:>10} {:>7} {:>6} {:>6} {:>5} {:>5} {:>5} {:>6}",
        "side",
        "id",
        "near edge",
        "far edge",
        "peak",
        "notional",
        "density",
        "share",
        "gap%",
        "thin",
        "isol",
        "fuel",
        "age h"
    )?;
    let clusters = heat.clusters().into_iter().flat_map(|c| c.iter());
    for c in clusters {
        writeln!(
            out,
            "{:<6} {:<12} {:>12.4} {:>12.4} {:>12.4} {:>10} {:>7.1} {:>5.1}% {:>6.2} {:>5.2} {:>5.1} {:>5.2} {:>6.1}",
            side_name(c.side),
            c.id.to_string(),
            c.near_edge,
            c.far_edge,
            c.peak_price,
            usd(c.notional_usd),
            c.density,
            c.share * 100.0,
            c.gap_pct,
            c.thin_approach,
            c.isolation,
            c.fuel_behind,
            c.age_hours(),
        )?;
    }
    Ok(())
}
