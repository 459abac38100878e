//! Which bars a warm-up asks for and the order the engine must see them in. Pure: `now` is an
//! argument.

use crate::model::{Interval, MarketEvent, SymbolEvent, TimeMs};
use crate::source::replay::event_order;

/// Open times of the last `count` closed bars of `interval` at `now`, oldest and newest
/// (`None` for a count of 0).
pub(super) fn closed_range(
    interval: Interval,
    now: TimeMs,
    count: usize,
) -> Option<(TimeMs, TimeMs)> {
    let count = TimeMs::try_from(count).ok().filter(|c| *c > 0)?;
    let d = interval.duration_ms();
    let newest = interval.bar_open(now) - d;
    // A weekly step is 7 days from a Monday, so `newest - k·d` stays on the boundary.
    Some((newest - (count - 1) * d, newest))
}

/// The engine order of one pair's warm-up: the native 4h/1d/1w bars first, by close time (4h
/// before 1d before 1w when they close together), so each signal timeframe is converged before
/// anything else happens; then the 5m bars, open interest and funding by the time they became
/// known, in the replay's order (funding, open interest, candle at one instant: the OI measured at
/// a bar's close is in hand when that bar steps the heatmap).
pub(super) fn engine_order(
    mut signal: Vec<SymbolEvent>,
    mut heat: Vec<SymbolEvent>,
) -> Vec<SymbolEvent> {
    signal.sort_by_key(|e| (e.event.known_at(), signal_rank(&e.event)));
    heat.sort_by(event_order);
    signal.extend(heat);
    signal
}

fn signal_rank(event: &MarketEvent) -> u8 {
    match event {
        MarketEvent::Candle { interval, .. } => match interval {
            Interval::H4 => 0,
            Interval::D1 => 1,
            _ => 2,
        },
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Candle, Funding, OpenInterest, Symbol, format_utc};

    /// 2025-03-12 13:07 UTC, a Wednesday.
    const NOW: TimeMs = 1_741_784_820_000;

    /// One line per case: interval, count, oldest and newest open, as UTC text.
    #[rustfmt::skip]
    const RANGES: &[(Interval, usize, &str)] = &[
        (Interval::M5, 1, "2025-03-12 13:00 .. 2025-03-12 13:00"),
        (Interval::M5, 864, "2025-03-09 13:05 .. 2025-03-12 13:00"),
        (Interval::H4, 3, "2025-03-12 00:00 .. 2025-03-12 08:00"),
        (Interval::D1, 2, "2025-03-10 00:00 .. 2025-03-11 00:00"),
        (Interval::W1, 2, "2025-02-24 00:00 .. 2025-03-03 00:00"),
        (Interval::W1, 0, "none"),
    ];

    #[test]
    fn ranges_end_at_the_last_closed_bar() {
        for &(interval, count, want) in RANGES {
            let got = closed_range(interval, NOW, count).map_or("none".to_owned(), |(a, b)| {
                format!("{} .. {}", format_utc(a), format_utc(b))
            });
            assert_eq!(got, want, "{interval} x{count}");
        }
    }

    fn candle(interval: Interval, open_time: TimeMs) -> SymbolEvent {
        let c = Candle {
            open_time,
            open: 1.0,
            high: 1.0,
            low: 1.0,
            close: 1.0,
            volume: 1.0,
            quote_volume: None,
            taker_buy_quote: None,
        };
        SymbolEvent {
            symbol: Symbol::try_from("BTCUSDT".to_owned()).unwrap(),
            event: MarketEvent::Candle {
                interval,
                candle: c,
            },
        }
    }

    fn other(event: MarketEvent) -> SymbolEvent {
        SymbolEvent {
            symbol: Symbol::try_from("BTCUSDT".to_owned()).unwrap(),
            event,
        }
    }

    fn show(e: &SymbolEvent) -> String {
        let t = (e.event.known_at() - NOW) / 60_000;
        match &e.event {
            MarketEvent::Candle { interval, .. } => format!("{interval}@{t}"),
            MarketEvent::OpenInterest(_) => format!("oi@{t}"),
            MarketEvent::Funding(_) => format!("funding@{t}"),
            _ => format!("other@{t}"),
        }
    }

    #[test]
    fn signal_bars_come_first_then_heat_events_by_time() {
        let h = 60;
        let signal = vec![
            candle(Interval::W1, NOW - 7 * 24 * h * 60_000),
            candle(Interval::H4, NOW - 4 * h * 60_000),
            candle(Interval::D1, NOW - 24 * h * 60_000),
            candle(Interval::H4, NOW - 8 * h * 60_000),
        ];
        let oi = |t: TimeMs| {
            other(MarketEvent::OpenInterest(OpenInterest {
                time: NOW + t * 60_000,
                contracts: 1.0,
                value_usd: None,
            }))
        };
        let heat = vec![
            candle(Interval::M5, NOW - 10 * 60_000),
            candle(Interval::M5, NOW - 15 * 60_000),
            oi(-5),
            oi(-10),
            other(MarketEvent::Funding(Funding {
                time: NOW - 7 * 60_000,
                rate: 0.0001,
            })),
        ];
        let got: Vec<String> = engine_order(signal, heat).iter().map(show).collect();
        let want = "4h@-240 4h@0 1d@0 1w@0 oi@-10 5m@-10 funding@-7 oi@-5 5m@-5";
        assert_eq!(got.join(" "), want);
    }
}
