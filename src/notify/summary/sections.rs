//! What the daily summary says, in order: the headline, the regime changes and alerts of the last
//! 24 h, feed health, and (from `market`) setups, fuel, funding and the board. Pure: reads the
//! report and formats numbers and times; never escapes or lays out (that is `layout`).

use std::collections::BTreeMap;

use super::InlineImage;
use super::doc::{
    CONTENT_WIDTH, Clock, Doc, ImageRef, Line, STALE_MARK, Section, Table, Tone, WARMING_MARK, age,
    cell, col, count, strip_subject, toned, utc,
};
use super::{loaded, market};
use crate::model::{AlertBrief, AlertKind, MINUTE_MS};
use crate::numbers::group;
use crate::view::{FRESH_WITHIN_MS, SummaryReport};

/// Pairs named in a sentence at most; the rest are counted.
const NAMED: usize = 12;

/// `[liqwave] Daily regime summary 2025-06-11: 2 setups, 3 regime changes, 5/7 pairs ready`;
/// a dead feed leads: `[liqwave] FEED STALE since 2025-06-11 09:10 UTC · Daily regime summary …`.
pub(super) fn subject(report: &SummaryReport) -> String {
    let h = &report.market.health;
    let setups = market::qualifying(report);
    let stale = match h.last_event_ms {
        Some(last) if h.is_stale(report.generated_ms) => {
            format!("FEED STALE since {} · ", utc(last))
        }
        _ => String::new(),
    };
    format!(
        "[liqwave] {stale}Daily regime summary {}: {}, {}, {}/{} pairs ready",
        report.day,
        count(setups, "setup", "setups"),
        count(report.transitions.len(), "regime change", "regime changes"),
        h.pairs_ready,
        h.pairs
    )
}

/// The document: every section in order, the images placed where they belong.
pub(super) fn build(
    report: &SummaryReport,
    boards: &[InlineImage],
    board_notes: Vec<String>,
    charts: &[InlineImage],
    chart_notes: Vec<String>,
) -> Doc {
    let clock = Clock::new(&report.tz);
    let mut setups = market::setups(report);
    setups.images = charts.iter().map(|i| image_ref(i, true)).collect();
    setups.notes.extend(chart_notes.into_iter().map(Line::warn));
    let mut board = market::board(report, boards.is_empty());
    board.images = boards.iter().map(|i| image_ref(i, false)).collect();
    board.notes.extend(board_notes.into_iter().map(Line::warn));
    Doc {
        title: format!("Daily regime summary · {}", report.day),
        lead: headline(report, &clock),
        sections: vec![
            transitions(report, &clock),
            setups,
            market::fuel(report),
            market::funding(report),
            loaded::loaded(report),
            alerts(report, &clock),
            health(report, &clock),
            board,
        ],
        footer: format!(
            "liqwave daily summary of {} · covers {} to {}",
            report.day,
            clock.full(report.since_ms),
            clock.full(report.generated_ms)
        ),
    }
}

/// The first [`NAMED`] of `names`, and how many more: `A, B, C and 4 more`.
fn named(names: &[String]) -> String {
    let shown = names[..names.len().min(NAMED)].join(", ");
    match names.len().saturating_sub(NAMED) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

fn image_ref(image: &InlineImage, captioned: bool) -> ImageRef {
    ImageRef {
        content_id: image.content_id.clone(),
        alt: image.alt.clone(),
        width: image.width.min(CONTENT_WIDTH),
        caption: captioned.then(|| image.alt.clone()),
    }
}

fn headline(report: &SummaryReport, clock: &Clock) -> Vec<Line> {
    let h = &report.market.health;
    let data = h.last_event_ms.map_or("no data yet".to_owned(), |t| {
        format!("data as of {}", clock.full(t))
    });
    let mut lead = vec![Line::plain(format!(
        "{} of {} ready · {data} · times in {}",
        h.pairs_ready,
        count(h.pairs, "pair", "pairs"),
        report.tz
    ))];
    if !clock.known() {
        lead.push(Line::warn(format!(
            "Unknown time zone {:?}: times are shown in UTC.",
            report.tz
        )));
    }
    let qualifying = market::qualifying(report);
    let below = market::ranked(report) - qualifying;
    lead.push(Line::plain(format!(
        "Last 24 h: {} and {}. Setups lining up: {qualifying} at or above the minimum \
         reward:risk, {below} below it.",
        count(report.transitions.len(), "regime change", "regime changes"),
        count(report.alerts_total, "other alert", "other alerts"),
    )));
    if let Some(last) = h.last_event_ms
        && h.is_stale(report.generated_ms)
    {
        lead.push(Line::warn(format!(
            "Feed stale: the newest data is {} older than this report (last at {}); no pair \
             counts as ready and every value below is of that time. Check the feeds.",
            age(report.generated_ms - last),
            clock.full(last)
        )));
    }
    let gaps: Vec<String> = (report.market.pairs.iter())
        .filter(|p| p.gap_open)
        .map(|p| p.symbol.to_string())
        .collect();
    if !gaps.is_empty() {
        lead.push(Line::warn(format!(
            "Waiting for a back-fill of missing bars, their alerts held: {}.",
            named(&gaps)
        )));
    }
    let stale: Vec<String> = (report.market.pairs.iter())
        .filter(|p| p.stale)
        .map(|p| match p.as_of {
            Some(t) => format!("{} {}", p.symbol, clock.full(t)),
            None => p.symbol.to_string(),
        })
        .collect();
    if !stale.is_empty() {
        lead.push(Line::warn(format!(
            "{} marks {} whose data stopped, not ready; their values are of their last data: {}.",
            STALE_MARK.trim(),
            count(stale.len(), "pair", "pairs"),
            named(&stale)
        )));
    }
    let warming = (report.market.pairs.iter())
        .filter(|p| !p.ready && !p.stale)
        .count();
    if warming > 0 {
        lead.push(Line::muted(format!(
            "{} marks {} still warming up: fewer bars than a trusted regime needs, so their \
             values are shown but not yet trusted.",
            WARMING_MARK.trim(),
            count(warming, "pair", "pairs")
        )));
    }
    lead.push(Line::muted(
        "Liquidation clusters, targets (T1) and notionals are estimates from a model of open \
         interest, volume and leverage, not an order book.",
    ));
    lead
}

fn transitions(report: &SummaryReport, clock: &Clock) -> Section {
    let mut s = Section::new("Regime changes · last 24 h");
    if report.transitions.is_empty() {
        s.lead
            .push(Line::plain("No regime changed in the last 24 h."));
        return s;
    }
    s.lead.push(Line::plain("Newest first."));
    s.table = Some(Table {
        head: vec![col("time"), col("pair"), col("tf"), col("change")],
        rows: report
            .transitions
            .iter()
            .map(|a| {
                let (tf, what) = subject_parts(a);
                vec![
                    cell(clock.short(a.time_ms)),
                    cell(a.symbol.as_str()),
                    cell(tf),
                    toned(what, change_tone(&a.title)),
                ]
            })
            .collect(),
        in_html: true,
    });
    s
}

/// Bull green, bear red, by the regime after the last arrow of a regime-change title.
fn change_tone(title: &str) -> Tone {
    let to = title.rsplit('→').next().unwrap_or("").trim_start();
    if title.contains('→') && to.starts_with("bull") {
        Tone::Up
    } else if title.contains('→') && to.starts_with("bear") {
        Tone::Down
    } else {
        Tone::Plain
    }
}

fn subject_parts(a: &AlertBrief) -> (String, String) {
    let tf = a.interval.map(|i| i.as_str());
    let what = strip_subject(&a.title, a.symbol.as_str(), tf).to_owned();
    (tf.unwrap_or("–").to_owned(), what)
}

fn alerts(report: &SummaryReport, clock: &Clock) -> Section {
    let mut s = Section::new("Alerts · last 24 h");
    let mut by_kind: BTreeMap<AlertKind, usize> = BTreeMap::new();
    for a in report.transitions.iter().chain(&report.alerts) {
        *by_kind.entry(a.kind).or_default() += 1;
    }
    let total = report.transitions.len() + report.alerts_total.max(report.alerts.len());
    if total == 0 {
        s.lead.push(Line::plain("No alerts in the last 24 h."));
        return s;
    }
    let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let listed = report.transitions.len() + report.alerts.len();
    let head = if listed < total {
        format!(
            "{}; of the {listed} listed",
            count(total, "alert", "alerts")
        )
    } else {
        count(total, "alert", "alerts")
    };
    s.lead
        .push(Line::plain(format!("{head}: {}.", kinds.join(", "))));
    if listed < total {
        s.notes.push(Line::muted(format!(
            "Only the newest {} of {} alerts besides the regime changes are listed.",
            report.alerts.len(),
            report.alerts_total
        )));
    }
    if report.alerts.is_empty() {
        return s;
    }
    s.table = Some(Table {
        head: vec![
            col("time"),
            col("kind"),
            col("pair"),
            col("tf"),
            col("alert"),
        ],
        rows: report
            .alerts
            .iter()
            .map(|a| {
                let (tf, what) = subject_parts(a);
                vec![
                    cell(clock.short(a.time_ms)),
                    cell(a.kind.as_str()),
                    cell(a.symbol.as_str()),
                    cell(tf),
                    cell(what),
                ]
            })
            .collect(),
        in_html: true,
    });
    s
}

fn health(report: &SummaryReport, clock: &Clock) -> Section {
    let h = &report.market.health;
    let mut s = Section::new("Feed health");
    let flag = |n: usize| if n > 0 { Tone::Warn } else { Tone::Plain };
    let newest = match h.last_event_ms {
        Some(t) => {
            let behind = report.generated_ms - t;
            let tone = if h.is_stale(report.generated_ms) {
                Tone::Warn
            } else {
                Tone::Plain
            };
            let lag = if behind < MINUTE_MS {
                "at the report time".to_owned()
            } else {
                format!("{} before the report", age(behind))
            };
            toned(format!("{} ({lag})", clock.full(t)), tone)
        }
        None => toned("none yet", Tone::Warn),
    };
    let stale_label = format!("stale (no data for {} min)", FRESH_WITHIN_MS / MINUTE_MS);
    let rows = vec![
        ("pairs tracked", cell(group(h.pairs as f64, 0))),
        (
            "ready (warmed, data fresh)",
            cell(group(h.pairs_ready as f64, 0)),
        ),
        (
            stale_label.as_str(),
            toned(group(h.pairs_stale as f64, 0), flag(h.pairs_stale)),
        ),
        (
            "waiting for a back-fill",
            toned(group(h.gaps_open as f64, 0), flag(h.gaps_open)),
        ),
        ("events processed", cell(group(h.events as f64, 0))),
        ("source bars", cell(group(h.source_bars as f64, 0))),
        ("gaps seen", cell(group(h.gaps as f64, 0))),
        ("newest data", newest),
    ];
    s.table = Some(Table {
        head: vec![col("measure"), col("value")],
        rows: rows.into_iter().map(|(k, v)| vec![cell(k), v]).collect(),
        in_html: true,
    });
    s
}
