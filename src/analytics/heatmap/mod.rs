//! The estimated liquidation heatmap of one pair (DESIGN.md §4.4, heatmap-model.md §5): long- and
//! short-liquidation mass on a log-price grid, fed by open-interest flow (or, without OI, a
//! labelled volume proxy), consumed by price, decayed with a half-life and capped at OI·price.
//! Pure: no I/O, no clock, no randomness; time arrives as arguments. It must never read the
//! wall clock or keep anything that differs between a live run and a replay of the same inputs.

mod combine;
mod grid;
mod kernel;
#[cfg(test)]
mod proptests;
mod side;
mod sparse;
mod step;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use grid::Grid;
pub use kernel::{Kernel, KernelSide, liquidation_price};
use side::SideMass;

use crate::model::{HOUR_MS, Side, TimeMs};

/// One leverage tier of the kernel: a leverage and the share of new notional that uses it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LeverageTier {
    pub leverage: f64,
    pub weight: f64,
}

/// Every parameter of the model (DESIGN.md §4.4); `Default` gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeatmapParams {
    /// Bin width δ in basis points of price (log grid). Default 10.
    pub bin_bp: f64,
    /// Bins in the sliding window shared by both sides. Default 2048 (±~100 % around price).
    pub window_bins: u32,
    /// Re-centre the window when the entry bin comes within this fraction of the window of an
    /// edge. Default 0.25.
    pub reanchor_margin: f64,
    /// Leverage mix; tiers above the pair's max leverage are capped to it. Weights renormalised.
    pub tiers: Vec<LeverageTier>,
    /// Dispersion of each tier: σ = max(`smear_min_bins`, `smear_rel` · distance). Default 0.15.
    pub smear_rel: f64,
    /// Smallest σ in bins. Default 1.
    pub smear_min_bins: f64,
    /// Each tier's Gaussian is truncated at this many σ. Default 3.
    pub smear_cutoff_sigmas: f64,
    /// Tilt of the long share toward the taker-buy share: s = 0.5 + κ(b − 0.5). Default 1.
    pub taker_kappa: f64,
    /// The long share of opening flow (and of closing flow) is clamped to [min, max] so neither
    /// side ever gets nothing (every contract has a long and a short). Default 0.2–0.8.
    pub taker_share_min: f64,
    pub taker_share_max: f64,
    /// Half-life of the churn decay. Default 48 h.
    pub half_life_ms: TimeMs,
    /// Volume-proxy mode only: new notional per step = factor × quote volume. Default 0.067,
    /// measured on the HYPEUSDT fixture (Σ max(ΔOI, 0)·price / Σ quote volume after the listing
    /// day); one pair in a growth phase, so a rough scale, not a calibration.
    pub volume_proxy_factor: f64,
}

impl Default for HeatmapParams {
    fn default() -> Self {
        let tier = |leverage, weight| LeverageTier { leverage, weight };
        HeatmapParams {
            bin_bp: 10.0,
            window_bins: 2048,
            reanchor_margin: 0.25,
            tiers: vec![
                tier(3.0, 0.10),
                tier(5.0, 0.15),
                tier(10.0, 0.25),
                tier(20.0, 0.20),
                tier(25.0, 0.10),
                tier(50.0, 0.12),
                tier(75.0, 0.04),
                tier(100.0, 0.04),
            ],
            smear_rel: 0.15,
            smear_min_bins: 1.0,
            smear_cutoff_sigmas: 3.0,
            taker_kappa: 1.0,
            taker_share_min: 0.2,
            taker_share_max: 0.8,
            half_life_ms: 48 * HOUR_MS,
            volume_proxy_factor: 0.067,
        }
    }
}

impl HeatmapParams {
    /// Every problem with these parameters, one line each naming the field (empty when valid).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |ok: bool, msg: &str| {
            if !ok {
                out.push(msg.to_owned());
            }
        };
        check(
            self.bin_bp > 0.0 && self.bin_bp <= 1000.0,
            "bin_bp must be in (0, 1000]",
        );
        check(
            (256..=65_536).contains(&self.window_bins),
            "window_bins must be in 256..=65536",
        );
        check(
            (0.0..0.5).contains(&self.reanchor_margin),
            "reanchor_margin must be in [0, 0.5)",
        );
        check(!self.tiers.is_empty(), "tiers must not be empty");
        let tiers_ok = self
            .tiers
            .iter()
            .all(|t| t.leverage > 1.0 && t.weight >= 0.0);
        check(tiers_ok, "every tier needs leverage > 1 and weight ≥ 0");
        check(
            self.tiers.iter().any(|t| t.weight > 0.0),
            "some tier weight must be > 0",
        );
        check(
            (0.0..=1.0).contains(&self.smear_rel),
            "smear_rel must be in [0, 1]",
        );
        check(self.smear_min_bins >= 0.0, "smear_min_bins must be ≥ 0");
        check(
            self.smear_cutoff_sigmas > 0.0,
            "smear_cutoff_sigmas must be > 0",
        );
        check(self.taker_kappa >= 0.0, "taker_kappa must be ≥ 0");
        let (lo, hi) = (self.taker_share_min, self.taker_share_max);
        check(
            (0.0..=0.5).contains(&lo) && (0.5..=1.0).contains(&hi),
            "taker shares: 0 ≤ min ≤ 0.5 ≤ max ≤ 1",
        );
        check(self.half_life_ms > 0, "half_life_ms must be > 0");
        check(
            self.volume_proxy_factor >= 0.0,
            "volume_proxy_factor must be ≥ 0",
        );
        out
    }
}

/// Where new notional comes from (ΔOI·VWAP with closing flow and the OI·price cap, or quote
/// volume without them). Part of every output, because the two are not comparable; the word is
/// the model's vocabulary so alert facts carry it as it is.
pub use crate::model::HeatmapMode as Mode;

/// USD of liquidation mass removed by price, per side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Consumed {
    pub long: f64,
    pub short: f64,
}

/// What one 5-minute step did, in USD. `consumed_*` is the model's predicted liquidation
/// notional since the previous step (mark ticks plus this bar's extremes).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    pub time: TimeMs,
    pub mode: Mode,
    pub consumed_long: f64,
    pub consumed_short: f64,
    pub opened_long: f64,
    pub opened_short: f64,
    pub closed_long: f64,
    pub closed_short: f64,
    /// Removed by the half-life decay.
    pub decayed: f64,
    /// Removed by the OI·price cap.
    pub capped: f64,
    /// Lost off the ends of the window (re-anchoring or a deposit wider than the window).
    pub dropped: f64,
    pub total_long: f64,
    pub total_short: f64,
    /// See [`Heatmap::coverage`].
    pub coverage: Option<f64>,
}

/// Operational counters, for status pages and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub steps: u64,
    pub oi_steps: u64,
    pub proxy_steps: u64,
    /// Steps of an OI-mode map that arrived without OI (no flow was applied).
    pub oi_missing_steps: u64,
    /// Steps where the total (long + short) hit the OI·price cap.
    pub capped_steps: u64,
    pub reanchors: u64,
    /// Mark ticks older than the last step, or with a non-positive price; ignored.
    pub ignored_marks: u64,
}

/// Rejected step inputs. The map is unchanged when a step returns one of these.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum HeatmapError {
    #[error("bar {open_time}: prices must be positive and finite with low ≤ high, volumes ≥ 0")]
    BadBar { open_time: TimeMs },
    #[error("open interest must be finite and ≥ 0, got {0}")]
    BadOpenInterest(f64),
    #[error("step at {now} is not after the previous step at {last}")]
    NotAfterLastStep { now: TimeMs, last: TimeMs },
}

/// The liquidation map of one pair. See the module docs; build one with [`Heatmap::new`] and feed
/// it with [`Heatmap::step`] (every closed 5-minute bar) and [`Heatmap::on_mark`] (mark ticks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heatmap {
    grid: Grid,
    /// Absolute bin of array index 0, shared by both sides.
    base: i32,
    anchored: bool,
    long: SideMass,
    short: SideMass,
    mode: Mode,
    last_time: Option<TimeMs>,
    last_oi: Option<f64>,
    last_price: Option<f64>,
    /// Consumed by mark ticks since the last step; reported (and netted from closing flow) there.
    pending: Consumed,
    counters: Counters,
}

impl Heatmap {
    /// An empty map on `kernel`'s grid and window. It anchors its window at the first step.
    pub fn new(kernel: &Kernel) -> Self {
        let len = kernel.params().window_bins as usize;
        Heatmap {
            grid: *kernel.grid(),
            base: 0,
            anchored: false,
            long: SideMass::new(Side::Long, len),
            short: SideMass::new(Side::Short, len),
            mode: Mode::VolumeProxy,
            last_time: None,
            last_oi: None,
            last_price: None,
            pending: Consumed::default(),
            counters: Counters::default(),
        }
    }

    /// Whether this map (e.g. loaded from a snapshot) was built on `kernel`'s grid and window.
    /// A map that is not must be rebuilt; stepping it with that kernel is a logic error.
    pub fn is_compatible(&self, kernel: &Kernel) -> bool {
        self.grid == *kernel.grid() && self.window_len() == kernel.params().window_bins as usize
    }

    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// Mode of the latest step (`volume_proxy` until a step has carried open interest).
    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn last_time(&self) -> Option<TimeMs> {
        self.last_time
    }

    /// Close of the latest step's bar.
    pub fn last_price(&self) -> Option<f64> {
        self.last_price
    }

    /// Open interest (contracts) of the latest step that carried it.
    pub fn last_open_interest(&self) -> Option<f64> {
        self.last_oi
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Absolute bin of the window's first element (meaningful once a step has anchored it).
    pub fn window_base(&self) -> i32 {
        self.base
    }

    pub fn window_len(&self) -> usize {
        self.long.len()
    }

    /// Total mass of one side in USD.
    pub fn total(&self, side: Side) -> f64 {
        self.side(side).total()
    }

    /// Mass of absolute bin `bin` on one side in USD (0 outside the window).
    pub fn mass(&self, side: Side, bin: i32) -> f64 {
        self.side(side).mass(self.base, bin)
    }

    /// Appends the USD mass of `count` bins starting at absolute bin `from` and walking away
    /// from price: downward for longs, upward for shorts (the order cluster extraction uses).
    pub fn outward(&self, side: Side, from: i32, count: usize, out: &mut Vec<f64>) {
        self.side(side).outward(self.base, from, count, out);
    }

    /// Coverage ratio `(Σ long + Σ short) / (OI · price)` (heatmap-model.md §5.3.6), in [0, 1]
    /// because the total is capped at OI·price. The opening flow ΔOI·VWAP is split between the
    /// sides, not doubled: the model places one liquidatable holder per new contract, so a map
    /// that had seen every open contract (and forgotten none) would read 1. Low coverage means
    /// most open interest predates the replayed history or has decayed out: the map then shows
    /// recent positioning only. `None` in volume-proxy mode or before OI and price are known.
    pub fn coverage(&self) -> Option<f64> {
        let (oi, price) = (self.last_oi?, self.last_price?);
        let open = oi * price;
        (self.mode == Mode::Oi && open > 0.0)
            .then(|| (self.long.total() + self.short.total()) / open)
    }

    /// Heap bytes held by the mass arrays (the kernel is shared and not counted).
    pub fn heap_bytes(&self) -> usize {
        self.long.heap_bytes() + self.short.heap_bytes()
    }

    /// A hand-made map: its window starts at absolute bin `base`, it holds exactly the given
    /// `(bin, USD)` masses, and it is in OI mode.
    #[cfg(test)]
    pub(crate) fn with_masses(
        kernel: &Kernel,
        base: i32,
        long: &[(i32, f64)],
        short: &[(i32, f64)],
    ) -> Heatmap {
        let mut map = Heatmap::new(kernel);
        (map.base, map.anchored, map.mode) = (base, true, Mode::Oi);
        for &(k, usd) in long {
            map.long.put(base, k, usd);
        }
        for &(k, usd) in short {
            map.short.put(base, k, usd);
        }
        map
    }

    fn side(&self, side: Side) -> &SideMass {
        match side {
            Side::Long => &self.long,
            Side::Short => &self.short,
        }
    }
}
