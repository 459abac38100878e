//! The price panel: the map's past behind the candles (a column per bar), the current map as a
//! profile at the right with its clusters, the touched cluster highlighted, a setup's levels, the
//! price grid and the mark price. Draws only what its input holds; never estimates anything.

use plotters::style::RGBAColor;

use super::canvas::{Align, Canvas, rgb, rgba};
use super::scale::{Frame, HeatScale, fmt_price, fmt_tick, heat_color, nice_step, ticks};
use super::{
    ACCENT, BACKGROUND, ChartError, ChartInput, ChartLevel, ClusterBand, DOWN, GRID, HeatColumn,
    HistoryColumn, LevelKind, MUTED, PANEL, UP,
};
use crate::model::{Candle, Side};

/// Long-liquidation clusters (below price) and short-liquidation clusters (above price).
const LONG_LIQ: RGBAColor = rgb(77, 208, 225);
const SHORT_LIQ: RGBAColor = rgb(255, 138, 200);
const MARK: RGBAColor = rgb(236, 239, 241);
const ENTRY: RGBAColor = rgb(120, 190, 255);
/// Candle outlines: dark, so both colours stay visible over any heat.
const OUTLINE: RGBAColor = rgb(8, 10, 14);

fn side_color(side: Side) -> RGBAColor {
    match side {
        Side::Long => LONG_LIQ,
        Side::Short => SHORT_LIQ,
    }
}

fn level_color(kind: LevelKind) -> RGBAColor {
    match kind {
        LevelKind::Entry => ENTRY,
        LevelKind::Stop => DOWN,
        LevelKind::Target => UP,
    }
}

/// The price window: every candle, level, touched cluster and the mark price, and the other
/// clusters near enough not to squash the candles; with 4 % air.
pub(super) fn value_range(input: &ChartInput<'_>) -> (f64, f64) {
    let finite = |v: &f64| v.is_finite();
    let candles = input.candles.iter().flat_map(|c| [c.low, c.high]);
    let (clo, chi) = candles
        .clone()
        .filter(finite)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let reach = (chi - clo) * 0.5;
    let near =
        |b: &&ClusterBand| b.touched || (b.near_edge > clo - reach && b.near_edge < chi + reach);
    let clusters = (input.clusters.iter().filter(near)).flat_map(|b| [b.near_edge, b.far_edge]);
    let levels = input.levels.iter().map(|l| l.price);
    let (lo, hi) = candles
        .chain(clusters)
        .chain(levels)
        .chain(input.mark_price)
        .filter(finite)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let air = ((hi - lo) * 0.04).max(hi.abs() * 1e-4).max(1e-12);
    (lo - air, hi + air)
}

/// Draws the panel: `f` holds the candles; the profile runs from its right edge to `right`.
pub(super) fn draw(
    c: &Canvas<'_>,
    f: &Frame,
    right: i32,
    input: &ChartInput<'_>,
    interval: i64,
) -> Result<(), ChartError> {
    c.fill((f.left, f.top), (right, f.bottom), PANEL)?;
    draw_history(c, f, input.history, interval)?;
    draw_price_grid(c, f, right, input.mark_price)?;
    let strip = Frame {
        left: f.right,
        right,
        ..*f
    };
    draw_profile(c, &strip, input.heat.last())?;
    let labels = draw_clusters(c, f, &strip, input.clusters)?;
    draw_candles(c, f, input.candles, interval)?;
    draw_cluster_labels(c, f, labels)?;
    draw_levels(c, f, right, input.levels)?;
    if let Some(mark) = input.mark_price.filter(|m| f.contains_value(*m)) {
        let y = f.y(mark);
        c.hline(f.left, right, y, rgba(236, 239, 241, 0.7), c.px(3.0))?;
        let text = fmt_price(mark);
        c.tag(
            &text,
            (right + c.px(2.0), y),
            16.0,
            (BACKGROUND, MARK),
            Align::Left,
        )?;
    }
    // "now": where the candles end and the current map begins.
    c.fill(
        (f.right, f.top),
        (f.right, f.bottom),
        rgba(255, 255, 255, 0.35),
    )?;
    // Above the strip, where no bar can hide it.
    c.text(
        "map now",
        (right, f.top - c.px(9.0)),
        14.0,
        MUTED,
        Align::Right,
    )?;
    c.frame((f.left, f.top), (right, f.bottom), GRID)
}

/// The past: each column behind its bar, by total notional against the whole window's strong
/// end, with a gamma that lets strong levels stand out and a floor under which weak ones vanish.
fn draw_history(
    c: &Canvas<'_>,
    f: &Frame,
    history: &[HistoryColumn],
    interval: i64,
) -> Result<(), ChartError> {
    let visible = |(lo, hi, _): &(f64, f64, f64)| *hi >= f.v0 && *lo <= f.v1;
    let values = history
        .iter()
        .flat_map(|col| col.bands().filter(visible).map(|b| b.2))
        .collect();
    let Some(scale) = HeatScale::from_values(values) else {
        return Ok(());
    };
    for col in history {
        let start = col.bar_open as f64;
        if start + interval as f64 <= f.t0 || start >= f.t1 {
            continue;
        }
        let x0 = f.x(start);
        let x1 = (f.x(start + interval as f64) - 1).max(x0);
        for (lo, hi, usd) in col.bands().filter(visible) {
            if let Some(t) = scale.intensity(usd) {
                let (y0, y1) = (f.y(hi), f.y(lo));
                let mut color = heat_color(t);
                color.3 = 0.12 + 0.78 * t;
                c.fill((x0, y0), (x1, y1.max(y0)), color)?;
            }
        }
    }
    Ok(())
}

/// The current map as horizontal bars from the "now" line: longs (below price) and shorts
/// (above) in their colours, length and strength by notional against the strongest band.
fn draw_profile(c: &Canvas<'_>, s: &Frame, heat: Option<&HeatColumn>) -> Result<(), ChartError> {
    let Some(heat) = heat else {
        return Ok(());
    };
    let bands: Vec<_> = (heat.bands.iter())
        .filter(|b| b.price_high >= s.v0 && b.price_low <= s.v1)
        .collect();
    let max = bands
        .iter()
        .map(|b| b.long_usd.max(b.short_usd))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    if max <= 0.0 {
        return Ok(());
    }
    let room = f64::from(s.right - s.left - c.px(4.0));
    for b in bands {
        let (y0, y1) = (s.y(b.price_high), s.y(b.price_low));
        let (y0, y1) = (y0 + 1, (y1 - 1).max(y0 + 1));
        let mut x = s.left + 1;
        for (usd, side) in [(b.long_usd, Side::Long), (b.short_usd, Side::Short)] {
            let share = usd / max;
            if !(share.is_finite() && share > 0.04) {
                continue;
            }
            let t = share.powf(0.8);
            let len = (room * t).round() as i32;
            let mut color = side_color(side);
            color.3 = 0.20 + 0.80 * t;
            c.fill((x, y0), (x + len.max(1), y1), color)?;
            x += len.max(1);
        }
    }
    Ok(())
}

/// A cluster label's row, text and colour.
type Label<'a> = (i32, &'a ClusterBand, RGBAColor);

/// Current clusters: a box in the profile and a faint near edge across the candles; the touched
/// one a band across the whole panel. Returns the labels to draw over the candles: the touched
/// cluster's and the two nearest to price on each side.
fn draw_clusters<'a>(
    c: &Canvas<'_>,
    f: &Frame,
    strip: &Frame,
    clusters: &'a [ClusterBand],
) -> Result<Vec<Label<'a>>, ChartError> {
    let mut labels = Vec::new();
    let mut per_side = [0, 0];
    let mut order: Vec<&ClusterBand> = clusters.iter().collect();
    // Touched first, then nearest to price first (near edges closest to the middle of the gap).
    order.sort_by(|a, b| {
        b.touched.cmp(&a.touched).then_with(|| match a.side {
            Side::Long => b.near_edge.total_cmp(&a.near_edge),
            Side::Short => a.near_edge.total_cmp(&b.near_edge),
        })
    });
    for band in order {
        if !(f.contains_value(band.near_edge) || f.contains_value(band.far_edge)) {
            continue;
        }
        let color = if band.touched {
            ACCENT
        } else {
            side_color(band.side)
        };
        let (near, far) = (f.y(band.near_edge), f.y(band.far_edge));
        let (top, bottom) = (near.min(far), near.max(far));
        let mut fill = color;
        fill.3 = if band.touched { 0.22 } else { 0.16 };
        if band.touched {
            c.fill((f.left, top), (strip.right, bottom), fill)?;
            c.fill((f.left, near), (strip.right, near + c.px(1.0)), color)?;
            c.hline(f.left, strip.right, far, color, c.px(6.0))?;
        } else {
            c.fill((strip.left, top), (strip.right, bottom), fill)?;
            c.frame((strip.left, top), (strip.right, bottom), color)?;
            let mut faint = color;
            faint.3 = 0.55;
            c.hline(f.left, strip.left, near, faint, c.px(4.0))?;
        }
        let slot = match band.side {
            Side::Long => 0,
            Side::Short => 1,
        };
        if band.touched || per_side[slot] < 2 {
            per_side[slot] += usize::from(!band.touched);
            let offset = c.px(13.0);
            let y = match band.side {
                Side::Long => near + offset,
                Side::Short => near - offset,
            };
            labels.push((y, band, color));
        }
    }
    Ok(labels)
}

/// Cluster labels on dark tags at the right of the candle area, pushed apart when close.
fn draw_cluster_labels(
    c: &Canvas<'_>,
    f: &Frame,
    mut labels: Vec<Label<'_>>,
) -> Result<(), ChartError> {
    labels.sort_by_key(|(y, _, _)| *y);
    let gap = c.px(25.0);
    let mut floor = f.top + c.px(14.0);
    for (y, band, color) in labels {
        let y = y.max(floor).min(f.bottom - c.px(12.0));
        floor = y + gap;
        let text = if band.touched {
            format!("▶ {}", band.label)
        } else {
            band.label.clone()
        };
        let at = (f.right - c.px(6.0), y);
        c.tag(
            &text,
            at,
            16.0,
            (color, rgba(8, 10, 14, 0.85)),
            Align::Right,
        )?;
    }
    Ok(())
}

/// Horizontal grid lines and price labels right of `right`, leaving room for the mark tag.
fn draw_price_grid(
    c: &Canvas<'_>,
    f: &Frame,
    right: i32,
    mark: Option<f64>,
) -> Result<(), ChartError> {
    let max_ticks = ((f.bottom - f.top) / c.px(56.0)).max(2) as usize;
    let step = nice_step(f.v1 - f.v0, max_ticks);
    let mark_y = mark.filter(|m| f.contains_value(*m)).map(|m| f.y(m));
    for v in ticks(f.v0, f.v1, step) {
        let y = f.y(v);
        c.fill((f.left + 1, y), (right - 1, y), GRID)?;
        if mark_y.is_some_and(|m| (m - y).abs() < c.px(20.0)) {
            continue;
        }
        let label = fmt_tick(v, step);
        c.text(&label, (right + c.px(6.0), y), 15.0, MUTED, Align::Left)?;
    }
    Ok(())
}

fn draw_candles(
    c: &Canvas<'_>,
    f: &Frame,
    candles: &[Candle],
    interval: i64,
) -> Result<(), ChartError> {
    let slot = f.px_per_ms() * interval as f64;
    let half = ((slot * 0.34).round() as i32).max(1);
    let wick = c.px(0.8).max(0);
    for k in candles {
        if ![k.open, k.high, k.low, k.close]
            .iter()
            .all(|v| v.is_finite())
        {
            continue;
        }
        let x = f.x((k.open_time + interval / 2) as f64);
        let color = if k.close >= k.open { UP } else { DOWN };
        let (top, bottom) = (f.y(k.open.max(k.close)), f.y(k.open.min(k.close)));
        let (high, low) = (f.y(k.high), f.y(k.low));
        c.fill((x - wick - 1, high - 1), (x + wick + 1, low + 1), OUTLINE)?;
        c.fill((x - half - 1, top - 1), (x + half + 1, bottom + 1), OUTLINE)?;
        c.fill((x - wick, high), (x + wick, low), color)?;
        c.fill((x - half, top), (x + half, bottom), color)?;
    }
    Ok(())
}

/// A setup's entry (solid), stop and targets (dashed), labelled at the left, priced on the axis.
fn draw_levels(
    c: &Canvas<'_>,
    f: &Frame,
    right: i32,
    levels: &[ChartLevel],
) -> Result<(), ChartError> {
    let mut tags = Vec::new();
    for l in levels.iter().filter(|l| f.contains_value(l.price)) {
        let color = level_color(l.kind);
        let y = f.y(l.price);
        let thick = c.px(2.0).max(1);
        match l.kind {
            LevelKind::Entry => c.fill((f.left, y), (right, y + thick - 1), color)?,
            _ => {
                for dy in 0..thick {
                    c.hline(f.left, right, y + dy, color, c.px(7.0))?;
                }
            }
        }
        tags.push((y, l, color));
    }
    // Labels above their line, pushed apart when lines are close.
    tags.sort_by_key(|(y, _, _)| *y);
    let gap = c.px(26.0);
    let mut floor = f.top + c.px(14.0);
    for (y, l, color) in tags {
        let at_y = (y - c.px(13.0)).max(floor).min(f.bottom - c.px(12.0));
        floor = at_y + gap;
        let at = (f.left + c.px(6.0), at_y);
        c.tag(&l.label, at, 17.0, (BACKGROUND, color), Align::Left)?;
        let price = fmt_price(l.price);
        c.tag(
            &price,
            (right + c.px(2.0), y),
            15.0,
            (BACKGROUND, color),
            Align::Left,
        )?;
    }
    Ok(())
}
