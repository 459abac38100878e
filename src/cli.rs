//! The command line: argument types and one function per subcommand. Owns what is printed for a
//! human (tables, CSV, summaries); the work itself lives in the library modules it calls.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::analytics::SignalParams;
use crate::analytics::candles::Aggregator;
use crate::analytics::timeframe::{BarSignals, Cross50, TimeframeState};
use crate::config::{self, Config, ConfigError};
use crate::model::{Candle, Interval};
use crate::source::replay;
use crate::supervisor::{self, ReplaySummary};
use crate::telemetry;

/// Exit code for an invalid configuration (sysexits EX_CONFIG); systemd's ExecStartPre relies on it.
pub const EXIT_CONFIG: u8 = 78;

#[derive(Debug, Parser)]
#[command(
    name = "liqwave",
    version,
    about = "Liquidation-heatmap and RSI-regime alerts for Binance USDⓈ-M perpetuals"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole pipeline over recorded data, as fast as possible, and print a summary.
    Replay {
        #[arg(long)]
        config: PathBuf,
        /// Dataset directory (default: `replay.data_dir` of the config).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Write every alert as one JSON line to this file.
        #[arg(long)]
        alerts_out: Option<PathBuf>,
        /// Print only the summary, not each alert.
        #[arg(long)]
        quiet: bool,
    },
    /// Validate a config file: exit 0 when valid, 78 with every problem on stderr when not.
    CheckConfig {
        #[arg(long)]
        config: PathBuf,
    },
    /// Print RSI, regime and signals of one kline file as CSV, one row per complete bar.
    Rsi {
        /// A kline CSV (`open_time_ms,open,high,low,close,volume,…`, optionally gzipped).
        #[arg(long)]
        klines: PathBuf,
        /// Interval to aggregate to (4h, 1d, 1w, or the file's own).
        #[arg(long)]
        interval: Interval,
        #[arg(long, default_value_t = 14)]
        period: usize,
        /// Take regime, pivot and entry settings from this config.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// Runs one subcommand; errors carry their exit code via [`exit_code`].
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Replay {
            config,
            data,
            alerts_out,
            quiet,
        } => replay_cmd(&config, data, alerts_out.as_deref(), quiet),
        Command::CheckConfig { config } => check_config(&config),
        Command::Rsi {
            klines,
            interval,
            period,
            config,
        } => rsi_cmd(&klines, interval, period, config.as_deref()),
    }
}

/// The process exit code for an error: 78 for configuration problems, 1 for everything else.
pub fn exit_code(error: &anyhow::Error) -> ExitCode {
    if error.downcast_ref::<ConfigError>().is_some() {
        ExitCode::from(EXIT_CONFIG)
    } else {
        ExitCode::FAILURE
    }
}

fn load_config(path: &Path) -> anyhow::Result<Config> {
    Ok(config::load(path)?)
}

fn check_config(path: &Path) -> anyhow::Result<()> {
    telemetry::init("warn", config::LogFormat::Auto);
    load_config(path)?;
    println!("{}: valid", path.display());
    Ok(())
}

fn replay_cmd(
    config_path: &Path,
    data: Option<PathBuf>,
    alerts_out: Option<&Path>,
    quiet: bool,
) -> anyhow::Result<()> {
    let config = load_config(config_path)?;
    telemetry::init(&config.log.filter, config.log.format);
    let data = data
        .or_else(|| config.replay.data_dir.clone())
        .context("no dataset: pass --data DIR or set replay.data_dir in the config")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (summary, _engine) =
        runtime.block_on(supervisor::replay(&config, &data, alerts_out, !quiet))?;
    print_summary(&summary, &mut io::stdout().lock())?;
    Ok(())
}

fn print_summary(s: &ReplaySummary, out: &mut impl Write) -> io::Result<()> {
    let alerts: u64 = s.alerts.values().sum();
    writeln!(out, "\nreplay summary")?;
    writeln!(out, "  pairs            {}", s.pairs)?;
    writeln!(out, "  events           {}", s.events)?;
    writeln!(out, "  source bars      {}", s.source_bars)?;
    writeln!(out, "  4h/1d/1w bars    {}", s.signal_bars)?;
    writeln!(out, "  malformed rows   {} (skipped)", s.load.malformed())?;
    writeln!(out, "  alerts           {alerts}")?;
    for (kind, n) in &s.alerts {
        writeln!(out, "    {:<16} {n}", kind.as_str())?;
    }
    writeln!(
        out,
        "  delivered        {} ({} failed)",
        s.delivered.sent, s.delivered.failed
    )?;
    writeln!(out, "  load time        {:.3} s", s.load_time.as_secs_f64())?;
    writeln!(out, "  wall time        {:.3} s", s.run_time.as_secs_f64())?;
    writeln!(out, "  throughput       {:.0} bars/s", s.bars_per_second())?;
    Ok(())
}

fn rsi_cmd(
    path: &Path,
    interval: Interval,
    period: usize,
    config: Option<&Path>,
) -> anyhow::Result<()> {
    let mut params = match config {
        Some(path) => load_config(path)?.signals,
        None => SignalParams::DEFAULT,
    };
    anyhow::ensure!(
        (2..=100).contains(&period),
        "--period must be between 2 and 100, got {period}"
    );
    params.rsi_period = period;
    let (candles, _report) = replay::read_kline_file(path)?;
    let native = native_interval(&candles)
        .with_context(|| format!("cannot tell the bar interval of {}", path.display()))?;
    anyhow::ensure!(
        native.duration_ms() <= interval.duration_ms()
            && interval.duration_ms() % native.duration_ms() == 0,
        "{} holds {native} bars; cannot aggregate them to {interval}",
        path.display()
    );
    let mut tf = TimeframeState::new(interval, &params);
    let mut aggregator = Aggregator::new(native, &[interval]);
    let mut closed = Vec::new();
    let mut out = io::BufWriter::new(io::stdout().lock());
    writeln!(
        out,
        "open_time_ms,open,high,low,close,rsi,avg_gain,avg_loss,regime,cross50,divergence,entry"
    )?;
    for candle in &candles {
        closed.clear();
        if native == interval {
            closed.push((interval, *candle));
        } else {
            aggregator.push(candle, &mut closed);
        }
        for (_, bar) in &closed {
            write_rsi_row(&mut out, &tf.on_close(bar, &params))?;
        }
    }
    out.flush()?;
    Ok(())
}

/// The file's interval: the smallest step between consecutive bars that names an interval.
fn native_interval(candles: &[Candle]) -> Option<Interval> {
    let step = candles
        .windows(2)
        .map(|w| w[1].open_time - w[0].open_time)
        .filter(|d| *d > 0)
        .min()?;
    Interval::ALL.into_iter().find(|i| i.duration_ms() == step)
}

fn write_rsi_row(out: &mut impl Write, s: &BarSignals) -> io::Result<()> {
    let c = &s.candle;
    write!(
        out,
        "{},{},{},{},{},",
        c.open_time, c.open, c.high, c.low, c.close
    )?;
    match s.rsi {
        Some(v) => write!(out, "{},{},{},", v.rsi, v.avg_gain, v.avg_loss)?,
        None => write!(out, ",,,")?,
    }
    writeln!(
        out,
        "{},{},{},{}",
        s.regime,
        Cross50::as_i8(s.cross50),
        s.divergence.map_or("", |d| d.kind.as_str()),
        s.entry.map_or("", |e| e.as_str()),
    )
}
