//! `outcome-rates.png`: for each scored kind (setups, then each cluster kind and label) one
//! horizontal stacked bar per period, headline outcome first (target first for setups, swept for
//! levels) with its Wilson interval as a whisker and its baseline's rate as a marker. Draws the
//! report's rates; never counts an outcome.

use std::collections::BTreeSet;

use plotters::style::RGBAColor;

use super::super::track::{pct_ci, target_first};
use super::super::{LevelSummary, PeriodReport, Rate, Report, SetupSummary};
use super::{AXIS_H, FOOTER_H, HEIGHT, MARGIN, TITLE_H, WIDTH, footer, period_color, title};
use crate::model::{AlertKind, ClusterLabel, DAY_MS, HOUR_MS};
use crate::notify::chart::canvas::{Align, Canvas, rgb, rgba};
use crate::notify::chart::{BACKGROUND, ChartError, DOWN, GRID, MUTED, TEXT, UP};

/// Columns, left to right: kind, period, n, the bars, the headline rate against its baseline.
const PERIOD_X: i32 = 190;
const BAR_LEFT: i32 = 360;
const BAR_RIGHT: i32 = 1040;
const VALUE_X: i32 = 1054;
/// Space between two kinds, and the tallest a period's row may grow.
const GROUP_GAP: i32 = 16;
const MAX_ROW_H: i32 = 56;

/// A second target after the first: a lighter shade of the first's green.
const T2: RGBAColor = rgb(120, 212, 200);
/// Neither way within the horizon.
const NEUTRAL: RGBAColor = rgb(84, 92, 104);
/// The baseline marker: the heat map's hottest yellow, unlike any bar colour.
const BASELINE: RGBAColor = rgb(252, 240, 120);

/// One period's bar of one kind.
struct Bar<'a> {
    period: &'a str,
    color: RGBAColor,
    n: usize,
    /// (share, fill) left to right, the headline outcome first.
    parts: Vec<(f64, RGBAColor)>,
    headline: Rate,
    /// The matching baseline's rate of the headline outcome, when it has samples.
    baseline: Option<Rate>,
}

/// One kind (and label): a bar per period.
struct Group<'a> {
    name: String,
    bars: Vec<Bar<'a>>,
}

pub(super) fn draw(c: &Canvas<'_>, report: &Report) -> Result<(), ChartError> {
    let h = &report.options.horizons;
    let subtitle = format!(
        "share of scored alerts · setups followed {} days, cluster approaches and edges {} h",
        h.trade_ms / DAY_MS,
        h.level_ms / HOUR_MS
    );
    title(c, "Outcome rates", &subtitle)?;
    legend(c, TITLE_H + 10)?;
    let (top, floor) = (TITLE_H + 56, HEIGHT as i32 - FOOTER_H - AXIS_H);
    let groups = groups(report);
    let rows: i32 = groups.iter().map(|g| g.bars.len() as i32).sum();
    if rows == 0 {
        draw_axis(c, top, floor)?;
        let mid = ((BAR_LEFT + BAR_RIGHT) / 2, (top + floor) / 2);
        c.text("no periods in this report", mid, 18.0, MUTED, Align::Center)?;
    } else {
        // Rows share the height up to a comfortable size; the axis follows the last one.
        let gaps = GROUP_GAP * (groups.len() as i32 - 1);
        let row_h = ((floor - top - gaps) / rows).min(MAX_ROW_H);
        draw_axis(c, top, top + rows * row_h + gaps)?;
        draw_groups(c, &groups, top, row_h)?;
    }
    footer(
        c,
        "whisker: Wilson 95 % interval of the headline share · marker: the bare 4h trigger's \
         target-first share (setups), plain levels of the same size swept (clusters)",
    )
}

fn groups(report: &Report) -> Vec<Group<'_>> {
    let periods = || report.summary.periods.iter().enumerate();
    let mut groups = vec![Group {
        name: "setups".to_owned(),
        bars: periods().map(|(i, p)| setup_bar(i, p, &p.setups)).collect(),
    }];
    let keys: BTreeSet<(AlertKind, ClusterLabel)> = (report.summary.periods.iter())
        .flat_map(|p| p.levels.iter().map(|l| (l.kind, l.label)))
        .collect();
    for (kind, label) in keys {
        let bars = periods().map(|(i, p)| {
            let level = p.levels.iter().find(|l| (l.kind, l.label) == (kind, label));
            level_bar(i, p, level)
        });
        groups.push(Group {
            name: level_name(kind, label),
            bars: bars.collect(),
        });
    }
    groups
}

fn level_name(kind: AlertKind, label: ClusterLabel) -> String {
    match kind {
        AlertKind::ClusterApproach => format!("{} approaches", label.as_str()),
        AlertKind::ClusterEdge => format!("{} edges", label.as_str()),
        _ => format!("{kind} {}", label.as_str()),
    }
}

fn setup_bar<'a>(i: usize, p: &'a PeriodReport, s: &SetupSummary) -> Bar<'a> {
    let share = |k: &str| s.outcomes.get(k).map_or(0.0, |r| r.rate);
    let b = &s.trigger_only;
    Bar {
        period: &p.name,
        color: period_color(i),
        n: s.n,
        parts: vec![
            (share("t1"), UP),
            (share("t2"), T2),
            (share("timeout"), NEUTRAL),
            (share("stop"), DOWN),
        ],
        headline: target_first(s),
        baseline: (b.n > 0).then_some(b.t1_rate),
    }
}

fn level_bar<'a>(i: usize, p: &'a PeriodReport, level: Option<&LevelSummary>) -> Bar<'a> {
    let mut bar = Bar {
        period: &p.name,
        color: period_color(i),
        n: 0,
        parts: Vec::new(),
        headline: Rate::of(0, 0),
        baseline: None,
    };
    if let Some(l) = level {
        bar.n = l.n;
        bar.parts = vec![
            (l.swept.rate, UP),
            (l.neither.rate, NEUTRAL),
            (l.rejected.rate, DOWN),
        ];
        bar.headline = l.swept;
        bar.baseline = (l.random_bands.n > 0).then_some(l.random_bands.swept);
    }
    bar
}

/// Pixel column of a share in 0..=1.
fn x(share: f64) -> i32 {
    let f = share.clamp(0.0, 1.0);
    BAR_LEFT + (f * f64::from(BAR_RIGHT - BAR_LEFT)).round() as i32
}

/// Swatches for the outcomes, the whisker and the marker, in one row under the title.
fn legend(c: &Canvas<'_>, y: i32) -> Result<(), ChartError> {
    let mut at = MARGIN;
    for (color, name) in [
        (UP, "target first (T1) · swept"),
        (T2, "T2 after T1"),
        (NEUTRAL, "timeout · neither"),
        (DOWN, "stop · rejected"),
    ] {
        c.fill((at, y - 6), (at + 14, y + 6), color)?;
        c.text(name, (at + 20, y), 12.0, TEXT, Align::Left)?;
        at += 20 + c.text_width(name, 12.0) + 18;
    }
    at += 12;
    whisker(c, (at, at + 24), y, 5)?;
    c.text("95 % interval", (at + 32, y), 12.0, TEXT, Align::Left)?;
    at += 32 + c.text_width("95 % interval", 12.0) + 22;
    marker(c, at + 4, y, 8)?;
    let name = "baseline: bare 4h trigger · plain levels";
    c.text(name, (at + 16, y), 12.0, TEXT, Align::Left)
}

/// Column headings, vertical grid lines every 10 % and their labels under the bars.
fn draw_axis(c: &Canvas<'_>, top: i32, bottom: i32) -> Result<(), ChartError> {
    let head = top - 14;
    c.text("kind", (MARGIN, head), 11.0, MUTED, Align::Left)?;
    c.text("period", (PERIOD_X, head), 11.0, MUTED, Align::Left)?;
    c.text("scored", (BAR_LEFT - 12, head), 11.0, MUTED, Align::Right)?;
    let value_head = "headline [95 %] vs baseline";
    c.text(value_head, (VALUE_X, head), 11.0, MUTED, Align::Left)?;
    for k in 0..=10 {
        let at = x(f64::from(k) / 10.0);
        let color = if k % 5 == 0 {
            rgba(255, 255, 255, 0.16)
        } else {
            GRID
        };
        c.fill((at, top), (at, bottom), color)?;
        let label = format!("{} %", k * 10);
        c.text(&label, (at, bottom + 11), 11.0, MUTED, Align::Center)?;
    }
    Ok(())
}

fn draw_groups(
    c: &Canvas<'_>,
    groups: &[Group<'_>],
    top: i32,
    row_h: i32,
) -> Result<(), ChartError> {
    let mut y = top;
    for (g, group) in groups.iter().enumerate() {
        if g > 0 {
            let line = y - GROUP_GAP / 2;
            c.fill((MARGIN, line), (WIDTH as i32 - MARGIN, line), GRID)?;
        }
        let mid = y + row_h * group.bars.len() as i32 / 2;
        c.text(&group.name, (MARGIN, mid), 14.0, TEXT, Align::Left)?;
        for bar in &group.bars {
            draw_bar(c, bar, y + row_h / 2, (row_h * 3 / 5).max(6))?;
            y += row_h;
        }
        y += GROUP_GAP;
    }
    Ok(())
}

/// One row: period and n, the stacked shares, whisker and marker, and the headline in words.
fn draw_bar(c: &Canvas<'_>, bar: &Bar<'_>, mid: i32, thick: i32) -> Result<(), ChartError> {
    c.text(bar.period, (PERIOD_X, mid), 12.0, bar.color, Align::Left)?;
    let n = format!("n {}", crate::numbers::group(bar.n as f64, 0));
    c.text(&n, (BAR_LEFT - 12, mid), 12.0, MUTED, Align::Right)?;
    let half = thick / 2;
    c.fill(
        (BAR_LEFT, mid - half),
        (BAR_RIGHT, mid + half),
        rgba(255, 255, 255, 0.04),
    )?;
    if bar.n == 0 {
        c.text("none scored", (BAR_LEFT + 8, mid), 12.0, MUTED, Align::Left)?;
    } else {
        let (lo, hi) = (x(bar.headline.ci95.0), x(bar.headline.ci95.1));
        draw_parts(c, &bar.parts, (mid, half), (lo - 4, hi + 4))?;
        whisker(c, (lo, hi), mid, half.min(8))?;
    }
    if let Some(b) = bar.baseline {
        marker(c, x(b.rate), mid, half + 4)?;
    }
    let value = if bar.n == 0 {
        "–".to_owned()
    } else {
        pct_ci(&bar.headline)
    };
    c.text(&value, (VALUE_X, mid), 12.0, TEXT, Align::Left)?;
    if let Some(b) = bar.baseline {
        let at = VALUE_X + c.text_width(&value, 12.0) + 6;
        let vs = format!("vs {:.0} %", 100.0 * b.rate);
        c.text(&vs, (at, mid), 12.0, BASELINE, Align::Left)?;
    }
    Ok(())
}

/// The shares side by side from 0 %, each labelled where it is wide enough beside `avoid` (the
/// whisker's pixels).
fn draw_parts(
    c: &Canvas<'_>,
    parts: &[(f64, RGBAColor)],
    (mid, half): (i32, i32),
    avoid: (i32, i32),
) -> Result<(), ChartError> {
    let mut from = 0.0;
    for &(share, color) in parts {
        let (x0, x1) = (x(from), x(from + share));
        from += share;
        if x1 <= x0 {
            continue;
        }
        c.fill((x0, mid - half), (x1 - 1, mid + half), color)?;
        let label = format!("{:.0} %", 100.0 * share);
        let (a, b) = widest_outside((x0, x1), avoid);
        if b - a >= c.text_width(&label, 11.0) + 10 {
            let ink = if color == T2 { BACKGROUND } else { TEXT };
            c.text(&label, ((a + b) / 2, mid), 11.0, ink, Align::Center)?;
        }
    }
    Ok(())
}

/// The wider piece of `span` left or right of `avoid`.
fn widest_outside(span: (i32, i32), avoid: (i32, i32)) -> (i32, i32) {
    if avoid.1 <= span.0 || span.1 <= avoid.0 {
        return span;
    }
    let left = (span.0, avoid.0.max(span.0));
    let right = (avoid.1.min(span.1), span.1);
    if left.1 - left.0 >= right.1 - right.0 {
        left
    } else {
        right
    }
}

/// An interval: a bar from `xs.0` to `xs.1` with end caps `cap` pixels up and down, dark-edged
/// so it reads on any fill.
fn whisker(c: &Canvas<'_>, xs: (i32, i32), y: i32, cap: i32) -> Result<(), ChartError> {
    let edge = rgba(13, 17, 23, 0.85);
    c.fill((xs.0 - 1, y - 2), (xs.1 + 1, y + 2), edge)?;
    for at in [xs.0, xs.1] {
        c.fill((at - 2, y - cap - 1), (at + 2, y + cap + 1), edge)?;
    }
    c.fill((xs.0, y - 1), (xs.1, y + 1), TEXT)?;
    for at in [xs.0, xs.1] {
        c.fill((at - 1, y - cap), (at + 1, y + cap), TEXT)?;
    }
    Ok(())
}

/// A baseline's rate: a yellow upright bar `half` pixels up and down, dark-edged.
fn marker(c: &Canvas<'_>, at: i32, y: i32, half: i32) -> Result<(), ChartError> {
    c.fill(
        (at - 3, y - half - 1),
        (at + 3, y + half + 1),
        rgba(13, 17, 23, 0.9),
    )?;
    c.fill((at - 2, y - half), (at + 2, y + half), BASELINE)
}
