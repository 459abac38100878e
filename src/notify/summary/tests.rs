//! The daily summary from hand-made reports: one line of data per pair and per alert, read by a
//! small parser below. The text part is pinned by a snapshot; the HTML is checked for escaping
//! and for every `cid:` having its image; the board pages, the facts parsing and the helpers are
//! tables of cases.

use super::doc::{strip_subject, utc};
use super::*;
use crate::analytics::entry::EntryDirection;
use crate::analytics::regime::Regime;
use crate::model::testing;
use crate::model::{
    AlertBrief, Candle, DAY_MS, Facts, Interval, LoadingScore, LoadingSignal, Reading, Side,
    SignalReading, SummaryFacts, Symbol, demo_alert, parse_utc,
};
use crate::notify::chart::ChartSeries;
use crate::rules::{Bias, ClusterLabel};
use crate::view::{FeedHealth, LevelView, MarketView, PairView, SetupView, TimeframeView};

/// `2025-06-11 08:00` UTC to epoch milliseconds.
fn at(text: &str) -> i64 {
    parse_utc(&format!("{text}:00")).unwrap_or_else(|| panic!("bad time {text:?}"))
}

fn regime(name: &str) -> Regime {
    match name {
        "bull" => Regime::Bull,
        "bear" => Regime::Bear,
        "range" => Regime::Range,
        other => panic!("bad regime {other:?}"),
    }
}

/// `86.1M` → 86_100_000.
fn amount(text: &str) -> f64 {
    let (digits, unit) = match text.char_indices().last() {
        Some((i, 'k')) => (&text[..i], 1e3),
        Some((i, 'M')) => (&text[..i], 1e6),
        Some((i, 'B')) => (&text[..i], 1e9),
        _ => (text, 1.0),
    };
    digits.parse::<f64>().expect("a number") * unit
}

/// A cascade-loading score `ON/KNOWN`: the first signals on, the next off, the rest unknown.
fn load(text: &str) -> LoadingScore {
    let (on, known) = text.split_once('/').unwrap();
    let (on, known): (usize, usize) = (on.parse().unwrap(), known.parse().unwrap());
    let reading = |i: usize| match i {
        i if i < on => Reading::On,
        i if i < known => Reading::Off,
        _ => Reading::Unknown,
    };
    let signals = (LoadingSignal::ALL.iter().enumerate())
        .map(|(i, &signal)| SignalReading {
            signal,
            reading: reading(i),
            value: None,
        })
        .collect();
    LoadingScore {
        time_ms: 0,
        signals,
    }
}

/// One pair: `SYMBOL px=P 1w=REGIME:RSI 1d=… 4h=… fund=PCT fuel=NEAR-FAR:DENSITY:USD
/// magnet=NEAR-FAR:DENSITY:USD setup=STOP:RR[:confirms] load=ON/KNOWN warming gap`; RSI `-` for none. The wave
/// is the 1d regime qualified by 1w; the setup enters at `px` towards the fuel's far edge.
fn pair(line: &str) -> PairView {
    let mut words = line.split_whitespace();
    let symbol: Symbol = words.next().unwrap().parse().unwrap();
    let mut p = PairView::named(symbol);
    let (mut setup, mut w1, mut d1) = (None, None, None);
    for word in words {
        let (key, value) = word.split_once('=').unwrap_or((word, ""));
        match key {
            "px" => p.price = Some(value.parse().unwrap()),
            "1w" | "1d" | "4h" => {
                let (r, rsi) = value.split_once(':').unwrap();
                let tf = TimeframeView {
                    interval: key.parse().unwrap(),
                    regime: regime(r),
                    rsi: rsi.parse().ok(),
                    bars: 300,
                };
                let known = tf.rsi.map(|_| tf.regime);
                match tf.interval {
                    Interval::W1 => w1 = known,
                    Interval::D1 => d1 = known,
                    _ => {}
                }
                p.timeframes.push(tf);
            }
            "fund" => p.funding_rate = Some(value.parse::<f64>().unwrap() / 100.0),
            "fuel" | "magnet" => {
                let parts: Vec<&str> = value.split(':').collect();
                let (near, far) = parts[0].split_once('-').unwrap();
                let (near, far): (f64, f64) = (near.parse().unwrap(), far.parse().unwrap());
                let px = p.price.expect("px before a level");
                let level = LevelView {
                    side: if near > px { Side::Short } else { Side::Long },
                    label: if key == "fuel" {
                        ClusterLabel::Fuel
                    } else {
                        ClusterLabel::Magnet
                    },
                    near_edge: near,
                    far_edge: far,
                    notional_usd: amount(parts[2]),
                    density: parts[1].parse().unwrap(),
                    distance_pct: 100.0 * (near - px).abs() / px,
                };
                match level.side {
                    Side::Short => p.above = Some(level),
                    Side::Long => p.below = Some(level),
                }
            }
            "setup" => setup = Some(value.to_owned()),
            "warming" => p.ready = false,
            "gap" => p.gap_open = true,
            "load" => p.loading = Some(load(value)),
            other => panic!("unknown key {other:?} in {line:?}"),
        }
    }
    p.bias = Bias::from_regimes(d1, w1);
    if let Some(spec) = setup {
        let parts: Vec<&str> = spec.split(':').collect();
        let rr: f64 = parts[1].parse().unwrap();
        p.setup = Some(SetupView {
            direction: match p.bias.wave {
                Regime::Bear => EntryDirection::Short,
                _ => EntryDirection::Long,
            },
            entry: p.price.unwrap(),
            stop: parts[0].parse().unwrap(),
            t1: p.fuel().expect("fuel for a setup").far_edge,
            t2: None,
            reward_risk: rr,
            qualifies: rr >= 2.0,
            funding_confirms: parts.get(2) == Some(&"confirms"),
        });
    }
    p
}

/// One alert: `YYYY-MM-DD HH:MM KIND SYMBOL TF TITLE…`, TF `-` for none.
fn brief(line: &str) -> AlertBrief {
    let w: Vec<&str> = line.splitn(6, ' ').collect();
    let kind: AlertKind = w[2].parse().unwrap();
    let symbol: Symbol = w[3].parse().unwrap();
    let interval = (w[4] != "-").then(|| w[4].parse().unwrap());
    let time_ms = at(&format!("{} {}", w[0], w[1]));
    AlertBrief {
        id: AlertId::new(kind, &symbol, interval, time_ms),
        kind,
        symbol,
        interval,
        time_ms,
        title: w[5].to_owned(),
    }
}

/// The report of `pairs` at `2025-06-11 08:00` UTC, its data current to the minute.
fn report(tz: &str, pairs: &[&str], alerts: &[&str], alerts_total: usize) -> SummaryReport {
    let pairs: Vec<PairView> = pairs.iter().map(|l| pair(l)).collect();
    let (transitions, alerts): (Vec<AlertBrief>, Vec<AlertBrief>) = alerts
        .iter()
        .map(|l| brief(l))
        .partition(|a| a.kind == AlertKind::RegimeChange);
    let now = at("2025-06-11 08:00");
    SummaryReport {
        day: "2025-06-11".into(),
        tz: tz.into(),
        generated_ms: now,
        since_ms: now - DAY_MS,
        market: MarketView {
            health: FeedHealth {
                pairs: pairs.len(),
                pairs_ready: pairs.iter().filter(|p| p.ready).count(),
                pairs_stale: 0,
                gaps_open: pairs.iter().filter(|p| p.gap_open).count(),
                events: 1_234_567,
                source_bars: 1_200_000,
                gaps: 2,
                last_event_ms: Some(now - 60_000),
            },
            pairs,
        },
        transitions,
        alerts_total: alerts_total.max(alerts.len()),
        alerts,
        charts: Vec::new(),
    }
}

#[rustfmt::skip]
const PAIRS: &[&str] = &[
    "BTCUSDT  px=84120  1w=bull:61.2 1d=bull:66.0 4h=bull:47.1 fund=-0.0150 fuel=86100-87900:4.1:240M magnet=82000-81200:3.3:90M setup=82300:3.2:confirms",
    "ETHUSDT  px=1925.4 1w=bull:52.0 1d=bear:38.2 4h=bear:55.0 fund=+0.0210 fuel=1819.4-1813.9:5.2:14.7M setup=1957.7:3.4 load=3/4",
    "SOLUSDT  px=145.2  1w=range:52.0 1d=bull:59.9 4h=bull:71.0 fund=+0.0050 fuel=149.8-152.0:3.6:36M setup=141.1:1.6",
    "BNBUSDT  px=612.3  1w=range:50.1 1d=range:49.9 4h=bear:28.4 fund=0",
    "DOGEUSDT px=0.1823 1w=bear:40.0 1d=bear:35.5 4h=range:45.0 fund=-0.0040 load=1/5 gap",
    "NEWUSDT  px=0.5234 1w=range:- 1d=bull:75.0 4h=bull:80.2 warming",
];

#[rustfmt::skip]
const ALERTS: &[&str] = &[
    "2025-06-11 04:00 regime_change SOLUSDT 1d SOLUSDT 1d RSI regime range → bull (RSI 70.4)",
    "2025-06-10 20:00 regime_change ETHUSDT 4h ETHUSDT 4h RSI regime range → bear (RSI 29.1)",
    "2025-06-11 06:20 cluster_edge BTCUSDT - reached short-liquidation cluster 86,100–87,900 (fuel, ~$240M est., density 4.1)",
    "2025-06-11 00:00 setup_entry ETHUSDT 4h ETHUSDT Setup A short: entry 1,925.4, stop 1,957.7, T1 1,813.9, R:R 3.4",
    "2025-06-10 12:00 midline_cross DOGEUSDT 1d DOGEUSDT 1d RSI crossed above 50 against the bear wave (RSI 51.2)",
];

/// A small report (six pairs, five alerts) with one setup chart, for other modules' tests.
pub(crate) fn sample() -> SummaryReport {
    let mut r = report("UTC", PAIRS, ALERTS, 7);
    r.charts.push(chart("BTCUSDT", 12));
    r
}

#[test]
fn text_part_of_a_small_market() {
    let email = render(&report("UTC", PAIRS, ALERTS, 7));
    let snapshot = format!("Subject: {}\n\n{}", email.subject, email.text);
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("summary_text", snapshot);
    });
}

/// A rate is "crowded" (listed, said to load one side) only past the configured thresholds;
/// within them it is neutral and only counted. (rate %, longs above %, shorts below %, row or
/// `None` when not listed.)
#[test]
#[rustfmt::skip]
fn funding_follows_the_configured_thresholds() {
    use crate::rules::{Crowding, FundingParams};
    let table: &[(f64, f64, f64, Option<&str>)] = &[
        (0.0017, 0.01, 0.0, None),
        (0.0017, 0.001, 0.0, Some("+0.0017 % longs")),
        (0.0210, 0.01, 0.0, Some("+0.0210 % longs")),
        (0.0100, 0.01, 0.0, None),
        (-0.0040, 0.01, 0.0, Some("-0.0040 % shorts")),
        (-0.0040, 0.01, -0.005, None),
        (-0.0150, 0.01, -0.005, Some("-0.0150 % shorts")),
        (0.0, 0.01, 0.0, None),
    ];
    for &(pct, longs, shorts, want) in table {
        let mut r = report("UTC", &["XUSDT px=1 1w=bull:60 1d=bull:60 4h=bull:60"], &[], 0);
        let params = FundingParams { crowded_longs_above: longs / 100.0, crowded_shorts_below: shorts / 100.0 };
        let p = &mut r.market.pairs[0];
        p.funding_rate = Some(pct / 100.0);
        p.funding_crowding = Some(Crowding::of(pct / 100.0, &params));
        let s = market::funding(&r);
        let rows: Vec<String> = s.table.iter().flat_map(|t| &t.rows)
            .map(|row| row.iter().map(|c| c.text.as_str()).collect::<Vec<_>>().join(" ")).collect();
        let lead: String = s.lead.iter().map(|l| l.text.as_str()).collect();
        match want {
            Some(want) => {
                assert_eq!(rows.len(), 1, "{pct}: {rows:?}");
                assert!(rows[0].starts_with(&format!("XUSDT {want}")), "{pct}: {rows:?}");
            }
            None => {
                assert!(rows.is_empty(), "{pct}: {rows:?}");
                assert!(lead.contains("neutral on every pair"), "{pct}: {lead}");
            }
        }
    }
}

#[test]
fn html_keeps_markup_in_values_inert() {
    let mut r = report("Europe/<&>", PAIRS, ALERTS, 5);
    r.alerts[0].title = "<script>alert(1)</script> & <b>bold</b> \"q\"".into();
    r.day = "2025-06-11<img src=x>".into();
    r.charts.push(chart("EVIL<&>\"", 6));
    let email = render(&r);
    for raw in ["<script", "<b>", "<img src=x>", "EVIL<&>"] {
        assert!(!email.html.contains(raw), "{raw:?} left unescaped");
    }
    for escaped in [
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt; &quot;q&quot;",
        "2025-06-11&lt;img src=x&gt;",
        "Europe/&lt;&amp;&gt;",
        "EVIL&lt;&amp;&gt;&quot;",
    ] {
        assert!(email.html.contains(escaped), "{escaped:?} missing");
    }
    assert!(email.text.contains("Unknown time zone \"Europe/<&>\""));
}

#[test]
fn every_cid_has_its_image_and_every_image_is_shown() {
    let mut r = report("Europe/Berlin", PAIRS, ALERTS, 5);
    r.charts = vec![
        chart("BTCUSDT", 8),
        chart("XRPUSDT", 8),
        chart("ETHUSDT", 0),
    ];
    let email = render(&r);
    let cids: Vec<&str> = email
        .html
        .split("src=\"cid:")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    let ids: Vec<&str> = email.images.iter().map(|i| i.content_id.as_str()).collect();
    // Ranked: ETHUSDT, BTCUSDT, SOLUSDT. XRPUSDT is not ranked; ETHUSDT's chart has no candles:
    // left out, and said so.
    assert_eq!(ids, ["setup-2", "chart-2", "board"]);
    assert_eq!(cids, ids);
    assert!(
        email
            .html
            .contains("The chart of #1 ETHUSDT could not be drawn")
    );
    for image in &email.images {
        assert!(image.png.starts_with(b"\x89PNG\r\n\x1a\n"), "{image:?}");
        assert_eq!(image.file_name, format!("{}.png", image.content_id));
    }
    assert!(email.html.contains("data as of 2025-06-11 09:59 CEST"));
    assert!(!email.html.contains("<script") && !email.html.contains("http"));
}

/// `n` flat 4h candles for `symbol`.
fn chart(symbol: &str, n: i64) -> ChartSeries {
    let start = at("2025-06-10 00:00");
    let candles: Vec<Candle> = (0..n)
        .map(|i| Candle {
            open_time: start + i * Interval::H4.duration_ms(),
            open: 100.0 + i as f64,
            high: 102.0 + i as f64,
            low: 99.0 + i as f64,
            close: 101.0 + i as f64,
            volume: 1.0,
            quote_volume: None,
            taker_buy_quote: None,
        })
        .collect();
    ChartSeries {
        symbol: symbol.into(),
        interval_label: "4h".into(),
        rsi: candles.iter().map(|_| Some(55.0)).collect(),
        regimes: candles.iter().map(|_| Regime::Bull).collect(),
        candles,
        heat: Vec::new(),
        clusters: Vec::new(),
        mark_price: None,
        footer: "estimated".into(),
        as_of: start + n * Interval::H4.duration_ms(),
        history: Vec::new(),
        levels: Vec::new(),
        note: String::new(),
        realized: Vec::new(),
    }
}

#[test]
fn the_board_is_paged_and_capped() {
    // (pairs, board images, a note on pairs left out)
    for (n, images, capped) in [
        (1, 1, false),
        (50, 1, false),
        (51, 2, false),
        (601, 12, true),
    ] {
        let lines: Vec<String> = (0..n)
            .map(|i| format!("P{i:04}USDT px=1 1w=bull:60 1d=bear:40 4h=range:50"))
            .collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let email = render(&report("UTC", &lines, &[], 0));
        let boards = email
            .images
            .iter()
            .filter(|i| i.content_id.starts_with("board"));
        assert_eq!(boards.count(), images, "{n} pairs");
        assert_eq!(
            email.html.contains("show the first 600 of 601 pairs"),
            capped
        );
        assert!(
            email.text.contains(&format!("P{:04}USDT", n - 1)),
            "text lists every pair"
        );
    }
}

#[test]
fn facts_that_are_no_report_are_an_error_naming_the_alert() {
    let good = report("UTC", PAIRS, ALERTS, 5);
    let alert = |facts: Facts| {
        testing::alert(facts)
            .symbol("MARKET")
            .trigger("2025-06-11")
            .build()
    };
    let ok = alert(good.to_facts().unwrap());
    assert_eq!(report_of(&ok).unwrap(), good);
    for json in [
        serde_json::json!({}),
        serde_json::json!(null),
        serde_json::json!({"day": 5}),
    ] {
        let facts = Facts::DailySummary(SummaryFacts::from_json(json));
        let error = render_alert(&alert(facts)).unwrap_err();
        assert!(matches!(error, SummaryError::Facts { .. }), "{error}");
        assert!(
            error
                .to_string()
                .contains("daily_summary:MARKET:-:2025-06-11")
        );
    }
    let wrong = render_alert(&alert(demo_alert(AlertKind::RegimeChange).facts));
    assert!(matches!(wrong, Err(SummaryError::NotASummary { .. })));
}

#[test]
#[rustfmt::skip]
fn titles_lose_the_symbol_and_timeframe_they_repeat() {
    for (title, symbol, tf, want) in [
        ("BTCUSDT 1d RSI regime bull → range", "BTCUSDT", Some("1d"), "RSI regime bull → range"),
        ("BTCUSDT reached a cluster", "BTCUSDT", None, "reached a cluster"),
        ("BTCUSDTX 1d odd", "BTCUSDT", Some("1d"), "BTCUSDTX 1d odd"),
        ("BTCUSDT", "BTCUSDT", None, "BTCUSDT"),
        ("ETHUSDT 4h", "ETHUSDT", Some("4h"), "ETHUSDT 4h"),
        ("swept BTCUSDT", "BTCUSDT", None, "swept BTCUSDT"),
    ] {
        assert_eq!(strip_subject(title, symbol, tf), want, "{title:?}");
    }
}

#[test]
fn stale_data_and_gaps_are_called_out() {
    let mut r = report("UTC", PAIRS, &[], 0);
    r.market.health.last_event_ms = Some(r.generated_ms - 3 * 3_600_000);
    let sol = &mut r.market.pairs[2];
    (sol.stale, sol.ready, sol.as_of) = (true, false, Some(r.generated_ms - 3 * 3_600_000));
    let email = render(&r);
    let text = email.text;
    assert!(
        text.contains("! Feed stale: the newest data is 3.0 h older than this report"),
        "{text}"
    );
    let since = format!(
        "FEED STALE since {} · ",
        utc(r.market.health.last_event_ms.unwrap())
    );
    assert!(
        email
            .subject
            .starts_with(&format!("[liqwave] {since}Daily")),
        "{}",
        email.subject
    );
    assert!(
        text.contains("! Waiting for a back-fill of missing bars, their alerts held: DOGEUSDT.")
    );
    assert!(text.contains(&utc(r.market.health.last_event_ms.unwrap())));
    assert!(
        text.contains("! † marks 1 pair whose data stopped, not ready;")
            && text.contains("SOLUSDT 2025-06-11 05:00 UTC."),
        "{text}"
    );
}
