//! Binance USDⓈ-M: everything that carries a Binance name (wire formats, endpoints, streams).
//! Only `model` types and this module's errors leave it; no Binance name may leak outside.

pub mod budget;
pub mod discovery;
pub mod live;
pub mod rest;
pub mod spot;
pub mod warmup;
pub mod wire;
pub mod ws;
