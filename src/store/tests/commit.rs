//! Commits of alerts, and a flushed store shared by its clones. (Pair snapshots through the
//! engine: `engine/tests.rs`.)

use std::path::PathBuf;

use super::*;

#[tokio::test]
async fn flush_is_a_send_future_and_clones_share_the_data() {
    fn send<T: Send>(t: T) -> T {
        t
    }
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("state");
    let store = open(&path);
    let clone = store.clone();
    commit_alerts(
        &store,
        &routed(
            &[alert(AlertKind::DailySummary).at(1).build()],
            &["console"],
        ),
    );
    send(clone.flush()).await.unwrap();
    assert_eq!(clone.outbox_depth().unwrap()["console"], 1);
}

#[test]
fn pair_bytes_are_the_stored_values_sizes_in_symbol_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("state"));
    let pairs = [
        Pair {
            symbol: "ETHUSDT".into(),
        },
        Pair {
            symbol: "BTCDOMUSDT".into(),
        },
    ];
    let commit = Commit {
        pairs: &pairs,
        alerts: &[],
        position: None,
    };
    store.commit(&commit).unwrap();
    let size = |p: &Pair| crate::store::encode_snapshot(p).unwrap().len();
    let sizes = vec![size(&pairs[1]), size(&pairs[0])];
    assert_eq!(store.pair_bytes().unwrap(), sizes);
}
