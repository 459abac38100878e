//! The metrics endpoint: minimal HTTP/1.1 on a listener the supervisor bound, `GET /metrics` and
//! nothing else. Connections are answered inside the one task it runs in (a few at once, each
//! with a deadline); it never spawns, never reads more than a bounded request head, and stops on
//! the shutdown signal.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, sleep, timeout_at};
use tokio_util::sync::CancellationToken;

use super::{CONTENT_TYPE, Metrics};

/// How much a client may ask of the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The longest request head (request line and headers) read.
    pub head_bytes: usize,
    /// From accept to the last byte of the answer; a client slower than this is dropped.
    pub deadline: Duration,
    /// Connections answered at once; more wait in the kernel's backlog. A scraper needs one.
    pub connections: usize,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        head_bytes: 8 * 1024,
        deadline: Duration::from_secs(5),
        connections: 4,
    };
}

/// How long to wait after a failed accept (out of file descriptors, say) before the next.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Serves `metrics` on `listener` until `shutdown` is cancelled.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, shutdown: CancellationToken) {
    serve_with(listener, &metrics, Limits::DEFAULT, shutdown).await;
}

pub(super) async fn serve_with(
    listener: TcpListener,
    metrics: &Metrics,
    limits: Limits,
    shutdown: CancellationToken,
) {
    match listener.local_addr() {
        Ok(addr) => tracing::info!(%addr, "Serving metrics."),
        Err(error) => tracing::info!(%error, "Serving metrics."),
    }
    let mut open = FuturesUnordered::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            Some(()) = open.next(), if !open.is_empty() => {}
            accepted = listener.accept(), if open.len() < limits.connections => match accepted {
                Ok((stream, _peer)) => open.push(answer(stream, metrics, limits)),
                Err(error) => {
                    tracing::warn!(%error, "Cannot accept a metrics connection.");
                    sleep(ACCEPT_PAUSE).await;
                }
            },
        }
    }
}

/// Reads one request head and answers it, all before the connection's deadline; then closes.
async fn answer(mut stream: TcpStream, metrics: &Metrics, limits: Limits) {
    let deadline = Instant::now() + limits.deadline;
    let head = match timeout_at(deadline, read_head(&mut stream, limits.head_bytes)).await {
        Ok(Ok(head)) => head,
        Ok(Err(error)) => {
            tracing::debug!(%error, "A metrics client went away.");
            return;
        }
        Err(_elapsed) => {
            tracing::debug!("A metrics client was too slow; closed.");
            return;
        }
    };
    let response = respond(&head, metrics);
    let written = timeout_at(deadline, async {
        stream.write_all(&response).await?;
        stream.shutdown().await
    })
    .await;
    if !matches!(written, Ok(Ok(()))) {
        tracing::debug!("A metrics client did not take its answer.");
    }
}

/// What the client sent before the blank line.
#[derive(Debug, PartialEq, Eq)]
enum Head {
    Complete(Vec<u8>),
    /// No blank line within the limit.
    TooLarge,
}

/// Reads until the blank line that ends a request head, at most `limit` bytes.
async fn read_head(stream: &mut TcpStream, limit: usize) -> std::io::Result<Head> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let searched_from = head.len().saturating_sub(3);
        head.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(&head[searched_from..], b"\r\n\r\n") {
            let end = searched_from + end;
            if end + 4 > limit {
                return Ok(Head::TooLarge);
            }
            head.truncate(end);
            return Ok(Head::Complete(head));
        }
        if head.len() >= limit {
            return Ok(Head::TooLarge);
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The whole response for a request head.
fn respond(head: &Head, metrics: &Metrics) -> Vec<u8> {
    let Head::Complete(head) = head else {
        return response(
            "431 Request Header Fields Too Large",
            "",
            "Request head too large.\n",
        );
    };
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return response("400 Bad Request", "", "Bad request line.\n");
    };
    if !version.starts_with("HTTP/1.") {
        return response("400 Bad Request", "", "HTTP/1.x only.\n");
    }
    let path = target.split('?').next().unwrap_or_default();
    match (method, path) {
        ("GET", "/metrics") => match metrics.render() {
            Ok(body) => response("200 OK", "", &body),
            Err(error) => {
                tracing::error!(%error, "Cannot encode the metrics.");
                response(
                    "500 Internal Server Error",
                    "",
                    "Cannot encode the metrics.\n",
                )
            }
        },
        ("GET", _) => response("404 Not Found", "", "Not found; metrics are at /metrics.\n"),
        _ => response(
            "405 Method Not Allowed",
            "Allow: GET\r\n",
            "Only GET is served.\n",
        ),
    }
}

fn response(status: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: {}\r\n\
         Connection: close\r\n{extra_headers}\r\n",
        body.len()
    );
    [head.as_bytes(), body.as_bytes()].concat()
}
