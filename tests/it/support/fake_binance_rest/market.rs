//! The fake's synthetic market: a deterministic closed-form random walk per symbol. The log price
//! is a 360-day sine trend of amplitude 1 (rising through the clock origin for half the symbols,
//! falling for the others) plus smooth value noise at 1h, 4h, 1d and 1w scales, every number
//! hashed from the symbol's name and the time. Bars, open interest and funding are functions of
//! (symbol, time), so any request can be answered without state and 5m and 4h bars agree at
//! their boundaries.

use std::f64::consts::TAU;

use liqwave::model::{DAY_MS, HOUR_MS, Interval, TimeMs, WEEK_MS};

/// Noise scales and amplitudes (in log price).
const NOISE: [(TimeMs, f64); 4] = [
    (HOUR_MS, 0.003),
    (4 * HOUR_MS, 0.008),
    (DAY_MS, 0.02),
    (WEEK_MS, 0.05),
];
const TREND_DAYS: f64 = 360.0;
const FUNDING_EVERY: TimeMs = 8 * HOUR_MS;

/// Which way a symbol's trend runs through the clock origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trend {
    Up,
    Down,
}

pub(crate) fn trend(symbol: &str) -> Trend {
    if seed(symbol) & 1 == 0 {
        Trend::Up
    } else {
        Trend::Down
    }
}

/// One bar as numbers; [`Walk::row`] writes it as Binance does.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bar {
    pub(crate) open: f64,
    pub(crate) high: f64,
    pub(crate) low: f64,
    pub(crate) close: f64,
    pub(crate) volume: f64,
    pub(crate) taker_share: f64,
    pub(crate) trades: u64,
}

/// A symbol's walk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Walk {
    seed: u64,
    origin: TimeMs,
    base_ln: f64,
    dir: f64,
    /// Decimals its prices are written with (about seven significant digits).
    pub(crate) decimals: usize,
    /// Base volume of a 5m bar.
    volume_5m: f64,
}

impl Walk {
    pub(crate) fn new(symbol: &str, origin: TimeMs) -> Walk {
        let seed = seed(symbol);
        // A base price between 0.01 and 50 000.
        let base_ln = 0.01f64.ln() + unit01(seed, 1, 0) * (5e6f64).ln();
        let magnitude = (base_ln / std::f64::consts::LN_10).floor() as i64;
        Walk {
            seed,
            origin,
            base_ln,
            dir: if trend(symbol) == Trend::Up {
                1.0
            } else {
                -1.0
            },
            decimals: (6 - magnitude).clamp(2, 10) as usize,
            volume_5m: 10f64.powf(2.0 + 3.0 * unit01(seed, 2, 0)),
        }
    }

    pub(crate) fn price(&self, t: TimeMs) -> f64 {
        let days = (t - self.origin) as f64 / DAY_MS as f64;
        let mut ln = self.base_ln + self.dir * (TAU * days / TREND_DAYS).sin();
        for (i, (scale, amp)) in NOISE.iter().enumerate() {
            ln += amp * noise(self.seed, 10 + i as u64, t, *scale);
        }
        ln.exp()
    }

    /// The bar of `interval` opening at `open` as known at `now` (a forming bar closes at now).
    pub(crate) fn bar(&self, interval: Interval, open: TimeMs, now: TimeMs) -> Bar {
        let d = interval.duration_ms();
        let (o, c) = (self.price(open), self.price((open + d).min(now)));
        let fives = (d / (5 * 60_000)).max(1) as f64;
        let wick = 0.002 * fives.sqrt() * (0.2 + 0.8 * unit01(self.seed, 3, open));
        let volume = self.volume_5m * fives * (0.6 + 0.4 * unit01(self.seed, 4, open));
        Bar {
            open: o,
            high: o.max(c) * (1.0 + wick),
            low: o.min(c) * (1.0 - wick),
            close: c,
            volume,
            taker_share: 0.4 + 0.2 * unit01(self.seed, 5, open),
            trades: (volume.sqrt() * 10.0) as u64 + 1,
        }
    }

    /// A klines row: `[open time, "o", "h", "l", "c", "v", close time, "q", trades, "tbv", "tbq", "0"]`.
    pub(crate) fn row(&self, interval: Interval, open: TimeMs, now: TimeMs) -> String {
        let b = self.bar(interval, open, now);
        let [o, h, l, c, v, q, tbq] = self.texts(interval, open, now);
        format!(
            "[{open},\"{o}\",\"{h}\",\"{l}\",\"{c}\",\"{v}\",{},\"{q}\",{},\"{:.3}\",\"{tbq}\",\"0\"]",
            open + interval.duration_ms() - 1,
            b.trades,
            b.volume * b.taker_share,
        )
    }

    /// A bar's decimal texts as Binance writes them: open, high, low, close, volume, quote
    /// volume, taker-buy quote volume (the stream fake writes the same into its klines).
    pub(crate) fn texts(&self, interval: Interval, open: TimeMs, now: TimeMs) -> [String; 7] {
        let b = self.bar(interval, open, now);
        let quote = b.volume * (b.open + b.close) / 2.0;
        let p = |x: f64| format!("{x:.*}", self.decimals);
        [
            p(b.open),
            p(b.high),
            p(b.low),
            p(b.close),
            format!("{:.3}", b.volume),
            format!("{quote:.4}"),
            format!("{:.4}", quote * b.taker_share),
        ]
    }

    pub(crate) fn price_text(&self, t: TimeMs) -> String {
        format!("{:.*}", self.decimals, self.price(t))
    }

    /// Open interest in contracts at `t`.
    pub(crate) fn open_interest(&self, t: TimeMs) -> f64 {
        let wave = 0.25 * noise(self.seed, 20, t, DAY_MS) + 0.05 * noise(self.seed, 21, t, HOUR_MS);
        self.volume_5m * 50.0 * wave.exp()
    }

    /// The funding rate settled at funding time `t`: positive in an up-trend (crowded longs).
    pub(crate) fn funding_rate(&self, t: TimeMs) -> f64 {
        self.dir * 0.0001 + 0.00005 * unit(self.seed, 30, t.div_euclid(FUNDING_EVERY))
    }
}

/// Funding times (every 8 hours from 00:00 UTC) in `[from, to]`.
pub(crate) fn funding_times(from: TimeMs, to: TimeMs) -> impl Iterator<Item = TimeMs> {
    let first = from.div_euclid(FUNDING_EVERY) * FUNDING_EVERY;
    let first = if first < from {
        first + FUNDING_EVERY
    } else {
        first
    };
    (0..)
        .map(move |k| first + k * FUNDING_EVERY)
        .take_while(move |t| *t <= to)
}

pub(crate) fn funding_every() -> TimeMs {
    FUNDING_EVERY
}

/// FNV-1a of the name.
fn seed(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// splitmix64's finaliser.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn unit01(seed: u64, salt: u64, k: i64) -> f64 {
    let bits = mix(seed ^ mix(salt.wrapping_add(0x9e37_79b9_7f4a_7c15)) ^ mix(k as u64));
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

fn unit(seed: u64, salt: u64, k: i64) -> f64 {
    2.0 * unit01(seed, salt, k) - 1.0
}

/// Smooth value noise in [-1, 1]: random values at multiples of `scale`, eased in between.
fn noise(seed: u64, salt: u64, t: TimeMs, scale: TimeMs) -> f64 {
    let k = t.div_euclid(scale);
    let f = (t - k * scale) as f64 / scale as f64;
    let ease = f * f * (3.0 - 2.0 * f);
    let (a, b) = (unit(seed, salt, k), unit(seed, salt, k + 1));
    a + (b - a) * ease
}
