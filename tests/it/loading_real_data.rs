//! The cascade-loading score on recorded Binance data: BTCUSDT 5m klines (2025-03-06 → 04-13,
//! `tests/fixtures/binance/klines/5m`) and its funding prints, fed through `PairState` as a
//! replay feeds them; three readings checked against a computation by hand (awk, below) on
//! the 1h bars aggregated from the same file.

use std::io::Read;

use liqwave::analytics::brackets::margin_for;
use liqwave::analytics::clusters::ClusterParams;
use liqwave::analytics::heatmap::{HeatmapParams, Kernel};
use liqwave::analytics::loading::{ClusterTest, Crowded, LoadingParams, ScoreInputs};
use liqwave::analytics::{PairContext, PairOutput, PairState, SignalParams};
use liqwave::model::{
    Candle, Funding, Interval, LoadingSignal, MarketEvent, Reading, Symbol, TimeMs,
};

fn gunzip(path: &str) -> String {
    let mut text = String::new();
    let file = std::fs::File::open(path).unwrap();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// `(known at, event)`: each 5m bar known at its close, each funding print at its time.
fn events() -> Vec<(TimeMs, MarketEvent)> {
    let klines = gunzip("tests/fixtures/binance/klines/5m/BTCUSDT_5m.csv.gz");
    let num = |s: &str| s.parse::<f64>().unwrap();
    let mut events: Vec<(TimeMs, MarketEvent)> = klines
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let candle = Candle {
                open_time: f[0].parse().unwrap(),
                open: num(f[1]),
                high: num(f[2]),
                low: num(f[3]),
                close: num(f[4]),
                volume: num(f[5]),
                quote_volume: None,
                taker_buy_quote: None,
            };
            let interval = Interval::M5;
            let at = candle.open_time + interval.duration_ms();
            (at, MarketEvent::Candle { interval, candle })
        })
        .collect();
    let funding = std::fs::read_to_string("tests/fixtures/binance/funding/BTCUSDT_funding.csv");
    for line in funding.unwrap().lines().skip(1) {
        let (time, rate) = line.split_once(',').unwrap();
        let time: TimeMs = time.parse().unwrap();
        let rate = num(rate);
        events.push((time, MarketEvent::Funding(Funding { time, rate })));
    }
    // Funding before the bar that closes at the same time, as the replay orders them.
    events.sort_by_key(|(at, e)| (*at, !matches!(e, MarketEvent::Funding(_))));
    events
}

/// The readings of thin liquidity, repeated sweeps and funding after every event known by `until`.
fn readings(until: TimeMs) -> [(Reading, Option<f64>); 3] {
    let symbol: Symbol = "BTCUSDT".parse().unwrap();
    let kernel = Kernel::new(&HeatmapParams::default(), margin_for(&symbol));
    let (signals, clusters) = (SignalParams::DEFAULT, ClusterParams::default());
    let ctx = PairContext {
        signals: &signals,
        clusters: &clusters,
        kernel: &kernel,
    };
    let mut pair = PairState::new(symbol, &ctx);
    let mut out = PairOutput::default();
    for (_, event) in events().iter().filter(|(at, _)| *at <= until) {
        out.clear();
        pair.on_event(event, &ctx, &mut out);
    }
    let inputs = ScoreInputs {
        price: 84_000.0,
        clusters: None,
        cluster_test: ClusterTest {
            min_density: 4.0,
            min_share: 0.05,
            min_age_steps: 2,
        },
        // The shipped [rules.funding]: 0.01 % and 0 %.
        crowded: Crowded {
            longs_above: 0.0001,
            shorts_below: 0.0,
        },
        calendar: &[],
        venues: None,
    };
    let score = pair
        .loading()
        .score(until, &inputs, &LoadingParams::DEFAULT);
    let read = |s| {
        let r = score.get(s).unwrap();
        (r.reading, r.value)
    };
    [
        read(LoadingSignal::ThinLiquidity),
        read(LoadingSignal::RepeatedSweeps),
        read(LoadingSignal::FundingOneSided),
    ]
}

/// The hand computation: 1h bars of complete hours from the 5m file, quote volume as the hour's
/// base volume times its close (the file has no quote volume), then
///
/// ```text
/// zcat BTCUSDT_5m.csv.gz | awk -F, 'NR>1{h=int($1/3600000); n[h]++; v[h]+=$6; c[h]=$5; …}'
/// thin:   q[last] / median(q[last-168], q[last-336], q[last-504], q[last-672])
/// sweeps: hours i in the last 24 with hi[i] > max(hi[i-20..i-1]) > c[i], or lo[i] < min(…) < c[i]
/// funding: consecutive prints of the last print's sign, counted back from it
/// ```
///
/// 2025-04-06 11:00 UTC (a Sunday): 292,903,464 over the median of 349,848,218, 624,678,765,
/// 1,078,970,728 and 1,974,801,290 = 0.3439; one sweep (04-05 15:00, a low); 13 positive prints.
/// 2025-04-13 06:00 UTC (a Sunday): 341,020,419 over the median of 241,415,461, 362,070,876,
/// 90,439,984 and 126,413,165 = 1.8542; two sweeps (04-12 15:00 and 04-13 01:00, both highs);
/// 5 positive prints, the last 0.005057 %, not crowded.
#[test]
fn the_score_on_recorded_btcusdt_matches_a_hand_computation() {
    // (every event known by: the close of the last hour, (thin ratio, sweeps, funding streak),
    // readings)
    #[rustfmt::skip]
    let cases = [
        (1_743_940_800_000, (0.3439, 1.0, 13.0), [Reading::On, Reading::Off, Reading::On]),
        (1_744_528_800_000, (1.8542, 2.0, 5.0), [Reading::Off, Reading::On, Reading::Off]),
    ];
    for (until, (thin, sweeps, streak), want) in cases {
        let [t, s, f] = readings(until);
        assert_eq!([t.0, s.0, f.0], want, "at {until}");
        // The hourly volumes are stored to within 1.5 %, so a ratio of two is within 3 %.
        let ratio = t.1.unwrap();
        assert!(
            (ratio / thin - 1.0).abs() <= 0.03,
            "at {until}: {ratio} for {thin}"
        );
        assert_eq!((s.1, f.1), (Some(sweeps), Some(streak)), "at {until}");
    }
}
