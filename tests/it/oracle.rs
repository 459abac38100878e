//! The incremental RSI and the 50-cross against the TA-Lib 0.8.1 oracle (S&P 500 daily,
//! 2006–2010): every value and both Wilder averages must match bit for bit.

use liqwave::analytics::SignalParams;
use liqwave::analytics::timeframe::{Cross50, TimeframeState};
use liqwave::model::{Candle, DAY_MS, Interval};

const ORACLE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/oracle/sp500_daily_2006_2010_rsi14.csv"
));

fn num(field: &str) -> Option<f64> {
    (!field.is_empty()).then(|| field.parse().expect("oracle number"))
}

#[test]
fn rsi_and_averages_are_bit_identical_to_talib() {
    let mut lines = ORACLE.lines();
    assert_eq!(
        lines.next(),
        Some("idx,open_time,open,high,low,close,rsi_talib,avg_gain,avg_loss,cross50")
    );
    let mut tf = TimeframeState::new(Interval::D1, &SignalParams::DEFAULT);
    let mut rows = 0;
    let mut values = 0;
    for (i, line) in lines.enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let price = |k: usize| num(f[k]).expect("price");
        let candle = Candle {
            // Trading days are not contiguous calendar days; the RSI only sees the sequence.
            open_time: i as i64 * DAY_MS,
            open: price(2),
            high: price(3),
            low: price(4),
            close: price(5),
            volume: 0.0,
            quote_volume: None,
            taker_buy_quote: None,
        };
        let s = tf.on_close(&candle, &SignalParams::DEFAULT);
        let got = s.rsi.map(|v| (v.rsi, v.avg_gain, v.avg_loss));
        let want = num(f[6]).map(|rsi| (rsi, num(f[7]).unwrap(), num(f[8]).unwrap()));
        assert_eq!(got, want, "row {i} ({})", f[1]);
        assert_eq!(
            Cross50::as_i8(s.cross50).to_string(),
            f[9],
            "cross50 on row {i} ({})",
            f[1]
        );
        rows += 1;
        values += usize::from(want.is_some());
    }
    assert_eq!((rows, values), (1259, 1245));
}
