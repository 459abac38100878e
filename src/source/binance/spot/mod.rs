//! The Binance spot market beside the perpetuals: hourly klines of the spot market of each
//! perpetual's base asset, given to the engine as `SpotCandle`s of the perpetual. Owns the spot
//! driver — map the pairs once at start, warm 7 days over REST, follow the `<symbol>@kline_1h`
//! streams (the perpetuals' stream machinery with another stream set), fetch any hour missed —
//! and must never spawn: it runs inside the live source's one future. Off unless `[spot]` says so.

mod follow;
mod map;
mod rest;
mod wire;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

pub use follow::{Fetch, Follow, WARMUP_MS};
pub use map::{map_pairs, spot_base};
pub use rest::{SPOT_KLINES_MAX, SPOT_WEIGHT_PER_MIN, SpotRest};
pub use wire::{
    SPOT_INTERVAL, SpotBar, SpotMarket, parse_spot_exchange_info, parse_spot_frame,
    parse_spot_klines, spot_bar,
};

use super::wire::Contract;
use super::ws::{Counters, StreamEvent, StreamSet, WsConfig, run_streams};
use crate::clock::Clock;
use crate::config::Config;
use crate::model::{Candle, TimeMs};
use crate::source::Batch;

/// The spot streams: hourly klines, nothing market-wide.
pub const SPOT_STREAMS: StreamSet = StreamSet {
    fixed: &[],
    kline: SPOT_INTERVAL,
};

/// Spot allows 5 incoming messages a second per connection, pongs included: control messages
/// go out at most two a second.
const SPOT_CONTROL_INTERVAL: Duration = Duration::from_millis(500);
/// Fetches in flight at once.
const CONCURRENCY: usize = 4;
/// How long a failed look at the spot universe waits before the next (market time).
const RETRY: Duration = Duration::from_secs(60);

/// The perpetual streams' config turned to spot: `ws_url`, the stream set and the pacing change;
/// the timings (silence, roll-over, backoff) stay.
pub fn spot_ws(config: &Config, perp: &WsConfig) -> WsConfig {
    WsConfig {
        ws_url: config.spot.ws_url.clone(),
        streams: SPOT_STREAMS,
        control_interval: perp.control_interval.max(SPOT_CONTROL_INTERVAL),
        ..perp.clone()
    }
}

/// Follows the spot markets of `perps` until `shutdown`, feeding `inputs`. A bar the streams
/// have not delivered `late` after its close is fetched over REST. Never fails: a spot outage
/// costs the spot signal, never the perpetuals.
pub async fn run_spot(
    config: &Config,
    perps: &[Contract],
    clock: Clock,
    ws: WsConfig,
    late: Duration,
    inputs: mpsc::Sender<Batch>,
    shutdown: CancellationToken,
) {
    let rest = match SpotRest::new(config, clock) {
        Ok(rest) => rest,
        Err(e) => {
            error!(venue = "binance-spot", error = %e, "Cannot make the spot REST client; no spot data.");
            return;
        }
    };
    let Some(markets) = universe(&rest, &shutdown).await else {
        return;
    };
    let map = map_pairs(perps, &markets);
    let (pairs, unmapped) = (map.len(), perps.len() - map.len());
    info!(
        venue = "binance-spot",
        pairs, unmapped, "Following the spot markets of the pairs that have one."
    );
    if map.is_empty() {
        return;
    }
    let follow = Follow::new(map);
    let (_symbols, symbols_rx) = watch::channel(follow.spots());
    let (stream_tx, stream_rx) = mpsc::channel(1024);
    let counters = Arc::new(Counters::default());
    let streams = run_streams(ws, counters, symbols_rx, stream_tx, shutdown.clone());
    let late = late.as_millis() as TimeMs;
    let drive = drive(&rest, follow, late, stream_rx, inputs, shutdown);
    tokio::join!(streams, drive);
}

/// The spot markets, tried until they come or shutdown.
async fn universe(rest: &SpotRest, shutdown: &CancellationToken) -> Option<Vec<SpotMarket>> {
    loop {
        let info = tokio::select! {
            () = shutdown.cancelled() => return None,
            info = rest.exchange_info() => info,
        };
        match info {
            Ok(markets) => return Some(markets),
            Err(e) => {
                warn!(venue = "binance-spot", error = %e, retry_in_s = RETRY.as_secs(), "Spot exchangeInfo failed; retrying.")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return None,
            () = tokio::time::sleep(rest.clock().wall(RETRY)) => {}
        }
    }
}

/// One fetch: the bars, or `None` when REST could not give them.
async fn fetch(rest: &SpotRest, f: Fetch) -> (Fetch, Option<Vec<Candle>>) {
    match rest.klines(&f.spot, f.from, SPOT_KLINES_MAX).await {
        Ok(bars) => (f, Some(bars)),
        Err(e) => {
            let (symbol, from) = (f.spot.as_str(), f.from);
            warn!(venue = "binance-spot", symbol, from, error = %e, "Spot klines fetch failed; asked again at the next close.");
            (f, None)
        }
    }
}

async fn drive(
    rest: &SpotRest,
    mut follow: Follow,
    late: TimeMs,
    mut streams: mpsc::Receiver<StreamEvent>,
    inputs: mpsc::Sender<Batch>,
    shutdown: CancellationToken,
) {
    let clock = rest.clock();
    let mut queue: VecDeque<Fetch> = follow.behind(rest.now(), late).into();
    let mut fetches = FuturesUnordered::new();
    let mut next_check = Follow::next_check(rest.now(), late);
    loop {
        while fetches.len() < CONCURRENCY
            && let Some(f) = queue.pop_front()
        {
            fetches.push(fetch(rest, f));
        }
        let mut out = Vec::new();
        tokio::select! {
            () = shutdown.cancelled() => return,
            event = streams.recv() => match event {
                Some(StreamEvent::Events(events)) => {
                    for e in &events {
                        match spot_bar(e) {
                            Ok(bar) => queue.extend(follow.live(bar.spot, bar.candle, &mut out)),
                            Err(error) => warn!(venue = "binance-spot", error = %error, "Skipped a spot stream event."),
                        }
                    }
                }
                Some(StreamEvent::Reconnected { .. }) => queue.extend(follow.behind(rest.now(), late)),
                None => return,
            },
            Some((f, bars)) = fetches.next() => follow.fetched(&f.perp, bars, &mut out),
            () = tokio::time::sleep(clock.until(next_check)) => {
                let now = rest.now();
                queue.extend(follow.behind(now, late));
                next_check = Follow::next_check(now, late);
            }
        }
        if !out.is_empty() && inputs.send(out).await.is_err() {
            return;
        }
    }
}
