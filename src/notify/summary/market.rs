//! The summary's sections about the market now: the top setups ranked (and their charts), the
//! nearest fuel cluster of every pair in a wave, funding past the configured thresholds, and the
//! regime board as text.
//! Pure: ranks with `MarketView::setups`, formats with `numbers`; never escapes or lays out.

use super::InlineImage;
use super::board::{COLUMNS, cell as board_cell, row as board_row};
use super::doc::{CONTENT_WIDTH, Cell, Line, Section, Table, Tone, cell, col, count, num, toned};
use crate::analytics::entry::EntryDirection;
use crate::analytics::regime::Regime;
use crate::model::Side;
use crate::numbers::{price, usd};
use crate::rules::{Bias, Conviction, Crowding};
use crate::view::{LevelView, PairView, SetupView, SummaryReport};

/// Setups listed at most; the rest are counted.
const SETUP_ROWS: usize = 10;
/// Pairs in the fuel table at most, nearest first; the rest are counted.
const FUEL_ROWS: usize = 40;
/// Pairs named as having no fuel at most.
const NO_FUEL_NAMES: usize = 12;
/// Highest and lowest funding rates shown, each.
const FUNDING_ROWS: usize = 5;

/// Setups whose reward:risk reaches the configured minimum.
pub(super) fn qualifying(report: &SummaryReport) -> usize {
    let setups = report.market.setups();
    setups
        .iter()
        .filter(|p| p.setup.is_some_and(|s| s.qualifies))
        .count()
}

/// Every ranked setup, qualifying or not.
pub(super) fn ranked(report: &SummaryReport) -> usize {
    report.market.setups().len()
}

pub(super) fn setups(report: &SummaryReport) -> Section {
    let mut s = Section::new("Top setups lining up");
    let ranked = report.market.setups();
    if ranked.is_empty() {
        s.lead.push(Line::plain(
            "No setup lines up: no ready pair in a wave has a fuel cluster ahead and a 4h swing \
             for a stop.",
        ));
        return s;
    }
    s.lead.push(Line::plain(
        "Those reaching the minimum reward:risk first, then by reward:risk. Entry is the current \
         price: the plan if the 4h trigger turns here. Stop at the last confirmed 4h swing; T1 \
         is the far edge of the fuel cluster ahead (estimated).",
    ));
    let rows = ranked
        .iter()
        .take(SETUP_ROWS)
        .enumerate()
        .filter_map(|(i, p)| Some(setup_row(i + 1, p, p.setup?)))
        .collect();
    s.table = Some(Table {
        head: vec![
            num("#"),
            col("pair"),
            col("setup"),
            col("wave"),
            num("entry"),
            num("stop"),
            num("T1 (est.)"),
            num("R:R"),
            col("funding"),
        ],
        rows,
        in_html: true,
    });
    if ranked.len() > SETUP_ROWS {
        s.notes.push(Line::muted(format!(
            "And {} more with a smaller reward:risk.",
            ranked.len() - SETUP_ROWS
        )));
    }
    s
}

fn setup_row(rank: usize, p: &PairView, s: SetupView) -> Vec<Cell> {
    let (name, tone) = match s.direction {
        EntryDirection::Long => ("Setup B long", Tone::Up),
        EntryDirection::Short => ("Setup A short", Tone::Down),
    };
    let rr = if s.qualifies {
        toned(format!("{:.1}", s.reward_risk), Tone::Strong)
    } else {
        toned(format!("{:.1} below min", s.reward_risk), Tone::Muted)
    };
    let funding = if s.funding_confirms {
        toned("confirms", Tone::Up)
    } else {
        toned("no", Tone::Muted)
    };
    vec![
        cell(rank.to_string()),
        cell(p.symbol.as_str()),
        toned(name, tone),
        wave(&p.bias),
        cell(price(s.entry)),
        cell(price(s.stop)),
        cell(price(s.t1)),
        rr,
        funding,
    ]
}

/// `bull · strong`, coloured by the wave.
fn wave(b: &Bias) -> Cell {
    let conviction = match b.conviction {
        Conviction::Strong => " · strong",
        Conviction::Reduced => " · reduced",
        Conviction::Normal => "",
    };
    toned(
        format!("{}{conviction}", b.wave.as_str()),
        regime_tone(b.wave),
    )
}

fn regime_tone(r: Regime) -> Tone {
    match r {
        Regime::Bull => Tone::Up,
        Regime::Bear => Tone::Down,
        Regime::Range => Tone::Muted,
    }
}

fn name(p: &PairView) -> String {
    board_row(p).symbol
}

pub(super) fn fuel(report: &SummaryReport) -> Section {
    let mut s = Section::new("Nearest fuel per pair in a wave");
    let in_wave: Vec<&PairView> = report
        .market
        .pairs
        .iter()
        .filter(|p| p.bias.wave != Regime::Range)
        .collect();
    if in_wave.is_empty() {
        s.lead.push(Line::plain(
            "No pair is in a wave: every bias regime is a range.",
        ));
        return s;
    }
    s.lead.push(Line::plain(
        "The nearest qualifying liquidation cluster on the wave's side (short liquidations above \
         price in a bull wave, long liquidations below in a bear wave), nearest first. Estimated \
         from the model, not an order book.",
    ));
    let mut fueled: Vec<(&PairView, &LevelView)> = in_wave
        .iter()
        .filter_map(|p| Some((*p, p.fuel()?)))
        .collect();
    fueled.sort_by(|a, b| {
        a.1.distance_pct
            .total_cmp(&b.1.distance_pct)
            .then_with(|| a.0.symbol.cmp(&b.0.symbol))
    });
    if !fueled.is_empty() {
        s.table = Some(Table {
            head: vec![
                col("pair"),
                col("wave"),
                col("fuel"),
                num("zone"),
                num("distance"),
                num("density"),
                num("notional (est.)"),
            ],
            rows: fueled
                .iter()
                .take(FUEL_ROWS)
                .map(|(p, l)| fuel_row(p, l))
                .collect(),
            in_html: true,
        });
    }
    if fueled.len() > FUEL_ROWS {
        s.notes.push(Line::muted(format!(
            "And {} more pairs with fuel further away.",
            fueled.len() - FUEL_ROWS
        )));
    }
    let dry: Vec<String> = in_wave
        .iter()
        .filter(|p| p.fuel().is_none())
        .map(|p| name(p))
        .collect();
    if !dry.is_empty() {
        let more = dry.len().saturating_sub(NO_FUEL_NAMES);
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        s.notes.push(Line::muted(format!(
            "In a wave without a qualifying fuel cluster: {}{tail}.",
            dry[..dry.len().min(NO_FUEL_NAMES)].join(", ")
        )));
    }
    s
}

fn fuel_row(p: &PairView, l: &LevelView) -> Vec<Cell> {
    let side = match l.side {
        Side::Short => "shorts above",
        Side::Long => "longs below",
    };
    let (lo, hi) = (l.near_edge.min(l.far_edge), l.near_edge.max(l.far_edge));
    vec![
        cell(name(p)),
        wave(&p.bias),
        cell(side),
        cell(format!("{}–{}", price(lo), price(hi))),
        cell(format!("{:.2} %", l.distance_pct)),
        cell(format!("{:.1}", l.density)),
        cell(usd(l.notional_usd)),
    ]
}

/// The pairs whose funding is past the `[rules.funding]` thresholds: crowded longs highest
/// first, then crowded shorts. A rate within the thresholds is neutral, however far from zero,
/// and is only counted: calling it "loaded" would contradict the rules that judge setups.
pub(super) fn funding(report: &SummaryReport) -> Section {
    let mut s = Section::new("Funding extremes");
    let mut rated: Vec<(&PairView, f64, Crowding)> = report
        .market
        .pairs
        .iter()
        .filter_map(|p| Some((p, p.funding_rate.filter(|r| r.is_finite())?, p.crowding()?)))
        .collect();
    if rated.is_empty() {
        s.lead.push(Line::plain("No funding rates yet."));
        return s;
    }
    rated.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| a.0.symbol.cmp(&b.0.symbol))
    });
    let high = rated
        .iter()
        .filter(|r| r.2 == Crowding::Longs)
        .take(FUNDING_ROWS);
    let low: Vec<_> = rated
        .iter()
        .rev()
        .filter(|r| r.2 == Crowding::Shorts)
        .take(FUNDING_ROWS)
        .collect();
    let rows: Vec<_> = high
        .chain(low.into_iter().rev())
        .map(|(p, r, c)| funding_row(p, *r, *c))
        .collect();
    let neutral = rated.iter().filter(|r| r.2 == Crowding::Neutral).count();
    s.lead.push(Line::plain(
        "Rate per funding interval, highest first, where it passes the [rules.funding] \
         thresholds. Crowded longs pay shorts, so long liquidations below price are loaded \
         (backs a bear wave); crowded shorts pay longs, so short liquidations above are loaded \
         (backs a bull wave).",
    ));
    if rows.is_empty() {
        s.lead.push(Line::plain(
            "No rate passes the thresholds: funding is neutral on every pair.",
        ));
        return s;
    }
    s.table = Some(Table {
        head: vec![col("pair"), num("funding"), col("crowded"), col("wave")],
        rows,
        in_html: true,
    });
    if neutral > 0 {
        s.notes.push(Line::muted(format!(
            "{} with a neutral rate, within the thresholds, not listed.",
            count(neutral, "pair", "pairs")
        )));
    }
    s
}

fn funding_row(p: &PairView, rate: f64, crowding: Crowding) -> Vec<Cell> {
    let crowded = match crowding {
        Crowding::Longs => "longs",
        Crowding::Shorts => "shorts",
        Crowding::Neutral => "neither",
    };
    vec![
        cell(name(p)),
        cell(format!("{:+.4} %", 100.0 * rate)),
        cell(crowded),
        wave(&p.bias),
    ]
}

/// The board section; its table is for the text part unless no board image could be drawn.
pub(super) fn board(report: &SummaryReport, table_in_html: bool) -> Section {
    let mut s = Section::new("Regime board");
    if report.market.pairs.is_empty() {
        s.lead.push(Line::plain("No pairs yet."));
        return s;
    }
    s.lead.push(Line::plain(
        "Every pair's RSI(14) and regime on the last closed 1w, 1d and 4h bar: bull green, bear \
         red, range grey; the deeper the colour, the further RSI is from 50.",
    ));
    let rows = report
        .market
        .pairs
        .iter()
        .map(|p| {
            let mut row = vec![cell(name(p))];
            row.extend(COLUMNS.iter().map(|&i| {
                let c = board_cell(p, i);
                let text = c.rsi.map_or("–".to_owned(), |v| {
                    format!("{} {v:.1}", c.regime.as_str())
                });
                toned(
                    text,
                    if c.rsi.is_some() {
                        regime_tone(c.regime)
                    } else {
                        Tone::Muted
                    },
                )
            }));
            row
        })
        .collect();
    s.table = Some(Table {
        head: vec![col("pair"), num("1w"), num("1d"), num("4h")],
        rows,
        in_html: table_in_html,
    });
    s
}

/// The setup charts the report carries, best first: `setup-N` for the pair ranked N, `chart-N`
/// for a chart of a pair no longer ranked. A chart that cannot be drawn becomes a note.
pub(super) fn chart_images(report: &SummaryReport) -> (Vec<InlineImage>, Vec<String>) {
    let ranked = report.market.setups();
    let mut images = Vec::new();
    let mut notes = Vec::new();
    for (i, chart) in report.charts.iter().enumerate() {
        let rank = ranked
            .iter()
            .position(|p| p.symbol.as_str() == chart.symbol);
        let (id, label) = match rank {
            Some(r) => (
                format!("setup-{}", r + 1),
                format!("#{} {}", r + 1, chart.symbol),
            ),
            None => (format!("chart-{}", i + 1), chart.symbol.clone()),
        };
        match chart.render() {
            Ok(png) => images.push(InlineImage {
                file_name: format!("{id}.png"),
                content_id: id,
                alt: format!(
                    "{label} {}: candles over the estimated liquidation heatmap, clusters and \
                     RSI regime",
                    chart.interval_label
                ),
                width: CONTENT_WIDTH,
                png,
            }),
            Err(error) => notes.push(format!("The chart of {label} could not be drawn: {error}.")),
        }
    }
    (images, notes)
}
