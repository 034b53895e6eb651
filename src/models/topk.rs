//! Bounded top-k selection with recodb's tie rule: higher score first, and equal scores in ascending
//! item id order (so results are deterministic and equal to a full sort's).
//!
//! One pass over the scores keeps the `k` best in a heap whose top is the worst of them. Once the heap
//! is full, an item costs one compare against that worst score; only an item that beats it is asked
//! whether it may be ranked at all (`keep`, e.g. "not already seen") and enters the heap. Items come in
//! ascending id order, so an item whose score equals the worst kept one never beats it (the kept one has
//! the lower id), which is the tie rule.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// The order of `(item, score)` pairs: score descending, then id ascending. NaN scores sort last.
pub fn rank_order(a: &(u32, f32), b: &(u32, f32)) -> Ordering {
    b.1.partial_cmp(&a.1).unwrap_or_else(|| a.1.is_nan().cmp(&b.1.is_nan())).then(a.0.cmp(&b.0))
}

/// An `(item, score)` pair ordered by [`rank_order`]: the greater ranks later (is worse).
struct Ranked((u32, f32));

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ranked {}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        rank_order(&self.0, &other.0)
    }
}

/// Whether a later item scoring `score` ranks before the kept item scoring `worst`: a higher score, or
/// any number against a NaN.
fn beats(score: f32, worst: f32) -> bool {
    score > worst || (worst.is_nan() && !score.is_nan())
}

/// The `k` best items among those `keep` accepts, best first, in O(n) compares plus O(log k) for each
/// item that enters the running top k; `keep` is called only for items that would enter it.
pub fn top_k(scores: &[f32], k: usize, keep: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
    if k == 0 {
        return Vec::new();
    }
    let mut heap: BinaryHeap<Ranked> = BinaryHeap::with_capacity(k + 1);
    let mut items = scores.iter().enumerate().map(|(i, &s)| (i as u32, s));
    for (i, s) in items.by_ref() {
        if keep(i) {
            heap.push(Ranked((i, s)));
            if heap.len() == k {
                break;
            }
        }
    }
    if heap.len() == k {
        let mut worst = heap.peek().map_or(f32::NAN, |w| w.0 .1);
        for (i, s) in items {
            if beats(s, worst) && keep(i) {
                if let Some(mut top) = heap.peek_mut() {
                    *top = Ranked((i, s));
                }
                worst = heap.peek().map_or(f32::NAN, |w| w.0 .1);
            }
        }
    }
    heap.into_sorted_vec().into_iter().map(|r| r.0).collect()
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
        for k in [1, 5, 13, 100, 499, 500, 600] {
            assert_eq!(top_k(&scores, k, |_| true), full[..k.min(500)].to_vec(), "k = {k}");
        }
    }
}
