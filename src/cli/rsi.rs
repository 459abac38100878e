//! `liqwave rsi`: one kline file through aggregation and the signal chain, printed as CSV. Owns
//! the CSV layout (the oracle files share it); the computation is the analytics'.

use std::io::{self, Write};
use std::path::Path;

use anyhow::Context;

use super::load_config;
use crate::analytics::SignalParams;
use crate::analytics::candles::Aggregator;
use crate::analytics::timeframe::{BarSignals, Cross50, TimeframeState};
use crate::clock::wall_ms;
use crate::config::LogFormat;
use crate::model::{Candle, Interval};
use crate::source::replay::{self, DEFAULT_MAX_PRICE_JUMP, RowLimits};
use crate::{supervisor, telemetry};

pub(super) fn run(
    path: &Path,
    interval: Interval,
    period: usize,
    config: Option<&Path>,
) -> anyhow::Result<()> {
    let config = config.map(load_config).transpose()?;
    // Skipped rows are reported on stderr (each of the first few, then the count); stdout is CSV.
    match &config {
        Some(c) => telemetry::init(&c.log.filter, c.log.format),
        None => telemetry::init("warn", LogFormat::Auto),
    }
    let (mut params, limits) = match &config {
        Some(c) => (c.signals, supervisor::row_limits(c)),
        None => (
            SignalParams::DEFAULT,
            RowLimits::new(wall_ms(), DEFAULT_MAX_PRICE_JUMP),
        ),
    };
    anyhow::ensure!(
        (2..=100).contains(&period),
        "--period must be between 2 and 100, got {period}"
    );
    params.rsi_period = period;
    let (candles, _report) = replay::read_kline_file(path, &limits)?;
    let native = native_interval(&candles)
        .with_context(|| format!("cannot tell the bar interval of {}", path.display()))?;
    anyhow::ensure!(
        native.duration_ms() <= interval.duration_ms()
            && interval.duration_ms() % native.duration_ms() == 0,
        "{} holds {native} bars; cannot aggregate them to {interval}",
        path.display()
    );
    let mut tf = TimeframeState::new(interval, &params);
    // The file's own interval needs no aggregator (which refuses a target equal to its source).
    let mut aggregator = (native != interval).then(|| Aggregator::new(native, &[interval]));
    let mut closed = Vec::new();
    let mut out = io::BufWriter::new(io::stdout().lock());
    writeln!(
        out,
        "open_time_ms,open,high,low,close,rsi,avg_gain,avg_loss,regime,cross50,divergence,entry"
    )?;
    for candle in &candles {
        closed.clear();
        match &mut aggregator {
            Some(aggregator) => aggregator.push(candle, &mut closed),
            None => closed.push((interval, *candle)),
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
