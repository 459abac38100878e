//! Whole-load errors: each names the path it is about.

use std::fs;
use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use liqwave::model::Interval;
use liqwave::source::replay::{Dataset, ReplayError};

use super::{BAR_0, BAR_1, dataset, defaults, klines};

fn load_err(dir: &Path) -> (ReplayError, String) {
    let err = Dataset::load(dir, &defaults()).unwrap_err();
    let msg = err.to_string();
    (err, msg)
}

#[test]
fn load_errors_name_their_path() {
    let missing = Path::new("/nonexistent/liqwave-data");
    let (err, msg) = load_err(missing);
    assert!(matches!(err, ReplayError::DataDir { .. }), "{err:?}");
    assert!(msg.contains("/nonexistent/liqwave-data"), "{msg}");
    assert!(std::error::Error::source(&err).is_some());

    let file = dataset(&[("a.txt", "x")]);
    let (err, msg) = load_err(&file.path().join("a.txt"));
    assert!(
        matches!(err, ReplayError::NotADirectory { .. }) && msg.contains("a.txt"),
        "{msg}"
    );

    let only_1m = dataset(&[("klines/1m/BTCUSDT_1m.csv", &klines(&[BAR_0]))]);
    let (err, msg) = load_err(only_1m.path());
    assert!(
        matches!(
            err,
            ReplayError::NoKlines {
                interval: Interval::M5,
                ..
            }
        ),
        "{msg}"
    );
    assert!(msg.contains("klines/5m"), "{msg}");

    let no_close = dataset(&[(
        "klines/5m/BTCUSDT_5m.csv",
        "open_time_ms,open,high,low,volume\n0,1,1,1,1\n",
    )]);
    let (err, msg) = load_err(no_close.path());
    assert!(
        matches!(
            err,
            ReplayError::MissingColumn {
                column: "close",
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("BTCUSDT_5m.csv") && msg.contains("`close`"),
        "{msg}"
    );

    let empty = dataset(&[("klines/5m/BTCUSDT_5m.csv", "")]);
    let (err, msg) = load_err(empty.path());
    assert!(
        matches!(err, ReplayError::MissingHeader { .. }) && msg.contains("BTCUSDT_5m.csv"),
        "{msg}"
    );

    let twice = dataset(&[
        ("klines/5m/BTCUSDT_5m.csv", &klines(&[BAR_0])),
        ("klines/5m/BTCUSDT_5m.csv.gz", &klines(&[BAR_0])),
    ]);
    assert!(matches!(
        load_err(twice.path()).0,
        ReplayError::DuplicateFile { .. }
    ));

    let bad_funding = dataset(&[
        ("klines/5m/BTCUSDT_5m.csv", &klines(&[BAR_0])),
        ("funding/BTCUSDT_funding.csv", "time,rate\n1,2\n"),
    ]);
    let (err, msg) = load_err(bad_funding.path());
    assert!(
        matches!(
            err,
            ReplayError::MissingColumn {
                column: "funding_time_ms",
                ..
            }
        ),
        "{msg}"
    );
}

#[test]
fn corrupt_gzip_is_an_error_naming_the_file() {
    let text = klines(&[BAR_0, BAR_1].repeat(2_000));
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let good = gz.finish().unwrap();
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0xff;
    let truncated = good[..good.len() / 2].to_vec();
    for (label, bytes) in [
        ("flipped", flipped),
        ("truncated", truncated),
        ("not gzip", b"plain text".to_vec()),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("klines/5m/BTCUSDT_5m.csv.gz");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
        let (err, msg) = load_err(dir.path());
        assert!(matches!(err, ReplayError::Gzip { .. }), "{label}: {err:?}");
        assert!(msg.contains("BTCUSDT_5m.csv.gz"), "{label}: {msg}");
    }
}
