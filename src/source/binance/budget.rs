//! The REST budget of one IP, shared by every request liqwave makes: request weight per window
//! (Binance's UTC clock minute), the request counts of `/futures/data/*` and `fundingRate` per
//! five windows, and the pause after a 429 or the ban after a 418. Pure: time is an argument;
//! it answers how long to wait and never sleeps, reads a clock or does I/O.
//!
//! Binance counts a request when it arrives; we count it when we reserve it. A request that is
//! still in flight when a window rolls is charged to the new window as well, so the server's
//! count for a window can never exceed ours (given one clock): the guarantee the tests check.

use crate::model::TimeMs;

/// Requests per five windows on `/futures/data/*` (open-interest history and the ratios).
pub const FUTURES_DATA_LIMIT: u32 = 1000;
/// Requests per five windows on `fundingRate` (shared with `fundingInfo`).
pub const FUNDING_LIMIT: u32 = 500;
/// A 418 without `Retry-After` bans for at least this long (Binance: "from 2 minutes to 3 days").
pub const DEFAULT_BAN_MS: TimeMs = 2 * 60_000;

/// The limits the budget enforces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetParams {
    /// The IP's weight per window as Binance states it (2400).
    pub weight_limit: u32,
    /// The part of every limit we let ourselves use, in (0, 1].
    pub share: f64,
    /// The weight window: 60 000 ms live; tests shrink it to run a warm-up in seconds. The
    /// per-five-minute counts use five of these.
    pub window_ms: TimeMs,
}

impl BudgetParams {
    /// Binance's limits: `weight_limit` per UTC minute, used up to `share`.
    pub fn per_minute(weight_limit: u32, share: f64) -> BudgetParams {
        BudgetParams {
            weight_limit,
            share,
            window_ms: 60_000,
        }
    }

    /// The longest a request can have to wait for its budget alone: a full five-window period.
    pub fn longest_wait_ms(&self) -> TimeMs {
        5 * self.window_ms
    }
}

/// A request count limited per five windows on top of the weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pool {
    /// `/futures/data/*`: 1000 requests per 5 minutes.
    FuturesData,
    /// `/fapi/v1/fundingRate`: 500 requests per 5 minutes.
    Funding,
}

/// What one request costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub weight: u32,
    pub pool: Option<Pool>,
}

impl Cost {
    pub const fn weight(weight: u32) -> Cost {
        Cost { weight, pool: None }
    }

    pub const fn pooled(weight: u32, pool: Pool) -> Cost {
        Cost {
            weight,
            pool: Some(pool),
        }
    }
}

/// A reservation: hand it back to [`Budget::complete`] when the response (or failure) is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a reservation stays in flight until it is completed"]
pub struct Ticket {
    cost: Cost,
    /// The weight window the request was reserved in.
    window: i64,
}

/// Why a request may not go out yet, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    pub until: TimeMs,
    pub reason: WaitReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitReason {
    /// The window's weight share is spent.
    Weight,
    /// The five-window request count of a pool is spent.
    Pool(Pool),
    /// Binance answered 429: everyone pauses.
    RateLimited,
    /// Binance answered 418: the IP is banned, nothing goes out.
    Banned,
}

/// One limited count over aligned windows of `length` ms (window `i` is `[i·length, (i+1)·length)`).
#[derive(Debug, Clone, Copy)]
struct Counter {
    limit: u32,
    length: TimeMs,
    index: i64,
    used: u32,
    in_flight: u32,
}

impl Counter {
    fn new(limit: u32, share: f64, length: TimeMs) -> Counter {
        Counter {
            limit: share_of(limit, share),
            length: length.max(1),
            index: i64::MIN,
            used: 0,
            in_flight: 0,
        }
    }

    /// Moves to the window of `now`; what is still in flight may land in it, so it is charged.
    fn roll(&mut self, now: TimeMs) {
        let index = now.div_euclid(self.length);
        if index > self.index {
            self.index = index;
            self.used = self.in_flight;
        }
    }

    /// Whether `n` more fit; a request larger than the whole share may go alone.
    fn fits(&self, n: u32) -> bool {
        n == 0 || self.used.saturating_add(n) <= self.limit || self.used == 0
    }

    fn next_window(&self) -> TimeMs {
        (self.index + 1).saturating_mul(self.length)
    }

    fn take(&mut self, n: u32) {
        self.used = self.used.saturating_add(n);
        self.in_flight = self.in_flight.saturating_add(n);
    }

    fn land(&mut self, n: u32) {
        self.in_flight = self.in_flight.saturating_sub(n);
    }
}

fn share_of(limit: u32, share: f64) -> u32 {
    // The config keeps share in (0, 1]; at least 1 so that a tiny share still lets requests out.
    ((f64::from(limit) * share).floor() as u32).max(1)
}

/// The shared budget; see the module docs.
#[derive(Debug, Clone)]
pub struct Budget {
    params: BudgetParams,
    weight: Counter,
    futures_data: Counter,
    funding: Counter,
    /// Nothing goes out before this time (a 429 pause or a 418 ban).
    blocked: Option<Wait>,
    /// Weight reserved since the start, for progress reports.
    spent: u64,
}

impl Budget {
    pub fn new(params: BudgetParams) -> Budget {
        let long = params.longest_wait_ms();
        Budget {
            params,
            weight: Counter::new(params.weight_limit, params.share, params.window_ms),
            futures_data: Counter::new(FUTURES_DATA_LIMIT, params.share, long),
            funding: Counter::new(FUNDING_LIMIT, params.share, long),
            blocked: None,
            spent: 0,
        }
    }

    pub fn params(&self) -> BudgetParams {
        self.params
    }

    /// Reserves `cost` at `now`, or says until when to wait before asking again.
    pub fn reserve(&mut self, cost: Cost, now: TimeMs) -> Result<Ticket, Wait> {
        if let Some(wait) = self.blocked.filter(|w| w.until > now) {
            return Err(wait);
        }
        self.roll(now);
        if !self.weight.fits(cost.weight) {
            let until = self.weight.next_window();
            return Err(Wait {
                until,
                reason: WaitReason::Weight,
            });
        }
        if let Some(pool) = cost.pool {
            let counter = self.pool(pool);
            if !counter.fits(1) {
                let until = counter.next_window();
                let reason = WaitReason::Pool(pool);
                return Err(Wait { until, reason });
            }
            counter.take(1);
        }
        self.weight.take(cost.weight);
        self.spent += u64::from(cost.weight);
        Ok(Ticket {
            cost,
            window: self.weight.index,
        })
    }

    /// The request of `ticket` is over at `now`. `server_used` is Binance's count for its window
    /// (`X-MBX-USED-WEIGHT-1M`); it is adopted when higher than ours and the request both left
    /// and returned within the current window (otherwise we cannot tell which window it counts).
    pub fn complete(&mut self, ticket: Ticket, now: TimeMs, server_used: Option<u32>) {
        // Roll first: a request that spanned a boundary is still in flight and gets charged.
        self.roll(now);
        self.weight.land(ticket.cost.weight);
        if let Some(pool) = ticket.cost.pool {
            self.pool(pool).land(1);
        }
        if let Some(used) = server_used
            && ticket.window == self.weight.index
        {
            self.weight.used = self.weight.used.max(used);
        }
    }

    /// Binance answered 429 at `now`: nobody sends before `Retry-After` has passed, or before the
    /// next window without one. Returns the end of the pause.
    pub fn rate_limited(&mut self, now: TimeMs, retry_after_ms: Option<TimeMs>) -> TimeMs {
        self.roll(now);
        let until = match retry_after_ms {
            Some(ms) => now.saturating_add(ms),
            None => self.weight.next_window(),
        };
        self.block(until, WaitReason::RateLimited)
    }

    /// Binance answered 418 at `now`: the IP is banned until `Retry-After` has passed (two
    /// minutes without one). Returns the end of the ban.
    pub fn banned(&mut self, now: TimeMs, retry_after_ms: Option<TimeMs>) -> TimeMs {
        let until = now.saturating_add(retry_after_ms.unwrap_or(DEFAULT_BAN_MS));
        self.block(until, WaitReason::Banned)
    }

    /// Uses `limit` from `exchangeInfo` when it is below the configured one.
    pub fn learn_weight_limit(&mut self, limit: u32) {
        let ours = share_of(limit, self.params.share);
        self.weight.limit = self.weight.limit.min(ours);
    }

    /// Weight counted in the window of `now` (ours or the server's, whichever is higher).
    pub fn used(&mut self, now: TimeMs) -> u32 {
        self.roll(now);
        self.weight.used
    }

    /// Weight reserved since the budget was made.
    pub fn spent(&self) -> u64 {
        self.spent
    }

    /// The pause or ban in force at `now`, if any.
    pub fn blocked(&self, now: TimeMs) -> Option<Wait> {
        self.blocked.filter(|w| w.until > now)
    }

    fn block(&mut self, until: TimeMs, reason: WaitReason) -> TimeMs {
        // A later pause wins; a ban outranks a pause that ends at the same time.
        let keep = self.blocked.is_some_and(|w| {
            w.until > until
                || (w.until == until && (w.reason == reason || w.reason == WaitReason::Banned))
        });
        if !keep {
            self.blocked = Some(Wait { until, reason });
        }
        self.blocked.map_or(until, |w| w.until)
    }

    fn roll(&mut self, now: TimeMs) {
        self.weight.roll(now);
        self.futures_data.roll(now);
        self.funding.roll(now);
    }

    fn pool(&mut self, pool: Pool) -> &mut Counter {
        match pool {
            Pool::FuturesData => &mut self.futures_data,
            Pool::Funding => &mut self.funding,
        }
    }
}

#[cfg(test)]
mod tests;
