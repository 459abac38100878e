//! Chart images for alerts and summaries: candles over the estimated liquidation heatmap with
//! cluster edges and an RSI-regime panel, and the market-wide regime board, rendered to PNG bytes
//! in memory. Pure: never reads files, fonts installed on the machine or the clock; every value it
//! draws arrives in its input.

mod board;
pub(crate) mod canvas;
mod price;
mod rsi;
pub(crate) mod scale;

use plotters::style::RGBAColor;

use self::canvas::{Align, Canvas, encode_png, rgb, rgba};
use self::scale::{Frame, fmt_time_tick, time_ticks};
use crate::analytics::regime::Regime;
use crate::model::{Candle, HOUR_MS, TimeMs, format_utc};

pub use crate::view::{ChartSeries, ClusterBand, HeatBand, HeatColumn};

pub use self::board::{
    BoardCell, BoardInput, BoardRow, MAX_BOARD_ROWS, board_size, render_board_png,
};

/// Everything one chart shows; exchange-neutral and borrowed from the caller.
#[derive(Debug, Clone, Copy)]
pub struct ChartInput<'a> {
    pub symbol: &'a str,
    /// Shown in the title, e.g. `4h`.
    pub interval_label: &'a str,
    /// Closed (or forming) bars, oldest first, evenly spaced; e.g. the last 120 4h bars.
    pub candles: &'a [Candle],
    /// RSI per candle; `None` during warm-up.
    pub rsi: &'a [Option<f64>],
    /// Regime per candle; shades the RSI panel (bull green, bear red, range unshaded).
    pub regimes: &'a [Regime],
    /// Heatmap snapshots through time, drawn as coloured price bands.
    pub heat: &'a [HeatColumn],
    /// Current clusters, drawn as boxes between their edges with their labels.
    pub clusters: &'a [ClusterBand],
    pub mark_price: Option<f64>,
    /// Bottom line, e.g. `estimated liquidation heatmap · mode oi · coverage 0.62`.
    pub footer: &'a str,
}

/// Why no image came out.
// The data lives in `view` (the engine builds it); drawing it is this module's.
impl ChartSeries {
    pub fn input(&self) -> ChartInput<'_> {
        ChartInput {
            symbol: &self.symbol,
            interval_label: &self.interval_label,
            candles: &self.candles,
            rsi: &self.rsi,
            regimes: &self.regimes,
            heat: &self.heat,
            clusters: &self.clusters,
            mark_price: self.mark_price,
            footer: &self.footer,
        }
    }

    /// The chart as PNG bytes at the size alerts use (1280×800).
    pub fn render(&self) -> Result<Vec<u8>, ChartError> {
        render_png(&self.input(), 1280, 800)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The caller passed something that cannot be drawn; fix the caller.
    #[error("cannot chart this input: {0}")]
    Input(String),
    /// The drawing library failed.
    #[error("chart drawing failed: {0}")]
    Draw(String),
    /// Compressing the image failed (in memory, so practically never).
    #[error("PNG encoding failed: {0}")]
    Encode(#[from] std::io::Error),
}

/// Accepted image sizes, in pixels per side.
pub const SIZE_RANGE: std::ops::RangeInclusive<u32> = 320..=4096;

pub(crate) const BACKGROUND: RGBAColor = rgb(13, 17, 23);
pub(crate) const PANEL: RGBAColor = rgb(17, 21, 30);
pub(crate) const GRID: RGBAColor = rgba(255, 255, 255, 0.08);
pub(crate) const TEXT: RGBAColor = rgb(230, 237, 243);
pub(crate) const MUTED: RGBAColor = rgb(139, 148, 158);
pub(crate) const UP: RGBAColor = rgb(38, 166, 154);
pub(crate) const DOWN: RGBAColor = rgb(239, 83, 80);

/// Empty bars right of the last candle: room for the "now" strip where current clusters show.
const RIGHT_PAD_BARS: i64 = 6;

/// Renders the alert chart as a `width` × `height` PNG; 1280 × 800 is the design size, and type
/// scales with the image. The title shows the last bar's open time.
pub fn render_png(input: &ChartInput<'_>, width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    check_size(width, height)?;
    let interval = validate(input)?;
    let mut buf = vec![0u8; width as usize * height as usize * 3];
    {
        let canvas = Canvas::new(
            &mut buf,
            (width, height),
            BACKGROUND,
            ui_scale(width, height),
        )?;
        draw_chart(&canvas, input, interval, (width, height))?;
        canvas.finish()?;
    }
    encode_png(&buf, width, height)
}

fn check_size(width: u32, height: u32) -> Result<(), ChartError> {
    if SIZE_RANGE.contains(&width) && SIZE_RANGE.contains(&height) {
        Ok(())
    } else {
        Err(ChartError::Input(format!(
            "image size {width}x{height} outside {SIZE_RANGE:?} per side"
        )))
    }
}

/// Type and stroke scale: 1.0 for a 1280 × 800 image.
fn ui_scale(width: u32, height: u32) -> f64 {
    (f64::from(width) / 1280.0)
        .min(f64::from(height) / 800.0)
        .clamp(0.7, 2.5)
}

/// Checks the per-candle series and returns the bar spacing in milliseconds.
fn validate(input: &ChartInput<'_>) -> Result<i64, ChartError> {
    let n = input.candles.len();
    if n == 0 {
        return Err(ChartError::Input("no candles".into()));
    }
    if input.rsi.len() != n || input.regimes.len() != n {
        return Err(ChartError::Input(format!(
            "{n} candles but {} RSI values and {} regimes",
            input.rsi.len(),
            input.regimes.len()
        )));
    }
    if !input
        .candles
        .iter()
        .any(|c| c.low.is_finite() && c.high.is_finite())
    {
        return Err(ChartError::Input("no candle has a finite price".into()));
    }
    let spacing = input
        .candles
        .windows(2)
        .map(|w| w[1].open_time - w[0].open_time)
        .filter(|d| *d > 0)
        .min();
    let fallback = input.heat.iter().map(|h| h.width_ms).find(|w| *w > 0);
    Ok(spacing.or(fallback).unwrap_or(HOUR_MS))
}

fn draw_chart(
    c: &Canvas<'_>,
    input: &ChartInput<'_>,
    interval: i64,
    size: (u32, u32),
) -> Result<(), ChartError> {
    let (w, h) = (size.0 as i32, size.1 as i32);
    let (title_h, footer_h, axis_w) = (c.px(46.0), c.px(28.0), c.px(84.0));
    let (time_axis_h, gap, left) = (c.px(22.0), c.px(10.0), c.px(12.0));
    let body = h - title_h - footer_h - time_axis_h - gap;
    let price_h = body * 70 / 100;
    let first = input.candles[0].open_time;
    let last = input.candles[input.candles.len() - 1].open_time;
    let (t0, t1) = (first as f64, (last + interval * RIGHT_PAD_BARS) as f64);
    let (v0, v1) = price::value_range(input);
    let (rsi_lo, rsi_hi) = rsi::value_range(input.rsi);
    let price_frame = Frame {
        left,
        top: title_h,
        right: w - axis_w,
        bottom: title_h + price_h,
        t0,
        t1,
        v0,
        v1,
    };
    let rsi_frame = Frame {
        top: price_frame.bottom + gap,
        bottom: h - footer_h - time_axis_h,
        v0: rsi_lo,
        v1: rsi_hi,
        ..price_frame
    };
    draw_title(c, input, price_frame.right + axis_w)?;
    price::draw(c, &price_frame, input, interval)?;
    rsi::draw(c, &rsi_frame, input, interval)?;
    draw_time_axis(c, &[price_frame, rsi_frame], first, last + interval)?;
    c.footer(input.footer, left, w - c.px(12.0), h - footer_h / 2)
}

fn draw_title(c: &Canvas<'_>, input: &ChartInput<'_>, right: i32) -> Result<(), ChartError> {
    let y = c.px(24.0);
    let mut x = c.px(12.0);
    c.text(input.symbol, (x, y), 22.0, TEXT, Align::Left)?;
    x += c.text_width(input.symbol, 22.0) + c.px(10.0);
    c.text(input.interval_label, (x, y), 22.0, MUTED, Align::Left)?;
    x += c.text_width(input.interval_label, 22.0) + c.px(18.0);
    let last = input.candles[input.candles.len() - 1];
    let first = input.candles[0];
    let change = (last.close / first.open - 1.0) * 100.0;
    let info = format!(
        "{} UTC   close {}",
        format_utc(last.open_time),
        scale::fmt_price(last.close)
    );
    c.text(&info, (x, y), 14.0, TEXT, Align::Left)?;
    x += c.text_width(&info, 14.0) + c.px(10.0);
    let n = input.candles.len();
    if change.is_finite() {
        let plural = if n == 1 { "" } else { "s" };
        let window = format!("{change:+.1}% over {n} bar{plural}");
        let color = if change >= 0.0 { UP } else { DOWN };
        c.text(&window, (x, y), 14.0, color, Align::Left)?;
    }
    draw_heat_legend(c, right - c.px(12.0), y)
}

/// "est. liquidation notional  low ▮▮▮▮ high", right-aligned at `right`.
fn draw_heat_legend(c: &Canvas<'_>, right: i32, y: i32) -> Result<(), ChartError> {
    let bar_w = c.px(120.0);
    let half = c.px(6.0);
    let high_x = right - c.text_width("high", 12.0);
    c.text("high", (high_x, y), 12.0, MUTED, Align::Left)?;
    let bar_right = high_x - c.px(6.0);
    let bar_left = bar_right - bar_w;
    for i in 0..bar_w {
        let t = f64::from(i) / f64::from(bar_w - 1);
        let x = bar_left + i;
        c.fill((x, y - half), (x, y + half), scale::heat_color(t))?;
    }
    c.text("low", (bar_left - c.px(6.0), y), 12.0, MUTED, Align::Right)?;
    let label = "est. liquidation notional";
    let low_w = c.text_width("low", 12.0);
    let x = bar_left - low_w - c.px(14.0);
    c.text(label, (x, y), 12.0, MUTED, Align::Right)
}

fn regime_color(r: Regime) -> RGBAColor {
    match r {
        Regime::Bull => UP,
        Regime::Bear => DOWN,
        Regime::Range => MUTED,
    }
}

/// Vertical grid lines through every panel and time labels under the last one.
pub(crate) fn draw_time_axis(
    c: &Canvas<'_>,
    frames: &[Frame],
    t0: TimeMs,
    t1: TimeMs,
) -> Result<(), ChartError> {
    let Some(bottom) = frames.last() else {
        return Ok(());
    };
    let max_ticks = ((bottom.right - bottom.left) / c.px(110.0)).max(2) as usize;
    let (ticks, step) = time_ticks(t0, t1, max_ticks);
    for t in ticks {
        let x = bottom.x(t as f64);
        for f in frames {
            c.fill((x, f.top + 1), (x, f.bottom - 1), GRID)?;
        }
        let label = fmt_time_tick(t, step);
        let half = c.text_width(&label, 11.0) / 2;
        let at = (
            x.clamp(bottom.left + half, bottom.right - half),
            bottom.bottom + c.px(11.0),
        );
        c.text(&label, at, 11.0, MUTED, Align::Center)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
