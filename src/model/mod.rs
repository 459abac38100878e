//! The exchange-neutral domain vocabulary: symbols, intervals, candles, market events and alerts.
//! Owns parsing of these values from text; must never know a venue's wire format, and never
//! imports `analytics`, `rules`, `engine`, `view` or `notify`: every other module builds on it.

mod alert;
mod facts;
mod loading;
#[cfg(test)]
pub(crate) mod testing;
mod venue;
mod vocab;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use alert::{Alert, AlertBrief, AlertId, AlertKind, Severity};
pub use facts::{
    BarFacts, BiasFacts, CascadeFacts, Checklist, ClusterFacts, DivergenceFacts, ExitFacts, Facts,
    FundingFacts, IgnitionFacts, LegChecklist, LevelFacts, MidlineCrossFacts, ModelFacts, PlayBar,
    RegimeChangeFacts, SecondLegFacts, SetupFacts, SummaryFacts, SweepReversalFacts, TradeLevels,
};
pub use loading::{LoadingScore, LoadingSignal, Reading, SignalReading};
/// A real alert of each kind, for tests anywhere in the crate.
#[cfg(test)]
pub(crate) use testing::demo as demo_alert;
pub use venue::{Instrument, UnknownVenue, Venue};
pub use vocab::{
    ClusterLabel, Conviction, Cross50, Crowding, DivergenceKind, EntryDirection, HeatmapMode,
    Regime, SetupLetter,
};

/// Milliseconds since the Unix epoch, UTC. Every time in the core is one of these; the wall clock
/// is read only at the edges and passed in.
pub type TimeMs = i64;

pub const MINUTE_MS: TimeMs = 60_000;
pub const HOUR_MS: TimeMs = 60 * MINUTE_MS;
pub const DAY_MS: TimeMs = 24 * HOUR_MS;
pub const WEEK_MS: TimeMs = 7 * DAY_MS;
/// 1970-01-01 was a Thursday; weekly bars open on Monday 00:00 UTC, four days later.
const WEEK_ORIGIN_MS: TimeMs = 4 * DAY_MS;

/// Formats a time as `YYYY-MM-DD HH:MM` UTC, for humans (logs, tables, titles).
pub fn format_utc(t: TimeMs) -> String {
    let days = t.div_euclid(DAY_MS);
    let minutes = t.rem_euclid(DAY_MS) / MINUTE_MS;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        minutes / 60,
        minutes % 60
    )
}

/// Parses `YYYY-MM-DD HH:MM:SS` or RFC 3339 `YYYY-MM-DDTHH:MM:SSZ` (UTC only) to epoch
/// milliseconds; `None` unless it is a real instant.
pub fn parse_utc(s: &str) -> Option<TimeMs> {
    // RFC 3339 in UTC ends in `Z` or `+00:00`; Binance's archives use a space for the `T`.
    let s = s
        .strip_suffix('Z')
        .or_else(|| s.strip_suffix("+00:00"))
        .unwrap_or(s);
    let b = s.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b' ' | b'T')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let field = |from: usize, to: usize| -> Option<i64> {
        b[from..to].iter().try_fold(0i64, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
        })
    };
    let (year, month, day) = (field(0, 4)?, field(5, 7)?, field(8, 10)?);
    let (hour, minute, second) = (field(11, 13)?, field(14, 16)?, field(17, 19)?);
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    valid.then(|| {
        days_from_civil(year, month, day) * DAY_MS
            + hour * HOUR_MS
            + minute * MINUTE_MS
            + second * 1000
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

pub fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A perpetual contract on one venue, such as `BTCUSDT` (Binance, the home venue) or
/// `BYBIT:BTCUSDT`: an optional venue prefix, then 2 to 24 upper-case ASCII letters or digits in
/// the canonical form `BASEQUOTE` every source maps its venue's names onto.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Symbol(Box<str>);

impl Symbol {
    /// The canonical text: `BTCUSDT`, `BYBIT:BTCUSDT`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The symbol `name` (canonical `BASEQUOTE`, any case) on `venue`.
    pub fn on(venue: Venue, name: &str) -> Result<Symbol, InvalidSymbol> {
        if is_name(name) {
            Ok(Symbol(venue::join(venue, name).into_boxed_str()))
        } else {
            Err(InvalidSymbol(name.to_owned()))
        }
    }

    /// The venue it trades on.
    pub fn venue(&self) -> Venue {
        venue::split(&self.0).map_or(Venue::Binance, |(v, _)| v)
    }

    /// The name without its venue prefix: `BTCUSDT` for `BYBIT:BTCUSDT`.
    pub fn name(&self) -> &str {
        venue::split(&self.0).map_or(&self.0, |(_, n)| n)
    }
}

fn is_name(s: &str) -> bool {
    (2..=24).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid symbol {0:?}: expected 2 to 24 letters or digits, such as BTCUSDT, optionally after \
     a venue (BYBIT:BTCUSDT, OKX:BTCUSDT)"
)]
pub struct InvalidSymbol(pub String);

impl FromStr for Symbol {
    type Err = InvalidSymbol;

    /// Accepts any case and normalises to upper case, so `btcusdt` and `BTCUSDT` are one symbol,
    /// and `binance:BTCUSDT` is `BTCUSDT`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match venue::split(s) {
            Some((venue, name)) => Symbol::on(venue, name).map_err(|_| InvalidSymbol(s.to_owned())),
            None => Err(InvalidSymbol(s.to_owned())),
        }
    }
}

impl TryFrom<String> for Symbol {
    type Error = InvalidSymbol;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Symbol> for String {
    fn from(s: Symbol) -> String {
        s.0.into_string()
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A candle interval. Bars open on UTC boundaries; weekly bars open Monday 00:00 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Interval {
    M1,
    M3,
    M5,
    M15,
    M30,
    H1,
    H4,
    D1,
    W1,
}

impl Interval {
    pub const ALL: [Interval; 9] = [
        Interval::M1,
        Interval::M3,
        Interval::M5,
        Interval::M15,
        Interval::M30,
        Interval::H1,
        Interval::H4,
        Interval::D1,
        Interval::W1,
    ];
    /// The timeframes the analytics keep RSI, regime and signals for.
    pub const SIGNAL: [Interval; 3] = [Interval::H4, Interval::D1, Interval::W1];

    pub const fn duration_ms(self) -> TimeMs {
        match self {
            Interval::M1 => MINUTE_MS,
            Interval::M3 => 3 * MINUTE_MS,
            Interval::M5 => 5 * MINUTE_MS,
            Interval::M15 => 15 * MINUTE_MS,
            Interval::M30 => 30 * MINUTE_MS,
            Interval::H1 => HOUR_MS,
            Interval::H4 => 4 * HOUR_MS,
            Interval::D1 => DAY_MS,
            Interval::W1 => WEEK_MS,
        }
    }

    /// Open time of the bar of this interval that contains `t`.
    pub const fn bar_open(self, t: TimeMs) -> TimeMs {
        let origin = match self {
            Interval::W1 => WEEK_ORIGIN_MS,
            _ => 0,
        };
        let d = self.duration_ms();
        (t - origin).div_euclid(d) * d + origin
    }

    pub const fn is_bar_open(self, t: TimeMs) -> bool {
        self.bar_open(t) == t
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Interval::M1 => "1m",
            Interval::M3 => "3m",
            Interval::M5 => "5m",
            Interval::M15 => "15m",
            Interval::M30 => "30m",
            Interval::H1 => "1h",
            Interval::H4 => "4h",
            Interval::D1 => "1d",
            Interval::W1 => "1w",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid interval {0:?}: expected one of 1m, 3m, 5m, 15m, 30m, 1h, 4h, 1d, 1w")]
pub struct InvalidInterval(pub String);

impl FromStr for Interval {
    type Err = InvalidInterval;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Interval::ALL
            .into_iter()
            .find(|i| i.as_str() == s)
            .ok_or_else(|| InvalidInterval(s.to_owned()))
    }
}

impl TryFrom<String> for Interval {
    type Error = InvalidInterval;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Interval> for String {
    fn from(i: Interval) -> String {
        i.as_str().to_owned()
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One closed OHLCV bar. Volume is in the base asset; the quote and taker-buy volumes are present
/// when the source has them (live klines do, some recordings do not).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Candle {
    pub open_time: TimeMs,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
    pub quote_volume: Option<f64>,
    pub taker_buy_quote: Option<f64>,
}

/// Mark price at an instant (live: `!markPrice@arr@1s`; replay: bar extremes stand in).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MarkTick {
    pub time: TimeMs,
    pub price: f64,
    /// Funding rate announced with the mark price, when the source carries it.
    pub funding_rate: Option<f64>,
}

/// Open interest at the close of a 5-minute bar.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OpenInterest {
    pub time: TimeMs,
    /// Contracts, in the base asset.
    pub contracts: f64,
    /// Value in the quote asset, when the source reports it.
    pub value_usd: Option<f64>,
}

/// A funding-rate print: positive means longs pay shorts (crowded longs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Funding {
    pub time: TimeMs,
    pub rate: f64,
}

/// Which side of the book a position was on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Long,
    Short,
}

impl Side {
    pub const fn as_str(self) -> &'static str {
        match self {
            Side::Long => "long",
            Side::Short => "short",
        }
    }
}

/// A realized forced liquidation: `side` is the position that was closed (a SELL order closes a long).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Liquidation {
    pub time: TimeMs,
    pub side: Side,
    pub price: f64,
    pub quantity: f64,
}

impl Liquidation {
    pub fn notional(&self) -> f64 {
        self.price * self.quantity
    }
}

/// A contract's first (smallest-notional) margin tier as its venue publishes it: what the
/// heatmap kernel needs to place typical positions' liquidations on that venue.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MarginTier {
    pub time: TimeMs,
    /// Maintenance-margin rate, as a fraction (0.005 = 0.5 %).
    pub mmr: f64,
    /// Highest leverage the tier allows.
    pub max_leverage: f64,
}

/// What happened in the market, exchange-neutral. Every source produces these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MarketEvent {
    /// A closed bar of a source interval (1m or 5m).
    Candle {
        interval: Interval,
        candle: Candle,
    },
    Mark(MarkTick),
    OpenInterest(OpenInterest),
    Funding(Funding),
    Liquidation(Liquidation),
    /// The venue's margin tier for the contract (venues that publish theirs; Binance does not).
    Margin(MarginTier),
    /// A closed bar of the spot market of the same base asset, quote volume in the same quote
    /// currency: the event's symbol is the perpetual it belongs to, not the spot market's.
    SpotCandle {
        interval: Interval,
        candle: Candle,
    },
    /// The source lost data between `from` and `to` (bar open times) and will back-fill it.
    Gap {
        from: TimeMs,
        to: TimeMs,
    },
}

impl MarketEvent {
    /// The time at which the event is known: a bar is known at its close, not its open.
    pub fn known_at(&self) -> TimeMs {
        match self {
            MarketEvent::Candle { interval, candle }
            | MarketEvent::SpotCandle { interval, candle } => {
                candle.open_time + interval.duration_ms()
            }
            MarketEvent::Mark(m) => m.time,
            MarketEvent::OpenInterest(o) => o.time,
            MarketEvent::Funding(f) => f.time,
            MarketEvent::Liquidation(l) => l.time,
            MarketEvent::Margin(m) => m.time,
            MarketEvent::Gap { to, .. } => *to,
        }
    }
}

/// An event for one symbol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolEvent {
    pub symbol: Symbol,
    pub event: MarketEvent,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekly_bars_open_on_monday_utc() {
        // 2025-03-10 is a Monday; 2025-03-16 23:59 is the Sunday after it.
        let monday = 1_741_564_800_000;
        assert_eq!(Interval::W1.bar_open(monday), monday);
        assert_eq!(Interval::W1.bar_open(monday + WEEK_MS - 1), monday);
        assert_eq!(Interval::W1.bar_open(monday - 1), monday - WEEK_MS);
        assert_eq!(Interval::D1.bar_open(monday + 5 * HOUR_MS), monday);
        assert_eq!(
            Interval::H4.bar_open(monday + 5 * HOUR_MS),
            monday + 4 * HOUR_MS
        );
    }

    #[test]
    fn utc_formatting() {
        for (t, want) in [
            (0, "1970-01-01 00:00"),
            (1_741_564_800_000, "2025-03-10 00:00"),
            (1_709_210_096_000, "2024-02-29 12:34"),
            (-60_000, "1969-12-31 23:59"),
        ] {
            assert_eq!(format_utc(t), want);
        }
    }

    #[test]
    fn utc_parsing() {
        for (text, want) in [
            ("2025-03-10 00:00:00", Some(1_741_564_800_000)),
            ("2025-03-10T00:00:00Z", Some(1_741_564_800_000)),
            ("2024-02-29T12:34:56+00:00", Some(1_709_210_096_000)),
            ("2025-02-29 00:00:00", None),
            ("2025-03-10T00:00:00+02:00", None),
            ("2025-03-10", None),
        ] {
            assert_eq!(parse_utc(text), want, "{text}");
        }
    }

    #[test]
    fn symbols_are_normalised_and_checked() {
        assert_eq!("btcusdt".parse::<Symbol>().unwrap().as_str(), "BTCUSDT");
        for bad in ["", "B", "BTC-USDT", "BTC USDT", "ÄBC"] {
            assert!(bad.parse::<Symbol>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn intervals_round_trip_through_text() {
        for i in Interval::ALL {
            assert_eq!(i.as_str().parse::<Interval>(), Ok(i));
        }
        assert!("2h".parse::<Interval>().is_err());
    }
}
