//! The stream against the order it replaced — every file read whole in file order, concatenated
//! in reading order and sorted stably by `event_order` — on the bundled recordings and a
//! multi-pair slice, and with rows out of place by less and by more than the reorder window.

use std::fs;
use std::path::Path;

use super::discover::Plan;
use super::report::FileReport;
use super::{Dataset, LoadReport, REORDER_ROWS, ReplayOptions, ReplayStream, event_order};
use crate::model::{Interval, MarketEvent, SymbolEvent};

fn options(interval: Interval) -> ReplayOptions {
    ReplayOptions {
        source_interval: interval,
        ..ReplayOptions::new(crate::clock::wall_ms())
    }
}

/// The order before streaming: every file whole, in job order, then one stable sort.
fn sorted_whole(dir: &Path, opts: &ReplayOptions) -> (Vec<SymbolEvent>, Vec<FileReport>) {
    let plan = Plan::new(dir, opts).unwrap();
    let universe = super::liquidations::universe(&plan.symbols);
    let mut events = Vec::new();
    let mut reports = Vec::new();
    for job in &plan.jobs {
        let (report, file) = job
            .run(opts.source_interval, &opts.limits, &universe)
            .unwrap();
        reports.push(report);
        events.extend(file);
    }
    events.sort_by(event_order);
    (events, reports)
}

fn streamed(dir: &Path, opts: &ReplayOptions, window: usize) -> (Vec<SymbolEvent>, LoadReport) {
    let mut stream = ReplayStream::with_window(dir, opts, window).unwrap();
    let events = stream.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    assert!(stream.next().is_none(), "a stream stays ended");
    (events, stream.report())
}

#[test]
fn the_stream_replays_the_stable_sort_of_whole_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    #[rustfmt::skip]
    let cases = [
        // dataset, interval, files read, events at least
        ("binance", Interval::M5, 13, 40_000),
        ("binance", Interval::M1, 5, 40_000),
        ("stream-slice", Interval::M5, 7, 4_000),
    ];
    for (dir, interval, files, events) in cases {
        let (dir, opts) = (root.join(dir), options(interval));
        let (want, reports) = sorted_whole(&dir, &opts);
        let (got, report) = streamed(&dir, &opts, REORDER_ROWS);
        let at = got.iter().zip(&want).position(|(g, w)| g != w);
        assert_eq!((at, got.len()), (None, want.len()), "{}", dir.display());
        assert_eq!(report.files, reports, "{}", dir.display());
        assert_eq!(
            (report.files.len(), report.events.total()),
            (files, want.len())
        );
        assert!(
            want.len() >= events,
            "{}: {} events",
            dir.display(),
            want.len()
        );
        let loaded = Dataset::load(&dir, &opts).unwrap();
        assert!(loaded.events() == want, "{}", dir.display());
        assert_eq!(loaded.report(), &report);
    }
}

/// Five-minute bars of one file by their index in time, in file order; what the stream makes of
/// them with a small window, and how many rows it replayed late.
#[test]
fn rows_out_of_place_within_the_window_sort_as_before_and_others_are_counted() {
    #[rustfmt::skip]
    let cases = [
        // window, file order, stream order, displaced
        (2, "0 1 2 3 4", "0 1 2 3 4", 0),
        (2, "1 0 2 3 4", "0 1 2 3 4", 0),
        (2, "1 2 0 3 4", "0 1 2 3 4", 0),
        (2, "3 4 0 1 2", "0 1 2 3 4", 0),
        (2, "0 1 1 2 2", "0 1 1 2 2", 0),
        (2, "1 2 3 0 4", "1 0 2 3 4", 1),
        (2, "4 3 2 1 0", "2 1 0 3 4", 2),
        (0, "0 1 2", "0 1 2", 0),
        (0, "1 0 2", "1 0 2", 1),
        (4, "4 3 2 1 0", "0 1 2 3 4", 0),
    ];
    for (window, file, want, displaced) in cases {
        let dir = tempfile::tempdir().unwrap();
        let klines = dir.path().join("klines/5m");
        fs::create_dir_all(&klines).unwrap();
        // Bars from 2023-11-14 22:10 UTC, every price 1: nothing but the order is tested.
        let start = 1_699_999_800_000_i64;
        let mut csv = String::from("open_time_ms,open,high,low,close,volume\n");
        for bar in file.split(' ') {
            let open = start + bar.parse::<i64>().unwrap() * 300_000;
            csv.push_str(&format!("{open},1,1,1,1,{bar}\n"));
        }
        fs::write(klines.join("AAAUSDT_5m.csv"), csv).unwrap();
        let (events, report) = streamed(dir.path(), &options(Interval::M5), window);
        let got: Vec<String> = (events.iter())
            .map(|e| match &e.event {
                MarketEvent::Candle { candle, .. } => candle.volume.to_string(),
                other => format!("{other:?}"),
            })
            .collect();
        let case = format!("window {window}, file {file}");
        assert_eq!(
            (got.join(" "), report.displaced()),
            (want.to_owned(), displaced),
            "{case}"
        );
        if displaced == 0 {
            let (sorted, _) = sorted_whole(dir.path(), &options(Interval::M5));
            assert!(events == sorted, "{case}: the stable sort");
        }
    }
}
