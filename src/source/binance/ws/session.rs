//! One link being served, and its replacement while one is made: reads both, checks the
//! deadlines (silence, roll-over, control pacing, pings) on a ticker, promotes the replacement on
//! its first text frame. Never reconnects a lost link (the connection task does) and never spawns.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior, interval};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::Shared;
use super::counters::bump;
use super::limiter::backoff;
use super::link::{End, Flow, Link, Socket, connect, ping_every};
use super::plan::SlotId;

/// Messages read in one go before the timers get a look in.
const DRAIN: usize = 64;

/// A link being served, and its replacement while one is being made.
pub(super) struct Session<'a> {
    shared: &'a Shared,
    slot: SlotId,
    clock: Arc<AtomicI64>,
    link: Link,
    /// The replacement: up, and promoted on its first text frame.
    next: Option<Link>,
    /// The replacement being opened, with the streams of its URL.
    opening: Option<Opening<'a>>,
    rotate_at: Instant,
    replace_failures: u32,
    control_at: Instant,
}

type Opening<'a> = (Vec<String>, BoxFuture<'a, Result<Socket, String>>);
type Read = Option<Result<Message, WsError>>;

impl<'a> Session<'a> {
    pub(super) fn new(shared: &'a Shared, slot: SlotId, clock: Arc<AtomicI64>, link: Link) -> Self {
        Session {
            rotate_at: link.opened + shared.config.rotate_after,
            control_at: link.opened,
            shared,
            slot,
            clock,
            link,
            next: None,
            opening: None,
            replace_failures: 0,
        }
    }

    /// Serves until the link is lost for good or the slot ends; says how long the link lived.
    pub(super) async fn run(
        mut self,
        target: &mut watch::Receiver<Vec<String>>,
        shutdown: &CancellationToken,
    ) -> (End, Duration) {
        let config = &self.shared.config;
        let period = (config.silence_timeout / 10).min(config.control_interval / 2);
        let mut ticker = interval(period.max(Duration::from_millis(1)));
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        self.link.retarget(&target.borrow_and_update());
        // Biased, in this order: the timers are never starved by a busy link, and the
        // replacement proves itself even while the old link streams.
        let end = loop {
            let flow = tokio::select! {
                biased;
                () = shutdown.cancelled() => break End::Shutdown,
                _ = ticker.tick() => self.on_tick(target).await,
                changed = target.changed() => match changed {
                    Ok(()) => {
                        self.link.retarget(&target.borrow_and_update());
                        Flow::Go
                    }
                    Err(_) => break End::Retired,
                },
                opened = opening(&mut self.opening) => self.on_opened(opened),
                message = next_message(&mut self.next) => self.on_next(message, target).await,
                message = self.link.socket.next() => self.on_link(message).await,
            };
            match flow {
                Flow::Go => {}
                Flow::OutputClosed => break End::OutputClosed,
                Flow::Lost(reason) => match self.next.take() {
                    // The replacement is already up: it takes over, nothing was missed.
                    Some(next) => self.promote(next, target, false).await,
                    None => break End::Lost(reason),
                },
            }
        };
        let lived = self.link.opened.elapsed();
        if !matches!(end, End::Lost(_)) {
            if let Some(next) = self.next.take() {
                next.close().await;
            }
            self.link.close().await;
        }
        (end, lived)
    }

    /// A message on the current link, then whatever else is already buffered.
    async fn on_link(&mut self, message: Read) -> Flow {
        let (shared, slot) = (self.shared, self.slot);
        let mut flow = self
            .link
            .on_message(shared, slot, &self.clock, message)
            .await;
        for _ in 0..DRAIN {
            if !matches!(flow, Flow::Go) {
                break;
            }
            let Some(message) = self.link.socket.next().now_or_never() else {
                break;
            };
            flow = self
                .link
                .on_message(shared, slot, &self.clock, message)
                .await;
        }
        flow
    }

    /// A message on the replacement: its events count like any other (the sequencer drops the
    /// copies); its first text frame proves it streams, and it takes over.
    async fn on_next(&mut self, message: Read, target: &watch::Receiver<Vec<String>>) -> Flow {
        let Some(next) = self.next.as_mut() else {
            return Flow::Go;
        };
        match next
            .on_message(self.shared, self.slot, &self.clock, message)
            .await
        {
            Flow::Go if next.proven => {
                if let Some(next) = self.next.take() {
                    self.promote(next, target, true).await;
                }
                Flow::Go
            }
            Flow::Lost(reason) => {
                self.next = None;
                self.replacement_failed(&reason);
                Flow::Go
            }
            flow => flow,
        }
    }

    fn on_opened(&mut self, opened: Result<Socket, String>) -> Flow {
        let streams = self.opening.take().map(|(s, _)| s).unwrap_or_default();
        match opened {
            Ok(socket) => self.next = Some(Link::new(socket, streams, self.shared)),
            Err(reason) => self.replacement_failed(&reason),
        }
        Flow::Go
    }

    /// The deadlines: silence, the replacement's first frame, roll-over, control pacing, pings.
    async fn on_tick(&mut self, target: &watch::Receiver<Vec<String>>) -> Flow {
        let (shared, config) = (self.shared, &self.shared.config);
        let now = Instant::now();
        if now >= self.link.last_frame + config.silence_timeout {
            bump(&shared.counters.stalls);
            return Flow::Lost(format!("no frame for {:?}", config.silence_timeout));
        }
        if let Some(limit) = self.link.data_timeout
            && now >= self.link.last_data + limit
        {
            bump(&shared.counters.stalls);
            let why = "the link still answers, but streams nothing";
            return Flow::Lost(format!("no market data for {limit:?}: {why}"));
        }
        if self
            .next
            .as_ref()
            .is_some_and(|next| now >= next.opened + config.silence_timeout)
        {
            self.next = None;
            self.replacement_failed("the replacement link sent nothing");
        }
        if self.opening.is_none() && self.next.is_none() && now >= self.rotate_at {
            let streams = target.borrow().clone();
            let url = config.url(&streams);
            self.opening = Some((streams, Box::pin(connect(shared, url))));
            info!(
                venue = "binance",
                slot = self.slot,
                "Opening a replacement market-stream link."
            );
        }
        if !self.link.queue.is_empty() && now >= self.control_at {
            self.control_at = now + config.control_interval;
            let flow = self.link.send_control(shared, self.slot).await;
            if !matches!(flow, Flow::Go) {
                return flow;
            }
        }
        if now >= self.link.next_ping {
            return self.link.send_ping(shared, ping_every(shared)).await;
        }
        Flow::Go
    }

    /// The replacement takes over; the old link is closed politely when it still works.
    async fn promote(&mut self, next: Link, target: &watch::Receiver<Vec<String>>, close: bool) {
        let old = std::mem::replace(&mut self.link, next);
        if close {
            old.close().await;
        }
        self.link.retarget(&target.borrow());
        self.rotate_at = self.link.opened + self.shared.config.rotate_after;
        self.replace_failures = 0;
        self.control_at = Instant::now();
        bump(&self.shared.counters.rotations);
        info!(
            venue = "binance",
            slot = self.slot,
            "Market-stream link replaced."
        );
    }

    /// The current link stays; the next try waits a backoff.
    fn replacement_failed(&mut self, reason: &str) {
        let config = &self.shared.config;
        self.replace_failures = self.replace_failures.saturating_add(1);
        let seed = self.shared.seed ^ self.slot;
        let wait = backoff(
            self.replace_failures,
            config.backoff_base,
            config.backoff_cap,
            seed,
        );
        self.rotate_at = Instant::now() + wait;
        warn!(
            venue = "binance",
            slot = self.slot,
            attempt = self.replace_failures,
            backoff_ms = wait.as_millis() as u64,
            error = reason,
            "Could not replace a market-stream link; the current one stays."
        );
    }
}

async fn next_message(next: &mut Option<Link>) -> Read {
    match next {
        Some(link) => link.socket.next().await,
        None => std::future::pending().await,
    }
}

async fn opening(opening: &mut Option<Opening<'_>>) -> Result<Socket, String> {
    match opening {
        Some((_, future)) => future.await,
        None => std::future::pending().await,
    }
}
