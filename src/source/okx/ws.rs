//! OKX's public WebSocket streams: which subscriptions go on which link (`candle5m` on the
//! business URL; `mark-price`, `funding-rate` and the all-swap `liquidation-orders` on the public
//! one), each link kept alive by the `ping` rule and replaced with capped, jittered backoff when
//! it breaks or goes silent. Owns the link plan and the counters; must never spawn (all links run
//! inside one future) nor panic on a frame.

mod link;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::wire::{Contract, Contracts};
use crate::clock::Clock;
use crate::model::{SymbolEvent, TimeMs};

/// Subscriptions per subscribe message: OKX caps a request's channels at 64 KB in all; 100
/// arguments are about 6 KB.
pub const ARGS_PER_REQUEST: usize = 100;

/// Where the links go and their timings (wall time, already scaled by the clock).
#[derive(Debug, Clone)]
pub struct WsConfig {
    pub public_url: String,
    pub business_url: String,
    /// Subscriptions per link at most.
    pub per_link: usize,
    /// Send `ping` after this long without a message (OKX: under 30 s).
    pub ping_after: Duration,
    /// A link without any frame this long is dead (the `pong` did not come).
    pub dead_after: Duration,
    pub connect_timeout: Duration,
    /// Reconnection backoff: doubled per failure from `backoff_base`, capped, jittered.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// Least time between two connection attempts of this process (OKX: 3 per second per IP).
    pub connect_spacing: Duration,
    pub clock: Clock,
}

impl WsConfig {
    /// OKX's rules on `clock` (timings shrink with an accelerated clock; bounds keep them sane).
    pub fn new(public_url: &str, per_link: usize, clock: Clock) -> WsConfig {
        let scaled = |market: Duration, floor_ms: u64| {
            clock.wall(market).max(Duration::from_millis(floor_ms))
        };
        WsConfig {
            business_url: business_url(public_url),
            public_url: public_url.to_owned(),
            per_link: per_link.max(1),
            ping_after: scaled(Duration::from_secs(15), 50),
            dead_after: scaled(Duration::from_secs(30), 100),
            connect_timeout: scaled(Duration::from_secs(10), 2000),
            backoff_base: scaled(Duration::from_secs(1), 10),
            backoff_cap: scaled(Duration::from_secs(60), 100),
            connect_spacing: Duration::from_millis(350),
            clock,
        }
    }
}

/// The business URL beside a public one: `…/ws/v5/public` → `…/ws/v5/business`.
pub fn business_url(public_url: &str) -> String {
    match public_url.strip_suffix("/public") {
        Some(root) => format!("{root}/business"),
        None => format!("{}/business", public_url.trim_end_matches('/')),
    }
}

/// What the streams hand the orchestrator.
#[derive(Debug)]
pub enum WsEvent {
    Events(Vec<SymbolEvent>),
    /// A link is back after an outage that began at `down_since` (market ms): bars may be
    /// missing.
    Reconnected {
        down_since: TimeMs,
    },
}

/// What the links count; read by whoever exposes them.
#[derive(Debug, Default)]
pub struct Counters {
    pub frames: AtomicU64,
    pub malformed: AtomicU64,
    pub bad_values: AtomicU64,
    pub acks: AtomicU64,
    pub subscribe_errors: AtomicU64,
    pub notices: AtomicU64,
    pub pings: AtomicU64,
    pub pongs: AtomicU64,
    pub connects: AtomicU64,
    pub connect_failures: AtomicU64,
    pub links_lost: AtomicU64,
    pub stalls: AtomicU64,
    pub closed_bars: AtomicU64,
    pub open_bars: AtomicU64,
    pub bars_backfilled: AtomicU64,
    pub gaps: AtomicU64,
}

impl Counters {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

pub(super) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// One link's subscriptions, as `args` objects.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkPlan {
    pub url: String,
    pub args: Vec<serde_json::Value>,
}

/// The links for `contracts`: business links for candles, public links for marks, funding and
/// the one all-swap liquidation subscription, `per_link` subscriptions each at most. A pair's mark
/// and funding ride one link together: funding pushes only every 30–90 s, and a link of funding
/// alone would look silent between them and be dropped over and over.
pub fn plan(config: &WsConfig, contracts: &[Contract]) -> Vec<LinkPlan> {
    let mut links: Vec<LinkPlan> = (contracts.chunks(config.per_link.max(1)))
        .map(|chunk| LinkPlan {
            url: config.business_url.clone(),
            args: (chunk.iter())
                .map(|c| json!({"channel": "candle5m", "instId": c.inst_id}))
                .collect(),
        })
        .collect();
    let liquidations = json!({"channel": "liquidation-orders", "instType": "SWAP"});
    // The first public link also carries the liquidations: one pair fewer there.
    let pairs_per_link = (config.per_link.saturating_sub(1) / 2).max(1);
    let mut public = vec![liquidations];
    for (i, chunk) in contracts.chunks(pairs_per_link).enumerate() {
        if i > 0 {
            links.push(LinkPlan {
                url: config.public_url.clone(),
                args: std::mem::take(&mut public),
            });
        }
        for c in chunk {
            public.push(json!({"channel": "mark-price", "instId": c.inst_id}));
            public.push(json!({"channel": "funding-rate", "instId": c.inst_id}));
        }
    }
    links.push(LinkPlan {
        url: config.public_url.clone(),
        args: public,
    });
    links
}

/// The subscribe messages of a link, [`ARGS_PER_REQUEST`] arguments each.
pub fn subscribe_messages(args: &[serde_json::Value]) -> Vec<String> {
    args.chunks(ARGS_PER_REQUEST)
        .enumerate()
        .map(|(i, chunk)| {
            json!({"id": (i + 1).to_string(), "op": "subscribe", "args": chunk}).to_string()
        })
        .collect()
}

/// Runs the links of the contracts `followed` names, all of them anew whenever it changes (an
/// hourly re-discovery at most), until shutdown, until `out` closes or the sender is dropped.
pub async fn follow_streams(
    config: WsConfig,
    counters: Arc<Counters>,
    mut followed: watch::Receiver<Vec<Contract>>,
    out: mpsc::Sender<WsEvent>,
    shutdown: CancellationToken,
) {
    loop {
        let contracts = followed.borrow_and_update().clone();
        let links = run_streams(
            config.clone(),
            Arc::clone(&counters),
            contracts,
            out.clone(),
            shutdown.clone(),
        );
        // Dropping the links closes their sockets; the new set reconnects within the pace.
        tokio::select! {
            () = links => return,
            changed = followed.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

/// Runs every link of `contracts` until shutdown or until `out` closes.
pub async fn run_streams(
    config: WsConfig,
    counters: Arc<Counters>,
    contracts: Vec<Contract>,
    out: mpsc::Sender<WsEvent>,
    shutdown: CancellationToken,
) {
    let followed = Arc::new(Contracts::new(&contracts));
    let pacer = link::Pacer::default();
    let links = plan(&config, &contracts);
    let runs = links.into_iter().enumerate().map(|(slot, plan)| {
        link::run_link(
            link::Shared {
                config: &config,
                counters: &counters,
                followed: &followed,
                out: &out,
                pacer: &pacer,
            },
            slot,
            plan,
            shutdown.clone(),
        )
    });
    join_all(runs).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::okx::wire::symbol_of;

    fn contract(inst: &str) -> Contract {
        Contract {
            inst_id: inst.to_owned(),
            inst_family: inst.trim_end_matches("-SWAP").to_owned(),
            symbol: symbol_of(inst).expect("swap"),
            ct_val: 1.0,
        }
    }

    #[test]
    fn links_split_by_url_and_size() {
        let config = WsConfig::new("wss://ws.okx.com:8443/ws/v5/public", 3, Clock::Wall);
        assert_eq!(config.business_url, "wss://ws.okx.com:8443/ws/v5/business");
        let contracts = [contract("BTC-USDT-SWAP"), contract("ETH-USDT-SWAP")];
        let links = plan(&config, &contracts);
        // (url ends with, subscriptions)
        let got: Vec<(bool, usize)> = (links.iter())
            .map(|l| (l.url.ends_with("business"), l.args.len()))
            .collect();
        assert_eq!(got, [(true, 2), (false, 3), (false, 2)]);
        assert_eq!(links[1].args[0]["channel"], "liquidation-orders");
        // Every public link carries marks, never funding alone.
        for link in links.iter().filter(|l| !l.url.ends_with("business")) {
            assert!(
                link.args.iter().any(|a| a["channel"] == "mark-price"),
                "{:?}",
                link.args
            );
        }
    }

    #[test]
    fn subscriptions_go_in_bounded_requests() {
        // (arguments, requests)
        for (n, want) in [(1, 1), (100, 1), (101, 2), (250, 3)] {
            let args = vec![json!({"channel": "candle5m", "instId": "BTC-USDT-SWAP"}); n];
            let messages = subscribe_messages(&args);
            assert_eq!(messages.len(), want, "{n}");
            assert!(messages.iter().all(|m| m.len() < 64 * 1024));
        }
    }
}
