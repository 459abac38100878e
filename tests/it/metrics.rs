//! The whole scrape of a fresh daemon, exact: every component registered as `liqwave run`
//! registers it, every family with its HELP and TYPE. The names are a contract (RUNBOOK.md,
//! dashboards); changing one must change this test.

use std::sync::Arc;
use std::time::Duration;

use liqwave::engine::EngineMeter;
use liqwave::metrics::Metrics;
use liqwave::model::AlertKind;
use liqwave::source::binance::budget::BudgetParams;
use liqwave::source::binance::rest::{RestClient, RestMeter, RestOptions};
use liqwave::source::binance::ws::{Counters, FeedMeter, FrameKind};
use liqwave::store::{OutboxDepth, Store};
use liqwave::supervisor::delivery::DeliveryMeters;

/// Upper bounds of the engine step histogram as written (Go's float format, as every client).
const STEP_BOUNDS: [&str; 15] = [
    "5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
    "0.1", "0.25", "0.5", "1", "2.5",
];

#[test]
fn a_fresh_daemon_renders_every_family() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 1 << 20).unwrap();
    let budget = BudgetParams::per_minute(2400, 1.0);
    let rest = RestOptions::new("http://127.0.0.1:9", Duration::from_secs(1), budget);
    let client = RestClient::new(rest).unwrap();
    // In the daemon's order: the sinks' workers, the outbox, the engine, then the live source.
    let metrics = Metrics::default();
    let meters = metrics.register(DeliveryMeters::register);
    let sinks = ["email", "file"].map(str::to_owned);
    for sink in &sinks {
        drop(meters.sink(sink));
    }
    metrics.register(|r| OutboxDepth::register(r, store.clone(), sinks.to_vec()));
    let _engine = metrics.register(EngineMeter::register);
    metrics.register(|r| {
        FeedMeter::register(r, Arc::new(Counters::default()));
        RestMeter::register(r, client);
    });

    let by_sink = |name: &str| -> String {
        let lines = sinks.iter().map(|s| format!("{name}{{sink=\"{s}\"}} 0\n"));
        lines.collect()
    };
    let (delivered, errors, depth) = (
        by_sink("liqwave_alerts_delivered_total"),
        by_sink("liqwave_sink_errors_total"),
        by_sink("liqwave_outbox_depth"),
    );
    let alerts: String = AlertKind::ALL
        .iter()
        .map(|k| format!("liqwave_alerts_total{{kind=\"{}\"}} 0\n", k.as_str()))
        .collect();
    let buckets: String = STEP_BOUNDS
        .iter()
        .map(|b| format!("liqwave_engine_step_seconds_bucket{{le=\"{b}\"}} 0\n"))
        .collect();
    let frames: String = FrameKind::ALL
        .iter()
        .map(|k| format!("liqwave_ws_frames_total{{kind=\"{}\"}} 0\n", k.as_str()))
        .collect();
    let version = env!("CARGO_PKG_VERSION");
    let want = format!(
        "\
# HELP liqwave_up 1 while the daemon answers.
# TYPE liqwave_up gauge
liqwave_up 1
# HELP liqwave_build_info Always 1; the version is in the label.
# TYPE liqwave_build_info gauge
liqwave_build_info{{version=\"{version}\"}} 1
# HELP liqwave_alerts_delivered_total Alerts a sink delivered (each alert of a digest counts).
# TYPE liqwave_alerts_delivered_total counter
{delivered}\
# HELP liqwave_sink_errors_total Failed sends per sink, retriable or not.
# TYPE liqwave_sink_errors_total counter
{errors}\
# HELP liqwave_outbox_depth Alerts waiting in the outbox, per sink.
# TYPE liqwave_outbox_depth gauge
{depth}\
# HELP liqwave_alerts_total Alerts the engine raised, by kind.
# TYPE liqwave_alerts_total counter
{alerts}\
# HELP liqwave_engine_step_seconds Engine time per input: analytics, rules and the store commit.
# TYPE liqwave_engine_step_seconds histogram
{buckets}\
liqwave_engine_step_seconds_bucket{{le=\"+Inf\"}} 0
liqwave_engine_step_seconds_sum 0.0
liqwave_engine_step_seconds_count 0
# HELP liqwave_engine_pairs Pairs the engine holds state for.
# TYPE liqwave_engine_pairs gauge
liqwave_engine_pairs 0
# HELP liqwave_alerts_stale_total Alerts too old when raised (warm-up, back-fill) to reach people.
# TYPE liqwave_alerts_stale_total counter
liqwave_alerts_stale_total 0
# HELP liqwave_feed_lag_seconds Seconds since the market-stream connection's last market data.
# TYPE liqwave_feed_lag_seconds gauge
# HELP liqwave_ws_frames_total Market-stream text frames by what they were.
# TYPE liqwave_ws_frames_total counter
{frames}\
# HELP liqwave_ws_reconnects_total Market-stream links that came back after being lost.
# TYPE liqwave_ws_reconnects_total counter
liqwave_ws_reconnects_total 0
# HELP liqwave_gaps_total Holes found in a pair's series of closed bars.
# TYPE liqwave_gaps_total counter
liqwave_gaps_total 0
# HELP liqwave_bars_backfilled_total Bars fetched from REST to fill holes.
# TYPE liqwave_bars_backfilled_total counter
liqwave_bars_backfilled_total 0
# HELP liqwave_rest_weight_used REST weight counted in the current minute.
# TYPE liqwave_rest_weight_used gauge
liqwave_rest_weight_used 0
# HELP liqwave_rest_weight_spent_total REST weight reserved since start.
# TYPE liqwave_rest_weight_spent_total counter
liqwave_rest_weight_spent_total 0
"
    );
    assert_eq!(metrics.render().unwrap(), want);
}
