//! The report's pictures: cumulative R of the setups over time and outcome rates per kind, as PNG.
//! Drawn on the alert charts' canvas (`notify::chart`: bundled font, colours, PNG encoder) at
//! 1280 × 800. Pure: the report in, the same bytes out for the same report; never computes a
//! statistic the report does not already hold.

mod cumulative;
mod rates;

use anyhow::Context;
use plotters::style::RGBAColor;

use super::Report;
use crate::notify::chart::canvas::{Align, Canvas, encode_png, rgb};
use crate::notify::chart::{BACKGROUND, ChartError, MUTED, TEXT};

/// Image size in pixels: the alert charts' design size, drawn at scale 1.
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 800;

/// Heights of the title bar, the footer and the time or value axis under a plot.
const TITLE_H: i32 = 46;
const FOOTER_H: i32 = 28;
const AXIS_H: i32 = 22;
const MARGIN: i32 = 12;

/// One colour per period, in report order (lavender is the alert charts' RSI line).
const PERIOD_COLORS: [RGBAColor; 4] = [
    rgb(190, 170, 255),
    rgb(245, 166, 35),
    rgb(77, 208, 225),
    rgb(255, 138, 200),
];

/// Draws one chart of a report.
type Painter = fn(&Canvas<'_>, &Report) -> Result<(), ChartError>;

/// Every chart of `report` as (file name, PNG bytes).
pub fn charts(report: &Report) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let drawn: [(&str, Painter); 2] = [
        ("setups-cumulative-r.png", cumulative::draw),
        ("outcome-rates.png", rates::draw),
    ];
    drawn
        .into_iter()
        .map(|(name, draw)| {
            let png = render(|c| draw(c, report)).with_context(|| format!("drawing {name}"))?;
            Ok((name.to_owned(), png))
        })
        .collect()
}

/// A `WIDTH` × `HEIGHT` PNG of what `paint` draws on the chart background.
fn render(
    paint: impl FnOnce(&Canvas<'_>) -> Result<(), ChartError>,
) -> Result<Vec<u8>, ChartError> {
    let mut buf = vec![0u8; WIDTH as usize * HEIGHT as usize * 3];
    {
        let c = Canvas::new(&mut buf, (WIDTH, HEIGHT), BACKGROUND, 1.0)?;
        paint(&c)?;
        c.finish()?;
    }
    encode_png(&buf, WIDTH, HEIGHT)
}

fn period_color(i: usize) -> RGBAColor {
    PERIOD_COLORS[i % PERIOD_COLORS.len()]
}

/// The title (large) and a muted subtitle beside it, as the alert charts set theirs.
fn title(c: &Canvas<'_>, title: &str, subtitle: &str) -> Result<(), ChartError> {
    let y = TITLE_H / 2 + 1;
    c.text(title, (MARGIN, y), 22.0, TEXT, Align::Left)?;
    let x = MARGIN + c.text_width(title, 22.0) + 14;
    c.text(subtitle, (x, y), 14.0, MUTED, Align::Left)
}

/// The muted note along the bottom, and the program's name at the right.
fn footer(c: &Canvas<'_>, note: &str) -> Result<(), ChartError> {
    c.footer(
        note,
        MARGIN,
        WIDTH as i32 - MARGIN,
        HEIGHT as i32 - FOOTER_H / 2,
    )
}

/// A polyline in dashes of `dash` pixels with gaps as long.
fn dashed(
    c: &Canvas<'_>,
    points: &[(i32, i32)],
    color: RGBAColor,
    width: u32,
    dash: f64,
) -> Result<(), ChartError> {
    let (mut on, mut left) = (true, dash);
    for w in points.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (dx, dy) = (f64::from(b.0 - a.0), f64::from(b.1 - a.1));
        let len = dx.hypot(dy);
        let at = |s: f64| {
            let p = |a: i32, d: f64| (f64::from(a) + d * s / len).round() as i32;
            (p(a.0, dx), p(a.1, dy))
        };
        let mut done = 0.0;
        while done < len {
            let step = left.min(len - done);
            if on {
                c.line(vec![at(done), at(done + step)], color, width)?;
            }
            (done, left) = (done + step, left - step);
            if left <= 0.0 {
                (on, left) = (!on, dash);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
