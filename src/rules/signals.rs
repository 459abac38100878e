//! RSI signal rules: `regime_change`, `midline_cross` and `divergence` on closed 4h/1d/1w bars.
//! Pure: one bar's signals and the switches in, alerts out; never reads the clock.

use super::params::AlertSwitches;
use crate::analytics::SignalParams;
use crate::analytics::pivots::{Divergence, DivergenceKind};
use crate::analytics::regime::Regime;
use crate::analytics::timeframe::{BarSignals, Cross50};
use crate::model::{
    Alert, BarFacts, DivergenceFacts, Facts, MidlineCrossFacts, RegimeChangeFacts, Severity, Symbol,
};

/// Appends the alerts one closed signal bar raises. Nothing fires before `min_warmup_bars`;
/// between that and `warmup_bars` alerts carry `converged: false` (or are withheld when the config
/// does not allow unconverged alerts).
pub fn signal_alerts(
    symbol: &Symbol,
    s: &BarSignals,
    switches: &AlertSwitches,
    params: &SignalParams,
    out: &mut Vec<Alert>,
) {
    let Some(value) = s.rsi else { return };
    let converged = s.bars >= params.warmup_bars as u64;
    if s.bars < params.min_warmup_bars as u64 || (!converged && !switches.allow_unconverged) {
        return;
    }
    let base = Base {
        symbol,
        s,
        rsi: value.rsi,
        converged,
    };
    if s.regime_changed() && switches.regime_timeframes.contains(&s.interval) {
        out.push(regime_change(&base));
    }
    if let Some(cross) = s.cross50
        && switches.midline_timeframes.contains(&s.interval)
        && against(cross, s.regime_before)
    {
        out.push(midline_cross(&base, cross));
    }
    if let Some(d) = s.divergence
        && switches.divergence_timeframes.contains(&s.interval)
        && (d.kind.is_regular() || switches.hidden_divergences)
    {
        out.push(divergence(&base, &d));
    }
}

/// A cross of 50 warns only when it goes against the wave the timeframe was in.
fn against(cross: Cross50, regime: Regime) -> bool {
    matches!(
        (cross, regime),
        (Cross50::Down, Regime::Bull) | (Cross50::Up, Regime::Bear)
    )
}

/// What every signal alert shares.
struct Base<'a> {
    symbol: &'a Symbol,
    s: &'a BarSignals,
    rsi: f64,
    converged: bool,
}

impl Base<'_> {
    /// The bar every signal alert reports.
    fn bar(&self) -> BarFacts {
        BarFacts {
            rsi: self.rsi,
            close: self.s.candle.close,
            bar_open_ms: self.s.candle.open_time,
            bars: self.s.bars,
            converged: self.converged,
        }
    }

    fn alert(&self, severity: Severity, title: String, facts: Facts) -> Alert {
        let s = self.s;
        Alert::new(
            self.symbol.clone(),
            Some(s.interval),
            s.candle.open_time,
            s.close_time(),
            severity,
            title,
            facts,
        )
    }
}

fn regime_change(b: &Base<'_>) -> Alert {
    let (from, to) = (b.s.regime_before, b.s.regime);
    let severity = match to {
        Regime::Range => Severity::Info,
        Regime::Bull | Regime::Bear => Severity::Warning,
    };
    let title = format!(
        "{} {} RSI regime {from} → {to} (RSI {:.1})",
        b.symbol, b.s.interval, b.rsi
    );
    let facts = RegimeChangeFacts {
        from,
        to,
        bar: b.bar(),
    };
    b.alert(severity, title, Facts::RegimeChange(facts))
}

fn midline_cross(b: &Base<'_>, cross: Cross50) -> Alert {
    let regime = b.s.regime_before;
    let direction = match cross {
        Cross50::Up => "above",
        Cross50::Down => "below",
    };
    let title = format!(
        "{} {} RSI crossed {direction} 50 against the {regime} wave (RSI {:.1})",
        b.symbol, b.s.interval, b.rsi
    );
    let facts = MidlineCrossFacts {
        direction: cross,
        against: regime,
        bar: b.bar(),
    };
    b.alert(Severity::Warning, title, Facts::MidlineCross(facts))
}

fn divergence(b: &Base<'_>, d: &Divergence) -> Alert {
    let (what, extreme) = match d.kind {
        DivergenceKind::RegularBull => ("regular bullish", "price lower low, RSI higher low"),
        DivergenceKind::RegularBear => ("regular bearish", "price higher high, RSI lower high"),
        DivergenceKind::HiddenBull => ("hidden bullish", "price higher low, RSI lower low"),
        DivergenceKind::HiddenBear => ("hidden bearish", "price lower high, RSI higher high"),
    };
    let title = format!("{} {} {what} divergence: {extreme}", b.symbol, b.s.interval);
    let facts = DivergenceFacts {
        divergence: d.kind,
        regime: b.s.regime,
        pivot_open_ms: d.pivot.open_time,
        pivot_rsi: d.pivot.rsi,
        pivot_low: d.pivot.low,
        pivot_high: d.pivot.high,
        prev_pivot_open_ms: d.prev.open_time,
        prev_pivot_rsi: d.prev.rsi,
        prev_pivot_low: d.prev.low,
        prev_pivot_high: d.prev.high,
        bar: b.bar(),
    };
    b.alert(Severity::Info, title, Facts::Divergence(facts))
}
