//! The integration tests, as one test binary: each module below was its own binary, and each
//! binary linked the whole library again. Run one module with `cargo test --test it daemon::`.
//!
//! All tests share this process, on parallel threads, so none may change what is process-wide:
//! a server binds `127.0.0.1:0` (a peer that must be down is a [`support::net::ClosedPort`],
//! never a port bound and released), logs are read through [`support::logs::capture`], whatever
//! is installed once per process (the rustls provider, the log subscriber) goes through a
//! once-initialiser, and environment and working directory are set per child process only.

// The builders in src/model/testing.rs (`support::testing`) name the library's modules as
// `crate::model` and `crate::store`, as they do compiled into the library's unit tests.
use liqwave::{model, store};

mod alert_list;
mod binance_rest;
mod binance_ws;
mod bybit;
mod chart_examples;
mod cli;
mod config;
mod daemon;
mod deploy;
mod durable;
mod email;
mod heatmap_cli;
mod heatmap_real_data;
mod imports;
mod live;
mod loading_real_data;
mod metrics;
mod okx;
mod oracle;
mod realized;
mod replay;
mod replay_source;
mod run_check;
mod secrets;
mod spot;
mod support;
mod telegram;
mod telegram_bot;
mod tidy;
mod validate_cli;
mod venues;
