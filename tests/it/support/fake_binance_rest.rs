//! A fake Binance USDⓈ-M REST API on 127.0.0.1 (research/binance-api.md §2): HTTP/1.1 with
//! keep-alive on std threads, real Binance JSON shapes, the documented weights counted per
//! window and sent back in `X-MBX-USED-WEIGHT-1M`, the limits enforced the way Binance does
//! (429 with Retry-After past the weight or the 1000-per-5-minutes `/futures/data` count; 418,
//! an auto-ban, for a request sent during a 429 pause or a ban), and faults on demand (429, 418,
//! 5xx, slow answers). Every request is recorded with its arrival time, so a test can check the
//! peak weight per window and that nothing arrived during a ban. Nothing leaves the machine.
//!
//! Market data is a deterministic closed-form random walk, not a recording (the recorded 5m
//! series are five weeks long; the 1w warm-up needs five years): per symbol, a log price of a
//! 360-day sine trend (rising at the clock origin for half the symbols, falling for the other
//! half) plus value noise at 1h, 4h, 1d and 1w scales, all hashed from the symbol's name. Any bar
//! of any interval is a function of (symbol, open time), so 5m and 4h bars agree at their
//! boundaries and a request is answered without state.

use std::collections::{HashMap, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use liqwave::clock::Clock;
use liqwave::model::{DAY_MS, Interval, TimeMs};
use serde_json::{Value, json};

#[path = "fake_binance_rest/http.rs"]
mod http;
#[path = "fake_binance_rest/market.rs"]
pub(crate) mod market;
#[path = "fake_binance_rest/routes.rs"]
mod routes;

pub(crate) use market::{Trend, trend};

/// How the fake is set up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FakeConfig {
    /// Synthetic USDT perpetuals listed from the start: `SYN000USDT`, `SYN001USDT`, …
    pub(crate) symbols: usize,
    /// The weight window (60 000 ms like Binance, or shorter to run a warm-up in seconds); the
    /// `/futures/data` count uses five of them.
    pub(crate) window_ms: TimeMs,
    /// Weight per window before a 429 (2400 like Binance).
    pub(crate) weight_limit: u32,
    /// What time it is for the fake: arrivals, closed bars, windows and bans (the wall clock,
    /// or an accelerated one shared with the client and the stream fake).
    pub(crate) clock: Clock,
}

impl FakeConfig {
    pub(crate) fn binance(symbols: usize) -> FakeConfig {
        FakeConfig {
            symbols,
            window_ms: 60_000,
            weight_limit: 2400,
            clock: Clock::Wall,
        }
    }
}

/// A fault the fake answers with instead of the data, for the next matching requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Fault {
    /// 429 with `Retry-After` seconds; a request before it has passed earns a 418.
    TooMany { retry_after_secs: u32 },
    /// 418 with `Retry-After` seconds: banned until then.
    Banned { retry_after_secs: u32 },
    /// A 5xx with Binance's "unknown error" body.
    ServerError(u16),
    /// Answers normally, this late.
    Slow(Duration),
}

/// One request as the fake saw it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hit {
    /// Arrival, epoch ms.
    pub(crate) at: TimeMs,
    pub(crate) path: String,
    pub(crate) symbol: Option<String>,
    pub(crate) status: u16,
    /// Weight counted for it (0 for a refused 429 or 418).
    pub(crate) weight: u32,
    /// A `/futures/data` request counted against the five-window limit.
    pub(crate) futures_data: bool,
}

/// A listed contract.
#[derive(Debug, Clone)]
pub(crate) struct Listing {
    pub(crate) name: String,
    pub(crate) status: &'static str,
    pub(crate) onboard: TimeMs,
}

#[derive(Debug, Default)]
struct Limits {
    weight: HashMap<TimeMs, u32>,
    futures_data: HashMap<TimeMs, u32>,
    /// After a 429: a request before this is auto-banned.
    paused_until: TimeMs,
    banned_until: TimeMs,
}

#[derive(Debug)]
pub(crate) struct State {
    config: FakeConfig,
    /// The clock origin of the synthetic market (a Monday, the week the fake started).
    pub(crate) origin: TimeMs,
    listings: Mutex<Vec<Listing>>,
    /// The real 2021 `exchangeInfo` sample: its BTCUSDT entry is the template of every listing,
    /// its non-perpetual, non-USDT and pending entries stay as distractors.
    sample: Value,
    faults: Mutex<VecDeque<(Option<&'static str>, Fault)>>,
    hits: Mutex<Vec<Hit>>,
    /// Per path: requests being answered now, and the most at once.
    in_flight: Mutex<HashMap<String, (u32, u32)>>,
    limits: Mutex<Limits>,
}

pub(crate) struct FakeBinanceRest {
    pub(crate) url: String,
    state: Arc<State>,
}

impl FakeBinanceRest {
    pub(crate) fn start(config: FakeConfig) -> FakeBinanceRest {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let origin = Interval::W1.bar_open(config.clock.now());
        let listings = (0..config.symbols)
            .map(|i| Listing {
                name: format!("SYN{i:03}USDT"),
                status: "TRADING",
                onboard: origin - 6 * 365 * DAY_MS,
            })
            .collect();
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/binance/exchangeInfo_sample.json"
        );
        let sample = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let state = Arc::new(State {
            config,
            origin,
            listings: Mutex::new(listings),
            sample,
            faults: Mutex::default(),
            hits: Mutex::default(),
            in_flight: Mutex::default(),
            limits: Mutex::default(),
        });
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let state = Arc::clone(&shared);
                std::thread::spawn(move || http::serve(stream, &state));
            }
        });
        FakeBinanceRest { url, state }
    }

    /// Answers the next `times` requests to `path` (any path with `None`) with `fault`.
    pub(crate) fn inject(&self, path: Option<&'static str>, fault: Fault, times: usize) {
        let mut faults = self.state.faults.lock().unwrap();
        faults.extend(std::iter::repeat_n((path, fault), times));
    }

    /// Lists a new TRADING perpetual, onboarded two days ago.
    pub(crate) fn list(&self, name: &str) {
        self.state.listings.lock().unwrap().push(Listing {
            name: name.to_owned(),
            status: "TRADING",
            onboard: self.state.now() - 2 * DAY_MS,
        });
    }

    /// Delists a contract: it stays in `exchangeInfo`, SETTLING, as Binance shows it for a while.
    pub(crate) fn delist(&self, name: &str) {
        let mut listings = self.state.listings.lock().unwrap();
        let listing = listings
            .iter_mut()
            .find(|l| l.name == name)
            .expect("listed");
        listing.status = "SETTLING";
    }

    pub(crate) fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().unwrap().clone()
    }

    /// The highest weight counted in one window.
    pub(crate) fn peak_weight(&self) -> u32 {
        let limits = self.state.limits.lock().unwrap();
        limits.weight.values().copied().max().unwrap_or(0)
    }

    /// The highest `/futures/data` count in one five-window period.
    pub(crate) fn peak_futures_data(&self) -> u32 {
        let limits = self.state.limits.lock().unwrap();
        limits.futures_data.values().copied().max().unwrap_or(0)
    }

    /// The most requests to `path` the fake was answering at once (a slow answer included).
    pub(crate) fn peak_in_flight(&self, path: &str) -> u32 {
        let in_flight = self.state.in_flight.lock().unwrap();
        in_flight.get(path).map_or(0, |(_, peak)| *peak)
    }

    /// The fake's market, for a stream fake to play the same bars on the same clock.
    pub(crate) fn market(&self) -> MarketView {
        MarketView(Arc::clone(&self.state))
    }
}

/// A handle on the fake's market: its clock, the pairs trading and their bars, exactly as the
/// REST endpoints answer them.
#[derive(Debug, Clone)]
pub(crate) struct MarketView(Arc<State>);

impl MarketView {
    pub(crate) fn clock(&self) -> Clock {
        self.0.config.clock
    }

    /// The contracts trading now, in listing order.
    pub(crate) fn trading(&self) -> Vec<String> {
        let listings = self.0.listings();
        let trading = listings.into_iter().filter(|l| l.status == "TRADING");
        trading.map(|l| l.name).collect()
    }

    /// A closed 5m bar as decimal texts (open, high, low, close, volume, quote volume,
    /// taker-buy quote volume), written as `/fapi/v1/klines` writes them.
    pub(crate) fn bar(&self, name: &str, open: TimeMs) -> [String; 7] {
        let walk = market::Walk::new(name, self.0.origin);
        walk.texts(Interval::M5, open, open + Interval::M5.duration_ms())
    }
}

/// Whether a request gets through to the data, and how.
struct Admission {
    /// The answer instead of the data.
    refusal: Option<Answer>,
    /// Its weight was counted.
    counted: bool,
    delay: Option<Duration>,
}

impl Admission {
    fn refuse(answer: Answer) -> Admission {
        Admission {
            refusal: Some(answer),
            counted: false,
            delay: None,
        }
    }
}

/// What one request is answered with.
struct Answer {
    status: u16,
    body: String,
    retry_after_secs: Option<u32>,
    delay: Option<Duration>,
}

impl Answer {
    fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            body: body.to_string(),
            retry_after_secs: None,
            delay: None,
        }
    }

    fn error(status: u16, code: i64, msg: &str) -> Answer {
        Answer::json(status, json!({"code": code, "msg": msg}))
    }
}

impl State {
    /// A request to `path` starts (`+1`) or ends (`-1`) being answered.
    fn in_flight(&self, path: &str, step: i32) {
        let mut in_flight = self.in_flight.lock().unwrap();
        let (now, peak) = in_flight.entry(path.to_owned()).or_default();
        *now = now.saturating_add_signed(step);
        *peak = (*peak).max(*now);
    }

    /// Market time for the fake.
    pub(crate) fn now(&self) -> TimeMs {
        self.config.clock.now()
    }

    /// Counts, checks and answers one request arriving at `at`; records it. Returns the answer
    /// and the weight of the window after it.
    fn handle(&self, at: TimeMs, path: &str, query: &HashMap<String, String>) -> (Answer, u32) {
        let weight = routes::weight(path, query);
        let futures_data = path.starts_with("/futures/data/");
        let admission = self.admit(at, path, weight, futures_data);
        let mut answer = admission
            .refusal
            .unwrap_or_else(|| routes::route(self, at, path, query));
        answer.delay = admission.delay;
        let used = {
            let limits = self.limits.lock().unwrap();
            let window = at.div_euclid(self.config.window_ms);
            limits.weight.get(&window).copied().unwrap_or(0)
        };
        self.hits.lock().unwrap().push(Hit {
            at,
            path: path.to_owned(),
            symbol: query.get("symbol").cloned(),
            status: answer.status,
            weight: if admission.counted { weight } else { 0 },
            futures_data: admission.counted && futures_data,
        });
        (answer, used)
    }

    /// Bans, pauses, injected faults and the limits, in that order.
    fn admit(&self, at: TimeMs, path: &str, weight: u32, futures_data: bool) -> Admission {
        let window = self.config.window_ms;
        let mut limits = self.limits.lock().unwrap();
        if at < limits.banned_until || at < limits.paused_until {
            // Sending during a pause earns a ban; sending during a ban keeps it.
            let until = limits.banned_until.max(at + 2 * 1000);
            limits.banned_until = until;
            return Admission::refuse(banned(at, until));
        }
        let fault = {
            let mut faults = self.faults.lock().unwrap();
            let i = faults.iter().position(|(p, _)| p.is_none_or(|p| p == path));
            i.and_then(|i| faults.remove(i)).map(|(_, f)| f)
        };
        let mut delay = None;
        match fault {
            Some(Fault::TooMany { retry_after_secs }) => {
                limits.paused_until = at + TimeMs::from(retry_after_secs) * 1000;
                return Admission::refuse(too_many(retry_after_secs));
            }
            Some(Fault::Banned { retry_after_secs }) => {
                let until = at + TimeMs::from(retry_after_secs) * 1000;
                limits.banned_until = until;
                return Admission::refuse(banned(at, until));
            }
            Some(Fault::Slow(d)) => delay = Some(d),
            Some(Fault::ServerError(_)) | None => {}
        }
        let w = at.div_euclid(window);
        let used = limits.weight.get(&w).copied().unwrap_or(0);
        if used + weight > self.config.weight_limit {
            let next = (w + 1) * window;
            limits.paused_until = next;
            let secs = ((next - at) as u64).div_ceil(1000) as u32;
            return Admission::refuse(too_many(secs));
        }
        let long = at.div_euclid(5 * window);
        let data = limits.futures_data.get(&long).copied().unwrap_or(0);
        if futures_data && data + 1 > 1000 {
            let next = (long + 1) * 5 * window;
            limits.paused_until = next;
            let secs = ((next - at) as u64).div_ceil(1000) as u32;
            return Admission::refuse(too_many(secs));
        }
        *limits.weight.entry(w).or_default() += weight;
        if futures_data {
            *limits.futures_data.entry(long).or_default() += 1;
        }
        let refusal = match fault {
            Some(Fault::ServerError(status)) => {
                let msg = "An unknown error occurred while processing the request.";
                Some(Answer::error(status, -1000, msg))
            }
            _ => None,
        };
        Admission {
            refusal,
            counted: true,
            delay,
        }
    }

    pub(crate) fn listings(&self) -> Vec<Listing> {
        self.listings.lock().unwrap().clone()
    }

    pub(crate) fn listing(&self, name: &str) -> Option<Listing> {
        self.listings().into_iter().find(|l| l.name == name)
    }

    pub(crate) fn sample(&self) -> &Value {
        &self.sample
    }

    pub(crate) fn weight_limit(&self) -> u32 {
        self.config.weight_limit
    }
}

fn too_many(retry_after_secs: u32) -> Answer {
    let msg = "Too many requests; current limit of IP(127.0.0.1) is 2400 requests per minute. \
               Please use the websocket for live updates to avoid polling the API.";
    let mut answer = Answer::error(429, -1003, msg);
    answer.retry_after_secs = Some(retry_after_secs);
    answer
}

fn banned(at: TimeMs, until: TimeMs) -> Answer {
    let msg = format!(
        "Way too many requests; IP(127.0.0.1) banned until {until}. Please use the websocket for live updates to avoid bans."
    );
    let mut answer = Answer::error(418, -1003, &msg);
    answer.retry_after_secs = Some(((until - at) as u64).div_ceil(1000) as u32);
    answer
}
