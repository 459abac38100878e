//! The engine over the demo replay: its complete alert list pinned as an insta snapshot (a change
//! to a rule, the heatmap or the signals that moves, adds or drops an alert shows up as a
//! reviewable diff); a warm restart at any event equals one run; a reported gap holds a pair's
//! alerts back until the back-fill reaches its end; a mute sent to the running engine; and what
//! the engine answers about its state (views, charts, the daily summary).

use liqwave::config::Config;
use liqwave::engine::{Engine, PairSnapshot, SummaryRequest};
use liqwave::model::{
    Alert, AlertKind, DAY_MS, Facts, Interval, MINUTE_MS, MarketEvent, Symbol, SymbolEvent, TimeMs,
    format_utc,
};
use liqwave::view::SummaryReport;

use crate::support::demo::demo_data;

fn demo() -> (Config, Vec<SymbolEvent>) {
    let demo = demo_data();
    (demo.config.clone(), demo.events.clone())
}

fn run(config: &Config, events: &[SymbolEvent]) -> (Vec<Alert>, Engine) {
    let mut engine = Engine::new(config);
    let mut alerts = Vec::new();
    for ev in events {
        engine.handle(ev, &mut alerts);
    }
    (alerts, engine)
}

#[test]
fn demo_replay_alert_list() {
    let (config, events) = demo();
    let (alerts, _) = run(&config, &events);
    let text: Vec<String> = alerts
        .iter()
        .map(|a| format!("{}  {}  {}", format_utc(a.time_ms), a.id, a.title))
        .collect();
    insta::assert_snapshot!(text.join("\n"));
}

#[test]
fn split_replay_equals_one_run() {
    let (config, events) = demo();
    let mut whole = Engine::new(&config);
    let mut want = Vec::new();
    // The event right after the first cluster edge and the first setup: arms, cooldowns and the
    // last fuel touch must survive the restart too.
    let mut marks = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        let before = want.len();
        whole.handle(ev, &mut want);
        if want[before..].iter().any(|a| {
            matches!(
                a.kind().as_str(),
                "cluster_edge" | "setup_entry" | "divergence_exit"
            )
        }) {
            marks.push(i + 1);
        }
    }
    assert!(
        marks.len() >= 3,
        "the demo has heatmap alerts to split after"
    );

    // Split points: early (before any alert), in the middle of a 4h bucket, right after alerts
    // that change rule state, and late.
    let splits = [
        1_000,
        events.len() / 2 + 7,
        marks[0],
        marks[marks.len() / 2],
        events.len() - 5,
    ];
    for split in splits {
        let mut first = Engine::new(&config);
        let mut got = Vec::new();
        for ev in &events[..split] {
            first.handle(ev, &mut got);
        }
        let json = serde_json::to_string(&first.snapshot()).expect("serialize");
        let restored: Vec<PairSnapshot> = serde_json::from_str(&json).expect("deserialize");
        let mut second = Engine::restore(&config, restored);
        for ev in &events[split..] {
            second.handle(ev, &mut got);
        }
        assert_eq!(got, want, "alerts differ when split at event {split}");
        assert_eq!(
            second.snapshot(),
            whole.snapshot(),
            "state differs when split at event {split}"
        );
    }
}

#[test]
fn a_gap_holds_alerts_until_the_back_fill_reaches_its_end() {
    let (config, mut events) = demo();
    let (want, _) = run(&config, &events);
    let btc: Symbol = "BTCUSDT".parse().unwrap();
    // Pretend the feed dropped 4 hours of BTC bars around one of its alerts: the source says
    // so, then back-fills them (here: the recorded bars that follow).
    let alert_time = want
        .iter()
        .filter(|a| a.symbol == btc)
        .nth(2)
        .unwrap()
        .time_ms;
    let from: TimeMs = (alert_time - 120 * MINUTE_MS) / (5 * MINUTE_MS) * (5 * MINUTE_MS);
    let to = from + 4 * 60 * MINUTE_MS;
    let at = events
        .iter()
        .position(|e| {
            e.symbol == btc
                && matches!(&e.event, MarketEvent::Candle { candle, .. } if candle.open_time >= from)
        })
        .unwrap();
    let gap = SymbolEvent {
        symbol: btc.clone(),
        event: MarketEvent::Gap { from, to },
    };
    events.insert(at, gap);
    let (got, engine) = run(&config, &events);

    assert!(
        engine.stats().rules.gap_withheld > 0,
        "the gap held something back"
    );
    let held = |a: &&Alert| a.symbol == btc && (from..=to + 5 * MINUTE_MS).contains(&a.time_ms);
    assert!(
        want.iter().any(|a| held(&a)),
        "the window should matter for this test"
    );
    assert!(
        !got.iter().any(|a| held(&a)),
        "no BTC alert while the gap is open"
    );
    let others = |list: &[Alert]| -> Vec<Alert> {
        list.iter().filter(|a| a.symbol != btc).cloned().collect()
    };
    assert_eq!(others(&got), others(&want), "other pairs are untouched");
    assert!(
        got.iter()
            .any(|a| a.symbol == btc && a.time_ms > to + 60 * MINUTE_MS),
        "BTC alerts resume after the back-fill"
    );
}

#[tokio::test]
async fn a_mute_sent_to_the_engine_silences_its_symbol_until_it_ends() {
    use liqwave::engine::{Command, Inputs, Outlet};
    use liqwave::rules::Mute;
    use tokio::sync::mpsc;

    let (config, events) = demo();
    let (all, _) = run(&config, &events);
    let btc: Symbol = "BTCUSDT".parse().unwrap();
    let until = all
        .iter()
        .filter(|a| a.symbol == btc)
        .nth(4)
        .unwrap()
        .time_ms;
    let muted = |a: &Alert| a.symbol == btc && a.time_ms < until;

    let (market, market_rx) = mpsc::channel(1);
    let (commands, commands_rx) = mpsc::channel(1);
    let (alerts, mut delivered) = mpsc::channel(all.len() + 1);
    let mute = Mute {
        symbol: btc.clone(),
        kind: None,
        until,
    };
    commands.send(Command::Mute(mute)).await.unwrap();
    market.send(events).await.unwrap();
    drop((market, commands));
    let inputs = Inputs {
        market: market_rx,
        commands: commands_rx,
    };
    let outlet = Outlet::console(config.routes.clone(), alerts);
    let (engine, stored) = Engine::new(&config).run(inputs, outlet).await;
    stored.unwrap();
    let mut got = Vec::new();
    while let Ok(routed) = delivered.try_recv() {
        got.push(routed.alert);
    }

    let want: Vec<Alert> = all.iter().filter(|a| !muted(a)).cloned().collect();
    assert_eq!(got, want);
    assert_eq!(
        engine.stats().muted,
        all.iter().filter(|a| muted(a)).count() as u64
    );
    assert_eq!(engine.stats().muted, 4);
}

/// The Telegram HTML of the first demo alert of each kind: a change to the layout is a
/// reviewable diff (`tests/it/snapshots/it__alert_list__telegram_html_of_each_kind.snap`).
#[test]
fn telegram_html_of_each_kind() {
    let (config, events) = demo();
    let (alerts, _) = run(&config, &events);
    let mut seen = std::collections::BTreeSet::new();
    let rendered: Vec<String> = alerts
        .iter()
        .filter(|a| seen.insert(a.kind()))
        .map(|a| {
            format!(
                "── {} ──\n{}",
                a.kind(),
                liqwave::notify::telegram::render_html(a)
            )
        })
        .collect();
    assert_eq!(
        rendered.len(),
        11,
        "every kind but the daily summary and second_leg (the demo raises none)"
    );
    insta::assert_snapshot!(rendered.join("\n\n"));
}

// What the engine answers about its state: the market view agrees with the pair states,
// setups are ranked, a chart shows the last 4h bars, and the daily summary lists exactly the
// last day's alerts — also from an engine restored from its snapshot.

#[test]
fn market_view_agrees_with_the_pair_states() {
    let (config, events) = demo();
    let (_, engine) = run(&config, &events);
    let last = events.iter().map(|e| e.event.known_at()).max();
    let market = engine.market_view(last.expect("events"));
    assert_eq!(market.pairs.len(), engine.pairs().len());
    assert_eq!(market.health.events, events.len() as u64);
    assert_eq!(market.health.last_event_ms, last);
    for (view, state) in market.pairs.iter().zip(engine.pairs()) {
        assert_eq!(&view.symbol, state.symbol());
        for interval in Interval::SIGNAL {
            let tf = view.timeframe(interval).expect("every signal timeframe");
            assert_eq!(tf.regime, state.timeframe(interval).regime());
            assert_eq!(tf.bars, state.timeframe(interval).bars());
        }
        let price = view.price.expect("a price after weeks of data");
        for level in view.above.iter() {
            assert!(level.near_edge > price, "{}: above is above", view.symbol);
        }
        for level in view.below.iter() {
            assert!(level.near_edge < price, "{}: below is below", view.symbol);
        }
    }
    assert!(
        market.pairs.iter().any(|p| p.bias.regime.is_some()),
        "the demo warms its bias timeframe"
    );
    for p in &market.pairs {
        assert_eq!(p.ready, p.bias.regime.is_some() && !p.stale, "{}", p.symbol);
        assert!(p.as_of.is_some_and(|t| t <= last.unwrap()), "{}", p.symbol);
    }
}

/// When BTCUSDT's recording ends, it is ready; 15 minutes later still; a minute after, its
/// data is stale and it is not ready, and no setup of it lines up.
#[test]
fn a_pair_whose_data_stopped_is_stale_and_not_ready() {
    let (config, events) = demo();
    let (_, engine) = run(&config, &events);
    let btc: Symbol = "BTCUSDT".parse().unwrap();
    let end = btc_data_end(&engine);
    // (minutes after BTCUSDT's last data, ready, stale)
    for (minutes, ready, stale) in [(0, true, false), (15, true, false), (16, false, true)] {
        let now = end + minutes * 60_000;
        let market = engine.market_view(now);
        let view = market.pairs.iter().find(|p| p.symbol == btc).unwrap();
        assert_eq!((view.ready, view.stale), (ready, stale), "{minutes} min");
        assert!(
            !market.health.is_stale(now),
            "newer pairs keep the feed fresh"
        );
        assert!(ready || market.setups().iter().all(|p| p.symbol != btc));
    }
    // The whole feed: a summary an hour after the newest data says so in its title.
    let last = events.iter().map(|e| e.event.known_at()).max().unwrap();
    let req = |now| SummaryRequest {
        day: "2021-07-22".into(),
        tz: "UTC".into(),
        now,
    };
    let fresh = engine.summary_alert(&req(last)).unwrap();
    let dead = engine.summary_alert(&req(last + 3_600_000)).unwrap();
    assert!(!fresh.title.contains("STALE"), "{}", fresh.title);
    assert!(dead.title.contains(", 0 ready, "), "{}", dead.title);
    assert!(
        dead.title.contains("FEED STALE, data to "),
        "{}",
        dead.title
    );
}

/// When BTCUSDT's data ends in the demo (its pairs' recordings end at different times).
fn btc_data_end(engine: &Engine) -> TimeMs {
    let btc: Symbol = "BTCUSDT".parse().unwrap();
    let views = engine.market_view(i64::MAX).pairs;
    let view = views.into_iter().find(|p| p.symbol == btc).unwrap();
    view.as_of.expect("BTCUSDT has data")
}

#[test]
fn setups_are_ranked_and_their_plans_are_consistent() {
    let (config, events) = demo();
    let (_, engine) = run(&config, &events);
    let market = engine.market_view(btc_data_end(&engine));
    let ranked = market.setups();
    assert!(!ranked.is_empty(), "the demo's trending pairs offer trades");
    for pair in &ranked {
        let s = pair.setup.expect("ranked pairs have a setup");
        let long = s.entry < s.t1;
        assert_eq!(
            long,
            s.stop < s.entry,
            "{}: stop and target on opposite sides",
            pair.symbol
        );
    }
    for w in ranked.windows(2) {
        let (a, b) = (w[0].setup.unwrap(), w[1].setup.unwrap());
        assert!(a.qualifies >= b.qualifies);
        if a.qualifies == b.qualifies {
            assert!(a.reward_risk >= b.reward_risk);
        }
    }
}

#[test]
fn a_pair_chart_shows_its_last_4h_bars() {
    let (config, events) = demo();
    let (_, engine) = run(&config, &events);
    let state = engine.pairs()[0];
    let now = events.iter().map(|e| e.event.known_at()).max().unwrap();
    let answer = engine
        .pair_answer(state.symbol(), now)
        .expect("a known pair");
    let chart = answer.chart.expect("weeks of data make 4h bars");
    assert_eq!(chart.candles.len(), chart.rsi.len());
    assert_eq!(chart.candles.len(), 60);
    let last = state.timeframe(Interval::H4).last_open();
    assert_eq!(chart.candles.last().map(|c| c.open_time), last);
    let png = chart.render().expect("renders");
    assert_eq!(&png[1..4], b"PNG");
    assert!(
        engine
            .pair_answer(&"NOSUCHUSDT".parse().unwrap(), now)
            .is_none()
    );
}

#[test]
fn the_summary_lists_the_last_day_and_survives_a_restart() {
    let (config, events) = demo();
    let (alerts, engine) = run(&config, &events);
    // Recordings of different pairs end at different times: the day before the last alert.
    let now = alerts.iter().map(|a| a.time_ms).max().unwrap();
    let req = SummaryRequest {
        day: "2021-07-22".into(),
        tz: "UTC".into(),
        now,
    };
    let alert = engine.summary_alert(&req).expect("the report encodes");
    assert_eq!(alert.id.as_str(), "daily_summary:MARKET:-:2021-07-22");
    let Facts::DailySummary(facts) = &alert.facts else {
        panic!("{alert:?}")
    };
    let report = SummaryReport::from_facts(facts).expect("a report");
    let in_window: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.time_ms > now - DAY_MS && a.time_ms <= now)
        .collect();
    let transitions = in_window
        .iter()
        .filter(|a| a.kind() == AlertKind::RegimeChange)
        .count();
    assert_eq!(report.transitions.len(), transitions);
    assert_eq!(report.alerts_total, in_window.len() - transitions);
    assert!(report.alerts_total > 0, "the demo's last day has alerts");
    assert!(report.charts.len() <= 3);

    let restored = Engine::restore(&config, engine.snapshot());
    let again = restored.summary_alert(&req).unwrap();
    let Facts::DailySummary(facts) = &again.facts else {
        panic!("{again:?}")
    };
    let again = SummaryReport::from_facts(facts).unwrap();
    assert_eq!(again.transitions, report.transitions);
    assert_eq!(again.alerts, report.alerts);
}
