//! The command line: argument types and one function per subcommand. Owns what is printed for a
//! human (tables, CSV, summaries); the work itself lives in the library modules it calls.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{self, Config, ConfigError};
use crate::model::Interval;
use crate::source::venues::{VenueOptions, run_venues};
use crate::supervisor::{self, ReplaySummary};
use crate::telemetry;

mod backtest;
mod dead_letters;
mod heatmap;
mod rsi;
mod status;
mod summary;
mod validate;

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
    /// Run the daemon against Binance's live market data until SIGTERM/SIGINT.
    Run {
        /// The config file (TOML; see config/liqwave.toml). `store.path` is required.
        #[arg(long)]
        config: PathBuf,
        /// Move the state store aside — never deleted — and start empty (warm-up from REST).
        #[arg(long)]
        reset_state: bool,
    },
    /// Run the whole pipeline over recorded data, as fast as possible, and print a summary.
    Replay {
        /// The config file (TOML; see config/liqwave.toml).
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
        /// Move the state store (store.path) aside — never deleted — and start empty.
        #[arg(long)]
        reset_state: bool,
        /// Threads that step the pairs (default: `engine.threads`, 0 = one per core); the alerts
        /// and their order are the same with any number.
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Show what the state store holds: pairs and regimes, outbox per sink, dead letters, mutes,
    /// last deliveries.
    Status {
        /// The config file whose store.path to read.
        #[arg(long)]
        config: PathBuf,
    },
    /// List the dead letters (alerts a sink failed to deliver for good), move them back into
    /// the outbox for the daemon to deliver, or drop them. Needs the daemon stopped.
    DeadLetters(dead_letters::Args),
    /// Validate a config file: exit 0 when valid, 78 with every problem on stderr when not.
    CheckConfig {
        /// The config file to check.
        #[arg(long)]
        config: PathBuf,
        /// Also check what `liqwave run` needs at start: store.path set and writable, each
        /// enabled sink's secret, the alert files writable, the signal report readable, the
        /// SMTP ca_file holding PEM certificates.
        #[arg(long)]
        for_run: bool,
    },
    /// Replay one pair up to a time and print its liquidation clusters (and optionally a chart).
    Heatmap(heatmap::Args),
    /// Score the estimated heatmap against the dataset's realized liquidations and baselines.
    ValidateModel(validate::Args),
    /// Replay recorded data and score every alert on the bars after it, beside baselines.
    Backtest(backtest::Args),
    /// Replay the recorded data and write a day's summary email as files (text, HTML, images).
    Summary(summary::Args),
    /// Print RSI, regime and signals of one kline file as CSV, one row per complete bar.
    Rsi {
        /// A kline CSV (`open_time_ms,open,high,low,close,volume,…`, optionally gzipped).
        #[arg(long)]
        klines: PathBuf,
        /// Interval to aggregate to (4h, 1d, 1w, or the file's own).
        #[arg(long)]
        interval: Interval,
        /// Wilder RSI period.
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
        Command::Run {
            config,
            reset_state,
        } => run_cmd(&config, reset_state),
        Command::Replay {
            config,
            data,
            alerts_out,
            quiet,
            reset_state,
            threads,
        } => {
            let run = supervisor::ReplayRun {
                alerts_out: alerts_out.as_deref(),
                print_alerts: !quiet,
                reset_state,
            };
            replay_cmd(&config, data, threads, run)
        }
        Command::Status { config } => status::run(&config),
        Command::DeadLetters(args) => dead_letters::run(&args),
        Command::CheckConfig { config, for_run } => check_config(&config, for_run),
        Command::Heatmap(args) => heatmap::run(&args),
        Command::ValidateModel(args) => validate::run(&args),
        Command::Backtest(args) => backtest::run(&args),
        Command::Summary(args) => summary::run(&args),
        Command::Rsi {
            klines,
            interval,
            period,
            config,
        } => rsi::run(&klines, interval, period, config.as_deref()),
    }
}

/// The process exit code for an error: 78 for configuration problems (an invalid file, or what
/// `run` needs missing: a store path, a secret, a report; restarting cannot help), 1 otherwise.
pub fn exit_code(error: &anyhow::Error) -> ExitCode {
    let config = |e: &(dyn std::error::Error + 'static)| {
        e.is::<ConfigError>()
            || e.is::<crate::notify::secret::MissingSecret>()
            || e.is::<crate::view::TrackRecordError>()
            || e.is::<supervisor::NotReady>()
    };
    if error.chain().any(config) {
        ExitCode::from(EXIT_CONFIG)
    } else {
        ExitCode::FAILURE
    }
}

/// Whether `error` is a write to a closed pipe (the reader went away, as `head` does): nothing to
/// report.
pub fn is_closed_output(error: &anyhow::Error) -> bool {
    let closed = |e: &io::Error| e.kind() == io::ErrorKind::BrokenPipe;
    error
        .chain()
        .any(|e| e.downcast_ref::<io::Error>().is_some_and(closed))
}

pub(super) fn load_config(path: &Path) -> anyhow::Result<Config> {
    Ok(config::load(path)?)
}

/// The store at `path` is held by another process (sled allows one at a time): who, and `advice`.
pub(super) fn store_held(path: &Path, holder: Option<u32>, advice: &str) -> anyhow::Error {
    let who = holder.map_or("another process (the daemon?)".to_owned(), |pid| {
        format!("liqwave process {pid} (the daemon?)")
    });
    anyhow::anyhow!(
        "{}: {who} holds the store (sled allows one process at a time); {advice}",
        path.display()
    )
}

/// Epoch milliseconds, an RFC 3339 UTC time, or a UTC date (its midnight).
pub(super) fn parse_time(s: &str) -> Result<i64, String> {
    let date =
        |s: &str| (s.len() == 10).then(|| crate::model::parse_utc(&format!("{s}T00:00:00Z")))?;
    s.parse::<i64>()
        .ok()
        .or_else(|| crate::model::parse_utc(s))
        .or_else(|| date(s))
        .ok_or_else(|| {
            format!(
                "{s:?} is neither epoch milliseconds, an RFC 3339 UTC time nor a YYYY-MM-DD date"
            )
        })
}

/// The dataset directory: `--data`, else the config's `replay.data_dir`.
pub(super) fn data_dir(data: Option<PathBuf>, config: &Config) -> anyhow::Result<PathBuf> {
    data.or_else(|| config.replay.data_dir.clone())
        .context("no dataset: pass --data DIR or set replay.data_dir in the config")
}

/// The config file and the recorded dataset a command replays.
#[derive(Debug, clap::Args)]
pub struct DatasetArgs {
    /// The config file (TOML; see config/liqwave.toml).
    #[arg(long)]
    config: PathBuf,
    /// Dataset directory (default: `replay.data_dir` of the config).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Threads that step the pairs (default: `engine.threads`, 0 = one per core); the output is
    /// the same with any number.
    #[arg(long)]
    threads: Option<usize>,
}

impl DatasetArgs {
    /// Loads the config, starts logging as it says, and resolves the dataset directory.
    pub(super) fn load(&self) -> anyhow::Result<(Config, PathBuf)> {
        let mut config = load_config(&self.config)?;
        config.engine.threads = self.threads.unwrap_or(config.engine.threads);
        telemetry::init(&config.log.filter, config.log.format);
        let dir = data_dir(self.data.clone(), &config)?;
        Ok((config, dir))
    }
}

fn check_config(path: &Path, for_run: bool) -> anyhow::Result<()> {
    telemetry::init("warn", config::LogFormat::Auto);
    let config = load_config(path)?;
    if for_run {
        supervisor::preflight(&config)?;
    }
    let ready = if for_run { ", ready to run" } else { "" };
    println!("{}: valid{ready}", path.display());
    Ok(())
}

fn run_cmd(config_path: &Path, reset_state: bool) -> anyhow::Result<()> {
    let config = load_config(config_path)?;
    telemetry::init(&config.log.filter, config.log.format);
    tracing::info!(config = %config_path.display(), "Starting.");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let source_config = config.clone();
    runtime.block_on(supervisor::run_daemon(&config, reset_state, move |cx| {
        Box::pin(async move {
            let options = VenueOptions::from_config(&source_config);
            run_venues(&source_config, cx, options).await
        })
    }))
}

fn replay_cmd(
    config_path: &Path,
    data: Option<PathBuf>,
    threads: Option<usize>,
    run: supervisor::ReplayRun<'_>,
) -> anyhow::Result<()> {
    let mut config = load_config(config_path)?;
    config.engine.threads = threads.unwrap_or(config.engine.threads);
    telemetry::init(&config.log.filter, config.log.format);
    let data = data_dir(data, &config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let replayed = runtime.block_on(supervisor::replay(&config, &data, run));
    // A signal during loading leaves the loading thread behind: do not wait for it.
    runtime.shutdown_background();
    let (summary, _engine) = replayed?;
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
    writeln!(out, "  heatmap steps    {}", s.heat_steps)?;
    writeln!(out, "  malformed rows   {} (skipped)", s.load.malformed())?;
    writeln!(out, "  alerts           {alerts}")?;
    for (kind, n) in &s.alerts {
        writeln!(out, "    {:<16} {n}", kind.as_str())?;
    }
    let r = &s.rules;
    writeln!(out, "  muted            {}", s.muted)?;
    writeln!(out, "  held for gaps    {}", r.gap_withheld)?;
    writeln!(
        out,
        "  triggers without a setup: {} against the bias, {} without fuel ahead, {} without a stop, {} below the R:R minimum",
        r.setup_bias, r.setup_no_fuel, r.setup_no_stop, r.setup_reward_risk
    )?;
    writeln!(
        out,
        "  console          {} recorded ({} failed)",
        s.delivered.sent, s.delivered.failed
    )?;
    if s.resumed_at > 0 {
        writeln!(
            out,
            "  resumed after    {} events (restored from the store)",
            s.resumed_at
        )?;
    }
    for (sink, d) in &s.durable {
        writeln!(
            out,
            "  {sink:<16} {} sent, {} retried, {} dead letters, {} repeats dropped",
            d.sent, d.retried, d.failed, d.repeats
        )?;
    }
    for (sink, n) in &s.undelivered {
        writeln!(
            out,
            "  UNDELIVERED      {n} alerts for {sink} stay in the outbox; the next start sends them"
        )?;
    }
    if s.interrupted {
        writeln!(
            out,
            "  interrupted      by a signal; the next start continues"
        )?;
    }
    writeln!(out, "  load time        {:.3} s", s.load_time.as_secs_f64())?;
    writeln!(out, "  wall time        {:.3} s", s.run_time.as_secs_f64())?;
    writeln!(out, "  throughput       {:.0} bars/s", s.bars_per_second())?;
    Ok(())
}
