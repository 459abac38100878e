//! A fake Bybit v5 (linear) on 127.0.0.1, faithful to the documented protocol
//! (docs/venues/bybit.md), not to liqwave's client: REST with the `retCode` envelope,
//! cursor-paginated instruments, klines newest first with the bar still open and `limit` ≤ 1000,
//! 5-minute open interest (`limit` ≤ 200), funding history, risk-limit tiers, `retCode 10006`
//! replies on demand; a public WebSocket answering `subscribe` with its `req_id` and
//! `{"op":"ping"}` with a pong, pushing `kline.5` updates (`confirm:false`) several times per bar
//! and the closed bar once (`confirm:true`), ticker snapshots then deltas carrying only what
//! changed, and `allLiquidation` prints; and faults at chosen bars: drop the connection, stall
//! (open, silent, reading nothing), garbage frames. Market data is a closed-form function of
//! (symbol, interval, open time), so any answer is made without state and tests know the truth.

#[path = "fake_bybit/rest.rs"]
mod rest;
#[path = "fake_bybit/ws.rs"]
mod ws;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use liqwave::clock::Clock;
use liqwave::model::{Candle, Interval, TimeMs};

/// 2026-01-01 00:00 UTC.
pub(crate) const START: TimeMs = 1_767_225_600_000;
pub(crate) const BAR_MS: TimeMs = 300_000;

/// A fault applied to every live connection when the bar opening at its time closes, before
/// that bar's closed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The TCP connection closes without a close frame (the closed bar is never sent on it).
    Drop,
    /// The connection stays open but sends nothing and reads nothing for a while.
    Stall,
    /// A text frame that is not JSON, then the frames as usual.
    Garbage,
}

#[derive(Debug, Clone)]
pub(crate) struct FakeConfig {
    /// Bybit names of the USDT perpetuals listed (a dated future and a USDC perpetual are
    /// listed beside them).
    pub(crate) symbols: Vec<String>,
    pub(crate) clock: Clock,
    /// Open-bar kline updates per bar (the closed frame comes on top).
    pub(crate) updates_per_bar: u32,
    /// Faults by the open time of the bar whose close triggers them.
    pub(crate) faults: Vec<(TimeMs, Fault)>,
    /// How long a stall lasts, wall time.
    pub(crate) stall_for: Duration,
    /// Instruments per page at most, whatever `limit` asks (to exercise the cursor).
    pub(crate) instruments_page: usize,
    /// The first this many REST requests are answered `retCode 10006`.
    pub(crate) rate_limit_first: u32,
    /// Then this many are answered HTTP 403 "access too frequent" (the IP limit).
    pub(crate) ban_first: u32,
}

/// What the fake saw and did.
#[derive(Debug, Default)]
pub(crate) struct Record {
    /// REST requests by path.
    pub(crate) requests: BTreeMap<String, u64>,
    /// Closed kline frames sent, per symbol.
    pub(crate) finals_sent: BTreeMap<String, u64>,
    pub(crate) subscribe_args: Vec<usize>,
    pub(crate) faults: Vec<Fault>,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) config: FakeConfig,
    pub(crate) record: Mutex<Record>,
    pub(crate) rate_limit_left: AtomicU32,
    pub(crate) ban_left: AtomicU32,
    /// Market times of every REST request, in arrival order.
    pub(crate) arrivals: Mutex<Vec<TimeMs>>,
    pub(crate) rate_limited: AtomicU32,
    pub(crate) connections: AtomicU64,
    pub(crate) pings: AtomicU64,
}

impl State {
    pub(crate) fn now(&self) -> TimeMs {
        self.config.clock.now()
    }
}

/// A running fake: its URLs and what it recorded.
pub(crate) struct FakeBybit {
    pub(crate) rest_url: String,
    pub(crate) ws_url: String,
    pub(crate) state: Arc<State>,
}

impl FakeBybit {
    /// Starts REST on a std thread and the WebSocket server on the current Tokio runtime.
    pub(crate) async fn start(config: FakeConfig) -> FakeBybit {
        let state = Arc::new(State {
            rate_limit_left: AtomicU32::new(config.rate_limit_first),
            ban_left: AtomicU32::new(config.ban_first),
            arrivals: Mutex::default(),
            config,
            record: Mutex::default(),
            rate_limited: AtomicU32::new(0),
            connections: AtomicU64::new(0),
            pings: AtomicU64::new(0),
        });
        let rest_url = rest::start(Arc::clone(&state));
        let ws_url = ws::start(Arc::clone(&state)).await;
        FakeBybit {
            rest_url,
            ws_url,
            state,
        }
    }

    pub(crate) fn rate_limited(&self) -> u32 {
        self.state.rate_limited.load(Ordering::Relaxed)
    }

    pub(crate) fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::Relaxed)
    }
}

fn seed(symbol: &str) -> f64 {
    (symbol
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
        % 97) as f64
}

/// The price of `symbol` at `t`: a smooth walk around a level set by the name.
pub(crate) fn price(symbol: &str, t: TimeMs) -> f64 {
    let s = seed(symbol);
    let x = t as f64 / 3.6e6;
    (50.0 + s) * (1.0 + 0.02 * (x / 7.0 + s).sin() + 0.005 * (x * 1.3).cos())
}

/// The bar of `symbol` of `interval` opening at `open`, closed at `now` or not (an open bar
/// ends at `now`).
pub(crate) fn bar(symbol: &str, interval: Interval, open: TimeMs, now: TimeMs) -> Candle {
    let end = (open + interval.duration_ms()).min(now);
    let (o, c) = (price(symbol, open), price(symbol, end));
    let mid = price(symbol, (open + end) / 2);
    let volume = 10.0 + ((open / BAR_MS) % 7) as f64;
    Candle {
        open_time: open,
        open: o,
        high: o.max(c).max(mid) * 1.001,
        low: o.min(c).min(mid) * 0.999,
        close: c,
        volume,
        quote_volume: Some(volume * c),
        taker_buy_quote: None,
    }
}

/// Open interest (base coin) of `symbol` measured at the 5-minute boundary `t`.
pub(crate) fn open_interest(symbol: &str, t: TimeMs) -> f64 {
    1000.0 + seed(symbol) + ((t / BAR_MS) % 100) as f64
}

/// The fake's decimal text (Bybit sends strings).
pub(crate) fn dec(v: f64) -> String {
    format!("{v:.6}")
}
