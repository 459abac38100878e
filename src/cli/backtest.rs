//! `liqwave backtest`: loads the config and the dataset, runs `backtest::run` over it, and prints
//! or writes the report (Markdown, JSON, charts). Owns the arguments and the files; every number
//! comes from the backtest module.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Context;

use super::DatasetArgs;
use crate::backtest::{self, Horizons, Options, Period, render_markdown};
use crate::model::{DAY_MS, TimeMs};
use crate::supervisor::load_dataset;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    dataset: DatasetArgs,
    /// Score alerts raised at or after this time (epoch ms, RFC 3339 UTC or YYYY-MM-DD); the
    /// replay still starts at the first bar, so the state is the same as in one long run.
    #[arg(long, value_parser = super::parse_time)]
    from: Option<TimeMs>,
    /// Score alerts raised before this time; bars after it still decide their outcomes.
    #[arg(long, value_parser = super::parse_time)]
    to: Option<TimeMs>,
    /// Report two periods, in-sample before this time and out-of-sample from it, side by side.
    #[arg(long, value_parser = super::parse_time)]
    split: Option<TimeMs>,
    /// How long a setup's trade is followed before it times out, in days.
    #[arg(long, default_value_t = 14)]
    horizon_days: u32,
    /// Seeds the random baselines and the bootstrap; the same seed gives the same report.
    #[arg(long, default_value_t = 0x5EED)]
    seed: u64,
    /// Print the report as JSON (`alerts` with every outcome, then the summaries).
    #[arg(long)]
    json: bool,
    /// Write report.md, report.json, track-record.json (for `[signal] report`) and the charts into
    /// this directory (created when missing).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub(super) fn run(args: &Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=365).contains(&args.horizon_days),
        "--horizon-days must be between 1 and 365, got {}",
        args.horizon_days
    );
    let (config, dir) = args.dataset.load()?;
    let dataset = load_dataset(&config, &dir)?;
    let events = dataset.events();
    let first = events.first().map_or(0, |e| e.event.known_at());
    let last = events.last().map_or(0, |e| e.event.known_at()) + 1;
    let from = args.from.unwrap_or(first);
    let to = args.to.unwrap_or(last);
    anyhow::ensure!(from < to, "--from must be before --to");
    let periods = match args.split {
        Some(split) => {
            anyhow::ensure!(
                from < split && split < to,
                "--split must fall between the first and the last alert time scored"
            );
            vec![
                period("in-sample", from, split),
                period("out-of-sample", split, to),
            ]
        }
        None => vec![period("all", from, to)],
    };
    let options = Options {
        periods,
        horizons: Horizons {
            trade_ms: i64::from(args.horizon_days) * DAY_MS,
            ..Horizons::default()
        },
        seed: args.seed,
        ..Options::default()
    };
    let started = std::time::Instant::now();
    let report = backtest::run(&config, events, &options);
    tracing::info!(
        alerts = report.alerts.len(),
        ms = started.elapsed().as_millis() as u64,
        "Backtest done."
    );
    let json = serde_json::to_string(&report).context("encoding the report")?;
    let markdown = render_markdown(&report);
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out)
            .with_context(|| format!("creating the report directory {}", out.display()))?;
        let write = |name: &str, bytes: &[u8]| {
            let path = out.join(name);
            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
        };
        write("report.json", json.as_bytes())?;
        write("report.md", markdown.as_bytes())?;
        // The small file `[signal] report` can point at instead of the whole report.
        let track = serde_json::json!({ "track_record": &report.track_record });
        write("track-record.json", format!("{track:#}\n").as_bytes())?;
        for (name, png) in backtest::charts(&report).context("drawing the charts")? {
            write(&name, &png)?;
        }
    }
    let mut stdout = io::stdout().lock();
    if args.json {
        writeln!(stdout, "{json}")?;
    } else if args.out.is_none() {
        write!(stdout, "{markdown}")?;
    } else {
        writeln!(
            stdout,
            "{} alerts scored; report written to {}",
            report.alerts.len(),
            args.out
                .as_ref()
                .map_or(String::new(), |p| p.display().to_string())
        )?;
    }
    Ok(())
}

fn period(name: &str, from: TimeMs, to: TimeMs) -> Period {
    Period {
        name: name.to_owned(),
        from,
        to,
    }
}
