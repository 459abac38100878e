//! The intervals of the backtest report: Wilson for rates, a block bootstrap for means and for
//! differences against a baseline. Pure and seeded: one seed, one report; never reads global
//! randomness. Blocks are UTC days, since alerts of one day (across pairs) share one market.

use serde::{Deserialize, Serialize};

use crate::analytics::validation::{SplitMix64, quantile, wilson_interval};
use crate::model::{DAY_MS, TimeMs};

/// Bootstrap resamples per interval.
pub(super) const SAMPLES: usize = 1000;

/// A share with its Wilson 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    pub hits: u64,
    pub n: u64,
    pub rate: f64,
    pub ci95: (f64, f64),
}

impl Rate {
    pub fn of(hits: u64, n: u64) -> Rate {
        Rate {
            hits,
            n,
            rate: if n > 0 { hits as f64 / n as f64 } else { 0.0 },
            ci95: wilson_interval(hits, n),
        }
    }
}

/// A mean with its 95 % day-block bootstrap interval (`None` below two days of data).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Mean {
    pub n: usize,
    pub mean: f64,
    pub ci95: Option<(f64, f64)>,
}

/// A difference (sample − baseline) with its 95 % two-sample day-block bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    pub value: f64,
    pub ci95: Option<(f64, f64)>,
}

/// Values grouped by the UTC day of their time: the resampling unit.
#[derive(Debug, Clone, Default)]
pub(super) struct Sample {
    /// (day, Σ value, count) in day order.
    days: Vec<(i64, f64, f64)>,
}

impl Sample {
    /// `values` as (time, value); non-finite values are left out.
    pub(super) fn new(values: impl IntoIterator<Item = (TimeMs, f64)>) -> Sample {
        let mut v: Vec<(i64, f64)> = values
            .into_iter()
            .filter(|(_, x)| x.is_finite())
            .map(|(t, x)| (t.div_euclid(DAY_MS), x))
            .collect();
        v.sort_by_key(|a| a.0);
        let mut days: Vec<(i64, f64, f64)> = Vec::new();
        for (day, x) in v {
            match days.last_mut() {
                Some(last) if last.0 == day => {
                    last.1 += x;
                    last.2 += 1.0;
                }
                _ => days.push((day, x, 1.0)),
            }
        }
        Sample { days }
    }

    pub(super) fn len(&self) -> usize {
        self.days.iter().map(|d| d.2 as usize).sum()
    }

    fn mean(&self) -> Option<f64> {
        let (sum, n) = self
            .days
            .iter()
            .fold((0.0, 0.0), |a, d| (a.0 + d.1, a.1 + d.2));
        (n > 0.0).then(|| sum / n)
    }

    /// The mean of one resample of whole days.
    fn draw(&self, rng: &mut SplitMix64) -> Option<f64> {
        let k = self.days.len();
        let (mut sum, mut n) = (0.0, 0.0);
        for _ in 0..k {
            let d = self.days[rng.below(k)];
            sum += d.1;
            n += d.2;
        }
        (n > 0.0).then(|| sum / n)
    }

    /// The mean with its interval; `seed` fixes the draws.
    pub(super) fn summary(&self, seed: u64) -> Mean {
        let mut rng = SplitMix64::new(seed);
        let ci = (self.days.len() >= 2)
            .then(|| interval((0..SAMPLES).filter_map(|_| self.draw(&mut rng))))
            .flatten();
        Mean {
            n: self.len(),
            mean: self.mean().unwrap_or(0.0),
            ci95: ci,
        }
    }

    /// This sample's mean minus `baseline`'s, each resampled by its own days.
    pub(super) fn minus(&self, baseline: &Sample, seed: u64) -> Option<Diff> {
        let value = self.mean()? - baseline.mean()?;
        let mut rng = SplitMix64::new(seed);
        let enough = self.days.len() >= 2 && baseline.days.len() >= 2;
        let ci = enough
            .then(|| {
                interval(
                    (0..SAMPLES)
                        .filter_map(|_| Some(self.draw(&mut rng)? - baseline.draw(&mut rng)?)),
                )
            })
            .flatten();
        Some(Diff { value, ci95: ci })
    }
}

/// The 2.5 % and 97.5 % percentiles of the draws.
fn interval(draws: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let mut v: Vec<f64> = draws.filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some((quantile(&v, 0.025), quantile(&v, 0.975)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_and_differences_resample_whole_days() {
        // Two days of values; a one-day sample has no interval.
        let a = Sample::new([(0, 1.0), (1, 3.0), (DAY_MS, 5.0)]);
        let m = a.summary(7);
        assert_eq!((m.n, m.mean), (3, 3.0));
        let (lo, hi) = m.ci95.expect("two days");
        // Day means 2 and 5 (weights 2 and 1): resampled means lie in [2, 5].
        assert!(
            (2.0..=lo).contains(&lo) && hi <= 5.0 && lo < hi,
            "{lo} {hi}"
        );
        assert_eq!(Sample::new([(0, 1.0)]).summary(7).ci95, None);
        let b = Sample::new([(0, 1.0), (DAY_MS, 1.0)]);
        let d = a.minus(&b, 7).unwrap();
        assert_eq!(d.value, 2.0);
        assert_eq!(a.summary(7), a.summary(7), "seeded");
        assert_eq!(Sample::new([]).minus(&b, 1), None);
        assert_eq!(Sample::new([(0, f64::NAN)]).len(), 0);
    }

    #[test]
    fn rates_carry_wilson_intervals() {
        let r = Rate::of(5, 10);
        assert_eq!(r.rate, 0.5);
        assert!(r.ci95.0 < 0.5 && 0.5 < r.ci95.1);
        assert_eq!(Rate::of(0, 0).ci95, (0.0, 1.0));
    }
}
