//! The eight readings of the loading score, one function each, from a pair's [`LoadingState`]
//! and the inputs that live elsewhere. Pure; a reading without the data behind it is `unknown`.

use super::{
    FRESH_MS, FUNDING_FRESH_MS, FUNDING_PERIOD_MS, LoadingParams, LoadingState, ScoreInputs,
    WEEK_HOURS,
};
use crate::analytics::clusters::Cluster;
use crate::model::{HOUR_MS, LoadingSignal, Reading, Side, SignalReading, TimeMs};

/// Whether the signal is on (`None`: unknown) and the number behind it.
type Read = (Option<bool>, Option<f64>);

pub(super) fn read(
    s: &LoadingState,
    signal: LoadingSignal,
    at: TimeMs,
    inputs: &ScoreInputs<'_>,
    p: &LoadingParams,
) -> SignalReading {
    let (on, value) = match signal {
        LoadingSignal::ClusterNear => cluster_near(inputs, p),
        LoadingSignal::OiBuilding => oi_building(s, at, p).unwrap_or_default(),
        LoadingSignal::FundingOneSided => funding_one_sided(s, at, inputs, p),
        LoadingSignal::SpotDiverges => spot_diverges(s, at, p).unwrap_or_default(),
        LoadingSignal::ThinLiquidity => thin_liquidity(s, at, p).unwrap_or_default(),
        LoadingSignal::OtherVenues => other_venues(inputs, p),
        LoadingSignal::RepeatedSweeps => repeated_sweeps(s, at, p).unwrap_or_default(),
        LoadingSignal::VolatilityWindow => volatility_window(at, inputs, p),
    };
    let reading = match on {
        Some(true) => Reading::On,
        Some(false) => Reading::Off,
        None => Reading::Unknown,
    };
    SignalReading {
        signal,
        reading,
        value: value.filter(|_| on.is_some()),
    }
}

/// Whether an hour's data is recent at `at`: it closed at most [`FRESH_MS`] before.
fn fresh(hour: i64, at: TimeMs) -> Option<()> {
    ((hour + 1) * HOUR_MS >= at - FRESH_MS).then_some(())
}

/// Signal 1: The nearest qualifying cluster within `cluster_max` of price.
fn cluster_near(inputs: &ScoreInputs<'_>, p: &LoadingParams) -> Read {
    let price = inputs.price;
    let Some(clusters) = inputs.clusters.filter(|_| price.is_finite() && price > 0.0) else {
        return (None, None);
    };
    let nearest = clusters
        .iter()
        .filter(|c| inputs.cluster_test.passes(c))
        .filter_map(|c| distance(c, price))
        .min_by(f64::total_cmp);
    (
        Some(nearest.is_some_and(|d| d <= p.cluster_max)),
        nearest.map(|d| d * 100.0),
    )
}

/// Signal 6: the nearest qualifying cluster of the combined map within `cluster_max` of price is
/// aligned (two venues hold it within one bin). The number is how many venues hold it; unknown
/// with one venue followed.
fn other_venues(inputs: &ScoreInputs<'_>, p: &LoadingParams) -> Read {
    let price = inputs.price;
    let Some(view) = inputs.venues.filter(|_| price.is_finite() && price > 0.0) else {
        return (None, None);
    };
    let nearest = (view.clusters.iter())
        .filter(|c| inputs.cluster_test.passes(c))
        .filter_map(|c| Some((distance(c, price)?, c)))
        .filter(|(d, _)| *d <= p.cluster_max)
        .min_by(|a, b| a.0.total_cmp(&b.0));
    let Some(venues) = nearest.and_then(|(_, c)| view.of(c.id)) else {
        return (Some(false), None);
    };
    (Some(venues.aligned), Some(venues.held_by.len() as f64))
}

/// Fraction from price to the cluster's near edge: 0 inside the pool, `None` once price has gone
/// through its far edge (swept, no longer ahead).
fn distance(c: &Cluster, price: f64) -> Option<f64> {
    let (ahead, beyond) = match c.side {
        // Long liquidations lie below price: the near edge is the pool's top.
        Side::Long => (price - c.near_edge, c.far_edge - price),
        Side::Short => (c.near_edge - price, price - c.far_edge),
    };
    match (ahead >= 0.0, beyond > 0.0) {
        (true, _) => Some(ahead / price),
        (false, false) => Some(0.0),
        (false, true) => None,
    }
}

/// Signal 2: Open interest up over the window while the price range stays narrow.
fn oi_building(s: &LoadingState, at: TimeMs, p: &LoadingParams) -> Option<Read> {
    let end = s.oi.last()?.min(s.bars.last()?);
    fresh(end, at)?;
    let n = i64::from(p.oi_hours);
    let (now, then) = (s.oi.get(end)?, s.oi.get(end - n)?);
    let bars = s.bars.all(end - n + 1..=end)?;
    let low = bars.iter().map(|b| b.low).fold(f64::INFINITY, f64::min);
    let high = bars.iter().map(|b| b.high).fold(0.0, f64::max);
    let change = now / then - 1.0;
    let on = change >= p.oi_rise && high / low - 1.0 <= p.oi_flat_range;
    Some((Some(on), Some(change * 100.0)))
}

/// Signal 3: Funding of one sign for `funding_streak` periods, or beyond the crowded thresholds.
fn funding_one_sided(
    s: &LoadingState,
    at: TimeMs,
    inputs: &ScoreInputs<'_>,
    p: &LoadingParams,
) -> Read {
    let Some(f) = s
        .funding
        .filter(|f| (f.period + 1) * FUNDING_PERIOD_MS >= at - FUNDING_FRESH_MS)
    else {
        return (None, None);
    };
    let streak = f.streak();
    let crowded = f.rate > inputs.crowded.longs_above || f.rate < inputs.crowded.shorts_below;
    let on = streak.unsigned_abs() >= p.funding_streak || crowded;
    (Some(on), Some(f64::from(streak)))
}

/// Signal 4: The perp moved while spot's share of the volume fell against the week before.
fn spot_diverges(s: &LoadingState, at: TimeMs, p: &LoadingParams) -> Option<Read> {
    let end = s.bars.last()?.min(s.volume.last()?).min(s.spot.last()?);
    fresh(end, at)?;
    let n = i64::from(p.spot_hours);
    let (now, then) = (s.bars.get(end)?.close, s.bars.get(end - n)?.close);
    let moved = (now / then - 1.0).abs();
    let (recent, prior) = (end - n + 1..=end, end - n - WEEK_HOURS + 1..=end - n);
    let ratio_recent = s.spot.sum(recent.clone())? / s.volume.sum(recent)?;
    let ratio_prior = s.spot.sum(prior.clone())? / s.volume.sum(prior)?;
    let relative = ratio_recent / ratio_prior;
    let on = moved >= p.spot_move && relative <= p.spot_ratio;
    Some((Some(on), Some(relative)))
}

/// Signal 5: The last hour's volume against the median of the same hour in the 4 weeks before.
fn thin_liquidity(s: &LoadingState, at: TimeMs, p: &LoadingParams) -> Option<Read> {
    let last = s.volume.last()?;
    fresh(last, at)?;
    let volume = s.volume.get(last)?;
    let mut weeks: Vec<f64> = (1..=4)
        .filter_map(|k| s.volume.get(last - k * WEEK_HOURS))
        .collect();
    if weeks.len() < 3 {
        return None;
    }
    weeks.sort_by(f64::total_cmp);
    let mid = weeks.len() / 2;
    let median = match weeks.len() % 2 {
        0 => (weeks[mid - 1] + weeks[mid]) / 2.0,
        _ => weeks[mid],
    };
    let ratio = volume / median;
    Some((Some(ratio <= p.thin_ratio), Some(ratio)))
}

/// Signal 7: Hourly swing failures in the window, when every hour of it was judged.
fn repeated_sweeps(s: &LoadingState, at: TimeMs, p: &LoadingParams) -> Option<Read> {
    let end = s.bars.last()?;
    fresh(end, at)?;
    let first = end - i64::from(p.sweep_hours) + 1;
    if s.sweeps_since? > first {
        return None;
    }
    let count = s.sweeps.iter().filter(|&&h| h >= first).count() as u32;
    Some((Some(count >= p.sweeps), Some(f64::from(count))))
}

/// Signal 8: The next calendar entry within `calendar_hours`; unknown when the calendar says nothing
/// about the time ahead.
fn volatility_window(at: TimeMs, inputs: &ScoreInputs<'_>, p: &LoadingParams) -> Read {
    let next = inputs
        .calendar
        .iter()
        .map(|e| e.time_ms)
        .filter(|&t| t >= at)
        .min();
    let Some(next) = next else {
        return (None, None);
    };
    let hours = (next - at) as f64 / HOUR_MS as f64;
    (Some(hours <= f64::from(p.calendar_hours)), Some(hours))
}
