//! The settings of the rules (DESIGN.md §5): which signal alerts are switched on, and the heatmap
//! and setup rules with the defaults the design names.
//! Plain data checked by the config; must never hold a secret or anything read from the clock.

use serde::{Deserialize, Serialize};

use crate::model::{HOUR_MS, Interval, MINUTE_MS, TimeMs};

/// Which signal alerts the engine raises, per timeframe.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSwitches {
    /// Timeframes whose regime transitions raise `regime_change` (default 1d and 1w; 4h opt-in).
    pub regime_timeframes: Vec<Interval>,
    /// Timeframes whose 50-line crosses against the bias raise `midline_cross` (default 1d).
    pub midline_timeframes: Vec<Interval>,
    /// Timeframes whose regular divergences raise `divergence` (default 4h and 1d).
    pub divergence_timeframes: Vec<Interval>,
    /// Also alert on hidden divergences (default false: computed and tagged only).
    pub hidden_divergences: bool,
    /// Raise alerts before `warmup_bars` closed bars (after `min_warmup_bars`), flagged
    /// `converged: false` (default true).
    pub allow_unconverged: bool,
}

/// Everything the rules read from the config besides the signal switches.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RuleParams {
    /// The timeframe whose regime is the wave (default 1d, qualified by 1w). 4h suits short
    /// recordings and faster waves (qualified by 1d).
    pub bias_timeframe: Interval,
    /// No second alert of one kind for one symbol and cluster (or bar) within this span.
    /// Default 60 min.
    pub cooldown_ms: TimeMs,
    pub clusters: ClusterRuleParams,
    pub setup: SetupParams,
    pub exit: ExitParams,
    pub funding: FundingParams,
    /// Ignition, second leg and sweep reversal (absent in older snapshots: the defaults).
    #[serde(default)]
    pub playbook: PlaybookParams,
}

/// The playbook's other schools: `ignition`, `second_leg` and `sweep_reversal`. Their trades use
/// the setup's fee and minimum reward:risk.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlaybookParams {
    /// The timeframe of ignitions and second legs. Default 4h.
    pub impulse_timeframe: Interval,
    /// An impulse bar's range is at least this many of its timeframe's ATRs. Default 2.
    pub ignition_atr_mult: f64,
    /// Its close sits at least this far toward its extreme, 0–1. Default 0.75.
    pub ignition_close_position: f64,
    /// A bounce retraces at least this share of the impulse. Default 0.382.
    pub bounce_retrace: f64,
    /// A second leg must trigger within this many bars after its ignition. Default 12 (2 days
    /// of 4h bars).
    pub leg_max_bars: u32,
    /// Sweep reversals on 4h and on 1d bars. Default both.
    pub reversal_4h: bool,
    pub reversal_1d: bool,
    /// A reversal's stop sits this many of the timeframe's ATRs beyond the wick. Default 0.25
    /// (chosen in-sample: −0.25 R at 0, +0.05 R at 0.25, −0.03 at 0.5, −0.04 at 1; every
    /// interval spans zero, so this is weak evidence).
    pub reversal_stop_atr: f64,
    /// 4h closes before the sweep that count as entries for leverage convergence. Default 30
    /// (5 days).
    pub convergence_entries: u32,
}

impl PlaybookParams {
    pub const DEFAULT: PlaybookParams = PlaybookParams {
        impulse_timeframe: Interval::H4,
        ignition_atr_mult: 2.0,
        ignition_close_position: 0.75,
        bounce_retrace: 0.382,
        leg_max_bars: 12,
        reversal_4h: true,
        reversal_1d: true,
        reversal_stop_atr: 0.25,
        convergence_entries: 30,
    };

    /// Whether sweeps of `interval` bars can raise a reversal.
    pub fn reverses_on(&self, interval: Interval) -> bool {
        match interval {
            Interval::H4 => self.reversal_4h,
            Interval::D1 => self.reversal_1d,
            _ => false,
        }
    }
}

impl Default for PlaybookParams {
    fn default() -> Self {
        PlaybookParams::DEFAULT
    }
}

/// Which clusters are worth an alert, and what "near" means.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClusterRuleParams {
    /// Minimum density (contrast to the side's background). Default 4.
    pub min_density: f64,
    /// Minimum share of the side's mass in the window, as a fraction. Default 0.05.
    pub min_share: f64,
    /// Minimum consecutive heatmap steps the cluster has lived. Default 2.
    pub min_age_steps: u32,
    /// Approach distance = max(approach_frac · price, approach_atr_mult · ATR1h).
    /// Defaults 0.005 (0.5 %) and 0.5.
    pub approach_frac: f64,
    pub approach_atr_mult: f64,
    /// After an alert, price must close this many approach distances away from the edge before
    /// the same cluster can alert again. Default 2.
    pub rearm_mult: f64,
    /// A touch of a level alerts only when price has not touched it in this span before (a
    /// level price keeps testing stays quiet until the tests stop); 0 is off. Default 12 h
    /// (chosen in-sample: README, *Choosing the defaults*).
    #[serde(default)]
    pub retouch_quiet_ms: TimeMs,
}

/// Setup A / Setup B (`setup_entry`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SetupParams {
    /// The timing timeframe whose entry trigger starts a setup. Default 4h.
    pub timeframe: Interval,
    /// Fewest reward:risk to T1 after fees. Default 2.
    pub min_reward_risk: f64,
    /// Round-trip trading cost as a fraction of the entry price, charged against the reward and
    /// added to the risk. Default 0.001 (two taker fills of 0.05 %).
    pub fee_frac: f64,
    /// Thin-approach score at or above which the checklist item "thin approach" holds. Default 0.5.
    pub min_thin_approach: f64,
}

/// `divergence_exit`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ExitParams {
    /// The timeframe whose regular divergences count. Default 4h.
    pub timeframe: Interval,
    /// A divergence counts when price touched a fuel cluster at most this long before it was
    /// confirmed (a pivot confirms `lookback_right` bars after it formed). Default 48 h.
    pub touch_window_ms: TimeMs,
}

/// Reading the funding rate (DESIGN.md §1): positive means longs pay, so longs are crowded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FundingParams {
    /// Above this rate longs are crowded. Default 0.0001 (0.01 % per interval: Binance's
    /// baseline interest, which calm markets print).
    pub crowded_longs_above: f64,
    /// Below this rate shorts are crowded. Default 0.
    pub crowded_shorts_below: f64,
}

impl RuleParams {
    pub const DEFAULT: RuleParams = RuleParams {
        bias_timeframe: Interval::D1,
        cooldown_ms: 60 * MINUTE_MS,
        clusters: ClusterRuleParams {
            min_density: 4.0,
            min_share: 0.05,
            min_age_steps: 2,
            approach_frac: 0.005,
            approach_atr_mult: 0.5,
            rearm_mult: 2.0,
            retouch_quiet_ms: 12 * HOUR_MS,
        },
        setup: SetupParams {
            timeframe: Interval::H4,
            min_reward_risk: 2.0,
            fee_frac: 0.001,
            min_thin_approach: 0.5,
        },
        exit: ExitParams {
            timeframe: Interval::H4,
            touch_window_ms: 48 * HOUR_MS,
        },
        funding: FundingParams {
            crowded_longs_above: 0.0001,
            crowded_shorts_below: 0.0,
        },
        playbook: PlaybookParams::DEFAULT,
    };
}

impl Default for RuleParams {
    fn default() -> Self {
        RuleParams::DEFAULT
    }
}
