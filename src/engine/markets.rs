//! Which pairs are one market seen on several venues (same base and quote asset), and which of
//! them is its home: the first followed venue in `Venue` order (Binance, Bybit, OKX). The home
//! pair raises the market's alerts and holds its combined map; the others feed that map and raise
//! nothing, so a trader never gets the same regime change three times. Owns only the membership;
//! must never hold pair state.

use std::collections::HashMap;

use crate::model::{Instrument, Symbol};

/// A market: base and quote asset.
type Key = (Box<str>, Box<str>);

#[derive(Debug, Default)]
pub(super) struct Markets {
    of: HashMap<Symbol, Key>,
    /// Home first, then by venue and symbol.
    members: HashMap<Key, Vec<Symbol>>,
}

impl Markets {
    /// Adds `symbol` to its market; returns every member when that changed who is home or who
    /// belongs (the caller refreshes their roles), `None` when nothing changed.
    pub(super) fn join(&mut self, symbol: &Symbol) -> Option<&[Symbol]> {
        if self.of.contains_key(symbol) {
            return None;
        }
        let i = Instrument::of(symbol)?;
        let key: Key = (i.base, i.quote);
        self.of.insert(symbol.clone(), key.clone());
        let members = self.members.entry(key).or_default();
        members.push(symbol.clone());
        members.sort_by(|a, b| (a.venue(), a).cmp(&(b.venue(), b)));
        Some(members)
    }

    /// Every member of `symbol`'s market, home first; just itself when it has no market.
    pub(super) fn members<'a>(&'a self, symbol: &'a Symbol) -> &'a [Symbol] {
        match self.of.get(symbol) {
            Some(key) => &self.members[key],
            None => std::slice::from_ref(symbol),
        }
    }

    /// The home pair of `symbol`'s market: what a batch groups its events by, so one thread
    /// steps a whole market in input order.
    pub(super) fn home<'a>(&'a self, symbol: &'a Symbol) -> &'a Symbol {
        &self.members(symbol)[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbols(texts: &[&str]) -> Vec<Symbol> {
        texts.iter().map(|t| t.parse().unwrap()).collect()
    }

    /// A symbol and its market's members, home first.
    type Market = (&'static str, &'static [&'static str]);

    /// One line per case: the symbols joined in order, then each one's market, home first.
    #[rustfmt::skip]
    const MARKETS: &[(&[&str], &[Market])] = &[
        (&["OKX:BTCUSDT", "BYBIT:BTCUSDT", "BTCUSDT"], &[("OKX:BTCUSDT", &["BTCUSDT", "BYBIT:BTCUSDT", "OKX:BTCUSDT"])]),
        (&["BTCUSDT", "BTCUSDC"], &[("BTCUSDC", &["BTCUSDC"]), ("BTCUSDT", &["BTCUSDT"])]),
        (&["BYBIT:1000PEPEUSDT", "OKX:PEPEUSDT"], &[("OKX:PEPEUSDT", &["BYBIT:1000PEPEUSDT", "OKX:PEPEUSDT"])]),
        (&["BTCEUR"], &[("BTCEUR", &["BTCEUR"])]),
    ];

    #[test]
    fn a_market_is_its_base_and_quote_on_every_venue_home_first() {
        for &(joined, want) in MARKETS {
            let mut markets = Markets::default();
            for s in symbols(joined) {
                markets.join(&s);
            }
            for &(symbol, members) in want {
                let symbol: Symbol = symbol.parse().unwrap();
                assert_eq!(markets.members(&symbol), symbols(members), "{joined:?}");
                assert_eq!(markets.home(&symbol), &symbols(members)[0]);
            }
        }
    }

    #[test]
    fn joining_twice_changes_nothing() {
        let mut markets = Markets::default();
        let btc: Symbol = "BTCUSDT".parse().unwrap();
        assert!(markets.join(&btc).is_some());
        assert!(markets.join(&btc).is_none());
        assert_eq!(markets.members(&btc).len(), 1);
    }
}
