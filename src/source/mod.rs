//! Market-data sources: each turns a venue or a recording into exchange-neutral `SymbolEvent`s.
//! Sources never run analytics; they only read, convert and order.

pub mod binance;
pub mod replay;
