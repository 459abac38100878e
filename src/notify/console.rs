//! The console / JSONL sink: one human line or JSON object per alert routed to the console on
//! stdout, and optionally every alert as one JSON line in a file. The default sink, and the one
//! replay writes to.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::{Sink, SinkError};
use crate::config::ConsoleFormat;
use crate::model::{Alert, format_utc};
use crate::rules::Routes;

#[derive(Debug)]
pub struct ConsoleSink {
    stdout: Option<ConsoleFormat>,
    /// Which alerts stdout shows (the `console` routes); the JSONL file keeps every alert.
    routes: Option<Routes>,
    jsonl: Option<BufWriter<File>>,
}

impl ConsoleSink {
    /// `stdout` is the format for standard output, `None` for silence; `jsonl` a file to create
    /// (truncating it: a replay's alert file describes one run).
    pub fn new(stdout: Option<ConsoleFormat>, jsonl: Option<&Path>) -> io::Result<ConsoleSink> {
        let jsonl = jsonl.map(File::create).transpose()?.map(BufWriter::new);
        Ok(ConsoleSink {
            stdout,
            routes: None,
            jsonl,
        })
    }

    /// Shows on stdout only the alerts `routes` send to the console.
    pub fn with_routes(mut self, routes: Routes) -> ConsoleSink {
        self.routes = Some(routes);
        self
    }

    fn write(&mut self, alert: &Alert) -> io::Result<()> {
        let shown = self
            .routes
            .as_ref()
            .is_none_or(|r| r.routes_to(alert, "console"));
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

    async fn send(&mut self, alert: &Alert) -> Result<(), SinkError> {
        // A broken pipe or a full disk will not heal by retrying the same write.
        self.write(alert).map_err(|e| SinkError::Permanent {
            message: e.to_string(),
        })
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
