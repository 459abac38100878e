//! Scores frozen heatmap frames against realized liquidations, against area-matched baselines,
//! with intervals (heatmap-model.md §4, DESIGN.md §4.5): the statistics behind
//! `liqwave validate-model`. Pure: no I/O, no clock, no global randomness (one seeded SplitMix64).
//! It must never score a print against a frame stamped after it, nor count bins price never
//! reached.
//!
//! Protocol, per realized print at time T:
//! - its frame is the last frame with time t ≤ T; prints before the first frame, or more than
//!   `horizon_ms` after their frame, are unscored and counted;
//! - a frame is judged on its window (t, min(t + horizon, next frame's time)]: the stretch where
//!   it is the freshest map. Frames spaced `horizon` apart give the h-ahead test of §4.2 exactly;
//!   every 5-minute frame gives the freshest-map test. Either way prints and path share a window;
//! - the reached region of a side is what the path traded over that window (longs: from the
//!   lowest low up to the frame's price; shorts: from the price to the highest high), clipped to
//!   the map's ±`window_frac`. A print outside it is unscored and counted;
//! - a print is a hit when its bin is inside a same-side band widened by `tolerance_bins`. The
//!   same widened bands give the area, so tolerance never buys lift;
//! - capture = hit notional / scored notional; area = notional-weighted share of reached bins the
//!   bands cover, i.e. what capture would be if prints fell uniformly over reached bins; lift =
//!   capture / area (1 = no information beyond where price went).

mod baselines;
mod bins;
mod pool;
mod report;
mod score;
mod stats;
mod table;

use serde::{Deserialize, Serialize};

use crate::model::{HOUR_MS, Liquidation, Side, TimeMs};

use bins::{Grid, Span};

pub use pool::{Part, evaluate_pooled};
pub use report::{BaselineKind, BaselineScore, Counts, Score, ValidationReport};
pub use stats::{SplitMix64, bootstrap_ci, quantile, wilson_interval};
pub use table::{render_pooled, render_table};

/// The map frozen at one step, with no look-ahead: what the model predicted at `time`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    pub time: TimeMs,
    /// Mark (or close) price at `time`; distances and windows are measured from it.
    pub price: f64,
    /// Log-grid bin width in basis points; bin = floor(ln p / ln(1 + bin_bp / 10⁴)).
    pub bin_bp: f64,
    /// Predicted long-liquidation mass per absolute bin (below price). Not read by [`evaluate`],
    /// which scores bands; carried so one frozen frame also serves the mass-based metrics of §4.2
    /// (precision@k, PIT) without changing this type.
    pub long_bins: Vec<(i32, f64)>,
    /// Predicted short-liquidation mass per absolute bin (above price); see `long_bins`.
    pub short_bins: Vec<(i32, f64)>,
    /// Predicted clusters: the bands being scored.
    pub clusters: Vec<Band>,
}

impl Frame {
    /// The map's own bands: on each side, the `share` of the window's bins (±`window_frac` of
    /// price) holding the most mass in `long_bins` / `short_bins` (ties: nearer to price first),
    /// one band per bin. Bins without mass are never chosen, so a thin map marks fewer bins and
    /// its area says so.
    pub fn top_mass_bands(&self, share: f64, window_frac: f64) -> Vec<Band> {
        let Some(grid) = Grid::new(self.bin_bp).filter(|_| self.price > 0.0) else {
            return Vec::new();
        };
        let wf = window_frac.clamp(0.0, 0.99);
        let price_bin = grid.bin(self.price);
        let mut out = Vec::new();
        for (side, masses, edge) in [
            (Side::Long, &self.long_bins, self.price * (1.0 - wf)),
            (Side::Short, &self.short_bins, self.price * (1.0 + wf)),
        ] {
            let room = (i64::from(grid.bin(edge)) - i64::from(price_bin)).unsigned_abs() + 1;
            let k = (share.clamp(0.0, 1.0) * room as f64).ceil() as usize;
            let mut bins: Vec<(f64, i64, i32)> = (masses.iter())
                .filter(|(_, m)| m.is_finite() && *m > 0.0)
                .map(|&(b, m)| (m, (i64::from(b) - i64::from(price_bin)).abs(), b))
                .collect();
            bins.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            out.extend(bins.iter().take(k).map(|&(_, _, b)| Band {
                side,
                // Just inside the bin's edges, so rounding never moves a band to a neighbour.
                low: grid.low(b) * (1.0 + 1e-9),
                high: grid.low(b + 1) * (1.0 - 1e-9),
            }));
        }
        out
    }
}

/// A predicted cluster: the liquidated side and its price band `[low, high]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub side: Side,
    pub low: f64,
    pub high: f64,
}

/// A realized forced liquidation, as scored.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Realized {
    pub time: TimeMs,
    /// The position that was liquidated (a SELL forceOrder closes a long).
    pub side: Side,
    /// The price to score at: ideally the mark price at `time` (§4.1), since order and fill
    /// prices sit near bankruptcy, 4–10 bins past the level the model predicts.
    pub price: f64,
    /// Notional in quote currency (USDT); the weight of the print.
    pub notional: f64,
}

impl Realized {
    /// A recorded liquidation scored at `price` (the mark at `l.time` when recorded; `l.price`
    /// otherwise, knowing it is offset), weighted by its order notional.
    pub fn from_liquidation(l: &Liquidation, price: f64) -> Realized {
        Realized {
            time: l.time,
            side: l.side,
            price,
            notional: l.notional(),
        }
    }
}

/// One bar of the price path: the lowest and highest price traded in the bar that *closes* at
/// `time` (for Binance klines, close time + 1 ms = the next open), so it covers the stretch just
/// before `time`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PathBar {
    pub time: TimeMs,
    pub low: f64,
    pub high: f64,
}

/// What a frame's bands are, as whoever froze the frames chose; the report carries it so every
/// table says what was scored.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BandSource {
    /// The clusters the alerts act on (hot runs of the map).
    Clusters,
    /// The map itself: the `share` of each side's window bins holding the most estimated mass
    /// ([`Frame::top_mass_bands`]), a precision-at-k test (heatmap-model.md §4.2) of the map
    /// before any cluster rule.
    TopMass { share: f64 },
}

/// What the bootstrap draws as one unit; prints in one unit move together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BootstrapUnit {
    /// Every print on its own: overstates certainty, since prints judged against one frame share
    /// its bands.
    Print,
    /// Every print judged against frames of one step (one 5-minute close, across symbols when
    /// pooled) together: the honest unit, as those prints share their bands and their market.
    Step,
    /// Prints in the same bucket of this many milliseconds together (e.g. a day, §4.2).
    Block(TimeMs),
}

/// Settings of one validation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationParams {
    /// Longest a frame is trusted for, and the longest window it is judged on (default 4 h).
    pub horizon_ms: TimeMs,
    /// Bins each band is widened by on both sides, for hits and area alike (default 1).
    pub tolerance_bins: u32,
    /// What the frames' bands are (default: the clusters); a label for the report.
    pub bands: BandSource,
    /// Bootstrap resamples per interval (default 1000).
    pub bootstrap_samples: u32,
    /// What one resample draws (default: steps).
    pub bootstrap_unit: BootstrapUnit,
    /// Seeds the bootstrap and the time-shuffled donors; same seed, same report.
    pub seed: u64,
    /// Half-width of the map window around price, as a fraction (default 0.30).
    pub window_frac: f64,
    /// (leverage, weight) tiers of the static-ladder baseline (default: DESIGN.md §4.4).
    pub ladder: Vec<(f64, f64)>,
    /// Maintenance margin rate of the static ladder (default 0.004).
    pub mmr: f64,
    /// Time-shuffled donors are drawn from frames at least this far from the scored one (default
    /// 1 day, §4.2 "a map from another day"): a neighbouring 5-minute map is nearly the model.
    pub shuffle_min_gap_ms: TimeMs,
}

impl Default for ValidationParams {
    fn default() -> Self {
        ValidationParams {
            horizon_ms: 4 * HOUR_MS,
            tolerance_bins: 1,
            bands: BandSource::Clusters,
            bootstrap_samples: 1000,
            bootstrap_unit: BootstrapUnit::Step,
            seed: 0x5EED,
            window_frac: 0.30,
            ladder: vec![
                (3.0, 0.10),
                (5.0, 0.15),
                (10.0, 0.25),
                (20.0, 0.20),
                (25.0, 0.10),
                (50.0, 0.12),
                (75.0, 0.04),
                (100.0, 0.04),
            ],
            mmr: 0.004,
            shuffle_min_gap_ms: 24 * HOUR_MS,
        }
    }
}

/// One side of one frame on the frame's grid.
#[derive(Debug, Clone, Copy)]
struct SideGeo {
    side: Side,
    price_bin: i32,
    /// The map window on this side, price bin included.
    window: Span,
    /// Bins the path traded over on this side; `None` without a path bar in the window.
    reached: Option<Span>,
}

impl SideGeo {
    /// How many bins from price a bin lies on this side, if inside the window.
    fn distance(&self, bin: i32) -> Option<u32> {
        let d = match self.side {
            Side::Long => i64::from(self.price_bin) - i64::from(bin),
            Side::Short => i64::from(bin) - i64::from(self.price_bin),
        };
        let inside = self.window.0 <= bin && bin <= self.window.1;
        u32::try_from(d).ok().filter(|_| inside)
    }

    /// The bin `d` bins from price on this side.
    fn at_distance(&self, d: i64) -> i32 {
        let b = match self.side {
            Side::Long => i64::from(self.price_bin) - d,
            Side::Short => i64::from(self.price_bin) + d,
        };
        b.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
    }
}

/// A frame ready for scoring: its grid and both sides' geometry (long, short).
#[derive(Debug)]
struct Prepared<'a> {
    frame: &'a Frame,
    grid: Grid,
    sides: [SideGeo; 2],
}

fn side_index(side: Side) -> usize {
    match side {
        Side::Long => 0,
        Side::Short => 1,
    }
}

/// The geometry of `frame` judged on (frame.time, end] of the sorted `path`.
fn prepare<'a>(
    frame: &'a Frame,
    grid: Grid,
    end: TimeMs,
    path: &[PathBar],
    p: &ValidationParams,
) -> Prepared<'a> {
    let price = frame.price;
    let wf = p.window_frac.clamp(0.0, 0.99);
    let price_bin = grid.bin(price);
    let from = path.partition_point(|b| b.time <= frame.time);
    let to = path.partition_point(|b| b.time <= end);
    let bars = &path[from..to.max(from)];
    let low = bars.iter().map(|b| b.low).fold(price, f64::min);
    let high = bars.iter().map(|b| b.high).fold(price, f64::max);
    let long_window = (grid.bin(price * (1.0 - wf)), price_bin);
    let short_window = (price_bin, grid.bin(price * (1.0 + wf)));
    let reached = |span: Span| (!bars.is_empty()).then_some(span);
    Prepared {
        frame,
        grid,
        sides: [
            SideGeo {
                side: Side::Long,
                price_bin,
                window: long_window,
                reached: reached((grid.bin(low).max(long_window.0), price_bin)),
            },
            SideGeo {
                side: Side::Short,
                price_bin,
                window: short_window,
                reached: reached((price_bin, grid.bin(high).min(short_window.1))),
            },
        ],
    }
}

/// A print that can be scored.
#[derive(Debug, Clone, Copy)]
struct Event {
    time: TimeMs,
    /// Index of its frame within its part, while that part is scored.
    frame: usize,
    /// Time of its frame: names the frame once parts are pooled.
    frame_time: TimeMs,
    side: usize,
    bin: i32,
    weight: f64,
}

/// Scores `frames` (any order) against `realized` prints, using `path` bars to know what price
/// reached, with the model and every baseline that can be computed. See the module docs for the
/// protocol. Invalid frames, bars and prints are skipped and counted, never fatal.
pub fn evaluate(
    frames: &[Frame],
    path: &[PathBar],
    realized: &[Realized],
    p: &ValidationParams,
) -> ValidationReport {
    evaluate_pooled(
        &[Part {
            frames,
            path,
            realized,
        }],
        p,
    )
}

/// Every print sorted into one count, with the scorable ones as events.
#[derive(Debug, Default)]
struct Sorted {
    counts: Counts,
    realized_notional: f64,
    scored_notional: f64,
    /// Scorable prints in time order.
    events: Vec<Event>,
    /// (time, side, bins from its frame's price) of every print that had a fresh frame, for the
    /// distance-only baseline, which consumes them strictly before each scored frame's time.
    history: Vec<(TimeMs, usize, u32)>,
}

/// Assigns each print to the last frame at or before it and decides whether it can be scored.
fn sort_prints(
    realized: &[Realized],
    times: &[TimeMs],
    prepared: &[Prepared<'_>],
    p: &ValidationParams,
) -> Sorted {
    let mut prints: Vec<&Realized> = realized.iter().collect();
    prints.sort_by_key(|r| r.time);
    let mut out = Sorted::default();
    let c = &mut out.counts;
    for r in prints {
        c.events += 1;
        let ok =
            r.price.is_finite() && r.price > 0.0 && r.notional.is_finite() && r.notional >= 0.0;
        if !ok {
            c.invalid += 1;
            continue;
        }
        out.realized_notional += r.notional;
        let Some(k) = times.partition_point(|&t| t <= r.time).checked_sub(1) else {
            c.before_first_frame += 1;
            continue;
        };
        if r.time.saturating_sub(times[k]) > p.horizon_ms {
            c.stale += 1;
            continue;
        }
        let side = side_index(r.side);
        let geo = &prepared[k].sides[side];
        let bin = prepared[k].grid.bin(r.price);
        if let Some(d) = geo.distance(bin) {
            out.history.push((r.time, side, d));
        }
        match geo.reached {
            None => c.no_path += 1,
            Some((lo, hi)) if bin < lo || bin > hi => c.outside_reached += 1,
            Some(_) => {
                c.scored += 1;
                out.scored_notional += r.notional;
                out.events.push(Event {
                    time: r.time,
                    frame: k,
                    frame_time: times[k],
                    side,
                    bin,
                    weight: r.notional,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
