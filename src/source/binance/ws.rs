//! Binance's live market streams over WebSocket: puts every pair's 5m klines and the all-market
//! mark-price and liquidation streams on as few connections as the limits allow, keeps each one
//! alive (pongs, silence, roll-over before the 24-hour cut, reconnect within the attempt budget)
//! and hands on parsed, de-duplicated events, each pair's bars in order. Never spawns a task (the
//! supervisor spawns [`run_streams`], which drives every connection itself), never calls REST and
//! never declares holes: the live source's lanes find every hole once, against the warm-up's bars
//! too, which the streams never see.

mod connection;
mod counters;

mod limiter;
mod link;
mod meter;
mod plan;
mod session;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::info;

pub use crate::source::gaps::{Admitted, BarVerdict, GapTracker, Sequencer};
pub use counters::{Counters, FrameKind, LogGate};
pub use limiter::{ATTEMPT_WINDOW, AttemptLimiter, MAX_ATTEMPTS, backoff};
pub use meter::FeedMeter;
pub use plan::{
    ALL_MARKET, Control, KLINE_INTERVAL, MAX_PARAMS_PER_MESSAGE, MAX_STREAMS_PER_CONNECTION, Plan,
    SlotChange, SlotId, StreamSet, apply, control_messages, kline_stream, stream_symbol,
};

use crate::model::{Symbol, SymbolEvent, TimeMs};

/// The routed path for klines, mark prices and liquidations. The legacy `/ws` and `/stream`
/// paths accept these stream names and silently deliver nothing.
pub const DEFAULT_WS_URL: &str = "wss://fstream.binance.com/market";

/// How long connections get to close politely when the process stops.
const SHUTDOWN_BOUND: Duration = Duration::from_secs(2);

/// How the streams connect and when a link counts as dead. [`WsConfig::new`] has Binance's
/// numbers; tests shorten the times.
#[derive(Debug, Clone)]
pub struct WsConfig {
    /// The routed base, e.g. [`DEFAULT_WS_URL`]; a connection opens
    /// `{ws_url}/stream?streams=a/b/c`.
    pub ws_url: String,
    /// Streams per connection, clamped to 2..=1024 (Binance's limit).
    pub streams_per_connection: usize,
    /// A link with no frame of any kind for this long is dead. Pings go out every third of it.
    pub silence_timeout: Duration,
    /// A link carrying the all-market mark prices (one array a second) is dead after this long
    /// without market data, even while it answers pings: a server can keep a link alive and
    /// stop streaming.
    pub data_silence: Duration,
    /// The same for a link of klines only: each pair's bar closes with a final frame every 5
    /// minutes, so this is a bar and some slack.
    pub bar_silence: Duration,
    /// A link this old is replaced (the new one first), before Binance cuts it at 24 hours.
    pub rotate_after: Duration,
    /// The first retry waits about this long; each failure in a row doubles it, up to the cap.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// TCP, TLS and the WebSocket handshake together.
    pub connect_timeout: Duration,
    /// At least this long between two SUBSCRIBE/UNSUBSCRIBE messages on one connection. Binance
    /// allows 10 incoming messages per second, pings and pongs included.
    pub control_interval: Duration,
    /// Connection attempts of the whole process in any `attempt_window`.
    pub max_attempts: usize,
    pub attempt_window: Duration,
    /// What the connections carry: the perpetuals' streams unless another market's are set.
    pub streams: StreamSet,
}

impl WsConfig {
    pub fn new(ws_url: impl Into<String>, streams_per_connection: usize) -> Self {
        WsConfig {
            ws_url: ws_url.into(),
            streams_per_connection,
            silence_timeout: Duration::from_secs(60),
            data_silence: Duration::from_secs(15),
            bar_silence: Duration::from_secs(5 * 60 + 15),
            rotate_after: Duration::from_secs(23 * 3600 + 30 * 60),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            control_interval: Duration::from_millis(200),
            max_attempts: MAX_ATTEMPTS,
            attempt_window: ATTEMPT_WINDOW,
            streams: StreamSet::PERP,
        }
    }

    /// How long a link serving `streams` may go without market data: by the most frequent of
    /// them; `None` when none has a cadence (liquidations come when they come).
    pub fn data_timeout(&self, streams: &[String]) -> Option<Duration> {
        let marks = streams.iter().any(|s| s.starts_with("!markPrice@arr"));
        let klines = streams.iter().any(|s| plan::stream_symbol(s).is_some());
        (marks.then_some(self.data_silence)).or(klines.then_some(self.bar_silence))
    }

    /// The combined-stream URL of a connection serving `streams`.
    pub fn url(&self, streams: &[String]) -> String {
        let base = self.ws_url.trim_end_matches('/');
        format!("{base}/stream?streams={}", streams.join("/"))
    }
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig::new(DEFAULT_WS_URL, 200)
    }
}

/// What the streams hand on, in order per pair.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The events of one frame: closed bars, marks or a liquidation, none seen before.
    Events(Vec<SymbolEvent>),
    /// A connection is back after being lost at `down_since` (epoch ms, wall clock). Its pairs
    /// may have missed bars: each hole shows when the pair's next bar arrives. Marks and
    /// liquidations of the outage are lost for good.
    Reconnected {
        symbols: Vec<Symbol>,
        down_since: TimeMs,
    },
}

/// What every connection of one [`run_streams`] shares. Locks are held for a few instructions,
/// never across an await.
#[derive(Debug)]
struct Shared {
    config: WsConfig,
    counters: Arc<Counters>,
    limiter: Mutex<AttemptLimiter>,
    sequencer: Mutex<Sequencer>,
    gates: Mutex<HashMap<FrameKind, LogGate>>,
    /// Events for the live-source orchestrator. When it is full the connections wait (and
    /// Binance's data queues in the socket); when it is closed the streams stop.
    out: mpsc::Sender<StreamEvent>,
    /// Spreads the jitter of different processes and slots.
    seed: u64,
}

/// Follows the pairs in `symbols` until `shutdown` turns true (or its sender is dropped) or the
/// receiver of `out` is dropped. Every connection runs inside this one future, side by side in
/// a `FuturesUnordered`: the supervisor spawns this and nothing here spawns. Network failures
/// are retried forever, within the attempt budget; nothing is fatal.
///
/// A change of `symbols` subscribes and unsubscribes on the live connections, opens a new one
/// only when the others are full, and closes one left empty.
pub async fn run_streams(
    config: WsConfig,
    counters: Arc<Counters>,
    mut symbols: watch::Receiver<Vec<Symbol>>,
    out: mpsc::Sender<StreamEvent>,
    shutdown: CancellationToken,
) {
    let shared = Shared {
        limiter: Mutex::new(AttemptLimiter::new(
            config.max_attempts,
            config.attempt_window,
        )),
        config,
        counters,
        sequencer: Mutex::new(Sequencer::default()),
        gates: Mutex::new(HashMap::new()),
        out,
        seed: crate::clock::wall_ms() as u64,
    };
    let mut plan = Plan::of(shared.config.streams, shared.config.streams_per_connection);
    let mut targets = HashMap::new();
    let mut running = FuturesUnordered::new();
    let mut symbols_open = true;
    let mut wanted = symbols.borrow_and_update().clone();
    loop {
        for (slot, target) in follow(&shared, &mut plan, &wanted, &mut targets) {
            running.push(connection::run(&shared, slot, target, shutdown.clone()));
        }
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            changed = symbols.changed(), if symbols_open => match changed {
                Ok(()) => wanted = symbols.borrow_and_update().clone(),
                // The symbol source is gone: keep following the last set.
                Err(_) => symbols_open = false,
            },
            Some(_slot) = running.next() => {
                if shared.out.is_closed() {
                    info!(venue = "binance", "Market streams stop: nobody reads their events.");
                    return;
                }
            }
        }
    }
    info!(
        venue = "binance",
        connections = running.len(),
        "Market streams stopping."
    );
    let drained = async { while running.next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_BOUND, drained).await.is_err() {
        info!(
            venue = "binance",
            "Market streams dropped the links that did not close in time."
        );
    }
}

/// Moves the plan to `wanted`: publishes each changed connection's new stream list, retires the
/// emptied ones (dropping their sender ends them) and returns the connections to open.
fn follow(
    shared: &Shared,
    plan: &mut Plan,
    wanted: &[Symbol],
    targets: &mut HashMap<SlotId, watch::Sender<Vec<String>>>,
) -> Vec<(SlotId, watch::Receiver<Vec<String>>)> {
    let mut opened = Vec::new();
    for change in plan.assign(wanted) {
        match change {
            SlotChange::Open { slot, streams } => {
                let (tx, rx) = watch::channel(streams);
                targets.insert(slot, tx);
                opened.push((slot, rx));
            }
            SlotChange::Change { slot, .. } => {
                if let (Some(tx), Some(streams)) = (targets.get(&slot), plan.streams(slot)) {
                    tx.send_replace(streams.to_vec());
                }
            }
            SlotChange::Close { slot } => {
                targets.remove(&slot);
            }
        }
    }
    let keep: BTreeSet<&Symbol> = wanted.iter().collect();
    let mut sequencer = shared.sequencer.lock().unwrap_or_else(|e| e.into_inner());
    sequencer.retain(|s| keep.contains(s));
    opened
}
