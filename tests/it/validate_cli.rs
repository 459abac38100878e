//! `liqwave validate-model` end to end on a dataset built from the HYPEUSDT recording (real 5m
//! klines and open interest) plus liquidation prints placed where price really traded: the
//! command freezes the map, scores every print, and reports the model beside every baseline.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use crate::support::testing::open_store;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/binance");

/// Runs `liqwave validate-model` with the demo config on `data`; returns stdout of a success.
fn validate_model(data: &Path, extra: &[&str]) -> Vec<u8> {
    validate_with("config/demo.toml", data, extra)
}

/// Runs `liqwave validate-model` with `config` on `data`; returns stdout of a success.
fn validate_with(config: &str, data: &Path, extra: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_liqwave"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["validate-model", "--config", config, "--data"])
        .arg(data)
        .args(extra)
        .output()
        .expect("run liqwave validate-model");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

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
    let out = validate_model(dir.path(), &["--json"]);
    let reports: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
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

    // The human table names the symbol and every baseline too.
    let table = validate_model(dir.path(), &[]);
    let table = String::from_utf8_lossy(&table);
    for word in [
        "HYPEUSDT",
        "model",
        "uniform",
        "distance-only",
        "static-ladder",
        "time-shuffled",
    ] {
        assert!(table.contains(word), "table without {word}:\n{table}");
    }
}

/// The same prints recorded by `liqwave run` into its store instead of the dataset score the
/// same: `--store` is where the daemon's `!forceOrder@arr` recording meets `validate-model`.
#[test]
fn prints_recorded_in_a_store_score_like_the_datasets() {
    let dir = tempfile::tempdir().unwrap();
    build_dataset(dir.path());
    let from_dataset = validate_model(dir.path(), &["--json"]);
    let prints = dir.path().join("liquidations/prints.jsonl");
    let text = std::fs::read_to_string(&prints).unwrap();
    std::fs::remove_file(&prints).unwrap();
    let db = dir.path().join("db");
    {
        // Dropping the store flushes it.
        let store = open_store(dir.path());
        let symbol = "HYPEUSDT".parse().unwrap();
        for line in text.lines() {
            let o: serde_json::Value = serde_json::from_str(line).unwrap();
            let number = |k: &str| o[k].as_str().unwrap().parse::<f64>().unwrap();
            let liq = liqwave::model::Liquidation {
                time: o["T"].as_i64().unwrap(),
                side: liqwave::model::Side::Long,
                price: number("ap"),
                quantity: number("z"),
            };
            store.record_liquidation(&symbol, &liq).unwrap();
        }
    }
    let store = db.to_str().unwrap();
    let from_store = validate_model(dir.path(), &["--json", "--store", store]);
    assert_eq!(
        String::from_utf8_lossy(&from_store),
        String::from_utf8_lossy(&from_dataset)
    );
}

/// Prints the daemon recorded on another venue score against the same market's map, on their
/// own line and pooled per venue; the home venue's line is what it was alone.
#[test]
fn prints_of_another_venue_score_per_venue_against_the_same_map() {
    let dir = tempfile::tempdir().unwrap();
    build_dataset(dir.path());
    let alone: serde_json::Value =
        serde_json::from_slice(&validate_model(dir.path(), &["--json"])).unwrap();
    let text = std::fs::read_to_string(dir.path().join("liquidations/prints.jsonl")).unwrap();
    let db = dir.path().join("db");
    {
        let store = open_store(dir.path());
        let symbol = "BYBIT:HYPEUSDT".parse().unwrap();
        for line in text.lines().step_by(2) {
            let o: serde_json::Value = serde_json::from_str(line).unwrap();
            let number = |k: &str| o[k].as_str().unwrap().parse::<f64>().unwrap();
            let liq = liqwave::model::Liquidation {
                time: o["T"].as_i64().unwrap(),
                side: liqwave::model::Side::Long,
                price: number("ap"),
                quantity: number("z"),
            };
            store.record_liquidation(&symbol, &liq).unwrap();
        }
    }
    let store = db.to_str().unwrap();
    let both: serde_json::Value =
        serde_json::from_slice(&validate_model(dir.path(), &["--json", "--store", store])).unwrap();
    assert_eq!(
        both["HYPEUSDT"], alone["HYPEUSDT"],
        "the home venue scores as alone"
    );
    let prints = |key: &str| both[key]["counts"]["scored"].as_u64();
    let half = prints("HYPEUSDT").map(|n| n.div_ceil(2));
    assert!(half.is_some_and(|n| n > 0), "{both}");
    assert_eq!(prints("BYBIT:HYPEUSDT"), half, "{both}");
    assert_eq!(prints("pooled bybit"), half);
    assert_eq!(prints("pooled binance"), prints("HYPEUSDT"));
    assert_ne!(
        both["pooled"], alone["pooled"],
        "the pool holds both venues"
    );
}

/// The shared `!forceOrder@arr` recording of 2024-08-17 (a RARE cascade: real prints, real
/// times, real sizes) paired with a synthetic price path: three seeded random-walk days that end
/// at the first print, then bars whose ranges cover the prints. No real klines overlap any
/// recorded liquidation window, so this is how the recordings can be scored at all; the lift it
/// prints says how the machinery behaves, not how good the model is.
#[test]
fn shared_force_order_recording_with_a_synthetic_path() {
    let dir = tempfile::tempdir().unwrap();
    let recording =
        Path::new(FIXTURES).join("liquidations/forceOrder_2024-08-17_BandsThoBaby_binance.csv");
    let text = std::fs::read_to_string(&recording).unwrap();
    let prints: Vec<(i64, f64)> = text
        .lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f[0] == "RARE" || f[0] == "RAREUSDT")
        .map(|f| (f[10].parse().unwrap(), f[5].parse().unwrap()))
        .collect();
    assert!(prints.len() > 100);

    const STEP: i64 = 5 * 60_000;
    let first = prints[0].0 / STEP * STEP;
    let last = prints.last().unwrap().0 / STEP * STEP;
    let start = first - 3 * 24 * 60 * 60_000;
    // Seeded multiplicative walk, rescaled so it ends at the first print's price.
    let mut seed: u64 = 0x5EED;
    let mut walk = vec![1.0_f64];
    for _ in (start..first).step_by(STEP as usize) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let shock = (seed % 2001) as f64 / 1000.0 - 1.0; // uniform in [-1, 1]
        walk.push(walk.last().unwrap() * (1.0 + 0.004 * shock));
    }
    let scale = prints[0].1 / walk.last().unwrap();
    std::fs::create_dir_all(dir.path().join("klines/5m")).unwrap();
    std::fs::create_dir_all(dir.path().join("liquidations")).unwrap();
    std::fs::copy(&recording, dir.path().join("liquidations/recording.csv")).unwrap();
    // (open time, close, low, high) before widening to the previous close.
    let mut bars: Vec<(i64, f64, f64, f64)> = (start..first)
        .step_by(STEP as usize)
        .enumerate()
        .map(|(i, t)| {
            let close = walk[i + 1] * scale;
            (t, close, close * 0.998, close * 1.002)
        })
        .collect();
    for t in (first..=last + STEP).step_by(STEP as usize) {
        let inside: Vec<f64> = prints
            .iter()
            .filter(|p| p.0 / STEP * STEP == t)
            .map(|p| p.1)
            .collect();
        let close = inside.last().copied().unwrap_or(bars.last().unwrap().1);
        let lo = inside.iter().copied().fold(close, f64::min);
        let hi = inside.iter().copied().fold(close, f64::max);
        bars.push((t, close, lo, hi));
    }
    let mut csv = String::from("open_time_ms,open,high,low,close,volume,quote_volume\n");
    let mut open = walk[0] * scale;
    for (t, close, lo, hi) in bars {
        let (low, high) = (lo.min(open), hi.max(open));
        csv.push_str(&format!(
            "{t},{open},{high},{low},{close},1000,{}\n",
            1000.0 * close
        ));
        open = close;
    }
    std::fs::write(dir.path().join("klines/5m/RAREUSDT_5m.csv"), csv).unwrap();

    let out = validate_model(dir.path(), &["--json", "--symbol", "RAREUSDT"]);
    let reports: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let report = &reports["RAREUSDT"];
    assert_eq!(report["counts"]["events"], prints.len());
    assert!(report["counts"]["scored"].as_u64().unwrap() > 0, "{report}");
    let uniform = report["baselines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["kind"] == "uniform")
        .unwrap();
    assert!(
        uniform["score"]["lift"].is_number(),
        "uniform lift is defined on reached bins: {uniform}"
    );
}

/// Real prints from another recording (`--prints`) against real ETHUSDT bars of the same days:
/// the JSON leads with the pooled report, `--from`/`--to` choose which prints are scored, and the
/// table says in words what its dashes mean.
#[test]
fn real_prints_from_elsewhere_pool_and_filter_by_time() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/history");
    let prints = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/liquidations-extra");
    let prints = prints.to_str().unwrap();
    let run = |extra: &[&str]| {
        let args: Vec<&str> = ["--prints", prints].iter().chain(extra).copied().collect();
        validate_with("config/liqwave.toml", &data, &args)
    };
    let json: serde_json::Value = serde_json::from_slice(&run(&["--json"])).expect("JSON");
    // 159 ETHUSDT prints of 2025-10-22/25 and 6 of 2025-12-27, after these bars end (stale).
    let pooled = &json["pooled"];
    assert_eq!(pooled["counts"]["events"], 165);
    assert_eq!(pooled["counts"]["stale"], 6);
    assert_eq!(
        pooled["counts"], json["ETHUSDT"]["counts"],
        "one symbol: pooled = itself"
    );
    let ladder = pooled["baselines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["kind"] == "static_ladder")
        .expect("static ladder");
    assert!(ladder.get("lift_gain_ci95").is_some());
    let day: serde_json::Value = serde_json::from_slice(&run(&[
        "--json",
        "--from",
        "2025-10-24",
        "--to",
        "2025-10-25",
    ]))
    .unwrap();
    let n = day["pooled"]["counts"]["events"].as_u64().unwrap();
    assert!(0 < n && n < 159, "{n} prints on 2025-10-24");
    let mass: serde_json::Value =
        serde_json::from_slice(&run(&["--json", "--bands", "top-mass"])).unwrap();
    assert_eq!(mass["pooled"]["bands"]["top_mass"]["share"], 0.1);
    let table = String::from_utf8(run(&[])).unwrap();
    assert!(table.starts_with("== All 1 symbols pooled"), "{table}");
    assert!(
        table.contains("How to read this") && table.contains("ETHUSDT"),
        "{table}"
    );
}
