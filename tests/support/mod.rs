//! Helpers shared by the Telegram test crates: the fake Bot API.
// Each test crate uses a different part of it.
#![allow(dead_code)]

pub(crate) mod fake_bot_api;
