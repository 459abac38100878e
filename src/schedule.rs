//! The daily-summary schedule: which local day's summary is due at an instant. Pure: no clock
//! reads, no I/O; time is an argument.
//!
//! A day's slot is its local date at the configured time of day in the configured zone, turned
//! into an instant with jiff's "compatible" disambiguation: a time that a spring-forward
//! transition skips moves forward by the gap (02:30 on a day that jumps from 02:00 to 03:00 is
//! 03:30), and a time that a fall-back transition repeats is its first occurrence. So every local
//! day has exactly one slot, and a summary whose id carries that day goes out at most once.

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

use crate::config::SummaryConfig;
use crate::model::TimeMs;

/// When the daily summary is due: a local time of day in a time zone, and how late a missed one
/// may still be sent on start.
#[derive(Debug, Clone, PartialEq)]
pub struct SummarySchedule {
    at: Time,
    tz: TimeZone,
    grace_ms: TimeMs,
}

/// One day's summary: the local day it belongs to and the instant it is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// The local date in the schedule's zone, `YYYY-MM-DD`; the summary's alert id is per day.
    pub day: String,
    /// When the summary is due, in Unix milliseconds.
    pub at_ms: TimeMs,
}

/// Every instant passed in must lie within jiff's range (the years -9999 to 9999); the methods
/// panic otherwise.
impl SummarySchedule {
    pub fn new(config: &SummaryConfig) -> Self {
        SummarySchedule {
            at: config.at,
            tz: config.tz.clone(),
            grace_ms: TimeMs::try_from(config.grace.as_millis()).unwrap_or(TimeMs::MAX),
        }
    }

    /// The most recent slot at or before `now` (a slot exactly at `now` counts).
    pub fn latest_at_or_before(&self, now: TimeMs) -> Slot {
        self.latest(now).expect(OUT_OF_RANGE)
    }

    /// The first slot strictly after `now`: after sending a slot, the next one to wait for is
    /// `next_after(slot.at_ms)`.
    pub fn next_after(&self, now: TimeMs) -> Slot {
        self.next(now).expect(OUT_OF_RANGE)
    }

    /// The slot to send on start: the latest one, when it is at most the grace old; `None` when
    /// it is older (that day's summary is skipped). The caller still skips a slot whose alert id
    /// the sent log already has (it went out before the restart).
    pub fn due_on_start(&self, now: TimeMs) -> Option<Slot> {
        let slot = self.latest_at_or_before(now);
        (now - slot.at_ms <= self.grace_ms).then_some(slot)
    }

    fn latest(&self, now: TimeMs) -> Result<Slot, jiff::Error> {
        // Tomorrow's slot can only be at or before `now` when a fall-back transition at midnight
        // repeats the end of today; the loop walks back until a slot is not in the future.
        let mut date = self.local_date(now)?.tomorrow()?;
        loop {
            let slot = self.slot(date)?;
            if slot.at_ms <= now {
                return Ok(slot);
            }
            date = date.yesterday()?;
        }
    }

    fn next(&self, now: TimeMs) -> Result<Slot, jiff::Error> {
        // Yesterday's slot can only be after `now` when a gap moved it past midnight.
        let mut date = self.local_date(now)?.yesterday()?;
        loop {
            let slot = self.slot(date)?;
            if slot.at_ms > now {
                return Ok(slot);
            }
            date = date.tomorrow()?;
        }
    }

    fn local_date(&self, now: TimeMs) -> Result<Date, jiff::Error> {
        let now = Timestamp::from_millisecond(now)?;
        Ok(self.tz.to_datetime(now).date())
    }

    fn slot(&self, day: Date) -> Result<Slot, jiff::Error> {
        let local = day.to_datetime(self.at);
        let at = self.tz.to_ambiguous_timestamp(local).compatible()?;
        Ok(Slot {
            day: day.to_string(),
            at_ms: at.as_millisecond(),
        })
    }
}

const OUT_OF_RANGE: &str = "a time within the years -9999 to 9999";

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::{MINUTE_MS, format_utc, parse_utc};

    fn schedule(tz: &str, at: &str, grace_minutes: u64) -> SummarySchedule {
        SummarySchedule::new(&SummaryConfig {
            enabled: true,
            at: at.parse().unwrap(),
            tz: TimeZone::get(tz).unwrap(),
            grace: Duration::from_secs(grace_minutes * 60),
        })
    }

    /// `YYYY-MM-DD HH:MM` UTC to Unix milliseconds.
    fn utc(text: &str) -> TimeMs {
        parse_utc(&format!("{text}:00")).unwrap_or_else(|| panic!("bad time {text:?}"))
    }

    fn shown(slot: &Slot) -> (String, String) {
        assert_eq!(slot.at_ms % MINUTE_MS, 0, "{slot:?}");
        (slot.day.clone(), format_utc(slot.at_ms))
    }

    fn want((day, at): Day) -> (String, String) {
        (day.to_owned(), at.to_owned())
    }

    /// A slot as the tables write it: the local day, then the instant in UTC.
    type Day = (&'static str, &'static str);

    /// One case per line: zone, local time, now (UTC), then the expected slot.
    #[rustfmt::skip]
    const LATEST: &[(&str, &str, &str, Day)] = &[
        ("UTC", "08:00", "2026-11-23 08:00", ("2026-11-23", "2026-11-23 08:00")), // a slot at now counts
        ("UTC", "08:00", "2026-11-23 07:59", ("2026-11-22", "2026-11-22 08:00")),
        ("UTC", "00:00", "2027-01-01 00:00", ("2027-01-01", "2027-01-01 00:00")),
        ("UTC", "23:59", "2027-01-01 00:00", ("2026-12-31", "2026-12-31 23:59")), // across the year
        ("Asia/Tokyo", "08:00", "2026-11-22 23:30", ("2026-11-23", "2026-11-22 23:00")), // +09: local day ahead of UTC's
        ("Asia/Tokyo", "08:00", "2026-11-22 22:59", ("2026-11-22", "2026-11-21 23:00")),
        ("Asia/Kolkata", "08:00", "2026-11-23 02:30", ("2026-11-23", "2026-11-23 02:30")), // +05:30
        ("America/New_York", "20:00", "2026-11-24 00:30", ("2026-11-22", "2026-11-23 01:00")), // -05: local day behind
        ("America/New_York", "20:00", "2026-11-24 01:00", ("2026-11-23", "2026-11-24 01:00")),
        ("Europe/Berlin", "08:00", "2026-07-01 06:00", ("2026-07-01", "2026-07-01 06:00")), // summer time, +02
        ("Europe/Berlin", "02:30", "2026-03-29 12:00", ("2026-03-29", "2026-03-29 01:30")), // 02:30 skipped: 03:30 CEST
        ("Europe/Berlin", "02:30", "2026-03-29 01:29", ("2026-03-28", "2026-03-28 01:30")), // 03:29 CEST: not yet
        ("Europe/Berlin", "02:30", "2026-10-25 01:00", ("2026-10-25", "2026-10-25 00:30")), // 02:30 twice: the first, CEST
        ("Europe/Berlin", "02:30", "2026-10-25 01:30", ("2026-10-25", "2026-10-25 00:30")), // the second is no slot
        ("America/New_York", "02:30", "2026-03-08 12:00", ("2026-03-08", "2026-03-08 07:30")), // skipped: 03:30 EDT
        ("America/New_York", "01:30", "2026-11-01 07:00", ("2026-11-01", "2026-11-01 05:30")), // twice: the first, EDT
    ];

    #[test]
    fn latest_at_or_before() {
        for &(tz, at, now, expected) in LATEST {
            let got = schedule(tz, at, 180).latest_at_or_before(utc(now));
            assert_eq!(shown(&got), want(expected), "{tz} {at} at {now}");
        }
    }

    /// One case per line, as [`LATEST`].
    #[rustfmt::skip]
    const NEXT: &[(&str, &str, &str, Day)] = &[
        ("UTC", "08:00", "2026-11-23 08:00", ("2026-11-24", "2026-11-24 08:00")), // strictly after
        ("UTC", "08:00", "2026-11-23 07:59", ("2026-11-23", "2026-11-23 08:00")),
        ("UTC", "08:00", "2026-12-31 09:00", ("2027-01-01", "2027-01-01 08:00")),
        ("Asia/Tokyo", "08:00", "2026-11-22 22:00", ("2026-11-23", "2026-11-22 23:00")),
        ("America/New_York", "20:00", "2026-11-23 12:00", ("2026-11-23", "2026-11-24 01:00")),
        ("Europe/Berlin", "08:00", "2026-03-28 07:00", ("2026-03-29", "2026-03-29 06:00")), // a day of 23 hours
        ("Europe/Berlin", "08:00", "2026-10-24 06:00", ("2026-10-25", "2026-10-25 07:00")), // a day of 25 hours
        ("Europe/Berlin", "02:30", "2026-03-28 01:30", ("2026-03-29", "2026-03-29 01:30")), // skipped: 03:30 CEST
        ("Europe/Berlin", "02:30", "2026-10-25 00:30", ("2026-10-26", "2026-10-26 01:30")), // not the repeated 02:30
        ("America/New_York", "02:30", "2026-03-07 07:30", ("2026-03-08", "2026-03-08 07:30")), // skipped: 03:30 EDT
        ("America/New_York", "01:30", "2026-11-01 05:30", ("2026-11-02", "2026-11-02 06:30")), // not the repeated 01:30
    ];

    #[test]
    fn next_after() {
        for &(tz, at, now, expected) in NEXT {
            let got = schedule(tz, at, 180).next_after(utc(now));
            assert_eq!(shown(&got), want(expected), "{tz} {at} after {now}");
        }
    }

    /// One case per line: zone, local time, grace in minutes, now (UTC), then the slot to send
    /// on start, if any.
    #[rustfmt::skip]
    const DUE: &[(&str, &str, u64, &str, Option<Day>)] = &[
        ("UTC", "08:00", 180, "2026-11-23 08:00", Some(("2026-11-23", "2026-11-23 08:00"))),
        ("UTC", "08:00", 180, "2026-11-23 11:00", Some(("2026-11-23", "2026-11-23 08:00"))), // the grace's last minute
        ("UTC", "08:00", 180, "2026-11-23 11:01", None), // too late: wait for tomorrow's
        ("UTC", "08:00", 180, "2026-11-23 07:59", None), // yesterday's is a day old
        ("UTC", "08:00", 0, "2026-11-23 08:00", Some(("2026-11-23", "2026-11-23 08:00"))),
        ("UTC", "08:00", 0, "2026-11-23 08:01", None),
        ("UTC", "08:00", 1440, "2026-11-24 07:59", Some(("2026-11-23", "2026-11-23 08:00"))),
        ("America/New_York", "23:00", 180, "2026-11-24 06:00", Some(("2026-11-23", "2026-11-24 04:00"))), // 01:00 local, next day
        ("Asia/Tokyo", "08:00", 60, "2026-11-23 00:01", None), // 61 minutes late
        ("Europe/Berlin", "02:30", 60, "2026-03-29 02:30", Some(("2026-03-29", "2026-03-29 01:30"))), // from the moved slot
    ];

    #[test]
    fn due_on_start() {
        for &(tz, at, grace, now, expected) in DUE {
            let got = schedule(tz, at, grace).due_on_start(utc(now));
            let got = got.as_ref().map(shown);
            assert_eq!(got, expected.map(want), "{tz} {at} grace {grace} at {now}");
        }
    }

    #[test]
    fn every_local_day_has_one_slot_through_both_transitions() {
        for tz in ["Europe/Berlin", "America/New_York", "Australia/Sydney"] {
            for at in ["00:00", "01:30", "02:30", "08:00", "23:59"] {
                let schedule = schedule(tz, at, 0);
                let mut slot = schedule.next_after(utc("2025-12-31 12:00"));
                for _ in 0..400 {
                    let next = schedule.next_after(slot.at_ms);
                    let day: Date = slot.day.parse().unwrap();
                    assert_eq!(next.day, day.tomorrow().unwrap().to_string(), "{tz} {at}");
                    assert_eq!(schedule.latest_at_or_before(slot.at_ms), slot, "{tz} {at}");
                    assert_eq!(schedule.latest_at_or_before(next.at_ms - 1), slot);
                    slot = next;
                }
            }
        }
    }
}
