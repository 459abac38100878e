//! `[cascade]` (the cascade-loading score's thresholds and its alert's level) and `[[calendar]]`
//! (known volatility windows such as a CPI release), in the units a config author thinks in
//! (percent, hours). The defaults are `LoadingParams::DEFAULT`'s. Must never do I/O, read the
//! clock (an entry in the past is inert, not wrong) or read a secret.

use super::table::{Table, positive};
use crate::analytics::loading::{CalendarEntry, LoadingParams, MAX_LOOKBACK_HOURS};

section! {
    /// The cascade-loading score (issue 19): the thresholds of its eight signals and when its
    /// alert may fire.
    pub struct CascadeConfig(t) {
        pub loading: LoadingParams = loading(t),
        /// The alert's level: signals on over signals known, at least this (default 0.75, chosen
        /// in-sample: at 0.5 it raised 702 alerts in 8.6 months of 9 pairs).
        pub alert_level: f64 = t.float("alert_level", 0.75, 0.0..=1.0),
        /// The alert needs at least this many known signals (default 4).
        pub min_known: usize = t.int("min_known", 4, 1..=8),
    }
}

fn loading(t: &Table) -> LoadingParams {
    let d = LoadingParams::DEFAULT;
    // The pair's state keeps this many hours of bars and open interest.
    let hours = |key, default| t.int(key, default, 1..=MAX_LOOKBACK_HOURS);
    LoadingParams {
        cluster_max: t.frac("cluster_max_pct", d.cluster_max, positive(20.0)),
        oi_hours: hours("oi_hours", d.oi_hours),
        oi_rise: t.frac("oi_rise_pct", d.oi_rise, positive(1000.0)),
        oi_flat_range: t.frac("oi_flat_range_pct", d.oi_flat_range, positive(100.0)),
        funding_streak: t.int("funding_streak", d.funding_streak, 1..=90),
        spot_hours: hours("spot_hours", d.spot_hours),
        spot_move: t.frac("spot_move_pct", d.spot_move, positive(100.0)),
        spot_ratio: t.float("spot_ratio", d.spot_ratio, positive(10.0)),
        thin_ratio: t.float("thin_ratio", d.thin_ratio, positive(10.0)),
        sweep_hours: hours("sweep_hours", d.sweep_hours),
        sweeps: t.int("sweeps", d.sweeps, 1..=MAX_LOOKBACK_HOURS),
        calendar_hours: t.int("calendar_hours", d.calendar_hours, 1..=720),
    }
}

/// `[[calendar]]`, by time; an entry with a problem is reported and left out.
pub(super) fn calendar(t: &Table) -> Vec<CalendarEntry> {
    let entry = |e: Table| {
        let time = e.required("time", Table::utc);
        let name = e.required("name", |e, key| {
            e.parse(key, |s| match s.trim() {
                "" => Err("must not be empty".to_owned()),
                name => Ok(name.to_owned()),
            })
        });
        Some(CalendarEntry {
            time_ms: time?,
            name: name?,
        })
    };
    let entries = t.tables("calendar").unwrap_or_default().into_iter();
    let mut entries: Vec<CalendarEntry> = entries.filter_map(entry).collect();
    entries.sort_by_key(|e| e.time_ms);
    entries
}
