//! The exposition text, exact, and the endpoint over real sockets on 127.0.0.1:0.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::server::{Limits, serve_with};
use super::text::{Exposition, Histogram, Value, escape_label};
use super::*;
use crate::model::{Alert, Severity, Symbol, demo_alert};
use crate::store::{Commit, Routed};

#[test]
fn label_values_are_escaped() {
    for (raw, want) in [
        ("telegram", "telegram"),
        (r#"say "hi""#, r#"say \"hi\""#),
        (r"C:\dir", r"C:\\dir"),
        ("two\nlines", r"two\nlines"),
        ("ünï ⓈM", "ünï ⓈM"),
    ] {
        let mut out = String::new();
        escape_label(raw, &mut out);
        assert_eq!(out, want, "{raw:?}");
    }
}

type Labels<'a> = &'a [(&'a str, &'a str)];

#[test]
fn samples_print_as_prometheus_parses_them() {
    #[rustfmt::skip]
    let cases: [(Labels, Value, &str); 7] = [
        (&[], Value::Int(0), "m 0"),
        (&[], Value::Int(u64::MAX), "m 18446744073709551615"),
        (&[("sink", "email")], Value::Float(0.25), r#"m{sink="email"} 0.25"#),
        (&[("a", "1"), ("b", "x\"y")], Value::Float(3.0), r#"m{a="1",b="x\"y"} 3"#),
        (&[], Value::Float(f64::INFINITY), "m +Inf"),
        (&[], Value::Float(f64::NAN), "m NaN"),
        (&[], Value::Float(0.000_05), "m 0.00005"),
    ];
    for (labels, value, want) in cases {
        let mut out = Exposition::default();
        out.sample("m", labels, value);
        assert_eq!(out.into_string(), format!("{want}\n"));
    }
}

#[test]
fn a_family_opens_with_help_and_type() {
    let mut out = Exposition::default();
    out.family("m_total", text::Kind::Counter, "What a \\ does\nhere.");
    assert_eq!(
        out.into_string(),
        "# HELP m_total What a \\\\ does\\nhere.\n# TYPE m_total counter\n"
    );
}

/// Each case: observations, then the histogram's sample lines (name `h` left out).
#[test]
fn histogram_buckets_are_cumulative() {
    const BOUNDS: &[f64] = &[0.5, 1.0];
    #[rustfmt::skip]
    let cases = [
        ("", r#"_bucket{le="0.5"} 0; _bucket{le="1"} 0; _bucket{le="+Inf"} 0; _sum 0; _count 0"#),
        ("0.5", r#"_bucket{le="0.5"} 1; _bucket{le="1"} 1; _bucket{le="+Inf"} 1; _sum 0.5; _count 1"#),
        ("0.25 0.5 1 4", r#"_bucket{le="0.5"} 2; _bucket{le="1"} 3; _bucket{le="+Inf"} 4; _sum 5.75; _count 4"#),
        ("8 8", r#"_bucket{le="0.5"} 0; _bucket{le="1"} 0; _bucket{le="+Inf"} 2; _sum 16; _count 2"#),
        ("0.75", r#"_bucket{le="0.5"} 0; _bucket{le="1"} 1; _bucket{le="+Inf"} 1; _sum 0.75; _count 1"#),
    ];
    for (observed, want) in cases {
        let histogram = Histogram::new(BOUNDS);
        for v in observed.split_whitespace() {
            histogram.observe(v.parse().unwrap());
        }
        let mut out = Exposition::default();
        out.histogram("h", "Help.", &histogram);
        let text = out.into_string();
        assert!(text.starts_with("# HELP h Help.\n# TYPE h histogram\n"));
        let samples: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.strip_prefix('h').unwrap())
            .collect();
        assert_eq!(samples.join("; "), want, "{observed}");
    }
}

/// A fresh registry: every family, in order, with its HELP and TYPE. The names are a contract
/// (RUNBOOK.md, dashboards); changing one must change this test.
#[test]
fn a_fresh_registry_renders_every_family() {
    let metrics = Metrics::default();
    let text = metrics.render(0);
    let frames: String = FrameKind::ALL
        .iter()
        .map(|k| format!("liqwave_ws_frames_total{{kind=\"{}\"}} 0\n", k.as_str()))
        .collect();
    let alerts: String = AlertKind::ALL
        .iter()
        .map(|k| format!("liqwave_alerts_total{{kind=\"{}\"}} 0\n", k.as_str()))
        .collect();
    let buckets: String = STEP_BOUNDS
        .iter()
        .map(|b| format!("liqwave_engine_step_seconds_bucket{{le=\"{b}\"}} 0\n"))
        .collect();
    let version = env!("CARGO_PKG_VERSION");
    let want = format!(
        "\
# HELP liqwave_up 1 while the daemon answers.
# TYPE liqwave_up gauge
liqwave_up 1
# HELP liqwave_build_info Always 1; the version is in the label.
# TYPE liqwave_build_info gauge
liqwave_build_info{{version=\"{version}\"}} 1
# HELP liqwave_feed_lag_seconds Seconds since the market-stream connection's last message.
# TYPE liqwave_feed_lag_seconds gauge
# HELP liqwave_ws_frames_total Market-stream text frames by what they were.
# TYPE liqwave_ws_frames_total counter
{frames}\
# HELP liqwave_ws_reconnects_total Market-stream links that came back after being lost.
# TYPE liqwave_ws_reconnects_total counter
liqwave_ws_reconnects_total 0
# HELP liqwave_gaps_total Holes found in a pair's series of closed bars.
# TYPE liqwave_gaps_total counter
liqwave_gaps_total 0
# HELP liqwave_bars_backfilled_total Bars fetched from REST to fill holes.
# TYPE liqwave_bars_backfilled_total counter
liqwave_bars_backfilled_total 0
# HELP liqwave_rest_weight_used REST weight counted in the current minute.
# TYPE liqwave_rest_weight_used gauge
liqwave_rest_weight_used 0
# HELP liqwave_rest_weight_spent_total REST weight reserved since start.
# TYPE liqwave_rest_weight_spent_total counter
liqwave_rest_weight_spent_total 0
# HELP liqwave_alerts_total Alerts the engine raised, by kind.
# TYPE liqwave_alerts_total counter
{alerts}\
# HELP liqwave_engine_step_seconds Engine time per input: analytics, rules and the store commit.
# TYPE liqwave_engine_step_seconds histogram
{buckets}\
liqwave_engine_step_seconds_bucket{{le=\"+Inf\"}} 0
liqwave_engine_step_seconds_sum 0
liqwave_engine_step_seconds_count 0
# HELP liqwave_engine_pairs Pairs the engine holds state for.
# TYPE liqwave_engine_pairs gauge
liqwave_engine_pairs 0
# HELP liqwave_alerts_delivered_total Alerts a sink delivered (each alert of a digest counts).
# TYPE liqwave_alerts_delivered_total counter
# HELP liqwave_sink_errors_total Failed sends per sink, retriable or not.
# TYPE liqwave_sink_errors_total counter
"
    );
    assert_eq!(text, want);
}

/// Applies `actions` (`;`-separated) to a fresh registry at time 10 s, renders at `now` (ms) and
/// returns the sample lines of the series named `series`, joined by `; `.
fn check(actions: &str, now: TimeMs, series: &str) -> String {
    let metrics = Metrics::default();
    let counters = Arc::new(Counters::default());
    metrics.watch_feeds(Arc::clone(&counters));
    let dir = tempfile::tempdir().unwrap();
    for action in actions.split(';').map(str::trim).filter(|a| !a.is_empty()) {
        let words: Vec<&str> = action.split_whitespace().collect();
        match words.as_slice() {
            ["alert", kind] => metrics.alert(kind.parse().unwrap()),
            ["step", seconds] => metrics.engine_step(seconds.parse().unwrap()),
            ["pairs", n] => metrics.set_engine_pairs(n.parse().unwrap()),
            ["sink", name] => drop(metrics.sink(name)),
            ["delivered", name, n] => metrics.sink(name).delivered(n.parse().unwrap()),
            ["error", name] => metrics.sink(name).error(),
            ["frame", kind] => {
                counters.count_frame(*FrameKind::ALL.iter().find(|k| k.as_str() == *kind).unwrap())
            }
            ["reconnect"] => {
                counters.reconnects.fetch_add(1, Ordering::Relaxed);
            }
            ["connection", slot, last_ms] => counters
                .register(slot.parse().unwrap())
                .store(last_ms.parse().unwrap(), Ordering::Relaxed),
            ["scrape", at] => drop(metrics.render(at.parse().unwrap())),
            ["store"] => metrics.watch_store(Store::open(dir.path(), 1 << 20).unwrap()),
            ["outbox", sink, n] => {
                let store = lock(&metrics.readers).store.clone().unwrap();
                let alerts: Vec<Routed> = (0..n.parse().unwrap())
                    .map(|i| Routed::new(alert(i), vec![(*sink).to_owned()]))
                    .collect();
                let commit = Commit::alerts(&alerts);
                store.commit(&commit).unwrap();
            }
            _ => panic!("unknown action {action:?}"),
        }
    }
    let text = metrics.render(now);
    let prefix = format!("{series}{{");
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(&prefix) || l.split(' ').next() == Some(series))
        .collect();
    lines.join("; ")
}

fn alert(i: i64) -> Alert {
    let symbol: Symbol = "BTCUSDT".parse().unwrap();
    let facts = demo_alert(AlertKind::RegimeChange).facts;
    Alert::new(
        symbol,
        None,
        i,
        i,
        Severity::Info,
        format!("alert {i}"),
        facts,
    )
}

#[test]
fn series_follow_what_happened() {
    #[rustfmt::skip]
    let cases = [
        ("alert regime_change; alert regime_change; alert setup_entry", 0, "liqwave_alerts_total",
         r#"liqwave_alerts_total{kind="regime_change"} 2; liqwave_alerts_total{kind="midline_cross"} 0; liqwave_alerts_total{kind="divergence"} 0; liqwave_alerts_total{kind="cluster_approach"} 0; liqwave_alerts_total{kind="cluster_edge"} 0; liqwave_alerts_total{kind="cluster_swept"} 0; liqwave_alerts_total{kind="setup_entry"} 1; liqwave_alerts_total{kind="divergence_exit"} 0; liqwave_alerts_total{kind="daily_summary"} 0"#),
        ("step 0.0002; step 0.003", 0, "liqwave_engine_step_seconds_count", "liqwave_engine_step_seconds_count 2"),
        ("step 0.0002; step 0.003", 0, "liqwave_engine_step_seconds_bucket",
         r#"liqwave_engine_step_seconds_bucket{le="0.00005"} 0; liqwave_engine_step_seconds_bucket{le="0.0001"} 0; liqwave_engine_step_seconds_bucket{le="0.00025"} 1; liqwave_engine_step_seconds_bucket{le="0.0005"} 1; liqwave_engine_step_seconds_bucket{le="0.001"} 1; liqwave_engine_step_seconds_bucket{le="0.0025"} 1; liqwave_engine_step_seconds_bucket{le="0.005"} 2; liqwave_engine_step_seconds_bucket{le="0.01"} 2; liqwave_engine_step_seconds_bucket{le="0.025"} 2; liqwave_engine_step_seconds_bucket{le="0.05"} 2; liqwave_engine_step_seconds_bucket{le="0.1"} 2; liqwave_engine_step_seconds_bucket{le="0.25"} 2; liqwave_engine_step_seconds_bucket{le="0.5"} 2; liqwave_engine_step_seconds_bucket{le="1"} 2; liqwave_engine_step_seconds_bucket{le="2.5"} 2; liqwave_engine_step_seconds_bucket{le="+Inf"} 2"#),
        ("pairs 3; pairs 600", 0, "liqwave_engine_pairs", "liqwave_engine_pairs 600"),
        ("sink telegram", 0, "liqwave_sink_errors_total", r#"liqwave_sink_errors_total{sink="telegram"} 0"#),
        ("delivered email 3; delivered email 2; error telegram", 0, "liqwave_alerts_delivered_total",
         r#"liqwave_alerts_delivered_total{sink="email"} 5; liqwave_alerts_delivered_total{sink="telegram"} 0"#),
        ("error telegram; error telegram", 0, "liqwave_sink_errors_total", r#"liqwave_sink_errors_total{sink="telegram"} 2"#),
        ("reconnect; reconnect", 0, "liqwave_ws_reconnects_total", "liqwave_ws_reconnects_total 2"),
        ("connection 0 1000; connection 7 4500", 6_250, "liqwave_feed_lag_seconds",
         r#"liqwave_feed_lag_seconds{connection="0"} 5.25; liqwave_feed_lag_seconds{connection="7"} 1.75"#),
        // Before its first message, a connection's lag counts from the first scrape that saw it.
        ("connection 3 0; scrape 2000", 9_000, "liqwave_feed_lag_seconds", r#"liqwave_feed_lag_seconds{connection="3"} 7"#),
        ("connection 3 0", 9_000, "liqwave_feed_lag_seconds", r#"liqwave_feed_lag_seconds{connection="3"} 0"#),
        // A clock behind ours is no negative lag.
        ("connection 1 9500", 9_000, "liqwave_feed_lag_seconds", r#"liqwave_feed_lag_seconds{connection="1"} 0"#),
        ("", 0, "liqwave_outbox_depth", ""),
        ("store; sink telegram", 0, "liqwave_outbox_depth", r#"liqwave_outbox_depth{sink="telegram"} 0"#),
        ("store; sink telegram; outbox email 2; outbox telegram 3", 0, "liqwave_outbox_depth",
         r#"liqwave_outbox_depth{sink="email"} 2; liqwave_outbox_depth{sink="telegram"} 3"#),
    ];
    for (actions, now, series, want) in cases {
        assert_eq!(check(actions, now, series), want, "{actions} / {series}");
    }
    assert_eq!(
        check(
            "frame candle; frame candle; frame malformed",
            0,
            "liqwave_ws_frames_total"
        )
        .split("; ")
        .filter(|l| !l.ends_with(" 0"))
        .collect::<Vec<_>>(),
        [
            r#"liqwave_ws_frames_total{kind="candle"} 2"#,
            r#"liqwave_ws_frames_total{kind="malformed"} 1"#
        ]
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
    metrics.alert(AlertKind::SetupEntry);
    let (_stop, shutdown) = watch::channel(false);
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
    assert!(body.contains("liqwave_alerts_total{kind=\"setup_entry\"} 1\n"));
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
    let (stop, shutdown) = watch::channel(false);
    stop.send_replace(true);
    let bound = Duration::from_secs(30);
    let served = serve_with(listener, &metrics, Limits::DEFAULT, shutdown);
    tokio::time::timeout(bound, served).await.expect("stopped");
}
