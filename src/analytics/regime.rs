//! The Cardwell RSI regime (spec v1, rsi-oracle.md §5.3) and RSI comparisons with tolerance.
//! Pure: a function of the previous regime and one RSI value; never sees prices or time.

use super::{EPS, RegimeThresholds};

// The type is part of the alert vocabulary (`model`); the Cardwell rule that moves it is here.
pub use crate::model::Regime;

impl Regime {
    /// The regime after a closed bar with RSI `x`. Any print at or beyond an enter level resets the
    /// label, so the result is path-stable after warm-up.
    pub fn next(self, x: f64, t: &RegimeThresholds) -> Regime {
        if ge(x, t.bull_enter) {
            Regime::Bull
        } else if le(x, t.bear_enter) {
            Regime::Bear
        } else if (self == Regime::Bull && lt(x, t.bull_exit))
            || (self == Regime::Bear && gt(x, t.bear_exit))
        {
            // The wave's support (bull) or resistance (bear) gave way.
            Regime::Range
        } else {
            self
        }
    }
}

/// `a > b` for RSI values: beyond float noise (rsi-oracle.md §5.0).
pub fn gt(a: f64, b: f64) -> bool {
    a > b + EPS
}

/// `a < b` for RSI values.
pub fn lt(a: f64, b: f64) -> bool {
    a < b - EPS
}

/// `a ≥ b` for RSI values: not `a < b`.
pub fn ge(a: f64, b: f64) -> bool {
    !lt(a, b)
}

/// `a ≤ b` for RSI values: not `a > b`.
pub fn le(a: f64, b: f64) -> bool {
    !gt(a, b)
}

#[cfg(test)]
mod tests {
    use super::Regime::{Bear, Bull, Range};
    use super::*;

    const T: RegimeThresholds = RegimeThresholds::CARDWELL;

    #[test]
    fn transitions_follow_spec_v1() {
        // (state before, rsi, state after)
        let cases = [
            (Range, 69.999, Range),
            (Range, 70.0, Bull),
            (Range, 70.0 - 1e-10, Bull), // within EPS of the level counts as at it
            (Bull, 40.0, Bull),
            (Bull, 39.999, Range),
            (Bull, 30.0, Bear),
            (Range, 30.0, Bear),
            (Range, 30.001, Range),
            (Bear, 60.0, Bear),
            (Bear, 60.001, Range),
            (Bear, 75.0, Bull),
            (Range, 50.0, Range),
            (Bull, 55.0, Bull),
            (Bear, 45.0, Bear),
        ];
        for (before, x, after) in cases {
            assert_eq!(before.next(x, &T), after, "{before} with rsi {x}");
        }
    }

    #[test]
    fn comparisons_ignore_float_noise() {
        assert!(!gt(50.0 + 1e-12, 50.0));
        assert!(ge(50.0 - 1e-12, 50.0));
        assert!(gt(50.000_001, 50.0));
        assert!(le(50.0 + 1e-12, 50.0));
        assert!(lt(49.999_999, 50.0));
    }
}
