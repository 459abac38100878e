//! The registry's own series and its grouping, exact, and the endpoint over real sockets on
//! 127.0.0.1:0. The components' series are tested beside them; the whole daemon's scrape in
//! tests/metrics.rs.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::server::{Limits, serve_with};
use super::*;

/// A fresh registry: the daemon's own two series, with HELP and TYPE. The names are a contract
/// (RUNBOOK.md, dashboards); changing one must change this test.
#[test]
fn a_fresh_registry_renders_its_own_series() {
    let version = env!("CARGO_PKG_VERSION");
    let want = format!(
        "\
# HELP liqwave_up 1 while the daemon answers.
# TYPE liqwave_up gauge
liqwave_up 1
# HELP liqwave_build_info Always 1; the version is in the label.
# TYPE liqwave_build_info gauge
liqwave_build_info{{version=\"{version}\"}} 1
"
    );
    assert_eq!(Metrics::default().render().unwrap(), want);
}

/// Each component's families stay together, in the order the components registered, after the
/// registry's own; counters get their `_total` from the encoder.
#[test]
fn components_render_in_the_order_they_registered() {
    let metrics = Metrics::default();
    let (a, b) = (Counter::<u64>::default(), Gauge::<i64>::default());
    metrics.register(|r| {
        r.register("liqwave_test_first", "First", a.clone());
        r.register("liqwave_test_first_gauge", "First, too", b.clone());
    });
    metrics.register(|r| r.register("liqwave_test_second", "Second", Gauge::<i64>::default()));
    a.inc_by(3);
    b.set(-2);
    let text = metrics.render().unwrap();
    let types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE ")).collect();
    #[rustfmt::skip]
    assert_eq!(types, [
        "# TYPE liqwave_up gauge", "# TYPE liqwave_build_info gauge",
        "# TYPE liqwave_test_first_total counter", "# TYPE liqwave_test_first_gauge gauge",
        "# TYPE liqwave_test_second gauge",
    ]);
    assert_eq!(
        metrics.samples("liqwave_test_first_total"),
        "liqwave_test_first_total 3"
    );
    assert_eq!(
        metrics.samples("liqwave_test_first_gauge"),
        "liqwave_test_first_gauge -2"
    );
}

// The endpoint, over real sockets. Each test drives the server and its clients on one task.

/// Sends `request` and reads the whole answer (the server closes after it).
async fn ask(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8(answer).unwrap()
}

/// Runs `client` against a server with `limits` until it is done; the server never ends first.
async fn with_server<F: Future<Output = T>, T>(
    limits: Limits,
    client: impl FnOnce(std::net::SocketAddr) -> F,
) -> T {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let metrics = Metrics::default();
    let served = Counter::<u64>::default();
    served.inc();
    metrics.register(|r| r.register("liqwave_test_served", "Counted once", served));
    let shutdown = CancellationToken::new();
    // A generous bound so a broken server fails the test instead of hanging it.
    let bound = Duration::from_secs(30);
    tokio::select! {
        () = serve_with(listener, &metrics, limits, shutdown) => panic!("the server stopped"),
        done = tokio::time::timeout(bound, client(addr)) => done.expect("the client finished"),
    }
}

/// Status line, then what matters of the answer to one request (one line of data per case).
#[tokio::test]
async fn the_endpoint_answers_get_metrics_only() {
    #[rustfmt::skip]
    let cases: [(&[u8], &str); 7] = [
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK"),
        (b"GET /metrics?name[]=up HTTP/1.0\r\n\r\n", "HTTP/1.1 200 OK"),
        (b"GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found"),
        (b"GET /metricsx HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found"),
        (b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 405 Method Not Allowed"),
        (b"HEAD /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 405 Method Not Allowed"),
        (b"hello\r\n\r\n", "HTTP/1.1 400 Bad Request"),
    ];
    with_server(Limits::DEFAULT, |addr| async move {
        for (request, want) in cases {
            let answer = ask(addr, request).await;
            let status = answer.lines().next().unwrap_or_default();
            assert_eq!(status, want, "{}", String::from_utf8_lossy(request));
        }
    })
    .await;
}

#[tokio::test]
async fn metrics_come_with_their_content_type_and_length() {
    let answer = with_server(Limits::DEFAULT, |addr| async move {
        ask(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await
    })
    .await;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let headers: Vec<&str> = head.lines().skip(1).collect();
    assert_eq!(
        headers,
        [
            "Content-Type: text/plain; version=0.0.4; charset=utf-8",
            &format!("Content-Length: {}", body.len()),
            "Connection: close",
        ]
    );
    assert!(body.contains("\nliqwave_up 1\n"), "{body}");
    assert!(body.contains("\nliqwave_test_served_total 1\n"), "{body}");
}

#[tokio::test]
async fn a_head_past_the_limit_is_refused() {
    let limits = Limits {
        head_bytes: 64,
        ..Limits::DEFAULT
    };
    let answer = with_server(limits, |addr| async move {
        let long = format!(
            "GET /metrics HTTP/1.1\r\nX-Pad: {}\r\n\r\n",
            "a".repeat(100)
        );
        ask(addr, long.as_bytes()).await
    })
    .await;
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
}

/// A client that sends half a request and waits holds no one up; its connection is closed at the
/// deadline without an answer.
#[tokio::test]
async fn a_slow_client_does_not_block_the_next() {
    // The deadline is far beyond the test's own bound (30 s): were the slow client served first,
    // the test would time out instead of passing late.
    let limits = Limits {
        deadline: Duration::from_secs(600),
        ..Limits::DEFAULT
    };
    with_server(limits, |addr| async move {
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /metr").await.unwrap();
        let answer = ask(addr, b"GET /metrics HTTP/1.1\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        drop(slow);
    })
    .await;
}

#[tokio::test]
async fn a_stalled_request_is_closed_at_the_deadline() {
    let limits = Limits {
        deadline: Duration::from_millis(500),
        ..Limits::DEFAULT
    };
    with_server(limits, |addr| async move {
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /metr").await.unwrap();
        let mut answer = Vec::new();
        slow.read_to_end(&mut answer).await.unwrap();
        assert_eq!(answer, b"", "closed without an answer");
        // The server goes on serving.
        let answer = ask(addr, b"GET /metrics HTTP/1.1\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    })
    .await;
}

#[tokio::test]
async fn the_server_stops_on_shutdown() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics = Metrics::default();
    let shutdown = CancellationToken::new();
    shutdown.cancel();
    let bound = Duration::from_secs(30);
    let served = serve_with(listener, &metrics, Limits::DEFAULT, shutdown);
    tokio::time::timeout(bound, served).await.expect("stopped");
}
