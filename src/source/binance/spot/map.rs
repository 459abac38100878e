//! Which spot market stands beside which perpetual: the same base asset, the same quote asset,
//! trading. Pure: no I/O, no clock. A perpetual without such a market is simply not mapped (its
//! spot signal reads `unknown`); nothing is scaled, since quote volume is in the quote asset on
//! both sides.

use std::collections::BTreeMap;

use super::wire::SpotMarket;
use crate::model::Symbol;
use crate::source::binance::wire::Contract;

/// Multipliers Binance puts before a perpetual's base asset when one unit is too cheap to
/// trade (`1000PEPE`, `1000000MOG`, `1MBABYDOGE`); the spot market lists the bare asset. Longest
/// first, so `1000000` is not read as `1000` followed by `000`.
const MULTIPLIERS: [&str; 3] = ["1000000", "1000", "1M"];

/// The spot base asset of a perpetual's base asset: `1000PEPE` → `PEPE`, `BTC` → `BTC`. A
/// prefix is stripped only when something is left (`1000` alone stays `1000`).
pub fn spot_base(perp_base: &str) -> &str {
    MULTIPLIERS
        .iter()
        .find_map(|m| perp_base.strip_prefix(m).filter(|rest| !rest.is_empty()))
        .unwrap_or(perp_base)
}

/// The spot market of each perpetual that has one, keyed by the perpetual. Among several
/// matches (never seen; Binance lists one symbol per base and quote) the first in `spot` wins.
pub fn map_pairs(perps: &[Contract], spot: &[SpotMarket]) -> BTreeMap<Symbol, Symbol> {
    let mut by_assets: BTreeMap<(&str, &str), &Symbol> = BTreeMap::new();
    for market in spot.iter().filter(|m| m.trading) {
        by_assets
            .entry((market.base.as_str(), market.quote.as_str()))
            .or_insert(&market.symbol);
    }
    perps
        .iter()
        .filter_map(|c| {
            let key = (spot_base(&c.base_asset), c.quote_asset.as_str());
            let spot = by_assets.get(&key)?;
            Some((c.symbol.clone(), (*spot).clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One line per case: the perpetual's base asset, the spot base asset.
    #[rustfmt::skip]
    const BASES: &[(&str, &str)] = &[
        ("BTC", "BTC"),
        ("1000PEPE", "PEPE"),
        ("1000SHIB", "SHIB"),
        ("1000000MOG", "MOG"),
        ("1MBABYDOGE", "BABYDOGE"),
        ("1000", "1000"),
        ("1INCH", "1INCH"),
        ("", ""),
    ];

    #[test]
    fn multiplier_prefixes_are_stripped() {
        for &(perp, spot) in BASES {
            assert_eq!(spot_base(perp), spot, "{perp}");
        }
    }

    fn contract(symbol: &str, base: &str, quote: &str) -> Contract {
        Contract {
            symbol: symbol.parse().unwrap(),
            tick_size: 0.01,
            listed_at: None,
            base_asset: base.to_owned(),
            quote_asset: quote.to_owned(),
        }
    }

    fn market(symbol: &str, base: &str, quote: &str, trading: bool) -> SpotMarket {
        SpotMarket {
            symbol: symbol.parse().unwrap(),
            base: base.to_owned(),
            quote: quote.to_owned(),
            trading,
        }
    }

    /// A perpetual: symbol, base asset, quote asset.
    type Perp = (&'static str, &'static str, &'static str);

    /// One line per case: the perpetual, the spot market it maps to.
    #[rustfmt::skip]
    const PAIRS: &[(Perp, Option<&str>)] = &[
        (("BTCUSDT", "BTC", "USDT"), Some("BTCUSDT")),
        (("1000PEPEUSDT", "1000PEPE", "USDT"), Some("PEPEUSDT")),
        (("1MBABYDOGEUSDT", "1MBABYDOGE", "USDT"), Some("BABYDOGEUSDT")),
        // Only a BTC-quoted spot market: not the same quote, not mapped.
        (("ETCUSDT", "ETC", "USDT"), None),
        // The spot market is BREAK (halted), not TRADING.
        (("LUNAUSDT", "LUNA", "USDT"), None),
        // No spot market at all (a perp-only listing).
        (("SYNUSDT", "SYN", "USDT"), None),
        // An empty base asset (a venue that left it out) matches nothing.
        (("XYZUSDT", "", "USDT"), None),
    ];

    #[test]
    fn perpetuals_map_to_the_trading_spot_market_of_their_base_and_quote() {
        let spot = [
            market("BTCUSDT", "BTC", "USDT", true),
            market("BTCFDUSD", "BTC", "FDUSD", true),
            market("PEPEUSDT", "PEPE", "USDT", true),
            market("BABYDOGEUSDT", "BABYDOGE", "USDT", true),
            market("ETCBTC", "ETC", "BTC", true),
            market("LUNAUSDT", "LUNA", "USDT", false),
        ];
        let perps: Vec<Contract> = PAIRS
            .iter()
            .map(|((s, b, q), _)| contract(s, b, q))
            .collect();
        let mapped = map_pairs(&perps, &spot);
        for ((perp, ..), want) in PAIRS {
            let got = mapped.get(&perp.parse::<Symbol>().unwrap());
            assert_eq!(got.map(Symbol::as_str), *want, "{perp}");
        }
    }
}
