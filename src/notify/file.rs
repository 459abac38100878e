//! The JSONL file sink: each alert appended as one JSON line and synced to disk before it counts
//! as delivered, so the outbox can clear it. The durable local channel; it must never truncate
//! the file (a restart appends) and never report success before the sync.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Sink, SinkError};
use crate::model::Alert;

#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    file: File,
    delay: Duration,
}

impl FileSink {
    /// Opens `path` for appending, creating it if needed. `delay` is waited before every write.
    pub fn open(path: &Path, delay: Duration) -> io::Result<FileSink> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(FileSink {
            path: path.to_owned(),
            file,
            delay,
        })
    }

    fn append(&mut self, alert: &Alert) -> io::Result<()> {
        let mut line = serde_json::to_vec(alert).map_err(io::Error::other)?;
        line.push(b'\n');
        // One write call per line: a kill cannot interleave two alerts, at worst cut the last.
        self.file.write_all(&line)?;
        self.file.sync_data()
    }
}

impl Sink for FileSink {
    fn name(&self) -> &str {
        "file"
    }

    async fn send(&mut self, alert: &Alert) -> Result<(), SinkError> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        // A full disk or a revoked permission may heal: retry with backoff rather than drop.
        self.append(alert).map_err(|e| SinkError::Retry {
            after: None,
            message: format!("{}: {e}", self.path.display()),
        })
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        self.file.sync_all().map_err(|e| SinkError::Retry {
            after: None,
            message: format!("{}: {e}", self.path.display()),
        })
    }
}
