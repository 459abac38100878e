//! Chart images for alerts, `/pair`, the summary and `liqwave heatmap --png`, one style for all:
//! candles over the estimated map's past, the current map as a profile at the right, the alert's
//! levels and touched cluster, an RSI-regime panel; and the market-wide regime board. Rendered to
//! PNG bytes in memory, sized for a phone. Pure: never reads files, fonts installed on the machine
//! or the clock; every value it draws arrives in its input.

mod board;
pub(crate) mod canvas;
mod price;
mod realized;
mod rsi;
pub(crate) mod scale;

use plotters::style::RGBAColor;

use self::canvas::{Align, Canvas, encode_png, rgb, rgba};
use self::scale::{Frame, fmt_time_tick, time_ticks};
use crate::analytics::regime::Regime;
use crate::model::{Candle, HOUR_MS, TimeMs, format_utc};

pub use crate::view::{
    ChartLevel, ChartSeries, ClusterBand, HeatBand, HeatColumn, HistoryColumn, LevelKind,
    RealizedBar,
};

pub use self::board::{
    BoardCell, BoardInput, BoardRow, MAX_BOARD_ROWS, board_size, drawn_columns, render_board_png,
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
    /// The map's past, one column per bar, drawn behind the candles.
    pub history: &'a [HistoryColumn],
    /// The current map; its last column is drawn as the profile at the right.
    pub heat: &'a [HeatColumn],
    /// Current clusters, drawn in the profile with their edges and labels; a touched one stands
    /// out across the panel.
    pub clusters: &'a [ClusterBand],
    /// Entry, stop and targets, drawn as labelled lines.
    pub levels: &'a [ChartLevel],
    /// Real liquidation prints per bar (by open time; bars without prints left out): a panel
    /// under the price panel when any falls in the candles' window.
    pub realized: &'a [RealizedBar],
    pub mark_price: Option<f64>,
    /// The moment shown (the title's time); 0: the last candle's close.
    pub as_of: TimeMs,
    /// What the chart is about, under the title; may be empty.
    pub note: &'a str,
    /// Bottom line, e.g. `estimated liquidation map · mode oi · coverage 0.62`.
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
            history: &self.history,
            heat: &self.heat,
            clusters: &self.clusters,
            levels: &self.levels,
            realized: &self.realized,
            mark_price: self.mark_price,
            as_of: self.as_of,
            note: &self.note,
            footer: &self.footer,
        }
    }

    /// The chart as PNG bytes at the size every sink uses ([`CHART_SIZE`]).
    pub fn render(&self) -> Result<Vec<u8>, ChartError> {
        render_png(&self.input(), CHART_SIZE.0, CHART_SIZE.1)
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
pub(crate) const UP: RGBAColor = rgb(38, 214, 160);
pub(crate) const DOWN: RGBAColor = rgb(255, 82, 96);
/// Highlights: the touched cluster and a setup's entry.
pub(crate) const ACCENT: RGBAColor = rgb(255, 214, 64);

/// The design size: type and strokes are set for it and scale with the image.
const DESIGN: (f64, f64) = (720.0, 800.0);
/// What sinks send: 5/3 of the design, so a phone showing it ~400 pt wide at 3 px per point gets
/// every pixel, and the smallest type (14 design px) still reads at 7.8 pt, labels at 9 pt.
pub const CHART_SIZE: (u32, u32) = (1200, 1333);

/// Renders the chart as a `width` × `height` PNG; type scales with the image. The title shows
/// the moment of `as_of`.
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

/// Type and stroke scale: 1.0 for an image of the design size.
fn ui_scale(width: u32, height: u32) -> f64 {
    (f64::from(width) / DESIGN.0)
        .min(f64::from(height) / DESIGN.1)
        .clamp(0.4, 5.0)
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
    let title_h = c.px(if input.note.is_empty() { 52.0 } else { 84.0 });
    let (footer_h, axis_w) = (c.px(30.0), c.px(92.0));
    let (time_axis_h, gap, left) = (c.px(26.0), c.px(8.0), c.px(8.0));
    let body = h - title_h - footer_h - time_axis_h - gap;
    let realized = realized::in_window(input, interval);
    // The realized panel, when drawn, takes its height from the price panel.
    let (price_h, realized_h) = if realized.is_empty() {
        (body * 74 / 100, 0)
    } else {
        (body * 60 / 100, body * 14 / 100)
    };
    let first = input.candles[0].open_time;
    let last = input.candles[input.candles.len() - 1].open_time;
    let (t0, t1) = (first as f64, (last + interval) as f64);
    let (v0, v1) = price::value_range(input);
    let (rsi_lo, rsi_hi) = rsi::value_range(input.rsi);
    let right = w - axis_w;
    // The current map's profile takes the right of the panels; candles and the past the rest.
    let profile_w = (right - left) * 22 / 100;
    let price_frame = Frame {
        left,
        top: title_h,
        right: right - profile_w,
        bottom: title_h + price_h,
        t0,
        t1,
        v0,
        v1,
    };
    let realized_frame = Frame {
        top: price_frame.bottom + gap,
        bottom: price_frame.bottom + gap + realized_h - gap,
        ..price_frame
    };
    let rsi_frame = Frame {
        top: price_frame.bottom + gap + realized_h,
        bottom: h - footer_h - time_axis_h,
        v0: rsi_lo,
        v1: rsi_hi,
        ..price_frame
    };
    draw_title(c, input, interval, w)?;
    price::draw(c, &price_frame, right, input, interval)?;
    let mut frames = vec![price_frame];
    if !realized.is_empty() {
        realized::draw(c, &realized_frame, right, &realized, interval)?;
        frames.push(realized_frame);
    }
    rsi::draw(c, &rsi_frame, right, input, interval)?;
    frames.push(rsi_frame);
    draw_time_axis(c, &frames, first, last + interval, 15.0)?;
    let y = h - footer_h / 2;
    c.text(input.footer, (left, y), 14.0, MUTED, Align::Left)?;
    c.text("liqwave", (w - c.px(10.0), y), 14.0, MUTED, Align::Right)
}

fn draw_title(
    c: &Canvas<'_>,
    input: &ChartInput<'_>,
    interval: i64,
    width: i32,
) -> Result<(), ChartError> {
    let y = c.px(26.0);
    let mut x = c.px(10.0);
    c.text(input.symbol, (x, y), 28.0, TEXT, Align::Left)?;
    x += c.text_width(input.symbol, 28.0) + c.px(8.0);
    c.text(input.interval_label, (x, y), 22.0, MUTED, Align::Left)?;
    x += c.text_width(input.interval_label, 22.0) + c.px(14.0);
    let last = input.candles[input.candles.len() - 1];
    let as_of = if input.as_of > 0 {
        input.as_of
    } else {
        last.open_time + interval
    };
    let price = input.mark_price.unwrap_or(last.close);
    let info = format!("{} UTC · {}", format_utc(as_of), scale::fmt_price(price));
    c.text(&info, (x, y), 20.0, TEXT, Align::Left)?;
    let first = input.candles[0];
    let change = (price / first.open - 1.0) * 100.0;
    if change.is_finite() {
        let days = (as_of - first.open_time) as f64 / 86_400_000.0;
        let window = format!("{change:+.1}% in {days:.0}d");
        let color = if change >= 0.0 { UP } else { DOWN };
        c.text(&window, (width - c.px(10.0), y), 18.0, color, Align::Right)?;
    }
    if !input.note.is_empty() {
        // Shrunk to fit one line rather than cut: it is what the chart is about.
        let room = width - c.px(20.0);
        let mut size: f64 = 20.0;
        while size > 13.0 && c.text_width(input.note, size) > room {
            size -= 1.0;
        }
        c.text(
            input.note,
            (c.px(10.0), c.px(62.0)),
            size,
            ACCENT,
            Align::Left,
        )?;
    }
    Ok(())
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
    size: f64,
) -> Result<(), ChartError> {
    let Some(bottom) = frames.last() else {
        return Ok(());
    };
    let max_ticks = ((bottom.right - bottom.left) / c.px(size * 10.0)).max(2) as usize;
    let (ticks, step) = time_ticks(t0, t1, max_ticks);
    for t in ticks {
        let x = bottom.x(t as f64);
        for f in frames {
            c.fill((x, f.top + 1), (x, f.bottom - 1), GRID)?;
        }
        let label = fmt_time_tick(t, step);
        let half = c.text_width(&label, size) / 2;
        let at = (
            x.clamp(bottom.left + half, bottom.right - half),
            bottom.bottom + c.px(size),
        );
        c.text(&label, at, size, MUTED, Align::Center)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
