//! What a pair's real liquidation prints teach: their notional per 4h bar (aligned with the
//! trail, so a chart draws one value per bar), the prices where large ones happened (levels) and
//! the `exhaustion` reading (a move whose losing side stopped being liquidated). Pure: prints in,
//! readings out; never reads the clock (time is an argument) and never raises alerts.
//!
//! Bounded so the pair snapshot stays small (about 1 KB when full): the last [`TAPE_BARS`] bars
//! in whole cents, the price buckets of the bar being filled ([`BUCKET_SLOTS`]) and the strongest
//! earlier buckets ([`LEVEL_SLOTS`]). A print counts in the 4h bar of its own time, whether it
//! arrives before or after that bar's close.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::trail::{TRAIL_BARS, Trail};
use crate::model::{DAY_MS, Interval, Liquidation, Side, TimeMs};

/// The trail's bars and the one still forming.
pub const TAPE_BARS: usize = TRAIL_BARS + 1;
/// Price buckets of the bar being filled; beyond, the weakest is dropped (a 4 % range in 4h).
pub const BUCKET_SLOTS: usize = 16;
/// Buckets kept from earlier bars: the strongest.
pub const LEVEL_SLOTS: usize = 8;
/// Width of a price bucket: 0.25 % (log-spaced). Fixed, not a parameter: stored buckets are cut
/// by it.
pub const BUCKET_RATIO: f64 = 1.0025;
const H4: TimeMs = 4 * crate::model::HOUR_MS;

/// How levels and the exhaustion reading are judged. Plain data; [`RealizedParams::DEFAULT`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RealizedParams {
    /// A level is large when its notional is at least this many typical 4h bars' realized
    /// notional (both sides; default 1.0: one price bucket held a whole typical bar).
    pub level_multiple: f64,
    /// Levels shown, strongest first (default 3).
    pub max_levels: usize,
    /// Levels whose last print is older than this are gone (default 30 days).
    pub level_max_age_ms: TimeMs,
    /// Exhaustion looks at this many closed 4h bars (default 6: one day).
    pub exhaustion_bars: usize,
    /// ... over which price moved by at least this much, in percent (default 3).
    pub exhaustion_move_pct: f64,
    /// ... while the losing side's realized notional stayed at most this share of its typical
    /// notional over as many bars (default 0.5).
    pub exhaustion_ratio: f64,
    /// Fewest 4h bars the prints must cover before "typical" means anything (default 12: two
    /// days); fewer give no levels and no reading.
    pub min_record_bars: usize,
}

impl RealizedParams {
    pub const DEFAULT: RealizedParams = RealizedParams {
        level_multiple: 1.0,
        max_levels: 3,
        level_max_age_ms: 30 * DAY_MS,
        exhaustion_bars: 6,
        exhaustion_move_pct: 3.0,
        exhaustion_ratio: 0.5,
        min_record_bars: 12,
    };
}

impl Default for RealizedParams {
    fn default() -> Self {
        RealizedParams::DEFAULT
    }
}

/// Realized liquidations of one 4h bar, by the side of the positions closed, as read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RealizedBar {
    pub open_time: TimeMs,
    pub long_usd: f64,
    pub short_usd: f64,
    pub long_prints: u32,
    pub short_prints: u32,
}

impl RealizedBar {
    pub fn usd(&self, side: Side) -> f64 {
        match side {
            Side::Long => self.long_usd,
            Side::Short => self.short_usd,
        }
    }

    pub fn total_usd(&self) -> f64 {
        self.long_usd + self.short_usd
    }
}

/// One bar as kept: whole cents, so sums are exact, independent of order, and small as varints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
struct Sums {
    long_cents: u64,
    short_cents: u64,
    long_prints: u32,
    short_prints: u32,
}

impl Sums {
    fn cents(&self, side: Side) -> u64 {
        match side {
            Side::Long => self.long_cents,
            Side::Short => self.short_cents,
        }
    }

    fn read(&self, open_time: TimeMs) -> RealizedBar {
        RealizedBar {
            open_time,
            long_usd: self.long_cents as f64 / 100.0,
            short_usd: self.short_cents as f64 / 100.0,
            long_prints: self.long_prints,
            short_prints: self.short_prints,
        }
    }
}

/// A print's notional in whole cents (rounded half up; saturates far beyond any real print).
fn cents(usd: f64) -> u64 {
    (usd * 100.0).round() as u64
}

/// Realized liquidations of one side in one 0.25 % price bucket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RealizedLevel {
    pub side: Side,
    bucket: i32,
    cents: u64,
    pub prints: u32,
    /// The last print's time.
    pub last_time: TimeMs,
}

impl RealizedLevel {
    /// The middle of its bucket (geometric): within 0.125 % of every print in it.
    pub fn price(&self) -> f64 {
        BUCKET_RATIO.powf(f64::from(self.bucket) + 0.5)
    }

    pub fn notional_usd(&self) -> f64 {
        self.cents as f64 / 100.0
    }

    fn add(&mut self, other: &RealizedLevel) {
        self.cents = self.cents.saturating_add(other.cents);
        self.prints += other.prints;
        self.last_time = self.last_time.max(other.last_time);
    }
}

/// Which way price went over the exhaustion window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceMove {
    Falling,
    Rising,
}

impl PriceMove {
    /// The positions a move liquidates: a fall closes longs.
    pub fn losing_side(self) -> Side {
        match self {
            PriceMove::Falling => Side::Long,
            PriceMove::Rising => Side::Short,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PriceMove::Falling => "falling",
            PriceMove::Rising => "rising",
        }
    }
}

/// Price moved, but the side it should liquidate was hardly liquidated.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Exhaustion {
    pub direction: PriceMove,
    /// The 4h bars of the window.
    pub bars: usize,
    /// Over the window, percent (negative when falling).
    pub move_pct: f64,
    /// The losing side's realized notional over the window.
    pub realized_usd: f64,
    /// Its typical notional over as many bars (mean per bar of the record × bars).
    pub typical_usd: f64,
    /// `realized_usd / typical_usd`.
    pub ratio: f64,
}

/// Why there is no reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoReading {
    NoPrints,
    /// The prints cover fewer bars than `min_record_bars` (the count).
    ShortRecord(usize),
    /// Fewer closed 4h bars than the window.
    ShortTrail,
    /// Not one print of the losing side in the record.
    NoneOfSide(Side),
}

impl std::fmt::Display for NoReading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoReading::NoPrints => f.write_str("no prints recorded"),
            NoReading::ShortRecord(n) => write!(f, "prints recorded over {n} 4h bars only"),
            NoReading::ShortTrail => f.write_str("too few closed 4h bars"),
            NoReading::NoneOfSide(s) => write!(f, "no {} liquidations recorded", s.as_str()),
        }
    }
}

/// What [`RealizedTape::exhaustion`] finds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reading {
    Unknown(NoReading),
    /// No move large enough, or the losing side was liquidated as usual.
    NotExhausted,
    Exhausted(Exhaustion),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RealizedTape {
    /// Open time of `bars[0]`.
    base: TimeMs,
    /// One entry per 4h bar from `base`, at most [`TAPE_BARS`], oldest first.
    bars: VecDeque<Sums>,
    /// The bar of the first print kept: where the record begins (bars since then without a
    /// print had none).
    first_open: Option<TimeMs>,
    /// The newest bar's buckets, not yet folded into `levels`.
    filling: Vec<RealizedLevel>,
    /// The bar `filling` belongs to.
    filling_open: Option<TimeMs>,
    /// The strongest buckets of earlier bars.
    levels: Vec<RealizedLevel>,
    /// Prints older than the tape's window: counted, not kept.
    late: u64,
}

impl RealizedTape {
    /// One print. Bad prices or quantities are ignored.
    pub fn on_print(&mut self, l: &Liquidation) {
        let usd = l.notional();
        if !(usd.is_finite() && usd > 0.0 && l.price > 0.0) {
            return;
        }
        let open = Interval::H4.bar_open(l.time);
        let Some(bar) = self.slot(open) else {
            self.late += 1;
            return;
        };
        let cents = cents(usd);
        match l.side {
            Side::Long => (bar.long_cents += cents, bar.long_prints += 1),
            Side::Short => (bar.short_cents += cents, bar.short_prints += 1),
        };
        self.first_open = Some(self.first_open.map_or(open, |f| f.min(open)));
        self.add_to_bucket(open, l, cents);
    }

    /// The sums of the bar opening at `open`, the window moved on to it when it is newer;
    /// `None` when it is older than the window.
    fn slot(&mut self, open: TimeMs) -> Option<&mut Sums> {
        let window = TAPE_BARS as TimeMs * H4;
        let newest = self.base + (self.bars.len() as TimeMs - 1) * H4;
        if self.bars.is_empty() || open >= newest + window {
            // The first print, or one so much later that nothing kept is in its window.
            self.bars.clear();
            self.base = open;
        } else if open < self.base {
            if open <= newest - window {
                return None;
            }
            while self.base > open {
                self.bars.push_front(Sums::default());
                self.base -= H4;
            }
        }
        let at = ((open - self.base) / H4) as usize;
        while self.bars.len() <= at {
            self.bars.push_back(Sums::default());
        }
        while self.bars.len() > TAPE_BARS {
            self.bars.pop_front();
            self.base += H4;
        }
        self.bars.get_mut(((open - self.base) / H4) as usize)
    }

    /// Into the bucket of the bar being filled; a print of a later bar folds that bar's
    /// buckets into the levels first. A print of an earlier bar joins the levels directly.
    fn add_to_bucket(&mut self, open: TimeMs, l: &Liquidation, cents: u64) {
        let one = RealizedLevel {
            side: l.side,
            bucket: (l.price.ln() / BUCKET_RATIO.ln()).floor() as i32,
            cents,
            prints: 1,
            last_time: l.time,
        };
        match self.filling_open {
            Some(f) if open < f => return merge(&mut self.levels, one, LEVEL_SLOTS),
            Some(f) if open > f => {
                for level in std::mem::take(&mut self.filling) {
                    merge(&mut self.levels, level, LEVEL_SLOTS);
                }
            }
            _ => {}
        }
        self.filling_open = Some(open);
        merge(&mut self.filling, one, BUCKET_SLOTS);
    }

    /// Every bar of the window with its open time, oldest first.
    fn all_bars(&self) -> impl Iterator<Item = (TimeMs, &Sums)> {
        (self.bars.iter().enumerate()).map(|(i, s)| (self.base + i as TimeMs * H4, s))
    }

    /// Bars with prints, oldest first.
    pub fn bars(&self) -> impl Iterator<Item = RealizedBar> + '_ {
        (self.all_bars())
            .filter(|(_, s)| s.long_prints + s.short_prints > 0)
            .map(|(t, s)| s.read(t))
    }

    /// The bar opening at `open_time`, if it had prints.
    pub fn bar(&self, open_time: TimeMs) -> Option<RealizedBar> {
        let at = usize::try_from((open_time - self.base) / H4).ok()?;
        let aligned = (open_time - self.base) % H4 == 0;
        let sums = self
            .bars
            .get(at)
            .filter(|s| aligned && s.long_prints + s.short_prints > 0)?;
        Some(sums.read(open_time))
    }

    /// Cents of `side` (`None`: both) in the bars opening in `[from, through]`.
    fn sum(&self, from: TimeMs, through: TimeMs, side: Option<Side>) -> f64 {
        let cents: u64 = (self.all_bars())
            .filter(|(t, _)| (from..=through).contains(t))
            .map(|(_, s)| side.map_or(s.long_cents + s.short_cents, |side| s.cents(side)))
            .sum();
        cents as f64 / 100.0
    }

    /// Prints that came too late to be kept.
    pub fn late(&self) -> u64 {
        self.late
    }

    /// The bars the record covers up to the bar opening at `through`, within the tape's window:
    /// `(first bar open, count)`; `None` before the first print.
    fn record(&self, through: TimeMs) -> Option<(TimeMs, usize)> {
        let oldest = through - (TAPE_BARS as TimeMs - 1) * H4;
        let from = self.first_open?.max(oldest);
        (through >= from).then(|| (from, ((through - from) / H4) as usize + 1))
    }

    /// Mean realized notional per 4h bar over the record up to `through` (`side` `None`: both),
    /// and the bars it covers.
    fn typical(&self, through: TimeMs, side: Option<Side>) -> Option<(f64, usize)> {
        let (from, n) = self.record(through)?;
        Some((self.sum(from, through, side) / n as f64, n))
    }

    /// The large levels at `now`, strongest first: buckets whose notional reaches
    /// `level_multiple` typical 4h bars, last hit within `level_max_age_ms`. Empty before the
    /// record covers `min_record_bars`.
    pub fn levels(&self, now: TimeMs, p: &RealizedParams) -> Vec<RealizedLevel> {
        let Some((typical, n)) = self.typical(Interval::H4.bar_open(now), None) else {
            return Vec::new();
        };
        if n < p.min_record_bars {
            return Vec::new();
        }
        let mut all = self.levels.clone();
        for level in &self.filling {
            merge(&mut all, *level, usize::MAX);
        }
        all.retain(|l| {
            now - l.last_time <= p.level_max_age_ms
                && l.last_time <= now
                && l.notional_usd() >= p.level_multiple * typical
        });
        all.sort_by_key(|l| std::cmp::Reverse(l.cents));
        all.truncate(p.max_levels);
        all
    }

    /// Exhaustion over the trail's last `exhaustion_bars` closed bars.
    pub fn exhaustion(&self, trail: &Trail, p: &RealizedParams) -> Reading {
        if self.first_open.is_none() {
            return Reading::Unknown(NoReading::NoPrints);
        }
        let n = p.exhaustion_bars.max(1);
        let bars: Vec<_> = trail
            .bars()
            .skip(trail.bars().len().saturating_sub(n))
            .collect();
        if bars.len() < n {
            return Reading::Unknown(NoReading::ShortTrail);
        }
        let (first, last) = (bars[0].candle, bars[n - 1].candle);
        let Some((_, covered)) = self.record(last.open_time) else {
            return Reading::Unknown(NoReading::ShortRecord(0));
        };
        if covered < p.min_record_bars {
            return Reading::Unknown(NoReading::ShortRecord(covered));
        }
        let move_pct = 100.0 * (last.close / first.open - 1.0);
        let direction = match move_pct {
            m if m <= -p.exhaustion_move_pct => PriceMove::Falling,
            m if m >= p.exhaustion_move_pct => PriceMove::Rising,
            _ => return Reading::NotExhausted,
        };
        let side = direction.losing_side();
        let Some((per_bar, _)) = self.typical(last.open_time, Some(side)) else {
            return Reading::Unknown(NoReading::NoPrints);
        };
        if per_bar <= 0.0 {
            return Reading::Unknown(NoReading::NoneOfSide(side));
        }
        let realized_usd = self.sum(first.open_time, last.open_time, Some(side));
        let typical_usd = per_bar * n as f64;
        let ratio = realized_usd / typical_usd;
        if ratio <= p.exhaustion_ratio {
            Reading::Exhausted(Exhaustion {
                direction,
                bars: n,
                move_pct,
                realized_usd,
                typical_usd,
                ratio,
            })
        } else {
            Reading::NotExhausted
        }
    }
}

/// Adds `one` to its bucket in `slots`, or gives it a slot; past `cap`, the weakest goes.
fn merge(slots: &mut Vec<RealizedLevel>, one: RealizedLevel, cap: usize) {
    let same = |l: &&mut RealizedLevel| l.side == one.side && l.bucket == one.bucket;
    if let Some(level) = slots.iter_mut().find(same) {
        return level.add(&one);
    }
    slots.push(one);
    if slots.len() > cap {
        let weakest = (0..slots.len())
            .min_by_key(|&i| slots[i].cents)
            .expect("a full list");
        slots.swap_remove(weakest);
    }
}

#[cfg(test)]
mod tests;
