//! The 5-minute step and the mark-tick consumption of [`Heatmap`] (heatmap-model.md §5.3). Owns
//! the order of operations and the flow arithmetic; must never touch bins directly (that is
//! `side.rs`) or look at anything but its arguments.

use super::side::SideMass;
use super::{Consumed, Heatmap, HeatmapError, HeatmapParams, Kernel, Mode, StepReport};
use crate::model::{Candle, Side, TimeMs};

/// What the model reads from one closed bar.
struct BarFlow {
    /// Entry price of the bar's new positions: quote/base volume, else the typical price.
    vwap: f64,
    /// Quote volume, or base volume × VWAP when the source lacks it.
    quote_volume: f64,
    /// Taker-buy share of quote volume in [0, 1] (over the estimated quote volume when the bar
    /// has taker-buy but no quote volume); the close-location value `(close − low)/(high − low)`
    /// stands in when the bar has no taker volume at all.
    taker_buy: f64,
}

impl BarFlow {
    fn of(bar: &Candle) -> Self {
        let typical = (bar.high + bar.low + bar.close) / 3.0;
        let vwap = match bar.quote_volume {
            Some(q) if q > 0.0 && bar.volume > 0.0 => (q / bar.volume).clamp(bar.low, bar.high),
            _ => typical,
        };
        let quote_volume = bar
            .quote_volume
            .filter(|q| q.is_finite() && *q >= 0.0)
            .unwrap_or(bar.volume * vwap);
        let clv = if bar.high > bar.low {
            (bar.close - bar.low) / (bar.high - bar.low)
        } else {
            0.5
        };
        let taker_buy = match bar.taker_buy_quote {
            Some(t) if t.is_finite() && quote_volume > 0.0 => t / quote_volume,
            _ => clv,
        };
        BarFlow {
            vwap,
            quote_volume,
            taker_buy: taker_buy.clamp(0.0, 1.0),
        }
    }
}

/// Long share of a flow whose aggressors are `b` buyers, clamped (heatmap-model.md §5.3.3).
fn long_share(p: &HeatmapParams, b: f64) -> f64 {
    (0.5 + p.taker_kappa * (b - 0.5)).clamp(p.taker_share_min, p.taker_share_max)
}

fn valid_bar(bar: &Candle) -> bool {
    let price = |x: f64| x.is_finite() && x > 0.0;
    let volume = |x: f64| x.is_finite() && x >= 0.0;
    price(bar.low)
        && price(bar.high)
        && price(bar.close)
        && bar.low <= bar.high
        && volume(bar.volume)
        && bar.quote_volume.is_none_or(volume)
        && bar.taker_buy_quote.is_none_or(volume)
}

impl Heatmap {
    /// One step at `now` (the bar's close, when it is known) with the closed `bar` and the open
    /// interest in contracts at its close (`None` when the source has none). In order:
    /// decay for the elapsed time; consumption by the bar's low/high; ΔOI·VWAP opening flow split
    /// by the clamped taker-buy share, or closing flow net of what was consumed, removed
    /// proportionally; the OI·price cap.
    ///
    /// Mode: a step with OI runs in `oi` mode (the first one only records the baseline). A step
    /// without OI runs in `volume_proxy` mode until OI has been seen once; after that it stays
    /// `oi` and applies no flow (counted in `oi_missing_steps`), so the next ΔOI spans the gap.
    /// A proxy map that starts receiving OI keeps its mass, which the OI·price cap then bounds.
    pub fn step(
        &mut self,
        kernel: &Kernel,
        now: TimeMs,
        bar: &Candle,
        open_interest: Option<f64>,
    ) -> Result<StepReport, HeatmapError> {
        debug_assert!(
            self.is_compatible(kernel),
            "heatmap stepped with a foreign kernel"
        );
        if !valid_bar(bar) {
            return Err(HeatmapError::BadBar {
                open_time: bar.open_time,
            });
        }
        if let Some(oi) = open_interest.filter(|x| !(x.is_finite() && *x >= 0.0)) {
            return Err(HeatmapError::BadOpenInterest(oi));
        }
        if let Some(last) = self.last_time.filter(|&last| now <= last) {
            return Err(HeatmapError::NotAfterLastStep { now, last });
        }
        let p = kernel.params();
        let flow = BarFlow::of(bar);
        let entry_bin = self.grid.bin_of(flow.vwap);
        let mut r = StepReport {
            time: now,
            mode: self.mode,
            consumed_long: 0.0,
            consumed_short: 0.0,
            opened_long: 0.0,
            opened_short: 0.0,
            closed_long: 0.0,
            closed_short: 0.0,
            decayed: 0.0,
            capped: 0.0,
            dropped: 0.0,
            total_long: 0.0,
            total_short: 0.0,
            coverage: None,
        };

        // Decay first, for the time the existing mass has lived; new deposits are age 0.
        if let Some(last) = self.last_time {
            let factor = (-((now - last) as f64) / p.half_life_ms as f64).exp2();
            r.decayed = self.long.scale_by(factor) + self.short.scale_by(factor);
        }

        // Consumption before any new flow: what the bar crossed was liquidated.
        if !self.anchored {
            self.base = entry_bin - (self.long.len() / 2) as i32;
            self.anchored = true;
        }
        r.consumed_long =
            self.pending.long + self.long.consume(self.base, self.grid.position(bar.low));
        r.consumed_short =
            self.pending.short + self.short.consume(self.base, self.grid.position(bar.high));
        self.pending = Consumed::default();
        r.dropped += self.reanchor(kernel, entry_bin);

        let (mode, net) = match open_interest {
            Some(oi) => (Mode::Oi, self.last_oi.map(|prev| (oi - prev) * flow.vwap)),
            None if self.last_oi.is_some() => {
                self.counters.oi_missing_steps += 1;
                (Mode::Oi, None)
            }
            None => (
                Mode::VolumeProxy,
                Some(p.volume_proxy_factor * flow.quote_volume),
            ),
        };
        r.mode = mode;
        match net {
            Some(n) if n > 0.0 => {
                let s = long_share(p, flow.taker_buy);
                let (dl, xl) =
                    self.long
                        .deposit(self.base, entry_bin, kernel.side(Side::Long), n * s);
                let (ds, xs) = self.short.deposit(
                    self.base,
                    entry_bin,
                    kernel.side(Side::Short),
                    n * (1.0 - s),
                );
                (r.opened_long, r.opened_short, r.dropped) = (dl, ds, r.dropped + xl + xs);
            }
            Some(n) if n < 0.0 => {
                // Liquidations already explain part of the OI drop (heatmap-model.md §5.3.4).
                let rest = (-n - r.consumed_long - r.consumed_short).max(0.0);
                // Aggressive sells close longs: the long share of closing uses 1 − b.
                let sl = long_share(p, 1.0 - flow.taker_buy);
                let open_before = self.last_oi.unwrap_or(0.0) * flow.vwap;
                r.closed_long = close_side(&mut self.long, sl, rest, open_before);
                r.closed_short = close_side(&mut self.short, 1.0 - sl, rest, open_before);
            }
            _ => {}
        }

        let oi_now = open_interest.or(self.last_oi).filter(|_| mode == Mode::Oi);
        if let Some(oi) = oi_now {
            let cap = oi * bar.close;
            r.capped = cap_total(&mut self.long, &mut self.short, cap);
            self.counters.capped_steps += u64::from(r.capped > 0.0);
        }

        self.mode = mode;
        self.last_time = Some(now);
        self.last_price = Some(bar.close);
        self.last_oi = open_interest.or(self.last_oi);
        self.counters.steps += 1;
        match mode {
            Mode::Oi => self.counters.oi_steps += 1,
            Mode::VolumeProxy => self.counters.proxy_steps += 1,
        }
        r.total_long = self.long.total();
        r.total_short = self.short.total();
        r.coverage = self.coverage();
        Ok(r)
    }

    /// Consumption by a mark tick between steps: long mass above `price` and short mass below it
    /// is liquidated. Returns what was consumed; the next step reports it too. Ticks before the
    /// last step, before the first step, or with a non-positive price are ignored and counted.
    pub fn on_mark(&mut self, time: TimeMs, price: f64) -> Consumed {
        let stale = self.last_time.is_some_and(|t| time < t);
        if !self.anchored || stale || !(price.is_finite() && price > 0.0) {
            self.counters.ignored_marks += 1;
            return Consumed::default();
        }
        let pos = self.grid.position(price);
        let c = Consumed {
            long: self.long.consume(self.base, pos),
            short: self.short.consume(self.base, pos),
        };
        self.pending.long += c.long;
        self.pending.short += c.short;
        c
    }

    /// Re-centres the window on `entry_bin` when it nears an edge or the kernel would not fit;
    /// returns the USD that fell off the far ends.
    fn reanchor(&mut self, kernel: &Kernel, entry_bin: i32) -> f64 {
        let len = self.long.len() as i64;
        let margin = (kernel.params().reanchor_margin * len as f64) as i64;
        let (e, base) = (i64::from(entry_bin), i64::from(self.base));
        let rel = e - base;
        let fits = e + i64::from(kernel.side(Side::Long).start()) >= base
            && e + i64::from(kernel.side(Side::Short).end()) < base + len;
        if fits && rel >= margin && rel < len - margin {
            return 0.0;
        }
        let new_base = entry_bin - (len / 2) as i32;
        let dropped = self.long.shift(self.base, new_base) + self.short.shift(self.base, new_base);
        self.base = new_base;
        self.counters.reanchors += 1;
        dropped
    }
}

/// Removes a side's part of `usd` of closing flow, where `open` is OI·price before the drop.
/// Every closed contract closes a long and a short, and closers are taken to be spread over all
/// open positions, so at neutral flow each side loses the fraction `usd / open` of its mass; the
/// taker tilt moves it to `2 · share · usd / open`. At full coverage (Σ mass = OI·price, one
/// liquidatable holder per contract, see [`Heatmap::coverage`]) this removes exactly `usd`, as
/// heatmap-model.md §5.3.4 does; on a map covering part of the open interest it removes
/// proportionally less (removing the full `usd` would wipe whole sides on one OI drop). Never
/// more than the side holds.
fn close_side(side: &mut SideMass, share: f64, usd: f64, open: f64) -> f64 {
    let fraction = if open > 0.0 {
        (2.0 * share * usd / open).min(1.0)
    } else {
        1.0
    };
    side.scale_by(1.0 - fraction)
}

/// Scales both sides by one factor so that their sum is at most `cap` USD (the long/short balance
/// is kept); returns the USD removed.
fn cap_total(long: &mut SideMass, short: &mut SideMass, cap: f64) -> f64 {
    let total = long.total() + short.total();
    if total > cap {
        let factor = cap / total;
        long.scale_by(factor) + short.scale_by(factor)
    } else {
        0.0
    }
}
