//! The command bot: long-polls `getUpdates` (no inbound port), answers commands from the
//! configured chats only, and sends the answers with the sink's client, pacing and scrubbing.
//! Transient failures are retried here with capped backoff and never escalate; only a refused
//! token or a webhook in the way end it. Never spawns, never blocks the engine (every wait on it
//! is bounded, see `ask`), never logs the token.

mod ask;

use std::collections::HashSet;
use std::time::Duration;

use teloxide::Bot;
use teloxide::payloads::GetUpdatesSetters as _;
use teloxide::requests::{Request as _, Requester as _};
use teloxide::types::{AllowedUpdate, Update, UpdateKind};
use teloxide::{ApiError, RequestError};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::api::{self, GROUP_GAP, Outgoing, PRIVATE_GAP, Pacer};
use super::commands::parse_command;
use super::render::esc;
use super::{TelegramSetupError, classify, compose};
use crate::config::TelegramSinkConfig;
use crate::engine::Command;
use crate::notify::SinkError;
use crate::notify::secret::Secret;

/// Attempts to send one piece of an answer; the chat can always ask again.
const REPLY_ATTEMPTS: u32 = 3;
/// Longest wait between two attempts at an answer, whatever Telegram's retry-after says.
const MAX_REPLY_WAIT: Duration = Duration::from_secs(30);
/// How long the last `getUpdates` that confirms the answered updates may take at shutdown.
const CONFIRM_BOUND: Duration = Duration::from_secs(3);

/// What the bot needs from the rest of the daemon.
#[derive(Debug)]
pub struct BotContext {
    /// Queries, mutes and unmutes for the engine: the bot asks the engine, never the store.
    /// Dropped when the bot returns, so the engine can drain and stop.
    pub commands: mpsc::Sender<Command>,
    /// When the daemon started, for the uptime in `/status`.
    pub started: Instant,
    /// Cancelled at shutdown: the bot returns within one step, after telling Telegram which
    /// updates it answered.
    pub shutdown: CancellationToken,
}

/// Timings of the bot; [`Default`] is what production uses, tests shorten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BotOptions {
    /// How long Telegram may hold one `getUpdates` open (long poll). Each request's timeout is
    /// this plus the configured per-request timeout.
    pub poll: Duration,
    /// How long a command waits for the engine before the chat hears it is busy.
    pub answer_timeout: Duration,
    /// Backoff after a failed poll: doubles from `backoff_initial` up to `backoff_max`, resets
    /// after a success; Telegram's retry-after wins.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Minimum gap between two answers to one private chat, and to one group.
    pub private_gap: Duration,
    pub group_gap: Duration,
}

impl Default for BotOptions {
    fn default() -> Self {
        BotOptions {
            poll: Duration::from_secs(25),
            answer_timeout: Duration::from_secs(10),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            private_gap: PRIVATE_GAP,
            group_gap: GROUP_GAP,
        }
    }
}

/// Why the bot stopped for good. Transient trouble never ends up here.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error(transparent)]
    Setup(#[from] TelegramSetupError),
    /// Telegram does not know the token (401 Unauthorized, or 404 for a malformed one).
    #[error("telegram commands: the bot token was refused ({message}); fix the token")]
    BadToken { message: String },
    /// A webhook is set for this bot, and Telegram serves updates to it instead.
    #[error(
        "telegram commands: getUpdates is refused while a webhook is set ({message}); remove it \
         (deleteWebhook) or turn sinks.telegram.commands off"
    )]
    WebhookActive { message: String },
}

impl BotError {
    /// The token itself is wrong: the Telegram sink will fail the same way.
    pub fn is_bad_token(&self) -> bool {
        matches!(self, BotError::BadToken { .. })
    }
}

/// Answers commands until shutdown, with the production timings; returns at once when
/// `config.commands` is false. The supervisor spawns it.
pub async fn run_bot(
    config: &TelegramSinkConfig,
    token: Secret,
    cx: BotContext,
) -> Result<(), BotError> {
    run_bot_with(config, token, cx, BotOptions::default()).await
}

/// [`run_bot`] with chosen timings.
pub async fn run_bot_with(
    config: &TelegramSinkConfig,
    token: Secret,
    cx: BotContext,
    options: BotOptions,
) -> Result<(), BotError> {
    if config.chat_ids.is_empty() {
        return Err(TelegramSetupError::NoChats.into());
    }
    if !config.commands {
        tracing::info!(
            "Telegram commands are off (sinks.telegram.commands = false); the bot only sends."
        );
        return Ok(());
    }
    let request = api::request_timeout(config);
    let runner = Runner {
        sender: api::build_bot(config, &token, request)?,
        poller: api::build_bot(config, &token, options.poll + request)?,
        token,
        chats: config.chat_ids.clone(),
        pacer: Pacer::new(options.private_gap, options.group_gap),
        options,
        cx,
        me: None,
        ignored: HashSet::new(),
    };
    runner.run().await
}

/// The bot while it runs.
struct Runner {
    /// Answers and `getMe`, with the configured request timeout.
    sender: Bot,
    /// `getUpdates`, whose timeout covers the long poll.
    poller: Bot,
    token: Secret,
    chats: Vec<i64>,
    pacer: Pacer,
    options: BotOptions,
    cx: BotContext,
    /// The bot's username, from `getMe`: commands `@` another bot are not ours.
    me: Option<String>,
    /// Chats not configured that wrote to the bot; each is logged once.
    ignored: HashSet<i64>,
}

impl Runner {
    async fn run(mut self) -> Result<(), BotError> {
        let shutdown = self.cx.shutdown.clone();
        let mut backoff = self.options.backoff_initial;
        // The next update wanted, and the offset Telegram last heard (it drops what is below).
        let (mut offset, mut confirmed) = (0_i32, 0_i32);
        'run: loop {
            if self.me.is_none() {
                let got = tokio::select! {
                    got = self.sender.get_me().send() => got,
                    () = shutdown.cancelled() => break 'run,
                };
                match got {
                    Ok(me) => {
                        let name = me.user.username.clone().unwrap_or_default();
                        tracing::info!(bot = %name, chats = self.chats.len(), "Telegram commands are listening.");
                        self.me = Some(name);
                        backoff = self.options.backoff_initial;
                    }
                    Err(e) => {
                        if !self.pause(&e, &mut backoff, &shutdown).await? {
                            break 'run;
                        }
                    }
                }
                continue;
            }
            let request = self
                .poller
                .get_updates()
                .offset(offset)
                .timeout(self.options.poll.as_secs() as u32)
                .allowed_updates([AllowedUpdate::Message]);
            let polled = tokio::select! {
                polled = request.send() => polled,
                () = shutdown.cancelled() => break 'run,
            };
            let updates = match polled {
                Ok(updates) => updates,
                Err(e) => {
                    if !self.pause(&e, &mut backoff, &shutdown).await? {
                        break 'run;
                    }
                    continue;
                }
            };
            confirmed = offset;
            backoff = self.options.backoff_initial;
            for update in updates {
                let next = i32::try_from(update.id.0)
                    .unwrap_or(i32::MAX)
                    .saturating_add(1);
                tokio::select! {
                    () = self.handle(update) => {}
                    // Unconfirmed, so Telegram offers it again after a restart.
                    () = shutdown.cancelled() => break 'run,
                }
                offset = offset.max(next);
            }
        }
        if offset > confirmed {
            self.confirm(offset).await;
        }
        tracing::info!("Telegram commands stopped.");
        Ok(())
    }

    /// After a failed request: `Err` when it can never succeed, else waits out the backoff
    /// (`false`: shutdown came first).
    async fn pause(
        &self,
        error: &RequestError,
        backoff: &mut Duration,
        shutdown: &CancellationToken,
    ) -> Result<bool, BotError> {
        let message = classify::describe(error, self.token.expose());
        let wait = match error {
            RequestError::Api(ApiError::InvalidToken) => {
                return Err(BotError::BadToken { message });
            }
            RequestError::Api(ApiError::CantGetUpdates) => {
                return Err(BotError::WebhookActive { message });
            }
            RequestError::Api(ApiError::Unknown(text)) if text.contains("webhook is active") => {
                return Err(BotError::WebhookActive { message });
            }
            RequestError::RetryAfter(after) => after.duration(),
            _ => *backoff,
        };
        *backoff = (*backoff * 2).min(self.options.backoff_max);
        tracing::warn!(retry_in_ms = wait.as_millis() as u64, error = %message, "Telegram polling failed; retrying.");
        tokio::select! {
            () = tokio::time::sleep(wait) => Ok(true),
            () = shutdown.cancelled() => Ok(false),
        }
    }

    /// Tells Telegram that every update below `offset` is answered, so a restart does not
    /// answer them again. Best effort, bounded.
    async fn confirm(&self, offset: i32) {
        let request = self.poller.get_updates().offset(offset).timeout(0).limit(1);
        match tokio::time::timeout(CONFIRM_BOUND, request.send()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                let error = classify::describe(&e, self.token.expose());
                tracing::warn!(%error, "Could not confirm the answered commands; a restart may answer them again.");
            }
            Err(_) => {
                tracing::warn!(
                    "Could not confirm the answered commands in time; a restart may answer them again."
                );
            }
        }
    }

    async fn handle(&mut self, update: Update) {
        let UpdateKind::Message(message) = update.kind else {
            return;
        };
        let chat = message.chat.id.0;
        if !self.chats.contains(&chat) {
            if self.ignored.insert(chat) {
                tracing::warn!(
                    chat,
                    "Ignoring messages from a chat that is not in sinks.telegram.chat_ids."
                );
            }
            return;
        }
        let Some(text) = message.text() else {
            return;
        };
        let me = self.me.as_deref().filter(|m| !m.is_empty());
        let answer = match parse_command(text, me) {
            None => return,
            Some(Ok(command)) => {
                tracing::info!(chat, %command, "Answering a command.");
                self.answer(&command).await
            }
            Some(Err(reply)) => Answer::text(esc(&reply)),
        };
        self.reply(chat, answer).await;
    }

    /// Sends `answer` to `chat`: the photo with the head of the text as its caption, or the
    /// text alone when there is no photo or the chat refuses it.
    async fn reply(&mut self, chat: i64, answer: Answer) {
        let items = match answer.photo {
            Some(png) => compose::with_photo(&answer.html, png),
            None => compose::text_only(&answer.html),
        };
        for item in &items {
            match self.send(chat, item).await {
                Sent::Yes => {}
                Sent::PhotoRefused => {
                    for text in compose::text_only(&answer.html) {
                        if self.send(chat, &text).await != Sent::Yes {
                            return;
                        }
                    }
                    return;
                }
                Sent::No => return,
            }
        }
    }

    /// One piece to one chat, paced, with a few bounded retries.
    async fn send(&mut self, chat: i64, item: &Outgoing) -> Sent {
        for attempt in 1..=REPLY_ATTEMPTS {
            self.pacer.wait(chat).await;
            let result = api::send_one(&self.sender, chat, item, false).await;
            self.pacer.sent(chat);
            let Err(e) = result else { return Sent::Yes };
            if item.is_photo() && classify::photo_refused(&e) {
                let error = classify::describe(&e, self.token.expose());
                tracing::warn!(chat, %error, "Telegram refused the answer's image; sending the text alone.");
                return Sent::PhotoRefused;
            }
            match classify::classify(&e, chat, self.token.expose()) {
                SinkError::Retry { after, message } if attempt < REPLY_ATTEMPTS => {
                    let wait = after
                        .unwrap_or(self.options.backoff_initial)
                        .min(MAX_REPLY_WAIT);
                    tracing::warn!(chat, attempt, retry_in_ms = wait.as_millis() as u64, error = %message, "Could not send a command's answer; retrying.");
                    tokio::time::sleep(wait).await;
                }
                error => {
                    tracing::warn!(chat, attempt, %error, "Could not send a command's answer; giving up on it.");
                    return Sent::No;
                }
            }
        }
        Sent::No
    }
}

/// An answer: HTML, and an image to go with it.
#[derive(Debug)]
struct Answer {
    html: String,
    photo: Option<Vec<u8>>,
}

impl Answer {
    fn text(html: String) -> Answer {
        Answer { html, photo: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Yes,
    PhotoRefused,
    No,
}
