//! Delivery channels: the `Sink` trait every channel implements, its error type, and the sinks
//! themselves. Only this module knows how an alert looks on a channel; it never reads the store
//! (the supervisor's delivery worker feeds a sink from the outbox).

pub mod chart;
pub mod console;
pub mod email;
pub mod file;
pub mod secret;
pub mod summary;
pub mod telegram;

use std::future::Future;
use std::time::Duration;

use self::chart::ChartSeries;
use crate::model::Alert;

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
    /// Whether the sink draws charts: the engine then captures the chart data of the alert's
    /// moment with the alerts routed to it.
    fn draws_charts(&self) -> bool {
        false
    }
    /// Whether people read what the sink delivers (a chat, a mailbox): then only fresh alerts
    /// reach it, never the history a warm-up or a back-fill raises.
    fn reaches_people(&self) -> bool {
        false
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
