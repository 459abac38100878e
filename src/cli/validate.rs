//! `liqwave validate-model`: replays each pair, freezes the map at every 5-minute step (no
//! look-ahead), and scores the realized liquidations of the dataset (and those `liqwave run`
//! recorded in its store, with `--store`) against it and against the baselines. Owns the
//! freezing and the presentation; the statistics are `analytics::validation`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Context;

use super::DatasetArgs;
use super::heatmap::replay_pair;
use crate::analytics::PairState;
use crate::analytics::validation::{
    Band, Frame, PathBar, Realized, ValidationParams, ValidationReport, evaluate, render_table,
};
use crate::model::{HOUR_MS, Liquidation, MarketEvent, Side, Symbol, SymbolEvent};
use crate::source::replay::{Dataset, ReplayOptions, SymbolFilter};
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    dataset: DatasetArgs,
    /// Only these symbols (repeatable; default: every symbol with recorded liquidations).
    #[arg(long)]
    symbol: Vec<Symbol>,
    /// How long a frozen map is trusted for, in hours.
    #[arg(long, default_value_t = 4.0)]
    horizon_hours: f64,
    /// Bins a predicted band is widened by, for hits and area alike.
    #[arg(long, default_value_t = 1)]
    tolerance_bins: u32,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Also score the liquidations `liqwave run` recorded in this store (its `store.path`, or
    /// a copy while the daemon runs: a running daemon holds the store's lock).
    #[arg(long)]
    store: Option<PathBuf>,
}

pub(super) fn run(args: &Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.horizon_hours > 0.0 && args.horizon_hours <= 24.0 * 30.0,
        "--horizon-hours must be above 0 and at most 720, got {}",
        args.horizon_hours
    );
    let (config, dir) = args.dataset.load()?;
    let filter = if args.symbol.is_empty() {
        SymbolFilter::Lists {
            include: config.symbols.include.clone(),
            exclude: config.symbols.exclude.clone(),
        }
    } else {
        SymbolFilter::Lists {
            include: args.symbol.clone(),
            exclude: Vec::new(),
        }
    };
    let options = ReplayOptions {
        source_interval: config.replay.source_interval,
        filter,
    };
    let dataset = Dataset::load(&dir, &options)
        .with_context(|| format!("loading recorded data from {}", dir.display()))?;
    let params = ValidationParams {
        horizon_ms: (args.horizon_hours * HOUR_MS as f64) as i64,
        tolerance_bins: args.tolerance_bins,
        window_frac: config.heatmap.clusters.window_max,
        ..ValidationParams::default()
    };
    let store = match &args.store {
        Some(path) => Some(
            Store::open(path, config.store.cache_bytes).with_context(|| {
                format!("opening the recorded liquidations in {}", path.display())
            })?,
        ),
        None => None,
    };
    let mut reports = BTreeMap::new();
    for (symbol, events) in by_symbol(dataset.into_events()) {
        let mut realized = realized(&events);
        if let Some(store) = &store {
            realized.extend(recorded(store, &symbol, &events)?);
        }
        if realized.is_empty() {
            continue;
        }
        let mut frames = Vec::new();
        replay_pair(&config, &symbol, &events, None, |state, out| {
            if out.heat_steps > 0 {
                frames.push(freeze(
                    state,
                    params.window_frac,
                    config.heatmap.model.bin_bp,
                ));
            }
        })?;
        reports.insert(
            symbol,
            evaluate(&frames, &path(&events), &realized, &params),
        );
    }
    print_reports(&reports, args.json)?;
    Ok(())
}

fn by_symbol(events: Vec<SymbolEvent>) -> BTreeMap<Symbol, Vec<SymbolEvent>> {
    let mut groups: BTreeMap<Symbol, Vec<SymbolEvent>> = BTreeMap::new();
    for ev in events {
        groups.entry(ev.symbol.clone()).or_default().push(ev);
    }
    groups
}

/// Recorded prints, scored at their own price: recordings carry no mark price at print time,
/// and order prices sit a few bins past the level the model predicts (heatmap-model.md §4.1).
fn realized(events: &[SymbolEvent]) -> Vec<Realized> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            MarketEvent::Liquidation(l) => Some(Realized::from_liquidation(l, l.price)),
            _ => None,
        })
        .collect()
}

/// The prints the daemon recorded for `symbol` that the dataset does not already hold, scored
/// like the dataset's.
fn recorded(
    store: &Store,
    symbol: &Symbol,
    events: &[SymbolEvent],
) -> anyhow::Result<Vec<Realized>> {
    let known: Vec<&Liquidation> = (events.iter())
        .filter_map(|e| match &e.event {
            MarketEvent::Liquidation(l) => Some(l),
            _ => None,
        })
        .collect();
    let stored = store
        .liquidations(symbol)
        .with_context(|| format!("reading the recorded liquidations of {symbol}"))?;
    Ok((stored.iter())
        .filter(|l| !known.contains(l))
        .map(|l| Realized::from_liquidation(l, l.price))
        .collect())
}

/// What price traded: every source bar's range, stamped at its close.
fn path(events: &[SymbolEvent]) -> Vec<PathBar> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            MarketEvent::Candle { candle, .. } => Some(PathBar {
                time: e.event.known_at(),
                low: candle.low,
                high: candle.high,
            }),
            _ => None,
        })
        .collect()
}

/// The map as it stands after a step: masses within the window and the cluster bands.
fn freeze(state: &PairState, window: f64, bin_bp: f64) -> Frame {
    let map = state.heat().map();
    let price = map.last_price().unwrap_or(f64::NAN);
    let grid = map.grid();
    let (lo, mid, hi) = (
        grid.bin_of(price * (1.0 - window)),
        grid.bin_of(price),
        grid.bin_of(price * (1.0 + window)),
    );
    let bins = |side: Side, range: std::ops::RangeInclusive<i32>| -> Vec<(i32, f64)> {
        range
            .map(|k| (k, map.mass(side, k)))
            .filter(|(_, m)| *m > 0.0)
            .collect()
    };
    let clusters = state
        .heat()
        .clusters()
        .into_iter()
        .flat_map(|c| c.iter())
        .map(|c| Band {
            side: c.side,
            low: c.near_edge.min(c.far_edge),
            high: c.near_edge.max(c.far_edge),
        })
        .collect();
    Frame {
        time: map.last_time().unwrap_or_default(),
        price,
        bin_bp,
        long_bins: bins(Side::Long, lo..=mid),
        short_bins: bins(Side::Short, mid..=hi),
        clusters,
    }
}

fn print_reports(reports: &BTreeMap<Symbol, ValidationReport>, json: bool) -> io::Result<()> {
    let mut out = io::stdout().lock();
    if json {
        let value = serde_json::to_value(reports).map_err(io::Error::other)?;
        return writeln!(out, "{value}");
    }
    if reports.is_empty() {
        return writeln!(out, "no symbol has both klines and recorded liquidations");
    }
    for (symbol, report) in reports {
        writeln!(out, "== {symbol}")?;
        writeln!(out, "{}", render_table(report))?;
    }
    Ok(())
}
