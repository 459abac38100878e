//! The contract universe: USDT-quoted perpetuals that trade, narrowed by `[symbols]`, and what
//! changed since the last look. Owns the selection and the diff; must never schedule itself (the
//! live source refreshes it every `binance.discovery_interval`).

use std::collections::BTreeMap;

use tracing::warn;

use super::rest::{RestClient, RestError};
use super::wire::{Contract, ExchangeInfo};
use crate::config::SymbolFilter;
use crate::model::Symbol;

/// What changed between two looks at the universe, each list in symbol order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diff {
    /// Newly listed (or newly trading) contracts: warm them up, then follow them.
    pub added: Vec<Contract>,
    /// Contracts gone from the universe (delisted, settling, filtered out): stop following.
    pub removed: Vec<Symbol>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// Fetches `exchangeInfo` (weight 1) and selects the contracts liqwave follows.
pub async fn discover(
    client: &RestClient,
    filter: &SymbolFilter,
) -> Result<Vec<Contract>, RestError> {
    let info = client.exchange_info().await?;
    Ok(select(&info, filter))
}

/// The PERPETUAL, TRADING, USDT-quoted contracts `filter` accepts, in symbol order. A contract
/// whose entry cannot be used (no tick size, say) is logged and left out; the rest stand.
pub fn select(info: &ExchangeInfo, filter: &SymbolFilter) -> Vec<Contract> {
    let mut contracts = Vec::new();
    for entry in info.contracts() {
        match entry {
            Ok(contract) if filter.accepts(&contract.symbol) => contracts.push(contract),
            Ok(_) => {}
            Err(error) => {
                warn!(venue = "binance", error = %error, "Skipping an unusable exchangeInfo contract.");
            }
        }
    }
    contracts.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    contracts.dedup_by(|a, b| a.symbol == b.symbol);
    contracts
}

/// The contracts in `new` but not in `old`, and the symbols in `old` but not in `new`.
pub fn diff(old: &[Contract], new: &[Contract]) -> Diff {
    let old: BTreeMap<&Symbol, &Contract> = old.iter().map(|c| (&c.symbol, c)).collect();
    let new: BTreeMap<&Symbol, &Contract> = new.iter().map(|c| (&c.symbol, c)).collect();
    Diff {
        added: new
            .iter()
            .filter(|(s, _)| !old.contains_key(*s))
            .map(|(_, c)| (*c).clone())
            .collect(),
        removed: old
            .keys()
            .filter(|s| !new.contains_key(*s))
            .map(|s| (*s).clone())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::binance::wire::parse_exchange_info;

    fn contracts(names: &str) -> Vec<Contract> {
        names
            .split_whitespace()
            .map(|n| Contract {
                symbol: n.parse().unwrap(),
                tick_size: 0.01,
                listed_at: None,
                base_asset: n.trim_end_matches("USDT").to_owned(),
                quote_asset: "USDT".to_owned(),
            })
            .collect()
    }

    fn show(diff: &Diff) -> String {
        let added: Vec<&str> = diff.added.iter().map(|c| c.symbol.as_str()).collect();
        let removed: Vec<&str> = diff.removed.iter().map(Symbol::as_str).collect();
        format!("+[{}] -[{}]", added.join(" "), removed.join(" "))
    }

    /// One line per case: old universe, new universe, the diff.
    #[rustfmt::skip]
    const DIFFS: &[(&str, &str, &str)] = &[
        ("", "", "+[] -[]"),
        ("BTCUSDT ETHUSDT", "BTCUSDT ETHUSDT", "+[] -[]"),
        ("", "BTCUSDT ETHUSDT", "+[BTCUSDT ETHUSDT] -[]"),
        ("BTCUSDT ETHUSDT", "", "+[] -[BTCUSDT ETHUSDT]"),
        ("BTCUSDT ETHUSDT", "ETHUSDT SOLUSDT", "+[SOLUSDT] -[BTCUSDT]"),
        ("SOLUSDT BTCUSDT", "BTCUSDT ADAUSDT SOLUSDT", "+[ADAUSDT] -[]"),
    ];

    #[test]
    fn diff_table() {
        for (old, new, want) in DIFFS {
            let got = diff(&contracts(old), &contracts(new));
            assert_eq!(show(&got), *want, "{old:?} -> {new:?}");
            assert_eq!(got.is_empty(), want == &"+[] -[]");
        }
    }

    /// One line per case: include, exclude, the symbols selected from the real 2021 sample
    /// (BTCUSDT, ETHUSDT and 1000SHIBUSDT are USDT perpetuals that trade; BTCBUSD is quoted in
    /// BUSD, BTCSTUSDT has contractType "", BTCUSDT_210924 is a delivery contract).
    #[rustfmt::skip]
    const FILTERS: &[(&str, &str, &str)] = &[
        ("", "", "1000SHIBUSDT BTCUSDT ETHUSDT"),
        ("ETHUSDT BTCBUSD", "", "ETHUSDT"),
        ("", "1000SHIBUSDT", "BTCUSDT ETHUSDT"),
        ("BTCUSDT ETHUSDT", "ETHUSDT", "BTCUSDT"),
    ];

    #[test]
    fn selection_keeps_trading_usdt_perpetuals_the_filter_accepts() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/binance/exchangeInfo_sample.json"
        );
        let info = parse_exchange_info(&std::fs::read_to_string(path).unwrap()).unwrap();
        let symbols = |s: &str| s.split_whitespace().map(|n| n.parse().unwrap()).collect();
        for (include, exclude, want) in FILTERS {
            let filter = SymbolFilter {
                include: symbols(include),
                exclude: symbols(exclude),
            };
            let got: Vec<String> = select(&info, &filter)
                .iter()
                .map(|c| c.symbol.to_string())
                .collect();
            assert_eq!(
                got.join(" "),
                *want,
                "include {include:?} exclude {exclude:?}"
            );
        }
    }
}
