//! The Telegram sink: alerts as HTML messages through the Bot API (teloxide), split to Telegram's
//! limits, with transient and permanent failures told apart. Only this module knows Telegram.
//!
//! - Rendering ([`render_html`], [`split_message`]) is pure and lives in `render`; the mapping of
//!   teloxide errors to [`SinkError`] lives in `classify`.
//! - One `sendMessage` per piece and chat, sequentially, in `chat_ids` order. No `Throttle`
//!   adaptor: it retries flood control forever and needs a spawned worker. Instead the sink keeps
//!   a minimum gap between two messages to the same chat (1 s private, 3 s group, after Telegram's
//!   "about one per second" and "20 per minute in a group"), and a 429 that still happens comes
//!   back as [`SinkError::Retry`] with Telegram's `retry_after` for the delivery worker to honour.
//! - Partial success: the pieces already delivered for the alert being sent are remembered by
//!   (chat, piece), so a retry of the same [`AlertId`] sends only what is missing. A chat that
//!   fails permanently (blocked, not found) is skipped for that alert and the others still get
//!   it; the result is then [`SinkError::Permanent`] naming the failed chats and how many got
//!   it. Memory only: after a restart a half-delivered alert is sent again in full, which the id
//!   at the end of every message makes recognisable.
//! - The bot token never leaves in an error or a log line: `Debug` hides it and every error text
//!   is scrubbed of it (teloxide's network errors carry the request URL, which contains it).

mod classify;
mod render;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use teloxide::Bot;
use teloxide::payloads::SendMessageSetters as _;
use teloxide::requests::Requester as _;
use teloxide::types::{ChatId, LinkPreviewOptions, ParseMode};
use tokio::time::Instant;

pub use self::render::{MAX_MESSAGE_LEN, render_html, split_message};
use super::secret::Secret;
use super::{Sink, SinkError, install_crypto_provider};
use crate::config::TelegramSinkConfig;
use crate::model::{Alert, AlertId, Severity};

/// Minimum gap between two messages to one private chat (positive id).
const PRIVATE_GAP: Duration = Duration::from_secs(1);
/// Minimum gap between two messages to one group or channel (negative id): 20 a minute.
const GROUP_GAP: Duration = Duration::from_secs(3);
/// Telegram's connect timeout in teloxide's defaults; never longer than the whole request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Delivers alerts to the configured chats through the Telegram Bot API.
pub struct TelegramSink {
    bot: Bot,
    token: Secret,
    chat_ids: Vec<i64>,
    private_gap: Duration,
    group_gap: Duration,
    last_sent: HashMap<i64, Instant>,
    /// What was delivered of the alert last attempted, for a retry of the same alert.
    progress: Option<Progress>,
}

#[derive(Debug)]
struct Progress {
    id: AlertId,
    pieces: usize,
    /// (chat, piece index) delivered.
    sent: HashSet<(i64, usize)>,
    /// Chats that failed permanently for this alert, with why.
    given_up: Vec<(i64, String)>,
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
        install_crypto_provider();
        let mut builder = teloxide::net::default_reqwest_settings();
        if !config.timeout.is_zero() {
            builder = builder
                .connect_timeout(config.timeout.min(CONNECT_TIMEOUT))
                .timeout(config.timeout);
        }
        let client = builder.build().map_err(|e| {
            TelegramSetupError::Client(classify::scrub(&e.to_string(), token.expose()))
        })?;
        let bot = Bot::with_client(token.expose(), client);
        let invalid = |reason: String| TelegramSetupError::ApiUrl {
            url: config.api_url.clone(),
            reason,
        };
        let trimmed = config.api_url.trim().trim_end_matches('/');
        let url = parse_as(&bot.api_url(), trimmed).map_err(|e| invalid(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(invalid("expected an http or https URL".into()));
        }
        Ok(TelegramSink {
            bot: bot.set_api_url(url),
            token,
            chat_ids: config.chat_ids.clone(),
            private_gap: PRIVATE_GAP,
            group_gap: GROUP_GAP,
            last_sent: HashMap::new(),
            progress: None,
        })
    }

    /// Sets the minimum gap between two messages to one private chat and to one group or
    /// channel (defaults 1 s and 3 s). Zero turns pacing off (tests).
    pub fn with_pacing(mut self, private: Duration, group: Duration) -> TelegramSink {
        self.private_gap = private;
        self.group_gap = group;
        self
    }

    /// Waits until `chat` may receive the next message.
    async fn pace(&self, chat: i64) {
        let gap = if chat < 0 {
            self.group_gap
        } else {
            self.private_gap
        };
        if let Some(&last) = self.last_sent.get(&chat)
            && !gap.is_zero()
        {
            tokio::time::sleep_until(last + gap).await;
        }
    }
}

/// `text` parsed as the type `like` has: reqwest's `Url`, which we cannot name, reqwest not
/// being a dependency of ours.
fn parse_as<U: FromStr>(_like: &U, text: &str) -> Result<U, U::Err> {
    text.parse()
}

impl fmt::Debug for TelegramSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelegramSink")
            .field("api_url", &self.bot.api_url().as_str())
            .field("token", &self.token)
            .field("chat_ids", &self.chat_ids)
            .field("private_gap", &self.private_gap)
            .field("group_gap", &self.group_gap)
            .field("progress", &self.progress)
            .finish_non_exhaustive()
    }
}

impl Sink for TelegramSink {
    fn name(&self) -> &str {
        "telegram"
    }

    async fn send(&mut self, alert: &Alert) -> Result<(), SinkError> {
        let pieces = split_message(&render_html(alert), MAX_MESSAGE_LEN);
        let mut progress = match self.progress.take() {
            Some(p) if p.id == alert.id && p.pieces == pieces.len() => p,
            _ => Progress {
                id: alert.id.clone(),
                pieces: pieces.len(),
                sent: HashSet::new(),
                given_up: Vec::new(),
            },
        };
        // Info alerts arrive without a sound.
        let silent = alert.severity == Severity::Info;
        for chat in self.chat_ids.clone() {
            if progress.given_up.iter().any(|(c, _)| *c == chat) {
                continue;
            }
            for (index, text) in pieces.iter().enumerate() {
                if progress.sent.contains(&(chat, index)) {
                    continue;
                }
                self.pace(chat).await;
                let result = self
                    .bot
                    .send_message(ChatId(chat), text.clone())
                    .parse_mode(ParseMode::Html)
                    .link_preview_options(no_preview())
                    .disable_notification(silent)
                    .await;
                self.last_sent.insert(chat, Instant::now());
                let error = match result {
                    Ok(_) => {
                        progress.sent.insert((chat, index));
                        continue;
                    }
                    Err(e) => classify::classify(&e, chat, self.token.expose()),
                };
                match error {
                    SinkError::Permanent { message } => {
                        tracing::warn!(alert = %alert.id, chat, %message, "Telegram refused the alert for this chat.");
                        progress.given_up.push((chat, message));
                        break;
                    }
                    retry @ SinkError::Retry { .. } => {
                        self.progress = Some(progress);
                        return Err(retry);
                    }
                }
            }
        }
        if progress.given_up.is_empty() {
            return Ok(());
        }
        let delivered = self.chat_ids.len() - progress.given_up.len();
        let reasons: Vec<&str> = progress.given_up.iter().map(|(_, m)| m.as_str()).collect();
        Err(SinkError::Permanent {
            message: format!(
                "{} (delivered to {delivered} of {} chats)",
                reasons.join("; "),
                self.chat_ids.len()
            ),
        })
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

fn no_preview() -> LinkPreviewOptions {
    LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}
