//! Delivery channels: the `Sink` trait every channel implements, its error type, and the sinks
//! themselves. Only this module knows how an alert looks on a channel; it never reads the store
//! (the supervisor's delivery worker feeds a sink from the outbox).

pub mod chart;
pub mod console;
pub mod email;
pub mod file;
mod html;
pub mod secret;
pub mod summary;
pub mod telegram;
pub mod wording;

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
    /// How long the delivery worker lets the alerts of a bar gather before the first of them
    /// goes out, so a close's burst becomes one digest (`[delivery] digest_gather_secs`). Zero
    /// (the default): no wait. Only sinks that digest wait.
    fn digest_gather(&self) -> Duration {
        Duration::ZERO
    }
    /// The recipients the sink delivers to one by one (Telegram's chats), whose progress the
    /// outbox keeps per alert; empty (the default): the sink is one recipient and
    /// [`Sink::send_to`] is never called.
    fn recipients(&self) -> Vec<String> {
        Vec::new()
    }
    /// Sends `message` to `to` (some of [`Sink::recipients`]) and says what became of each.
    fn send_to(
        &mut self,
        message: Message<'_>,
        to: &[String],
    ) -> impl Future<Output = Outcome> + Send {
        let _unused = message;
        let count = to.len();
        async move {
            Outcome::stopped(SinkError::Permanent {
                message: format!("this sink cannot send to {count} named recipients"),
            })
        }
    }
    /// Makes everything sent so far durable (flush files, close sessions).
    fn flush(&mut self) -> impl Future<Output = Result<(), SinkError>> + Send;
}

/// One message of a sink: an alert with the chart it fired with, or the alerts of one bar as a
/// digest.
#[derive(Debug, Clone, Copy)]
pub enum Message<'a> {
    Alert(&'a Alert, Option<&'a ChartSeries>),
    Digest(&'a [Alert]),
}

/// What one [`Sink::send_to`] did, per recipient.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Recipients that have the message now.
    pub delivered: Vec<String>,
    /// Recipients that refused it for good (blocked, not found), each with why.
    pub refused: Vec<(String, SinkError)>,
    /// The failure that stopped the send (worth a retry, or one for the whole sink): the
    /// recipients in neither list above still lack the message.
    pub stopped: Option<SinkError>,
}

impl Outcome {
    /// Nobody got it: `error` stopped the send before any recipient.
    pub fn stopped(error: SinkError) -> Outcome {
        Outcome {
            stopped: Some(error),
            ..Outcome::default()
        }
    }
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
