//! The email sink against a real SMTP server in this process (mailin-embedded): STARTTLS with a
//! self-signed certificate from rcgen (or one a private CA signed, trusted through `ca_file`),
//! AUTH PLAIN, every received message captured raw. The MIME
//! is taken apart by hand here, so the test sees exactly what a mail client would. The daily
//! summary comes from a replay of the bundled recordings, and goes out once through the durable
//! worker (sled outbox, sent log) across an SMTP outage.
//!
//! mailin's `serve()` never returns: each server runs on its own thread, left to die with the
//! test process. Every wait is bounded; nothing leaves 127.0.0.1.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use liqwave::config::{EmailSinkConfig, SmtpTls, TelegramSinkConfig};
use liqwave::engine::{Engine, SummaryRequest};
use liqwave::model::{
    Alert, AlertId, BarFacts, Facts, Interval, Regime, RegimeChangeFacts, parse_utc,
};
use liqwave::notify::chart::board_size;
use liqwave::notify::email::{EmailSink, build_message, content_id, message_id};
use liqwave::notify::secret::Secret;
use liqwave::notify::telegram::TelegramSink;
use liqwave::notify::{Sink, SinkError};
use liqwave::store::{Commit, Routed};
use liqwave::supervisor::delivery::{DeliveryContext, RetryPolicy, deliver};
use tokio_util::sync::CancellationToken;

use crate::support::demo::demo_data;
use crate::support::net::ClosedPort;
use crate::support::smtp::{Cert, PASSWORD, TestServer, USER};
use crate::support::testing::{alert, temp_store};

mod read;
mod trust;

/// Bound on any one delivery in these tests (the sink's own SMTP timeout is shorter).
/// The sender of every test mail.
const FROM: &str = "liqwave <alerts@liqwave.test>";
const BOUND: Duration = Duration::from_secs(20);

impl TestServer {
    fn config(&self) -> EmailSinkConfig {
        config(self.port)
    }

    /// A sink that trusts this server's certificate.
    fn sink(&self, password: &str) -> EmailSink {
        EmailSink::new(&self.config(), Some(Secret::new(password.to_owned())))
            .unwrap()
            .with_tls_root(self.cert_pem.as_bytes())
            .unwrap()
    }
}

fn config(port: u16) -> EmailSinkConfig {
    EmailSinkConfig {
        host: "localhost".to_owned(),
        port,
        tls: SmtpTls::Starttls,
        username: Some(USER.to_owned()),
        password_env: "LIQWAVE_TEST_SMTP_PASSWORD".to_owned(),
        from: FROM.to_owned(),
        to: vec![
            "trader@liqwave.test".to_owned(),
            "Desk <desk@liqwave.test>".to_owned(),
        ],
        timeout: Duration::from_secs(5),
        ca_file: None,
    }
}

/// BTCUSDT's 1d regime change, bull to bear at RSI 38.5, with HTML in its title.
fn regime_change() -> Alert {
    let facts = RegimeChangeFacts {
        from: Regime::Bull,
        to: Regime::Bear,
        bar: BarFacts {
            rsi: 38.5,
            close: 80_000.5,
            bar_open_ms: 1_741_478_400_000,
            bars: 300,
            converged: true,
        },
    };
    alert(Facts::RegimeChange(facts))
        .interval(Interval::D1)
        .at(1_741_564_800_000)
        .title("BTCUSDT 1d regime bull -> bear & <check>")
        .build()
}

async fn send(sink: &mut EmailSink, alert: &Alert) -> Result<(), SinkError> {
    tokio::time::timeout(BOUND, sink.send(alert))
        .await
        .expect("delivery is bounded")
}

// ---- A small MIME reader: enough for what lettre writes. ----

#[derive(Debug)]
struct Part {
    /// Unfolded headers, names lower-cased.
    headers: Vec<(String, String)>,
    /// The decoded body (quoted-printable and base64 undone).
    body: Vec<u8>,
    /// Sub-parts, for a multipart.
    parts: Vec<Part>,
}

impl Part {
    fn parse(raw: &[u8]) -> Part {
        let split = find(raw, b"\r\n\r\n").expect("a blank line after the headers");
        let head = std::str::from_utf8(&raw[..split]).expect("ASCII headers");
        let body = &raw[split + 4..];
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                let last = headers.last_mut().expect("a continuation follows a header");
                last.1.push(' ');
                last.1.push_str(line.trim());
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let mut part = Part {
            headers,
            body: Vec::new(),
            parts: Vec::new(),
        };
        if part.content_type().starts_with("multipart/") {
            let boundary = part.param("content-type", "boundary").expect("a boundary");
            part.parts = split_multipart(body, &boundary)
                .into_iter()
                .map(Part::parse)
                .collect();
        } else {
            part.body = match part.header("content-transfer-encoding").unwrap_or("7bit") {
                "quoted-printable" => decode_quoted_printable(body),
                "base64" => decode_base64(body),
                _ => body.to_vec(),
            };
        }
        part
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn content_type(&self) -> String {
        let value = self.header("content-type").unwrap_or("text/plain");
        value.split(';').next().unwrap().trim().to_ascii_lowercase()
    }

    fn param(&self, header: &str, name: &str) -> Option<String> {
        self.header(header)?.split(';').skip(1).find_map(|p| {
            let (key, value) = p.trim().split_once('=')?;
            (key.eq_ignore_ascii_case(name)).then(|| value.trim_matches('"').to_owned())
        })
    }

    /// Every leaf part, depth first.
    fn leaves(&self) -> Vec<&Part> {
        if self.parts.is_empty() {
            vec![self]
        } else {
            self.parts.iter().flat_map(Part::leaves).collect()
        }
    }

    fn find(&self, content_type: &str) -> Option<&Part> {
        if self.content_type() == content_type {
            return Some(self);
        }
        self.parts.iter().find_map(|p| p.find(content_type))
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 text")
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The parts between `--boundary` lines, up to `--boundary--`.
fn split_multipart<'a>(body: &'a [u8], boundary: &str) -> Vec<&'a [u8]> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut rest = &body[find(body, delimiter.as_bytes()).expect("a first boundary")..];
    loop {
        rest = &rest[delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        rest = rest.strip_prefix(b"\r\n").expect("CRLF after a boundary");
        let end = find(rest, format!("\r\n{delimiter}").as_bytes()).expect("a closing boundary");
        parts.push(&rest[..end]);
        rest = &rest[end + 2..];
    }
    parts
}

fn decode_quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'=' {
            if body[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            let hex = std::str::from_utf8(&body[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).expect("=XX"));
            i += 3;
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    out
}

fn decode_base64(body: &[u8]) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let symbols: Vec<u8> = body
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(symbols.len() * 3 / 4);
    for chunk in symbols.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &c)| acc | value(c) << (18 - 6 * i));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

// ---- The tests. ----

#[tokio::test]
async fn an_alert_arrives_over_starttls_with_auth() {
    let server = TestServer::start();
    let mut sink = server.sink(PASSWORD);
    let alert = regime_change();
    send(&mut sink, &alert).await.expect("delivered");
    sink.flush().await.unwrap();

    let received = server.received();
    assert_eq!(received.len(), 1);
    let mail = Part::parse(&received[0]);
    assert_eq!(
        mail.header("subject"),
        Some("[liqwave] BTCUSDT 1d regime bull -> bear & <check>")
    );
    let id = message_id(FROM, alert.id.as_str());
    assert_eq!(
        id,
        "<regime_change.BTCUSDT.1d.1741564800000.8ad9583f@liqwave.test>"
    );
    assert_eq!(mail.header("message-id"), Some(id.as_str()));
    let to = mail.header("to").unwrap();
    assert!(to.contains("trader@liqwave.test") && to.contains("desk@liqwave.test"));
    assert_eq!(mail.content_type(), "multipart/alternative");

    let text = mail.find("text/plain").expect("a text part").text();
    let html = mail.find("text/html").expect("an HTML part").text();
    assert!(text.contains(&alert.title), "{text}");
    assert!(text.contains("RSI:      38.5 · close 80,000"), "{text}");
    assert!(text.contains(alert.id.as_str()), "{text}");
    assert!(
        html.contains("BTCUSDT 1d regime bull -&gt; bear &amp; &lt;check&gt;"),
        "{html}"
    );
    assert!(html.contains(">Regime</th>"), "{html}");
    assert!(html.contains(">bull → bear</td></tr>"), "{html}");
    assert!(html.contains(alert.id.as_str()), "{html}");
}

#[tokio::test]
async fn build_message_carries_inline_images_by_content_id() {
    let server = TestServer::start();
    let sink = server.sink(PASSWORD);
    // A PNG signature and some bytes that would break any text encoding.
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..=255u8).cycle().take(3000))
        .collect();
    let message = build_message(
        &server.config(),
        "[liqwave] Daily summary 2025-03-10",
        "Daily summary\n\nBTCUSDT: bear\n",
        "<html><body><p>Daily summary</p><img src=\"cid:chart-btcusdt\" alt=\"BTCUSDT\"></body></html>",
        &[("chart-btcusdt", &png)],
        &message_id(FROM, "daily_summary:2025-03-10"),
    )
    .unwrap();
    tokio::time::timeout(BOUND, sink.send_message(message))
        .await
        .unwrap()
        .expect("delivered");

    let received = server.received();
    assert_eq!(received.len(), 1);
    let mail = Part::parse(&received[0]);
    assert_eq!(
        mail.header("message-id"),
        Some("<daily_summary.2025-03-10.8ad9583f@liqwave.test>")
    );
    assert_eq!(mail.content_type(), "multipart/alternative");
    let related = mail.find("multipart/related").expect("multipart/related");
    let html = related
        .find("text/html")
        .expect("HTML inside related")
        .text();
    assert!(html.contains("src=\"cid:chart-btcusdt\""), "{html}");
    let image = related.find("image/png").expect("the PNG inside related");
    assert_eq!(image.header("content-id"), Some("<chart-btcusdt>"));
    assert!(
        image
            .header("content-disposition")
            .unwrap()
            .starts_with("inline")
    );
    assert_eq!(image.body, png);
    assert!(
        mail.find("text/plain")
            .unwrap()
            .text()
            .contains("BTCUSDT: bear")
    );
    assert_eq!(mail.leaves().len(), 3);
}

#[tokio::test]
async fn a_wrong_password_is_permanent_and_never_shown() {
    let server = TestServer::start();
    let wrong = "wrong-password-Zq81";
    let mut sink = server.sink(wrong);
    let error = send(&mut sink, &regime_change()).await.unwrap_err();
    let shown = format!("{error} {error:?} {sink:?}");
    assert!(matches!(error, SinkError::Permanent { .. }), "{shown}");
    assert!(shown.contains("535"), "{shown}");
    assert!(!shown.contains(wrong), "{shown}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn a_rejected_recipient_is_permanent() {
    let server = TestServer::start();
    let config = EmailSinkConfig {
        to: vec!["nobody@liqwave.test".to_owned()],
        ..server.config()
    };
    let mut sink = EmailSink::new(&config, Some(Secret::new(PASSWORD.to_owned())))
        .unwrap()
        .with_tls_root(server.cert_pem.as_bytes())
        .unwrap();
    let error = send(&mut sink, &regime_change()).await.unwrap_err();
    assert!(matches!(error, SinkError::Permanent { .. }), "{error}");
    assert!(error.to_string().contains("550"), "{error}");
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn an_outage_is_retriable_and_the_alert_arrives_once_after() {
    // A port nobody listens on, kept for the server to come back on.
    let closed = ClosedPort::new();
    let port = closed.port();
    let alert = regime_change();
    let password = || Some(Secret::new(PASSWORD.to_owned()));
    let mut down = EmailSink::new(&config(port), password()).unwrap();
    let error = send(&mut down, &alert).await.unwrap_err();
    assert!(
        matches!(error, SinkError::Retry { after: None, .. }),
        "{error}"
    );
    assert!(!format!("{error:?}").contains(PASSWORD));

    // The server comes back on the same port.
    let server = TestServer::start_on(closed.listen());
    let mut up = server.sink(PASSWORD);
    send(&mut up, &alert)
        .await
        .expect("delivered after the outage");

    let received = server.received();
    assert_eq!(received.len(), 1, "exactly one copy arrives");
    let mail = Part::parse(&received[0]);
    assert_eq!(
        mail.header("message-id"),
        Some(message_id(FROM, alert.id.as_str()).as_str())
    );
}

// ---- The daily summary. ----

/// The demo's daily summary of 2025-03-26 (08:00 UTC), from a replay of the bundled recordings
/// through the engine: four pairs, two setups with charts, the board. Made once per test binary.
fn summary_alert() -> &'static Alert {
    static ALERT: OnceLock<Alert> = OnceLock::new();
    ALERT.get_or_init(|| {
        let _root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let demo = demo_data();
        let now = parse_utc("2025-03-26 08:00:00").unwrap();
        let mut engine = Engine::new(&demo.config);
        let mut alerts = Vec::new();
        for ev in demo.events.iter().filter(|e| e.event.known_at() <= now) {
            engine.handle(ev, &mut alerts);
        }
        engine
            .summary_alert(&SummaryRequest {
                day: "2025-03-26".to_owned(),
                tz: "UTC".to_owned(),
                now,
            })
            .expect("the report encodes")
    })
}

/// Every `cid:` reference of an HTML text.
fn cids(html: &str) -> Vec<String> {
    html.split("cid:")
        .skip(1)
        .map(|rest| rest[..rest.find('"').expect("a quoted src")].to_owned())
        .collect()
}

#[tokio::test]
async fn the_daily_summary_arrives_with_text_html_and_inline_board() {
    let server = TestServer::start();
    let mut sink = server.sink(PASSWORD);
    let alert = summary_alert();
    send(&mut sink, alert).await.expect("delivered");

    let received = server.received();
    assert_eq!(received.len(), 1);
    let mail = Part::parse(&received[0]);
    assert_eq!(
        mail.header("message-id"),
        Some("<daily_summary.MARKET.-.2025-03-26.8ad9583f@liqwave.test>")
    );
    assert_eq!(
        mail.header("message-id"),
        Some(message_id(FROM, alert.id.as_str()).as_str())
    );
    assert!(
        mail.header("subject")
            .unwrap()
            .starts_with("[liqwave] Daily regime summary 2025-03-26:")
    );
    assert_eq!(mail.content_type(), "multipart/alternative");
    let text = mail.find("text/plain").expect("a text part").text();
    for heading in [
        "Daily regime summary · 2025-03-26",
        "Top setups lining up",
        "Feed health",
    ] {
        assert!(text.contains(heading), "{heading:?} missing from {text}");
    }

    let related = mail.find("multipart/related").expect("multipart/related");
    let html = related
        .find("text/html")
        .expect("HTML inside related")
        .text();
    assert!(html.contains("Regime board"), "{html}");
    let images: Vec<&Part> = related
        .leaves()
        .into_iter()
        .filter(|p| p.content_type() == "image/png")
        .collect();
    let ids: Vec<String> = images
        .iter()
        .map(|p| {
            let id = p.header("content-id").expect("a Content-ID");
            id.trim_start_matches('<').trim_end_matches('>').to_owned()
        })
        .collect();
    assert_eq!(
        cids(&html),
        ids,
        "each image once, in the order the HTML shows them"
    );
    let board_id = content_id(&message_id(FROM, alert.id.as_str()), "board");
    assert!(board_id.ends_with(".8ad9583f@liqwave.test"), "{board_id}");
    assert!(ids.contains(&board_id), "{ids:?}");
    let board = images[ids.iter().position(|id| *id == board_id).unwrap()];
    assert!(
        board
            .header("content-disposition")
            .unwrap()
            .starts_with("inline")
    );
    let decoder = png::Decoder::new(std::io::Cursor::new(board.body.as_slice()));
    let info = decoder.read_info().expect("a PNG").info().clone();
    assert_eq!(
        (info.width, info.height),
        board_size(4, 3),
        "four pairs, three timeframes"
    );
}

#[tokio::test]
async fn after_an_smtp_outage_the_durable_worker_delivers_the_summary_once() {
    // A port nobody listens on yet: the server comes up there later.
    let closed = ClosedPort::new();
    let port = closed.port();
    let cert = Cert::new();
    let (_dir, store) = temp_store();
    let alert = summary_alert().clone();
    let routed = [Routed::new(alert.clone(), vec!["email".to_owned()])];
    store.commit(&Commit::alerts(&routed)).unwrap();
    let sink = EmailSink::new(&config(port), Some(Secret::new(PASSWORD.to_owned())))
        .unwrap()
        .with_tls_root(cert.pem.as_bytes())
        .unwrap();
    let shutdown = CancellationToken::new();
    let cx = DeliveryContext::new(
        store.clone(),
        RetryPolicy {
            max_attempts: 1000,
            initial: Duration::from_millis(20),
            max: Duration::from_millis(200),
        },
        shutdown.clone(),
    );
    let outage = async {
        // The worker has failed twice against the closed port and keeps the summary queued.
        let attempts = || {
            let pending = store.pending("email", 1).unwrap();
            pending
                .first()
                .map_or((0, None), |(_, e)| (e.attempts, e.last_error.clone()))
        };
        poll_until(|| attempts().0 >= 2).await;
        let error = attempts().1.expect("the failure is recorded");
        assert!(
            error.contains("Connection refused") || error.contains("refused"),
            "{error}"
        );
        assert!(!error.contains(PASSWORD));
        let server = TestServer::start_with(closed.listen(), &cert);
        poll_until(|| store.is_sent("email", &alert.id).unwrap()).await;
        shutdown.cancel();
        server
    };
    let (done, server) =
        tokio::time::timeout(BOUND, async { tokio::join!(deliver(sink, cx), outage) })
            .await
            .expect("delivery after the outage is bounded");
    let done = done.expect("the store stays available");

    assert_eq!((done.sent, done.failed), (1, 0), "{done:?}");
    assert!(done.retried >= 2, "{done:?}");
    let received = server.received();
    assert_eq!(received.len(), 1, "exactly one copy arrives");
    let mail = Part::parse(&received[0]);
    assert_eq!(
        mail.header("message-id"),
        Some(message_id(FROM, alert.id.as_str()).as_str())
    );
    assert!(mail.find("image/png").is_some());
    assert!(store.outbox_depth().unwrap().is_empty());
    let sent = store.recent_sent(10).unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].sink.as_str(), &sent[0].id), ("email", &alert.id));
}

/// Polls `done` every 10 ms (the caller bounds the whole wait).
async fn poll_until(mut done: impl FnMut() -> bool) {
    while !done() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_blocked_bot_dead_letters_while_email_still_delivers() {
    use crate::support::fake_bot_api::{FakeBotApi, Reply, TOKEN};
    let server = TestServer::start();
    let api = FakeBotApi::start(vec![Reply::Blocked; 3]);
    let telegram = TelegramSink::new(
        &TelegramSinkConfig {
            chat_ids: vec![11],
            api_url: api.url.clone(),
            token_env: "LIQWAVE_TEST_TELEGRAM_TOKEN".into(),
            timeout: BOUND,
            commands: false,
        },
        Secret::new(TOKEN.into()),
    )
    .unwrap();
    let (_dir, store) = temp_store();
    let alerts: Vec<Alert> = (0..3)
        .map(|i| {
            let mut a = regime_change();
            a.id = AlertId::new(a.kind(), &a.symbol, a.interval, i);
            a.time_ms += i;
            a
        })
        .collect();
    let routed: Vec<Routed> = alerts
        .iter()
        .map(|a| Routed::new(a.clone(), vec!["telegram".into(), "email".into()]))
        .collect();
    store.commit(&Commit::alerts(&routed)).unwrap();
    let shutdown = CancellationToken::new();
    let cx = || {
        DeliveryContext::new(
            store.clone(),
            RetryPolicy {
                max_attempts: 5,
                initial: Duration::from_millis(10),
                max: Duration::from_millis(50),
            },
            shutdown.clone(),
        )
    };
    let controller = async {
        poll_until(|| store.outbox_depth().unwrap().is_empty()).await;
        shutdown.cancel();
    };
    let (bot, mail, ()) = tokio::time::timeout(BOUND, async {
        tokio::join!(
            deliver(telegram, cx()),
            deliver(server.sink(PASSWORD), cx()),
            controller
        )
    })
    .await
    .expect("both workers finish");
    let (bot, mail) = (bot.unwrap(), mail.unwrap());
    assert_eq!(
        (bot.sent, bot.failed),
        (0, 3),
        "blocked: every alert a dead letter"
    );
    assert_eq!((mail.sent, mail.failed), (3, 0), "email is not held up");
    assert_eq!(server.received().len(), 3);
    let letters = store.dead_letters().unwrap();
    assert_eq!(letters.len(), 3);
    assert!(
        letters
            .iter()
            .all(|d| d.sink == "telegram" && d.error.contains("blocked"))
    );
    assert!(letters.iter().all(|d| !d.error.contains(TOKEN)));
}
