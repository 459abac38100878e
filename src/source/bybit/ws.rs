//! The public Bybit streams: the followed pairs' `kline.5`, `tickers` and `allLiquidation`
//! topics spread over connections of a bounded size, each subscribed in batches whose replies
//! are checked, kept alive with Bybit's `{"op":"ping"}` every 20 s, called dead after a bound of
//! silence, and reconnected with capped, jittered backoff. Malformed frames are counted and
//! skipped, never a panic. Never spawns: every connection runs inside the caller's future.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::wire::{Frame, TickerBook, parse_frame, ping, subscribe};
use crate::clock::Clock;
use crate::model::{Symbol, SymbolEvent, TimeMs};
use crate::source::jitter::jitter;

/// Where and how the streams run. Durations are market time (an accelerated clock shortens them).
#[derive(Debug, Clone)]
pub struct WsOptions {
    pub url: String,
    /// Topics per connection (three per pair).
    pub topics_per_connection: usize,
    /// Topics per `subscribe` request.
    pub args_per_request: usize,
    /// Bybit's heartbeat: a `{"op":"ping"}` this often.
    pub ping_every: Duration,
    /// A link with no frame at all for this long is dead.
    pub silent_after: Duration,
    /// Every subscribe request must be answered within this.
    pub ack_within: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    pub clock: Clock,
}

impl WsOptions {
    pub fn new(url: &str, topics_per_connection: usize, clock: Clock) -> WsOptions {
        WsOptions {
            url: url.to_owned(),
            topics_per_connection: topics_per_connection.max(3),
            args_per_request: 10,
            ping_every: Duration::from_secs(20),
            silent_after: Duration::from_secs(60),
            ack_within: Duration::from_secs(10),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            clock,
        }
    }
}

/// What the streams hand the orchestrator.
#[derive(Debug)]
pub enum StreamEvent {
    /// Closed 5m bars, marks, funding prints and liquidations, in arrival order.
    Events(Vec<SymbolEvent>),
    /// A connection is back (subscribed again) after it was lost at `down_since` (market time).
    Reconnected {
        symbols: Vec<Symbol>,
        down_since: TimeMs,
    },
}

/// What the streams count, over all connections.
#[derive(Debug, Default)]
pub struct StreamCounters {
    pub frames: AtomicU64,
    /// Frames that were not JSON, or JSON of the wrong shape or values: skipped.
    pub malformed: AtomicU64,
    pub bars_live: AtomicU64,
    pub liquidations: AtomicU64,
    pub connects: AtomicU64,
    pub reconnects: AtomicU64,
    /// Links given up for silence.
    pub silent: AtomicU64,
    /// Subscriptions Bybit refused or never answered.
    pub subscribe_failures: AtomicU64,
    pub pings: AtomicU64,
    pub pongs: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// The topics of one pair.
pub fn topics(symbol: &Symbol) -> [String; 3] {
    let name = symbol.name();
    [
        format!("kline.5.{name}"),
        format!("tickers.{name}"),
        format!("allLiquidation.{name}"),
    ]
}

/// Runs every connection until `shutdown` or until the output closes.
pub async fn run_streams(
    options: &WsOptions,
    symbols: &[Symbol],
    book: &Mutex<TickerBook>,
    counters: &Arc<StreamCounters>,
    out: mpsc::Sender<StreamEvent>,
    shutdown: CancellationToken,
) {
    let per = (options.topics_per_connection / 3).max(1);
    let connections = symbols.chunks(per).enumerate().map(|(id, chunk)| {
        let (out, shutdown) = (out.clone(), shutdown.clone());
        connection(options, id, chunk, book, counters, out, shutdown)
    });
    futures_util::future::join_all(connections).await;
}

/// Why a link ended.
enum End {
    Shutdown,
    OutputClosed,
    Lost(String),
}

async fn connection(
    options: &WsOptions,
    id: usize,
    symbols: &[Symbol],
    book: &Mutex<TickerBook>,
    counters: &StreamCounters,
    out: mpsc::Sender<StreamEvent>,
    shutdown: CancellationToken,
) {
    let clock = options.clock;
    let mut failures = 0u32;
    let mut down_since: Option<TimeMs> = None;
    let pairs = symbols.len();
    loop {
        let end = tokio::select! {
            () = shutdown.cancelled() => End::Shutdown,
            end = link(options, symbols, book, counters, &out, &mut down_since) => end,
        };
        let reason = match end {
            End::Shutdown | End::OutputClosed => return,
            End::Lost(reason) => reason,
        };
        // A link that got subscribed starts a fresh outage and a fresh backoff.
        if down_since.is_none() {
            failures = 0;
            down_since = Some(clock.now());
        }
        failures += 1;
        let delay = backoff(options, failures, jitter());
        let retry_in_ms = delay.as_millis() as u64;
        warn!(
            venue = "bybit",
            connection = id,
            pairs,
            reason,
            retry_in_ms,
            "Market stream lost; reconnecting."
        );
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = sleep(clock.wall(delay)) => {}
        }
    }
}

/// The pause before reconnect number `n`: `backoff_initial` doubling, capped, jittered into
/// its upper half.
fn backoff(options: &WsOptions, n: u32, jitter: f64) -> Duration {
    let full = (options.backoff_initial)
        .saturating_mul(1 << n.saturating_sub(1).min(20))
        .min(options.backoff_max);
    full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// One link: connect, subscribe, then read until it is lost. `down_since` is cleared (and the
/// outage reported) once a reconnected link's subscriptions are all confirmed.
async fn link(
    options: &WsOptions,
    symbols: &[Symbol],
    book: &Mutex<TickerBook>,
    counters: &StreamCounters,
    out: &mpsc::Sender<StreamEvent>,
    down_since: &mut Option<TimeMs>,
) -> End {
    let clock = options.clock;
    let wall = |d: Duration| clock.wall(d).max(Duration::from_millis(1));
    let connected = timeout(
        wall(options.ack_within),
        connect_async(options.url.as_str()),
    )
    .await;
    let mut socket = match connected {
        Ok(Ok((socket, _))) => socket,
        Ok(Err(e)) => return End::Lost(format!("cannot connect: {e}")),
        Err(_) => return End::Lost("no connection within the bound".into()),
    };
    bump(&counters.connects);
    let topics: Vec<String> = symbols.iter().flat_map(topics).collect();
    let mut pending: HashSet<String> = HashSet::new();
    for (n, chunk) in topics.chunks(options.args_per_request.max(1)).enumerate() {
        let req_id = format!("s{n}");
        if let Err(e) = socket.send(Message::text(subscribe(&req_id, chunk))).await {
            return End::Lost(format!("subscribe failed: {e}"));
        }
        pending.insert(req_id);
    }
    let mut ack_deadline = Some(Instant::now() + wall(options.ack_within));
    let mut next_ping = Instant::now() + wall(options.ping_every);
    let mut last_frame = Instant::now();
    loop {
        let silent_at = last_frame + wall(options.silent_after);
        let received = tokio::select! {
            received = socket.next() => received,
            () = sleep_until(silent_at) => {
                bump(&counters.silent);
                return End::Lost("silent link".into());
            }
            () = sleep_until(next_ping) => {
                next_ping = Instant::now() + wall(options.ping_every);
                bump(&counters.pings);
                if let Err(e) = socket.send(Message::text(ping("p"))).await {
                    return End::Lost(format!("ping failed: {e}"));
                }
                continue;
            }
            () = sleep_until(ack_deadline.unwrap_or(silent_at)), if ack_deadline.is_some() => {
                bump(&counters.subscribe_failures);
                return End::Lost(format!("{} subscribe requests unanswered", pending.len()));
            }
        };
        let text = match received {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_))) | None => return End::Lost("closed by the server".into()),
            Some(Ok(_)) => {
                last_frame = Instant::now();
                continue;
            }
            Some(Err(e)) => return End::Lost(format!("read failed: {e}")),
        };
        last_frame = Instant::now();
        bump(&counters.frames);
        let events = match parse_frame(text.as_str()) {
            Ok(Frame::Events(events)) => events,
            Ok(Frame::Ticker {
                symbol,
                ts,
                delta,
                fields,
            }) => lock(book).apply(&symbol, ts, delta, fields),
            Ok(Frame::Ack(ack)) => {
                if !ack.success {
                    bump(&counters.subscribe_failures);
                    error!(
                        venue = "bybit",
                        op = ack.op,
                        reply = ack.ret_msg,
                        "Bybit refused a subscription."
                    );
                }
                // A reply without its `req_id` still answers the oldest request.
                match ack.req_id {
                    Some(id) => pending.remove(&id),
                    None => pending
                        .iter()
                        .next()
                        .cloned()
                        .is_some_and(|id| pending.remove(&id)),
                };
                if pending.is_empty()
                    && ack_deadline.take().is_some()
                    && let Some(since) = down_since.take()
                {
                    bump(&counters.reconnects);
                    info!(
                        venue = "bybit",
                        pairs = symbols.len(),
                        "Market stream back and subscribed."
                    );
                    let back = StreamEvent::Reconnected {
                        symbols: symbols.to_vec(),
                        down_since: since,
                    };
                    if out.send(back).await.is_err() {
                        return End::OutputClosed;
                    }
                }
                continue;
            }
            Ok(Frame::Pong) => {
                bump(&counters.pongs);
                continue;
            }
            Ok(Frame::Unused) => continue,
            Err(e) => {
                let n = counters.malformed.fetch_add(1, Ordering::Relaxed) + 1;
                // The first and then every 100th: a broken feed must not flood the log.
                if n % 100 == 1 {
                    warn!(venue = "bybit", malformed = n, error = %e, "Skipped a malformed stream frame.");
                }
                continue;
            }
        };
        if events.is_empty() {
            continue;
        }
        for e in &events {
            match e.event {
                crate::model::MarketEvent::Candle { .. } => bump(&counters.bars_live),
                crate::model::MarketEvent::Liquidation(_) => bump(&counters.liquidations),
                _ => {}
            }
        }
        if out.send(StreamEvent::Events(events)).await.is_err() {
            return End::OutputClosed;
        }
    }
}

fn lock(book: &Mutex<TickerBook>) -> std::sync::MutexGuard<'_, TickerBook> {
    book.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnects_back_off_to_a_cap() {
        let o = WsOptions::new("ws://x", 150, Clock::Wall);
        // One line per case: reconnect number, jitter, delay in ms.
        #[rustfmt::skip]
        let cases = [(1, 1.0, 1000), (2, 0.0, 1000), (7, 1.0, 60_000), (30, 0.0, 30_000)];
        for (n, j, want) in cases {
            assert_eq!(backoff(&o, n, j).as_millis(), want, "reconnect {n}");
        }
    }

    #[test]
    fn a_pair_has_three_topics() {
        let s = crate::model::Symbol::on(crate::model::Venue::Bybit, "1000PEPEUSDT").unwrap();
        assert_eq!(
            topics(&s),
            [
                "kline.5.1000PEPEUSDT",
                "tickers.1000PEPEUSDT",
                "allLiquidation.1000PEPEUSDT"
            ]
        );
    }
}
