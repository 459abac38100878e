//! The Telegram sink against the fake Bot API (`support/fake_bot_api.rs`): HTML messages split
//! to the limits, charts as photos with captions, digests and flood control through the real
//! delivery worker, error classes and token scrubbing. Every wait is bounded; nothing leaves the
//! machine.

use std::time::Duration;

use liqwave::analytics::regime::Regime;
use liqwave::config::TelegramSinkConfig;
use liqwave::model::{
    Alert, AlertId, AlertKind, Candle, ClusterLabel, Facts, HOUR_MS, Interval, Severity,
    SummaryFacts,
};
use liqwave::notify::chart::{CHART_SIZE, ChartSeries};
use liqwave::notify::secret::Secret;
use liqwave::notify::telegram::{MAX_CAPTION_LEN, TelegramSink};
use liqwave::notify::{Delivered, Sink, SinkError};
use liqwave::store::{Commit, Routed, Store};
use liqwave::supervisor::delivery::{DeliveryContext, RetryPolicy, deliver};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::support::fake_bot_api::{BOUND, FakeBotApi, Photo, Reply, TOKEN};
use crate::support::net::ClosedPort;
use crate::support::testing::{alert, demo, temp_store};

fn sink(api: &str, chats: &[i64], timeout: Duration) -> TelegramSink {
    let config = TelegramSinkConfig {
        chat_ids: chats.to_vec(),
        api_url: api.to_owned(),
        token_env: "LIQWAVE_TEST_TELEGRAM_TOKEN".into(),
        timeout,
        commands: true,
    };
    TelegramSink::new(&config, Secret::new(TOKEN.into()))
        .unwrap()
        .with_pacing(Duration::ZERO, Duration::ZERO)
}

/// The demo's first cluster edge, moved to ETHUSDT as a converged fuel edge.
fn edge_alert() -> Alert {
    let mut facts = demo(AlertKind::ClusterEdge).facts;
    if let Facts::ClusterEdge(f) = &mut facts {
        (f.label, f.converged) = (ClusterLabel::Fuel, true);
    }
    alert(facts)
        .symbol("ETHUSDT")
        .at(1_742_796_600_000)
        .trigger("short@7640:484110")
        .title("ETHUSDT reached short-liquidation cluster 2,059.4–2,111.5 (fuel & <co>)")
        .build()
}

/// A daily summary with 300 facts: about 15 000 characters of HTML.
fn long_alert() -> Alert {
    let pairs: serde_json::Map<String, Value> = (0..300)
        .map(|i| {
            (
                format!("pair_{i:03}"),
                json!(format!("{} <x> RSI {i}", "y".repeat(30))),
            )
        })
        .collect();
    let facts = Facts::DailySummary(SummaryFacts::from_json(Value::Object(pairs)));
    alert(facts)
        .at(1_742_860_800_000)
        .severity(Severity::Info)
        .title("Daily summary")
        .build()
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

/// A 500 names its status, even with a request timeout shorter than the 10 s teloxide waits
/// before it reads a 5xx's body (it used to time out as "error decoding response body").
#[tokio::test]
async fn a_server_error_is_a_retry_that_names_its_status() {
    let api = FakeBotApi::start(vec![Reply::ServerError]);
    let mut sink = sink(&api.url, &[11], Duration::from_millis(500));
    let bound = BOUND + Duration::from_secs(10);
    let error = tokio::time::timeout(bound, sink.send(&edge_alert()))
        .await
        .expect("send took too long")
        .unwrap_err();
    let shown = error.to_string();
    assert!(error.is_retriable(), "{error:?}");
    assert!(
        shown.contains("HTTP 500") && shown.contains("Internal Server Error"),
        "{shown}"
    );
    assert!(!shown.contains("decoding"), "{shown}");
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
    // Nobody listens on the port: connection refused.
    let closed = ClosedPort::new();
    let mut refused = sink(&format!("http://127.0.0.1:{}/", closed.port()), &[1], BOUND);
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
    let closed = ClosedPort::new();
    let mut errors = Vec::new();
    // The refused connection's error names the request URL, token included.
    let mut refused = sink(&format!("http://127.0.0.1:{}", closed.port()), &[1], BOUND);
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
        commands: true,
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

// ---- charts, digests and the delivery worker ----

/// A small but complete 4h chart of ETHUSDT.
fn chart() -> ChartSeries {
    let start = 1_742_000_000_000 / (4 * HOUR_MS) * (4 * HOUR_MS);
    let candles: Vec<Candle> = (0..60)
        .map(|i| {
            let mid = 2000.0 + 40.0 * (i as f64 / 7.0).sin();
            Candle {
                open_time: start + i * 4 * HOUR_MS,
                open: mid - 5.0,
                high: mid + 15.0,
                low: mid - 15.0,
                close: mid + 5.0,
                volume: 1000.0,
                quote_volume: None,
                taker_buy_quote: None,
            }
        })
        .collect();
    let n = candles.len();
    ChartSeries {
        symbol: "ETHUSDT".into(),
        interval_label: "4h".into(),
        rsi: (0..n).map(|i| (i > 14).then_some(55.0)).collect(),
        regimes: vec![Regime::Bull; n],
        heat: Vec::new(),
        clusters: Vec::new(),
        mark_price: Some(2066.79),
        footer: "estimated liquidation map".into(),
        as_of: start + n as i64 * 4 * HOUR_MS,
        history: Vec::new(),
        levels: Vec::new(),
        note: String::new(),
        realized: Vec::new(),
        candles,
    }
}

fn assert_png(photo: &Photo) -> (u32, u32) {
    assert_eq!(photo.file_name, "chart.png");
    let decoder = png::Decoder::new(std::io::Cursor::new(photo.bytes.clone()));
    let reader = decoder.read_info().expect("a PNG");
    let info = reader.info();
    (info.width, info.height)
}

#[tokio::test]
async fn an_alert_with_a_chart_arrives_as_a_photo_with_its_text_as_caption() {
    let api = FakeBotApi::start(vec![]);
    let mut sink = sink(&api.url, &[11, -100_222], BOUND);
    let alert = edge_alert();
    let html = liqwave::notify::telegram::render_html(&alert);
    assert!(
        html.encode_utf16().count() <= MAX_CAPTION_LEN,
        "fits a caption"
    );
    tokio::time::timeout(BOUND, sink.send_with_chart(&alert, Some(&chart())))
        .await
        .unwrap()
        .unwrap();

    let calls = api.calls();
    assert_eq!(
        calls.len(),
        2,
        "one photo per chat, nothing else: {calls:?}"
    );
    for (call, chat) in calls.iter().zip([11, -100_222]) {
        assert_eq!(call.method, "sendphoto");
        assert_eq!(call.chat(), Some(chat));
        assert_eq!(call.body["parse_mode"], "HTML");
        assert_eq!(call.body["caption"], html.as_str());
        assert_eq!(assert_png(call.photo.as_ref().unwrap()), CHART_SIZE);
    }
}

#[tokio::test]
async fn a_caption_cut_at_a_line_sends_the_rest_as_a_follow_up() {
    let api = FakeBotApi::start(vec![]);
    let mut sink = sink(&api.url, &[11], BOUND);
    let mut alert = edge_alert();
    // About 900 characters of title push the facts out of the caption.
    alert.title = format!("ETHUSDT reached {} & more", "a cluster ".repeat(90));
    let html = liqwave::notify::telegram::render_html(&alert);
    send_chart(&mut sink, &alert, Some(&chart())).await.unwrap();

    let calls = api.calls();
    assert_eq!(
        calls.iter().map(|c| c.method.as_str()).collect::<Vec<_>>(),
        ["sendphoto", "sendmessage"]
    );
    let caption = calls[0].body["caption"].as_str().unwrap();
    let rest = calls[1].body["text"].as_str().unwrap();
    assert!(caption.encode_utf16().count() <= MAX_CAPTION_LEN);
    assert!(
        caption.starts_with("<b>ETHUSDT reached a cluster"),
        "{caption}"
    );
    assert!(
        caption.ends_with("UTC"),
        "cut after the symbol line: {caption}"
    );
    assert!(rest.starts_with("<b>Fuel</b>"), "{rest}");
    assert!(
        rest.contains(alert.id.as_str()),
        "the id ends the follow-up"
    );
    assert_eq!(format!("{caption}\n\n{rest}"), html, "nothing lost");
    assert!(calls[0].photo.is_some());
}

#[tokio::test]
async fn a_chart_that_does_not_draw_or_is_refused_leaves_the_text() {
    // No candles: the chart cannot be drawn, and the text goes alone.
    let api = FakeBotApi::start(vec![]);
    let mut alone = sink(&api.url, &[11], BOUND);
    let broken = ChartSeries {
        candles: Vec::new(),
        ..chart()
    };
    send_chart(&mut alone, &edge_alert(), Some(&broken))
        .await
        .unwrap();
    let methods: Vec<String> = api.calls().into_iter().map(|c| c.method).collect();
    assert_eq!(methods, ["sendmessage"]);

    // A group that allows no media refuses the photo: it gets the text, the other chat the photo.
    let api = FakeBotApi::start(vec![
        Reply::Ok,
        Reply::BadRequest("not enough rights to send photos to the chat"),
    ]);
    let mut sink = sink(&api.url, &[11, -100_222], BOUND);
    send_chart(&mut sink, &edge_alert(), Some(&chart()))
        .await
        .unwrap();
    let sent: Vec<(String, Option<i64>)> = api
        .calls()
        .into_iter()
        .map(|c| (c.method.clone(), c.chat()))
        .collect();
    assert_eq!(
        sent,
        [
            ("sendphoto".to_owned(), Some(11)),
            ("sendphoto".to_owned(), Some(-100_222)),
            ("sendmessage".to_owned(), Some(-100_222)),
        ]
    );
    assert!(api.calls()[2].text().contains("cluster_edge:ETHUSDT"));
}

#[tokio::test]
async fn a_photo_retry_after_flood_control_sends_only_what_is_missing() {
    // The photo reaches chat 1, the follow-up hits flood control; the retry sends the follow-up.
    let api = FakeBotApi::start(vec![Reply::Ok, Reply::RetryAfter(1)]);
    let mut sink = sink(&api.url, &[1], BOUND);
    let mut alert = edge_alert();
    alert.title = format!("ETHUSDT reached {}", "a cluster ".repeat(95));
    let error = send_chart(&mut sink, &alert, Some(&chart()))
        .await
        .unwrap_err();
    assert!(error.is_retriable(), "{error:?}");
    send_chart(&mut sink, &alert, Some(&chart())).await.unwrap();
    let methods: Vec<String> = api.calls().into_iter().map(|c| c.method).collect();
    assert_eq!(methods, ["sendphoto", "sendmessage", "sendmessage"]);
}

async fn send_chart(
    sink: &mut TelegramSink,
    alert: &Alert,
    chart: Option<&ChartSeries>,
) -> Result<(), SinkError> {
    tokio::time::timeout(BOUND, sink.send_with_chart(alert, chart))
        .await
        .expect("send took too long")
}

/// An alert of the 4h bar closing at `time_ms`, number `i`.
fn bar_alert(kind: AlertKind, symbol: &str, i: usize, time_ms: i64) -> Alert {
    alert(kind)
        .symbol(symbol)
        .interval(Interval::H4)
        .at(time_ms)
        .trigger(format!("{time_ms}:{i}"))
        .title(format!("{symbol} 4h alert number {i} <{}>", kind.as_str()))
        .build()
}

/// `n` BTCUSDT regime changes of different bars (so no digest), a millisecond apart.
fn regime_changes(n: usize) -> Vec<Alert> {
    (0..n)
        .map(|i| {
            let t = 1_742_256_000_000 + i as i64;
            bar_alert(AlertKind::RegimeChange, "BTCUSDT", i, t)
        })
        .collect()
}

/// Commits `alerts` for the telegram sink and runs the real delivery worker until the outbox is
/// empty; returns what it did and the store.
async fn deliver_all(sink: TelegramSink, alerts: Vec<Alert>) -> (Delivered, Store) {
    let (_dir, store) = temp_store();
    let routed: Vec<Routed> = alerts
        .into_iter()
        .map(|a| Routed::new(a, vec!["telegram".into()]))
        .collect();
    store.commit(&Commit::alerts(&routed)).unwrap();
    let shutdown = CancellationToken::new();
    let cx = DeliveryContext {
        deadline: BOUND,
        ..DeliveryContext::new(
            store.clone(),
            RetryPolicy {
                max_attempts: 20,
                initial: Duration::from_millis(10),
                max: Duration::from_millis(50),
            },
            shutdown.clone(),
        )
    };
    let drained = async {
        let deadline = std::time::Instant::now() + 2 * BOUND;
        while store.outbox_depth().unwrap().values().sum::<usize>() > 0 {
            assert!(std::time::Instant::now() < deadline, "outbox never drained");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        shutdown.cancel();
    };
    let (done, ()) = tokio::join!(deliver(sink, cx), drained);
    (done.unwrap(), store)
}

#[tokio::test]
async fn many_alerts_of_one_bar_arrive_as_one_digest_in_order() {
    const BAR: i64 = 1_742_256_000_000;
    let kinds = [
        (AlertKind::RegimeChange, "BTCUSDT"),
        (AlertKind::ClusterEdge, "ETHUSDT"),
        (AlertKind::RegimeChange, "SOLUSDT"),
        (AlertKind::SetupEntry, "BNBUSDT"),
        (AlertKind::ClusterEdge, "XRPUSDT"),
        (AlertKind::RegimeChange, "ADAUSDT"),
    ];
    let alerts: Vec<Alert> = kinds
        .iter()
        .enumerate()
        .map(|(i, (kind, symbol))| bar_alert(*kind, symbol, i, BAR))
        .collect();
    let api = FakeBotApi::start(vec![]);
    let (done, store) = deliver_all(sink(&api.url, &[11], BOUND), alerts.clone()).await;

    assert_eq!(done.sent, 6, "{done:?}");
    let calls = api.calls();
    assert_eq!(calls.len(), 1, "one digest message: {calls:?}");
    let text = calls[0].text();
    // Grouped by kind in order of first appearance, each group in queue order.
    let order: Vec<usize> = [0, 2, 5, 1, 4, 3]
        .into_iter()
        .map(|i| {
            text.find(&format!("alert number {i} "))
                .expect("every alert listed")
        })
        .collect();
    assert!(order.is_sorted(), "{order:?}\n{text}");
    for alert in &alerts {
        assert!(
            store.is_sent("telegram", &alert.id).unwrap(),
            "{}",
            alert.id
        );
    }
    insta::assert_snapshot!("telegram_digest_of_one_bar", text);
}

#[tokio::test]
async fn a_flood_control_storm_is_obeyed_and_everything_arrives_in_order() {
    // Different bars: no digest. Three 429s with retry_after 1 s in a run of five alerts.
    let alerts = regime_changes(5);
    let api = FakeBotApi::start(vec![
        Reply::RetryAfter(1),
        Reply::Ok,
        Reply::RetryAfter(1),
        Reply::RetryAfter(1),
    ]);
    let started = std::time::Instant::now();
    let (done, _store) = deliver_all(sink(&api.url, &[11], BOUND), alerts.clone()).await;

    assert_eq!(
        (done.sent, done.retried, done.failed),
        (5, 3, 0),
        "{done:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "retry_after ignored: {:?}",
        started.elapsed()
    );
    let calls = api.calls();
    assert_eq!(calls.len(), 8, "five sends and three refused");
    // Alert 0 refused once, alert 1 twice, each retried until it went; the order holds.
    let ids: Vec<usize> = calls
        .iter()
        .map(|c| {
            (0..5)
                .find(|i| c.text().contains(&format!("alert number {i} ")))
                .unwrap()
        })
        .collect();
    assert_eq!(ids, [0, 0, 1, 1, 1, 2, 3, 4]);
}

/// With `[signal] report`, alerts of a kind the backtest scored carry its line; others do not.
#[tokio::test]
async fn alerts_of_scored_kinds_quote_their_track_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("track-record.json");
    std::fs::write(
        &path,
        r#"{"track_record": {"source": "backtest, 9 pairs, 2025-09-20 → 2026-02-19",
            "lines": [{"kind": "cluster_edge", "label": "fuel",
                       "text": "fuel edges: swept within 24 h 30 % [24–37] vs 28 % for plain levels of the same size (n = 191)"}]}}"#,
    )
    .unwrap();
    let track = liqwave::view::TrackRecord::load(&path).unwrap();
    let api = FakeBotApi::start(vec![]);
    let mut sink = sink(&api.url, &[11], BOUND).with_track_record(track);
    send(&mut sink, &edge_alert()).await.unwrap();
    send(&mut sink, &demo(AlertKind::RegimeChange))
        .await
        .unwrap();
    let calls = api.calls();
    let texts: Vec<&str> = calls
        .iter()
        .map(|c| c.body["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[0].contains(
            "<i>Track record: fuel edges: swept within 24 h 30 % [24–37] vs 28 % for plain levels \
             of the same size (n = 191) (backtest, 9 pairs, 2025-09-20 → 2026-02-19)</i>"
        ),
        "{}",
        texts[0]
    );
    assert!(!texts[1].contains("Track record"), "{}", texts[1]);
}

/// Three chats, the third has blocked the bot and the second hits flood control once: through
/// the real worker, chats 1 and 2 get every alert exactly once (the retry goes to chat 2 only)
/// and only chat 3's deliveries become dead letters, naming it.
#[tokio::test]
async fn a_blocked_chat_dead_letters_only_its_own_deliveries() {
    let alerts = regime_changes(3);
    // Alert 0: chat 1 gets it, chat 2 is told to wait a second; then everything goes.
    let api = FakeBotApi::start(vec![Reply::Ok, Reply::RetryAfter(1)]);
    api.block_chat(3, true);
    let (done, store) = deliver_all(sink(&api.url, &[1, 2, 3], BOUND), alerts.clone()).await;

    assert_eq!(
        (done.sent, done.failed, done.retried),
        (3, 3, 1),
        "{done:?}"
    );
    let delivered = |chat: i64| -> Vec<usize> {
        let calls = api.calls();
        calls
            .iter()
            .filter(|c| c.chat() == Some(chat))
            .filter_map(|c| (0..3).find(|i| c.text().contains(&format!("alert number {i} "))))
            .collect()
    };
    assert_eq!(delivered(1), [0, 1, 2], "chat 1: each alert once");
    // Chat 2's first try of alert 0 was refused (429), then each once.
    assert_eq!(
        delivered(2),
        [0, 0, 1, 2],
        "chat 2: the retry, then each once"
    );
    let letters = store.dead_letters().unwrap();
    assert_eq!(letters.len(), 3, "{letters:?}");
    for (letter, alert) in letters.iter().zip(&alerts) {
        assert_eq!(
            (&letter.alert.id, letter.recipients.as_slice()),
            (&alert.id, &["3".to_owned()][..])
        );
        assert!(
            letter.error.contains("blocked by the user"),
            "{}",
            letter.error
        );
        assert!(
            store.is_sent("telegram", &alert.id).unwrap(),
            "the others have it"
        );
    }
}
