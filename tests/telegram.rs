//! The Telegram sink against a faithful fake Bot API on 127.0.0.1: HTTP/1.1 on a std thread,
//! PascalCase methods lower-cased, `{"ok":…}` bodies as Telegram writes them (never a 5xx:
//! teloxide sleeps 10 s on those). Every wait is bounded; nothing leaves the machine.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use liqwave::config::TelegramSinkConfig;
use liqwave::model::{Alert, AlertId, AlertKind, Severity, Symbol};
use liqwave::notify::Sink;
use liqwave::notify::SinkError;
use liqwave::notify::secret::Secret;
use liqwave::notify::telegram::TelegramSink;
use serde_json::{Value, json};

/// Distinctive, and not shaped like a real token (`<id>:<35 chars>`), so teloxide's own URL
/// scrubbing does not hide it and the sink's must.
const TOKEN: &str = "987654:SeCrEt-tElEgRaM-tOkEn";
const BOUND: Duration = Duration::from_secs(10);

/// What the fake answers to one request, in order; `Ok` once the script runs out.
#[derive(Debug, Clone)]
enum Reply {
    Ok,
    RetryAfter(u32),
    Blocked,
    ChatNotFound,
    Unauthorized,
    /// Not JSON, and echoing the request path (a proxy's error page).
    Garbage,
    /// Reads the request and never answers (until the client gives up).
    Silent,
}

#[derive(Debug, Clone)]
struct Call {
    method: String,
    token: String,
    body: Value,
}

struct FakeBotApi {
    url: String,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl FakeBotApi {
    fn start(script: Vec<Reply>) -> FakeBotApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let calls = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let recorded = Arc::clone(&calls);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (calls, script) = (Arc::clone(&recorded), Arc::clone(&script));
                std::thread::spawn(move || serve(stream, &calls, &script));
            }
        });
        FakeBotApi { url, calls }
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

/// One connection, one request: every reply says `Connection: close`.
fn serve(stream: TcpStream, calls: &Mutex<Vec<Call>>, script: &Mutex<VecDeque<Reply>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut length = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 {
            return;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    // `POST /bot<TOKEN>/SendMessage HTTP/1.1`
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_owned();
    let (token, method) = path
        .strip_prefix("/bot")
        .and_then(|rest| rest.rsplit_once('/'))
        .unwrap_or(("", ""));
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    calls.lock().unwrap().push(Call {
        method: method.to_ascii_lowercase(),
        token: token.to_owned(),
        body: body.clone(),
    });
    let reply = script.lock().unwrap().pop_front().unwrap_or(Reply::Ok);
    let (status, text) = match reply {
        Reply::Ok => {
            let chat = body["chat_id"].as_i64().unwrap_or(1);
            let message = json!({
                "message_id": calls.lock().unwrap().len(), "date": 0,
                "chat": {"id": chat, "type": "private", "first_name": "u"},
                "from": {"id": 1, "is_bot": true, "first_name": "bot"},
                "text": "ok",
            });
            ("200 OK", json!({"ok": true, "result": message}).to_string())
        }
        Reply::RetryAfter(s) => (
            "429 Too Many Requests",
            json!({"ok": false, "error_code": 429,
                   "description": format!("Too Many Requests: retry after {s}"),
                   "parameters": {"retry_after": s}})
            .to_string(),
        ),
        Reply::Blocked => (
            "403 Forbidden",
            json!({"ok": false, "error_code": 403,
                   "description": "Forbidden: bot was blocked by the user"})
            .to_string(),
        ),
        Reply::ChatNotFound => (
            "400 Bad Request",
            json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"})
                .to_string(),
        ),
        Reply::Unauthorized => (
            "401 Unauthorized",
            json!({"ok": false, "error_code": 401, "description": "Unauthorized"}).to_string(),
        ),
        Reply::Garbage => ("404 Not Found", format!("<html>no route {path}</html>")),
        Reply::Silent => {
            // Hold the connection until the client times out and closes it.
            let mut rest = Vec::new();
            let _closed = reader.read_to_end(&mut rest);
            return;
        }
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{text}",
        text.len()
    );
    let _gone = writer.write_all(response.as_bytes());
    let _gone = writer.flush();
}

fn sink(api: &str, chats: &[i64], timeout: Duration) -> TelegramSink {
    let config = TelegramSinkConfig {
        chat_ids: chats.to_vec(),
        api_url: api.to_owned(),
        token_env: "LIQWAVE_TEST_TELEGRAM_TOKEN".into(),
        timeout,
    };
    TelegramSink::new(&config, Secret::new(TOKEN.into()))
        .unwrap()
        .with_pacing(Duration::ZERO, Duration::ZERO)
}

fn edge_alert() -> Alert {
    let symbol: Symbol = "ETHUSDT".parse().unwrap();
    Alert {
        id: AlertId::new(AlertKind::ClusterEdge, &symbol, None, "short@7640:484110"),
        kind: AlertKind::ClusterEdge,
        symbol,
        interval: None,
        time_ms: 1_742_796_600_000,
        severity: Severity::Warning,
        title: "ETHUSDT reached short-liquidation cluster 2,059.4–2,111.5 (fuel & <co>)".into(),
        facts: json!({
            "label": "fuel", "price": 2066.79, "low": 2049.59, "high": 2076.55,
            "cluster": {"side": "short", "near_edge": 2059.43, "far_edge": 2111.54,
                        "notional_usd": 106_384_474.6, "density": 3.885, "share": 0.29},
            "bias": {"wave": "bull", "timeframe": "4h", "regime": "bull", "conviction": "normal"},
            "funding": {"rate": -0.0000129, "crowded": "shorts", "confirms": true},
            "model": {"estimate": true, "mode": "volume_proxy", "coverage": null},
            "converged": true,
        }),
    }
}

/// A daily summary with 300 facts: about 15 000 characters of HTML.
fn long_alert() -> Alert {
    let symbol: Symbol = "BTCUSDT".parse().unwrap();
    let facts: serde_json::Map<String, Value> = (0..300)
        .map(|i| {
            (
                format!("pair_{i:03}"),
                json!(format!("{} <x> RSI {i}", "y".repeat(30))),
            )
        })
        .collect();
    Alert {
        id: AlertId::new(
            AlertKind::DailySummary,
            &symbol,
            None,
            1_742_860_800_000_i64,
        ),
        kind: AlertKind::DailySummary,
        symbol,
        interval: None,
        time_ms: 1_742_860_800_000,
        severity: Severity::Info,
        title: "Daily summary".into(),
        facts: Value::Object(facts),
    }
}

async fn send(sink: &mut TelegramSink, alert: &Alert) -> Result<(), SinkError> {
    tokio::time::timeout(BOUND, sink.send(alert))
        .await
        .expect("send took too long")
}

fn assert_no_token(error: &SinkError) {
    for shown in [error.to_string(), format!("{error:?}")] {
        assert!(!shown.contains(TOKEN), "token leaked: {shown}");
        assert!(!shown.contains("SeCrEt"), "token leaked: {shown}");
    }
}

#[tokio::test]
async fn an_alert_is_delivered_as_html_to_every_chat() {
    let api = FakeBotApi::start(vec![]);
    let mut sink = sink(&api.url, &[11, -100_222], BOUND);
    let alert = edge_alert();
    send(&mut sink, &alert).await.unwrap();
    tokio::time::timeout(BOUND, sink.flush())
        .await
        .unwrap()
        .unwrap();

    let calls = api.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    for (call, chat) in calls.iter().zip([11, -100_222]) {
        assert_eq!(call.method, "sendmessage");
        assert_eq!(call.token, TOKEN);
        assert_eq!(call.body["chat_id"], json!(chat));
        assert_eq!(call.body["parse_mode"], "HTML");
        assert_eq!(call.body["link_preview_options"]["is_disabled"], true);
        let text = call.body["text"].as_str().unwrap();
        assert!(
            text.starts_with(
                "<b>ETHUSDT reached short-liquidation cluster 2,059.4–2,111.5 (fuel &amp; &lt;co&gt;)</b>"
            ),
            "{text}"
        );
        assert!(
            text.contains("cluster_edge:ETHUSDT:-:short@7640:484110"),
            "{text}"
        );
        assert!(text.contains("Estimate"), "{text}");
    }
    assert_eq!(sink.name(), "telegram");
    assert!(!format!("{sink:?}").contains("SeCrEt"), "{sink:?}");
}

#[tokio::test]
async fn flood_control_is_a_retry_after_telegrams_delay() {
    let api = FakeBotApi::start(vec![Reply::RetryAfter(3)]);
    let mut sink = sink(&api.url, &[11], BOUND);
    let error = send(&mut sink, &edge_alert()).await.unwrap_err();
    match &error {
        SinkError::Retry { after, .. } => assert_eq!(*after, Some(Duration::from_secs(3))),
        other => panic!("expected a retry, got {other:?}"),
    }
    assert_eq!(api.calls().len(), 1, "the sink itself must not retry");
    assert_no_token(&error);
}

#[tokio::test]
async fn blocked_and_unknown_chats_are_permanent() {
    for (reply, words) in [
        (Reply::Blocked, "blocked"),
        (Reply::ChatNotFound, "chat not found"),
        (Reply::Unauthorized, "token"),
    ] {
        let api = FakeBotApi::start(vec![reply.clone()]);
        let mut sink = sink(&api.url, &[11], BOUND);
        let error = send(&mut sink, &edge_alert()).await.unwrap_err();
        assert!(
            matches!(error, SinkError::Permanent { .. }),
            "{reply:?}: {error:?}"
        );
        assert!(error.to_string().contains(words), "{reply:?}: {error}");
        assert_no_token(&error);
    }
}

#[tokio::test]
async fn a_long_alert_is_split_into_messages_within_the_limit() {
    let api = FakeBotApi::start(vec![]);
    let mut sink = sink(&api.url, &[11], BOUND);
    let alert = long_alert();
    send(&mut sink, &alert).await.unwrap();

    let calls = api.calls();
    assert!(calls.len() >= 4, "{} messages", calls.len());
    let texts: Vec<&str> = calls
        .iter()
        .map(|c| c.body["text"].as_str().unwrap())
        .collect();
    for (call, text) in calls.iter().zip(&texts) {
        assert_eq!(call.method, "sendmessage");
        assert_eq!(
            call.body["disable_notification"], true,
            "info alerts are silent"
        );
        assert!(
            text.chars().count() <= 4096,
            "{} chars",
            text.chars().count()
        );
        assert!(text.encode_utf16().count() <= 4096);
    }
    let all = texts.join("\n");
    assert!(all.starts_with("<b>Daily summary</b>"));
    for i in [0, 150, 299] {
        assert!(all.contains(&format!(
            "pair_{i:03}: {} &lt;x&gt; RSI {i}\n",
            "y".repeat(30)
        )));
    }
    assert!(texts.last().unwrap().contains(alert.id.as_str()));
}

#[tokio::test]
async fn messages_to_one_chat_keep_the_pacing_gap() {
    let api = FakeBotApi::start(vec![]);
    let mut sink = sink(&api.url, &[11], BOUND)
        .with_pacing(Duration::from_millis(40), Duration::from_millis(80));
    let started = std::time::Instant::now();
    send(&mut sink, &long_alert()).await.unwrap();
    let pieces = api.calls().len();
    assert!(pieces >= 4);
    let least = Duration::from_millis(40) * (pieces as u32 - 1);
    assert!(
        started.elapsed() >= least,
        "{:?} < {least:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_retry_sends_only_what_is_missing() {
    // Chat 1 gets the alert, chat 2 hits flood control; the retry goes to chat 2 only.
    let api = FakeBotApi::start(vec![Reply::Ok, Reply::RetryAfter(1)]);
    let mut sink = sink(&api.url, &[1, 2], BOUND);
    let alert = edge_alert();
    assert!(send(&mut sink, &alert).await.unwrap_err().is_retriable());
    send(&mut sink, &alert).await.unwrap();
    let chats: Vec<i64> = api
        .calls()
        .iter()
        .map(|c| c.body["chat_id"].as_i64().unwrap())
        .collect();
    assert_eq!(chats, [1, 2, 2]);
    // A new alert starts from scratch.
    let mut other = alert.clone();
    other.id = AlertId::new(AlertKind::ClusterEdge, &alert.symbol, None, "other");
    send(&mut sink, &other).await.unwrap();
    assert_eq!(api.calls().len(), 5);
}

#[tokio::test]
async fn a_blocked_chat_does_not_keep_the_others_from_the_alert() {
    let api = FakeBotApi::start(vec![Reply::Blocked, Reply::Ok]);
    let mut sink = sink(&api.url, &[1, 2], BOUND);
    let error = send(&mut sink, &edge_alert()).await.unwrap_err();
    assert!(matches!(error, SinkError::Permanent { .. }), "{error:?}");
    assert!(error.to_string().contains("chat 1:"), "{error}");
    assert!(
        error.to_string().contains("delivered to 1 of 2 chats"),
        "{error}"
    );
    assert_eq!(api.calls().len(), 2);
}

#[tokio::test]
async fn network_failures_are_retries() {
    // Nobody listens on a port just released: connection refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut refused = sink(&format!("http://127.0.0.1:{port}/"), &[1], BOUND);
    let error = send(&mut refused, &edge_alert()).await.unwrap_err();
    assert!(
        matches!(error, SinkError::Retry { after: None, .. }),
        "{error:?}"
    );

    // A server that never answers: the configured timeout ends the request.
    let api = FakeBotApi::start(vec![Reply::Silent]);
    let mut slow = sink(&api.url, &[1], Duration::from_millis(300));
    let started = std::time::Instant::now();
    let error = send(&mut slow, &edge_alert()).await.unwrap_err();
    assert!(
        matches!(error, SinkError::Retry { after: None, .. }),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn the_token_never_appears_in_an_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut errors = Vec::new();
    // The refused connection's error names the request URL, token included.
    let mut refused = sink(&format!("http://127.0.0.1:{port}"), &[1], BOUND);
    errors.push(send(&mut refused, &edge_alert()).await.unwrap_err());
    // So does a non-JSON reply that echoes the path.
    let script = vec![
        Reply::Garbage,
        Reply::RetryAfter(2),
        Reply::Blocked,
        Reply::ChatNotFound,
        Reply::Unauthorized,
        Reply::Silent,
    ];
    let api = FakeBotApi::start(script.clone());
    let mut sink = sink(&api.url, &[1], Duration::from_millis(300));
    for _ in &script {
        errors.push(send(&mut sink, &edge_alert()).await.unwrap_err());
    }
    let shown = format!("{errors:?}");
    assert!(shown.contains("error sending request"), "{shown}");
    assert!(shown.contains("no route /bot***/SendMessage"), "{shown}");
    for error in &errors {
        assert_no_token(error);
    }
}

#[test]
fn a_bad_api_url_or_no_chat_is_refused_at_construction() {
    let config = |url: &str, chats: Vec<i64>| TelegramSinkConfig {
        chat_ids: chats,
        api_url: url.into(),
        token_env: "X".into(),
        timeout: BOUND,
    };
    let token = || Secret::new(TOKEN.into());
    for url in ["not a url", "ftp://example.com", "mailto:a@b"] {
        let error = TelegramSink::new(&config(url, vec![1]), token()).unwrap_err();
        assert!(!error.to_string().contains("SeCrEt"), "{error}");
    }
    assert!(TelegramSink::new(&config("https://api.telegram.org", vec![]), token()).is_err());
    let ok = TelegramSink::new(&config("https://api.telegram.org/", vec![1]), token()).unwrap();
    assert!(
        format!("{ok:?}").contains("https://api.telegram.org/"),
        "{ok:?}"
    );
}
