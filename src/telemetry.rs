//! Logging setup: one `tracing` subscriber on stderr, journald-friendly under systemd (no ANSI, no
//! timestamp of our own: the journal adds it). Owns nothing else; never logs secrets itself.

use std::io::IsTerminal;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

use crate::config::LogFormat;

/// Installs the global subscriber. `filter` was checked by the config; an unparsable one (only
/// possible from code) falls back to `info`. Calling it twice is harmless (tests do).
pub fn init(filter: &str, format: LogFormat) {
    let targets: Targets = filter
        .parse()
        .unwrap_or_else(|_| Targets::new().with_default(tracing::Level::INFO));
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let format = match format {
        LogFormat::Auto if under_journald => LogFormat::Journald,
        LogFormat::Auto => LogFormat::Pretty,
        other => other,
    };
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Journald => tracing_subscriber::registry()
            .with(
                layer
                    .with_ansi(false)
                    .without_time()
                    .with_target(false)
                    .with_filter(targets),
            )
            .try_init(),
        LogFormat::Json => tracing_subscriber::registry()
            .with(layer.json().with_filter(targets))
            .try_init(),
        LogFormat::Pretty | LogFormat::Auto => tracing_subscriber::registry()
            .with(
                layer
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_target(false)
                    .with_filter(targets),
            )
            .try_init(),
    };
    // Already installed (a second call in one process): keep the first.
    drop(result);
}
