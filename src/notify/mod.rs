//! Delivery: the `Sink` trait every channel implements, its error type, and the worker loop that
//! feeds a sink from the engine. Only this module knows how an alert looks on a channel.

pub mod chart;
pub mod console;
pub mod delivery;
pub mod email;
pub mod file;
pub mod secret;
pub mod summary;
pub mod telegram;

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;

use self::chart::ChartSeries;
use crate::model::Alert;

/// Makes ring the process-wide rustls crypto provider, once. Our TLS clients (Bot API, SMTP) use
/// ring; when another provider is also compiled in (a test server's), rustls refuses to guess.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means a provider is already installed, which is what we want.
        let _already = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Escapes `&`, `<`, `>` and `"` for HTML text and double-quoted attributes: safe in email HTML
/// and in Telegram's HTML parse mode (which knows `&quot;` and numeric entities).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Why a delivery failed, and so what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Worth another try, after `after` when the channel said so.
    #[error("transient delivery failure: {message}")]
    Retry {
        after: Option<Duration>,
        message: String,
    },
    /// Retrying cannot help (bad credentials, rejected message, closed output).
    #[error("permanent delivery failure: {message}")]
    Permanent { message: String },
}

impl SinkError {
    pub fn is_retriable(&self) -> bool {
        matches!(self, SinkError::Retry { .. })
    }
}

/// A delivery channel. `send` must be idempotent per `AlertId` where the channel allows it.
pub trait Sink {
    fn name(&self) -> &str;
    fn send(&mut self, alert: &Alert) -> impl Future<Output = Result<(), SinkError>> + Send;
    /// Sends an alert with the chart it fired with; sinks that draw charts override this.
    fn send_with_chart(
        &mut self,
        alert: &Alert,
        chart: Option<&ChartSeries>,
    ) -> impl Future<Output = Result<(), SinkError>> + Send {
        let _unused = chart;
        self.send(alert)
    }
    /// A run of at least this many alerts of one bar goes out as one digest message (see
    /// [`Sink::send_digest`]); `None`: the sink sends every alert on its own.
    fn digest_min(&self) -> Option<usize> {
        None
    }
    /// Sends `alerts` (all of one bar) as one message. Only called when `digest_min` is set.
    fn send_digest(
        &mut self,
        alerts: &[Alert],
    ) -> impl Future<Output = Result<(), SinkError>> + Send {
        let count = alerts.len();
        async move {
            Err(SinkError::Permanent {
                message: format!("this sink cannot send a digest of {count} alerts"),
            })
        }
    }
    /// Makes everything sent so far durable (flush files, close sessions).
    fn flush(&mut self) -> impl Future<Output = Result<(), SinkError>> + Send;
}

/// What a worker did, for the run summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    pub sent: u64,
    /// Given up on: dead letters (or, for the console, lost writes).
    pub failed: u64,
    /// Transient failures rescheduled.
    pub retried: u64,
    /// Outbox entries dropped because the sent log already had them (a repeat after a crash).
    pub repeats: u64,
}

/// Delivers alerts from `rx` to `sink` until the channel closes. Retries, dead letters and the
/// durable outbox arrive with the store; until then a failure is logged and counted.
pub async fn run_worker<S: Sink>(mut sink: S, mut rx: mpsc::Receiver<Alert>) -> Delivered {
    let mut done = Delivered::default();
    while let Some(alert) = rx.recv().await {
        match sink.send(&alert).await {
            Ok(()) => done.sent += 1,
            Err(error) => {
                done.failed += 1;
                tracing::error!(sink = sink.name(), alert = %alert.id, %error, "Alert delivery failed.");
            }
        }
    }
    if let Err(error) = sink.flush().await {
        tracing::error!(sink = sink.name(), %error, "Sink flush failed.");
    }
    done
}
