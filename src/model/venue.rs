//! Venues and instrument identity: which exchange a symbol trades on, and what it is (base asset,
//! quote asset, price multiplier), so state is kept per venue and views combine one base asset
//! across venues. Owns the canonical text of a venue-qualified symbol; must never know a venue's
//! wire format (each source maps its own names onto this one).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Symbol;

/// An exchange liqwave can follow. Binance is the home venue: its symbols carry no prefix, so
/// everything stored before other venues existed reads as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Venue {
    Binance,
    Bybit,
    Okx,
}

impl Venue {
    pub const ALL: [Venue; 3] = [Venue::Binance, Venue::Bybit, Venue::Okx];

    /// The name in config keys and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Venue::Binance => "binance",
            Venue::Bybit => "bybit",
            Venue::Okx => "okx",
        }
    }

    /// The prefix of its symbols' text (`BYBIT:BTCUSDT`, as TradingView writes them); none for
    /// the home venue.
    const fn prefix(self) -> Option<&'static str> {
        match self {
            Venue::Binance => None,
            Venue::Bybit => Some("BYBIT"),
            Venue::Okx => Some("OKX"),
        }
    }
}

impl fmt::Display for Venue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown venue {0:?}: expected binance, bybit or okx")]
pub struct UnknownVenue(pub String);

impl FromStr for Venue {
    type Err = UnknownVenue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Venue::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownVenue(s.to_owned()))
    }
}

/// Quote assets a perpetual's name may end in, longest first (`USDT` before `USD`).
const QUOTES: [&str; 3] = ["USDT", "USDC", "USD"];
/// Multipliers a venue puts before a base asset when one unit is too cheap to trade (`1000PEPE`,
/// `1000000MOG`, `1MBABYDOGE`), longest first so `1000000` is not read as `1000` and `000`.
const MULTIPLIERS: [(&str, u32); 3] = [("1000000", 1_000_000), ("1000", 1000), ("1M", 1_000_000)];

/// What a symbol is, whichever venue lists it: `BYBIT:1000PEPEUSDT` is PEPE in USDT at 1000
/// PEPE per unit of price. Two instruments with the same base and quote are one market seen on
/// two venues; their prices compare after dividing by the multiplier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Instrument {
    pub venue: Venue,
    pub base: Box<str>,
    pub quote: Box<str>,
    /// Units of the base asset one unit of the symbol's price is quoted for (1, 1000, 1 000 000).
    pub multiplier: u32,
}

impl Instrument {
    /// The identity of a symbol from its canonical name. `None` when the name ends in no known
    /// quote asset (then the symbol is followed on its own and combined with nothing).
    pub fn of(symbol: &Symbol) -> Option<Instrument> {
        let name = symbol.name();
        let (quote, rest) = QUOTES.iter().find_map(|q| {
            let rest = name.strip_suffix(q)?;
            (!rest.is_empty()).then_some((*q, rest))
        })?;
        let (base, multiplier) = MULTIPLIERS
            .iter()
            .find_map(|(p, m)| {
                let base = rest.strip_prefix(p)?;
                (!base.is_empty()).then_some((base, *m))
            })
            .unwrap_or((rest, 1));
        Some(Instrument {
            venue: symbol.venue(),
            base: base.into(),
            quote: quote.into(),
            multiplier,
        })
    }

    /// Base and quote: the key that joins one market across venues.
    pub fn market(&self) -> (&str, &str) {
        (&self.base, &self.quote)
    }
}

/// Splits a symbol's text into its venue and name: `BYBIT:BTCUSDT` → (Bybit, `BTCUSDT`),
/// `BTCUSDT` → (Binance, `BTCUSDT`). `None` for a prefix that names no venue.
pub(super) fn split(text: &str) -> Option<(Venue, &str)> {
    match text.split_once(':') {
        None => Some((Venue::Binance, text)),
        Some((venue, name)) => Some((venue.parse().ok()?, name)),
    }
}

/// The canonical text of `name` on `venue` (upper case, prefix only off the home venue).
pub(super) fn join(venue: Venue, name: &str) -> String {
    let name = name.to_ascii_uppercase();
    match venue.prefix() {
        Some(prefix) => format!("{prefix}:{name}"),
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One line per case: the symbol's text, its venue, base, quote and multiplier.
    #[rustfmt::skip]
    const IDENTITIES: &[(&str, Venue, &str, &str, u32)] = &[
        ("BTCUSDT", Venue::Binance, "BTC", "USDT", 1),
        ("binance:ethusdc", Venue::Binance, "ETH", "USDC", 1),
        ("BYBIT:1000PEPEUSDT", Venue::Bybit, "PEPE", "USDT", 1000),
        ("okx:BTCUSD", Venue::Okx, "BTC", "USD", 1),
        ("1000000MOGUSDT", Venue::Binance, "MOG", "USDT", 1_000_000),
        ("1MBABYDOGEUSDT", Venue::Binance, "BABYDOGE", "USDT", 1_000_000),
        ("1INCHUSDT", Venue::Binance, "1INCH", "USDT", 1),
        ("1000USDT", Venue::Binance, "1000", "USDT", 1),
    ];

    #[test]
    fn symbols_carry_their_instrument() {
        for &(text, venue, base, quote, multiplier) in IDENTITIES {
            let symbol: Symbol = text.parse().unwrap();
            let want = Instrument {
                venue,
                base: base.into(),
                quote: quote.into(),
                multiplier,
            };
            assert_eq!(Instrument::of(&symbol), Some(want), "{text}");
            assert_eq!(symbol.venue(), venue, "{text}");
        }
        assert_eq!(Instrument::of(&"USDT".parse().unwrap()), None);
        assert_eq!(Instrument::of(&"BTCEUR".parse().unwrap()), None);
    }

    #[test]
    fn venue_prefixes_round_trip_and_the_home_venue_has_none() {
        for (text, canonical) in [
            ("BTCUSDT", "BTCUSDT"),
            ("Binance:btcusdt", "BTCUSDT"),
            ("bybit:btcusdt", "BYBIT:BTCUSDT"),
            ("OKX:ETHUSDT", "OKX:ETHUSDT"),
        ] {
            let symbol: Symbol = text.parse().unwrap();
            assert_eq!(symbol.as_str(), canonical);
            assert_eq!(symbol.as_str().parse::<Symbol>().unwrap(), symbol);
        }
        let on = Symbol::on(Venue::Okx, "solusdt").unwrap();
        assert_eq!((on.as_str(), on.name()), ("OKX:SOLUSDT", "SOLUSDT"));
        for bad in [
            "KRAKEN:BTCUSDT",
            "BYBIT:",
            ":BTCUSDT",
            "BYBIT:BTC-USDT",
            "A:B:C",
        ] {
            assert!(bad.parse::<Symbol>().is_err(), "{bad:?} accepted");
        }
    }
}
