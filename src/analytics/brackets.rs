//! Maintenance-margin rate and maximum leverage per symbol, for the liquidation-heatmap kernel.
//! Owns the shipped default table and the documented fallback; must never fetch brackets itself
//! (the live table needs a signed call, which belongs to the source layer).
//!
//! The table is a `const` transcription of the first (smallest-notional) bracket of every symbol
//! and shared alt table in `tests/fixtures/binance/brackets/usdm_brackets_selected_2026-09-16.json`
//! (Binance's public web bracket feed, fetched 2026-09-16; see that file's `_provenance`). A const
//! table rather than `include_str!` + JSON parsing because it keeps `src/` independent of the test
//! fixtures, costs nothing at run time and cannot fail to parse; the test at the bottom re-reads
//! the JSON and proves the two agree, so a refreshed fixture that is not re-transcribed fails CI.
//!
//! Why the first bracket: the heatmap places *typical* positions, and the high-leverage tiers that
//! dominate the near-price map are only allowed in the first bracket (heatmap-model.md §5.2).

use serde::{Deserialize, Serialize};

use crate::model::Symbol;

/// How a symbol's positions are margined, as the heatmap kernel needs it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MarginSpec {
    /// Maintenance-margin rate of the first bracket, as a fraction (0.004 = 0.4 %).
    pub mmr: f64,
    /// Highest leverage the first bracket allows; kernel tiers above it are capped to it.
    pub max_leverage: f64,
}

/// Where a symbol's [`MarginSpec`] came from, so outputs can say when a fallback was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarginSource {
    /// The shipped bracket table (a real Binance snapshot).
    Table,
    /// DESIGN.md §3 fallback: 0.4 % for BTC/ETH, 0.5 % otherwise, 50× max leverage.
    Fallback,
}

/// DESIGN.md §3: maintenance rate when no bracket is known, for BTCUSDT and ETHUSDT.
pub const FALLBACK_MMR_MAJOR: f64 = 0.004;
/// DESIGN.md §3: maintenance rate when no bracket is known, for every other symbol.
pub const FALLBACK_MMR_OTHER: f64 = 0.005;
/// heatmap-model.md §5.2: maximum leverage when no bracket is known. Most alt tables in the
/// snapshot allow 50–75× in their first bracket; 50 is the conservative end of that.
pub const FALLBACK_MAX_LEVERAGE: f64 = 50.0;

const fn spec(mmr: f64, max_leverage: f64) -> MarginSpec {
    MarginSpec { mmr, max_leverage }
}

// First brackets of the tables in the fixture, `[floor, cap, max_leverage, mmr, cum]`:
/// Table t123 (BTCUSDT) and t154 (ETHUSDT): 0–300k, 150×, 0.4 %.
const T123_T154: MarginSpec = spec(0.004, 150.0);
/// Table t18 (SOLUSDT): 0–50k, 100×, 0.5 %.
const T18: MarginSpec = spec(0.005, 100.0);
/// Table t143 (DOGEUSDT): 0–80k, 75×, 0.65 %.
const T143: MarginSpec = spec(0.0065, 75.0);
/// Tables t0 ("fallback") and t2, shared by many small alts: 0–5k, 50×, 1.5 %.
const T0_T2: MarginSpec = spec(0.015, 50.0);
/// Tables t5 and t11, shared by mid-cap alts: 0–5k, 75×, 1 %.
const T5_T11: MarginSpec = spec(0.01, 75.0);
/// Binance's `DEFAULT_BRACKETS` table (t137): 0–5k, 25×, 2 %. Exposed for callers that prefer
/// the exchange default to the DESIGN.md fallback for unlisted symbols; not used by
/// [`margin_for`], because DESIGN.md §3 names the fallback explicitly.
pub const BINANCE_DEFAULT_BRACKETS: MarginSpec = spec(0.02, 25.0);

/// Symbol → first bracket, transcribed from the fixture (see the module docs).
const TABLE: &[(&str, MarginSpec)] = &[
    ("BTCUSDT", T123_T154),
    ("ETHUSDT", T123_T154),
    ("SOLUSDT", T18),
    ("DOGEUSDT", T143),
    // t0_fallback
    ("AEVOUSDT", T0_T2),
    ("ALICEUSDT", T0_T2),
    ("API3USDT", T0_T2),
    ("AIXBTUSDT", T0_T2),
    ("ARKMUSDT", T0_T2),
    ("BOMEUSDT", T0_T2),
    ("PNUTUSDT", T0_T2),
    // t2
    ("0GUSDT", T0_T2),
    ("ACHUSDT", T0_T2),
    ("APEUSDT", T0_T2),
    ("ANKRUSDT", T0_T2),
    ("CELOUSDT", T0_T2),
    ("ORDIUSDT", T0_T2),
    // t5
    ("1INCHUSDT", T5_T11),
    ("ARUSDT", T5_T11),
    ("AXSUSDT", T5_T11),
    ("CHZUSDT", T5_T11),
    ("GALAUSDT", T5_T11),
    ("1000LUNCUSDT", T5_T11),
    ("EGLDUSDT", T5_T11),
    // t11
    ("ALGOUSDT", T5_T11),
    ("CAKEUSDT", T5_T11),
    ("DASHUSDT", T5_T11),
    ("RENDERUSDT", T5_T11),
    ("SANDUSDT", T5_T11),
    ("WIFUSDT", T5_T11),
    ("XMRUSDT", T5_T11),
];

/// The margin spec of `symbol` and where it came from.
pub fn lookup(symbol: &Symbol) -> (MarginSpec, MarginSource) {
    match TABLE.iter().find(|(s, _)| *s == symbol.as_str()) {
        Some((_, m)) => (*m, MarginSource::Table),
        None => (fallback(symbol), MarginSource::Fallback),
    }
}

/// The margin spec of `symbol`: the shipped table, else the DESIGN.md §3 fallback.
pub fn margin_for(symbol: &Symbol) -> MarginSpec {
    lookup(symbol).0
}

/// DESIGN.md §3 fallback: 0.4 % for BTC/ETH, 0.5 % otherwise; max leverage 50×.
pub fn fallback(symbol: &Symbol) -> MarginSpec {
    let mmr = match symbol.as_str() {
        "BTCUSDT" | "ETHUSDT" => FALLBACK_MMR_MAJOR,
        _ => FALLBACK_MMR_OTHER,
    };
    spec(mmr, FALLBACK_MAX_LEVERAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!(
        "../../tests/fixtures/binance/brackets/usdm_brackets_selected_2026-09-16.json"
    );

    fn sym(s: &str) -> Symbol {
        s.parse().unwrap()
    }

    /// First bracket `(max_leverage, mmr)` of a table in the fixture.
    fn first_tier(doc: &serde_json::Value, table: &str) -> MarginSpec {
        let t = &doc["tables"][table][0];
        assert_eq!(
            t[0].as_f64(),
            Some(0.0),
            "{table}: first bracket must start at 0"
        );
        spec(t[3].as_f64().unwrap(), t[2].as_f64().unwrap())
    }

    #[test]
    fn const_table_matches_the_bracket_fixture() {
        let doc: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
        let mut expected: Vec<(String, MarginSpec)> = Vec::new();
        for (s, table) in doc["symbols"].as_object().unwrap() {
            expected.push((s.clone(), first_tier(&doc, table.as_str().unwrap())));
        }
        for (table, symbols) in doc["example_symbols_for_shared_tables"]
            .as_object()
            .unwrap()
        {
            for s in symbols.as_array().unwrap() {
                let s = s.as_str().unwrap();
                if s != "DEFAULT_BRACKETS" {
                    expected.push((s.to_owned(), first_tier(&doc, table)));
                }
            }
        }
        assert_eq!(
            expected.len(),
            TABLE.len(),
            "every fixture symbol is transcribed once"
        );
        for (s, m) in &expected {
            assert_eq!(lookup(&sym(s)), (*m, MarginSource::Table), "{s}");
        }
        let default = first_tier(&doc, "t137_DEFAULT_BRACKETS");
        assert_eq!(default, BINANCE_DEFAULT_BRACKETS);
    }

    #[test]
    fn unknown_symbols_use_the_design_fallback() {
        assert_eq!(margin_for(&sym("HYPEUSDT")), spec(0.005, 50.0));
        assert_eq!(lookup(&sym("HYPEUSDT")).1, MarginSource::Fallback);
        assert_eq!(fallback(&sym("BTCUSDT")), spec(0.004, 50.0));
        assert_eq!(margin_for(&sym("BTCUSDT")), spec(0.004, 150.0));
    }

    #[test]
    fn every_table_entry_allows_its_own_max_leverage() {
        // A long at ℓ is liquidated below entry only while 1/ℓ > mmr; the kernel relies on it.
        for (s, m) in TABLE {
            assert!(m.mmr * m.max_leverage < 1.0, "{s}");
        }
    }
}
