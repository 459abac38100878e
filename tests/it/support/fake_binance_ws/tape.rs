//! The stream fake playing someone else's market: a [`Tape`] (the REST fake's walk in
//! tests/it/live.rs) says what time it is, which pairs trade and what each closed 5m bar is, so
//! the streams and REST agree on symbols, bars and time. Bars follow the tape's clock — each final
//! frame goes out as its close passes — with the config's faults, marks and liquidations.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use liqwave::model::Candle;
use tokio::sync::{Notify, broadcast};
use tokio::time::{Instant, sleep};

use super::{BAR_MS, FakeConfig, Push, Record, force_frame, kline_frame_at, mark_frame, mix};

/// A market to stream.
pub(crate) trait Tape: Send + Sync + std::fmt::Debug {
    /// Market time now, epoch ms.
    fn now(&self) -> i64;
    /// The wall time until market time `t` (zero once it has passed).
    fn until(&self, t: i64) -> Duration;
    /// The pairs trading now, upper case.
    fn symbols(&self) -> Vec<String>;
    /// The closed 5m bar of `symbol` opening at `open`, as decimal texts: open, high, low,
    /// close, volume, quote volume, taker-buy quote volume.
    fn bar(&self, symbol: &str, open: i64) -> [String; 7];
}

/// The market: waits for [`super::FakeBinance::open_market`], then streams `config.bars` bars
/// from the one forming then, each step as the tape's clock reaches it. Open-bar updates show
/// the bar's final values: the client ignores them.
pub(super) async fn run(
    tape: Arc<dyn Tape>,
    config: FakeConfig,
    tx: broadcast::Sender<Arc<Push>>,
    record: Arc<Mutex<Record>>,
    start: Arc<Notify>,
) {
    start.notified().await;
    let steps = i64::from(config.updates_per_bar) + 1;
    let first = tape.now().div_euclid(BAR_MS) * BAR_MS;
    let mut pick = config.seed;
    let push = |p: Push| {
        // Err only while no connection listens: nobody to tell.
        let _listeners = tx.send(Arc::new(p)).unwrap_or(0);
    };
    let mut next_mark = Instant::now();
    for k in 0..config.bars {
        let open = first + i64::from(k) * BAR_MS;
        let symbols = tape.symbols();
        let bars: Vec<[String; 7]> = symbols.iter().map(|s| tape.bar(s, open)).collect();
        for s in 1..=steps {
            sleep(tape.until(open + BAR_MS * s / steps)).await;
            let closed = s == steps;
            if closed {
                for &(_, fault) in config.faults.iter().filter(|(at, _)| *at == k) {
                    let live: Vec<u64> = record.lock().unwrap().live.keys().copied().collect();
                    pick = mix(pick);
                    if let Some(&connection) = live.get(pick as usize % live.len().max(1)) {
                        push(Push::Fault { connection, fault });
                    }
                }
                let mut r = record.lock().unwrap();
                for (symbol, v) in symbols.iter().zip(&bars) {
                    let truth = r.truth.entry(symbol.clone()).or_default();
                    truth.push(candle(open, v));
                }
                r.bars_closed = k + 1;
            }
            for (symbol, v) in symbols.iter().zip(&bars) {
                push(Push::Frame {
                    stream: format!("{}@kline_5m", symbol.to_ascii_lowercase()),
                    text: kline_frame_at(symbol, open, v, closed),
                    final_of: closed.then(|| symbol.clone()),
                    time: open,
                });
            }
            // With `mark_every`, mark arrays every so much wall time, at the step's market time.
            if let Some(every) = config.mark_every
                && Instant::now() >= next_mark
            {
                next_mark += every;
                let time = open + BAR_MS * s / steps - 1;
                push(Push::Frame {
                    stream: "!markPrice@arr@1s".to_owned(),
                    text: mark_frame(&symbols, &bars, time),
                    final_of: None,
                    time,
                });
            }
        }
        if config.mark_every.is_none() {
            let time = open + BAR_MS - 1;
            push(Push::Frame {
                stream: "!markPrice@arr@1s".to_owned(),
                text: mark_frame(&symbols, &bars, time),
                final_of: None,
                time,
            });
        }
        let i = k as usize % symbols.len().max(1);
        if let Some(symbol) = symbols.get(i) {
            let time = open + BAR_MS + 1000;
            push(Push::Frame {
                stream: "!forceOrder@arr".to_owned(),
                text: force_frame(symbol, &bars[i][3], time),
                final_of: None,
                time,
            });
        }
    }
}

fn candle(open: i64, v: &[String; 7]) -> Candle {
    let f = |i: usize| v[i].parse::<f64>().unwrap();
    Candle {
        open_time: open,
        open: f(0),
        high: f(1),
        low: f(2),
        close: f(3),
        volume: f(4),
        quote_volume: Some(f(5)),
        taker_buy_quote: Some(f(6)),
    }
}
