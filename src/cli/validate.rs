//! `liqwave validate-model`: replays each pair, freezes the map at every 5-minute step (no
//! look-ahead), and scores the realized liquidations of the dataset (and those `liqwave run`
//! recorded in its store, with `--store`) against it and against the baselines. Prints the store
//! recorded on other venues (`BYBIT:BTCUSDT`) are scored against the same market's map, per venue
//! and pooled. Owns the
//! freezing and the presentation; the statistics are `analytics::validation`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::DatasetArgs;
use super::heatmap::replay_pair;
use crate::analytics::PairState;
use crate::analytics::validation::{
    Band, BandSource, BootstrapUnit, Frame, Part, PathBar, Realized, ValidationParams,
    ValidationReport, evaluate_pooled, render_pooled, render_table,
};
use crate::model::{
    DAY_MS, HOUR_MS, Liquidation, MarketEvent, Side, Symbol, SymbolEvent, TimeMs, Venue,
};
use crate::source::replay::{Dataset, ReplayOptions, SymbolFilter, read_liquidations};
use crate::store::{Store, StoreError};

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
    /// Freeze the map only every this many hours (UTC-aligned) instead of at every 5-minute
    /// step: each print is then judged against a map up to that old, over the range price
    /// reached in that time (the h-ahead test of heatmap-model.md §4.2). Keep it at most
    /// `--horizon-hours`.
    #[arg(long)]
    every_hours: Option<f64>,
    /// Bins a predicted band is widened by, for hits and area alike.
    #[arg(long, default_value_t = 1)]
    tolerance_bins: u32,
    /// What the model column scores: the clusters alerts act on, or the map itself (its top
    /// bins by estimated mass, `--top-share` of each side's window).
    #[arg(long, value_enum, default_value_t = Bands::Clusters)]
    bands: Bands,
    /// With `--bands top-mass`: the share of each side's window bins marked, in percent.
    #[arg(long, default_value_t = 10.0)]
    top_percent: f64,
    /// What a bootstrap resample draws: every 5-minute step's prints together (across symbols),
    /// every print alone, or every UTC day's prints together.
    #[arg(long, value_enum, default_value_t = Resample::Step)]
    resample: Resample,
    /// Also print every symbol's full table after the pooled one.
    #[arg(long)]
    per_symbol: bool,
    /// Print JSON instead of tables: `pooled` and one entry per symbol.
    #[arg(long)]
    json: bool,
    /// Also score the prints in this file or directory (forceOrder CSV or JSONL, as in a
    /// dataset's `liquidations/`); repeatable. Prints the dataset already holds count once.
    #[arg(long)]
    prints: Vec<PathBuf>,
    /// Score only prints at or after this time (epoch ms or RFC 3339 UTC); maps are still built
    /// from all the data before them.
    #[arg(long, value_parser = super::parse_time)]
    from: Option<TimeMs>,
    /// Score only prints before this time.
    #[arg(long, value_parser = super::parse_time)]
    to: Option<TimeMs>,
    /// Also score the liquidations `liqwave run` recorded in this store (its `store.path`, or
    /// a copy while the daemon runs: a running daemon holds the store's lock).
    #[arg(long)]
    store: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Bands {
    Clusters,
    TopMass,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Resample {
    Step,
    Print,
    Day,
}

pub(super) fn run(args: &Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.horizon_hours > 0.0 && args.horizon_hours <= 24.0 * 30.0,
        "--horizon-hours must be above 0 and at most 720, got {}",
        args.horizon_hours
    );
    let every_ms = match args.every_hours {
        Some(h) => {
            anyhow::ensure!(
                h > 0.0 && h <= args.horizon_hours,
                "--every-hours must be above 0 and at most --horizon-hours ({}), got {h}",
                args.horizon_hours
            );
            (h * HOUR_MS as f64) as TimeMs
        }
        None => 0,
    };
    anyhow::ensure!(
        args.top_percent > 0.0 && args.top_percent <= 100.0,
        "--top-percent must be above 0 and at most 100, got {}",
        args.top_percent
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
        limits: crate::supervisor::row_limits(&config),
    };
    let dataset = Dataset::load(&dir, &options)
        .with_context(|| format!("loading recorded data from {}", dir.display()))?;
    let params = ValidationParams {
        horizon_ms: (args.horizon_hours * HOUR_MS as f64) as i64,
        tolerance_bins: args.tolerance_bins,
        bands: match args.bands {
            Bands::Clusters => BandSource::Clusters,
            Bands::TopMass => BandSource::TopMass {
                share: args.top_percent / 100.0,
            },
        },
        bootstrap_unit: match args.resample {
            Resample::Step => BootstrapUnit::Step,
            Resample::Print => BootstrapUnit::Print,
            Resample::Day => BootstrapUnit::Block(DAY_MS),
        },
        window_frac: config.heatmap.clusters.window_max,
        // The ladder is the model without memory: the same tiers around the current price, so
        // a win over it is the history's, not the tiers'.
        ladder: (config.heatmap.model.tiers.iter())
            .map(|t| (t.leverage, t.weight))
            .collect(),
        ..ValidationParams::default()
    };
    let store = match &args.store {
        Some(path) => Some(open_recorded(path, config.store.cache_bytes)?),
        None => None,
    };
    let mut extra: BTreeMap<Symbol, Vec<Liquidation>> = BTreeMap::new();
    for path in &args.prints {
        let (events, files) =
            read_liquidations(path, &dataset.report().symbols, &options.limits)
                .with_context(|| format!("reading the prints in {}", path.display()))?;
        for f in &files {
            tracing::info!(file = %f.path.display(), prints = f.events, duplicates = f.duplicates, malformed = f.malformed, "Read extra prints.");
        }
        for e in events {
            if let MarketEvent::Liquidation(l) = e.event {
                extra.entry(e.symbol).or_default().push(l);
            }
        }
    }
    let (from, to) = (
        args.from.unwrap_or(TimeMs::MIN),
        args.to.unwrap_or(TimeMs::MAX),
    );
    let mut inputs = Vec::new();
    for (symbol, events) in by_symbol(dataset.into_events()) {
        let mut realized = realized(&events);
        let known = known(&events);
        let more = extra.get(&symbol).map_or(&[][..], Vec::as_slice);
        realized.extend(unknown(more, &known));
        // Each venue's prints of this market, against the same map.
        let mut venues = vec![(symbol.clone(), realized)];
        if let Some(store) = &store {
            let others =
                (Venue::ALL.iter().skip(1)).filter_map(|v| Symbol::on(*v, symbol.name()).ok());
            for (i, on) in std::iter::once(symbol.clone()).chain(others).enumerate() {
                let stored = store
                    .liquidations(&on)
                    .with_context(|| format!("reading the recorded liquidations of {on}"))?;
                match i {
                    0 => venues[0].1.extend(unknown(&stored, &known)),
                    _ => venues.push((on, unknown(&stored, &[]))),
                }
            }
        }
        for (_, realized) in &mut venues {
            realized.retain(|r| (from..to).contains(&r.time));
        }
        venues.retain(|(_, realized)| !realized.is_empty());
        if venues.is_empty() {
            continue;
        }
        let mut times: Vec<TimeMs> = venues
            .iter()
            .flat_map(|(_, r)| r.iter().map(|r| r.time))
            .collect();
        times.sort_unstable();
        let mut frames = Vec::new();
        replay_pair(&config, &symbol, &events, None, |state, out| {
            let step = state.heat().map().last_time().unwrap_or_default();
            if out.heat_steps > 0 && (every_ms == 0 || step % every_ms == 0) {
                frames.push(freeze(state, &times, &params, config.heatmap.model.bin_bp));
            }
        })?;
        inputs.push((frames, path(&events), venues));
    }
    // One part per venue of each market: the venue's prints against its market's map.
    let parts: Vec<(&Symbol, Part<'_>)> = (inputs.iter())
        .flat_map(|(frames, path, venues)| {
            venues.iter().map(move |(on, realized)| {
                (
                    on,
                    Part {
                        frames,
                        path,
                        realized,
                    },
                )
            })
        })
        .collect();
    let all: Vec<Part<'_>> = parts.iter().map(|(_, part)| *part).collect();
    let pooled = evaluate_pooled(&all, &params);
    let mut reports: BTreeMap<String, ValidationReport> = (parts.iter())
        .map(|(on, part)| (on.to_string(), evaluate_pooled(&[*part], &params)))
        .collect();
    let venues: BTreeSet<Venue> = parts.iter().map(|(on, _)| on.venue()).collect();
    if venues.len() > 1 {
        for venue in venues {
            let own: Vec<Part<'_>> = (parts.iter())
                .filter(|(on, _)| on.venue() == venue)
                .map(|(_, part)| *part)
                .collect();
            reports.insert(format!("pooled {venue}"), evaluate_pooled(&own, &params));
        }
    }
    print_reports(&pooled, &reports, args)?;
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

/// The prints of the dataset, so that prints from elsewhere count once.
fn known(events: &[SymbolEvent]) -> Vec<&Liquidation> {
    (events.iter())
        .filter_map(|e| match &e.event {
            MarketEvent::Liquidation(l) => Some(l),
            _ => None,
        })
        .collect()
}

/// The store of `--store`, never created. Its errors carry no `--reset-state` advice: this
/// command has no such flag, and a path given here may be a typo rather than a damaged store.
fn open_recorded(path: &Path, cache_bytes: u64) -> anyhow::Result<Store> {
    let context = || format!("opening the recorded liquidations in {}", path.display());
    Store::open_existing(path, cache_bytes)
        .map_err(|e| match e {
            StoreError::NewerSchema { .. } => anyhow::anyhow!("{}; upgrade", e.problem()),
            StoreError::Corrupt { .. } | StoreError::Decode { .. } => anyhow::anyhow!(
                "{}; --store takes the directory of a liqwave store (its store.path)",
                e.problem()
            ),
            e => e.into(),
        })
        .with_context(context)
}

/// Prints from elsewhere (`--prints`, the store) that `known` does not already hold, scored like
/// the dataset's.
fn unknown(prints: &[Liquidation], known: &[&Liquidation]) -> Vec<Realized> {
    (prints.iter())
        .filter(|l| !known.contains(l))
        .map(|l| Realized::from_liquidation(l, l.price))
        .collect()
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

/// The map as it stands after a step, with the bands `params.bands` names. Its masses within
/// the window are kept only when a print falls within the horizon after it (`prints`: sorted
/// times): every other frame serves only as a donor or a window edge, and 10⁶ frames of masses
/// would not fit in memory.
fn freeze(state: &PairState, prints: &[TimeMs], params: &ValidationParams, bin_bp: f64) -> Frame {
    let window = params.window_frac;
    let map = state.heat().map();
    let time = map.last_time().unwrap_or_default();
    let next = prints.partition_point(|&t| t < time);
    let near = prints
        .get(next)
        .is_some_and(|&t| t <= time.saturating_add(params.horizon_ms));
    let price = map.last_price().unwrap_or(f64::NAN);
    let grid = map.grid();
    let (lo, mid, hi) = (
        grid.bin_of(price * (1.0 - window)),
        grid.bin_of(price),
        grid.bin_of(price * (1.0 + window)),
    );
    let keep_masses = near || matches!(params.bands, BandSource::TopMass { .. });
    let bins = |side: Side, range: std::ops::RangeInclusive<i32>| -> Vec<(i32, f64)> {
        if !keep_masses {
            return Vec::new();
        }
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
    let mut frame = Frame {
        time,
        price,
        bin_bp,
        long_bins: bins(Side::Long, lo..=mid),
        short_bins: bins(Side::Short, mid..=hi),
        clusters,
    };
    if let BandSource::TopMass { share } = params.bands {
        frame.clusters = frame.top_mass_bands(share, window);
        if !near {
            (frame.long_bins, frame.short_bins) = (Vec::new(), Vec::new());
        }
    }
    frame
}

fn print_reports(
    pooled: &ValidationReport,
    reports: &BTreeMap<String, ValidationReport>,
    args: &Args,
) -> io::Result<()> {
    let mut out = io::stdout().lock();
    if args.json {
        let mut value = serde_json::Map::new();
        value.insert("pooled".to_owned(), json(pooled)?);
        for (symbol, report) in reports {
            value.insert(symbol.clone(), json(report)?);
        }
        return writeln!(out, "{}", serde_json::Value::Object(value));
    }
    if reports.is_empty() {
        return writeln!(out, "no symbol has both klines and recorded liquidations");
    }
    let symbols: Vec<(&str, &ValidationReport)> =
        reports.iter().map(|(s, r)| (s.as_str(), r)).collect();
    write!(out, "{}", render_pooled(pooled, &symbols))?;
    if args.per_symbol {
        for (symbol, report) in reports {
            writeln!(out, "\n== {symbol}")?;
            write!(out, "{}", render_table(report))?;
        }
    }
    Ok(())
}

fn json(report: &ValidationReport) -> io::Result<serde_json::Value> {
    serde_json::to_value(report).map_err(io::Error::other)
}
