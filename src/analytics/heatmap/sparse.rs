//! The serde form of a side's mass array: dense in human-readable formats (JSON, as it always
//! was), sparse in binary ones (the store's snapshots): only the runs of non-empty bins, each after
//! the count of empty bins before it. Must never change a value: a bin is empty when its bits are
//! those of +0.0, so -0.0, NaN and subnormals round-trip as they are.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Sparse form: the array's length and its runs of non-empty bins, `(empty bins skipped, values)`.
type Runs<'a> = (u32, Vec<(u32, &'a [f32])>);
type OwnedRuns = (u32, Vec<(u32, Vec<f32>)>);

fn is_empty(v: f32) -> bool {
    v.to_bits() == 0
}

pub(super) fn serialize<S: Serializer>(stored: &[f32], s: S) -> Result<S::Ok, S::Error> {
    if s.is_human_readable() {
        return stored.serialize(s);
    }
    let len = u32::try_from(stored.len()).map_err(serde::ser::Error::custom)?;
    let mut runs = Vec::new();
    let (mut i, mut end) = (0, 0);
    while i < stored.len() {
        if is_empty(stored[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < stored.len() && !is_empty(stored[i]) {
            i += 1;
        }
        // Both fit: they are below `len`, a u32.
        runs.push(((start - end) as u32, &stored[start..i]));
        end = i;
    }
    let sparse: Runs<'_> = (len, runs);
    sparse.serialize(s)
}

pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
    if d.is_human_readable() {
        return Vec::deserialize(d);
    }
    let (len, runs) = OwnedRuns::deserialize(d)?;
    let mut stored = vec![0.0f32; len as usize];
    let mut at = 0usize;
    for (skip, values) in runs {
        let start = at.saturating_add(skip as usize);
        let end = start.saturating_add(values.len());
        let Some(bins) = stored.get_mut(start..end) else {
            return Err(D::Error::custom(format!(
                "a run of mass bins ends at {end}, past the window of {len}"
            )));
        };
        bins.copy_from_slice(&values);
        at = end;
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    /// A mass array in the two serde forms.
    #[derive(Debug, Serialize, Deserialize)]
    struct Side(#[serde(with = "super")] Vec<f32>);

    /// (case, non-empty bins as (index, value), length)
    type Case<'a> = (&'a str, &'a [(usize, f32)], usize);

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn arrays_round_trip_bit_exactly_in_both_forms() {
        let sub = f32::from_bits(1);
        let cases: [Case<'_>; 6] = [
            ("empty", &[], 2048),
            (
                "one run inside",
                &[(100, 1.5), (101, 2.5), (102, 1e-30)],
                2048,
            ),
            ("both ends", &[(0, 3.0), (1, 4.0), (2047, 5.0)], 2048),
            (
                "-0.0, NaN, inf, subnormal",
                &[(5, -0.0), (9, f32::NAN), (10, f32::INFINITY), (11, sub)],
                16,
            ),
            ("every bin", &[(0, 1.0), (1, 2.0), (2, 3.0)], 3),
            ("no bins", &[], 0),
        ];
        for (case, full, len) in cases {
            let mut stored = vec![0.0f32; len];
            for (i, v) in full {
                stored[*i] = *v;
            }
            let binary = postcard::to_allocvec(&Side(stored.clone())).unwrap();
            let back: Side = postcard::from_bytes(&binary).unwrap();
            assert_eq!(bits(&back.0), bits(&stored), "{case}");
            // Sparse: the length, the run count, and per run its skip, length and values.
            assert!(
                binary.len() <= 4 + full.len() * 7,
                "{case}: {} bytes",
                binary.len()
            );
            let json = serde_json::to_string(&Side(stored.clone())).unwrap();
            assert_eq!(
                json,
                serde_json::to_string(&stored).unwrap(),
                "{case}: JSON stays dense"
            );
        }
    }

    #[test]
    fn a_run_past_the_window_is_refused() {
        let binary = postcard::to_allocvec(&Side(vec![0.0, 0.0, 7.0])).unwrap();
        // Length 3, one run after 2 empty bins: claim a length of 2 instead.
        assert_eq!(binary[..3], [3, 1, 2]);
        let mut short = binary.clone();
        short[0] = 2;
        let err = postcard::from_bytes::<Side>(&short).unwrap_err();
        assert!(matches!(err, postcard::Error::SerdeDeCustom), "{err:?}");
    }
}
