//! The sinks a config enables, built before anything starts: the durable ones (file, Telegram,
//! email) with their secrets and the track record their alerts quote, and the console. A missing
//! secret or an unreadable file fails the start here, naming what is missing; never spawns.

use std::path::Path;

use anyhow::Context;

use crate::config::Config;
use crate::notify::console::ConsoleSink;
use crate::notify::email::EmailSink;
use crate::notify::file::FileSink;
use crate::notify::secret::Secret;
use crate::notify::telegram::TelegramSink;
use crate::view::TrackRecord;

/// The durable sinks of a config, each delivered through the outbox by its own worker.
#[derive(Debug)]
pub(super) struct SinkSet {
    pub(super) file: Option<FileSink>,
    pub(super) telegram: Option<TelegramSink>,
    pub(super) email: Option<EmailSink>,
}

impl SinkSet {
    pub(super) fn build(config: &Config) -> anyhow::Result<SinkSet> {
        let file = match &config.sinks.file {
            Some(file) => Some(
                FileSink::open(&file.path, file.delay)
                    .with_context(|| format!("opening the alert file {}", file.path.display()))?,
            ),
            None => None,
        };
        let track = track_record(config)?;
        let telegram = match &config.sinks.telegram {
            Some(telegram) => {
                let token = Secret::load(&telegram.token_env, "telegram_token")
                    .context("the Telegram sink needs its bot token")?;
                let sink =
                    TelegramSink::new(telegram, token).context("setting up the Telegram sink")?;
                let gather = config.delivery.digest_gather;
                Some(
                    sink.with_track_record(track.clone())
                        .with_digest_gather(gather),
                )
            }
            None => None,
        };
        let email = match &config.sinks.email {
            Some(email) => {
                let password = match &email.username {
                    Some(_) => Some(
                        Secret::load(&email.password_env, "smtp_password")
                            .context("the email sink has a username and needs its SMTP password")?,
                    ),
                    None => None,
                };
                let sink = EmailSink::new(email, password).context("setting up the email sink")?;
                Some(sink.with_track_record(track))
            }
            None => None,
        };
        Ok(SinkSet {
            file,
            telegram,
            email,
        })
    }
}

/// The backtest's track record that alerts quote, when `[signal] report` names one.
fn track_record(config: &Config) -> anyhow::Result<TrackRecord> {
    let Some(path) = &config.signal.report else {
        return Ok(TrackRecord::default());
    };
    let track = TrackRecord::load(path)?;
    tracing::info!(report = %path.display(), source = %track.source, lines = track.lines.len(), "Alerts quote the backtest's track record.");
    Ok(track)
}

/// The console: stdout in the configured format when `print` (and the console is enabled), and
/// every alert as a JSON line in `jsonl` (or the configured file) when there is one.
pub(super) fn console(
    config: &Config,
    jsonl: Option<&Path>,
    print: bool,
) -> anyhow::Result<ConsoleSink> {
    let console = &config.sinks.console;
    let jsonl = jsonl.or(console.jsonl_path.as_deref());
    let stdout = (console.enabled && print).then_some(console.format);
    ConsoleSink::new(stdout, jsonl).with_context(|| {
        format!(
            "creating alert file {}",
            jsonl.map_or(String::new(), |p| p.display().to_string())
        )
    })
}
