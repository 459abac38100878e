//! Opening a WebSocket link within the shared attempt budget, and one open link and what arrives
//! on it: every text frame through `parse_frame`, the events through the shared sequencer to the
//! output, faulty frames counted and skipped with a rate-limited warning, pings answered at once.
//! Never reconnects and never decides to: it reports a lost link to the connection task.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use futures_util::SinkExt;
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, timeout};
use tokio_tungstenite::connect_async_with_config;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tracing::{debug, warn};

use super::counters::{FrameKind, LogGate, bump};
use super::plan::{Control, SlotId, apply, control_messages};
use super::{Shared, StreamEvent};
use crate::model::MarketEvent;
use crate::source::binance::wire::{Frame, WireError, parse_frame};

pub(super) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The largest message accepted: the all-market mark-price array of ~700 pairs is about 100 KB.
const MAX_MESSAGE: usize = 4 << 20;

/// Why a slot's connection ended for good, or its link for now.
#[derive(Debug)]
pub(super) enum End {
    Shutdown,
    /// The plan closed the slot.
    Retired,
    OutputClosed,
    /// The link was lost; the slot reconnects.
    Lost(String),
}

/// How often each kind of faulty frame may be logged.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// What the connection task does after a message.
#[derive(Debug)]
pub(super) enum Flow {
    Go,
    /// The link is gone (closed, broken, or its writes stall); the reason is for the log.
    Lost(String),
    /// Nobody reads the events any more.
    OutputClosed,
}

/// An open link with what it is believed to serve and what is still to be sent on it.
#[derive(Debug)]
pub(super) struct Link {
    pub(super) socket: Socket,
    pub(super) opened: Instant,
    pub(super) last_frame: Instant,
    /// The last market data (not a ping, a pong or an acknowledgement).
    pub(super) last_data: Instant,
    /// How long the link's streams may go without data ([`super::WsConfig::data_timeout`]).
    pub(super) data_timeout: Option<Duration>,
    pub(super) next_ping: Instant,
    /// A text frame arrived: the server streams on this link.
    pub(super) proven: bool,
    /// The streams of the URL, then as each control message sent changed them.
    pub(super) live: Vec<String>,
    /// Control messages still to send, recomputed whenever the target changes.
    pub(super) queue: VecDeque<Control>,
    next_id: u64,
}

impl Link {
    pub(super) fn new(socket: Socket, streams: Vec<String>, shared: &Shared) -> Self {
        let now = Instant::now();
        Link {
            socket,
            opened: now,
            last_frame: now,
            last_data: now,
            data_timeout: shared.config.data_timeout(&streams),
            next_ping: now + ping_every(shared),
            proven: false,
            live: streams,
            queue: VecDeque::new(),
            next_id: 1,
        }
    }

    /// Plans the messages that move the link to `target`.
    pub(super) fn retarget(&mut self, target: &[String]) {
        self.queue = control_messages(&self.live, target, self.next_id).into();
    }

    /// Sends the next control message.
    pub(super) async fn send_control(&mut self, shared: &Shared, slot: SlotId) -> Flow {
        let Some(control) = self.queue.pop_front() else {
            return Flow::Go;
        };
        let text = control.to_json();
        if let Err(reason) = self.send(Message::text(text), shared).await {
            return Flow::Lost(reason);
        }
        apply(&mut self.live, &control);
        self.data_timeout = shared.config.data_timeout(&self.live);
        self.next_id = control.id + 1;
        bump(&shared.counters.controls_sent);
        debug!(
            venue = "binance",
            slot,
            id = control.id,
            subscribe = control.subscribe,
            streams = control.params.len(),
            "Sent a stream subscription change."
        );
        Flow::Go
    }

    pub(super) async fn send_ping(&mut self, shared: &Shared, ping_every: Duration) -> Flow {
        self.next_ping = Instant::now() + ping_every;
        match self.send(Message::Ping(Default::default()), shared).await {
            Ok(()) => {
                bump(&shared.counters.pings_sent);
                Flow::Go
            }
            Err(reason) => Flow::Lost(reason),
        }
    }

    /// A write that does not finish within the silence timeout means a dead link.
    async fn send(&mut self, message: Message, shared: &Shared) -> Result<(), String> {
        match timeout(shared.config.silence_timeout, self.socket.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("write failed: {e}")),
            Err(_) => Err("a write stalled".to_owned()),
        }
    }

    /// Closes politely, within a short bound.
    pub(super) async fn close(mut self) {
        // A link that does not close in time is simply dropped.
        let _closed = timeout(Duration::from_secs(1), self.socket.close(None))
            .await
            .is_ok();
    }

    /// Handles what `socket.next()` gave.
    pub(super) async fn on_message(
        &mut self,
        shared: &Shared,
        slot: SlotId,
        clock: &Arc<AtomicI64>,
        message: Option<Result<Message, WsError>>,
    ) -> Flow {
        let message = match message {
            None => return Flow::Lost("the server ended the stream".to_owned()),
            Some(Err(e)) => return Flow::Lost(format!("read failed: {e}")),
            Some(Ok(message)) => message,
        };
        self.last_frame = Instant::now();
        bump(&shared.counters.messages);
        match message {
            Message::Text(text) => {
                self.proven = true;
                let (flow, data) = on_text(shared, slot, text.as_str()).await;
                // The output may have made us wait: the link was not silent meanwhile.
                self.last_frame = Instant::now();
                if data {
                    self.last_data = self.last_frame;
                    // The feed's lag counts market data only, never pings.
                    clock.store(crate::clock::wall_ms(), Ordering::Relaxed);
                }
                flow
            }
            Message::Binary(_) => {
                skip(shared, slot, FrameKind::Malformed, "a binary frame");
                Flow::Go
            }
            Message::Ping(_) => {
                bump(&shared.counters.pings_received);
                // tungstenite queued the pong; send it now rather than on the next read.
                match timeout(shared.config.silence_timeout, self.socket.flush()).await {
                    Ok(Ok(())) => Flow::Go,
                    _ => Flow::Lost("could not answer a ping".to_owned()),
                }
            }
            Message::Close(frame) => {
                let why = frame.map_or_else(String::new, |f| format!("{} {}", f.code, f.reason));
                Flow::Lost(format!("the server closed the link: {why}"))
            }
            Message::Pong(_) | Message::Frame(_) => Flow::Go,
        }
    }
}

/// One text frame: parsed, counted, and its new events handed on after the holes before them;
/// and whether it was market data (a stream's frame, even a faulty one, rather than an answer).
async fn on_text(shared: &Shared, slot: SlotId, text: &str) -> (Flow, bool) {
    let counters = &shared.counters;
    let batch = match parse_frame(text) {
        Ok(Frame::Events(batch)) => batch,
        Ok(Frame::OpenBar) => return (count(shared, FrameKind::OpenBar), true),
        Ok(Frame::Ack { id }) => {
            debug!(
                venue = "binance",
                slot, id, "Binance acknowledged a request."
            );
            return (count(shared, FrameKind::Ack), false);
        }
        Ok(Frame::Unused) => return (count(shared, FrameKind::Unused), true),
        Err(error) => {
            skip(shared, slot, kind_of(&error), &error.to_string());
            return (Flow::Go, !error.is_rejected());
        }
    };
    let kind = match batch.events.first().map(|e| &e.event) {
        Some(MarketEvent::Candle { .. }) => FrameKind::Candle,
        Some(MarketEvent::Liquidation(_)) => FrameKind::Liquidation,
        Some(_) => FrameKind::Marks,
        None => FrameKind::Unused,
    };
    counters.count_frame(kind);
    for error in &batch.dropped {
        bump(&counters.bad_entries);
        warn_gated(shared, slot, FrameKind::BadValue, &error.to_string());
    }
    let admitted = {
        let mut sequencer = shared.sequencer.lock().unwrap_or_else(|e| e.into_inner());
        sequencer.admit(batch.events)
    };
    let duplicates = admitted.duplicates as u64;
    counters.duplicates.fetch_add(duplicates, Ordering::Relaxed);
    if admitted.events.is_empty() {
        return (Flow::Go, true);
    }
    match shared.out.send(StreamEvent::Events(admitted.events)).await {
        Ok(()) => (Flow::Go, true),
        Err(_) => (Flow::OutputClosed, true),
    }
}

fn count(shared: &Shared, kind: FrameKind) -> Flow {
    shared.counters.count_frame(kind);
    Flow::Go
}

fn kind_of(error: &WireError) -> FrameKind {
    if error.is_malformed() {
        FrameKind::Malformed
    } else if error.is_unknown_stream() {
        FrameKind::UnknownStream
    } else if error.is_rejected() {
        FrameKind::Rejected
    } else {
        FrameKind::BadValue
    }
}

/// Counts a frame that cannot be used and warns, at most once per kind per [`WARN_EVERY`].
fn skip(shared: &Shared, slot: SlotId, kind: FrameKind, error: &str) {
    shared.counters.count_frame(kind);
    warn_gated(shared, slot, kind, error);
}

fn warn_gated(shared: &Shared, slot: SlotId, kind: FrameKind, error: &str) {
    let held_back = {
        let mut gates = shared.gates.lock().unwrap_or_else(|e| e.into_inner());
        let gate = gates
            .entry(kind)
            .or_insert_with(|| LogGate::new(WARN_EVERY));
        gate.allow(Instant::now())
    };
    if let Some(held_back) = held_back {
        warn!(
            venue = "binance",
            slot,
            kind = kind.as_str(),
            held_back,
            error,
            "Skipped a market-stream frame."
        );
    }
}

pub(super) fn ping_every(shared: &Shared) -> Duration {
    shared.config.silence_timeout / 3
}

/// Opens a link to `url` once the attempt budget allows, within the connect timeout.
pub(super) async fn connect(shared: &Shared, url: String) -> Result<Socket, String> {
    loop {
        let verdict = {
            let mut limiter = shared.limiter.lock().unwrap_or_else(|e| e.into_inner());
            limiter.try_acquire(Instant::now())
        };
        match verdict {
            Ok(()) => break,
            Err(wait) => {
                warn!(
                    venue = "binance",
                    wait_ms = wait.as_millis() as u64,
                    "Connection attempt budget spent; waiting."
                );
                sleep(wait).await;
            }
        }
    }
    bump(&shared.counters.attempts);
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let handshake = connect_async_with_config(url, Some(ws_config), true);
    match timeout(shared.config.connect_timeout, handshake).await {
        Ok(Ok((socket, _response))) => Ok(socket),
        Ok(Err(e)) => Err(format!("connect failed: {e}")),
        Err(_) => Err(format!(
            "connect timed out after {:?}",
            shared.config.connect_timeout
        )),
    }
}
