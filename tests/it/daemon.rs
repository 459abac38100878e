//! `liqwave run` as a process, against the fake Binance REST and WebSocket servers on 127.0.0.1,
//! a real SMTP server and a fake `$NOTIFY_SOCKET`: SIGTERM mid-run drains within the delivery
//! deadline, leaves the undeliverable in the outbox and the next start delivers it once; a
//! panicking source fails the run only after the drain; bad configs, missing secrets and an
//! unreadable signal report exit 78;
//! the watchdog is withheld while the feed is silent; `/metrics` serves every series the runbook
//! documents; a cold start sends people no alert about the past. Every wait is bounded, and a failing test kills its daemon and prints its log.

mod harness;

use std::time::{Duration, Instant};

use harness::{
    Daemon, Notifications, PAIR, Scrape, Setup, documented_series, file_ids, metrics_addr, until,
};
use liqwave::model::{Alert, AlertId};
use liqwave::notify::email::message_id;
use liqwave::rules::is_fresh;
use liqwave::source::{Batch, SourceTask};
use liqwave::store::Store;
use liqwave::supervisor::run_daemon;
use tokio::sync::mpsc;

use crate::support::fake_bot_api::{FakeBotApi, TOKEN};
use crate::support::net::ClosedPort;
use crate::support::smtp::TestServer;
use crate::support::testing::open_store;
use crate::support::{fake_binance_rest, fake_binance_ws};

/// The bound on every wait for the daemon (a warm-up on a loaded machine included).
const BOUND: Duration = Duration::from_secs(30);

/// The fake exchange: REST for discovery and warm-up, market streams for [`PAIR`].
struct Market {
    rest: fake_binance_rest::FakeBinanceRest,
    ws: fake_binance_ws::FakeBinance,
}

impl Market {
    /// A market whose streams, once opened, send `bars` 5m bars (klines and a mark-price array
    /// each) at one per `bar_every`, then fall silent with the connection kept alive.
    async fn start(bars: u32, bar_every: Duration) -> Market {
        let rest =
            fake_binance_rest::FakeBinanceRest::start(fake_binance_rest::FakeConfig::binance(1));
        let mut ws = fake_binance_ws::FakeConfig::new(1, bars);
        ws.symbols = vec![PAIR.to_owned()];
        ws.bar_every = bar_every;
        let ws = fake_binance_ws::FakeBinance::start(ws).await;
        Market { rest, ws }
    }

    fn setup(&self) -> Setup {
        Setup::new(&self.rest.url, &self.ws.url())
    }

    fn bars_closed(&self) -> u32 {
        self.ws.record(|r| r.bars_closed)
    }
}

/// Ids of the outbox entries waiting for `sink`.
fn waiting(store: &Store, sink: &str) -> Vec<String> {
    let pending = store.pending(sink, usize::MAX).unwrap();
    pending
        .into_iter()
        .map(|(_, e)| e.alert.id.to_string())
        .collect()
}

/// An alert id as the file sink wrote it.
fn alert_id(id: &str) -> AlertId {
    serde_json::from_value(serde_json::Value::from(id)).unwrap()
}

fn count(ids: &[String], id: &str) -> usize {
    ids.iter().filter(|i| *i == id).count()
}

#[tokio::test]
async fn sigterm_mid_run_drains_within_the_deadline_and_the_next_start_delivers_the_rest() {
    const DEADLINE_SECS: u64 = 2;
    let market = Market::start(600, Duration::from_millis(100)).await;
    market.ws.open_market();
    let dir = tempfile::tempdir().unwrap();
    let notify = Notifications::bind(dir.path());
    let mut setup = market.setup();
    setup.summary = true;
    setup.file_sink = true;
    let smtp_down = ClosedPort::new();
    setup.smtp_port = Some(smtp_down.port());
    setup.shutdown_deadline_secs = DEADLINE_SECS;
    setup.metrics = Some("127.0.0.1:0".to_owned());
    let config = setup.write(dir.path());

    // First run: the summary reaches the file; email cannot connect and keeps retrying.
    let mut daemon = Daemon::start(&config, "run1.log", &[("NOTIFY_SOCKET", notify.path())]);
    until("READY=1", BOUND, || notify.first("READY=1").is_some()).await;
    until("the summary in the file", BOUND, || {
        !file_ids(dir.path()).is_empty()
    })
    .await;
    until("a failed email delivery", BOUND, || {
        daemon.log().contains("Delivery failed; retrying later.")
    })
    .await;
    let id = file_ids(dir.path())[0].clone();
    assert!(id.starts_with("daily_summary:"), "{id}");
    let addr = metrics_addr(&daemon.log()).expect("the metrics address in the log");
    check_metrics(&Scrape::get(&addr));
    daemon.sigterm();
    let bound = Duration::from_secs(DEADLINE_SECS + 10);
    let (status, took) = daemon.exit(bound).await;
    assert_eq!(
        status.code(),
        Some(0),
        "a graceful stop exits 0 (after {took:?})"
    );
    assert!(
        notify.first("STOPPING=1").is_some(),
        "STOPPING=1 on shutdown"
    );
    assert_eq!(file_ids(dir.path()), [id.as_str()], "the file got it once");
    let store = open_store(dir.path());
    assert_eq!(
        waiting(&store, "email"),
        [id.as_str()],
        "email's alert waits"
    );
    assert!(waiting(&store, "file").is_empty());
    let alert_id = alert_id(&id);
    assert!(store.is_sent("file", &alert_id).unwrap());
    assert!(!store.is_sent("email", &alert_id).unwrap());
    drop(store);

    // Second run, SMTP up: the waiting alert goes out once; the summary the new run raises for
    // the same day is a repeat for both sinks.
    let smtp = TestServer::plain();
    let (port, inbox) = (smtp.port, smtp.inbox);
    setup.smtp_port = Some(port);
    setup.write(dir.path());
    let mails = || {
        let wanted = message_id("liqwave <alerts@liqwave.test>", &id);
        let inbox = inbox.lock().unwrap();
        let has = |m: &Vec<u8>| String::from_utf8_lossy(m).contains(&wanted);
        inbox.iter().filter(|m| has(m)).count()
    };
    let mut daemon = Daemon::start(&config, "run2.log", &[]);
    until("the summary by email", BOUND, || mails() > 0).await;
    until("the new run's summary", BOUND, || {
        daemon.log().contains("Daily summary raised.")
    })
    .await;
    daemon.sigterm();
    let (status, took) = daemon.exit(bound).await;
    assert_eq!(
        status.code(),
        Some(0),
        "a graceful stop exits 0 (after {took:?})"
    );
    assert_eq!(mails(), 1, "the summary by email exactly once");
    assert_eq!(count(&file_ids(dir.path()), &id), 1, "the file never twice");
    let store = open_store(dir.path());
    assert!(store.is_sent("email", &alert_id).unwrap());
    assert_eq!(store.outbox_depth().unwrap().len(), 0, "nothing left over");
}

/// Every series the runbook documents is served, with values that agree with the first run of
/// the SIGTERM test: one pair, the summary delivered to the file, email failing with it queued.
fn check_metrics(scrape: &Scrape) {
    let documented = documented_series();
    assert!(
        documented.len() >= 15,
        "the runbook's table: {documented:?}"
    );
    for name in &documented {
        assert!(
            scrape.has_family(name),
            "{name} is not served:\n{}",
            scrape.text
        );
    }
    // (series, lowest, highest)
    #[rustfmt::skip]
    let ranges = [
        ("liqwave_up", 1.0, 1.0),
        ("liqwave_engine_pairs", 1.0, 1.0),
        ("liqwave_alerts_total{kind=\"daily_summary\"}", 1.0, 1.0),
        ("liqwave_alerts_delivered_total{sink=\"file\"}", 1.0, 1.0),
        ("liqwave_alerts_delivered_total{sink=\"email\"}", 0.0, 0.0),
        ("liqwave_sink_errors_total{sink=\"email\"}", 1.0, 1000.0),
        ("liqwave_outbox_depth{sink=\"email\"}", 1.0, 1.0),
        ("liqwave_outbox_depth{sink=\"file\"}", 0.0, 0.0),
        ("liqwave_ws_frames_total{kind=\"marks\"}", 1.0, 1e6),
        ("liqwave_ws_frames_total{kind=\"malformed\"}", 0.0, 0.0),
        ("liqwave_rest_weight_spent_total", 1.0, 2400.0),
        ("liqwave_rest_weight_used", 0.0, 2400.0),
        ("liqwave_engine_step_seconds_count", 1.0, 1e9),
    ];
    for (series, low, high) in ranges {
        let value = scrape.value(series);
        let fits = value.is_some_and(|v| (low..=high).contains(&v));
        assert!(
            fits,
            "{series} = {value:?}, want {low}..={high}:\n{}",
            scrape.text
        );
    }
    let lags = scrape.samples("liqwave_feed_lag_seconds");
    assert!(!lags.is_empty(), "a lag per connection:\n{}", scrape.text);
    for (series, lag) in lags {
        assert!((0.0..30.0).contains(&lag), "{series} = {lag}");
    }
}

#[tokio::test]
async fn a_panicking_source_ends_the_run_with_an_error_after_the_drain() {
    /// Batches queued before the panic (fewer than the input channel holds): the engine has not
    /// begun on them when the panic stops everything, so the summary the clock asked for at
    /// start is raised after the shutdown began, and only the drain delivers it.
    const BACKLOG: usize = 900;
    let dir = tempfile::tempdir().unwrap();
    let mut setup = Setup::new("http://127.0.0.1:9", "ws://127.0.0.1:9/market");
    setup.file_sink = true;
    setup.summary = true;
    setup.extra = "[engine]\ninput_capacity = 1000000\n".to_owned();
    let config = liqwave::config::load(&setup.write(dir.path())).unwrap();
    // The source: a backlog, then a panic.
    let source = async move |events: mpsc::Sender<Batch>| {
        for _ in 0..BACKLOG {
            if events.send(Vec::new()).await.is_err() {
                anyhow::bail!("the engine is gone");
            }
        }
        panic!("the feed broke");
    };
    // Whatever else the supervisor hands a source (shutdown, health, metrics…) goes unused.
    // Unconstrained: no cooperative yield between the sends, so the engine has not started on
    // the backlog when the source panics.
    let daemon = run_daemon(&config, false, move |cx| {
        Box::pin(tokio::task::unconstrained(source(cx.events))) as SourceTask
    });
    let run = tokio::time::timeout(BOUND, daemon);
    let error = run
        .await
        .expect("bounded")
        .expect_err("a panic fails the run");
    let message = format!("{error:#}");
    assert!(message.contains("panicked: the feed broke"), "{message}");
    let ids = file_ids(dir.path());
    assert_eq!(ids.len(), 1, "the drain delivered the last alert: {ids:?}");
    let id = ids[0].as_str();
    assert!(id.starts_with("daily_summary:MARKET:-:"), "{id}");
    let store = open_store(dir.path());
    assert_eq!(store.outbox_depth().unwrap().len(), 0, "nothing left over");
    assert!(store.is_sent("file", &alert_id(id)).unwrap());
}

#[tokio::test]
async fn run_exits_78_on_an_invalid_config_a_missing_secret_or_an_unreadable_report() {
    // (case, config tail, what stderr must name)
    #[rustfmt::skip]
    let cases = [
        ("invalid", "[rsi]\nperiod = 0\n", "rsi.period"),
        ("no token", "[sinks.telegram]\nchat_ids = [42]\ntoken_env = \"LIQWAVE_NO_SUCH_TOKEN\"\n", "LIQWAVE_NO_SUCH_TOKEN"),
        ("no report", "[signal]\nreport = \"no-such-report.json\"\n", "no-such-report.json"),
    ];
    for (case, tail, named) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut setup = Setup::new("http://127.0.0.1:9", "ws://127.0.0.1:9/market");
        setup.extra = tail.to_owned();
        let mut daemon = Daemon::start(&setup.write(dir.path()), "run.log", &[]);
        let (status, _) = daemon.exit(BOUND).await;
        let log = daemon.log();
        assert_eq!(status.code(), Some(78), "{case}: {log}");
        assert!(log.contains(named), "{case}: stderr names {named}: {log}");
    }
}

#[tokio::test]
async fn the_watchdog_is_withheld_while_the_feed_is_silent() {
    const SILENCE_SECS: u64 = 5;
    const BARS: u32 = 16;
    let market = Market::start(BARS, Duration::from_millis(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let notify = Notifications::bind(dir.path());
    let mut setup = market.setup();
    setup.watchdog_silence_secs = SILENCE_SECS;
    let config = setup.write(dir.path());
    let env = [
        ("NOTIFY_SOCKET", notify.path()),
        ("WATCHDOG_USEC", "1000000"),
    ];
    let started = Instant::now();
    let mut daemon = Daemon::start(&config, "run.log", &env);
    let pets = |from: Instant, to: Instant| notify.count("WATCHDOG=1", from, to);
    let all = || notify.describe(started);

    // Warm, but no market data yet: READY=1 and no pets.
    until("READY=1", BOUND, || notify.first("READY=1").is_some()).await;
    let ready = notify.first("READY=1").unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let opened = Instant::now();
    assert_eq!(pets(ready, opened), 0, "pets before any data:\n{}", all());

    // Data flows: pets every half second.
    market.ws.open_market();
    until("pets while data flows", BOUND, || {
        pets(opened, Instant::now()) >= 3
    })
    .await;

    // The exchange falls silent (the link stays up, pinged): after the silence threshold, no
    // more pets.
    until("the market's last bar", BOUND, || {
        market.bars_closed() == BARS
    })
    .await;
    let silent = Instant::now();
    let quiet_from = silent + Duration::from_secs(SILENCE_SECS + 2);
    let quiet_to = quiet_from + Duration::from_millis(2500);
    tokio::time::sleep_until(quiet_to.into()).await;
    assert!(
        pets(opened, silent) >= 3,
        "pets while data flowed:\n{}",
        all()
    );
    assert_eq!(
        pets(quiet_from, quiet_to),
        0,
        "pets while silent:\n{}",
        all()
    );
    assert!(daemon.log().contains("Ready."), "{}", daemon.log());

    daemon.sigterm();
    let (status, _) = daemon.exit(BOUND).await;
    assert_eq!(status.code(), Some(0));
    until("STOPPING=1", BOUND, || notify.first("STOPPING=1").is_some()).await;
}

/// A cold start replays history to warm up, and the rules raise alerts about that past: they go
/// to the file sink, never to Telegram, which only gets alerts whose bar closed within one bar
/// of their timeframe before now.
#[tokio::test]
async fn a_cold_start_sends_people_no_alert_about_the_past() {
    let market = Market::start(1, Duration::from_secs(3600)).await;
    let api = FakeBotApi::start(Vec::new());
    let dir = tempfile::tempdir().unwrap();
    let notify = Notifications::bind(dir.path());
    let mut setup = market.setup();
    let every_kind = "[\"regime_change\", \"midline_cross\", \"divergence\", \"cluster_approach\", \
        \"cluster_edge\", \"cluster_swept\", \"setup_entry\", \"divergence_exit\"]";
    setup.extra = format!(
        "[alerts]\nregime_timeframes = [\"4h\", \"1d\", \"1w\"]\nmidline_timeframes = [\"4h\", \"1d\"]\n\
         divergence_timeframes = [\"4h\", \"1d\"]\n\n\
         [sinks.file]\npath = \"alerts.jsonl\"\n\n\
         [sinks.telegram]\nchat_ids = [42]\napi_url = \"{}\"\ncommands = false\n\n\
         [[routes]]\nsink = \"file\"\nkinds = {every_kind}\n\n\
         [[routes]]\nsink = \"telegram\"\nkinds = {every_kind}\n",
        api.url
    );
    let config = setup.write(dir.path());
    let started = liqwave::clock::wall_ms();
    let env = [
        ("NOTIFY_SOCKET", notify.path()),
        ("LIQWAVE_TELEGRAM_TOKEN", TOKEN),
    ];
    let mut daemon = Daemon::start(&config, "run.log", &env);
    until("READY=1", BOUND, || notify.first("READY=1").is_some()).await;
    until("the warm-up's alerts in the file", BOUND, || {
        !file_ids(dir.path()).is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    daemon.sigterm();
    let (status, _) = daemon.exit(BOUND).await;
    assert_eq!(status.code(), Some(0), "{}", daemon.log());

    let text = std::fs::read_to_string(dir.path().join("alerts.jsonl")).unwrap();
    let alerts: Vec<Alert> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Stale when the daemon started is stale whenever it was routed (later).
    let stale: Vec<&Alert> = alerts.iter().filter(|a| !is_fresh(a, started, 1)).collect();
    assert!(
        !stale.is_empty(),
        "the warm-up raised alerts about the past: {alerts:?}"
    );
    let store = open_store(dir.path());
    let queued = waiting(&store, "telegram");
    for alert in &stale {
        let id = alert.id.to_string();
        assert!(
            !store.is_sent("telegram", &alert.id).unwrap(),
            "{id} reached Telegram"
        );
        assert!(!queued.contains(&id), "{id} waits for Telegram");
    }
    let sent = alerts
        .iter()
        .filter(|a| store.is_sent("telegram", &a.id).unwrap());
    assert!(
        sent.clone().all(|a| is_fresh(a, started, 1)),
        "only news reached Telegram"
    );
    println!(
        "{} alerts, {} about the past kept from Telegram, {} sent to it",
        alerts.len(),
        stale.len(),
        sent.count()
    );
}
