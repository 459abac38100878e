//! Market-data sources: each turns a venue or a recording into exchange-neutral `SymbolEvent`s.
//! Owns the contract every source keeps with the supervisor — what it is handed
//! ([`SourceContext`]), what it emits ([`Batch`]es in time order), how it reports its health —
//! so a source never imports the engine or the supervisor. Sources never run analytics; they
//! only read, convert and order.

pub mod binance;
pub mod bybit;
#[cfg(test)]
pub(crate) mod fuzz;
pub mod gaps;
mod health;
pub mod jitter;
pub mod lanes;
pub mod okx;
pub mod replay;
pub mod venues;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use health::SourceHealth;

use crate::metrics::Metrics;
use crate::model::{Symbol, SymbolEvent, TimeMs};

/// Events in time order, sent together to keep the channel's cost off the per-event path.
pub type Batch = Vec<SymbolEvent>;

/// Pairs the restored engine knows, with the open time of their last 5m bar: a live source
/// continues those series (back-filling the hole since) instead of warming them up again.
pub type Resume = HashMap<Symbol, TimeMs>;

/// A running source: feeds its batches until it is done or told to stop. An `Err` is fatal to a
/// daemon. It runs on the supervisor's own task (it need not be `Send`), beside the spawned ones.
pub type SourceTask = Pin<Box<dyn Future<Output = anyhow::Result<()>>>>;

/// What the supervisor hands the source it starts.
#[derive(Debug)]
pub struct SourceContext {
    /// The engine's market input: a full channel makes the source wait, a closed one ends it.
    pub events: mpsc::Sender<Batch>,
    /// Cancelled on SIGTERM/SIGINT or when another critical task failed: stop between batches.
    pub shutdown: CancellationToken,
    /// Where the source says it is warm and data arrives (systemd's watchdog reads it).
    pub health: Arc<SourceHealth>,
    /// Where the source registers what it counts.
    pub metrics: Arc<Metrics>,
    /// The last 5m bar of every pair the restored engine knows.
    pub resume: Resume,
}
