//! The price panel: heatmap bands through time, price grid, candles, cluster boxes with their
//! labels and the mark-price line. Draws only what its input holds; never estimates anything.

use plotters::style::RGBAColor;

use super::canvas::{Align, Canvas, rgb, rgba};
use super::scale::{Frame, HeatScale, fmt_price, fmt_tick, heat_color, nice_step, ticks};
use super::{
    BACKGROUND, ChartError, ChartInput, ClusterBand, DOWN, GRID, HeatColumn, MUTED, PANEL, UP,
};
use crate::model::{Candle, Side};

/// Long-liquidation clusters (below price) and short-liquidation clusters (above price).
const LONG_LIQ: RGBAColor = rgb(77, 208, 225);
const SHORT_LIQ: RGBAColor = rgb(255, 138, 200);
const MARK: RGBAColor = rgb(236, 239, 241);

fn side_color(side: Side) -> RGBAColor {
    match side {
        Side::Long => LONG_LIQ,
        Side::Short => SHORT_LIQ,
    }
}

/// The price window: every candle, cluster edge and the mark price, with 4 % air.
pub(super) fn value_range(input: &ChartInput<'_>) -> (f64, f64) {
    let candles = input.candles.iter().flat_map(|c| [c.low, c.high]);
    let clusters = input
        .clusters
        .iter()
        .flat_map(|b| [b.near_edge, b.far_edge]);
    let (lo, hi) = candles
        .chain(clusters)
        .chain(input.mark_price)
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let air = ((hi - lo) * 0.04).max(hi.abs() * 1e-4).max(1e-12);
    (lo - air, hi + air)
}

pub(super) fn draw(
    c: &Canvas<'_>,
    f: &Frame,
    input: &ChartInput<'_>,
    interval: i64,
) -> Result<(), ChartError> {
    c.fill((f.left, f.top), (f.right, f.bottom), PANEL)?;
    draw_heat(c, f, input.heat)?;
    draw_price_grid(c, f, input.mark_price)?;
    // Current clusters fill the strip right of the last candle; their edges run across.
    let last = input.candles[input.candles.len() - 1].open_time + interval;
    let now = f.x(last as f64) + c.px(3.0);
    for band in input.clusters {
        let (y0, y1) = (f.y(band.near_edge), f.y(band.far_edge));
        let mut fill = side_color(band.side);
        fill.3 = 0.30;
        c.fill((now, y0.min(y1)), (f.right, y0.max(y1)), fill)?;
    }
    draw_candles(c, f, input.candles, interval)?;
    draw_cluster_edges(c, f, input.clusters)?;
    if let Some(mark) = input.mark_price.filter(|m| f.contains_value(*m)) {
        let y = f.y(mark);
        c.hline(f.left, f.right, y, MARK, c.px(4.0))?;
        let text = fmt_price(mark);
        c.tag(
            &text,
            (f.right + c.px(2.0), y),
            12.0,
            (BACKGROUND, MARK),
            Align::Left,
        )?;
    }
    c.frame((f.left, f.top), (f.right, f.bottom), GRID)
}

/// One rectangle per band per column, coloured by total notional on a log scale.
fn draw_heat(c: &Canvas<'_>, f: &Frame, heat: &[HeatColumn]) -> Result<(), ChartError> {
    let visible = |b: &&super::HeatBand| b.price_high >= f.v0 && b.price_low <= f.v1;
    let values = heat
        .iter()
        .flat_map(|col| col.bands.iter().filter(visible))
        .map(|b| b.long_usd + b.short_usd)
        .collect();
    let Some(scale) = HeatScale::from_values(values) else {
        return Ok(());
    };
    for col in heat {
        let x0 = f.x(col.time as f64);
        let x1 = (f.x((col.time + col.width_ms) as f64) - 1).max(x0);
        for band in col.bands.iter().filter(visible) {
            if let Some(t) = scale.intensity(band.long_usd + band.short_usd) {
                let (y0, y1) = (f.y(band.price_high), f.y(band.price_low));
                c.fill((x0, y0), (x1, y1.max(y0)), heat_color(t))?;
            }
        }
    }
    Ok(())
}

/// Horizontal grid lines and price labels on the right, leaving room for the mark-price tag.
fn draw_price_grid(c: &Canvas<'_>, f: &Frame, mark: Option<f64>) -> Result<(), ChartError> {
    let max_ticks = ((f.bottom - f.top) / c.px(48.0)).max(2) as usize;
    let step = nice_step(f.v1 - f.v0, max_ticks);
    let mark_y = mark.filter(|m| f.contains_value(*m)).map(|m| f.y(m));
    for v in ticks(f.v0, f.v1, step) {
        let y = f.y(v);
        c.fill((f.left + 1, y), (f.right - 1, y), GRID)?;
        if mark_y.is_some_and(|m| (m - y).abs() < c.px(16.0)) {
            continue;
        }
        c.text(
            &fmt_tick(v, step),
            (f.right + c.px(8.0), y),
            11.0,
            MUTED,
            Align::Left,
        )?;
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
    let half = ((slot * 0.36).round() as i32).max(0);
    let outline = rgba(13, 17, 23, 0.85);
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
        let wick = (f.y(k.high), f.y(k.low));
        if half >= 2 {
            c.fill((x - half - 1, top - 1), (x + half + 1, bottom + 1), outline)?;
        }
        c.fill((x, wick.0), (x, wick.1), color)?;
        c.fill((x - half, top), (x + half, bottom), color)?;
    }
    Ok(())
}

/// Near edge solid, far edge dashed, label on a dark tag at the panel's right end.
fn draw_cluster_edges(
    c: &Canvas<'_>,
    f: &Frame,
    clusters: &[ClusterBand],
) -> Result<(), ChartError> {
    let mut labels = Vec::with_capacity(clusters.len());
    for band in clusters {
        let color = side_color(band.side);
        let near = f.y(band.near_edge);
        c.fill((f.left, near), (f.right, near + c.px(1.0)), color)?;
        c.hline(f.left, f.right, f.y(band.far_edge), color, c.px(5.0))?;
        // Below price the label hangs under the near edge, above price it sits over it.
        let offset = c.px(11.0);
        let y = match band.side {
            Side::Long => near + offset,
            Side::Short => near - offset,
        };
        labels.push((y, band));
    }
    labels.sort_by_key(|(y, _)| *y);
    let gap = c.px(20.0);
    let mut floor = f.top + c.px(10.0);
    for (y, band) in labels {
        let y = y.max(floor).min(f.bottom - c.px(10.0));
        floor = y + gap;
        let colors = (side_color(band.side), rgba(13, 17, 23, 0.82));
        let at = (f.right - c.px(6.0), y);
        c.tag(&band.label, at, 12.0, colors, Align::Right)?;
    }
    Ok(())
}
