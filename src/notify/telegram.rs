//! Telegram: alerts as HTML messages (with their chart as a photo) and digests through the Bot
//! API (teloxide), split to Telegram's limits, transient and permanent failures told apart; and
//! the command bot (`bot`). Only this module knows Telegram; it never decides what fires.
//!
//! - Rendering ([`render_html`], [`render_digest`], [`split_message`], [`caption_split`]) is pure
//!   and lives in `render` and `compose`; the mapping of teloxide errors to [`SinkError`] lives
//!   in `classify`; the client, one send and the pacing in `api`.
//! - An alert with a chart goes out as `sendPhoto` (PNG from memory) whose caption holds the
//!   whole lines of the text that fit in 1024, the rest following as `sendMessage`s. A chart
//!   that does not draw is logged and the text goes alone; a chat that refuses the photo (a
//!   "Bad Request": its size, media not allowed) gets the text alone too. Never lose the alert.
//! - A run of [`DIGEST_MIN`] or more alerts of one bar goes out as one digest message.
//! - One request per piece and chat, sequentially, in `chat_ids` order. No `Throttle` adaptor:
//!   it retries flood control forever and needs a spawned worker. Instead the sink keeps a
//!   minimum gap between two messages to the same chat (1 s private, 3 s group, after Telegram's
//!   "about one per second" and "20 per minute in a group"), and a 429 that still happens comes
//!   back as [`SinkError::Retry`] with Telegram's `retry_after` for the delivery worker to honour.
//! - Partial success: [`Sink::send_to`] says per chat what became of the alert, and the
//!   delivery worker keeps that in the outbox entry (the chats still owed it), so a retry, after
//!   a restart too, goes only to the chats that lack it, and a chat that fails permanently
//!   (blocked, not found) becomes a dead letter naming it while the others get the alert. Within
//!   a chat, the pieces already delivered are remembered in memory by (chat, piece), so a retry
//!   of the same [`AlertId`](crate::model::AlertId) sends only the missing pieces; after a
//!   restart a chat that got half an alert gets it again in full, which the id at the end of
//!   every message makes recognisable. `send`/`send_digest` go to every chat and return
//!   [`SinkError::Permanent`] naming the failed chats and how many got it.
//! - The bot token never leaves in an error or a log line: `Debug` hides it and every error text
//!   is scrubbed of it (teloxide's network errors carry the request URL, which contains it).

mod answers;
mod api;
mod bot;
mod classify;
mod commands;
mod compose;
mod render;

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use teloxide::Bot;

use self::api::{GROUP_GAP, Outgoing, PRIVATE_GAP, Pacer};
pub use self::bot::{BotContext, BotError, BotOptions, run_bot, run_bot_with};
pub use self::commands::{
    COMMANDS, Command, DEFAULT_MUTE_MS, MAX_MUTE_MS, parse_command, parse_duration,
};
pub use self::compose::{MAX_CAPTION_LEN, caption_split, render_digest};
pub use self::render::{MAX_MESSAGE_LEN, render_html, render_html_quoting, split_message};
use super::chart::ChartSeries;
use super::secret::Secret;
use super::{Message, Outcome, Sink, SinkError};
use crate::config::TelegramSinkConfig;
use crate::model::{Alert, Severity};
use crate::view::TrackRecord;

/// A run of at least this many due alerts of one bar goes out as one digest message. Three
/// alerts read fine one by one (and keep their charts); from four on they flood the chat, and
/// the per-chat pace (1 s, 3 s in a group) stretches a busy 4h close over minutes. A constant
/// for now; a config key may follow.
pub const DIGEST_MIN: usize = 4;

/// Delivers alerts to the configured chats through the Telegram Bot API.
pub struct TelegramSink {
    bot: Bot,
    token: Secret,
    chat_ids: Vec<i64>,
    pacer: Pacer,
    /// What was delivered of the alert (or digest) last attempted, for a retry of the same one.
    progress: Option<Progress>,
    /// What each kind's alerts quote as their measured record (empty: nothing).
    track: TrackRecord,
    /// How long the alerts of a bar gather before the first goes out (zero: no wait).
    gather: Duration,
}

/// One alert's (or digest's) messages and which of them each chat has.
#[derive(Debug)]
struct Progress {
    /// The alert id, or `digest:<first id>+<count>`.
    key: String,
    silent: bool,
    /// What every chat gets: the photo (if any) first.
    plan: Vec<Outgoing>,
    /// The text alone, for chats that refuse the photo; `None` when `plan` has no photo.
    fallback: Option<Vec<Outgoing>>,
    /// (chat, on the fallback plan, item index) delivered.
    sent: HashSet<(i64, bool, usize)>,
    /// Chats that refused the photo and get the fallback.
    text_only: HashSet<i64>,
    /// Chats that failed permanently for this alert, with why.
    given_up: Vec<(i64, String)>,
}

impl Progress {
    fn new(
        key: String,
        silent: bool,
        plan: Vec<Outgoing>,
        fallback: Option<Vec<Outgoing>>,
    ) -> Self {
        Progress {
            key,
            silent,
            plan,
            fallback,
            sent: HashSet::new(),
            text_only: HashSet::new(),
            given_up: Vec::new(),
        }
    }

    fn items(&self, text_only: bool) -> &[Outgoing] {
        match (&self.fallback, text_only) {
            (Some(text), true) => text,
            _ => &self.plan,
        }
    }
}

/// Why the sink could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelegramSetupError {
    #[error("telegram: no chat ids configured, alerts would go nowhere")]
    NoChats,
    #[error("telegram: invalid api_url {url:?}: {reason}")]
    ApiUrl { url: String, reason: String },
    #[error("telegram: cannot build the HTTP client: {0}")]
    Client(String),
}

impl TelegramSink {
    /// Builds the Bot API client for `config` (base URL, per-request timeout) and `token`. No
    /// network traffic: the first request is the first alert. A zero timeout keeps teloxide's
    /// default (17 s).
    pub fn new(
        config: &TelegramSinkConfig,
        token: Secret,
    ) -> Result<TelegramSink, TelegramSetupError> {
        if config.chat_ids.is_empty() {
            return Err(TelegramSetupError::NoChats);
        }
        let bot = api::build_bot(config, &token, api::request_timeout(config))?;
        Ok(TelegramSink {
            bot,
            token,
            chat_ids: config.chat_ids.clone(),
            pacer: Pacer::new(PRIVATE_GAP, GROUP_GAP),
            progress: None,
            track: TrackRecord::default(),
            gather: Duration::ZERO,
        })
    }

    /// Alerts of the kinds `track` scored carry its line (`[signal] report`).
    pub fn with_track_record(mut self, track: TrackRecord) -> TelegramSink {
        self.track = track;
        self
    }

    /// Lets the alerts of a bar gather this long before the first goes out, so a close's burst
    /// arrives as one digest (`[delivery] digest_gather_secs`; zero, the default: no wait).
    pub fn with_digest_gather(mut self, gather: Duration) -> TelegramSink {
        self.gather = gather;
        self
    }

    /// Sets the minimum gap between two messages to one private chat and to one group or
    /// channel (defaults 1 s and 3 s). Zero turns pacing off (tests).
    pub fn with_pacing(mut self, private: Duration, group: Duration) -> TelegramSink {
        self.pacer = Pacer::new(private, group);
        self
    }

    /// The progress of `key` if it was the last attempted, else a fresh one from `make`.
    fn resume(&mut self, key: &str, make: impl FnOnce() -> Progress) -> Progress {
        match self.progress.take() {
            Some(p) if p.key == key => p,
            _ => make(),
        }
    }

    /// Sends what `p` still lacks to each chat of `to`, in order, and says what became of each;
    /// stops at the first failure worth a retry and keeps `p` for the retry of the same key.
    async fn deliver(&mut self, mut p: Progress, to: &[String]) -> Outcome {
        let mut outcome = Outcome::default();
        for name in to {
            let chat = match name.parse::<i64>() {
                Ok(chat) if self.chat_ids.contains(&chat) => chat,
                _ => {
                    let message = format!("chat {name} is not in [sinks.telegram] chat_ids");
                    outcome
                        .refused
                        .push((name.clone(), SinkError::Permanent { message }));
                    continue;
                }
            };
            let given_up = p.given_up.iter().find(|(c, _)| *c == chat);
            let given_up = given_up.map(|(_, message)| message.clone());
            let result = match &given_up {
                Some(message) => Err(SinkError::Permanent {
                    message: message.clone(),
                }),
                None => self.deliver_chat(&mut p, chat).await,
            };
            match result {
                Ok(()) => outcome.delivered.push(name.clone()),
                Err(SinkError::Permanent { message }) => {
                    if given_up.is_none() {
                        tracing::warn!(alert = %p.key, chat, %message, "Telegram refused the alert for this chat.");
                        p.given_up.push((chat, message.clone()));
                    }
                    outcome
                        .refused
                        .push((name.clone(), SinkError::Permanent { message }));
                }
                Err(retry) => {
                    outcome.stopped = Some(retry);
                    self.progress = Some(p);
                    break;
                }
            }
        }
        outcome
    }

    /// Sends what `p` still lacks to `chat`, the photo's text alone when the chat refuses the
    /// photo; see the module docs.
    async fn deliver_chat(&mut self, p: &mut Progress, chat: i64) -> Result<(), SinkError> {
        'plan: loop {
            let text_only = p.text_only.contains(&chat);
            for index in 0..p.items(text_only).len() {
                if p.sent.contains(&(chat, text_only, index)) {
                    continue;
                }
                self.pacer.wait(chat).await;
                let item = &p.items(text_only)[index];
                let photo = item.is_photo();
                let result = api::send_one(&self.bot, chat, item, p.silent).await;
                self.pacer.sent(chat);
                let Err(error) = result else {
                    p.sent.insert((chat, text_only, index));
                    continue;
                };
                if photo && p.fallback.is_some() && classify::photo_refused(&error) {
                    let error = classify::describe(&error, self.token.expose());
                    tracing::warn!(alert = %p.key, chat, %error, "Telegram refused the chart; sending the text alone to this chat.");
                    p.text_only.insert(chat);
                    continue 'plan;
                }
                return Err(classify::classify(&error, chat, self.token.expose()));
            }
            return Ok(());
        }
    }

    /// Every configured chat, as the outbox names them.
    fn all_chats(&self) -> Vec<String> {
        self.chat_ids.iter().map(i64::to_string).collect()
    }

    /// A send to every chat as one result: a chat that refused makes it
    /// [`SinkError::Permanent`] naming the failed chats and how many got it.
    fn as_result(&self, outcome: Outcome) -> Result<(), SinkError> {
        if let Some(error) = outcome.stopped {
            return Err(error);
        }
        if outcome.refused.is_empty() {
            return Ok(());
        }
        let reasons: Vec<String> = outcome
            .refused
            .into_iter()
            .map(|(_, e)| match e {
                SinkError::Permanent { message } | SinkError::Retry { message, .. } => message,
            })
            .collect();
        Err(SinkError::Permanent {
            message: format!(
                "{} (delivered to {} of {} chats)",
                reasons.join("; "),
                outcome.delivered.len(),
                self.chat_ids.len()
            ),
        })
    }

    /// The progress of one message: the alert with its chart, or a digest.
    fn progress_of(&mut self, message: Message<'_>) -> Progress {
        match message {
            Message::Alert(alert, chart) => {
                let track = self.track.line(alert.kind(), alert.facts.label());
                self.resume(alert.id.as_str(), || {
                    alert_progress(alert, chart, track.as_deref())
                })
            }
            Message::Digest(alerts) => {
                let first = alerts.first().map_or("", |a| a.id.as_str());
                let key = format!("digest:{first}+{}", alerts.len());
                self.resume(&key, || {
                    let plan = compose::text_only(&render_digest(alerts));
                    Progress::new(key.clone(), compose::digest_is_silent(alerts), plan, None)
                })
            }
        }
    }
}

/// The messages of `alert`: with its chart drawn as a photo when there is one and it draws, and
/// the text alone as the fallback.
fn alert_progress(alert: &Alert, chart: Option<&ChartSeries>, track: Option<&str>) -> Progress {
    let html = render_html_quoting(alert, track);
    let text = compose::text_only(&html);
    // Info alerts arrive without a sound.
    let silent = alert.severity == Severity::Info;
    let key = alert.id.to_string();
    let png = chart.and_then(|chart| match chart.render() {
        Ok(png) => Some(png),
        Err(error) => {
            tracing::warn!(alert = %alert.id, %error, "Could not draw the alert's chart; sending the text alone.");
            None
        }
    });
    match png {
        Some(png) => Progress::new(key, silent, compose::with_photo(&html, png), Some(text)),
        None => Progress::new(key, silent, text, None),
    }
}

impl fmt::Debug for TelegramSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelegramSink")
            .field("api_url", &self.bot.api_url().as_str())
            .field("token", &self.token)
            .field("chat_ids", &self.chat_ids)
            .field("pacer", &self.pacer)
            .field("progress", &self.progress)
            .finish_non_exhaustive()
    }
}

impl Sink for TelegramSink {
    fn name(&self) -> &str {
        "telegram"
    }

    fn draws_charts(&self) -> bool {
        true
    }

    fn reaches_people(&self) -> bool {
        true
    }

    async fn send(&mut self, alert: &Alert) -> Result<(), SinkError> {
        self.send_with_chart(alert, None).await
    }

    async fn send_with_chart(
        &mut self,
        alert: &Alert,
        chart: Option<&ChartSeries>,
    ) -> Result<(), SinkError> {
        let chats = self.all_chats();
        let outcome = self.send_to(Message::Alert(alert, chart), &chats).await;
        self.as_result(outcome)
    }

    fn digest_min(&self) -> Option<usize> {
        Some(DIGEST_MIN)
    }

    fn digest_gather(&self) -> Duration {
        self.gather
    }

    async fn send_digest(&mut self, alerts: &[Alert]) -> Result<(), SinkError> {
        if alerts.is_empty() {
            return Ok(());
        }
        let chats = self.all_chats();
        let outcome = self.send_to(Message::Digest(alerts), &chats).await;
        self.as_result(outcome)
    }

    fn recipients(&self) -> Vec<String> {
        self.all_chats()
    }

    async fn send_to(&mut self, message: Message<'_>, to: &[String]) -> Outcome {
        let progress = self.progress_of(message);
        self.deliver(progress, to).await
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}
