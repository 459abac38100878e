//! The spot source end to end: `run_live` with `[spot] enabled` against the coherent fake
//! perpetual exchange and the fake spot market on one accelerated clock (an hour every 3 s of
//! wall time). Pairs with a trading USDT spot market of their base asset (a `1000` multiplier
//! stripped) get a week of hourly spot bars and then the live ones, whole and once, even across
//! a spot outage spanning an hour's close; the others get none. Every wait is bounded.

use liqwave::model::{Candle, HOUR_MS, Interval, TimeMs, WEEK_MS};
use liqwave::source::Resume;

use crate::live::exchange::{Exchange, Seen, Tapped, run, sym, until};
use crate::support::fake_binance_spot::{FakeBinanceSpot, Market, bar};

/// Perpetual → spot market; the first three are mapped.
const MAPPED: [(&str, &str); 3] = [
    ("SYN000USDT", "SYN000USDT"),
    ("SYN001USDT", "SYN001USDT"),
    ("1000SYN9USDT", "SYN9USDT"),
];
/// SYN002's spot market is halted, SYN003 trades against BTC only.
const UNMAPPED: [&str; 2] = ["SYN002USDT", "SYN003USDT"];

fn markets() -> Vec<Market> {
    let m = |symbol, base, quote, status| Market {
        symbol,
        base,
        quote,
        status,
    };
    vec![
        m("SYN000USDT", "SYN000", "USDT", "TRADING"),
        m("SYN001USDT", "SYN001", "USDT", "TRADING"),
        m("SYN9USDT", "SYN9", "USDT", "TRADING"),
        m("SYN002USDT", "SYN002", "USDT", "BREAK"),
        m("SYN003BTC", "SYN003", "BTC", "TRADING"),
        m("SYN1000USDT", "SYN1000", "USDT", "TRADING"),
    ]
}

fn spot_bars(tapped: &Tapped, perp: &str) -> Vec<Candle> {
    let seen = tapped.lock().unwrap();
    (seen.get(&sym(perp)).into_iter().flatten())
        .filter_map(|s| match s {
            Seen::Spot(c) => Some(*c),
            _ => None,
        })
        .collect()
}

fn has_spot(tapped: &Tapped, perp: &str, open: TimeMs) -> bool {
    spot_bars(tapped, perp).iter().any(|c| c.open_time == open)
}

/// The candle the fake market holds for `spot` at `open`.
fn truth(spot: &str, open: TimeMs) -> Candle {
    let n: Vec<f64> = bar(spot, open).iter().map(|t| t.parse().unwrap()).collect();
    Candle {
        open_time: open,
        open: n[0],
        high: n[1],
        low: n[2],
        close: n[3],
        volume: n[4],
        quote_volume: Some(n[5]),
        taker_buy_quote: Some(n[6]),
    }
}

#[tokio::test]
async fn mapped_pairs_get_every_spot_bar_once_across_a_dropped_link() {
    let mut ex = Exchange::start(4, 400, Vec::new()).await;
    ex.rest.list("1000SYN9USDT");
    let spot = FakeBinanceSpot::start(ex.clock, markets()).await;
    let text = format!(
        "[binance]\nrest_url = \"{}\"\nws_url = \"{}\"\nwarmup_days = 1\n\
         [spot]\nenabled = true\nrest_url = \"{}\"\nws_url = \"{}\"\n",
        ex.rest.url,
        ex.ws.url(),
        spot.rest_url,
        spot.ws_url
    );
    ex.config = liqwave::config::from_toml_str(&text, std::path::Path::new(".")).unwrap();
    ex.ws.open_market();
    let started = Interval::H1.bar_open(ex.clock.now());
    let hour = |k: i64| started + k * HOUR_MS;
    let (tapped, _engine) = run(&ex, Resume::new(), None, async |tapped: Tapped| {
        let all = |open| MAPPED.iter().all(|(p, _)| has_spot(&tapped, p, open));
        until("the warm-up's last bar", || all(hour(-1))).await;
        until("a live bar", || all(hour(0))).await;
        // Down across the next close: that bar only REST can give.
        spot.down();
        until("an hour closed while down", || {
            ex.clock.now() > hour(2) + 10 * 60_000
        })
        .await;
        spot.up();
        until("the missed bar and the live one after it", || {
            all(hour(1)) && all(hour(2))
        })
        .await;
        until("the links are back", || spot.record(|r| r.connections >= 2)).await;
        until("a live bar after the outage", || all(hour(3))).await;
        tapped
    })
    .await;
    for (perp, market) in MAPPED {
        let bars = spot_bars(&tapped, perp);
        let opens: Vec<TimeMs> = bars.iter().map(|c| c.open_time).collect();
        let want: Vec<TimeMs> = (opens[0]..=hour(3)).step_by(HOUR_MS as usize).collect();
        assert_eq!(
            opens[..want.len()],
            want[..],
            "{perp}: every hour once, in order"
        );
        assert!(
            opens.windows(2).all(|w| w[1] == w[0] + HOUR_MS),
            "{perp}: {opens:?}"
        );
        assert!(
            opens[0] <= started - WEEK_MS + HOUR_MS,
            "{perp}: a week warmed up"
        );
        for c in &bars {
            assert_eq!(*c, truth(market, c.open_time), "{perp} at {}", c.open_time);
        }
    }
    for perp in UNMAPPED {
        assert!(
            spot_bars(&tapped, perp).is_empty(),
            "{perp} has no spot market"
        );
    }
    let (dropped, finals, fills) = spot.record(|r| {
        let fills = (r.hits.iter())
            .filter(|(p, s)| p == "/api/v3/klines" && s.as_deref() == Some("SYN000USDT"))
            .count();
        (
            r.dropped,
            r.finals.get("SYN000USDT").cloned().unwrap_or_default(),
            fills,
        )
    });
    assert!(dropped >= 1, "the links were cut");
    assert!(
        !finals.contains(&hour(1)),
        "the missed bar never streamed: {finals:?}"
    );
    assert!(fills >= 2, "warm-up and the missed hour over REST: {fills}");
}
