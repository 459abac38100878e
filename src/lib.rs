//! liqwave watches Binance USDⓈ-M perpetual futures for traders who ride multi-week trend waves.
//! For every pair it keeps candles, a multi-timeframe RSI with its Cardwell regime and an
//! estimated liquidation heatmap; rules turn that state into alerts that sinks deliver.
//!
//! # Bird's-eye view
//!
//! ```text
//! source (replay | binance) ─> mpsc<Input> ─> engine ─> console
//!                                               │  └──> store (sled): pair snapshots + outbox,
//!                                               │       one transaction per batch ─> sink workers
//!                                               │
//!                                               └─ PairState per symbol: aggregation 1m/5m → 4h/1d/1w,
//!                                                  RSI, regime, 50-cross, pivots, divergence, entry;
//!                                                  heatmap stepped every 5m, clusters, daily ATR
//! ```
//!
//! # Code map, in reading order
//!
//! - [`model`]: exchange-neutral vocabulary (symbols, intervals, candles, events, alerts).
//! - [`config`]: TOML → validated [`config::Config`]; every problem reported at once.
//! - [`analytics`]: pure state machines: candle aggregation, RSI, regime, pivots, entry trigger,
//!   the liquidation heatmap and its clusters, and the statistics of model validation.
//! - [`rules`]: pure functions from analytic signals to [`model::Alert`]s.
//! - [`schedule`]: when the daily summary is due (local time, IANA zone, grace on start); pure.
//! - [`engine`]: the single owner of all per-pair state; one input enum, one loop, one commit
//!   per input batch.
//! - [`store`]: sled behind a typed API (snapshots, outbox, sent log, dead letters, mutes).
//! - [`source`]: where events come from: recorded data, or Binance live (wire types, REST with
//!   its weight budget, warm-up, streams, gap back-fill).
//! - [`notify`]: the `Sink` trait, the delivery worker (order, retries, digests, dead letters),
//!   the sinks (console, JSONL file, Telegram with its bot, email with the daily summary) and the
//!   PNG charts.
//! - [`view`]: read-only views of engine state (pairs, board, setups lining up, the summary).
//! - [`supervisor`]: builds and spawns every task (replay, the `run` daemon, systemd notify, the
//!   summary clock); the only place that spawns.
//! - [`telemetry`]: logging setup.
//! - [`metrics`]: the Prometheus registry of `liqwave run` and its `/metrics` endpoint.
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

pub mod analytics;
pub mod backtest;
pub mod cli;
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
