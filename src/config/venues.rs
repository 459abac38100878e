//! `[venues.bybit]` and `[venues.okx]`: the venues followed beside Binance, each off unless
//! enabled, with the pairs to follow there. Must never do I/O; what the endpoints serve is each
//! source's business.

use super::sinks::{Check, url};
use super::table::Table;
use crate::model::{Symbol, Venue};

section! {
    /// The venues beside Binance.
    pub struct VenuesConfig(t) {
        pub bybit: VenueConfig = VenueConfig::read_for(&t.table("bybit"), &BYBIT),
        pub okx: VenueConfig = VenueConfig::read_for(&t.table("okx"), &OKX),
    }
}

/// One venue's source: where it connects and which pairs it follows.
#[derive(Debug, Clone, PartialEq)]
pub struct VenueConfig {
    pub enabled: bool,
    /// Without a path: the client appends the venue's API paths.
    pub rest_url: String,
    /// The public market-data endpoint, with its path (OKX's candles ride the `business`
    /// endpoint beside it: `…/ws/v5/public` → `…/ws/v5/business`).
    pub ws_url: String,
    /// Canonical names (`BTCUSDT`) to follow there; empty: every USDT perpetual the venue lists.
    pub include: Vec<String>,
    pub streams_per_connection: usize,
}

/// A venue's real endpoints and limits: the defaults of its section.
struct Defaults {
    venue: Venue,
    rest_url: &'static str,
    ws_url: &'static str,
    /// Topics one connection may carry (docs/venues/).
    max_streams: usize,
    streams: usize,
}

const BYBIT: Defaults = Defaults {
    venue: Venue::Bybit,
    rest_url: "https://api.bybit.com",
    ws_url: "wss://stream.bybit.com/v5/public/linear",
    // No documented count: the args of one connection are capped at 21,000 characters.
    max_streams: 600,
    streams: 150,
};

const OKX: Defaults = Defaults {
    venue: Venue::Okx,
    rest_url: "https://www.okx.com",
    ws_url: "wss://ws.okx.com:8443/ws/v5/public",
    // No documented count: a subscribe request is capped at 64 KB.
    max_streams: 1000,
    streams: 200,
};

fn no_path(_: bool, _: &str, path: &str) -> Option<String> {
    let why = "only scheme://host[:port]; liqwave adds the API paths itself";
    (!path.is_empty()).then(|| format!("must have no path ({why})"))
}

fn any_path(_: bool, _: &str, _: &str) -> Option<String> {
    None
}

impl VenueConfig {
    fn read_for(t: &Table, d: &Defaults) -> VenueConfig {
        let (no_path, any_path): (Check, Check) = (no_path, any_path);
        VenueConfig {
            enabled: t.bool("enabled", false),
            rest_url: url(t, "rest_url", d.rest_url, "http", no_path),
            ws_url: url(t, "ws_url", d.ws_url, "ws", any_path),
            include: t
                .list("include", None, |text, seen: &[String]| {
                    name(text, seen, d.venue)
                })
                .unwrap_or_default(),
            streams_per_connection: t.int("streams_per_connection", d.streams, 1..=d.max_streams),
        }
    }
}

/// A pair to follow on `venue`: its canonical name, with or without that venue's prefix.
fn name(text: &str, seen: &[String], venue: Venue) -> Result<String, String> {
    let symbol: Symbol = text
        .parse()
        .map_err(|e: crate::model::InvalidSymbol| e.to_string())?;
    let on = symbol.venue();
    if text.contains(':') && on != venue {
        return Err(format!("{text} is not a {venue} pair"));
    }
    let name = symbol.name().to_owned();
    match seen.contains(&name) {
        true => Err(format!("duplicate symbol {name}")),
        false => Ok(name),
    }
}
