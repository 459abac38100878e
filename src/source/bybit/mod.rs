//! The Bybit v5 live source: linear USDT perpetuals, their bars, marks, open interest, funding,
//! liquidations and first margin tier, as exchange-neutral events under `BYBIT:` symbols. Owns
//! everything Bybit-specific (facts in docs/venues/bybit.md); must never spawn a task, import the
//! engine or register metrics in the shared registry (its counters are exposed instead).

mod live;
pub mod rest;
pub mod warmup;
pub mod wire;
pub mod ws;

pub use live::{BybitCounters, BybitError, BybitOptions, run_bybit};
pub use warmup::WarmupPlan;
