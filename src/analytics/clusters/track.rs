//! Cluster identity across steps: carries ids and ages from the previous cluster list to the
//! current one. Must never look at masses or prices; it only matches bins, so the same inputs
//! always yield the same ids (alerts de-duplicate on them).

use super::{Cluster, ClusterId};
use crate::model::Side;

/// Gives each cluster of `current` (one side) the id and age of the previous cluster it
/// continues, or a fresh id (its side and peak bin) with age 1.
///
/// A current cluster continues a previous one on the same side when their bin ranges overlap or
/// their peaks are at most `match_bins` apart. Matching is one-to-one, closest peaks first (ties:
/// the older previous cluster, then the cluster nearer to price), so a pool whose near bins are
/// being eaten by price keeps its id while its peak moves. A fresh id that is already taken in
/// this list is moved outward one bin at a time until it is unique.
pub fn assign_ids(previous: &[Cluster], current: &mut [Cluster], match_bins: i32) {
    let mut candidates: Vec<(i32, u32, usize, usize)> = Vec::new(); // (Δpeak, −age, cur, prev)
    for (ci, c) in current.iter().enumerate() {
        for (pi, p) in previous
            .iter()
            .enumerate()
            .filter(|(_, p)| p.side == c.side)
        {
            let dpeak = (c.peak_bin - p.peak_bin).abs();
            if dpeak <= match_bins || overlaps(c, p) {
                candidates.push((dpeak, u32::MAX - p.age_steps, ci, pi));
            }
        }
    }
    candidates.sort_unstable();
    let mut cur_done = vec![false; current.len()];
    let mut prev_done = vec![false; previous.len()];
    for (_, _, ci, pi) in candidates {
        if !cur_done[ci] && !prev_done[pi] {
            cur_done[ci] = true;
            prev_done[pi] = true;
            current[ci].id = previous[pi].id;
            current[ci].age_steps = previous[pi].age_steps.saturating_add(1);
        }
    }
    for ci in 0..current.len() {
        if cur_done[ci] {
            continue;
        }
        let side = current[ci].side;
        let outward = match side {
            Side::Long => -1,
            Side::Short => 1,
        };
        let mut id = ClusterId {
            side,
            bin: current[ci].peak_bin,
        };
        let taken = |id: ClusterId| (0..current.len()).any(|j| cur_done[j] && current[j].id == id);
        while taken(id) {
            id.bin += outward;
        }
        current[ci].id = id;
        current[ci].age_steps = 1;
        cur_done[ci] = true;
    }
}

/// Whether two clusters share at least one bin.
fn overlaps(a: &Cluster, b: &Cluster) -> bool {
    let (alo, ahi) = a.bin_range();
    let (blo, bhi) = b.bin_range();
    alo <= bhi && blo <= ahi
}
