//! The backtest's numbers per period: outcome rates with Wilson intervals, mean R and forward
//! returns with day-block bootstrap intervals, and each against its baselines with the interval
//! of the difference. Pure: scored alerts and baseline samples in, plain serde data out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::outcome::{Direction, LevelOutcome, TradeOutcome, TradeResult};
use super::score::{FORWARD_DAYS, Scored};
use super::stats::{Diff, Mean, Rate, Sample};
use crate::model::{AlertKind, ClusterLabel, TimeMs};

/// Setups in one period against trades taken without the signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetupSummary {
    /// Setups with an outcome (the rest: `unscored`).
    pub n: usize,
    pub unscored: usize,
    /// `stop`, `t1`, `t2`, `timeout` as shares of `n`.
    pub outcomes: BTreeMap<String, Rate>,
    /// Share with R above 0.
    pub wins: Rate,
    pub mean_r: Mean,
    pub mean_mfe_r: Option<f64>,
    pub mean_mae_r: Option<f64>,
    /// Median hours from the alert to its outcome.
    pub median_hours: Option<f64>,
    /// Every 4h entry trigger, without the bias and fuel filters, stopped at its swing with a
    /// target at the minimum reward:risk.
    pub trigger_only: TradeBaseline,
    /// The same triggers where the daily wave agreed: the bias filter without the fuel one.
    pub trigger_in_wave: TradeBaseline,
    /// The setups' own geometry entered at seeded random times of the period.
    pub random_time: TradeBaseline,
}

/// A trade baseline and the setups' mean R minus its mean R.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeBaseline {
    pub n: usize,
    pub mean_r: Mean,
    pub t1_rate: Rate,
    pub gain_r: Option<Diff>,
}

/// One cluster-alert kind and label in one period, against levels without heat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelSummary {
    pub kind: AlertKind,
    pub label: ClusterLabel,
    pub n: usize,
    pub unscored: usize,
    pub swept: Rate,
    pub rejected: Rate,
    pub neither: Rate,
    /// Bands of the alerts' geometry at random times.
    pub random_bands: LevelBaseline,
    /// The static leverage ladder's levels (the alerts' widths) when price reached them.
    pub ladder: LevelBaseline,
}

/// Swept and rejected rates of a level baseline, and the alerts' swept rate minus its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelBaseline {
    pub n: usize,
    pub swept: Rate,
    pub rejected: Rate,
    pub swept_gain: Option<Diff>,
}

/// A signal kind's forward returns in its direction against all days in the same direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalSummary {
    pub kind: AlertKind,
    pub n: usize,
    pub horizons: Vec<ForwardRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForwardRow {
    pub days: i64,
    /// Mean percent return in the alerts' direction.
    pub mean_pct: Mean,
    /// What any day gave: per alert, the mean return in its direction from every UTC midnight of
    /// the period on its own pair, averaged over the alerts.
    pub baseline_pct: f64,
    /// Mean of (alert return − its pair's any-day return), with its interval: paired, so the mix
    /// of pairs and directions cancels out.
    pub gain_pct: Mean,
}

/// Baseline samples of one period, gathered by the caller.
#[derive(Debug, Default)]
pub(super) struct Baselines {
    pub trigger_only: Vec<(TimeMs, TradeResult)>,
    pub trigger_in_wave: Vec<(TimeMs, TradeResult)>,
    /// Per trade kind: its trades' geometry at random times.
    pub random_trades: BTreeMap<AlertKind, Vec<(TimeMs, TradeResult)>>,
    /// Per (kind, label): random-time bands.
    pub random_levels: BTreeMap<(AlertKind, ClusterLabel), Vec<(TimeMs, LevelOutcome)>>,
    /// Per (kind, label): static-ladder levels of the alerts' widths.
    pub ladder: BTreeMap<(AlertKind, ClusterLabel), Vec<(TimeMs, LevelOutcome)>>,
    /// Per pair and direction: the mean forward return from every midnight of the period, per
    /// horizon of `FORWARD_DAYS`.
    pub forward: BTreeMap<(String, Direction), [Option<f64>; 4]>,
}

pub(super) fn setups(scored: &[&Scored], b: &Baselines, seed: u64) -> SetupSummary {
    let done: Vec<&&Scored> = scored.iter().filter(|s| s.r_multiple.is_some()).collect();
    let n = done.len();
    let mut outcomes = BTreeMap::new();
    for name in ["stop", "t1", "t2", "timeout"] {
        let k = done
            .iter()
            .filter(|s| s.outcome.as_deref() == Some(name))
            .count();
        outcomes.insert(name.to_owned(), Rate::of(k as u64, n as u64));
    }
    let r = Sample::new(
        done.iter()
            .map(|s| (s.time_ms, s.r_multiple.unwrap_or(0.0))),
    );
    let wins = done.iter().filter(|s| s.r_multiple > Some(0.0)).count();
    let avg = |f: fn(&Scored) -> Option<f64>| {
        let v: Vec<f64> = done.iter().filter_map(|s| f(s)).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let mut hours: Vec<f64> = (done.iter())
        .filter_map(|s| Some((s.outcome_time_ms? - s.time_ms) as f64 / 3_600_000.0))
        .collect();
    hours.sort_by(f64::total_cmp);
    SetupSummary {
        n,
        unscored: scored.len() - n,
        outcomes,
        wins: Rate::of(wins as u64, n as u64),
        mean_r: r.summary(seed),
        mean_mfe_r: avg(|s| s.mfe_r),
        mean_mae_r: avg(|s| s.mae_r),
        median_hours: hours.get(hours.len() / 2).copied(),
        trigger_only: trade_baseline(&r, &b.trigger_only, seed ^ 1),
        trigger_in_wave: trade_baseline(&r, &b.trigger_in_wave, seed ^ 4),
        random_time: trade_baseline(&r, random_trades(b, AlertKind::SetupEntry), seed ^ 2),
    }
}

fn random_trades(b: &Baselines, kind: AlertKind) -> &[(TimeMs, TradeResult)] {
    b.random_trades.get(&kind).map_or(&[][..], Vec::as_slice)
}

/// The kinds besides setups that propose a trade.
pub(super) const PLAY_KINDS: [AlertKind; 2] = [AlertKind::SecondLeg, AlertKind::SweepReversal];

/// One playbook trade kind in one period, against its own geometry at random times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaySummary {
    pub kind: AlertKind,
    pub n: usize,
    pub unscored: usize,
    pub outcomes: BTreeMap<String, Rate>,
    pub wins: Rate,
    pub mean_r: Mean,
    pub mean_mfe_r: Option<f64>,
    pub mean_mae_r: Option<f64>,
    pub median_hours: Option<f64>,
    pub random_time: TradeBaseline,
}

/// One summary per playbook trade kind present.
pub(super) fn plays(scored: &[&Scored], b: &Baselines, seed: u64) -> Vec<PlaySummary> {
    PLAY_KINDS
        .iter()
        .enumerate()
        .filter_map(|(i, &kind)| {
            let list: Vec<&Scored> = (scored.iter().copied())
                .filter(|s| s.kind == kind)
                .collect();
            if list.is_empty() {
                return None;
            }
            // The setup summary's arithmetic, with this kind's own random trades.
            let mut own = Baselines::default();
            own.random_trades
                .insert(AlertKind::SetupEntry, random_trades(b, kind).to_vec());
            let s = setups(&list, &own, seed ^ (0x40 + i as u64));
            Some(PlaySummary {
                kind,
                n: s.n,
                unscored: s.unscored,
                outcomes: s.outcomes,
                wins: s.wins,
                mean_r: s.mean_r,
                mean_mfe_r: s.mean_mfe_r,
                mean_mae_r: s.mean_mae_r,
                median_hours: s.median_hours,
                random_time: s.random_time,
            })
        })
        .collect()
}

fn trade_baseline(setups: &Sample, trades: &[(TimeMs, TradeResult)], seed: u64) -> TradeBaseline {
    let sample = Sample::new(trades.iter().map(|(t, r)| (*t, r.r)));
    let t1 = (trades.iter())
        .filter(|(_, r)| matches!(r.outcome, TradeOutcome::T1 | TradeOutcome::T2))
        .count();
    TradeBaseline {
        n: trades.len(),
        mean_r: sample.summary(seed),
        t1_rate: Rate::of(t1 as u64, trades.len() as u64),
        gain_r: setups.minus(&sample, seed ^ 3),
    }
}

/// One summary per (kind, label) of the level alerts present.
pub(super) fn levels(scored: &[&Scored], b: &Baselines, seed: u64) -> Vec<LevelSummary> {
    let mut groups: BTreeMap<(AlertKind, ClusterLabel), Vec<&Scored>> = BTreeMap::new();
    for s in scored {
        if let (Some(label), true) = (s.label, is_level_kind(s.kind)) {
            groups.entry((s.kind, label)).or_default().push(s);
        }
    }
    groups
        .into_iter()
        .map(|((kind, label), list)| {
            let outcome = |s: &Scored| -> Option<LevelOutcome> {
                match s.outcome.as_deref()? {
                    "swept" => Some(LevelOutcome::Swept),
                    "rejected" => Some(LevelOutcome::Rejected),
                    "neither" => Some(LevelOutcome::Neither),
                    _ => None,
                }
            };
            let done: Vec<(TimeMs, LevelOutcome)> = (list.iter())
                .filter_map(|s| outcome(s).map(|o| (s.time_ms, o)))
                .collect();
            let n = done.len() as u64;
            let count = |o: LevelOutcome| done.iter().filter(|d| d.1 == o).count() as u64;
            let own = swept_sample(&done);
            let random = b
                .random_levels
                .get(&(kind, label))
                .map_or(&[][..], Vec::as_slice);
            LevelSummary {
                kind,
                label,
                n: done.len(),
                unscored: list.len() - done.len(),
                swept: Rate::of(count(LevelOutcome::Swept), n),
                rejected: Rate::of(count(LevelOutcome::Rejected), n),
                neither: Rate::of(count(LevelOutcome::Neither), n),
                random_bands: level_baseline(&own, random, seed ^ 5),
                ladder: level_baseline(
                    &own,
                    b.ladder.get(&(kind, label)).map_or(&[][..], Vec::as_slice),
                    seed ^ 6,
                ),
            }
        })
        .collect()
}

fn swept_sample(done: &[(TimeMs, LevelOutcome)]) -> Sample {
    Sample::new(
        done.iter()
            .map(|&(t, o)| (t, f64::from(u8::from(o == LevelOutcome::Swept)))),
    )
}

fn level_baseline(own: &Sample, done: &[(TimeMs, LevelOutcome)], seed: u64) -> LevelBaseline {
    let n = done.len() as u64;
    let count = |o: LevelOutcome| done.iter().filter(|d| d.1 == o).count() as u64;
    LevelBaseline {
        n: done.len(),
        swept: Rate::of(count(LevelOutcome::Swept), n),
        rejected: Rate::of(count(LevelOutcome::Rejected), n),
        swept_gain: own.minus(&swept_sample(done), seed),
    }
}

pub(super) fn is_level_kind(kind: AlertKind) -> bool {
    matches!(kind, AlertKind::ClusterApproach | AlertKind::ClusterEdge)
}

/// The kinds scored by forward returns.
pub(super) const SIGNAL_KINDS: [AlertKind; 6] = [
    AlertKind::RegimeChange,
    AlertKind::MidlineCross,
    AlertKind::Divergence,
    AlertKind::DivergenceExit,
    AlertKind::Ignition,
    AlertKind::CascadeLoading,
];

pub(super) fn signals(scored: &[&Scored], b: &Baselines, seed: u64) -> Vec<SignalSummary> {
    SIGNAL_KINDS
        .iter()
        .filter_map(|&kind| {
            let list: Vec<(&Scored, Direction)> = (scored.iter())
                .filter(|s| s.kind == kind)
                .filter_map(|s| Some((*s, s.direction?)))
                .collect();
            if list.is_empty() {
                return None;
            }
            let horizons = FORWARD_DAYS
                .iter()
                .enumerate()
                .map(|(i, &days)| {
                    // (time, alert return, its pair's any-day return) where both exist.
                    let rows: Vec<(TimeMs, f64, f64)> = (list.iter())
                        .filter_map(|(s, d)| {
                            let any = b.forward.get(&(s.symbol.clone(), *d))?[i]?;
                            Some((s.time_ms, s.forward_pct[i]?, any))
                        })
                        .collect();
                    let own = Sample::new(rows.iter().map(|r| (r.0, r.1)));
                    let gain = Sample::new(rows.iter().map(|r| (r.0, r.1 - r.2)));
                    let base = rows.iter().map(|r| r.2).sum::<f64>() / rows.len().max(1) as f64;
                    ForwardRow {
                        days,
                        mean_pct: own.summary(seed ^ (10 + i as u64)),
                        baseline_pct: base,
                        gain_pct: gain.summary(seed ^ (20 + i as u64)),
                    }
                })
                .collect();
            Some(SignalSummary {
                kind,
                n: list.len(),
                horizons,
            })
        })
        .collect()
}

/// One pair's alerts in a period: counts and the headline of each scored kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolRow {
    pub symbol: String,
    pub alerts: usize,
    /// Setups with an outcome and their mean R.
    pub setups: usize,
    pub setup_mean_r: Option<f64>,
    /// Fuel and magnet edges swept within 24 h.
    pub fuel_edges: Rate,
    pub magnet_edges: Rate,
    /// Signals (regime changes, 50-line crosses, divergences): mean 7-day return in their
    /// direction, and how many had one.
    pub signal_7d_pct: Option<f64>,
    pub signals: usize,
}

/// One row per pair with alerts in the period, in symbol order.
pub(super) fn per_symbol(scored: &[&Scored]) -> Vec<SymbolRow> {
    let mut by: BTreeMap<&str, Vec<&Scored>> = BTreeMap::new();
    for s in scored {
        by.entry(s.symbol.as_str()).or_default().push(s);
    }
    let seven = FORWARD_DAYS.iter().position(|&d| d == 7).unwrap_or(0);
    by.into_iter()
        .map(|(symbol, list)| {
            let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
            let r: Vec<f64> = (list.iter())
                .filter(|s| s.kind == AlertKind::SetupEntry)
                .filter_map(|s| s.r_multiple)
                .collect();
            let swept = |label: ClusterLabel| {
                let done: Vec<&&Scored> = (list.iter())
                    .filter(|s| s.kind == AlertKind::ClusterEdge && s.label == Some(label))
                    .filter(|s| {
                        matches!(s.outcome.as_deref(), Some("swept" | "rejected" | "neither"))
                    })
                    .collect();
                let hits = done
                    .iter()
                    .filter(|s| s.outcome.as_deref() == Some("swept"))
                    .count();
                Rate::of(hits as u64, done.len() as u64)
            };
            let forward: Vec<f64> = (list.iter())
                .filter(|s| {
                    let signal = [
                        AlertKind::RegimeChange,
                        AlertKind::MidlineCross,
                        AlertKind::Divergence,
                    ];
                    signal.contains(&s.kind)
                })
                .filter_map(|s| s.forward_pct[seven])
                .collect();
            SymbolRow {
                symbol: symbol.to_owned(),
                alerts: list.len(),
                setups: r.len(),
                setup_mean_r: mean(&r),
                fuel_edges: swept(ClusterLabel::Fuel),
                magnet_edges: swept(ClusterLabel::Magnet),
                signal_7d_pct: mean(&forward),
                signals: forward.len(),
            }
        })
        .collect()
}
