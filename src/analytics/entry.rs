//! The pullback-then-turn entry trigger (spec v1, rsi-oracle.md §5.4): in a bull wave RSI dips
//! into its 40–50 support zone and the first up-close fires a long; bear mirrored. Pure: closed bars
//! in, a trigger out; it never decides whether the trade is worth taking (rules do).

use serde::{Deserialize, Serialize};

use super::EntryParams;
use super::regime::{Regime, ge, gt, le, lt};

pub use crate::model::EntryDirection;

/// Arm / fire / lock state. One set of flags serves both sides: a regime change clears them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryTrigger {
    armed: bool,
    locked: bool,
}

/// What the trigger needs from one closed bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EntryBar {
    pub rsi: f64,
    pub close: f64,
    /// Close of the previous bar; `None` on the first RSI bar.
    pub prev_close: Option<f64>,
    pub regime_before: Regime,
    pub regime_after: Regime,
    /// True on the first bar that has an RSI value.
    pub first_rsi_bar: bool,
}

impl EntryTrigger {
    pub fn is_armed(&self) -> bool {
        self.armed
    }

    /// Advances the trigger by one closed bar; returns the entry that fires on it, if any.
    pub fn step(&mut self, bar: &EntryBar, p: &EntryParams) -> Option<EntryDirection> {
        if bar.first_rsi_bar || bar.regime_before != bar.regime_after {
            // A new wave (or none) starts: an old arm or lock means nothing in it.
            *self = EntryTrigger::default();
            return None;
        }
        let turned = |up: bool| {
            bar.prev_close.is_some_and(|prev| {
                if up {
                    bar.close > prev
                } else {
                    bar.close < prev
                }
            })
        };
        // Zone edges: the long zone tops out at 50, the short zone bottoms out at 50.
        let (direction, released, in_zone, turned) = match bar.regime_after {
            Regime::Bull => (
                EntryDirection::Long,
                gt(bar.rsi, 50.0 + p.rearm_gap),
                le(bar.rsi, 50.0),
                turned(true),
            ),
            Regime::Bear => (
                EntryDirection::Short,
                lt(bar.rsi, 50.0 - p.rearm_gap),
                ge(bar.rsi, 50.0),
                turned(false),
            ),
            Regime::Range => return None,
        };
        if self.locked && released {
            self.locked = false;
        }
        if self.armed {
            if turned {
                self.armed = false;
                self.locked = true;
                return Some(direction);
            }
        } else if !self.locked && in_zone {
            self.armed = true;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::EntryDirection::{Long, Short};
    use super::Regime::{Bear, Bull, Range};
    use super::*;

    const P: EntryParams = EntryParams { rearm_gap: 5.0 };

    /// Runs `(regime, rsi, close)` bars through one trigger; the first bar is the first RSI bar.
    /// Returns the entries as `(bar index, direction)` and whether the trigger ends armed.
    fn run(bars: &[(Regime, f64, f64)]) -> (Vec<(usize, EntryDirection)>, bool) {
        let mut trigger = EntryTrigger::default();
        let mut out = Vec::new();
        let mut prev: Option<(Regime, f64)> = None;
        for (i, &(regime, rsi, close)) in bars.iter().enumerate() {
            let bar = EntryBar {
                rsi,
                close,
                prev_close: prev.map(|p| p.1),
                regime_before: prev.map_or(Range, |p| p.0),
                regime_after: regime,
                first_rsi_bar: i == 0,
            };
            if let Some(d) = trigger.step(&bar, &P) {
                out.push((i, d));
            }
            prev = Some((regime, close));
        }
        (out, trigger.is_armed())
    }

    #[test]
    fn arm_fire_lock_cycle() {
        type Case = (
            &'static str,
            &'static [(Regime, f64, f64)],
            &'static [(usize, EntryDirection)],
            bool,
        );
        #[rustfmt::skip]
        let cases: &[Case] = &[
            ("dip then up-close fires long", &[(Bull, 72., 100.), (Bull, 48., 95.), (Bull, 52., 97.)], &[(2, Long)], false),
            ("no dip, no entry", &[(Bull, 72., 100.), (Bull, 60., 98.), (Bull, 65., 99.)], &[], false),
            ("armed until the turn", &[(Bull, 72., 100.), (Bull, 48., 95.), (Bull, 45., 93.), (Bull, 44., 93.)], &[], true),
            ("equal close is no turn", &[(Bull, 72., 100.), (Bull, 48., 95.), (Bull, 48., 95.), (Bull, 51., 96.)], &[(3, Long)], false),
            ("locked until rsi clears 55", &[(Bull, 72., 100.), (Bull, 48., 95.), (Bull, 52., 97.), (Bull, 49., 96.), (Bull, 51., 97.)], &[(2, Long)], false),
            ("rearms after clearing 55", &[(Bull, 72., 100.), (Bull, 48., 95.), (Bull, 52., 97.), (Bull, 56., 99.), (Bull, 49., 96.), (Bull, 51., 97.)], &[(2, Long), (5, Long)], false),
            ("55 exactly does not unlock", &[(Bull, 72., 100.), (Bull, 48., 95.), (Bull, 52., 97.), (Bull, 55., 99.), (Bull, 49., 96.), (Bull, 51., 97.)], &[(2, Long)], false),
            ("regime change clears the arm", &[(Bull, 72., 100.), (Bull, 48., 95.), (Range, 39., 90.), (Range, 45., 92.)], &[], false),
            ("first rsi bar only clears", &[(Bull, 48., 95.), (Bull, 49., 96.), (Bull, 50., 97.)], &[(2, Long)], false),
            ("short mirrors long", &[(Bear, 28., 100.), (Bear, 52., 104.), (Bear, 48., 102.)], &[(2, Short)], false),
            ("short locked until below 45", &[(Bear, 28., 100.), (Bear, 52., 104.), (Bear, 48., 102.), (Bear, 51., 103.), (Bear, 44., 99.), (Bear, 52., 103.), (Bear, 47., 101.)], &[(2, Short), (6, Short)], false),
            ("range never arms", &[(Range, 50., 100.), (Range, 45., 98.), (Range, 55., 101.)], &[], false),
        ];
        for (name, bars, want, armed) in cases {
            assert_eq!(run(bars), (want.to_vec(), *armed), "{name}");
        }
    }
}
