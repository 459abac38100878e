//! Mutes, liquidations, the key encodings and undecodable values.

use super::*;
use crate::model::{Liquidation, Side};
use crate::rules::Mute;
use crate::store::keys::{ordered_time, parse_sent_key, sent_key};

#[test]
fn mutes_are_put_replaced_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    let mute = |symbol: &str, kind, until| Mute {
        symbol: sym(symbol),
        kind,
        until,
    };
    {
        let store = open(&path);
        store.put_mute(&mute("BTCUSDT", None, 100)).unwrap();
        store
            .put_mute(&mute("BTCUSDT", Some(AlertKind::ClusterEdge), 200))
            .unwrap();
        store
            .put_mute(&mute("BTCUSDT", Some(AlertKind::ClusterEdge), 300))
            .unwrap(); // replaces
        store.put_mute(&mute("BTC", None, 400)).unwrap();
    }
    let store = open(&path);
    let all: Vec<Mute> = store.mutes().unwrap().iter().cloned().collect();
    assert_eq!(
        all,
        [
            mute("BTC", None, 400),
            mute("BTCUSDT", None, 100),
            mute("BTCUSDT", Some(AlertKind::ClusterEdge), 300),
        ]
    );
    assert_eq!(store.remove_mutes(&sym("BTCUSDT")).unwrap(), 2);
    assert_eq!(store.remove_mutes(&sym("ETHUSDT")).unwrap(), 0);
    let left: Vec<Mute> = store.mutes().unwrap().iter().cloned().collect();
    assert_eq!(left, [mute("BTC", None, 400)]);
}

#[test]
fn liquidations_come_back_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("state"));
    let liq = |time, side, price| Liquidation {
        time,
        side,
        price,
        quantity: 0.1 + 0.2,
    };
    // Recorded out of order, two at one millisecond, one before 1970, another symbol between.
    let recorded = [
        liq(300, Side::Long, 3.0),
        liq(-5, Side::Short, 1.0),
        liq(100, Side::Long, 2.0),
        liq(100, Side::Short, 2.5),
    ];
    for (i, l) in recorded.iter().enumerate() {
        store.record_liquidation(&sym("BTCUSDT"), l).unwrap();
        if i == 1 {
            store
                .record_liquidation(&sym("BTC"), &liq(200, Side::Long, 9.0))
                .unwrap();
        }
    }
    let got = store.liquidations(&sym("BTCUSDT")).unwrap();
    assert_eq!(got, [recorded[1], recorded[2], recorded[3], recorded[0]]);
    assert_eq!(store.liquidations(&sym("BTC")).unwrap().len(), 1);
    assert!(store.liquidations(&sym("ETHUSDT")).unwrap().is_empty());
}

#[test]
fn keys_round_trip_and_sort_numerically() {
    for key in [
        OutboxKey {
            sink: "telegram".into(),
            seq: 0,
        },
        OutboxKey {
            sink: "file".into(),
            seq: u64::MAX,
        },
    ] {
        assert_eq!(OutboxKey::from_bytes(&key.to_bytes()), Some(key));
    }
    assert_eq!(OutboxKey::from_bytes(b"telegram"), None);
    assert_eq!(OutboxKey::from_bytes(b"telegram\0short"), None);
    let seqs = [1u64, 255, 256, 70_000];
    let keys: Vec<Vec<u8>> = seqs
        .iter()
        .map(|&seq| {
            OutboxKey {
                sink: "file".into(),
                seq,
            }
            .to_bytes()
        })
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
    let times = [i64::MIN, -1, 0, 1, 1_700_000_000_000, i64::MAX];
    assert!(
        times
            .windows(2)
            .all(|w| ordered_time(w[0]) < ordered_time(w[1]))
    );

    let id = alert(AlertKind::RegimeChange).at(60_000).build().id;
    assert_eq!(
        parse_sent_key(&sent_key("email", &id)),
        Some(("email".to_owned(), id))
    );
}

#[test]
fn undecodable_values_are_reported_with_their_tree() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("state"));
    store
        .pairs
        .insert(b"BTCUSDT", b"{not json".as_slice())
        .unwrap();
    store
        .meta
        .insert(keys::META_POSITION, b"abc".as_slice())
        .unwrap();
    store
        .outbox
        .insert(b"no separator", b"{}".as_slice())
        .unwrap();
    let pairs = store.pair_snapshots::<Pair>().unwrap_err();
    assert!(
        matches!(pairs, StoreError::Decode { tree: "pairs", .. }),
        "{pairs:?}"
    );
    assert!(pairs.to_string().contains("--reset-state"), "{pairs}");
    assert!(matches!(
        store.position(),
        Err(StoreError::Decode { tree: "meta", .. })
    ));
    assert!(matches!(
        store.outbox_depth(),
        Err(StoreError::Decode { tree: "outbox", .. })
    ));
}
