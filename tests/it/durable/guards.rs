//! What guards the store beyond sled, with the real binary: `--reset-state` never moves a store
//! another process holds, a store rolled back behind its watermark is reported (log and
//! `status`), sled's panics on a damaged store stay out of stderr, and the commands that only read
//! never create a store.

use std::path::Path;
use std::process::{Command, Output};

use super::{delivered, fixtures, reference, root, run_to_end, start};
use super::{signal_once_delivering, wait_delivering, write_config};
use crate::support::testing::copy_dir;

fn liqwave(args: &[&str], config: &Path, extra: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_liqwave"))
        .args(args)
        .arg("--config")
        .arg(config)
        .args(extra)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run liqwave")
}

fn replay(config: &Path, more: &[&str]) -> Output {
    let mut args = vec!["replay", "--quiet"];
    args.extend(more);
    liqwave(&args, config, &[Path::new("--data"), &fixtures()])
}

/// Names in `dir` starting with `prefix`.
fn named(dir: &Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

fn sent_mark(watermark: &Path) -> u64 {
    let text = std::fs::read_to_string(watermark).unwrap();
    let marks: serde_json::Value = serde_json::from_str(&text).unwrap();
    marks["sent"].as_u64().expect("a sent count")
}

#[test]
fn reset_state_is_refused_while_another_process_holds_the_store() {
    let dir = tempfile::tempdir().unwrap();
    // 100 ms per alert: the first replay holds the store for about 14 s, delivering all.
    let config = write_config(dir.path(), 100, 120);
    let first = start(&config);
    wait_delivering(dir.path());

    let out = replay(&config, &["--reset-state"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a held store must not be reset");
    let holder = format!("in use by another liqwave process (pid {}", first.id());
    assert!(err.contains(&holder), "the refusal names the holder: {err}");
    assert!(named(dir.path(), "db.reset-").is_empty(), "nothing moved");

    let out = first.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got: Vec<String> = delivered(dir.path())
        .iter()
        .map(|a| a.id.to_string())
        .collect();
    let mut want: Vec<String> = reference().0.iter().map(|a| a.id.to_string()).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "every alert delivered once, by one store");
}

#[test]
fn a_store_rolled_back_behind_its_watermark_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    // A graceful stop part way, a copy of that store, then the rest of the replay.
    let mut child = start(&write_config(dir.path(), 40, 1));
    signal_once_delivering(&child, dir.path(), "-TERM");
    assert!(child.wait().unwrap().success());
    let old = dir.path().join("db.old");
    copy_dir(&db, &old);
    let config = write_config(dir.path(), 0, 60);
    run_to_end(&config);
    let before = delivered(dir.path()).len();

    // The old copy back in place under the newer watermark: what sled recovering only a prefix
    // of a damaged log looks like.
    let watermark = db.join("liqwave.watermark");
    let forgotten = sent_mark(&watermark) - sent_mark(&old.join("liqwave.watermark"));
    assert!(forgotten > 0, "the copy should predate some deliveries");
    std::fs::copy(&watermark, old.join("liqwave.watermark")).unwrap();
    std::fs::rename(&db, dir.path().join("db.newer")).unwrap();
    std::fs::rename(&old, &db).unwrap();

    let out = liqwave(&["status"], &config, &[]);
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let warning = format!("up to {forgotten} alerts may be delivered again");
    assert!(
        status.contains("ROLLED BACK") && status.contains(&warning),
        "{status}"
    );

    // The replay goes on (exit 0), saying so loudly, and delivers exactly what it forgot again.
    let out = replay(&config, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let logged = format!("Up to {forgotten} alerts may be delivered again");
    assert!(err.contains("ERROR") && err.contains(&logged), "{err}");
    assert_eq!(delivered(dir.path()).len() - before, forgotten as usize);
    // Once used and flushed, the store stands by what it holds: no warning forever.
    let out = liqwave(&["status"], &config, &[]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("ROLLED BACK"));
}

#[test]
fn a_store_sled_panics_on_fails_with_one_clear_message() {
    // (command, what its message says besides the damage)
    let cases: [(&[&str], &str); 2] = [
        (&["replay", "--quiet"], "run with --reset-state"),
        (&["status"], "`liqwave run --reset-state` moves it aside"),
    ];
    for (args, advice) in cases {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), 0, 60);
        unpack_panicking_store(&dir.path().join("db"));
        let extra = [Path::new("--data"), &fixtures()];
        let extra: &[&Path] = if args[0] == "replay" { &extra } else { &[] };
        let out = liqwave(args, &config, extra);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            err.contains("sled failed while reading it: tried to serialize Uninitialized")
                && err.contains(advice),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("panicked"),
            "{args:?}: sled's panic printed: {err}"
        );
    }
}

/// `tests/fixtures/store/sled-panics` (see its README) unpacked to `path`.
fn unpack_panicking_store(path: &Path) {
    let fixture = root().join("tests/fixtures/store/sled-panics");
    std::fs::create_dir_all(path).unwrap();
    std::fs::copy(fixture.join("conf"), path.join("conf")).unwrap();
    let gz = std::fs::File::open(fixture.join("db.gz")).unwrap();
    let mut db = std::fs::File::create(path.join("db")).unwrap();
    std::io::copy(&mut flate2::read::GzDecoder::new(gz), &mut db).unwrap();
}

#[test]
fn read_only_commands_create_no_store_and_every_message_can_be_followed() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), 0, 60);
    let (data, demo) = (fixtures(), root().join("config/demo.toml"));
    let store = |name: &str| dir.path().join(name);
    std::fs::write(store("a-file"), b"not a store").unwrap();
    std::os::unix::fs::symlink(store("gone"), store("dangling")).unwrap();
    let validate = |at: &str| {
        let args = ["validate-model", "--store", at];
        liqwave(&args, &demo, &[Path::new("--data"), &data])
    };
    let db = store("db");
    let (file, dangling) = (store("a-file"), store("dangling"));
    // (command, what its error says, what it must not say)
    #[rustfmt::skip]
    let cases: [(&dyn Fn() -> Output, &str, &str); 5] = [
        (&|| liqwave(&["status"], &config, &[]), "does not exist", "--reset-state"),
        (&|| validate(db.to_str().unwrap()), "does not exist", "--reset-state"),
        (&|| validate(file.to_str().unwrap()), "--store takes the directory of a liqwave store",
         "--reset-state"),
        (&|| validate(dangling.to_str().unwrap()), "which does not exist", "File exists"),
        (&|| replay(&write_config_at(dir.path(), "dangling"), &[]),
         "is a symbolic link to", "File exists"),
    ];
    for (i, (run, want, unwanted)) in cases.into_iter().enumerate() {
        let out = run();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "case {i}");
        assert!(
            err.contains(want) && !err.contains(unwanted),
            "case {i}: {err}"
        );
        assert!(
            !db.exists() && !store("gone").exists(),
            "case {i} created a store"
        );
    }
}

/// [`write_config`] with the store at `dir/store` instead of `dir/db`.
fn write_config_at(dir: &Path, store: &str) -> std::path::PathBuf {
    let config = write_config(dir, 0, 60);
    let text = std::fs::read_to_string(&config).unwrap();
    let path = dir.join(format!("{store}.toml"));
    std::fs::write(
        &path,
        text.replace("path = \"db\"", &format!("path = \"{store}\"")),
    )
    .unwrap();
    path
}
