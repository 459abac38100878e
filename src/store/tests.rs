//! One test per tree and behaviour, on real sled databases in temporary directories. Here:
//! opening, refusing and moving aside; the trees in the submodules.

mod commit;
mod durability;
mod outbox;
mod records;
mod snapshots;

use std::path::Path;

use super::*;
use crate::model::testing::alert;
use crate::model::{AlertKind, Symbol, TimeMs};

const CACHE: u64 = 4 << 20;

fn sym(s: &str) -> Symbol {
    s.parse().expect("symbol")
}

fn routed(alerts: &[Alert], sinks: &[&str]) -> Vec<Routed> {
    let sinks: Vec<String> = sinks.iter().map(|s| (*s).to_owned()).collect();
    alerts
        .iter()
        .map(|a| Routed::new(a.clone(), sinks.clone()))
        .collect()
}

fn open(path: &Path) -> Store {
    Store::open(path, CACHE).expect("open store")
}

fn commit_alerts(store: &Store, alerts: &[Routed]) {
    store.commit(&Commit::alerts(alerts)).expect("commit");
}

/// What the engine would snapshot, as far as the store can tell: a value under a key.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Pair {
    symbol: String,
}

impl Snapshot for Pair {
    fn key(&self) -> &str {
        &self.symbol
    }
}

fn write_garbage(path: &Path, len: usize, seed: u64) {
    let mut x = seed | 1;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(path, bytes).expect("write garbage");
}

/// Waits (boundedly) until sled has let go of the database at `path`: its background writes
/// go on after the last handle is dropped, and damage done meanwhile may be overwritten.
fn closed(path: &Path) {
    let waited = std::time::Instant::now();
    while lock::sled_lock_held(path).unwrap() {
        assert!(waited.elapsed().as_secs() < 10, "sled still holds {path:?}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A liqwave store whose first segment header was overwritten, on which sled 0.34.7 panics
/// while recovering ("tried to serialize Uninitialized"): `tests/fixtures/store/sled-panics`
/// (its README says how it was made), unpacked to `path`.
fn panicking_damage(path: &Path) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store/sled-panics");
    std::fs::create_dir_all(path).unwrap();
    std::fs::copy(fixture.join("conf"), path.join("conf")).unwrap();
    let gz = std::fs::File::open(fixture.join("db.gz")).unwrap();
    let mut db = std::fs::File::create(path.join("db")).unwrap();
    std::io::copy(&mut flate2::read::GzDecoder::new(gz), &mut db).unwrap();
}

/// A store with one committed alert, closed again.
fn seeded(path: &Path) {
    let store = open(path);
    commit_alerts(
        &store,
        &routed(&[alert(AlertKind::RegimeChange).at(1).build()], &["file"]),
    );
    store.db.flush().expect("flush");
}

#[test]
fn open_creates_and_reopen_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    {
        let store = open(&path);
        assert_eq!(store.position().unwrap(), None);
        assert!(store.pair_snapshots::<Pair>().unwrap().is_empty());
        store
            .commit(&Commit::<NoPairs> {
                pairs: &[],
                alerts: &routed(
                    &[alert(AlertKind::SetupEntry).symbol("ETHUSDT").at(7).build()],
                    &["telegram"],
                ),
                position: Some(42),
            })
            .unwrap();
        assert_eq!(
            format!("{store:?}"),
            format!("Store {{ path: {path:?}, .. }}")
        );
    }
    let store = open(&path);
    assert_eq!(store.path(), path);
    assert_eq!(store.position().unwrap(), Some(42));
    assert_eq!(store.outbox_depth().unwrap().get("telegram"), Some(&1));
    let version = store
        .meta
        .get(keys::META_SCHEMA)
        .unwrap()
        .expect("schema version");
    assert_eq!(version.as_ref(), SCHEMA_VERSION.to_be_bytes());
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    drop(open(&path));
    {
        let raw = sled::open(&path).unwrap();
        let meta = raw.open_tree(META).unwrap();
        meta.insert(keys::META_SCHEMA, &(SCHEMA_VERSION + 1).to_be_bytes())
            .unwrap();
        raw.flush().unwrap();
    }
    let err = Store::open(&path, CACHE).unwrap_err();
    assert!(
        matches!(err, StoreError::NewerSchema { found, supported, .. }
            if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("newer liqwave") && message.contains("upgrade or --reset-state"));
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn a_second_open_is_locked() {
    // sled locks `<path>/db` with flock(2), which conflicts between two descriptors of one
    // process too: the second open fails instead of sharing the files.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    let first = open(&path);
    let err = Store::open(&path, CACHE).unwrap_err();
    assert!(err.is_locked() && !err.is_corrupt(), "{err:?}");
    let pid = std::process::id();
    assert!(
        matches!(err, StoreError::Locked { holder: Some(p), .. } if p == pid),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains(&format!("in use by another liqwave process (pid {pid}")),
        "{err}"
    );
    drop(first);
    drop(open(&path));
}

#[test]
fn a_lock_released_within_a_second_is_waited_for() {
    // sled lets go of its lock when the background writes of the last handle finish, after the
    // drop; an open right after a close (or a daemon that is just stopping) waits for that.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    let first = open(&path);
    // A scoped thread: it cannot outlive the test.
    std::thread::scope(|scope| {
        let second = scope.spawn(|| Store::open(&path, CACHE).map(drop));
        std::thread::sleep(std::time::Duration::from_millis(100));
        drop(first);
        second
            .join()
            .expect("no panic")
            .expect("opened once the first let go");
    });
}

#[test]
fn a_panic_inside_sled_becomes_corrupt() {
    let path = Path::new("/var/lib/liqwave");
    let err = open::catch_panic(path, || -> Result<(), StoreError> {
        panic!("tried to serialize {}", "Uninitialized")
    })
    .unwrap_err();
    assert!(err.is_corrupt(), "{err:?}");
    assert!(
        err.to_string()
            .contains("sled failed while reading it: tried to serialize Uninitialized"),
        "{err}"
    );
    assert_eq!(open::catch_panic(path, || Ok(7)).unwrap(), 7);
}

#[test]
fn open_errors_map_to_what_the_caller_branches_on() {
    let path = Path::new("/var/lib/liqwave");
    let io = |kind, msg: &str| sled::Error::Io(std::io::Error::new(kind, msg.to_owned()));
    use std::io::ErrorKind::*;
    type Check = fn(&StoreError) -> bool;
    let cases: [(sled::Error, Check); 7] = [
        (
            io(WouldBlock, "Resource temporarily unavailable"),
            StoreError::is_locked,
        ),
        // sled's exact text for a lock held elsewhere (this process included).
        (
            io(
                Other,
                "could not acquire lock on \"/s/db\": Os { code: 11, kind: WouldBlock, \
                 message: \"Resource temporarily unavailable\" }",
            ),
            StoreError::is_locked,
        ),
        (
            io(
                Other,
                "could not acquire lock on \"/s/db\": Os { code: 37, kind: Uncategorized, \
                 message: \"No locks available\" }",
            ),
            |e| matches!(e, StoreError::Io(_)),
        ),
        (io(NotADirectory, "Not a directory"), StoreError::is_corrupt),
        (io(PermissionDenied, "denied"), |e| {
            matches!(e, StoreError::Io(_))
        }),
        (
            sled::Error::Unsupported("created using a sled version earlier than 0.29".into()),
            StoreError::is_corrupt,
        ),
        (
            sled::Error::Corruption { at: None, bt: () },
            StoreError::is_corrupt,
        ),
    ];
    for (sled_err, want) in cases {
        let shown = sled_err.to_string();
        let err = error::open_error(path, sled_err);
        assert!(want(&err), "{shown} → {err:?}");
        assert!(err.to_string().contains("/var/lib/liqwave"), "{err}");
    }
}

#[test]
fn unreadable_files_are_corrupt_never_a_panic() {
    type Damage = fn(&Path);
    const NO_SCHEMA: &str = "sled files without a liqwave schema version";
    // (case, damage, what the message says about it: one of)
    let cases: [(&str, Damage, &[&str]); 6] = [
        (
            "garbage db and conf",
            |p| {
                std::fs::create_dir_all(p).unwrap();
                write_garbage(&p.join("db"), 12_288, 1);
                write_garbage(&p.join("conf"), 200, 2);
            },
            &["earlier than 0.29"],
        ),
        (
            "garbage db only",
            |p| {
                std::fs::create_dir_all(p).unwrap();
                write_garbage(&p.join("db"), 12_288, 3);
            },
            &[NO_SCHEMA],
        ),
        (
            "db truncated to nothing",
            |p| {
                seeded(p);
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(p.join("db"))
                    .unwrap()
                    .set_len(0)
                    .unwrap();
            },
            &[NO_SCHEMA],
        ),
        // sled panics on this one ("tried to serialize Uninitialized"), and the recovery it
        // began leaves a database without the schema version for the next open.
        (
            "segment header overwritten",
            panicking_damage,
            &[
                "sled failed while reading it: tried to serialize Uninitialized",
                NO_SCHEMA,
            ],
        ),
        (
            "a sled database of someone else",
            |p| {
                let raw = sled::open(p).unwrap();
                raw.insert(b"theirs", b"data").unwrap();
                raw.flush().unwrap();
            },
            &[NO_SCHEMA],
        ),
        (
            "a file, not a directory",
            |p| std::fs::write(p, b"hello").unwrap(),
            &["not a directory: a file is in its place"],
        ),
    ];
    for (name, damage, detail) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        damage(&path);
        // Twice: a failed open (even one sled panicked in) leaves no lock behind.
        for _ in 0..2 {
            let err = Store::open(&path, CACHE).expect_err(name);
            assert!(err.is_corrupt(), "{name}: {err:?}");
            let message = err.to_string();
            assert!(
                message.contains("run with --reset-state to move it aside and start empty")
                    && message.contains(&path.display().to_string())
                    && detail.iter().any(|d| message.contains(d)),
                "{name}: {message}"
            );
        }
        // --reset-state: moved aside, a fresh store opens where it was.
        assert!(Store::move_aside(&path, "test").unwrap().is_some());
        drop(open(&path));
    }
}

#[test]
fn move_aside_keeps_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    assert_eq!(Store::move_aside(&path, "x").unwrap(), None);
    seeded(&path);

    let moved = Store::move_aside(&path, "x").unwrap().expect("moved");
    assert_eq!(moved, dir.path().join("state.reset-x"));
    assert!(!path.exists());
    assert_eq!(open(&moved).outbox_depth().unwrap().get("file"), Some(&1));

    // Same label again (with a trailing slash): the first copy stays, the second gets `-1`.
    seeded(&path);
    let mut slashed = path.clone().into_os_string();
    slashed.push("/");
    let again = Store::move_aside(Path::new(&slashed), "x")
        .unwrap()
        .expect("moved");
    assert_eq!(again, dir.path().join("state.reset-x-1"));
    assert!(moved.join("db").exists() && again.join("db").exists());
    assert!(
        open(&path).outbox_depth().unwrap().is_empty(),
        "starts empty"
    );
}
