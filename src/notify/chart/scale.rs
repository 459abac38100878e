//! Scales for the charts: data-to-pixel frames, axis ticks, number and time labels, and the heat
//! colour map. Pure arithmetic; never draws.

use plotters::style::RGBAColor;

use super::canvas::rgb;
use crate::model::{DAY_MS, HOUR_MS, TimeMs, format_utc};

/// A plot rectangle in pixels and the data window it shows (time across, value up).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub(crate) left: i32,
    pub(crate) top: i32,
    pub(crate) right: i32,
    pub(crate) bottom: i32,
    pub(crate) t0: f64,
    pub(crate) t1: f64,
    pub(crate) v0: f64,
    pub(crate) v1: f64,
}

impl Frame {
    /// Pixel column of time `t`, clamped to the frame.
    pub(crate) fn x(&self, t: f64) -> i32 {
        let f = (t - self.t0) / (self.t1 - self.t0);
        let x = f64::from(self.left) + f * f64::from(self.right - self.left);
        (x.round() as i32).clamp(self.left, self.right)
    }

    /// Pixel row of value `v`, clamped to the frame.
    pub(crate) fn y(&self, v: f64) -> i32 {
        let f = (v - self.v0) / (self.v1 - self.v0);
        let y = f64::from(self.bottom) - f * f64::from(self.bottom - self.top);
        (y.round() as i32).clamp(self.top, self.bottom)
    }

    pub(super) fn contains_value(&self, v: f64) -> bool {
        v >= self.v0 && v <= self.v1
    }

    /// Pixels per millisecond across.
    pub(super) fn px_per_ms(&self) -> f64 {
        f64::from(self.right - self.left) / (self.t1 - self.t0)
    }
}

/// A 1-2-5 step giving at most `max_ticks` ticks over `range`.
pub(crate) fn nice_step(range: f64, max_ticks: usize) -> f64 {
    let raw = range / max_ticks.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * mag)
}

/// Multiples of `step` inside `[lo, hi]`.
pub(crate) fn ticks(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

pub(super) use crate::numbers::{group, price as fmt_price};

/// An axis label for a tick on a grid of `step`.
pub(crate) fn fmt_tick(v: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let decimals = if (step * 10f64.powi(decimals as i32)).fract().abs() > 1e-9 {
        decimals + 1
    } else {
        decimals
    };
    group(v, decimals)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Time-axis ticks: a calendar-aligned step giving at most `max_ticks` over `[t0, t1]`.
pub(super) fn time_ticks(t0: TimeMs, t1: TimeMs, max_ticks: usize) -> (Vec<TimeMs>, TimeMs) {
    let steps = [1, 2, 3, 4, 6, 12].map(|h| h * HOUR_MS);
    let days = [1, 2, 3, 7, 14, 28, 56, 112].map(|d| d * DAY_MS);
    let span = (t1 - t0).max(1);
    let step = steps
        .into_iter()
        .chain(days)
        .find(|s| span / s <= max_ticks.max(1) as i64)
        .unwrap_or(364 * DAY_MS);
    // Weeks and longer start on Mondays (the epoch was a Thursday).
    let origin = if step >= 7 * DAY_MS { 4 * DAY_MS } else { 0 };
    let first = (t0 - origin).div_euclid(step) * step + origin;
    let ticks = (0..)
        .map(|k| first + k * step)
        .skip_while(|&t| t < t0)
        .take_while(|&t| t <= t1)
        .collect();
    (ticks, step)
}

/// `Mar 07` at midnight or for day steps, `12:00` within a day.
pub(super) fn fmt_time_tick(t: TimeMs, step: TimeMs) -> String {
    let text = format_utc(t); // YYYY-MM-DD HH:MM
    let month = text[5..7].parse::<usize>().unwrap_or(1);
    if step >= DAY_MS || t.rem_euclid(DAY_MS) == 0 {
        format!("{} {}", MONTHS[(month + 11) % 12], &text[8..10])
    } else {
        text[11..16].to_owned()
    }
}

/// Colour stops of the heat map, navy through violet to amber and pale yellow: perceptually
/// ordered on the dark panel and clear of both candle colours (teal up, red down).
const HEAT_STOPS: [(f64, (u8, u8, u8)); 6] = [
    (0.00, (24, 30, 72)),
    (0.25, (48, 64, 150)),
    (0.50, (118, 72, 178)),
    (0.72, (196, 108, 140)),
    (0.88, (240, 170, 60)),
    (1.00, (255, 240, 150)),
];

/// The heat colour for intensity `t` in 0..=1.
pub(super) fn heat_color(t: f64) -> RGBAColor {
    let t = t.clamp(0.0, 1.0);
    let i = HEAT_STOPS.iter().position(|s| s.0 >= t).unwrap_or(0).max(1);
    let ((t0, a), (t1, b)) = (HEAT_STOPS[i - 1], HEAT_STOPS[i]);
    let f = (t - t0) / (t1 - t0);
    let mix = |x: u8, y: u8| (f64::from(x) + f * (f64::from(y) - f64::from(x))).round() as u8;
    rgb(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Intensity against the field's strong end (its 99th percentile): a gamma on the share, so
/// strong levels stand out, and nothing under [`HeatScale::FLOOR`] of it, so weak ones fade.
#[derive(Debug, Clone, Copy)]
pub(super) struct HeatScale {
    reference: f64,
}

impl HeatScale {
    /// Shares of the strong end below this are not drawn.
    pub(super) const FLOOR: f64 = 0.12;

    /// `None` when there is nothing to show.
    pub(super) fn from_values(mut values: Vec<f64>) -> Option<Self> {
        values.retain(|v| v.is_finite() && *v > 0.0);
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let reference = values[((values.len() - 1) as f64 * 0.99).round() as usize];
        Some(HeatScale { reference })
    }

    /// 0..=1, or `None` for a band too weak to show.
    pub(super) fn intensity(&self, v: f64) -> Option<f64> {
        let share = v / self.reference;
        if !(share.is_finite() && share >= Self::FLOOR) {
            return None;
        }
        Some(share.powf(0.8).min(1.0))
    }
}
