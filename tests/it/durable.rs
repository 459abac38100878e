//! A durable replay end to end, with the real binary, the real sled store and a slowed JSONL file
//! sink: SIGKILL at many points loses no alert, delivers none that a clean run lacks, repeats at
//! most one per kill, and ends in the same pair state; SIGTERM delivers until the deadline, leaves
//! exactly the rest in the outbox, and the next start delivers it; `status` reads the store (and
//! explains when the daemon holds it); a corrupt store fails with what to do, and
//! `--reset-state` moves it aside. `guards`: the lock, the watermark, sled's panics and the
//! commands that only read. `dead_letters`: a blocked chat's part, listed, retried, once.
//! `snapshots`: a warmed pair's size, and restarts from binary and from old JSON snapshots.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use liqwave::engine::{Engine, PairSnapshot};
use liqwave::model::Alert;
use liqwave::rules::Routes;

use crate::support::demo::demo_data;
use crate::support::testing::open_store;

mod dead_letters;
mod guards;
mod snapshots;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/binance")
}

/// The demo config plus a store, a slowed file sink and a delivery deadline, in `dir`.
fn write_config(dir: &Path, delay_ms: u64, deadline_secs: u64) -> PathBuf {
    let demo = std::fs::read_to_string(root().join("config/demo.toml")).unwrap();
    let text = format!(
        "{demo}\n[sinks.file]\npath = \"delivered.jsonl\"\ndelay_ms = {delay_ms}\n\n\
         [store]\npath = \"db\"\n\n[delivery]\nshutdown_deadline_secs = {deadline_secs}\n\
         backoff_initial_ms = 10\n"
    );
    let path = dir.join("liqwave.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn start(config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_liqwave"))
        .args(["replay", "--quiet", "--config"])
        .arg(config)
        .arg("--data")
        .arg(fixtures())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start liqwave replay")
}

/// A clean in-process run of the first `events` demo events (all with `None`): the alerts it
/// routes to the file sink, in order, its final state, and the number of events in the data.
fn clean_run(events: Option<usize>) -> (Vec<Alert>, Vec<PairSnapshot>, usize) {
    let (config, all) = (&demo_data().config, &demo_data().events);
    let mut engine = Engine::new(config);
    let mut alerts = Vec::new();
    for ev in &all[..events.unwrap_or(all.len())] {
        engine.handle(ev, &mut alerts);
    }
    let routes = Routes::defaults();
    alerts.retain(|a| routes.routes_to(a, "file"));
    (alerts, engine.snapshot(), all.len())
}

fn reference() -> (Vec<Alert>, Vec<PairSnapshot>, usize) {
    clean_run(None)
}

fn delivered(dir: &Path) -> Vec<Alert> {
    let text = std::fs::read_to_string(dir.join("delivered.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect()
}

/// Waits until delivery is under way: the first alert is in the file in `dir`, whatever the load.
fn wait_delivering(dir: &Path) {
    let waited = Instant::now();
    while delivered(dir).is_empty() {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "nothing delivered in 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `signal` (`kill`'s flag) to `child` once delivery is under way.
fn signal_once_delivering(child: &Child, dir: &Path, signal: &str) {
    wait_delivering(dir);
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Runs a replay to its end and requires success, without a rollback reported.
fn run_to_end(config: &Path) {
    let out = start(config).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("behind its watermark"), "{stderr}");
}

#[test]
fn sigkill_at_random_points_loses_nothing_and_repeats_at_most_one_per_kill() {
    let (want, want_state, _) = reference();
    assert!(
        want.len() > 50,
        "the demo should route many alerts to the file"
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), 100, 120);

    // Kill points spread over load, replay and delivery (a fixed pseudo-random sequence, so a
    // failure reproduces).
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut kills = 0;
    for _ in 0..25 {
        if kills == 12 {
            break;
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let after = Duration::from_millis(200 + seed % 800);
        let mut child = start(&config);
        std::thread::sleep(after);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        // The watermark is never ahead of what sled made durable: no start after a kill
        // reports the store rolled back.
        let err = String::from_utf8(child.wait_with_output().unwrap().stderr).unwrap();
        assert!(
            !err.contains("behind its watermark"),
            "a false alarm: {err}"
        );
    }
    run_to_end(&config);

    let got = delivered(dir.path());
    let wanted: BTreeMap<&str, &Alert> = want.iter().map(|a| (a.id.as_str(), a)).collect();
    let mut seen = BTreeSet::new();
    for alert in &got {
        let reference = wanted
            .get(alert.id.as_str())
            .unwrap_or_else(|| panic!("delivered an alert the clean run lacks: {}", alert.id));
        assert_eq!(
            &alert, reference,
            "delivered alert differs from the clean run"
        );
        seen.insert(alert.id.as_str());
    }
    let missing: Vec<&&str> = wanted.keys().filter(|id| !seen.contains(*id)).collect();
    assert!(missing.is_empty(), "lost alerts: {missing:?}");
    let repeats = got.len() - seen.len();
    // The figures for the report (`cargo test --test durable -- --nocapture`).
    println!(
        "crash test: {kills} SIGKILLs, {} alerts expected, {} deliveries, {repeats} repeats",
        want.len(),
        got.len()
    );
    assert!(kills >= 10, "too few kills landed ({kills})");
    assert!(repeats <= kills, "{repeats} repeats for {kills} kills");

    let store = open_store(dir.path());
    assert!(store.outbox_depth().unwrap().is_empty(), "outbox drained");
    assert_eq!(
        store
            .pair_snapshots::<liqwave::engine::PairSnapshot>()
            .unwrap(),
        want_state,
        "final pair state"
    );
}

#[test]
fn sigterm_delivers_until_the_deadline_and_the_next_start_delivers_the_rest() {
    let (want, _, events) = reference();
    let dir = tempfile::tempdir().unwrap();
    // 40 ms per alert: the deadline of 1 s cuts delivery short.
    let config = write_config(dir.path(), 40, 1);
    let child = start(&config);
    signal_once_delivering(&child, dir.path(), "-TERM");
    let signalled = Instant::now();
    let out = child.wait_with_output().unwrap();
    let took = signalled.elapsed();
    assert!(
        out.status.success(),
        "a graceful shutdown exits 0, got {}",
        out.status
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("UNDELIVERED"),
        "the summary says what is left: {summary}"
    );
    assert!(
        took < Duration::from_secs(4),
        "shutdown took {took:?} for a 1 s deadline"
    );

    // Delivered ∪ outbox = the alerts of the events the engine committed; nothing twice.
    let got = delivered(dir.path());
    let store = open_store(dir.path());
    let position = store.position().unwrap().unwrap_or(0) as usize;
    let waiting: Vec<Alert> = store
        .pending("file", usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.alert)
        .collect();
    drop(store);
    assert!(
        !waiting.is_empty(),
        "the deadline should leave alerts in the outbox"
    );
    assert!(position <= events);
    let mut ids: Vec<&str> = got.iter().chain(&waiting).map(|a| a.id.as_str()).collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        n,
        "an alert both delivered and waiting, or twice"
    );
    let got_ids: BTreeSet<String> = ids.into_iter().map(str::to_owned).collect();
    assert_eq!(got_ids, committed_ids(position));

    // The next start resumes, delivers what waited and the rest of the replay, once each.
    let config = write_config(dir.path(), 0, 60);
    run_to_end(&config);
    let all: Vec<String> = delivered(dir.path())
        .iter()
        .map(|a| a.id.to_string())
        .collect();
    let expected: Vec<String> = want.iter().map(|a| a.id.to_string()).collect();
    let (mut a, mut b) = (all.clone(), expected);
    a.sort();
    b.sort();
    assert_eq!(
        a, b,
        "every alert delivered exactly once after a graceful stop"
    );
}

/// Without a signal a replay delivers everything before it exits, however slow the sink: the
/// shutdown deadline (0 s here) only runs from a signal.
#[test]
fn a_replay_waits_for_a_slow_sink_to_deliver_everything() {
    let (want, _, _) = reference();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), 5, 0);
    let out = start(&config).wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<String> = delivered(dir.path())
        .iter()
        .map(|a| a.id.to_string())
        .collect();
    let want: Vec<String> = want.iter().map(|a| a.id.to_string()).collect();
    assert_eq!(got, want, "every alert, once, in order");
    let summary = String::from_utf8_lossy(&out.stdout);
    let sent = format!("file             {} sent", want.len());
    assert!(summary.contains(&sent), "{sent:?} in {summary}");
    assert!(!summary.contains("UNDELIVERED"), "{summary}");
}

#[test]
fn sigint_with_time_to_spare_leaves_nothing_the_engine_committed_in_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    // 5 ms per alert keeps the file sink behind the engine; 60 s is time to spare.
    let config = write_config(dir.path(), 5, 60);
    let mut child = start(&config);
    signal_once_delivering(&child, dir.path(), "-INT");
    let exit = child.wait().unwrap();
    assert!(exit.success(), "an interrupted replay exits 0, got {exit}");
    // The engine drained and committed before the sink heard of the shutdown, so everything it
    // committed was delivered, once, and nothing waits.
    let store = open_store(dir.path());
    let position = store.position().unwrap().unwrap_or(0) as usize;
    assert_eq!(
        store.pending("file", usize::MAX).unwrap().len(),
        0,
        "the outbox is empty"
    );
    drop(store);
    let got: Vec<String> = delivered(dir.path())
        .iter()
        .map(|a| a.id.to_string())
        .collect();
    let unique: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(unique.len(), got.len(), "an alert delivered twice");
    assert_eq!(unique, committed_ids(position));
}

/// Ids of the alerts routed to the file by the first `position` events.
fn committed_ids(position: usize) -> BTreeSet<String> {
    let (alerts, _, _) = clean_run(Some(position));
    alerts.into_iter().map(|a| a.id.to_string()).collect()
}

#[test]
fn status_reads_the_store_and_says_when_the_daemon_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), 0, 60);
    run_to_end(&config);

    let status = || {
        Command::new(env!("CARGO_BIN_EXE_liqwave"))
            .args(["status", "--config"])
            .arg(&config)
            .output()
            .unwrap()
    };
    let out = status();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "pairs tracked    5",
        "BTCUSDT",
        "outbox",
        "empty",
        "dead letters     0",
        "last deliveries",
        "file",
    ] {
        assert!(text.contains(want), "status lacks {want:?}:\n{text}");
    }

    // While a process holds the store, status explains instead of failing obscurely.
    let held = open_store(dir.path());
    let out = status();
    drop(held);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("holds the store"), "{err}");
}

#[test]
fn a_corrupt_store_fails_with_what_to_do_and_reset_moves_it_aside() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), 0, 60);
    let db = dir.path().join("db");
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(
        db.join("conf"),
        b"\x00\x01garbage that is not a sled config",
    )
    .unwrap();
    std::fs::write(db.join("db"), vec![0xA5u8; 4096]).unwrap();

    let out = start(&config).wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a corrupt store must not be used");
    assert!(
        err.contains("--reset-state"),
        "the error says what to do: {err}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_liqwave"))
        .args(["replay", "--quiet", "--reset-state", "--config"])
        .arg(&config)
        .arg("--data")
        .arg(fixtures())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("db.reset-"))
        .collect();
    assert_eq!(aside.len(), 1, "the old store is kept, moved aside");
    let kept = dir.path().join(&aside[0]).join("conf");
    assert!(std::fs::read(kept).unwrap().starts_with(b"\x00\x01garbage"));
    assert_eq!(delivered(dir.path()).len(), reference().0.len());
}
