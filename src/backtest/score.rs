//! Each alert turned into what it claimed and what followed: a setup into a walked trade, a
//! cluster alert into a level walked for a day, a signal into forward returns in its direction.
//! Pure: typed facts and the symbol's path in, one [`Scored`] out; never looks at a bar before
//! the alert.

use serde::{Deserialize, Serialize};

use super::outcome::{
    Direction, Level, LevelOutcome, Trade, TradeOutcome, Unscored, forward_return, walk_level,
    walk_trade,
};
use super::path::Path;
use crate::model::{
    Alert, AlertKind, ClusterLabel, Cross50, DAY_MS, Facts, Regime, Side, TimeMs, TradeLevels,
};

/// Forward-return horizons, in days.
pub const FORWARD_DAYS: [i64; 4] = [1, 3, 7, 14];

/// How long a scored alert is followed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Horizons {
    /// A setup's trade (default 14 days).
    pub trade_ms: TimeMs,
    /// A cluster alert's level (24 h).
    pub level_ms: TimeMs,
}

impl Default for Horizons {
    fn default() -> Self {
        Horizons {
            trade_ms: 14 * DAY_MS,
            level_ms: DAY_MS,
        }
    }
}

/// One alert with its outcome: the `alerts` array of the JSON report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub id: String,
    pub kind: AlertKind,
    pub symbol: String,
    pub time_ms: TimeMs,
    /// The direction the alert points to (trade, new wave, divergence, or the side a level's
    /// pool pushes price through); `None` where it points nowhere.
    pub direction: Option<Direction>,
    /// `fuel` or `magnet` for cluster alerts.
    pub label: Option<ClusterLabel>,
    /// Whether the pair's daily bias was known when the alert fired.
    pub bias_known: bool,
    pub entry: Option<f64>,
    pub stop: Option<f64>,
    pub t1: Option<f64>,
    pub t2: Option<f64>,
    /// Cluster alerts: the band's near and far edge.
    pub near_edge: Option<f64>,
    pub far_edge: Option<f64>,
    /// `stop`, `t1`, `t2`, `timeout` (setups); `swept`, `rejected`, `neither` (levels); or why
    /// there is none (`data_ends`, `invalid`, `no_atr`).
    pub outcome: Option<String>,
    pub outcome_time_ms: Option<TimeMs>,
    pub r_multiple: Option<f64>,
    pub mfe_r: Option<f64>,
    pub mae_r: Option<f64>,
    /// Percent return in `direction` after 1, 3, 7 and 14 days (`None` past the data's end).
    pub forward_pct: [Option<f64>; 4],
}

impl Scored {
    /// An alert with nothing scored yet.
    pub fn new(id: String, kind: AlertKind, symbol: String, time_ms: TimeMs) -> Scored {
        Scored {
            id,
            kind,
            symbol,
            time_ms,
            direction: None,
            label: None,
            bias_known: true,
            entry: None,
            stop: None,
            t1: None,
            t2: None,
            near_edge: None,
            far_edge: None,
            outcome: None,
            outcome_time_ms: None,
            r_multiple: None,
            mfe_r: None,
            mae_r: None,
            forward_pct: [None; 4],
        }
    }
}

/// The direction price moves through a pool of `side` (long pools lie below price).
pub(super) fn through(side: Side) -> Direction {
    match side {
        Side::Long => Direction::Short,
        Side::Short => Direction::Long,
    }
}

/// Scores one alert on `path` (its symbol's bars).
pub(super) fn score(alert: &Alert, path: &Path, h: &Horizons) -> Scored {
    let mut s = Scored::new(
        alert.id.to_string(),
        alert.kind(),
        alert.symbol.to_string(),
        alert.time_ms,
    );
    s.label = alert.facts.label();
    let after = &path.bars()[path.first_after(alert.time_ms)..];
    match &alert.facts {
        Facts::SetupEntry(_) | Facts::SecondLeg(_) | Facts::SweepReversal(_) => {
            if let Some(levels) = alert.facts.trade() {
                walk(&mut s, &levels, after, alert.time_ms + h.trade_ms);
            }
            s.bias_known = match &alert.facts {
                Facts::SetupEntry(f) => f.bias.regime.is_some(),
                Facts::SecondLeg(f) => f.bias.regime.is_some(),
                Facts::SweepReversal(f) => f.bias.regime.is_some(),
                _ => true,
            };
        }
        Facts::ClusterApproach(f) | Facts::ClusterEdge(f) | Facts::ClusterSwept(f) => {
            let c = &f.cluster;
            (s.near_edge, s.far_edge) = (Some(c.near_edge), Some(c.far_edge));
            s.direction = Some(through(c.side));
            s.bias_known = f.bias.regime.is_some();
            if alert.kind() != AlertKind::ClusterSwept {
                let outcome = match path.atr_1h_at(alert.time_ms) {
                    Some(atr) => {
                        let level = Level {
                            side: c.side,
                            near: c.near_edge,
                            far: c.far_edge,
                            rejection: atr,
                        };
                        walk_level(after, &level, alert.time_ms + h.level_ms)
                    }
                    None => Err(Unscored::Invalid),
                };
                match outcome {
                    Ok((o, at)) => {
                        s.outcome = Some(level_name(o).to_owned());
                        s.outcome_time_ms = at;
                    }
                    Err(why) => s.outcome = Some(unscored_name(why).to_owned()),
                }
            }
        }
        Facts::RegimeChange(f) => {
            s.direction = match (f.from, f.to) {
                (_, Regime::Bull) | (Regime::Bear, Regime::Range) => Some(Direction::Long),
                (_, Regime::Bear) | (Regime::Bull, Regime::Range) => Some(Direction::Short),
                (Regime::Range, Regime::Range) => None,
            };
        }
        Facts::MidlineCross(f) => {
            s.direction = Some(match f.direction {
                Cross50::Up => Direction::Long,
                Cross50::Down => Direction::Short,
            });
        }
        Facts::Divergence(f) => {
            s.direction = Some(if f.divergence.is_bullish() {
                Direction::Long
            } else {
                Direction::Short
            });
        }
        Facts::DivergenceExit(f) => {
            // The trade being exited: a long in a bull wave. A positive forward return means
            // the exit gave up that much.
            s.direction = match f.bias.wave {
                Regime::Bull => Some(Direction::Long),
                Regime::Bear => Some(Direction::Short),
                Regime::Range => None,
            };
            s.bias_known = f.bias.regime.is_some();
        }
        Facts::Ignition(f) => {
            // The impulse's continuation: a positive forward return went on in its direction.
            s.direction = Some(f.direction);
            (s.near_edge, s.far_edge) = (Some(f.cluster.near_edge), Some(f.cluster.far_edge));
            s.bias_known = f.bias.regime.is_some();
        }
        Facts::CascadeLoading(f) => {
            // Toward the loaded pool: the cascade it warns of.
            s.direction = Some(through(f.side));
            (s.near_edge, s.far_edge) = (Some(f.cluster.near_edge), Some(f.cluster.far_edge));
            s.bias_known = f.bias.regime.is_some();
        }
        Facts::DailySummary(_) => {}
    }
    if let Some(d) = s.direction {
        for (slot, days) in s.forward_pct.iter_mut().zip(FORWARD_DAYS) {
            *slot = forward_return(path, alert.time_ms, days, d);
        }
    }
    s
}

/// Walks a proposed trade and writes its outcome, R and excursions.
fn walk(s: &mut Scored, levels: &TradeLevels, after: &[super::path::Bar], until: TimeMs) {
    let trade = Trade {
        direction: levels.direction,
        entry: levels.entry,
        stop: levels.stop,
        t1: levels.t1,
        t2: levels.t2,
        fee_frac: levels.fee_frac,
    };
    (s.direction, s.entry, s.stop, s.t1, s.t2) = (
        Some(trade.direction),
        Some(trade.entry),
        Some(trade.stop),
        Some(trade.t1),
        trade.t2,
    );
    match walk_trade(after, &trade, until) {
        Ok(r) => {
            s.outcome = Some(trade_name(r.outcome).to_owned());
            s.outcome_time_ms = Some(r.outcome_time);
            (s.r_multiple, s.mfe_r, s.mae_r) = (Some(r.r), Some(r.mfe_r), Some(r.mae_r));
        }
        Err(why) => s.outcome = Some(unscored_name(why).to_owned()),
    }
}

pub(super) fn trade_name(o: TradeOutcome) -> &'static str {
    match o {
        TradeOutcome::Stop => "stop",
        TradeOutcome::T1 => "t1",
        TradeOutcome::T2 => "t2",
        TradeOutcome::Timeout => "timeout",
    }
}

pub(super) fn level_name(o: LevelOutcome) -> &'static str {
    match o {
        LevelOutcome::Swept => "swept",
        LevelOutcome::Rejected => "rejected",
        LevelOutcome::Neither => "neither",
    }
}

fn unscored_name(u: Unscored) -> &'static str {
    match u {
        Unscored::Invalid => "invalid",
        Unscored::DataEnds => "data_ends",
    }
}
