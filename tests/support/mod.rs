//! Helpers shared by the sink test crates: the fake Bot API and real alerts of each kind.
// Each test crate uses a different part of it.
#![allow(dead_code)]

pub(crate) mod alerts;
pub(crate) mod fake_bot_api;
