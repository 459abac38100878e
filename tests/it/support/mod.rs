//! Helpers shared by the test modules: fake peers on 127.0.0.1 (Binance REST and streams, the
//! Bot API, SMTP), the alert and store builders, and what tests sharing one process need (ports
//! kept closed, captured logs). Owns no test of its own.

pub(crate) mod coherent;
pub(crate) mod demo;
pub(crate) mod fake_binance_rest;
pub(crate) mod fake_binance_spot;
pub(crate) mod fake_binance_ws;
pub(crate) mod fake_bot_api;
pub(crate) mod fake_bybit;
pub(crate) mod fake_okx;
pub(crate) mod logs;
pub(crate) mod net;
pub(crate) mod smtp;
/// The library's own test builders, so unit and integration tests build alerts and stores one
/// way: `demo`, `alert(…)…build()`, `temp_store`, `open_store`.
#[path = "../../../src/model/testing.rs"]
pub(crate) mod testing;
