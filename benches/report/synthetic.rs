//! A synthetic dataset for the replay at scale (issue 16): `pairs` × `days` of 5m klines and
//! funding every 8 h, in the replay's layout (`klines/5m/<SYMBOL>_5m.csv.gz`,
//! `funding/<SYMBOL>_funding.csv.gz`, see src/source/replay/mod.rs), written by the bench into a
//! temporary directory and never committed. Deterministic: each pair is a seeded random walk
//! (log-price with weak mean reversion, about ±50 % over the year, and occasional fat-tailed bars, volume that rises with the
//! bar's move), its prices on the pair's own tick grid as Binance prints them. Files are gzipped
//! at level 1, several at once.

use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;

/// The default size: 500 pairs × 1 year.
const DEFAULT_PAIRS: usize = 500;
const DEFAULT_DAYS: u32 = 365;
pub(crate) const PAIRS_ENV: &str = "LIQWAVE_REPORT_SYNTHETIC_PAIRS";
pub(crate) const DAYS_ENV: &str = "LIQWAVE_REPORT_SYNTHETIC_DAYS";
/// 2025-01-01T00:00:00Z: the year is in the past, inside the replay's row limits.
const START_MS: i64 = 1_735_689_600_000;
const BAR_MS: i64 = 300_000;
const BARS_PER_DAY: u32 = 288;
const FUNDING_EVERY_MS: i64 = 8 * 3_600_000;
/// Bytes a gzipped 5m row takes, roughly (measured at level 1), for the disk-space check.
const GZ_BYTES_PER_BAR: u64 = 32;
const SEED: u64 = 0x6c69_7177_6176_6521;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    pub(crate) pairs: usize,
    pub(crate) days: u32,
}

impl Spec {
    /// 500 pairs × 365 days unless [`PAIRS_ENV`] / [`DAYS_ENV`] say otherwise (0 pairs: skip).
    pub(crate) fn from_env() -> Result<Spec, String> {
        let read = |name: &str, default: u64| match std::env::var(name) {
            Ok(v) => v
                .trim()
                .parse::<u64>()
                .map_err(|_| format!("{name}={v:?} is not a whole number")),
            Err(_) => Ok(default),
        };
        let pairs = read(PAIRS_ENV, DEFAULT_PAIRS as u64)?;
        let days = read(DAYS_ENV, u64::from(DEFAULT_DAYS))?;
        if pairs > 10_000 || !(1..=3660).contains(&days) {
            return Err(format!(
                "{PAIRS_ENV}={pairs}, {DAYS_ENV}={days}: at most 10000 pairs and 1 to 3660 days"
            ));
        }
        Ok(Spec {
            pairs: pairs as usize,
            days: days as u32,
        })
    }

    pub(crate) fn is_default(&self) -> bool {
        self.pairs == DEFAULT_PAIRS && self.days == DEFAULT_DAYS
    }

    pub(crate) fn bars(&self) -> u64 {
        self.pairs as u64 * u64::from(self.days * BARS_PER_DAY)
    }

    /// Disk the gzipped files need, roughly.
    pub(crate) fn disk_estimate(&self) -> u64 {
        self.bars() * GZ_BYTES_PER_BAR
    }

    /// Files the replay opens: a kline and a funding file per pair.
    pub(crate) fn files(&self) -> usize {
        2 * self.pairs
    }
}

/// What [`generate`] wrote.
#[derive(Debug)]
pub(crate) struct Generated {
    pub(crate) bytes: u64,
    pub(crate) took: Duration,
}

/// Writes the dataset of `spec` into `dir`, one pair per task on every core.
pub(crate) fn generate(spec: Spec, dir: &Path) -> io::Result<Generated> {
    let started = Instant::now();
    let klines = dir.join("klines/5m");
    let funding = dir.join("funding");
    std::fs::create_dir_all(&klines)?;
    std::fs::create_dir_all(&funding)?;
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let written: io::Result<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.min(spec.pairs.max(1)))
            .map(|_| {
                scope.spawn(|| {
                    let mut bytes = 0;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= spec.pairs {
                            return Ok(bytes);
                        }
                        let symbol = format!("SYN{i:04}USDT");
                        let mut walk = Walk::new(i);
                        let k = klines.join(format!("{symbol}_5m.csv.gz"));
                        bytes += write_gz(&k, |out| walk.klines(spec.days, out))?;
                        let f = funding.join(format!("{symbol}_funding.csv.gz"));
                        bytes += write_gz(&f, |out| walk.funding(spec.days, out))?;
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("generator thread"))
            .sum()
    });
    Ok(Generated {
        bytes: written?,
        took: started.elapsed(),
    })
}

/// Writes what `fill` produces, gzipped at level 1, to `path`; returns the file's size.
fn write_gz(path: &Path, fill: impl FnOnce(&mut Rows<'_>) -> io::Result<()>) -> io::Result<u64> {
    let file = std::fs::File::create(path)?;
    let mut gz = GzEncoder::new(BufWriter::new(file), Compression::fast());
    let mut rows = Rows {
        out: &mut gz,
        buf: String::with_capacity(ROWS_BUFFER + 256),
    };
    fill(&mut rows)?;
    rows.flush()?;
    gz.finish()?.into_inner().map_err(|e| e.into_error())?;
    Ok(std::fs::metadata(path)?.len())
}

const ROWS_BUFFER: usize = 256 * 1024;

/// Text rows on their way to the encoder, in large chunks.
struct Rows<'a> {
    out: &'a mut dyn Write,
    buf: String,
}

impl Rows<'_> {
    fn row(&mut self, f: impl FnOnce(&mut String)) -> io::Result<()> {
        f(&mut self.buf);
        self.buf.push('\n');
        if self.buf.len() >= ROWS_BUFFER {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(self.buf.as_bytes())?;
        self.buf.clear();
        Ok(())
    }
}

/// One pair's market: a random walk of the log-price on the pair's tick grid.
struct Walk {
    rng: SplitMix,
    /// log(price) now and the level it drifts back to.
    x: f64,
    x0: f64,
    /// Standard deviation of a 5m log-return.
    sigma: f64,
    /// Price tick as a power of ten: prices print with `decimals` places.
    decimals: u32,
    /// Typical base-asset volume of a bar.
    volume: f64,
}

impl Walk {
    fn new(pair: usize) -> Walk {
        let mut rng = SplitMix(SEED ^ (pair as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        // Prices from 0.001 to 50 000, as the listing spans; 1 k to 10 M USDT a bar.
        let log10_price = -3.0 + 7.7 * rng.uniform();
        let price = 10f64.powf(log10_price);
        let decimals = (5 - log10_price.floor() as i32).clamp(0, 8) as u32;
        let quote = 10f64.powf(3.0 + 4.0 * rng.uniform());
        Walk {
            x: price.ln(),
            x0: price.ln(),
            sigma: 0.0015 + 0.0035 * rng.uniform(),
            decimals,
            volume: quote / price,
            rng,
        }
    }

    fn klines(&mut self, days: u32, out: &mut Rows<'_>) -> io::Result<()> {
        out.row(|s| s.push_str("open_time_ms,open,high,low,close,volume"))?;
        let scale = 10f64.powi(self.decimals as i32);
        let mut open = (self.x.exp() * scale).round().max(1.0) as u64;
        for bar in 0..i64::from(days * BARS_PER_DAY) {
            // One bar in a thousand moves five times as much.
            let sigma = if self.rng.uniform() < 0.001 {
                5.0 * self.sigma
            } else {
                self.sigma
            };
            let r = sigma * self.rng.normal();
            self.x += r - 0.00002 * (self.x - self.x0);
            let close = (self.x.exp() * scale).round().max(1.0) as u64;
            let wick = |n: f64| (0.6 * sigma * n.abs()).exp();
            let top = open.max(close) as f64 * wick(self.rng.normal());
            let bottom = open.min(close) as f64 / wick(self.rng.normal());
            let high = (top.round() as u64).max(open.max(close));
            let low = (bottom.round() as u64).clamp(1, open.min(close));
            let volume =
                self.volume * (0.6 * self.rng.normal()).exp() * (1.0 + (r / self.sigma).abs());
            let volume = (volume * 1000.0).round().max(1.0) as u64;
            let t = START_MS + bar * BAR_MS;
            let d = self.decimals;
            out.row(|s| {
                use std::fmt::Write as _;
                let _infallible = write!(s, "{t},");
                for ticks in [open, high, low, close] {
                    push_fixed(s, ticks, d);
                    s.push(',');
                }
                push_fixed(s, volume, 3);
            })?;
            open = close;
        }
        Ok(())
    }

    fn funding(&mut self, days: u32, out: &mut Rows<'_>) -> io::Result<()> {
        out.row(|s| s.push_str("funding_time_ms,funding_rate"))?;
        let end = START_MS + i64::from(days) * 86_400_000;
        let mut t = START_MS;
        while t < end {
            let rate = (0.0001 + 0.0002 * self.rng.normal()).clamp(-0.003, 0.003);
            out.row(|s| {
                use std::fmt::Write as _;
                let _infallible = write!(s, "{t},{rate:.8}");
            })?;
            t += FUNDING_EVERY_MS;
        }
        Ok(())
    }
}

/// `ticks` / 10^`decimals` in fixed notation: integer formatting, much faster than `{:.N}`.
fn push_fixed(s: &mut String, ticks: u64, decimals: u32) {
    use std::fmt::Write as _;
    let unit = 10u64.pow(decimals);
    let (int, frac) = (ticks / unit, ticks % unit);
    let _infallible = if decimals == 0 {
        write!(s, "{int}")
    } else {
        write!(s, "{int}.{frac:0width$}", width = decimals as usize)
    };
}

/// SplitMix64: small, fast and good enough for a market's noise.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller, one of the pair).
    fn normal(&mut self) -> f64 {
        let u = 1.0 - self.uniform();
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}
