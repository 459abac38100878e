//! What guards the store beyond sled: the liqwave lock (a held store is never moved aside), the
//! watermark (a rolled-back store is reported), sled's panics kept out of the journal, and the
//! opens that must not create anything.

use std::any::Any;
use std::panic;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use super::*;
use crate::model::testing::copy_dir;

/// Every path under `dir`, sorted.
fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                todo.push(e.path());
            }
            all.push(e.path());
        }
    }
    all.sort();
    all
}

#[test]
fn a_held_store_is_never_moved_aside() {
    type Hold = fn(&Path) -> Box<dyn Any>;
    let pid = std::process::id();
    // (who holds it, the holder the refusal names)
    let cases: [(&str, Hold, Option<u32>); 2] = [
        ("liqwave", |p| Box::new(open(p)), Some(pid)),
        // A liqwave from before the liqwave lock: only sled's own lock says it is in use.
        ("sled alone", |p| Box::new(sled::open(p).unwrap()), None),
    ];
    for (name, hold, holder) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        seeded(&path);
        closed(&path);
        let held = hold(&path);
        let err = Store::move_aside(&path, "x").unwrap_err();
        assert!(
            matches!(&err, StoreError::Locked { holder: h, .. } if *h == holder),
            "{name}: {err:?}"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["state"], "{name}: nothing moved");
        drop(held);
        let moved = Store::move_aside(&path, "x").unwrap();
        assert_eq!(moved, Some(dir.path().join("state.reset-x")), "{name}");
    }
}

/// Commits `alerts` for the file sink at `position`, then marks the first `sends` waiting sent.
fn advance(store: &Store, position: u64, alerts: &[Alert], sends: usize) {
    let routed = routed(alerts, &["file"]);
    let commit = Commit::<NoPairs> {
        pairs: &[],
        alerts: &routed,
        position: Some(position),
    };
    store.commit(&commit).unwrap();
    for (key, _) in store.pending("file", sends).unwrap() {
        store.mark_sent(&key, 1).unwrap();
    }
}

#[tokio::test]
async fn a_store_behind_its_watermark_is_reported() {
    // (case, events and deliveries after the copy was taken, the rollback the copy shows:
    // events lost, alerts that may be delivered again)
    #[rustfmt::skip]
    let cases = [
        ("nothing after the copy",        0, 0, None),
        ("events, no deliveries",        10, 0, Some((10, 0))),
        ("deliveries, no events",         0, 2, Some((0, 2))),
        ("events and deliveries",        10, 2, Some((10, 2))),
    ];
    for (name, events, sends, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (path, old) = (dir.path().join("state"), dir.path().join("old"));
        let kinds = [AlertKind::RegimeChange, AlertKind::MidlineCross];
        let alerts: Vec<Alert> = (0..3)
            .flat_map(|t| kinds.map(|k| alert(k).at(t).build()))
            .collect();
        let store = open(&path);
        advance(&store, 10, &alerts, 1);
        store.flush().await.unwrap();
        drop(store);
        closed(&path);
        copy_dir(&path, &old);

        let store = open(&path);
        advance(&store, 10 + events, &[], sends);
        store.flush().await.unwrap();
        let durable = store.marks().unwrap();
        // Written only after a flush: the watermark is never ahead of what sled made durable.
        advance(&store, 100, &[], 1);
        assert_eq!(watermark::read(&path).unwrap(), Some(durable), "{name}");
        drop(store);
        closed(&path);
        assert_eq!(open(&path).rollback(), None, "{name}: no false alarm");
        closed(&path);
        let newer = path.join(watermark::WATERMARK_FILE);
        std::fs::copy(newer, old.join(watermark::WATERMARK_FILE)).unwrap();

        let got = |store: &Store| {
            store
                .rollback()
                .map(|r| (r.events_lost(), r.redeliveries()))
        };
        let store = open(&old);
        assert_eq!(got(&store), want, "{name}");
        if let Some(rollback) = store.rollback() {
            let text = rollback.to_string();
            let n = rollback.redeliveries();
            assert!(
                text.contains(&format!("up to {n} alerts may be delivered again")),
                "{text}"
            );
        }
        drop(store);
        closed(&old);
        // Reported by every open until the store is used and flushed again.
        let store = open(&old);
        assert_eq!(got(&store), want, "{name}: reported again");
        store.flush().await.unwrap();
        drop(store);
        closed(&old);
        assert_eq!(got(&open(&old)), None, "{name}: acknowledged by a flush");
    }
}

#[tokio::test]
async fn an_unreadable_watermark_is_no_alarm_and_is_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    seeded(&path);
    closed(&path);
    std::fs::write(path.join(watermark::WATERMARK_FILE), b"{\"posit").unwrap();
    let store = open(&path);
    assert_eq!(store.rollback(), None);
    store.flush().await.unwrap();
    let read = watermark::read(&path).unwrap();
    assert_eq!(read, Some(store.marks().unwrap()));
}

#[test]
fn sled_panics_while_opening_print_nothing_and_the_hook_is_put_back() {
    type Hook = Box<dyn Fn(&panic::PanicHookInfo<'_>) + Sync + Send + 'static>;
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let swap = |make: &dyn Fn(Hook) -> Hook| {
        let _swapping = open::HOOK.lock().unwrap_or_else(PoisonError::into_inner);
        let hook = make(panic::take_hook());
        panic::set_hook(hook);
    };
    // A recorder of this test's panics before whatever hook there was (other tests' panics go on
    // to it); removed at the end.
    let original: Arc<Mutex<Option<Hook>>> = Arc::default();
    swap(&|previous| {
        *original.lock().unwrap() = Some(previous);
        let (seen, original) = (Arc::clone(&seen), Arc::clone(&original));
        Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .unwrap_or_default();
            if message.starts_with("probe") {
                seen.lock().unwrap().push(message);
            } else if let Some(previous) = &*original.lock().unwrap() {
                previous(info);
            }
        })
    });

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    panicking_damage(&path);
    let err = Store::open(&path, CACHE).unwrap_err();
    assert!(
        err.to_string().contains("tried to serialize Uninitialized"),
        "{err}"
    );
    let err = open::catch_panic(&path, || -> Result<(), StoreError> {
        panic!("probe opening")
    });
    assert!(err.unwrap_err().is_corrupt());
    // Another thread's panic meanwhile is not the open's: it is printed.
    open::catch_panic(&path, || {
        std::thread::scope(|s| drop(s.spawn(|| panic!("probe elsewhere")).join()));
        Ok(())
    })
    .unwrap();
    // The hook is back after the open.
    drop(panic::catch_unwind(|| panic!("probe after")));

    swap(&|ours| {
        drop(ours);
        original.lock().unwrap().take().expect("the original hook")
    });
    assert_eq!(*seen.lock().unwrap(), ["probe elsewhere", "probe after"]);
}

#[test]
fn opens_that_must_not_create_create_nothing() {
    type Open = fn(&Path, u64) -> Result<Store, StoreError>;
    type Setup = fn(&Path);
    let (existing, create): (Open, Open) = (Store::open_existing, Store::open);
    // (what is at the path, how it is opened, what the error says)
    #[rustfmt::skip]
    let cases: [(&str, Setup, Open, &str); 4] = [
        ("nothing", |_| {}, existing, "does not exist (no liqwave store has been created there)"),
        ("an empty directory", |p| std::fs::create_dir(p).unwrap(), existing,
         "no liqwave store has been created there"),
        ("a dangling link", |p| std::os::unix::fs::symlink(p.with_file_name("gone"), p).unwrap(),
         existing, "gone, which does not exist; create that directory or fix the link"),
        // Even an open that may create: `mkdir` through it fails ("File exists").
        ("a dangling link", |p| std::os::unix::fs::symlink(p.with_file_name("gone"), p).unwrap(),
         create, "is a symbolic link to"),
    ];
    for (name, setup, open, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        setup(&path);
        let before = listing(dir.path());
        let err = open(&path, CACHE).unwrap_err();
        assert!(err.is_not_found(), "{name}: {err:?}");
        let message = err.to_string();
        assert!(message.contains(want), "{name}: {message}");
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert_eq!(listing(dir.path()), before, "{name}: nothing created");
    }
    // What a run made, a read-only open reads.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    seeded(&path);
    closed(&path);
    let store = Store::open_existing(&path, CACHE).unwrap();
    assert_eq!(store.outbox_depth().unwrap().get("file"), Some(&1));
}
