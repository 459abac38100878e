//! The log-price grid of a frozen frame and the bin sets that bands become, for model validation.
//! Pure integer and float arithmetic; owns no policy about what counts as a hit.

/// An inclusive span of absolute bins, `lo..=hi`.
pub(super) type Span = (i32, i32);

/// A frame's log grid: bin `i` holds prices in [(1+δ)^i, (1+δ)^(i+1)), δ = `bin_bp` / 10⁴, the
/// same absolute bins as the heatmap model so a frame's bins and its bands line up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Grid {
    ln_step: f64,
}

impl Grid {
    /// `None` unless the bin width is positive and finite.
    pub(super) fn new(bin_bp: f64) -> Option<Grid> {
        (bin_bp.is_finite() && bin_bp > 0.0).then(|| Grid {
            ln_step: (1.0 + bin_bp / 1e4).ln(),
        })
    }

    /// The bin of a positive price. Saturates at the i32 range instead of wrapping, so an absurd
    /// price lands far outside every window rather than inside one.
    pub(super) fn bin(self, price: f64) -> i32 {
        (price.ln() / self.ln_step).floor() as i32
    }

    /// The lowest price of bin `b`.
    pub(super) fn low(self, b: i32) -> f64 {
        (f64::from(b) * self.ln_step).exp()
    }
}

/// Bins in `span`, as a count.
pub(super) fn span_bins(span: Span) -> u64 {
    (i64::from(span.1) - i64::from(span.0) + 1).max(0) as u64
}

/// A set of bins kept as sorted, disjoint, non-adjacent inclusive spans, so a bin is counted
/// once however many bands cover it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Runs(Vec<Span>);

impl Runs {
    /// The union of `spans` (each may come in either order).
    pub(super) fn from_spans(spans: impl IntoIterator<Item = Span>) -> Runs {
        let mut sorted: Vec<Span> = spans
            .into_iter()
            .map(|(a, b)| (a.min(b), a.max(b)))
            .collect();
        sorted.sort_unstable();
        let mut out: Vec<Span> = Vec::with_capacity(sorted.len());
        for (lo, hi) in sorted {
            match out.last_mut() {
                Some(last) if i64::from(lo) <= i64::from(last.1) + 1 => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        Runs(out)
    }

    pub(super) fn spans(&self) -> &[Span] {
        &self.0
    }

    /// Every span grown by `by` bins each way: the tolerance for realized prices scattering
    /// around a level (cross margin, partial liquidation, mark vs order price).
    pub(super) fn widen(&self, by: u32) -> Runs {
        let by = i32::try_from(by).unwrap_or(i32::MAX);
        Runs::from_spans(
            self.0
                .iter()
                .map(|&(lo, hi)| (lo.saturating_sub(by), hi.saturating_add(by))),
        )
    }

    /// The part inside `to`.
    pub(super) fn clip(&self, to: Span) -> Runs {
        Runs(
            self.0
                .iter()
                .filter_map(|&(lo, hi)| {
                    let (lo, hi) = (lo.max(to.0), hi.min(to.1));
                    (lo <= hi).then_some((lo, hi))
                })
                .collect(),
        )
    }

    /// How many bins the set holds.
    pub(super) fn bins(&self) -> u64 {
        self.0.iter().map(|&s| span_bins(s)).sum()
    }

    /// How many of the set's bins lie inside `span`.
    pub(super) fn bins_in(&self, span: Span) -> u64 {
        self.clip(span).bins()
    }

    pub(super) fn contains(&self, bin: i32) -> bool {
        let i = self.0.partition_point(|s| s.1 < bin);
        self.0.get(i).is_some_and(|s| s.0 <= bin)
    }
}
