//! `liqwave heatmap` end to end on the bundled recordings: the mode each dataset supports, the
//! JSON shape, no look-ahead past `--at`, and a real PNG of the expected size.

use std::path::Path;
use std::process::Command;

fn heatmap(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_liqwave"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["heatmap", "--config", "config/demo.toml"])
        .args(args)
        .output()
        .expect("run liqwave heatmap")
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = heatmap(&[args, &["--json"]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

#[test]
fn modes_follow_the_data() {
    // (symbol, mode): HYPEUSDT has recorded open interest, the others only klines.
    for (symbol, mode) in [("HYPEUSDT", "oi"), ("BTCUSDT", "volume_proxy")] {
        let report = json(&["--symbol", symbol]);
        assert_eq!(report["mode"], mode, "{symbol}");
        assert_eq!(report["symbol"], symbol);
        assert_eq!(report["estimate"], true);
        assert_eq!(
            report["coverage"].is_number(),
            mode == "oi",
            "{symbol}: coverage only with OI"
        );
        for c in report["clusters"].as_array().expect("clusters") {
            for key in [
                "id",
                "side",
                "near_edge",
                "far_edge",
                "peak",
                "notional_usd",
                "density",
                "share",
                "thin_approach",
                "isolation",
                "fuel_behind",
                "age_hours",
            ] {
                assert!(c.get(key).is_some(), "{symbol}: cluster without {key}: {c}");
            }
            let (near, far) = (
                c["near_edge"].as_f64().unwrap(),
                c["far_edge"].as_f64().unwrap(),
            );
            let price = report["price"].as_f64().unwrap();
            match c["side"].as_str() {
                Some("long") => assert!(far <= near && near <= price, "{c}"),
                Some("short") => assert!(price <= near && near <= far, "{c}"),
                other => panic!("side {other:?}"),
            }
        }
    }
}

#[test]
fn at_stops_the_replay_at_that_time() {
    // RFC 3339 and epoch ms name the same instant; the last step is the 5m close at or before it.
    let by_text = json(&["--symbol", "HYPEUSDT", "--at", "2025-06-05T12:00:00Z"]);
    let by_ms = json(&["--symbol", "HYPEUSDT", "--at", "1749124800000"]);
    assert_eq!(by_text, by_ms);
    assert_eq!(by_text["time_ms"], 1_749_124_800_000_i64);
    let bad = heatmap(&["--symbol", "HYPEUSDT", "--at", "yesterday"]);
    assert!(!bad.status.success());
}

#[test]
fn png_chart_is_a_real_image_of_the_expected_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chart.png");
    let out = heatmap(&["--symbol", "HYPEUSDT", "--png", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(Path::new(&path)).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), liqwave::notify::chart::CHART_SIZE);
}
