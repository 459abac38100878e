//! `liqwave validate-model` end to end on a dataset built from the HYPEUSDT recording (real 5m
//! klines and open interest) plus liquidation prints placed where price really traded: the
//! command freezes the map, scores every print, and reports the model beside every baseline.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/binance");

/// Copies the HYPEUSDT klines and OI into `dir` and writes one long liquidation at the low of
/// every 5m bar that undercuts the previous low by more than 0.3 % (after the listing day).
fn build_dataset(dir: &Path) -> usize {
    std::fs::create_dir_all(dir.join("klines/5m")).unwrap();
    std::fs::create_dir_all(dir.join("oi")).unwrap();
    std::fs::create_dir_all(dir.join("liquidations")).unwrap();
    let klines = Path::new(FIXTURES).join("klines/5m/HYPEUSDT_5m.csv.gz");
    std::fs::copy(&klines, dir.join("klines/5m/HYPEUSDT_5m.csv.gz")).unwrap();
    let oi = Path::new(FIXTURES).join("oi/HYPEUSDT_metrics_5m.csv");
    std::fs::copy(&oi, dir.join("oi/HYPEUSDT_metrics_5m.csv")).unwrap();

    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&klines).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let bars: Vec<(i64, f64)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), f[3].parse().unwrap())
        })
        .collect();
    let mut prints = std::fs::File::create(dir.join("liquidations/prints.jsonl")).unwrap();
    let mut n = 0;
    for w in bars.windows(2).skip(288) {
        let ((_, prev_low), (open, low)) = (w[0], w[1]);
        if low < prev_low * 0.997 {
            let t = open + 4 * 60_000;
            writeln!(prints, r#"{{"s":"HYPEUSDT","S":"SELL","q":"250","p":"{low}","ap":"{low}","z":"250","T":{t}}}"#).unwrap();
            n += 1;
        }
    }
    n
}

#[test]
fn scores_every_print_against_the_model_and_the_baselines() {
    let dir = tempfile::tempdir().unwrap();
    let prints = build_dataset(dir.path());
    assert!(
        prints > 20,
        "the recording should have sharp drops, found {prints}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_liqwave"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "validate-model",
            "--config",
            "config/demo.toml",
            "--json",
            "--data",
        ])
        .arg(dir.path())
        .output()
        .expect("run liqwave validate-model");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let report = &reports["HYPEUSDT"];
    assert_eq!(report["counts"]["events"], prints);
    let scored = report["counts"]["scored"].as_u64().unwrap();
    assert!(scored > 0, "{report}");
    let kinds: Vec<&str> = report["baselines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap())
        .collect();
    for kind in ["uniform", "distance_only", "static_ladder", "time_shuffled"] {
        assert!(kinds.contains(&kind), "no {kind} baseline in {kinds:?}");
    }

    // The human table names the model and every baseline too.
    let table = Command::new(env!("CARGO_BIN_EXE_liqwave"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["validate-model", "--config", "config/demo.toml", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(table.status.success());
    assert!(String::from_utf8_lossy(&table.stdout).contains("HYPEUSDT"));
}
