//! All three venues at once: Binance's, Bybit's and OKX's sources side by side through
//! `run_venues` into one real engine, on one accelerated clock (a 5m bar every 250 ms), each fake
//! dropping links and sending garbage. Every venue's pairs reach the engine whole — every closed
//! 5m bar once, in order, every hole announced by a `Gap` before its bars — and the markets the
//! three venues share get a combined map on their Binance pair. Every wait is bounded.

use std::collections::BTreeMap;
use std::time::Duration;

use liqwave::model::{Interval, Symbol, TimeMs, Venue};
use liqwave::source::Resume;
use liqwave::source::bybit::{BybitOptions, WarmupPlan};
use liqwave::source::okx::OkxOptions;
use liqwave::source::venues::{VenueOptions, run_venues};

use crate::live::exchange::{Exchange, M5, Seen, bars, run_source, until};
use crate::support::fake_binance_ws::Fault as BinanceFault;
use crate::support::fake_bybit::{self, FakeBybit};
use crate::support::fake_okx::{self, FakeOkx, FakeOkxConfig};

const PAIRS: usize = 3;
/// Binance's market runs this many bars; the others keep going past it.
const BARS: u32 = 28;

/// Bars of one pair that reached the engine against those due: (missing, duplicate, silent holes).
fn holes(seen: &[Seen], last: TimeMs) -> (usize, usize, usize) {
    let opens: Vec<TimeMs> = bars(seen).iter().map(|c| c.open_time).collect();
    let duplicate = opens.windows(2).filter(|w| w[1] <= w[0]).count();
    let first = opens.first().copied().unwrap_or(last);
    let missing = (first..=last)
        .step_by(M5 as usize)
        .filter(|t| !opens.contains(t))
        .count();
    let (mut prev, mut announced, mut silent) = (None, false, 0);
    for s in seen {
        match s {
            Seen::Gap { .. } => announced = true,
            Seen::Bar(c) => {
                let jump = prev.is_some_and(|p: TimeMs| c.open_time > p + M5);
                silent += usize::from(jump && !announced);
                (prev, announced) = (Some(c.open_time), false);
            }
            _ => {}
        }
    }
    (missing, duplicate, silent)
}

#[tokio::test]
async fn three_venues_at_once_lose_no_bar_and_combine_their_maps() {
    // One line per fault: the bar whose close triggers it, what happens.
    #[rustfmt::skip]
    let binance_faults = vec![(6, BinanceFault::Drop), (11, BinanceFault::Garbage), (17, BinanceFault::Drop)];
    let ex = Exchange::start(PAIRS, BARS, binance_faults).await;
    ex.ws.open_market();
    let clock = ex.clock;
    let names: Vec<String> = (0..PAIRS).map(|i| format!("SYN{i:03}USDT")).collect();
    let open = Interval::M5.bar_open(clock.now());
    #[rustfmt::skip]
    let bybit_faults = vec![(open + 5 * M5, fake_bybit::Fault::Drop), (open + 9 * M5, fake_bybit::Fault::Garbage), (open + 15 * M5, fake_bybit::Fault::Drop)];
    let bybit = FakeBybit::start(fake_bybit::FakeConfig {
        symbols: names.clone(),
        clock,
        updates_per_bar: 3,
        faults: bybit_faults,
        stall_for: Duration::from_millis(300),
        instruments_page: 2,
        rate_limit_first: 1,
        ban_first: 0,
    })
    .await;
    #[rustfmt::skip]
    let okx_faults = vec![(4, fake_okx::Fault::Drop), (8, fake_okx::Fault::Garbage), (14, fake_okx::Fault::Drop)];
    let okx = FakeOkx::start(FakeOkxConfig {
        insts: (0..PAIRS).map(|i| format!("SYN{i:03}-USDT-SWAP")).collect(),
        clock,
        bars: i64::from(BARS) + 40,
        faults: okx_faults,
        rate_limit_first: 1,
        mute: false,
        unlisted: 0,
    })
    .await;
    let mut by = BybitOptions::new(&bybit.rest_url, &bybit.ws_url);
    (by.clock, by.late, by.streams_per_connection) = (clock, Duration::from_secs(240), 6);
    by.warmup = WarmupPlan {
        signal_bars: 30,
        heat_days: 1,
    };
    let mut ok = OkxOptions::new(&okx.rest_url(), &okx.ws_url());
    (ok.clock, ok.late, ok.streams_per_connection) = (clock, Duration::from_secs(240), 4);
    let options = VenueOptions {
        binance: ex.options(),
        bybit: Some(by),
        okx: Some(ok),
    };
    let config = &ex.config;
    let source = async |cx| run_venues(config, cx, options).await;
    let symbols: Vec<Symbol> = (names.iter())
        .flat_map(|n| Venue::ALL.map(|v| Symbol::on(v, n).unwrap()))
        .collect();
    let (seen, engine) = run_source(config, source, Resume::new(), None, async |tapped| {
        until("Binance's last bar", || ex.bars_closed() >= BARS).await;
        let last = ex.truth(&names[0]).last().expect("bars").open_time;
        until("every venue's pairs at Binance's last bar", || {
            let seen = tapped.lock().unwrap();
            (symbols.iter()).all(|s| {
                let got = seen.get(s).map(|v| bars(v)).unwrap_or_default();
                got.iter().any(|c| c.open_time >= last)
            })
        })
        .await;
        let seen: BTreeMap<Symbol, Vec<Seen>> = tapped.lock().unwrap().clone();
        (seen, last)
    })
    .await;
    let (seen, last) = seen;
    let mut gaps = BTreeMap::<Venue, usize>::new();
    for symbol in &symbols {
        let events = &seen[symbol];
        let (missing, duplicate, silent) = holes(events, last);
        assert_eq!(
            (missing, duplicate, silent),
            (0, 0, 0),
            "{symbol}: missing, duplicate, silent holes"
        );
        let live =
            (events.iter()).filter(|s| matches!(s, Seen::Bar(c) if c.open_time >= last - 10 * M5));
        assert!(live.count() >= 10, "{symbol}: followed live to the end");
        *gaps.entry(symbol.venue()).or_default() += events
            .iter()
            .filter(|s| matches!(s, Seen::Gap { .. }))
            .count();
    }
    for venue in Venue::ALL {
        assert!(
            gaps.get(&venue).is_some_and(|n| *n >= 1),
            "{venue}: dropped links announced their holes"
        );
    }
    // The market every venue lists: its Binance pair holds the combined map, its venues' shares.
    let answer = engine
        .pair_answer(&"SYN000USDT".parse().unwrap(), clock.now())
        .expect("the pair");
    let venues = answer.view.venues.expect("a combined map on the home pair");
    let listed: Vec<Venue> = venues.shares.iter().map(|(v, _)| *v).collect();
    assert_eq!(listed, Venue::ALL, "home venue first, then Bybit, OKX");
    let total: f64 = venues.shares.iter().map(|(_, s)| s).sum();
    assert!(
        (total - 1.0).abs() < 1e-9,
        "shares of the whole map: {:?}",
        venues.shares
    );
    assert!(
        engine
            .market_view(clock.now())
            .pairs
            .iter()
            .all(|p| p.symbol.venue() == Venue::Binance),
        "markets show once, as their home pair"
    );
    let other = engine.pair_answer(&"BYBIT:SYN001USDT".parse().unwrap(), clock.now());
    assert!(
        other.is_some_and(|a| a.view.venues.is_none()),
        "a venue's own pair answers too"
    );
}
