//! The Bot API client shared by the sink and the command bot: building it (base URL, timeouts),
//! sending one outgoing item (a text piece or a photo with its caption) to one chat, and the
//! per-chat pacing. Knows teloxide; never decides what to send, never retries and never logs.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use teloxide::Bot;
use teloxide::RequestError;
use teloxide::payloads::{SendMessageSetters as _, SendPhotoSetters as _};
use teloxide::requests::Requester as _;
use teloxide::types::{ChatId, InputFile, LinkPreviewOptions, ParseMode};
use tokio::time::Instant;

use super::{TelegramSetupError, classify};
use crate::config::TelegramSinkConfig;
use crate::notify::secret::Secret;

/// teloxide's connect timeout; never longer than the whole request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// teloxide's whole-request timeout, used when the config asks for none (zero).
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(17);
/// How long teloxide waits after a 5xx reply before it reads the body (its
/// `DELAY_ON_SERVER_ERROR`, teloxide-core 0.13 `net/request.rs`).
pub(super) const SERVER_ERROR_PAUSE: Duration = Duration::from_secs(10);

/// Minimum gap between two messages to one private chat (positive id).
pub(super) const PRIVATE_GAP: Duration = Duration::from_secs(1);
/// Minimum gap between two messages to one group or channel (negative id): 20 a minute.
pub(super) const GROUP_GAP: Duration = Duration::from_secs(3);

/// One message as it goes out. HTML parse mode throughout.
#[derive(Clone, PartialEq, Eq)]
pub(super) enum Outgoing {
    /// A text of at most [`super::MAX_MESSAGE_LEN`].
    Text(String),
    /// A PNG from memory with a caption of at most [`super::MAX_CAPTION_LEN`] (may be empty).
    Photo { png: Vec<u8>, caption: String },
}

/// The PNG's size, not its bytes.
impl fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outgoing::Text(text) => f.debug_tuple("Text").field(text).finish(),
            Outgoing::Photo { png, caption } => f
                .debug_struct("Photo")
                .field("png_bytes", &png.len())
                .field("caption", caption)
                .finish(),
        }
    }
}

impl Outgoing {
    pub(super) fn is_photo(&self) -> bool {
        matches!(self, Outgoing::Photo { .. })
    }
}

/// The request timeout `config` asks for (zero keeps teloxide's default).
pub(super) fn request_timeout(config: &TelegramSinkConfig) -> Duration {
    if config.timeout.is_zero() {
        DEFAULT_TIMEOUT
    } else {
        config.timeout
    }
}

/// A Bot API client for `config.api_url`: the reply's headers, and then each piece of its body,
/// must come within `timeout`; the whole request ends after `timeout` plus teloxide's pause on a
/// 5xx. Without that margin a 5xx whose body teloxide reads only after its 10 s pause timed out
/// as "error decoding response body", losing the status; now the Bot API's own description
/// ("Internal Server Error") or the proxy's page arrives and is classified. No network traffic;
/// an error never shows the token.
pub(super) fn build_bot(
    config: &TelegramSinkConfig,
    token: &Secret,
    timeout: Duration,
) -> Result<Bot, TelegramSetupError> {
    let client = teloxide::net::default_reqwest_settings()
        .connect_timeout(timeout.min(CONNECT_TIMEOUT))
        .read_timeout(timeout)
        .timeout(timeout + SERVER_ERROR_PAUSE)
        .build()
        .map_err(|e| TelegramSetupError::Client(classify::scrub(&e.to_string(), token.expose())))?;
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
    Ok(bot.set_api_url(url))
}

/// `text` parsed as the type `like` has: reqwest's `Url`, which we cannot name, reqwest not
/// being a dependency of ours.
fn parse_as<U: FromStr>(_like: &U, text: &str) -> Result<U, U::Err> {
    text.parse()
}

/// Sends `item` to `chat` once; `silent` delivers without a notification sound.
pub(super) async fn send_one(
    bot: &Bot,
    chat: i64,
    item: &Outgoing,
    silent: bool,
) -> Result<(), RequestError> {
    match item {
        Outgoing::Text(text) => {
            bot.send_message(ChatId(chat), text.clone())
                .parse_mode(ParseMode::Html)
                .link_preview_options(no_preview())
                .disable_notification(silent)
                .await?;
        }
        Outgoing::Photo { png, caption } => {
            let photo = InputFile::memory(png.clone()).file_name("chart.png");
            let mut request = bot
                .send_photo(ChatId(chat), photo)
                .disable_notification(silent);
            if !caption.is_empty() {
                request = request.caption(caption.clone()).parse_mode(ParseMode::Html);
            }
            request.await?;
        }
    }
    Ok(())
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

/// Keeps a minimum gap between two messages to the same chat (Telegram's "about one a second
/// per chat, 20 a minute per group"); the rest of the flood control is Telegram's 429.
#[derive(Debug, Clone)]
pub(super) struct Pacer {
    pub(super) private_gap: Duration,
    pub(super) group_gap: Duration,
    last_sent: HashMap<i64, Instant>,
}

impl Pacer {
    pub(super) fn new(private_gap: Duration, group_gap: Duration) -> Pacer {
        Pacer {
            private_gap,
            group_gap,
            last_sent: HashMap::new(),
        }
    }

    /// Waits until `chat` may receive the next message (at most one gap).
    pub(super) async fn wait(&self, chat: i64) {
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

    /// Records that a message to `chat` just went out (or was tried).
    pub(super) fn sent(&mut self, chat: i64) {
        self.last_sent.insert(chat, Instant::now());
    }
}
