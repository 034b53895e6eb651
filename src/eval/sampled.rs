//! The sampled protocol many papers report (He et al., NCF): each test item is ranked against `n`
//! items sampled uniformly from those the user has in neither training nor test, and
//! `HR@K = 1 if rank ≤ K`, `NDCG@K = 1 / log2(rank + 1) if rank ≤ K`, `MRR@K = 1 / rank if rank ≤ K`,
//! averaged over (user, test item) pairs. Its figures are far higher than full ranking's and not
//! comparable with them; recodb labels them `sampled_*`.

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// The 1-based rank of `target` among itself and `negatives` under recodb's tie rule: a negative
/// ranks ahead when its score is higher, or equal with a lower item id.
pub fn rank_among(scores: &[f32], target: u32, negatives: &[u32]) -> usize {
    let score = |i: u32| scores.get(i as usize).copied().unwrap_or(f32::NEG_INFINITY);
    let t = score(target);
    1 + negatives.iter().filter(|&&j| score(j) > t || (score(j) == t && j < target)).count()
}

/// Up to `count` distinct items below `n_items` that `excluded` rejects none of, of which there are
/// `pool`, sampled uniformly with a generator seeded by `seed` and `stream` (the caller's (user, test
/// item) pair, so a sample does not depend on the thread that draws it). All of them when the pool
/// is no larger than `count`.
pub fn sample_negatives(
    seed: u64,
    stream: u64,
    n_items: u32,
    pool: usize,
    count: usize,
    excluded: impl Fn(u32) -> bool,
) -> Vec<u32> {
    if pool <= count {
        return (0..n_items).filter(|&i| !excluded(i)).collect();
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut chosen = Vec::with_capacity(count);
    // Rejection sampling: with at least `count + 1` allowed items, each draw succeeds with probability
    // at least (pool - chosen) / n_items.
    while chosen.len() < count {
        let i = rng.random_range(0..n_items);
        if !excluded(i) && !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    chosen
}

/// Sums of the sampled metrics at one cut-off over (user, test item) pairs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SampledSummary {
    /// Pairs added.
    pub pairs: usize,
    hr: f64,
    ndcg: f64,
    mrr: f64,
}

impl SampledSummary {
    /// Adds one pair whose test item ranked `rank` (1-based; `None` for an item that cannot be ranked).
    pub fn add(&mut self, rank: Option<usize>, k: usize) {
        self.pairs += 1;
        if let Some(rank) = rank.filter(|&r| r <= k) {
            self.hr += 1.0;
            self.ndcg += 1.0 / ((rank + 1) as f64).log2();
            self.mrr += 1.0 / rank as f64;
        }
    }

    /// Merges another summary of the same cut-off.
    pub fn merge(&mut self, other: SampledSummary) {
        self.pairs += other.pairs;
        self.hr += other.hr;
        self.ndcg += other.ndcg;
        self.mrr += other.mrr;
    }

    /// Mean HR, NDCG and MRR over the pairs (zeros when there are none).
    pub fn averages(&self) -> (f64, f64, f64) {
        if self.pairs == 0 {
            return (0.0, 0.0, 0.0);
        }
        let n = self.pairs as f64;
        (self.hr / n, self.ndcg / n, self.mrr / n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_counts_better_negatives_and_ties_to_lower_ids() {
        let scores = [0.5, 0.9, 0.5, 0.1, 0.7];
        assert_eq!(rank_among(&scores, 2, &[3, 1, 4]), 3, "1 and 4 score higher");
        assert_eq!(rank_among(&scores, 2, &[0]), 2, "item 0 ties with a lower id");
        assert_eq!(rank_among(&scores, 0, &[2]), 1, "item 2 ties with a higher id");
        assert_eq!(rank_among(&scores, 1, &[]), 1);
    }

    #[test]
    fn hand_computed_summary() {
        let mut s = SampledSummary::default();
        s.add(Some(1), 10);
        s.add(Some(3), 10);
        s.add(Some(11), 10);
        s.add(None, 10);
        let (hr, ndcg, mrr) = s.averages();
        assert!((hr - 0.5).abs() < 1e-12);
        assert!((ndcg - (1.0 + 0.5) / 4.0).abs() < 1e-12, "1/log2(2) + 1/log2(4)");
        assert!((mrr - (1.0 + 1.0 / 3.0) / 4.0).abs() < 1e-12);
        assert_eq!(SampledSummary::default().averages(), (0.0, 0.0, 0.0));
    }

    #[test]
    fn negatives_are_distinct_allowed_and_reproducible() {
        let excluded = |i: u32| i.is_multiple_of(3);
        let a = sample_negatives(7, 42, 1000, 666, 100, excluded);
        assert_eq!(a.len(), 100);
        assert!(a.iter().all(|&i| !excluded(i) && i < 1000));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 100, "distinct");
        assert_eq!(sample_negatives(7, 42, 1000, 666, 100, excluded), a, "same seed and stream, same sample");
        assert_ne!(sample_negatives(7, 43, 1000, 666, 100, excluded), a, "another stream, another sample");
        assert_eq!(sample_negatives(1, 1, 10, 6, 100, excluded), vec![1, 2, 4, 5, 7, 8], "the whole pool");
    }
}
