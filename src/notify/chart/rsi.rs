//! The RSI panel: Wilder RSI line, the 30/40/50/60/70 levels and the regime shading behind them.
//! Draws the values it is given; never computes RSI or regimes.

use plotters::style::RGBAColor;

use super::canvas::{Align, Canvas, rgb, rgba};
use super::scale::Frame;
use super::{BACKGROUND, ChartError, ChartInput, GRID, MUTED, PANEL, TEXT, regime_color};
use crate::analytics::regime::Regime;

const RSI_LINE: RGBAColor = rgb(190, 170, 255);

/// 10–90 unless the series goes beyond, so the 30–70 band gets the height.
pub(super) fn value_range(rsi: &[Option<f64>]) -> (f64, f64) {
    rsi.iter()
        .flatten()
        .filter(|v| v.is_finite())
        .fold((10.0, 90.0), |(lo, hi), v| {
            (lo.min(v - 2.0), hi.max(v + 2.0))
        })
}

fn regime_shade(r: Regime) -> Option<RGBAColor> {
    match r {
        Regime::Bull => Some(rgba(38, 214, 160, 0.12)),
        Regime::Bear => Some(rgba(255, 82, 96, 0.12)),
        Regime::Range => None,
    }
}

/// Draws the panel in `f`; its tags and labels go right of `right` (beyond the profile column).
pub(super) fn draw(
    c: &Canvas<'_>,
    f: &Frame,
    right: i32,
    input: &ChartInput<'_>,
    interval: i64,
) -> Result<(), ChartError> {
    c.fill((f.left, f.top), (right, f.bottom), PANEL)?;
    let (candles, regimes) = (input.candles, input.regimes);
    let mut start = 0;
    while start < regimes.len() {
        let run = regimes[start..]
            .iter()
            .take_while(|r| **r == regimes[start])
            .count();
        let end = start + run - 1;
        if let Some(color) = regime_shade(regimes[start]) {
            let x0 = f.x(candles[start].open_time as f64);
            let x1 = f.x((candles[end].open_time + interval) as f64);
            c.fill((x0, f.top), (x1, f.bottom), color)?;
        }
        start += run;
    }
    let tag_y = input.rsi.last().copied().flatten().map(|v| f.y(v));
    for (level, alpha, dash) in [
        (70.0, 0.40, 0),
        (60.0, 0.16, 3),
        (50.0, 0.28, 6),
        (40.0, 0.16, 3),
        (30.0, 0.40, 0),
    ] {
        let y = f.y(level);
        c.hline(f.left, right, y, rgba(255, 255, 255, alpha), dash)?;
        if tag_y.is_some_and(|t| (t - y).abs() < c.px(16.0)) || level == 60.0 || level == 40.0 {
            continue;
        }
        let label = format!("{level:.0}");
        c.text(&label, (right + c.px(6.0), y), 15.0, MUTED, Align::Left)?;
    }
    let width = c.px(2.0).max(1) as u32;
    let mut path = Vec::new();
    for (candle, rsi) in candles.iter().zip(input.rsi) {
        match rsi.filter(|v| v.is_finite()) {
            Some(v) => path.push((f.x((candle.open_time + interval / 2) as f64), f.y(v))),
            None if !path.is_empty() => c.line(std::mem::take(&mut path), RSI_LINE, width)?,
            None => {}
        }
    }
    if !path.is_empty() {
        c.line(path, RSI_LINE, width)?;
    }
    let regime = regimes[regimes.len() - 1];
    let last = input.rsi.iter().rev().flatten().next();
    let title = match last {
        Some(v) => format!(
            "RSI(14) {}  ·  {v:.1}  ·  regime {regime}",
            input.interval_label
        ),
        None => format!("RSI(14) {}  ·  warming up", input.interval_label),
    };
    let at = (f.left + c.px(6.0), f.top + c.px(13.0));
    c.tag(
        &title,
        at,
        15.0,
        (TEXT, rgba(13, 17, 23, 0.75)),
        Align::Left,
    )?;
    if let (Some(v), Some(_)) = (last, input.rsi.last().copied().flatten()) {
        let fg = if regime == Regime::Range {
            BACKGROUND
        } else {
            TEXT
        };
        let tag = format!("{v:.1}");
        c.tag(
            &tag,
            (right + c.px(2.0), f.y(*v)),
            15.0,
            (fg, regime_color(regime)),
            Align::Left,
        )?;
    }
    c.frame((f.left, f.top), (right, f.bottom), GRID)
}
