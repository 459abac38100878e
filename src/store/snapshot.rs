//! The encoding of pair snapshots in the `pairs` tree: a format byte, then a postcard payload
//! (schema 3); a value that opens with `{` is a JSON snapshot of schema 1, read as it always was.
//! Must never look inside a snapshot: the types decide their own serde form.
//!
//! postcard writes f64 and f32 as their raw IEEE bits (NaN payloads, infinities and -0.0
//! restore bit-exactly) and integers as varints. It is not self-describing, so a snapshot's
//! types must not use `#[serde(flatten)]`, `skip_serializing_if`, untagged or internally tagged
//! enums (each needs `deserialize_any` or omits a field); the tests round-trip a real pair.
//! Types may still differ between the two forms through `is_human_readable` (JSON: true,
//! postcard: false): the heatmap writes only its non-empty bins that way.

use super::error::decode_error;
use super::{PAIRS, Snapshot, StoreError};

/// The first byte of a binary snapshot: postcard, layout of schema 3.
const POSTCARD: u8 = 0x02;
/// The first byte of a binary snapshot of schema 2, whose layout this build cannot read: the
/// migration to 3 drops them.
pub(super) const POSTCARD_SCHEMA_2: u8 = 0x01;
/// The first byte of every JSON snapshot (an object).
const JSON: u8 = b'{';

/// A pair snapshot as the store writes it: [`POSTCARD`] and the postcard payload. The snapshot's
/// types must not use `#[serde(flatten)]`, `skip_serializing_if` or untagged or internally
/// tagged enums: postcard cannot read them back.
pub fn encode_snapshot<P: Snapshot>(snapshot: &P) -> Result<Vec<u8>, StoreError> {
    postcard::to_extend(snapshot, vec![POSTCARD]).map_err(|e| {
        StoreError::Io(format!(
            "cannot encode the snapshot of {} for the {PAIRS} tree: {e}",
            snapshot.key()
        ))
    })
}

/// A stored pair snapshot, binary or (schema 1) JSON; `key` names it in the error.
pub fn decode_snapshot<P: Snapshot>(key: &[u8], value: &[u8]) -> Result<P, StoreError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        let key = String::from_utf8_lossy(key);
        decode_error(PAIRS, format!("{key}: {what}: {e}"))
    };
    match value.split_first() {
        Some((&POSTCARD, payload)) => match postcard::take_from_bytes::<P>(payload) {
            Ok((snapshot, [])) => Ok(snapshot),
            Ok((_, rest)) => Err(fail(
                "binary snapshot",
                &format!("{} bytes after its end", rest.len()),
            )),
            Err(e) => Err(fail("binary snapshot", &e)),
        },
        Some((&JSON, _)) => serde_json::from_slice(value).map_err(|e| fail("JSON snapshot", &e)),
        Some((&POSTCARD_SCHEMA_2, _)) => Err(fail(
            "binary snapshot of schema 2",
            &"an older layout, dropped when the store migrates",
        )),
        Some((other, _)) => Err(fail("unknown format", &format!("first byte 0x{other:02x}"))),
        None => Err(fail("empty value", &"no format byte")),
    }
}
