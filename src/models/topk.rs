//! Bounded top-k selection with recodb's tie rule: higher score first, and equal scores in ascending
//! item id order (so results are deterministic and equal to a full sort's).
//!
//! One pass over the scores keeps a buffer of the best so far. Once the buffer has been cut to the `k`
//! best, an item costs one compare against the k-th of them; only an item that beats it is asked
//! whether it may be ranked at all (`keep`, e.g. "not already seen"). Items come in ascending id order,
//! so an item whose score equals the k-th kept one never beats it (the kept one has the lower id),
//! which is the tie rule.

use std::cmp::Ordering;

/// The order of `(item, score)` pairs: score descending, then id ascending. NaN scores sort last.
pub fn rank_order(a: &(u32, f32), b: &(u32, f32)) -> Ordering {
    b.1.partial_cmp(&a.1).unwrap_or_else(|| a.1.is_nan().cmp(&b.1.is_nan())).then(a.0.cmp(&b.0))
}

/// The `k` best items among those `keep` accepts, best first: one comparison with the running k-th
/// best for most items (`keep` is asked only of those that pass it), plus O(k log k) at the end.
pub fn top_k(scores: &[f32], k: usize, keep: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
    if k == 0 {
        return Vec::new();
    }
    let capacity = (2 * k).max(64).min(scores.len());
    let mut best: Vec<(u32, f32)> = Vec::with_capacity(capacity);
    // The k-th best of the items seen so far, once `best` has been cut to `k`: a later item (higher
    // id) must score strictly above it to enter.
    let mut floor: Option<f32> = None;
    let enters = |s: f32, floor: Option<f32>| match floor {
        None => true,
        Some(f) if f.is_nan() => !s.is_nan(),
        Some(f) => s > f,
    };
    for (i, &s) in scores.iter().enumerate() {
        if !enters(s, floor) || !keep(i as u32) {
            continue;
        }
        if best.len() == capacity {
            best.select_nth_unstable_by(k - 1, rank_order);
            best.truncate(k);
            floor = Some(best[k - 1].1);
            if !enters(s, floor) {
                continue;
            }
        }
        best.push((i as u32, s));
    }
    best_of(best, k)
}

/// The `k` best of `pairs`, best first (by [`rank_order`]), in O(n) plus O(k log k).
pub fn best_of(mut pairs: Vec<(u32, f32)>, k: usize) -> Vec<(u32, f32)> {
    if k == 0 {
        return Vec::new();
    }
    if pairs.len() > k {
        pairs.select_nth_unstable_by(k - 1, rank_order);
        pairs.truncate(k);
    }
    pairs.sort_unstable_by(rank_order);
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_to_the_lower_id_and_filters_apply() {
        let scores = [1.0, 3.0, 3.0, 2.0, 3.0];
        assert_eq!(top_k(&scores, 3, |_| true), vec![(1, 3.0), (2, 3.0), (4, 3.0)]);
        assert_eq!(top_k(&scores, 2, |i| i != 1), vec![(2, 3.0), (4, 3.0)]);
        assert_eq!(top_k(&scores, 10, |i| i % 2 == 0).len(), 3);
        assert!(top_k(&scores, 0, |_| true).is_empty());
        let with_nan = top_k(&[f32::NAN, 0.5], 2, |_| true);
        assert_eq!(with_nan[0], (1, 0.5));
        assert!(with_nan[1].0 == 0 && with_nan[1].1.is_nan(), "NaN sorts last");
    }

    /// The selection equals filtering then sorting everything, on scores with many ties and NaNs.
    #[test]
    fn equals_filtering_and_a_full_sort_with_ties_and_nans() {
        for seed in 0..40u32 {
            let scores: Vec<f32> = (0..300u32)
                .map(|i| match (i.wrapping_mul(2_654_435_761) ^ seed.wrapping_mul(40_503)) % 17 {
                    0 => f32::NAN,
                    r => (r % 6) as f32 - 2.0,
                })
                .collect();
            let keep = |i: u32| !(i + seed).is_multiple_of(5);
            let mut full: Vec<(u32, f32)> =
                scores.iter().enumerate().map(|(i, &s)| (i as u32, s)).filter(|p| keep(p.0)).collect();
            full.sort_by(rank_order);
            for k in [1, 2, 7, 50, 239, 240, 241, 400] {
                let got = top_k(&scores, k, keep);
                let want = &full[..k.min(full.len())];
                let same = got.len() == want.len()
                    && got.iter().zip(want).all(|(a, b)| a.0 == b.0 && a.1.to_bits() == b.1.to_bits());
                assert!(same, "seed {seed}, k = {k}: {got:?} != {want:?}");
            }
        }
    }

    #[test]
    fn equals_a_full_sort() {
        let scores: Vec<f32> = (0..500u32).map(|i| ((i * 7919) % 13) as f32).collect();
        let mut full: Vec<(u32, f32)> = scores.iter().enumerate().map(|(i, &s)| (i as u32, s)).collect();
        full.sort_by(rank_order);
        for k in [1, 5, 13, 31, 100, 499, 500, 600] {
            assert_eq!(top_k(&scores, k, |_| true), full[..k.min(500)].to_vec(), "k = {k}");
        }
        // Rising scores replace the running best again and again; NaNs and filters on the way.
        let rising: Vec<f32> =
            (0..2000u32).map(|i| if i % 97 == 0 { f32::NAN } else { (i / 3) as f32 }).collect();
        let keep = |i: u32| !i.is_multiple_of(5);
        let mut full: Vec<(u32, f32)> =
            rising.iter().enumerate().map(|(i, &s)| (i as u32, s)).filter(|&(i, _)| keep(i)).collect();
        full.sort_by(rank_order);
        for k in [1, 7, 40, 1000, 1599, 1600, 5000] {
            let got = top_k(&rising, k, keep);
            assert_eq!(got.len(), k.min(full.len()), "k = {k}");
            for (g, f) in got.iter().zip(&full) {
                assert!(
                    g.0 == f.0 && (g.1 == f.1 || g.1.is_nan() && f.1.is_nan()),
                    "k = {k}: {g:?} against {f:?}"
                );
            }
        }
    }
}
