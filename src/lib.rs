//! liqwave watches Binance USDⓈ-M perpetual futures for traders who ride multi-week trend waves.
//! For every pair it keeps candles, a multi-timeframe RSI with its Cardwell regime and an
//! estimated liquidation heatmap; rules turn that state into alerts that sinks deliver.
//!
//! # Bird's-eye view
//!
//! ```text
//! source (replay | binance) ─> mpsc<Batch> ─> engine <─ mpsc<Command> (chat bot, summary clock)
//!                                               │ routes every alert once
//!                                               ├──> console (stdout, JSONL)
//!                                               └──> store (sled): pair snapshots + outbox, one
//!                                                    transaction per input ─> sink workers
//! ```
//!
//! `supervisor::topology` wires it once for replay and the daemon, with one shutdown order.
//!
//! # Code map, in reading order
//!
//! - [`model`]: exchange-neutral vocabulary (symbols, intervals, candles, events, alerts).
//! - [`clock`]: the one clock, read only at the edges.
//! - [`config`]: TOML → validated [`config::Config`]; every problem reported at once.
//! - [`analytics`]: pure state machines: candle aggregation, RSI, regime, pivots, entry trigger,
//!   the liquidation heatmap and its clusters, and the statistics of model validation.
//! - [`rules`]: pure functions from analytic signals to [`model::Alert`]s.
//! - [`view`]: read-only views of engine state (pairs, board, setups, the summary, chart data).
//! - [`schedule`]: when the daily summary is due (local time, IANA zone, grace on start); pure.
//! - [`store`]: sled behind a typed API (snapshots, outbox, sent log, dead letters, mutes).
//! - [`source`]: the source contract, and where events come from: recorded data, or Binance live
//!   (wire types, REST with its weight budget, warm-up, streams, gap back-fill).
//! - [`engine`]: the single owner of all per-pair state; market batches and commands in, one
//!   commit per input.
//! - [`notify`]: the `Sink` trait and the sinks (console, JSONL file, Telegram with its bot,
//!   email with the daily summary) and the PNG charts.
//! - [`metrics`]: the Prometheus registry of `liqwave run`, which components register their own
//!   series in, and its `/metrics` endpoint.
//! - [`supervisor`]: builds and spawns every task (the pipeline, the delivery workers, the
//!   daemon's services); the only place that spawns.
//! - [`backtest`]: the engine over recorded data, every alert scored on later bars.
//! - [`telemetry`]: logging setup.
//! - [`numbers`]: prices and USD amounts as people read them.
//! - [`cli`]: the subcommands.
//!
//! # Invariants
//!
//! - `analytics` and `rules` do no I/O and never read the clock: time arrives in the data.
//! - One engine task owns all pair state; ordering is the order of its inputs, so replays are
//!   deterministic and alert ids are stable.
//! - Venue names (Binance wire formats) stay in `source`; only `model` types leave it.
//! - Only `supervisor` spawns long-lived tasks.
//! - Imports point down (the table in `tests/it/imports.rs`).

pub mod analytics;
pub mod backtest;
pub mod cli;
pub mod clock;
pub mod config;
pub mod engine;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod numbers;
pub mod rules;
pub mod schedule;
pub mod source;
pub mod store;
pub mod supervisor;
pub mod telemetry;
pub mod view;
