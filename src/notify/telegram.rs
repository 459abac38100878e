//! The Telegram sink: alerts as HTML messages through the Bot API (teloxide), split to Telegram's
//! limits, with transient and permanent failures told apart. Only this module knows Telegram.
