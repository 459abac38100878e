//! Pair snapshots in their binary form: f64 state restores bit-exactly, a store of schema 1
//! (JSON snapshots) opens, migrates and reads them, and a value that does not decode is an error
//! naming its pair. (A real engine's pairs: `tests/it/durable/snapshots.rs`.)

use super::*;

/// A snapshot with the kinds of value pair state holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Floats {
    symbol: String,
    value: f64,
    maybe: Option<f64>,
    ring: std::collections::VecDeque<(i64, f64)>,
}

impl Snapshot for Floats {
    fn key(&self) -> &str {
        &self.symbol
    }
}

fn floats(symbol: &str, value: f64) -> Floats {
    Floats {
        symbol: symbol.to_owned(),
        value,
        maybe: Some(-value),
        ring: [(-1, value), (i64::MAX, 0.1)].into(),
    }
}

#[test]
fn binary_snapshots_restore_f64_bit_exactly() {
    let values = [
        0.0,
        -0.0,
        f64::NAN,
        -f64::NAN,
        f64::from_bits(0x7ff8_0000_dead_beef), // a NaN with a payload
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE / 3.0, // subnormal
        f64::MAX,
        1.0 / 3.0,
        0.1 + 0.2,
    ];
    let pairs: Vec<Floats> = (values.iter().enumerate())
        .map(|(i, v)| floats(&format!("P{i:02}"), *v))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    open(&path)
        .commit(&Commit {
            pairs: &pairs,
            alerts: &[],
            position: None,
        })
        .unwrap();
    let restored: Vec<Floats> = open(&path).pair_snapshots().unwrap();
    let bits = |p: &Floats| {
        let ring = p.ring.iter().map(|(t, v)| (*t, v.to_bits()));
        (
            p.value.to_bits(),
            p.maybe.map(f64::to_bits),
            ring.collect::<Vec<_>>(),
        )
    };
    assert_eq!(restored.len(), pairs.len());
    for (got, want) in restored.iter().zip(&pairs) {
        assert_eq!(got.symbol, want.symbol);
        assert_eq!(bits(got), bits(want), "{}", want.value);
    }
}

/// Sets the store at `path` (closed) back to schema `version` with `value` as the pair `key`'s.
fn as_schema(path: &Path, version: u32, key: &str, value: &[u8]) {
    let raw = sled::open(path).unwrap();
    let meta = raw.open_tree(META).unwrap();
    meta.insert(keys::META_SCHEMA, &version.to_be_bytes())
        .unwrap();
    raw.open_tree(PAIRS).unwrap().insert(key, value).unwrap();
    raw.flush().unwrap();
}

/// The first byte of this build's binary snapshots.
fn binary() -> u8 {
    encode_snapshot(&floats("BTCUSDT", 1.0)).unwrap()[0]
}

fn schema(store: &Store) -> u32 {
    let bytes = store.meta.get(keys::META_SCHEMA).unwrap().unwrap();
    keys::be_u32(&bytes).unwrap()
}

#[test]
fn a_schema_1_store_opens_and_its_json_snapshots_become_binary_on_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    drop(open(&path));
    closed(&path);
    let (old, other) = (floats("OLDUSDT", 1.0 / 7.0), floats("NEWUSDT", 2.5));
    as_schema(&path, 1, "OLDUSDT", &serde_json::to_vec(&old).unwrap());
    {
        // A command that only reads migrates nothing.
        let store = Store::open_existing(&path, CACHE).unwrap();
        assert_eq!(schema(&store), 1);
        assert_eq!(
            store.pair_snapshots::<Floats>().unwrap(),
            std::slice::from_ref(&old)
        );
    }
    closed(&path);
    let store = open(&path);
    assert_eq!(schema(&store), SCHEMA_VERSION);
    assert_eq!(
        store.pair_snapshots::<Floats>().unwrap(),
        std::slice::from_ref(&old)
    );
    let first_byte = |key: &str| store.pairs.get(key).unwrap().map(|v| v[0]);
    assert_eq!(
        first_byte("OLDUSDT"),
        Some(b'{'),
        "rewritten on its next commit only"
    );
    let commit = |pairs: &[Floats]| {
        let commit = Commit {
            pairs,
            alerts: &[],
            position: None,
        };
        store.commit(&commit).unwrap();
    };
    commit(std::slice::from_ref(&other));
    assert_eq!(
        (first_byte("OLDUSDT"), first_byte("NEWUSDT")),
        (Some(b'{'), Some(binary()))
    );
    commit(std::slice::from_ref(&old));
    assert_eq!(first_byte("OLDUSDT"), Some(binary()));
    assert_eq!(store.pair_snapshots::<Floats>().unwrap(), [other, old]);
}

#[test]
fn a_schema_2_store_drops_its_binary_snapshots_and_position_and_keeps_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    {
        let store = open(&path);
        let commit: Commit<Floats> = Commit {
            pairs: &[],
            alerts: &[],
            position: Some(42),
        };
        store.commit(&commit).unwrap();
    }
    closed(&path);
    let kept = floats("OLDUSDT", 0.25);
    as_schema(&path, 2, "OLDUSDT", &serde_json::to_vec(&kept).unwrap());
    as_schema(&path, 2, "BINUSDT", &[0x01, 3, 4, 5]);
    let store = open(&path);
    assert_eq!(schema(&store), SCHEMA_VERSION);
    assert_eq!(store.pair_snapshots::<Floats>().unwrap(), [kept]);
    assert_eq!(store.position().unwrap(), None, "the replay starts over");
}

#[test]
fn a_snapshot_that_does_not_decode_is_an_error_naming_its_pair() {
    let good = encode_snapshot(&floats("BTCUSDT", 1.5)).unwrap();
    let mut trailing = good.clone();
    trailing.push(0);
    // (case, stored value, what the error says after the key)
    let cases: [(&str, &[u8], &str); 7] = [
        ("empty", b"", "empty value"),
        (
            "unknown format",
            &[0x03, 1, 2],
            "unknown format: first byte 0x03",
        ),
        ("truncated", &good[..good.len() - 3], "binary snapshot"),
        (
            "trailing bytes",
            &trailing,
            "binary snapshot: 1 bytes after its end",
        ),
        (
            "bad JSON",
            br#"{"symbol":"BTCUSDT","value":"#,
            "JSON snapshot",
        ),
        ("format byte only", &good[..1], "binary snapshot"),
        ("schema 2", &[0x01, 1, 2], "binary snapshot of schema 2"),
    ];
    for (case, value, says) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        let store = open(&path);
        store.pairs.insert("BTCUSDT", value).unwrap();
        let err = store.pair_snapshots::<Floats>().unwrap_err();
        let StoreError::Decode { tree, detail } = &err else {
            panic!("{case}: {err:?}");
        };
        assert_eq!(*tree, PAIRS, "{case}");
        assert!(
            detail.starts_with(&format!("BTCUSDT: {says}")),
            "{case}: {detail}"
        );
        assert!(
            err.remedy().is_some(),
            "{case}: --reset-state is the way out"
        );
    }
}
