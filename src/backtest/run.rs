//! The backtest's run: one replay through a fresh engine (every alert, every 4h entry trigger,
//! each pair's bars and when its bias became known), then per period the alerts scored and the
//! baselines drawn from the same bars. Owns the order of that work; the arithmetic lives in
//! `outcome`, `baselines`, `summary` and `volume`.

use std::collections::{BTreeMap, BTreeSet};

use super::baselines::{self, Draws, Ladder, Span};
use super::outcome::{self, Direction, Level, Trade, walk_trade};
use super::path::{Path, PathBuilder};
use super::score::{self, FORWARD_DAYS, Horizons, Scored};
use super::summary::{self, Baselines};
use super::{Options, PairSpan, Period, PeriodReport, Report, Summary, track, volume};
use crate::analytics::validation::SplitMix64;
use crate::config::Config;
use crate::engine::Engine;
use crate::model::{
    Alert, AlertKind, DAY_MS, EntryDirection, Interval, MarketEvent, Regime, Side, Symbol,
    SymbolEvent, TimeMs,
};
use crate::rules::{Bias, SINKS};

/// What one replay gathered before scoring.
struct Replayed {
    alerts: Vec<(Scored, Vec<String>, Option<Interval>)>,
    paths: BTreeMap<Symbol, Path>,
    /// Every 4h entry trigger as a trade, and whether the pair's wave agreed with it.
    triggers: Vec<Trigger>,
    pairs: Vec<PairSpan>,
}

/// One entry trigger of the setup timeframe, as a trade.
struct Trigger {
    symbol: Symbol,
    time: TimeMs,
    trade: Trade,
    /// The bias (after the same bar) was the trigger's wave: the setup rule's bias filter passed.
    in_wave: bool,
}

/// Replays `events` (one dataset, time-ordered) through a fresh engine built from `config` and
/// scores every alert it raises.
pub fn run(config: &Config, events: &[SymbolEvent], opts: &Options) -> Report {
    let replayed = replay(config, events, &opts.horizons);
    let mut rng = SplitMix64::stream(opts.seed, 1);
    let periods: Vec<PeriodReport> = (opts.periods.iter())
        .map(|p| period(config, &replayed, p, opts, &mut rng))
        .collect();
    let track_record = track::track_record(periods.last(), replayed.pairs.len());
    Report {
        options: opts.clone(),
        alerts: replayed.alerts.into_iter().map(|a| a.0).collect(),
        summary: Summary {
            pairs: replayed.pairs,
            periods,
        },
        track_record,
    }
}

/// Replays `events` with the pairs spread over `engine.threads` threads, each its own engine
/// (pairs are independent), and merges what they gathered in event order: the same as one
/// engine over every event.
fn replay(config: &Config, events: &[SymbolEvent], h: &Horizons) -> Replayed {
    let shards = shards(events, crate::engine::worker_threads(config.engine.threads));
    let gathered: Vec<Gathered> = std::thread::scope(|scope| {
        let handles: Vec<_> = (shards.iter())
            .map(|shard| scope.spawn(|| gather(config, events, shard)))
            .collect();
        (handles.into_iter())
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let (mut raised, mut triggers) = (Vec::new(), Vec::new());
    let (mut paths, mut bias_known) = (BTreeMap::new(), BTreeMap::new());
    for g in gathered {
        raised.extend(g.raised);
        triggers.extend(g.triggers);
        paths.extend(g.paths);
        bias_known.extend(g.bias_known);
    }
    // Stable: one event's alerts keep their order.
    raised.sort_by_key(|(index, _)| *index);
    triggers.sort_by_key(|(index, _)| *index);
    let raised: Vec<Alert> = raised.into_iter().map(|(_, a)| a).collect();
    let triggers = triggers.into_iter().map(|(_, t)| t).collect();
    let paths: BTreeMap<Symbol, Path> = paths.into_iter().map(|(s, b)| (s, b.finish())).collect();
    let pairs = (paths.iter())
        .filter_map(|(s, p)| {
            Some(PairSpan {
                symbol: s.to_string(),
                first_ms: p.bars().first()?.open_time,
                last_ms: p.bars().last()?.close_time,
                bias_known_ms: bias_known.get(s).copied(),
            })
        })
        .collect();
    let empty = Path::default();
    let alerts = raised
        .iter()
        .map(|a| {
            let path = paths.get(&a.symbol).unwrap_or(&empty);
            let sinks = (SINKS.iter())
                .filter(|s| config.routes.routes_to(a, s))
                .map(|s| (*s).to_owned())
                .collect();
            (score::score(a, path, h), sinks, a.interval)
        })
        .collect();
    Replayed {
        alerts,
        paths,
        triggers,
        pairs,
    }
}

fn period(
    config: &Config,
    r: &Replayed,
    p: &Period,
    opts: &Options,
    rng: &mut SplitMix64,
) -> PeriodReport {
    let span = Span {
        from: p.from,
        to: p.to,
    };
    let h = &opts.horizons;
    let k = opts.random_per_alert;
    let inside: Vec<&(Scored, Vec<String>, Option<Interval>)> = (r.alerts.iter())
        .filter(|a| span.contains(a.0.time_ms))
        .collect();
    let scored: Vec<&Scored> = inside.iter().map(|a| &a.0).collect();
    let mut b = Baselines::default();
    let ladder = Ladder {
        tiers: (config.heatmap.model.tiers.iter())
            .map(|t| (t.leverage, t.weight))
            .collect(),
        mmr: LADDER_MMR,
    };
    let trades = Draws {
        span,
        window: h.trade_ms,
        k,
    };
    let levels = Draws {
        window: h.level_ms,
        ..trades
    };
    for trigger in r.triggers.iter().filter(|t| span.contains(t.time)) {
        let Some(path) = r.paths.get(&trigger.symbol) else {
            continue;
        };
        let t = trigger.time;
        let after = &path.bars()[path.first_after(t)..];
        if let Ok(res) = walk_trade(after, &trigger.trade, t + h.trade_ms) {
            b.trigger_only.push((t, res));
            if trigger.in_wave {
                b.trigger_in_wave.push((t, res));
            }
        }
    }
    let mut plays_rng = SplitMix64::stream(opts.seed ^ PLAYS_SEED, span.from as u64);
    for s in &scored {
        let Some(path) = symbol_path(r, &s.symbol) else {
            continue;
        };
        if let (Some(entry), Some(stop), Some(t1), Some(d), true) =
            (s.entry, s.stop, s.t1, s.direction, s.r_multiple.is_some())
        {
            let trade = Trade {
                direction: d,
                entry,
                stop,
                t1,
                t2: s.t2,
                fee_frac: config.rules.setup.fee_frac,
            };
            // The playbook's trades draw from their own stream, so adding them leaves every
            // older baseline as it was.
            let draws = match s.kind {
                AlertKind::SetupEntry => baselines::random_trades(path, &trade, trades, rng),
                _ => baselines::random_trades(path, &trade, trades, &mut plays_rng),
            };
            b.random_trades.entry(s.kind).or_default().extend(draws);
        }
        let walked = matches!(s.outcome.as_deref(), Some("swept" | "rejected" | "neither"));
        if let (Some(near), Some(far), Some(label), Some(price), true) = (
            s.near_edge,
            s.far_edge,
            s.label,
            path.close_at(s.time_ms),
            walked,
        ) {
            let side = match s.direction {
                Some(Direction::Short) => Side::Long,
                _ => Side::Short,
            };
            let level = Level {
                side,
                near,
                far,
                rejection: 1.0,
            };
            let drawn = baselines::random_levels(path, &level, price, levels, rng);
            b.random_levels
                .entry((s.kind, label))
                .or_default()
                .extend(drawn);
            let drawn = baselines::ladder_levels(path, &level, price, &ladder, levels, rng);
            b.ladder.entry((s.kind, label)).or_default().extend(drawn);
        }
    }
    for (symbol, path) in &r.paths {
        for d in [Direction::Long, Direction::Short] {
            let rows = baselines::unconditional_returns(path, span, d, &FORWARD_DAYS);
            let means: [Option<f64>; 4] = std::array::from_fn(|i| {
                let row = &rows[i];
                (!row.is_empty()).then(|| row.iter().map(|x| x.1).sum::<f64>() / row.len() as f64)
            });
            b.forward.insert((symbol.to_string(), d), means);
        }
    }
    let seed = rng.next_u64();
    let mut counts = BTreeMap::new();
    for s in &scored {
        *counts.entry(s.kind.to_string()).or_default() += 1;
    }
    let (pair_days, bias_pair_days) = pair_days(&r.pairs, span);
    PeriodReport {
        name: p.name.clone(),
        from: p.from,
        to: p.to,
        pair_days,
        bias_pair_days,
        counts,
        setups: summary::setups(
            &(scored.iter().copied())
                .filter(|s| s.kind == AlertKind::SetupEntry)
                .collect::<Vec<_>>(),
            &b,
            seed,
        ),
        plays: summary::plays(&scored, &b, seed ^ 0x300),
        levels: summary::levels(&scored, &b, seed ^ 0x100),
        signals: summary::signals(&scored, &b, seed ^ 0x200),
        volume: volume::project(&inside, pair_days, bias_pair_days, opts.project_pairs),
        per_symbol: summary::per_symbol(&scored),
    }
}

/// Mixed into the seed of the playbook trades' random baselines.
const PLAYS_SEED: u64 = 0x91A7_B00C;

/// The maintenance rate of the ladder baseline's levels (DESIGN.md §3's fallback for pairs
/// without a bracket table).
const LADDER_MMR: f64 = 0.005;

fn symbol_path<'a>(r: &'a Replayed, symbol: &str) -> Option<&'a Path> {
    r.paths.get(&symbol.parse::<Symbol>().ok()?)
}

/// Days of data, and days with a known bias, summed over pairs, inside `span`.
fn pair_days(pairs: &[PairSpan], span: Span) -> (f64, f64) {
    let overlap = |from: TimeMs, to: TimeMs| {
        let (a, b) = (from.max(span.from), to.min(span.to));
        (b - a).max(0) as f64 / DAY_MS as f64
    };
    pairs.iter().fold((0.0, 0.0), |(all, bias), p| {
        let known = p.bias_known_ms.map_or(0.0, |t| overlap(t, p.last_ms));
        (all + overlap(p.first_ms, p.last_ms), bias + known)
    })
}

/// What one shard's engine saw: alerts and triggers with the index of their event.
struct Gathered {
    raised: Vec<(usize, Alert)>,
    paths: BTreeMap<Symbol, PathBuilder>,
    bias_known: BTreeMap<Symbol, TimeMs>,
    triggers: Vec<(usize, Trigger)>,
}

/// The symbols of `events` in `n` sets of about equal events (largest first, each to the
/// lightest set).
fn shards(events: &[SymbolEvent], n: usize) -> Vec<BTreeSet<Symbol>> {
    let mut counts: BTreeMap<&Symbol, usize> = BTreeMap::new();
    for ev in events {
        *counts.entry(&ev.symbol).or_default() += 1;
    }
    let mut counts: Vec<(&Symbol, usize)> = counts.into_iter().collect();
    counts.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let mut shards = vec![(0, BTreeSet::new()); n.clamp(1, counts.len().max(1))];
    for (symbol, count) in counts {
        let lightest = (shards.iter_mut())
            .min_by_key(|(load, _)| *load)
            .expect("at least one shard");
        lightest.0 += count;
        lightest.1.insert(symbol.clone());
    }
    shards.into_iter().map(|(_, symbols)| symbols).collect()
}

/// One engine over the events of `symbols`.
fn gather(config: &Config, events: &[SymbolEvent], symbols: &BTreeSet<Symbol>) -> Gathered {
    let mut engine = Engine::new(config);
    let rules = &config.rules;
    let warm = config.signals.min_warmup_bars as u64;
    let mut raised = Vec::new();
    let interval = config.replay.source_interval;
    let mut paths: BTreeMap<Symbol, PathBuilder> = BTreeMap::new();
    let mut bias_known: BTreeMap<Symbol, TimeMs> = BTreeMap::new();
    let mut triggers = Vec::new();
    let mut out = Vec::new();
    let mine = events.iter().enumerate();
    for (index, ev) in mine.filter(|(_, ev)| symbols.contains(&ev.symbol)) {
        engine.handle(ev, &mut out);
        raised.extend(out.drain(..).map(|alert| (index, alert)));
        if let MarketEvent::Candle { candle, .. } = &ev.event {
            (paths.entry(ev.symbol.clone()))
                .or_insert_with(|| PathBuilder::new(interval))
                .push(candle);
        }
        let Some(pair) = engine.pair(&ev.symbol) else {
            continue;
        };
        for s in engine.last_signals() {
            if s.interval == rules.bias_timeframe && s.bars >= warm && s.rsi.is_some() {
                bias_known
                    .entry(ev.symbol.clone())
                    .or_insert(s.close_time());
            }
            let Some(direction) = s.entry.filter(|_| s.interval == rules.setup.timeframe) else {
                continue;
            };
            if s.bars < warm {
                continue;
            }
            let entry = s.candle.close;
            let swings = pair.timeframe(s.interval).swings();
            let stop = match direction {
                EntryDirection::Long => swings.low_below(entry),
                EntryDirection::Short => swings.high_above(entry),
            };
            if let Some(stop) = stop {
                // The target at exactly the minimum reward:risk after fees.
                let fees = rules.setup.fee_frac * entry;
                let reward = rules.setup.min_reward_risk * ((entry - stop.price).abs() + fees);
                let sign = outcome::sign(direction);
                let wave = Bias::of(pair, rules.bias_timeframe, &config.signals).wave;
                let in_wave = match direction {
                    EntryDirection::Long => wave == Regime::Bull,
                    EntryDirection::Short => wave == Regime::Bear,
                };
                let trigger = Trigger {
                    symbol: ev.symbol.clone(),
                    time: s.close_time(),
                    trade: Trade {
                        direction,
                        entry,
                        stop: stop.price,
                        t1: entry + sign * (reward + fees),
                        t2: None,
                        fee_frac: rules.setup.fee_frac,
                    },
                    in_wave,
                };
                triggers.push((index, trigger));
            }
        }
    }
    Gathered {
        raised,
        paths,
        bias_known,
        triggers,
    }
}
