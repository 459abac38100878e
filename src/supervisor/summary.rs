//! The daily-summary clock: asks the engine for the summary when a local day's slot comes, and
//! once on start when a slot was missed within the grace window. Owns only the timing; the engine
//! builds the summary, the outbox and sent log make it go out once per day.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::engine::{Command, SummaryRequest};
use crate::model::TimeMs;
use crate::schedule::{Slot, SummarySchedule};

/// Longest single sleep: the wall clock can jump (NTP, a suspended VM), so it is read again at
/// least this often.
const MAX_SLEEP: Duration = Duration::from_secs(600);

/// Runs until `shutdown` is cancelled or the engine is gone. `clock` reads wall-clock ms (tests
/// pass one driven by paused tokio time).
pub(crate) async fn run_summaries(
    schedule: SummarySchedule,
    tz: String,
    commands: mpsc::Sender<Command>,
    shutdown: CancellationToken,
    clock: impl Fn() -> TimeMs,
) {
    let start = clock();
    let mut next: Slot = match schedule.due_on_start(start) {
        Some(missed) => {
            tracing::info!(day = %missed.day, "A daily summary was missed within the grace window; raising it now.");
            missed
        }
        None => schedule.next_after(start),
    };
    loop {
        let now = clock();
        if now >= next.at_ms {
            let request = SummaryRequest {
                day: next.day.clone(),
                tz: tz.clone(),
                now,
            };
            // The request first: a summary that is due goes out even when shutdown comes at the
            // same moment, if the engine has room for it; the drain then delivers it.
            tokio::select! {
                biased;
                sent = commands.send(Command::Summary(request)) => if sent.is_err() { return },
                () = shutdown.cancelled() => return,
            }
            tracing::info!(day = %next.day, "Daily summary requested.");
            next = schedule.next_after(now.max(next.at_ms));
            tracing::info!(day = %next.day, at_ms = next.at_ms, "Next daily summary scheduled.");
            continue;
        }
        let wait = Duration::from_millis((next.at_ms - now) as u64).min(MAX_SLEEP);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SummaryConfig;
    use crate::model::{HOUR_MS, format_utc, parse_utc};

    /// Runs the clock from `start` for `hours` of paused tokio time and returns the requests as
    /// (day, wall time).
    async fn requests(start: &str, grace_hours: u64, hours: i64) -> Vec<(String, String)> {
        let config = SummaryConfig {
            enabled: true,
            at: jiff::civil::time(8, 0, 0, 0),
            tz: jiff::tz::TimeZone::get("Europe/Berlin").unwrap(),
            grace: Duration::from_secs(grace_hours * 3600),
        };
        let base = parse_utc(&format!("{start}:00")).unwrap();
        let origin = tokio::time::Instant::now();
        let clock = move || base + origin.elapsed().as_millis() as TimeMs;
        let (tx, mut rx) = mpsc::channel(16);
        let shutdown = CancellationToken::new();
        let runner = run_summaries(
            SummarySchedule::new(&config),
            "Europe/Berlin".into(),
            tx,
            shutdown,
            clock,
        );
        let _ran_out =
            tokio::time::timeout(Duration::from_millis((hours * HOUR_MS) as u64), runner).await;
        let mut got = Vec::new();
        while let Ok(Command::Summary(r)) = rx.try_recv() {
            got.push((r.day, format_utc(r.now)));
        }
        got
    }

    #[tokio::test(start_paused = true)]
    async fn summaries_come_at_the_local_time_and_a_missed_one_within_grace() {
        // Berlin is UTC+1 in November: 08:00 local = 07:00 UTC.
        // (start UTC, grace h, run h, expected (day, UTC time) requests)
        type Case = (
            &'static str,
            u64,
            i64,
            &'static [(&'static str, &'static str)],
        );
        #[rustfmt::skip]
        let cases: [Case; 4] = [
            ("2026-11-23 06:00", 3, 26, &[("2026-11-23", "2026-11-23 07:00"), ("2026-11-24", "2026-11-24 07:00")]),
            ("2026-11-23 09:30", 3, 2, &[("2026-11-23", "2026-11-23 09:30")]),
            ("2026-11-23 11:00", 3, 2, &[]),
            ("2026-11-23 09:30", 0, 24, &[("2026-11-24", "2026-11-24 07:00")]),
        ];
        for (start, grace, hours, want) in cases {
            let want: Vec<(String, String)> = want
                .iter()
                .map(|(d, t)| ((*d).to_owned(), (*t).to_owned()))
                .collect();
            assert_eq!(
                requests(start, grace, hours).await,
                want,
                "start {start}, grace {grace} h"
            );
        }
    }
}
