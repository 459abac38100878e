//! One coherent fake exchange: the REST fake's market played by the stream fake as its tape, so
//! REST and streams agree on pairs, bars and time. Lives beside both fakes (`super::` is where
//! `fake_binance_rest` and `fake_binance_ws` are, here and in the report bench); it holds no state
//! of its own.

use std::time::Duration;

use super::fake_binance_rest::MarketView;
use super::fake_binance_ws::Tape;

/// The REST fake's market as the stream fake's tape.
#[derive(Debug)]
pub(crate) struct Coherent(pub(crate) MarketView);

impl Tape for Coherent {
    fn now(&self) -> i64 {
        self.0.clock().now()
    }

    fn until(&self, t: i64) -> Duration {
        self.0.clock().until(t)
    }

    fn symbols(&self) -> Vec<String> {
        self.0.trading()
    }

    fn bar(&self, symbol: &str, open: i64) -> [String; 7] {
        self.0.bar(symbol, open)
    }
}
