//! `divergence_exit`: a regular divergence against the wave on the timing timeframe while price is
//! at or through a fuel cluster — the fuel is being spent (DESIGN.md §1 step 4). Pure: the closed
//! bar, the bias and the last fuel touch in, an alert or nothing out.

use serde::{Deserialize, Serialize};

use super::bias::{Bias, funding_facts};
use super::params::RuleParams;
use crate::analytics::clusters::Cluster;
use crate::analytics::pivots::DivergenceKind;
use crate::analytics::regime::Regime;
use crate::analytics::timeframe::BarSignals;
use crate::model::{Alert, ExitFacts, Facts, Funding, Severity, Symbol, TimeMs};
use crate::numbers::price;

/// The last time price reached a qualifying fuel cluster, and in which wave.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FuelTouch {
    pub wave: Regime,
    pub time: TimeMs,
    pub cluster: Cluster,
}

/// What an exit is judged on.
#[derive(Debug, Clone, Copy)]
pub struct ExitInput<'a> {
    pub symbol: &'a Symbol,
    pub signals: &'a BarSignals,
    pub bias: Bias,
    /// The last fuel touch, if any.
    pub touch: Option<FuelTouch>,
    pub funding: Option<Funding>,
    pub converged: bool,
}

/// The exit alert when the bar confirms a regular divergence against the wave and price touched a
/// fuel cluster of this wave within the touch window (at or through it).
pub fn divergence_exit(input: &ExitInput<'_>, p: &RuleParams) -> Option<Alert> {
    let s = input.signals;
    let d = s.divergence?;
    let against = matches!(
        (d.kind, input.bias.wave),
        (DivergenceKind::RegularBear, Regime::Bull) | (DivergenceKind::RegularBull, Regime::Bear)
    );
    let touch = input.touch?;
    let age = s.close_time() - touch.time;
    if !against || touch.wave != input.bias.wave || !(0..=p.exit.touch_window_ms).contains(&age) {
        return None;
    }
    let c = &touch.cluster;
    let trade = match input.bias.wave {
        Regime::Bull => "long",
        _ => "short",
    };
    let title = format!(
        "{} exit {trade}: {} divergence on {} after price reached the fuel cluster at {}",
        input.symbol,
        match d.kind {
            DivergenceKind::RegularBear => "bearish",
            _ => "bullish",
        },
        s.interval,
        price(c.near_edge),
    );
    let facts = ExitFacts {
        divergence: d.kind,
        rsi: s.rsi.map(|v| v.rsi),
        close: s.candle.close,
        bar_open_ms: s.candle.open_time,
        pivot_open_ms: d.pivot.open_time,
        pivot_rsi: d.pivot.rsi,
        prev_pivot_open_ms: d.prev.open_time,
        prev_pivot_rsi: d.prev.rsi,
        touched_ms: touch.time,
        cluster: c.facts(),
        bias: input.bias.facts(),
        converged: input.converged,
        funding: funding_facts(input.funding, input.bias.wave, &p.funding),
    };
    Some(Alert::new(
        input.symbol.clone(),
        Some(s.interval),
        s.candle.open_time,
        s.close_time(),
        Severity::Warning,
        title,
        Facts::DivergenceExit(Box::new(facts)),
    ))
}
