//! Benchmarks of the WebSocket wire parser: 5m kline frames through `parse_frame` (closed bars,
//! converted to candles, and open-bar updates, read no further than `x`), side by side with a
//! bare `serde_json::Value` parse of the same frames, the floor any JSON parser must pay.
//! Run: `cargo bench --bench wire`.

use divan::Bencher;
use divan::counter::{BytesCount, ItemsCount};
use liqwave::source::binance::wire::{Frame, parse_frame};

fn main() {
    divan::main();
}

/// Real-looking frames: Binance's field order and widths, one pair per frame, `closed` of them
/// final (`"x":true`).
fn frames(closed: bool) -> Vec<String> {
    (0..1000)
        .map(|i| {
            let symbol = format!("PAIR{i:03}USDT");
            let open = 1_767_225_600_000i64 + (i as i64 % 12) * 300_000;
            let base = 1000 + i * 7;
            format!(
                concat!(
                    r#"{{"stream":"{lower}@kline_5m","data":{{"e":"kline","E":{event},"s":"{symbol}","#,
                    r#""k":{{"t":{open},"T":{close_time},"s":"{symbol}","i":"5m","f":126902874,"L":126902986,"#,
                    r#""o":"{base}.1230","c":"{base}.4560","h":"{base}.9990","l":"{base}.0010","v":"3005.12","#,
                    r#""n":113,"x":{closed},"q":"22875.8590","V":"1900.50","Q":"14464.6960","B":"0"}}}}}}"#
                ),
                lower = symbol.to_ascii_lowercase(),
                event = open + 299_999 + 3,
                symbol = symbol,
                open = open,
                close_time = open + 299_999,
                base = base,
                closed = closed,
            )
        })
        .collect()
}

fn bench_frames(bencher: Bencher, frames: &[String], parse: fn(&str) -> bool) {
    let bytes: usize = frames.iter().map(String::len).sum();
    bencher
        .counter(ItemsCount::new(frames.len()))
        .counter(BytesCount::new(bytes))
        .bench(|| frames.iter().filter(|f| parse(divan::black_box(f))).count());
}

/// A closed bar: the frame parsed and the bar checked and converted to a candle event.
#[divan::bench]
fn parse_frame_closed_kline(bencher: Bencher) {
    let frames = frames(true);
    assert!(matches!(parse_frame(&frames[0]), Ok(Frame::Events(_))));
    bench_frames(bencher, &frames, |f| {
        matches!(parse_frame(f), Ok(Frame::Events(_)))
    });
}

/// An open-bar update (the other ~1199 of every 1200 kline frames of a 5m bar).
#[divan::bench]
fn parse_frame_open_kline(bencher: Bencher) {
    let frames = frames(false);
    bench_frames(bencher, &frames, |f| {
        matches!(parse_frame(f), Ok(Frame::OpenBar))
    });
}

/// The floor: the same closed-bar frames into a `serde_json::Value` tree, nothing converted.
#[divan::bench]
fn serde_value_closed_kline(bencher: Bencher) {
    let frames = frames(true);
    bench_frames(bencher, &frames, |f| {
        serde_json::from_str::<serde_json::Value>(f).is_ok()
    });
}
