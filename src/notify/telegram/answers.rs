//! The bot's answers as Telegram HTML: status, one pair, the setups, the mutes, help, and the
//! regime board image. Pure: built from the engine's views and what the store said, with `now`
//! as an argument; every interpolated value is escaped. Never asks the engine or sends.

use std::collections::BTreeMap;
use std::time::Duration;

use super::commands::{COMMANDS, human_duration};
use super::render::esc;
use crate::analytics::regime::Regime;
use crate::model::{Interval, LoadingScore, Reading, Side, Symbol, TimeMs, format_utc};
use crate::notify::chart::{
    BoardCell, BoardInput, BoardRow, ChartError, MAX_BOARD_ROWS, render_board_png,
};
use crate::notify::wording::{NO, YES};
use crate::numbers::{group, price, usd};
use crate::rules::{Conviction, Mutes};
use crate::view::{FeedHealth, LevelView, MarketView, PairView, RealizedLevelView, VenuesView};

/// Setups `/setups` lists.
pub(super) const TOP_SETUPS: usize = 10;
/// The board's columns, slowest first.
const BOARD_COLUMNS: [(&str, Interval); 3] = [
    ("1w", Interval::W1),
    ("1d", Interval::D1),
    ("4h", Interval::H4),
];

/// What `/status` reports besides the engine's health.
#[derive(Debug, Clone)]
pub(super) struct StatusFacts<'a> {
    pub(super) health: &'a FeedHealth,
    pub(super) now_ms: TimeMs,
    /// Outbox entries per sink; `None`: the store could not be read.
    pub(super) outbox: Option<&'a BTreeMap<String, usize>>,
    pub(super) dead_letters: Option<usize>,
    pub(super) uptime: Duration,
}

pub(super) fn help() -> String {
    let mut lines = vec!["<b>liqwave commands</b>".to_owned()];
    lines.extend(
        COMMANDS
            .iter()
            .map(|(usage, what)| format!("{} — {}", esc(usage), esc(what))),
    );
    lines.join("\n")
}

pub(super) fn status(s: &StatusFacts<'_>) -> String {
    let h = s.health;
    let lag = match h.last_event_ms {
        Some(t) => format!(
            "{} (last event {} UTC)",
            human_duration(s.now_ms - t),
            format_utc(t)
        ),
        None => "no data yet".to_owned(),
    };
    let outbox = match s.outbox {
        None => "unreadable".to_owned(),
        Some(o) if o.values().all(|n| *n == 0) => "empty".to_owned(),
        Some(o) => o
            .iter()
            .map(|(sink, n)| format!("{} {n}", esc(sink)))
            .collect::<Vec<_>>()
            .join(" · "),
    };
    let dead = s
        .dead_letters
        .map_or("unreadable".to_owned(), |n| n.to_string());
    let uptime = human_duration(s.uptime.as_millis() as TimeMs);
    let mut lines = vec!["<b>liqwave status</b>".to_owned()];
    if let Some(last) = h.last_event_ms.filter(|_| h.is_stale(s.now_ms)) {
        lines.push(format!(
            "⚠️ <b>Feed stale</b>: no market data for {} (since {} UTC); no pair is ready until it returns.",
            human_duration(s.now_ms - last),
            format_utc(last)
        ));
    }
    lines.extend([
        format!(
            "Pairs: <b>{}</b> · ready {} · stale {} · gaps open {}",
            h.pairs, h.pairs_ready, h.pairs_stale, h.gaps_open
        ),
        format!("Data lag: {lag}"),
        format!(
            "Events: {} · source bars {} · gaps {}",
            group(h.events as f64, 0),
            group(h.source_bars as f64, 0),
            h.gaps
        ),
        format!("Outbox: {outbox}"),
        format!("Dead letters: {dead}"),
        format!("Uptime: {uptime}"),
    ]);
    lines.join("\n")
}

pub(super) fn pair(v: &PairView) -> String {
    let as_of = v
        .as_of
        .map_or(String::new(), |t| format!(" · as of {} UTC", format_utc(t)));
    let mut lines = vec![format!(
        "<b>{}</b> · {}{as_of}",
        esc(v.symbol.as_str()),
        v.price.map_or("no price yet".to_owned(), price)
    )];
    if v.stale {
        lines.push(
            "⚠️ <b>Stale</b>: no data since then; price, levels and setup are of that time, not now."
                .to_owned(),
        );
    }
    for tf in &v.timeframes {
        lines.push(match tf.rsi {
            Some(r) => format!(
                "<code>{}</code> {} · RSI {r:.1}",
                tf.interval,
                regime(tf.regime)
            ),
            None => format!("<code>{}</code> warming up ({} bars)", tf.interval, tf.bars),
        });
    }
    let b = &v.bias;
    let higher = b
        .higher
        .map_or(String::new(), |h| format!(", higher {}", regime(h)));
    lines.push(format!(
        "Bias: <b>{}</b> wave on {}{higher}, {} conviction",
        regime(b.wave),
        b.interval,
        conviction(b.conviction)
    ));
    lines.push(format!("Above: {}", level(v.above.as_ref())));
    lines.push(format!("Below: {}", level(v.below.as_ref())));
    lines.extend(v.loading.as_ref().map(loading));
    lines.extend(v.venues.as_ref().map(venues));
    lines.extend(v.realized.iter().map(realized));
    if let Some(e) = &v.exhaustion {
        lines.push(format!(
            "Exhaustion: price {} {:+.1} % in {} while {} liquidations were {}, {:.2}× their typical {}",
            e.direction.as_str(),
            e.move_pct,
            human_duration(e.bars as TimeMs * Interval::H4.duration_ms()),
            e.direction.losing_side().as_str(),
            usd(e.realized_usd),
            e.ratio,
            usd(e.typical_usd)
        ));
    }
    lines.push(format!(
        "Funding: {}",
        v.funding_rate
            .map_or("no data".to_owned(), |r| format!("{:+.4} %", 100.0 * r))
    ));
    lines.push(match &v.setup {
        Some(s) => {
            let t2 = s.t2.map_or(String::new(), |t| format!(" · T2 {}", price(t)));
            let mark = if s.qualifies { " ✅" } else { " (below the minimum)" };
            let funding = if s.funding_confirms {
                "funding confirms"
            } else {
                "funding does not confirm"
            };
            format!(
                "Setup: <b>{}</b> · entry {} · stop {} · T1 {}{t2} · R:R <b>{:.1}</b>{mark} · {funding}",
                s.direction.as_str(),
                price(s.entry),
                price(s.stop),
                price(s.t1),
                s.reward_risk
            )
        }
        None => "Setup: none lining up".to_owned(),
    });
    if !v.ready && !v.stale {
        lines.push("<i>Warming up: the bias timeframe's RSI has not converged yet.</i>".into());
    }
    if v.gap_open {
        lines.push("<i>A gap in the data is open: alerts wait for the back-fill.</i>".into());
    }
    if v.above.is_some() || v.below.is_some() {
        lines.push("<i>Levels are estimates of the heatmap model, not exchange data.</i>".into());
    }
    lines.join("\n")
}

fn level(l: Option<&LevelView>) -> String {
    let Some(l) = l else {
        return "no qualifying cluster".to_owned();
    };
    let side = match l.side {
        Side::Long => "long",
        Side::Short => "short",
    };
    format!(
        "<b>{}</b> {side} liquidations {}–{} · {:.2} % away · ~{} est. · density {:.1}",
        l.label.as_str(),
        price(l.near_edge.min(l.far_edge)),
        price(l.near_edge.max(l.far_edge)),
        l.distance_pct,
        usd(l.notional_usd),
        l.density
    )
}

/// `Cascade loading 2/4: ✓ cluster within 3 % · ✗ funding one-sided · …` (unknowns left out).
fn loading(score: &LoadingScore) -> String {
    let known: Vec<String> = (score.signals.iter())
        .filter(|s| s.reading != Reading::Unknown)
        .map(|s| {
            let mark = if s.reading == Reading::On { YES } else { NO };
            format!("{mark} {}", s.signal.label())
        })
        .collect();
    format!(
        "Cascade loading {}: {}",
        score.ratio(),
        esc(&known.join(" · "))
    )
}

/// `Venues: binance 58 % · bybit 30 % · okx 12 % of the map; aligned: long 97,900–98,200
/// $12.0M (binance, okx)`: the combined map of a market on several venues.
fn venues(v: &VenuesView) -> String {
    let shares: Vec<String> = (v.shares.iter())
        .map(|(venue, share)| format!("{venue} {:.0} %", share * 100.0))
        .collect();
    let aligned: Vec<String> = (v.aligned.iter().take(2))
        .map(|a| {
            let (lo, hi) = (a.near_edge.min(a.far_edge), a.near_edge.max(a.far_edge));
            let venues: Vec<&str> = a.venues.iter().map(|v| v.as_str()).collect();
            let (side, venues) = (a.side.as_str(), venues.join(", "));
            format!(
                "{side} {}–{} {} ({venues})",
                price(lo),
                price(hi),
                usd(a.notional_usd)
            )
        })
        .collect();
    let aligned = match aligned.is_empty() {
        true => "no cluster aligned".to_owned(),
        false => format!("aligned: {}", aligned.join("; ")),
    };
    format!("Venues: {} of the map; {aligned}", shares.join(" · "))
}

/// `Realized: long liquidations $4.2M at 98,400, 3d ago`: real prints, not the model.
fn realized(l: &RealizedLevelView) -> String {
    format!(
        "Realized: {} liquidations {} at {}, {} ago",
        l.side.as_str(),
        usd(l.notional_usd),
        price(l.price),
        human_duration(l.ago_ms)
    )
}

pub(super) fn unknown_pair(symbol: &Symbol) -> String {
    format!(
        "No data for <b>{}</b>: the engine has not seen it. Symbols look like BTCUSDT.",
        esc(symbol.as_str())
    )
}

pub(super) fn setups(market: &MarketView) -> String {
    let ranked = market.setups();
    if ranked.is_empty() {
        return "No setups lining up now.".to_owned();
    }
    let mut lines = vec![format!(
        "<b>Setups lining up</b> ({} of {}, best first)",
        ranked.len().min(TOP_SETUPS),
        ranked.len()
    )];
    for (i, p) in ranked.iter().take(TOP_SETUPS).enumerate() {
        let Some(s) = p.setup else { continue };
        // As the daily summary marks it: a setup short of the minimum is listed, never passed off.
        let mark = if s.qualifies { " ✅" } else { " below min" };
        let funding = if s.funding_confirms {
            " · funding confirms"
        } else {
            ""
        };
        lines.push(format!(
            "{}. <b>{}</b> {} · R:R <b>{:.1}</b>{mark} · entry {} · stop {} · T1 {}{funding}",
            i + 1,
            esc(p.symbol.as_str()),
            s.direction.as_str(),
            s.reward_risk,
            price(s.entry),
            price(s.stop),
            price(s.t1)
        ));
    }
    lines.push("<i>Details: /pair SYMBOL</i>".to_owned());
    lines.join("\n")
}

/// The regime board as a PNG with its caption; `None` when there is no pair to show.
pub(super) fn board(market: &MarketView) -> Option<Result<(Vec<u8>, String), ChartError>> {
    let mut pairs: Vec<&PairView> = market.pairs.iter().collect();
    if pairs.is_empty() {
        return None;
    }
    pairs.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    let total = pairs.len();
    pairs.truncate(MAX_BOARD_ROWS);
    let rows: Vec<BoardRow> = pairs
        .iter()
        .map(|p| BoardRow {
            symbol: p.symbol.to_string(),
            cells: BOARD_COLUMNS
                .iter()
                .map(|(_, i)| match p.timeframe(*i) {
                    Some(tf) => BoardCell {
                        rsi: tf.rsi,
                        regime: tf.regime,
                    },
                    None => BoardCell {
                        rsi: None,
                        regime: Regime::Range,
                    },
                })
                .collect(),
            load: p.loading.as_ref().map(LoadingScore::ratio),
        })
        .collect();
    let data_to = market
        .health
        .last_event_ms
        .map_or("no data".to_owned(), |t| format!("{} UTC", format_utc(t)));
    let title = format!("RSI regime board · {data_to}");
    let footer = format!(
        "{} of {total} pairs by symbol · regime and RSI of the last closed bar",
        rows.len()
    );
    let columns: Vec<&str> = BOARD_COLUMNS.iter().map(|(c, _)| *c).collect();
    let input = BoardInput {
        title: &title,
        columns: &columns,
        rows: &rows,
        footer: &footer,
    };
    let mut caption = format!("<b>RSI regime board</b> · {total} pairs · data to {data_to}");
    if total > rows.len() {
        caption.push_str(&format!(
            "\n<i>Showing the first {} of {total} pairs, by symbol.</i>",
            rows.len()
        ));
    }
    Some(render_board_png(&input).map(|png| (png, caption)))
}

pub(super) fn mutes(mutes: &Mutes, now_ms: TimeMs) -> String {
    let mut live: Vec<_> = mutes.iter().filter(|m| m.until > now_ms).collect();
    if live.is_empty() {
        return "No mutes in force.".to_owned();
    }
    live.sort_by(|a, b| a.symbol.cmp(&b.symbol).then(a.until.cmp(&b.until)));
    let mut lines = vec![format!("<b>Mutes</b> ({})", live.len())];
    for m in live {
        let what = m.kind.map_or("all alerts".to_owned(), |k| esc(k.as_str()));
        lines.push(format!(
            "• <b>{}</b> {what} until {} UTC (in {})",
            esc(m.symbol.as_str()),
            format_utc(m.until),
            human_duration(m.until - now_ms)
        ));
    }
    lines.join("\n")
}

pub(super) fn muted(symbol: &Symbol, for_ms: TimeMs, until: TimeMs, known: bool) -> String {
    let s = esc(symbol.as_str());
    let mut text = format!(
        "🔇 Muted <b>{s}</b> for {}, until {} UTC. /unmute {s} lifts it.",
        human_duration(for_ms),
        format_utc(until)
    );
    if !known {
        text.push_str(&format!(
            "\n<i>No data for {s} yet; the mute applies once it shows up.</i>"
        ));
    }
    text
}

pub(super) fn unmuted(symbol: &Symbol, had: usize) -> String {
    let s = esc(symbol.as_str());
    match had {
        0 => format!("<b>{s}</b> had no mute."),
        _ => format!("🔔 Unmuted <b>{s}</b>."),
    }
}

fn regime(r: Regime) -> &'static str {
    r.as_str()
}

fn conviction(c: Conviction) -> &'static str {
    match c {
        Conviction::Strong => "strong",
        Conviction::Normal => "normal",
        Conviction::Reduced => "reduced",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::entry::EntryDirection;
    use crate::view::SetupView;

    fn pair(symbol: &str, reward_risk: f64, qualifies: bool) -> PairView {
        PairView {
            price: Some(100.0),
            setup: Some(SetupView {
                direction: EntryDirection::Long,
                entry: 100.0,
                stop: 95.0,
                t1: 100.0 + 5.0 * reward_risk,
                t2: None,
                reward_risk,
                qualifies,
                funding_confirms: false,
            }),
            ..PairView::named(symbol.parse().unwrap())
        }
    }

    /// `/status` says a dead feed is dead, with its last data time; a fresh one says nothing.
    /// (minutes since the last data, a line the answer must hold, or must not hold with `!`)
    #[test]
    #[rustfmt::skip]
    fn status_calls_a_dead_feed_stale() {
        let last = 1_742_256_000_000; // 2025-03-18 00:00 UTC
        for (minutes, want) in [
            (1, "!Feed stale"),
            (15, "!Feed stale"),
            (16, "⚠️ <b>Feed stale</b>: no market data for 16m (since 2025-03-18 00:00 UTC)"),
            (180, "no market data for 3h (since 2025-03-18 00:00 UTC); no pair is ready"),
        ] {
            let health = FeedHealth { pairs: 5, pairs_stale: 5, last_event_ms: Some(last), ..FeedHealth::default() };
            let text = status(&StatusFacts {
                health: &health,
                now_ms: last + minutes * 60_000,
                outbox: None,
                dead_letters: None,
                uptime: Duration::from_secs(60),
            });
            match want.strip_prefix('!') {
                Some(absent) => assert!(!text.contains(absent), "{minutes}: {text}"),
                None => assert!(text.contains(want), "{minutes}: {text}"),
            }
            assert!(text.contains("Pairs: <b>5</b> · ready 0 · stale 5"), "{text}");
        }
    }

    /// `/pair` gives the time its price and levels are of, and says when that is stale.
    #[test]
    #[rustfmt::skip]
    fn a_pair_answer_shows_its_as_of_time() {
        let at = Some(1_742_256_300_000); // 2025-03-18 00:05 UTC
        for (as_of, stale, want, unwanted) in [
            (at, false, "<b>BTCUSDT</b> · 100.00 · as of 2025-03-18 00:05 UTC", "Stale"),
            (at, true, "⚠️ <b>Stale</b>: no data since then", "Warming up"),
            (None, false, "<b>BTCUSDT</b> · 100.00\n", "as of"),
        ] {
            let view = PairView { as_of, stale, ready: !stale, ..pair("BTCUSDT", 3.0, true) };
            let text = super::pair(&view);
            assert!(text.contains(want), "{text}");
            assert!(!text.contains(unwanted), "{text}");
        }
    }

    /// `/pair` reads the cascade-loading score: signals on over known, the known ones marked,
    /// unknowns left out; nothing without a score.
    #[test]
    fn a_pair_answer_shows_the_cascade_score() {
        use crate::model::{LoadingSignal, SignalReading};
        let reading = |signal, reading| SignalReading {
            signal,
            reading,
            value: None,
        };
        let score = LoadingScore {
            time_ms: 0,
            signals: vec![
                reading(LoadingSignal::ClusterNear, Reading::On),
                reading(LoadingSignal::OiBuilding, Reading::Unknown),
                reading(LoadingSignal::FundingOneSided, Reading::Off),
            ],
        };
        let with = PairView {
            loading: Some(score),
            ..pair("BTCUSDT", 3.0, true)
        };
        let text = super::pair(&with);
        let want = "Cascade loading 1/2: ✓ cluster within 3 % · ✗ funding one-sided";
        assert!(text.contains(want), "{text}");
        assert!(!super::pair(&pair("BTCUSDT", 3.0, true)).contains("Cascade"));
    }

    /// `/pair` of a market on several venues gives each venue's share of the combined map and
    /// the aligned clusters, nearest first.
    #[test]
    fn a_pair_answer_shows_the_venues() {
        use crate::model::Venue::{Binance, Bybit, Okx};
        use crate::view::AlignedView;
        let aligned = AlignedView {
            side: Side::Long,
            near_edge: 98_200.0,
            far_edge: 97_900.0,
            notional_usd: 12e6,
            venues: vec![Binance, Okx],
        };
        let shares = vec![(Binance, 0.58), (Bybit, 0.3), (Okx, 0.12)];
        let venues = VenuesView {
            shares,
            aligned: vec![aligned],
        };
        let with = PairView {
            venues: Some(venues),
            ..pair("BTCUSDT", 3.0, true)
        };
        let text = super::pair(&with);
        let want = "Venues: binance 58 % · bybit 30 % · okx 12 % of the map; aligned: long 97,900–98,200 $12.0M (binance, okx)";
        assert!(text.contains(want), "{text}");
        assert!(!super::pair(&pair("BTCUSDT", 3.0, true)).contains("Venues"));
    }

    /// `/pair` names the prices of large real liquidations and an exhaustion reading, one line
    /// each, and says nothing of them when there are none.
    /// (levels as (side, price, $, days ago), an exhaustion (move %, $, typical $), a line or `!` absent)
    #[test]
    #[rustfmt::skip]
    fn a_pair_answer_shows_realized_levels_and_exhaustion() {
        use crate::analytics::realized::{Exhaustion, PriceMove};
        const DAY: TimeMs = 86_400_000;
        type Levels = &'static [(Side, f64, f64, i64)];
        type Reading = Option<(f64, f64, f64)>;
        let cases: [(Levels, Reading, &str); 5] = [
            (&[], None, "!Realized"),
            (&[], None, "!Exhaustion"),
            (&[(Side::Long, 98_400.0, 4.2e6, 3)], None, "\nRealized: long liquidations $4.2M at 98,400, 3d ago\n"),
            (&[(Side::Short, 2.5, 1.5e5, 0), (Side::Long, 2.0, 9e4, 12)], None, "Realized: short liquidations $150k at 2.5000, 0s ago\nRealized: long liquidations $90.0k at 2.0000, 12d ago"),
            (&[], Some((-4.04, 2e5, 1.1e6)), "\nExhaustion: price falling -4.0 % in 1d while long liquidations were $200k, 0.18× their typical $1.1M\n"),
        ];
        for (levels, exhaustion, want) in cases {
            let view = PairView {
                realized: levels.iter().map(|&(side, price, notional_usd, days)| RealizedLevelView { side, price, notional_usd, ago_ms: days * DAY }).collect(),
                exhaustion: exhaustion.map(|(move_pct, realized_usd, typical_usd)| Exhaustion {
                    direction: PriceMove::Falling, bars: 6, move_pct, realized_usd, typical_usd, ratio: realized_usd / typical_usd,
                }),
                ..pair("BTCUSDT", 3.0, true)
            };
            let text = super::pair(&view);
            match want.strip_prefix('!') {
                Some(absent) => assert!(!text.contains(absent), "{text}"),
                None => assert!(text.contains(want), "{want}\n---\n{text}"),
            }
        }
    }

    /// `/setups` marks a reward:risk below the minimum as the summary does. (R:R, qualifies, the
    /// mark after `R:R <b>…</b>`.)
    #[test]
    #[rustfmt::skip]
    fn setups_below_the_minimum_are_marked() {
        for (rr, qualifies, want) in [
            (3.2, true, "R:R <b>3.2</b> ✅ · entry"),
            (2.0, true, "R:R <b>2.0</b> ✅ · entry"),
            (0.8, false, "R:R <b>0.8</b> below min · entry"),
            (0.2, false, "R:R <b>0.2</b> below min · entry"),
        ] {
            let market = MarketView { pairs: vec![pair("BTCUSDT", rr, qualifies)], ..MarketView::default() };
            let text = setups(&market);
            assert!(text.contains(want), "{rr}: {text}");
        }
    }
}
