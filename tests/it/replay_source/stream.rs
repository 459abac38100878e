//! The streaming read at scale of one file and end to end: a row out of place by more than the
//! reorder window is counted and replayed where it falls, and `liqwave replay` (which streams)
//! writes the alert file that the engine writes over the loaded dataset, byte for byte.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use liqwave::config;
use liqwave::engine::Engine;
use liqwave::model::MarketEvent;
use liqwave::source::replay::{Dataset, REORDER_ROWS};

use super::{KLINE_HEADER, T0, dataset, defaults};

/// Bar 0 stands after `shift` later bars: within the window it is put back in its place; beyond
/// it, it is replayed late — after the `shift - REORDER_ROWS` bars the window has let through —
/// and counted.
#[test]
fn a_row_beyond_the_reorder_window_is_counted_and_replayed_where_it_falls() {
    #[rustfmt::skip]
    let cases = [
        // shift, position of bar 0 in the replay, rows replayed late
        (1, 0, 0),
        (REORDER_ROWS, 0, 0),
        (REORDER_ROWS + 1, 1, 1),
        (REORDER_ROWS + 50, 50, 1),
    ];
    for (shift, at, displaced) in cases {
        let bar = |i: usize| format!("{},1,1,1,1,{i}\n", T0 + i as i64 * 300_000);
        let mut csv = format!("{KLINE_HEADER}\n");
        (1..=shift).for_each(|i| csv.push_str(&bar(i)));
        csv.push_str(&bar(0));
        (shift + 1..shift + 3).for_each(|i| csv.push_str(&bar(i)));
        let dir = dataset(&[("klines/5m/BTCUSDT_5m.csv", &csv)]);
        let ds = Dataset::load(dir.path(), &defaults()).unwrap();
        let volumes: Vec<f64> = (ds.events().iter())
            .map(|e| match &e.event {
                MarketEvent::Candle { candle, .. } => candle.volume,
                other => panic!("{other:?}"),
            })
            .collect();
        let report = ds.report();
        let case = format!("shift {shift}");
        assert_eq!(volumes.len(), shift + 3, "{case}");
        assert_eq!(volumes.iter().position(|v| *v == 0.0), Some(at), "{case}");
        assert_eq!(
            (report.displaced(), report.out_of_order()),
            (displaced, 1),
            "{case}"
        );
        let mut rest = volumes.clone();
        rest.retain(|v| *v != 0.0);
        assert!(rest.is_sorted(), "{case}: the other bars keep their order");
    }
}

/// `liqwave replay` streams the dataset on a thread of its own and sends it in batches; its
/// alert file must hold exactly what the engine raises over the whole loaded dataset, which
/// the unit tests hold equal to the order before streaming. The demo's file is also pinned by
/// size and FNV-1a hash as recorded at 79c9a7a, before the replay streamed (sha256 058b086c…),
/// and re-recorded when the playbook's kinds joined the file (issue 19): re-record only with the
/// alert_list snapshot, when the alerts change on purpose.
#[test]
fn a_streamed_replay_writes_the_alerts_of_the_loaded_dataset_byte_for_byte() {
    #[rustfmt::skip]
    let cases = [
        // config, alerts at least, (bytes, FNV-1a 64) before streaming
        ("config/demo.toml", 150, DEMO_BEFORE),
        ("tests/fixtures/stream-slice/replay.toml", 10, SLICE_BEFORE),
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (config_path, at_least, before) in cases {
        let config = config::load(&root.join(config_path)).unwrap();
        let data = config.replay.data_dir.clone().unwrap();
        let events = liqwave::supervisor::load_dataset(&config, &data)
            .unwrap()
            .into_events();
        let mut engine = Engine::new(&config);
        let mut alerts = Vec::new();
        for event in &events {
            engine.handle(event, &mut alerts);
        }
        let mut want = String::new();
        for alert in &alerts {
            writeln!(want, "{}", serde_json::to_string(alert).unwrap()).unwrap();
        }

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("alerts.jsonl");
        let out = Command::new(env!("CARGO_BIN_EXE_liqwave"))
            .current_dir(root)
            .args(["replay", "--quiet", "--config", config_path, "--alerts-out"])
            .arg(&file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{config_path}: {stderr}");
        let got = std::fs::read_to_string(&file).unwrap();
        assert!(
            alerts.len() >= at_least,
            "{config_path}: {} alerts",
            alerts.len()
        );
        assert!(got == want, "{config_path}: the alert files differ");
        assert_eq!((got.len(), fnv1a(got.as_bytes())), before, "{config_path}");
    }
}

/// The demo's and the slice's alert files before streaming: (bytes, FNV-1a 64).
const DEMO_BEFORE: (usize, u64) = (205_454, 0x2a0b_a402_27d3_7e03);
const SLICE_BEFORE: (usize, u64) = (3_859, 0x3fb1_1a25_2451_1dd6);

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn liqwave_replay(config: &Path, data: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_liqwave"))
        .args(["replay", "--quiet", "--config"])
        .arg(config)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap()
}

/// A store that has processed more events than the data holds belongs to other data: the
/// streamed replay, which learns the count only at its end, still says so and fails.
#[test]
fn a_store_ahead_of_the_data_is_an_error_saying_so() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let slice = root.join("tests/fixtures/stream-slice");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("liqwave.toml");
    #[rustfmt::skip]
    let cases = [
        // extra config, replay succeeds, stderr holds
        ("", true, ""),
        ("[symbols]\ninclude = [\"BTCUSDT\"]\n", false, "the store has processed 4003 events but this dataset has 1001"),
    ];
    for (extra, ok, holds) in cases {
        std::fs::write(&config, format!("[store]\npath = \"db\"\n{extra}")).unwrap();
        let out = liqwave_replay(&config, &slice);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.success(), ok, "{extra}: {stderr}");
        assert!(stderr.contains(holds), "{extra}: {stderr}");
    }
}

/// The replay keeps every series file open: a soft open-file limit too low for them is raised
/// to the hard one, and a hard limit too low is an error saying what to raise.
#[cfg(unix)]
#[test]
fn a_low_open_file_limit_is_raised_or_named() {
    let bars = super::klines(&[super::BAR_0, super::BAR_1]);
    let names: Vec<String> = (0..40)
        .map(|i| format!("klines/5m/P{i:02}USDT_5m.csv"))
        .collect();
    let files: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), bars.as_str())).collect();
    let data = dataset(&files);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("liqwave.toml");
    std::fs::write(&config, "[replay]\nsource_interval = \"5m\"\n").unwrap();
    #[rustfmt::skip]
    let cases = [
        // ulimit arguments (40 files need 40 + 64 descriptors), replay succeeds, stderr holds
        ("-Sn 4096", true, "Read recorded dataset"),
        ("-Sn 64", true, "Raised the soft open-file limit"),
        ("-n 64", false, "replaying 40 series files keeps them all open"),
    ];
    for (limit, ok, holds) in cases {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit {limit} && exec \"$0\" replay --quiet --config \"$1\" --data \"$2\""
            ))
            .arg(env!("CARGO_BIN_EXE_liqwave"))
            .arg(&config)
            .arg(data.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.success(), ok, "ulimit {limit}: {stderr}");
        assert!(stderr.contains(holds), "ulimit {limit}: {stderr}");
    }
}
