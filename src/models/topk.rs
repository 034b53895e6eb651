//! Bounded top-k selection with recodb's tie rule: higher score first, and equal scores in ascending
//! item id order (so results are deterministic and equal to a full sort's).

use std::cmp::Ordering;

/// The order of `(item, score)` pairs: score descending, then id ascending. NaN scores sort last.
pub fn rank_order(a: &(u32, f32), b: &(u32, f32)) -> Ordering {
    b.1.partial_cmp(&a.1).unwrap_or_else(|| a.1.is_nan().cmp(&b.1.is_nan())).then(a.0.cmp(&b.0))
}

/// The `k` best items among those `keep` accepts, best first, in O(n) plus O(k log k).
pub fn top_k(scores: &[f32], k: usize, keep: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
    let mut candidates: Vec<(u32, f32)> =
        scores.iter().enumerate().map(|(i, &s)| (i as u32, s)).filter(|&(i, _)| keep(i)).collect();
    if k == 0 {
        return Vec::new();
    }
    if candidates.len() > k {
        candidates.select_nth_unstable_by(k - 1, rank_order);
        candidates.truncate(k);
    }
    candidates.sort_unstable_by(rank_order);
    candidates
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

    #[test]
    fn equals_a_full_sort() {
        let scores: Vec<f32> = (0..500u32).map(|i| ((i * 7919) % 13) as f32).collect();
        let mut full: Vec<(u32, f32)> = scores.iter().enumerate().map(|(i, &s)| (i as u32, s)).collect();
        full.sort_by(rank_order);
        for k in [1, 5, 13, 100, 499, 500, 600] {
            assert_eq!(top_k(&scores, k, |_| true), full[..k.min(500)].to_vec(), "k = {k}");
        }
    }
}
