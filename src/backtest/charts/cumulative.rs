//! `setups-cumulative-r.png`: per period, the running sum of the scored setups' R at their alert
//! times as a step line, beside the same number of trades at the bare 4h trigger's mean R
//! (dashed). Draws the report's numbers; never scores a trade.

use plotters::style::RGBAColor;

use super::super::track::r_mean;
use super::super::{PeriodReport, Report};
use super::{
    AXIS_H, FOOTER_H, HEIGHT, MARGIN, TITLE_H, WIDTH, dashed, footer, period_color, title,
};
use crate::model::{AlertKind, DAY_MS, TimeMs, format_utc};
use crate::notify::chart::canvas::{Align, Canvas, rgba};
use crate::notify::chart::scale::{Frame, fmt_tick, nice_step, ticks};
use crate::notify::chart::{ChartError, DOWN, GRID, MUTED, PANEL, TEXT, UP, draw_time_axis};

/// One legend row per period under the title.
const LEGEND_ROW_H: i32 = 22;
/// Width of the value labels right of the plot.
const AXIS_W: i32 = 84;
/// Above this many setups the per-trade markers would only blur the line.
const MAX_MARKERS: usize = 300;

/// One period's line: its scored setups in time order with the running sum of R.
struct Line<'a> {
    period: &'a PeriodReport,
    color: RGBAColor,
    /// (alert time, R, cumulative R after it).
    steps: Vec<(TimeMs, f64, f64)>,
}

impl Line<'_> {
    /// The bare trigger's mean R per trade, when it traded in this period.
    fn baseline(&self) -> Option<f64> {
        let b = &self.period.setups.trigger_only;
        (b.n > 0 && b.mean_r.mean.is_finite()).then_some(b.mean_r.mean)
    }

    /// Every value the line and its baseline reach, 0 included.
    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        let base = self.baseline().unwrap_or(0.0);
        let baseline = (1..=self.steps.len()).map(move |k| base * k as f64);
        (self.steps.iter().map(|s| s.2))
            .chain(baseline)
            .chain([0.0])
    }
}

pub(super) fn draw(c: &Canvas<'_>, report: &Report) -> Result<(), ChartError> {
    let lines = lines(report);
    let scored: usize = lines.iter().map(|l| l.steps.len()).sum();
    let subtitle = format!(
        "{scored} scored setup{} · each adds its R at its alert time · 1 R = the loss at the stop",
        if scored == 1 { "" } else { "s" }
    );
    title(c, "Setups · cumulative R", &subtitle)?;
    let legend_h = LEGEND_ROW_H * lines.len().max(1) as i32;
    for (i, line) in lines.iter().enumerate() {
        legend_row(
            c,
            line,
            TITLE_H + LEGEND_ROW_H * i as i32 + LEGEND_ROW_H / 2,
        )?;
    }
    let f = frame(report, &lines, TITLE_H + legend_h + 6);
    c.fill((f.left, f.top), (f.right, f.bottom), PANEL)?;
    draw_periods(c, &f, &lines)?;
    draw_value_grid(c, &f)?;
    draw_time_axis(c, &[f], f.t0 as TimeMs, f.t1 as TimeMs, 11.0)?;
    for line in &lines {
        draw_line(c, &f, line, scored <= MAX_MARKERS)?;
    }
    if scored == 0 {
        // Centred across, just above the zero line.
        let at = ((f.left + f.right) / 2, f.y(0.0) - 28);
        c.text("no setups scored", at, 18.0, MUTED, Align::Center)?;
    }
    c.frame((f.left, f.top), (f.right, f.bottom), GRID)?;
    let days = report.options.horizons.trade_ms / DAY_MS;
    footer(
        c,
        &format!(
            "solid: the setups' running sum of R, a step per trade (stop, T1 or {days} days) · \
             dashed: as many trades at the bare 4h trigger's mean R"
        ),
    )
}

fn lines(report: &Report) -> Vec<Line<'_>> {
    (report.summary.periods.iter().enumerate())
        .map(|(i, period)| {
            let mut setups: Vec<(TimeMs, f64)> = (report.alerts.iter())
                .filter(|a| a.kind == AlertKind::SetupEntry)
                .filter(|a| period.from <= a.time_ms && a.time_ms < period.to)
                .filter_map(|a| Some((a.time_ms, a.r_multiple.filter(|r| r.is_finite())?)))
                .collect();
            setups.sort_by_key(|s| s.0);
            let mut sum = 0.0;
            let steps = (setups.into_iter())
                .map(|(t, r)| {
                    sum += r;
                    (t, r, sum)
                })
                .collect();
            Line {
                period,
                color: period_color(i),
                steps,
            }
        })
        .collect()
}

/// The plot: every period across, every value reached (at least ±1 R) up, with air.
fn frame(report: &Report, lines: &[Line<'_>], top: i32) -> Frame {
    let t0 = report.summary.periods.iter().map(|p| p.from).min();
    let t1 = report.summary.periods.iter().map(|p| p.to).max();
    let (t0, t1) = match (t0, t1) {
        (Some(a), Some(b)) if a < b => (a, b),
        _ => (0, DAY_MS),
    };
    let (lo, hi) = (lines.iter().flat_map(Line::values))
        .fold((-1.0f64, 1.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let air = (hi - lo) * 0.08;
    Frame {
        left: MARGIN,
        top,
        right: WIDTH as i32 - AXIS_W,
        bottom: HEIGHT as i32 - FOOTER_H - AXIS_H,
        t0: t0 as f64,
        t1: t1 as f64,
        v0: lo - air,
        v1: hi + air,
    }
}

/// `━ out-of-sample 2025-09-20 → 2026-02-19 │ 2 setups · total −2.00 R · mean … │ ┅ bare 4h
/// trigger +0.02 R per trade (n 152)`, in three columns.
fn legend_row(c: &Canvas<'_>, line: &Line<'_>, y: i32) -> Result<(), ChartError> {
    let p = line.period;
    c.fill((MARGIN, y - 1), (MARGIN + 22, y + 1), line.color)?;
    let x = MARGIN + 30;
    c.text(&p.name, (x, y), 13.0, TEXT, Align::Left)?;
    let x = x + c.text_width(&p.name, 13.0) + 8;
    let span = format!("{} → {}", day(p.from), day(p.to - 1));
    c.text(&span, (x, y), 12.0, MUTED, Align::Left)?;
    let x = (x + c.text_width(&span, 12.0) + 24).max(MARGIN + 320);
    let total: f64 = line.steps.iter().map(|s| s.1).sum();
    let own = match line.steps.len() {
        0 => "no setups scored".to_owned(),
        n => format!(
            "{n} setup{} · total {total:+.2} R · {}",
            if n == 1 { "" } else { "s" },
            r_mean(&p.setups.mean_r)
        ),
    };
    c.text(&own, (x, y), 13.0, TEXT, Align::Left)?;
    let x = (x + c.text_width(&own, 13.0) + 24).max(MARGIN + 720);
    dashed(c, &[(x, y), (x + 22, y)], line.color, 2, 4.0)?;
    let base = match line.baseline() {
        Some(m) => format!(
            "bare 4h trigger {m:+.2} R per trade (n {})",
            p.setups.trigger_only.n
        ),
        None => "bare 4h trigger: no trades".to_owned(),
    };
    c.text(&base, (x + 30, y), 12.0, MUTED, Align::Left)
}

/// Alternate shading per period, a line at each boundary and the period's name at its top.
fn draw_periods(c: &Canvas<'_>, f: &Frame, lines: &[Line<'_>]) -> Result<(), ChartError> {
    for (i, line) in lines.iter().enumerate() {
        let (x0, x1) = (f.x(line.period.from as f64), f.x(line.period.to as f64));
        if i % 2 == 1 {
            c.fill((x0, f.top), (x1, f.bottom), rgba(255, 255, 255, 0.025))?;
        }
        if x0 > f.left {
            c.fill((x0, f.top), (x0, f.bottom), rgba(255, 255, 255, 0.22))?;
        }
        let name = &line.period.name;
        if c.text_width(name, 12.0) < x1 - x0 - 16 {
            c.text(name, (x0 + 8, f.top + 12), 12.0, line.color, Align::Left)?;
        }
    }
    Ok(())
}

/// Horizontal grid with R labels on the right; the zero line stronger.
fn draw_value_grid(c: &Canvas<'_>, f: &Frame) -> Result<(), ChartError> {
    let max_ticks = ((f.bottom - f.top) / 48).max(2) as usize;
    let step = nice_step(f.v1 - f.v0, max_ticks);
    for v in ticks(f.v0, f.v1, step) {
        let y = f.y(v);
        let zero = v.abs() < step / 2.0;
        let color = if zero {
            rgba(255, 255, 255, 0.35)
        } else {
            GRID
        };
        c.fill((f.left + 1, y), (f.right - 1, y), color)?;
        let sign = if v > 0.0 && !zero { "+" } else { "" };
        let label = format!("{sign}{} R", fmt_tick(if zero { 0.0 } else { v }, step));
        c.text(&label, (f.right + 8, y), 11.0, MUTED, Align::Left)?;
    }
    Ok(())
}

/// The baseline's dashed steps, the setups' step line over it, and a dot per trade (green
/// for a gain, red for a loss).
fn draw_line(c: &Canvas<'_>, f: &Frame, line: &Line<'_>, markers: bool) -> Result<(), ChartError> {
    if line.steps.is_empty() {
        return Ok(());
    }
    let span = (line.period.from, line.period.to);
    if let Some(m) = line.baseline() {
        let at = (line.steps.iter().enumerate()).map(|(k, s)| (s.0, m * (k + 1) as f64));
        let mut color = line.color;
        color.3 = 0.75;
        dashed(c, &staircase(f, span, at), color, 2, 6.0)?;
    }
    let at = line.steps.iter().map(|s| (s.0, s.2));
    c.line(staircase(f, span, at), line.color, 2)?;
    if markers {
        for &(t, r, sum) in &line.steps {
            let (x, y) = (f.x(t as f64), f.y(sum));
            c.fill((x - 4, y - 4), (x + 4, y + 4), rgba(13, 17, 23, 0.9))?;
            c.fill(
                (x - 3, y - 3),
                (x + 3, y + 3),
                if r > 0.0 { UP } else { DOWN },
            )?;
        }
    }
    Ok(())
}

/// Pixels of a step line from 0 at `span.0` through each (time, value) to `span.1`.
fn staircase(
    f: &Frame,
    span: (TimeMs, TimeMs),
    values: impl Iterator<Item = (TimeMs, f64)>,
) -> Vec<(i32, i32)> {
    let mut points = vec![(f.x(span.0 as f64), f.y(0.0))];
    let mut last = 0.0;
    for (t, v) in values {
        let x = f.x(t as f64);
        points.extend([(x, f.y(last)), (x, f.y(v))]);
        last = v;
    }
    points.push((f.x(span.1 as f64), f.y(last)));
    points
}

fn day(t: TimeMs) -> String {
    format_utc(t).chars().take(10).collect()
}
