//! The console / JSONL sink: one human line or JSON object per alert routed to the console on
//! stdout, and optionally every alert as one JSON line in a file. The default sink, and the one
//! replay writes to. It reads the engine's routing decision, never makes its own.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::{Sink, SinkError};
use crate::config::ConsoleFormat;
use crate::model::{Alert, format_utc};

#[derive(Debug)]
pub struct ConsoleSink {
    stdout: Option<ConsoleFormat>,
    jsonl: Option<BufWriter<File>>,
}

impl ConsoleSink {
    /// `stdout` is the format for standard output, `None` for silence; `jsonl` a file to create
    /// (truncating it: a replay's alert file describes one run).
    pub fn new(stdout: Option<ConsoleFormat>, jsonl: Option<&Path>) -> io::Result<ConsoleSink> {
        let jsonl = jsonl.map(File::create).transpose()?.map(BufWriter::new);
        Ok(ConsoleSink { stdout, jsonl })
    }

    /// Stdout shows the alert when the engine routed it to the console (`shown`); the JSONL
    /// file records every alert. A broken pipe or a full disk will not heal by retrying.
    pub fn show(&mut self, alert: &Alert, shown: bool) -> Result<(), SinkError> {
        self.write(alert, shown).map_err(|e| SinkError::Permanent {
            message: e.to_string(),
        })
    }

    fn write(&mut self, alert: &Alert, shown: bool) -> io::Result<()> {
        if let Some(format) = self.stdout.filter(|_| shown) {
            let mut out = io::stdout().lock();
            match format {
                ConsoleFormat::Text => writeln!(out, "{}", text_line(alert))?,
                ConsoleFormat::Json => writeln!(out, "{}", json_line(alert)?)?,
            }
        }
        if let Some(file) = &mut self.jsonl {
            writeln!(file, "{}", json_line(alert)?)?;
        }
        Ok(())
    }
}

/// `2025-03-20 12:00  regime_change     BTCUSDT  1d  <title>`
pub fn text_line(alert: &Alert) -> String {
    format!(
        "{}  {:<16}  {:<10} {:<3}  {}",
        format_utc(alert.time_ms),
        alert.kind().as_str(),
        alert.symbol.as_str(),
        alert.interval.map_or("-", |i| i.as_str()),
        alert.title
    )
}

fn json_line(alert: &Alert) -> io::Result<String> {
    serde_json::to_string(alert).map_err(io::Error::other)
}

impl Sink for ConsoleSink {
    fn name(&self) -> &str {
        "console"
    }

    /// Outside the engine's routing (a direct send) the alert is shown.
    async fn send(&mut self, alert: &Alert) -> Result<(), SinkError> {
        self.show(alert, true)
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        let result = match &mut self.jsonl {
            Some(file) => file.flush().and_then(|()| file.get_ref().sync_all()),
            None => Ok(()),
        };
        result.map_err(|e| SinkError::Permanent {
            message: e.to_string(),
        })
    }
}
