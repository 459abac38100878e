//! The realized-liquidation panel under the price panel: per bar, the real prints' notional,
//! long liquidations as red bars down from the middle line, short liquidations as green bars up.
//! Draws the sums it is given; never sums prints or judges them.

use super::canvas::{Align, Canvas, rgba};
use super::scale::Frame;
use super::{ChartError, ChartInput, DOWN, GRID, PANEL, RealizedBar, TEXT, UP};
use crate::numbers::usd;

/// The bars with prints inside the candles' window, oldest first; empty: no panel.
pub(super) fn in_window(input: &ChartInput<'_>, interval: i64) -> Vec<RealizedBar> {
    let (Some(first), Some(last)) = (input.candles.first(), input.candles.last()) else {
        return Vec::new();
    };
    let window = first.open_time..last.open_time + interval;
    let usable = |v: f64| v.is_finite() && v >= 0.0;
    (input.realized.iter())
        .filter(|b| window.contains(&b.open_time))
        .filter(|b| usable(b.long_usd) && usable(b.short_usd) && b.total_usd() > 0.0)
        .copied()
        .collect()
}

/// Draws `bars` in `f` (its time window; values are the panel's own); the panel's tint runs to
/// `right`, under the profile column.
pub(super) fn draw(
    c: &Canvas<'_>,
    f: &Frame,
    right: i32,
    bars: &[RealizedBar],
    interval: i64,
) -> Result<(), ChartError> {
    c.fill((f.left, f.top), (right, f.bottom), PANEL)?;
    let (longs, shorts) = bars
        .iter()
        .fold((0.0, 0.0), |(l, s), b| (l + b.long_usd, s + b.short_usd));
    let peak = (bars.iter())
        .map(|b| b.long_usd.max(b.short_usd))
        .fold(0.0, f64::max);
    // Symmetric, so the middle line is zero and both sides read on one scale.
    let f = Frame {
        v0: -peak,
        v1: peak,
        ..*f
    };
    let zero = f.y(0.0);
    c.hline(f.left, right, zero, rgba(255, 255, 255, 0.28), 0)?;
    let slot = f.px_per_ms() * interval as f64;
    let half = ((slot * 0.34).round() as i32).max(1);
    for b in bars {
        let x = f.x((b.open_time + interval / 2) as f64);
        if b.long_usd > 0.0 {
            c.fill(
                (x - half, zero + 1),
                (x + half, f.y(-b.long_usd).max(zero + 1)),
                DOWN,
            )?;
        }
        if b.short_usd > 0.0 {
            c.fill(
                (x - half, zero - 1),
                (x + half, f.y(b.short_usd).min(zero - 1)),
                UP,
            )?;
        }
    }
    let title = format!(
        "realized liquidations  ·  longs {}  ·  shorts {}",
        usd(longs),
        usd(shorts)
    );
    let at = (f.left + c.px(6.0), f.top + c.px(11.0));
    c.tag(
        &title,
        at,
        13.0,
        (TEXT, rgba(13, 17, 23, 0.75)),
        Align::Left,
    )?;
    let scale = usd(peak);
    let muted = super::MUTED;
    c.text(
        &scale,
        (right + c.px(6.0), f.top + c.px(8.0)),
        13.0,
        muted,
        Align::Left,
    )?;
    c.text(
        &scale,
        (right + c.px(6.0), f.bottom - c.px(8.0)),
        13.0,
        muted,
        Align::Left,
    )?;
    c.frame((f.left, f.top), (right, f.bottom), GRID)
}
