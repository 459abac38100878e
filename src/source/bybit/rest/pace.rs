//! How fast the client may send: at most `limit` requests per sliding window of our own, and
//! nothing while Bybit holds us back (a 403 or a 10006). Pure: `now` is an argument.

use std::collections::VecDeque;

use crate::model::TimeMs;

#[derive(Debug)]
pub(super) struct Pace {
    limit: usize,
    window_ms: TimeMs,
    sent: VecDeque<TimeMs>,
    /// Nothing goes out before this (a 403 or a 10006 answer).
    paused_until: TimeMs,
    /// The pause is an IP ban (403), not a rate limit.
    banned: bool,
}

impl Pace {
    pub(super) fn new(limit: usize, window_ms: TimeMs) -> Pace {
        Pace {
            limit: limit.max(1),
            window_ms: window_ms.max(1),
            sent: VecDeque::new(),
            paused_until: TimeMs::MIN,
            banned: false,
        }
    }

    /// Takes a slot at `now`, or says when to ask again (and whether a ban is the reason).
    pub(super) fn take(&mut self, now: TimeMs) -> Result<(), (TimeMs, bool)> {
        if now < self.paused_until {
            return Err((self.paused_until, self.banned));
        }
        while self
            .sent
            .front()
            .is_some_and(|t| *t + self.window_ms <= now)
        {
            self.sent.pop_front();
        }
        if self.sent.len() >= self.limit {
            let oldest = *self.sent.front().expect("full, so not empty");
            return Err((oldest + self.window_ms, false));
        }
        self.sent.push_back(now);
        Ok(())
    }

    /// Holds every request until `until`.
    pub(super) fn pause(&mut self, until: TimeMs, banned: bool) {
        if until > self.paused_until {
            self.paused_until = until;
            self.banned = banned;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_slides_and_pauses_hold_everything() {
        let mut pace = Pace::new(2, 1000);
        // One line per step: time, what `take` answers.
        type Step = (TimeMs, Result<(), (TimeMs, bool)>);
        #[rustfmt::skip]
        let steps: [Step; 5] = [
            (0, Ok(())),
            (10, Ok(())),
            (20, Err((1000, false))),
            (1000, Ok(())),
            (1005, Err((1010, false))),
        ];
        for (now, want) in steps {
            assert_eq!(pace.take(now), want, "at {now}");
        }
        pace.pause(700_000, true);
        assert_eq!(pace.take(5000), Err((700_000, true)));
        pace.pause(600_000, false);
        assert_eq!(pace.take(700_000), Ok(()));
    }
}
