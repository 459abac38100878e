//! The OKX v5 live source: USDT-margined perpetual swaps (`BTC-USDT-SWAP` → `OKX:BTCUSDT`) fed
//! to the engine like Binance's. Owns every OKX name, URL and wire format; must never run
//! analytics, register metrics in the shared registry, or spawn a task.

pub mod live;
pub mod rest;
pub mod warmup;
pub mod wire;
pub mod ws;

pub use live::{OkxError, OkxOptions, run_okx, run_okx_counted};
pub use ws::Counters as OkxCounters;
