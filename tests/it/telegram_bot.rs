//! The command bot against the fake Bot API (`support/fake_bot_api.rs`) and the real engine task
//! on a temp-dir store, warmed with the bundled demo data: every command answered in an allowed
//! chat and nothing in another, `/mute` surviving a restart, transient polling failures retried,
//! a bad token fatal, a busy engine answered "busy", and a prompt shutdown that confirms what was
//! answered. Futures run side by side (`tokio::join!`), never spawned; every wait is bounded.

use std::sync::OnceLock;
use std::time::Duration;

use liqwave::clock::wall_ms;
use liqwave::config::{Config, TelegramSinkConfig};
use liqwave::engine::{Command, Engine, Inputs, Outlet, PairSnapshot, Persist};
use liqwave::model::{Alert, SymbolEvent};
use liqwave::notify::secret::Secret;
use liqwave::notify::telegram::{BotContext, BotError, BotOptions, run_bot_with};
use liqwave::numbers::group;
use liqwave::rules::Routes;
use liqwave::store::Store;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::support::demo::demo_data;
use crate::support::fake_bot_api::{BOT_NAME, BOUND, Call, FakeBotApi, Reply, TOKEN};
use crate::support::testing::{open_store, temp_store};

const CHAT: i64 = 42;
const GROUP: i64 = -100_777;
const STRANGER: i64 = 666;

/// The demo config, its events, the state after all of them and the alerts they raise: computed
/// once for every test in this file.
struct Demo {
    config: Config,
    events: Vec<SymbolEvent>,
    warm: Vec<PairSnapshot>,
    alerts: Vec<Alert>,
}

fn demo() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| {
        let (config, events) = (demo_data().config.clone(), demo_data().events.clone());
        let mut engine = Engine::new(&config);
        let mut alerts = Vec::new();
        for ev in &events {
            engine.handle(ev, &mut alerts);
        }
        let warm = engine.snapshot();
        Demo {
            config,
            events,
            warm,
            alerts,
        }
    })
}

fn telegram(api: &FakeBotApi) -> TelegramSinkConfig {
    TelegramSinkConfig {
        chat_ids: vec![CHAT, GROUP],
        api_url: api.url.clone(),
        token_env: "LIQWAVE_TEST_TELEGRAM_TOKEN".into(),
        timeout: BOUND,
        commands: true,
    }
}

fn fast() -> BotOptions {
    BotOptions {
        poll: Duration::from_secs(5),
        answer_timeout: Duration::from_secs(5),
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        private_gap: Duration::ZERO,
        group_gap: Duration::ZERO,
    }
}

fn persist(store: &Store) -> Outlet {
    Outlet {
        routes: Routes::defaults(),
        console: None,
        persist: Some(Persist {
            store: store.clone(),
            sinks: Vec::new(),
            position: 0,
            behind: None,
        }),
        fresh: None,
        meter: Default::default(),
    }
}

/// Sends `text` from `chat` and waits until the bot has answered it and polls again; returns the
/// requests the bot sent in between.
async fn say(api: &FakeBotApi, chat: i64, text: &str) -> Vec<Call> {
    let before = api.calls().len();
    api.push_text(chat, text);
    let calls = api
        .wait_for(&format!("the answer to {text:?}"), |calls| {
            let new = &calls[before.min(calls.len())..];
            let last_send = new.iter().rposition(Call::is_send);
            last_send.is_some_and(|i| new[i + 1..].iter().any(|c| c.method == "getupdates"))
        })
        .await;
    calls[before..]
        .iter()
        .filter(|c| c.is_send())
        .cloned()
        .collect()
}

/// The one text answer in `sent`, sent to `chat`.
fn text_to(sent: &[Call], chat: i64) -> String {
    assert!(sent.iter().all(|c| c.chat() == Some(chat)), "{sent:?}");
    sent.iter().map(Call::text).collect::<Vec<_>>().join("\n")
}

fn is_png(call: &Call) -> bool {
    call.method == "sendphoto"
        && call
            .photo
            .as_ref()
            .is_some_and(|p| p.bytes.starts_with(b"\x89PNG\r\n\x1a\n"))
}

#[tokio::test]
async fn commands_from_allowed_chats_are_answered_and_others_ignored() {
    let demo = demo();
    let api = FakeBotApi::start(vec![]);
    let (_dir, store) = temp_store();
    let engine = Engine::new(&demo.config);
    let (commands, commands_rx) = mpsc::channel::<Command>(16);
    let (source, market_rx) = mpsc::channel(16);
    let stop = CancellationToken::new();
    let cx = BotContext {
        commands,
        started: Instant::now(),
        shutdown: stop.clone(),
    };
    let rx = Inputs {
        market: market_rx,
        commands: commands_rx,
    };
    let config = telegram(&api);
    let bot = run_bot_with(&config, Secret::new(TOKEN.into()), cx, fast());
    let chat = async {
        // The demo data reaches the engine first, as from a source; questions queue behind it.
        source.send(demo.events.clone()).await.unwrap();
        drop(source);
        api.push_text(STRANGER, "/status");
        let help = text_to(&say(&api, CHAT, "/help").await, CHAT);
        assert!(help.starts_with("<b>liqwave commands</b>"), "{help}");
        assert!(
            help.contains("/mute SYMBOL [DURATION] — silence a pair"),
            "{help}"
        );

        // The demo's data is of 2025: asked now, the feed is dead and says so.
        let status = text_to(&say(&api, CHAT, "/status").await, CHAT);
        let n = demo.warm.len();
        let pairs = format!("Pairs: <b>{n}</b> · ready 0 · stale {n} · ");
        let events = format!("Events: {} · ", group(demo.events.len() as f64, 0));
        for want in [
            "⚠️ <b>Feed stale</b>: no market data for ",
            " (since 2025-",
            "no pair is ready until it returns",
            &pairs,
            "Data lag: ",
            " (last event 2025-",
            &events,
            "Outbox: empty",
            "Dead letters: 0",
            "Uptime: ",
        ] {
            assert!(status.contains(want), "{want:?} in {status}");
        }

        let pair = say(&api, CHAT, "/pair ethusdt").await;
        assert!(is_png(&pair[0]), "a chart photo first: {pair:?}");
        let text = text_to(&pair, CHAT);
        for want in [
            "<b>ETHUSDT</b> · ",
            " · as of 2025-",
            "⚠️ <b>Stale</b>: no data since then",
            "<code>4h</code> ",
            "<code>1d</code> ",
            "Bias: ",
            "Above: ",
            "Below: ",
            "Funding: ",
            "Setup: ",
        ] {
            assert!(text.contains(want), "{want:?} in {text}");
        }
        let unknown = text_to(&say(&api, CHAT, "/pair DOGEUSDT").await, CHAT);
        assert!(
            unknown.starts_with("No data for <b>DOGEUSDT</b>"),
            "{unknown}"
        );

        let board = say(&api, GROUP, &format!("/board@{BOT_NAME}")).await;
        assert_eq!(board.len(), 1, "{board:?}");
        assert!(is_png(&board[0]));
        let caption = text_to(&board, GROUP);
        let head = format!(
            "<b>RSI regime board</b> · {} pairs · data to 2025-",
            demo.warm.len()
        );
        assert!(caption.starts_with(&head), "{caption}");

        let setups = text_to(&say(&api, CHAT, "/setups").await, CHAT);
        assert!(
            setups.starts_with("<b>Setups lining up</b>") || setups == "No setups lining up now.",
            "{setups}"
        );

        let muted = text_to(&say(&api, CHAT, "/mute ETHUSDT 2h").await, CHAT);
        assert!(
            muted.starts_with("🔇 Muted <b>ETHUSDT</b> for 2h, until "),
            "{muted}"
        );
        let mutes = text_to(&say(&api, CHAT, "/mutes").await, CHAT);
        assert!(
            mutes.starts_with("<b>Mutes</b> (1)\n• <b>ETHUSDT</b> all alerts until "),
            "{mutes}"
        );
        let unmuted = text_to(&say(&api, CHAT, "/unmute ethusdt").await, CHAT);
        assert_eq!(unmuted, "🔔 Unmuted <b>ETHUSDT</b>.");
        let none = text_to(&say(&api, CHAT, "/mutes").await, CHAT);
        assert_eq!(none, "No mutes in force.");

        let bad = text_to(&say(&api, CHAT, "/mute ETH/USDT 2h").await, CHAT);
        assert_eq!(bad, "“ETH/USDT” is not a symbol; did you mean ETHUSDT?");
        let odd = text_to(&say(&api, CHAT, "/mute ETHUSDT 3x").await, CHAT);
        assert!(odd.starts_with("“3x” is not a duration"), "{odd}");

        // Another bot's command and a stranger's are not ours to answer.
        api.push_text(CHAT, "/status@other_bot");
        api.push_text(STRANGER, "/help");
        text_to(&say(&api, CHAT, "/help").await, CHAT);
        stop.cancel();
    };
    let (engine, bot, ()) = tokio::join!(engine.run(rx, persist(&store)), bot, chat);
    bot.unwrap();
    engine.1.unwrap();

    let sends = api.sends();
    assert!(
        sends.iter().all(|c| c.chat() != Some(STRANGER)),
        "answered a stranger"
    );
    assert_eq!(
        sends
            .iter()
            .filter(|c| c.text().starts_with("<b>liqwave status"))
            .count(),
        1
    );
    assert!(
        sends
            .iter()
            .all(|c| c.token == TOKEN && c.body["parse_mode"] == "HTML")
    );
    // The answered updates are confirmed, so a restart does not answer them again.
    let last = api.push_text(CHAT, "/help");
    assert_eq!(api.confirmed(), last, "every earlier update confirmed");
    assert!(
        store.mutes().unwrap().iter().next().is_none(),
        "unmuted in the store too"
    );
}

#[tokio::test]
async fn a_mute_survives_a_restart() {
    let demo = demo();
    let dir = tempfile::tempdir().unwrap();
    let until_at_least = wall_ms() + 2 * 3_600_000;
    {
        let api = FakeBotApi::start(vec![]);
        let store = open_store(dir.path());
        let engine = Engine::restore(&demo.config, demo.warm.clone());
        let (commands, commands_rx) = mpsc::channel::<Command>(16);
        // No market data: the sender goes at once, so the engine ends when the bot does.
        let (_, market_rx) = mpsc::channel(1);
        let stop = CancellationToken::new();
        let cx = BotContext {
            commands,
            started: Instant::now(),
            shutdown: stop.clone(),
        };
        let rx = Inputs {
            market: market_rx,
            commands: commands_rx,
        };
        let config = telegram(&api);
        let bot = run_bot_with(&config, Secret::new(TOKEN.into()), cx, fast());
        let chat = async {
            let muted = text_to(&say(&api, CHAT, "/mute ETHUSDT 2h").await, CHAT);
            assert!(muted.starts_with("🔇 Muted <b>ETHUSDT</b>"), "{muted}");
            stop.cancel();
        };
        let (engine, bot, ()) = tokio::join!(engine.run(rx, persist(&store)), bot, chat);
        bot.unwrap();
        engine.1.unwrap();
    }

    // Everything is gone; a new process opens the store and restores as the supervisor does.
    let store = open_store(dir.path());
    let mutes: Vec<_> = store.mutes().unwrap().iter().cloned().collect();
    assert_eq!(mutes.len(), 1, "{mutes:?}");
    assert_eq!(mutes[0].symbol.as_str(), "ETHUSDT");
    assert_eq!(mutes[0].kind, None);
    let until = mutes[0].until;
    assert!(
        (until_at_least..until_at_least + 60_000).contains(&until),
        "{until}"
    );

    let mut engine = Engine::restore(&demo.config, store.pair_snapshots().unwrap());
    for mute in store.mutes().unwrap().iter() {
        engine.mute(mute.clone());
    }
    let mut alerts = Vec::new();
    for ev in &demo.events {
        engine.handle(ev, &mut alerts);
    }
    let is_eth = |a: &&Alert| a.symbol.as_str() == "ETHUSDT";
    let eth = demo.alerts.iter().filter(is_eth).count();
    assert!(eth > 0, "the demo raises ETHUSDT alerts");
    assert_eq!(
        alerts.iter().filter(is_eth).count(),
        0,
        "the mute drops them"
    );
    assert_eq!(engine.stats().muted, eth as u64);
    assert_eq!(
        alerts.len(),
        demo.alerts.len() - eth,
        "the other pairs still alert"
    );
}

#[tokio::test]
async fn polling_failures_are_retried_and_a_busy_engine_is_answered() {
    let api = FakeBotApi::start(vec![]);
    api.script_polls(vec![Reply::Garbage, Reply::RetryAfter(1), Reply::Silent]);
    // Nobody reads the engine's channel: every question goes unanswered.
    let (commands, _engine_never_runs) = mpsc::channel::<Command>(16);
    let stop = CancellationToken::new();
    let cx = BotContext {
        commands,
        started: Instant::now(),
        shutdown: stop.clone(),
    };
    let mut config = telegram(&api);
    // The silent poll ends at the request timeout: the long poll plus this.
    config.timeout = Duration::from_millis(500);
    let options = BotOptions {
        poll: Duration::from_secs(1),
        answer_timeout: Duration::from_millis(300),
        ..fast()
    };
    let started = std::time::Instant::now();
    let bot = run_bot_with(&config, Secret::new(TOKEN.into()), cx, options);
    let chat = async {
        let busy = text_to(&say(&api, CHAT, "/status").await, CHAT);
        assert_eq!(busy, "⏳ The engine is busy; try again in a minute.");
        // The mute is taken (the channel has room) but not confirmed in time.
        let queued = text_to(&say(&api, CHAT, "/mute BTCUSDT").await, CHAT);
        assert!(
            queued.starts_with("⏳ The engine is busy: the mute of <b>BTCUSDT</b> is queued"),
            "{queued}"
        );
        stop.cancel();
    };
    let (bot, ()) = tokio::join!(bot, chat);
    bot.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "retry_after obeyed"
    );
    let polls = api
        .calls()
        .iter()
        .filter(|c| c.method == "getupdates")
        .count();
    assert!(polls >= 4, "{polls} polls: three failed, then served");
}

#[tokio::test]
async fn a_bad_token_stops_the_bot_and_shutdown_is_prompt() {
    let api = FakeBotApi::start(vec![]);
    let (commands, _rx) = mpsc::channel::<Command>(1);
    let cx = BotContext {
        commands: commands.clone(),
        started: Instant::now(),
        shutdown: CancellationToken::new(),
    };
    let wrong = "111:wRoNg-ToKeN";
    let result = tokio::time::timeout(
        BOUND,
        run_bot_with(&telegram(&api), Secret::new(wrong.into()), cx, fast()),
    )
    .await
    .expect("a bad token ends the bot");
    let error = result.unwrap_err();
    assert!(error.is_bad_token(), "{error:?}");
    assert!(matches!(error, BotError::BadToken { .. }));
    assert!(!format!("{error} {error:?}").contains("wRoNg"), "{error}");

    // A bot in a long poll (20 s) stops as soon as shutdown turns true.
    let stop = CancellationToken::new();
    let cx = BotContext {
        commands,
        started: Instant::now(),
        shutdown: stop.clone(),
    };
    let options = BotOptions {
        poll: Duration::from_secs(20),
        ..fast()
    };
    let config = telegram(&api);
    let bot = run_bot_with(&config, Secret::new(TOKEN.into()), cx, options);
    let chat = async {
        api.wait_for("a long poll", |c| {
            c.iter().any(|c| c.method == "getupdates")
        })
        .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.cancel();
        std::time::Instant::now()
    };
    let (bot, asked) = tokio::join!(bot, chat);
    bot.unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
}

#[tokio::test]
async fn with_commands_off_the_bot_never_polls() {
    let api = FakeBotApi::start(vec![]);
    let (commands, _rx) = mpsc::channel::<Command>(1);
    let cx = BotContext {
        commands,
        started: Instant::now(),
        shutdown: CancellationToken::new(),
    };
    let config = TelegramSinkConfig {
        commands: false,
        ..telegram(&api)
    };
    tokio::time::timeout(
        BOUND,
        run_bot_with(&config, Secret::new(TOKEN.into()), cx, fast()),
    )
    .await
    .expect("returns at once")
    .unwrap();
    assert!(api.calls().is_empty(), "{:?}", api.calls());
}
