//! Unit tests of `backtest::charts`: a small hand-made report, one line of data per alert.

use std::collections::BTreeMap;

use super::super::summary::{self, Baselines};
use super::super::{
    Mean, Options, PeriodReport, Rate, Report, Scored, Summary, TradeBaseline, Volume,
};
use super::{HEIGHT, WIDTH, charts};
use crate::model::{AlertKind, ClusterLabel, HOUR_MS, TimeMs};
use crate::view::TrackRecord;

const NAMES: [&str; 2] = ["setups-cumulative-r.png", "outcome-rates.png"];

/// A scored setup at hour `h` ending in `outcome` with `r`.
fn setup(h: i64, outcome: &str, r: f64) -> Scored {
    let mut s = alert(AlertKind::SetupEntry, h, outcome);
    s.r_multiple = Some(r);
    s
}

/// A cluster alert at hour `h` with its label and level outcome.
fn level(kind: AlertKind, label: ClusterLabel, h: i64, outcome: &str) -> Scored {
    let mut s = alert(kind, h, outcome);
    s.label = Some(label);
    s
}

fn alert(kind: AlertKind, h: i64, outcome: &str) -> Scored {
    let mut s = Scored::new(
        format!("{kind}:BTCUSDT:{h}"),
        kind,
        "BTCUSDT".to_owned(),
        h * HOUR_MS,
    );
    s.outcome = Some(outcome.to_owned());
    s.outcome_time_ms = Some(h * HOUR_MS + HOUR_MS);
    s
}

fn small_report() -> Report {
    use AlertKind::{ClusterApproach as Approach, ClusterEdge as Edge};
    use ClusterLabel::{Fuel, Magnet};
    let alerts = vec![
        setup(30, "stop", -1.0),
        setup(50, "t1", 2.4),
        setup(70, "t2", 3.1),
        setup(75, "timeout", 0.3),
        setup(80, "stop", f64::NAN),
        setup(130, "stop", -1.0),
        setup(160, "t1", 2.0),
        level(Approach, Fuel, 20, "swept"),
        level(Approach, Fuel, 40, "rejected"),
        level(Approach, Magnet, 45, "neither"),
        level(Edge, Magnet, 60, "swept"),
        level(Edge, Magnet, 140, "rejected"),
        level(Edge, Fuel, 150, "swept"),
    ];
    let periods = vec![
        period(&alerts, "in-sample", 0, 100, 3),
        period(&alerts, "out-of-sample", 100, 200, 0),
    ];
    Report {
        options: Options::default(),
        alerts,
        summary: Summary {
            pairs: Vec::new(),
            periods,
        },
        track_record: TrackRecord::default(),
    }
}

/// The report's summaries of the alerts in hours `[from, to)`, with a bare trigger of `trades`
/// trades (one in three reaching T1) and plain levels swept one time in four.
fn period(alerts: &[Scored], name: &str, from: i64, to: i64, trades: u64) -> PeriodReport {
    let (from, to) = (from * HOUR_MS, to * HOUR_MS);
    let inside: Vec<&Scored> = (alerts.iter())
        .filter(|a| (from..to).contains(&a.time_ms))
        .collect();
    let setups: Vec<&Scored> = (inside.iter().copied())
        .filter(|a| a.kind == AlertKind::SetupEntry)
        .collect();
    let mut setups = summary::setups(&setups, &Baselines::default(), 1);
    setups.trigger_only = TradeBaseline {
        n: trades as usize,
        mean_r: Mean {
            n: trades as usize,
            mean: -0.2,
            ci95: None,
        },
        t1_rate: Rate::of(trades / 3, trades),
        gain_r: None,
    };
    let mut levels = summary::levels(&inside, &Baselines::default(), 2);
    for l in &mut levels {
        l.random_bands.n = 40;
        l.random_bands.swept = Rate::of(10, 40);
    }
    PeriodReport {
        name: name.to_owned(),
        from,
        to,
        pair_days: 1.0,
        bias_pair_days: 1.0,
        counts: BTreeMap::new(),
        setups,
        plays: Vec::new(),
        levels,
        signals: Vec::new(),
        volume: Volume {
            per_pair_day: BTreeMap::new(),
            pairs: 1,
            sinks: Vec::new(),
        },
        per_symbol: summary::per_symbol(&inside),
    }
}

/// Decodes `bytes` with the `png` crate: (width, height, distinct colours).
fn decode(bytes: &[u8]) -> (u32, u32, usize) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let colours: std::collections::HashSet<&[u8]> =
        buf[..info.buffer_size()].chunks_exact(3).collect();
    (info.width, info.height, colours.len())
}

fn check(report: &Report) -> Vec<(String, Vec<u8>)> {
    let drawn = charts(report).expect("charts");
    let names: Vec<&str> = drawn.iter().map(|d| d.0.as_str()).collect();
    assert_eq!(names, NAMES);
    for (name, png) in &drawn {
        let (w, h, colours) = decode(png);
        assert_eq!((w, h), (WIDTH, HEIGHT), "{name}");
        assert!(colours > 20, "{name}: {colours} colours, nothing drawn?");
    }
    drawn
}

#[test]
fn charts_of_a_small_report_decode_at_the_design_size() {
    let report = small_report();
    let drawn = check(&report);
    if let Ok(dir) = std::env::var("LIQWAVE_CHART_DIR") {
        for (name, png) in &drawn {
            std::fs::write(std::path::Path::new(&dir).join(name), png).expect("write");
        }
    }
}

#[test]
fn charts_are_byte_identical_on_two_calls() {
    let report = small_report();
    assert_eq!(check(&report), check(&report));
}

#[test]
fn an_empty_report_still_draws_both_charts() {
    let mut report = small_report();
    report.alerts.clear();
    check(&report);
    report.summary.periods.clear();
    check(&report);
    let setups_only = |r: &Report| charts(r).expect("charts").remove(0).1;
    let with_setups = setups_only(&small_report());
    assert_ne!(setups_only(&report), with_setups);
}

#[test]
fn a_degenerate_period_draws() {
    let mut report = small_report();
    let p = &mut report.summary.periods[0];
    p.to = p.from;
    report.summary.periods.truncate(1);
    report
        .alerts
        .push(setup(TimeMs::from(0), "stop", f64::INFINITY));
    check(&report);
}
