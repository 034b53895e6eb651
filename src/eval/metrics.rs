//! Top-K ranking metrics with the definitions of docs/evaluation.md §5-§6.
//!
//! For a user with test items `T` (all of them, including items the database has never seen, which can
//! never be hit) and a ranked list `L`, at cut-off `K`:
//! `Recall = hits / |T|`, `Precision = hits / K`, `HR = 1 if hits > 0`, `NDCG = DCG / IDCG` with binary
//! relevance, discount `1 / log2(rank + 1)` and IDCG over `min(K, |T|)` items, `MRR = 1 / rank` of the
//! first hit (0 if none). Averages are over users with at least one test item. Across users:
//! `Coverage = distinct items recommended / all items`, and `Novelty` as the CoRML paper's Eq. 29:
//! the mean over users and their top-K items of `-log2(d_i / |U|) / log2 |U|`, where `d_i` is the
//! number of training users of item `i` (an item no training user has counts as 1) and `|U|` the
//! number of users; 0 means only items everyone has, 1 only items one user has.

use std::collections::HashSet;

/// The metrics of one user at one cut-off.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct UserMetrics {
    /// Test items within the top K.
    pub hits: usize,
    /// `hits / |T|`.
    pub recall: f64,
    /// `hits / K`.
    pub precision: f64,
    /// 1 if any test item is within the top K.
    pub hit_rate: f64,
    /// Normalised discounted cumulative gain.
    pub ndcg: f64,
    /// Reciprocal rank of the first hit within the top K.
    pub mrr: f64,
}

/// `1 / log2(rank + 1)` for a 1-based rank.
fn discount(rank: usize) -> f64 {
    1.0 / ((rank + 1) as f64).log2()
}

/// The metrics of one user: `ranked` is the recommendation list (best first; only its first `k` count),
/// `is_test` says whether an item is one of the user's test items, `test_count` is `|T|` (at least 1).
pub fn user_metrics(
    ranked: &[u32],
    is_test: impl Fn(u32) -> bool,
    test_count: usize,
    k: usize,
) -> UserMetrics {
    if test_count == 0 || k == 0 {
        return UserMetrics::default();
    }
    let mut m = UserMetrics::default();
    let mut dcg = 0.0;
    for (i, &item) in ranked.iter().take(k).enumerate() {
        if is_test(item) {
            m.hits += 1;
            dcg += discount(i + 1);
            if m.mrr == 0.0 {
                m.mrr = 1.0 / (i + 1) as f64;
            }
        }
    }
    let idcg: f64 = (1..=k.min(test_count)).map(discount).sum();
    m.recall = m.hits as f64 / test_count as f64;
    m.precision = m.hits as f64 / k as f64;
    m.hit_rate = if m.hits > 0 { 1.0 } else { 0.0 };
    m.ndcg = dcg / idcg;
    m
}

/// Averages of every metric at one cut-off over the users added to it.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    users: usize,
    sums: UserMetrics,
    recommended: HashSet<u32>,
    novelty_sum: f64,
    novelty_count: usize,
}

/// The averaged metrics at one cut-off.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Averages {
    /// Users averaged over.
    pub users: usize,
    /// Mean recall.
    pub recall: f64,
    /// Mean precision.
    pub precision: f64,
    /// Mean hit rate.
    pub hit_rate: f64,
    /// Mean NDCG.
    pub ndcg: f64,
    /// Mean reciprocal rank.
    pub mrr: f64,
    /// Distinct recommended items over all items.
    pub coverage: f64,
    /// CoRML Eq. 29 novelty (see the module doc).
    pub novelty: f64,
}

impl Summary {
    /// Adds one user's list: `ranked` (its first `k` items count for coverage and novelty), the user's
    /// metrics, and `popularity(i)`, the number of training users of item `i`, with `n_users` users.
    pub fn add(
        &mut self,
        ranked: &[u32],
        k: usize,
        m: &UserMetrics,
        popularity: impl Fn(u32) -> u64,
        n_users: u64,
    ) {
        self.users += 1;
        self.sums.recall += m.recall;
        self.sums.precision += m.precision;
        self.sums.hit_rate += m.hit_rate;
        self.sums.ndcg += m.ndcg;
        self.sums.mrr += m.mrr;
        let log_users = (n_users.max(2) as f64).log2();
        for &item in ranked.iter().take(k) {
            self.recommended.insert(item);
            let share = popularity(item).max(1) as f64 / n_users.max(1) as f64;
            self.novelty_sum += -share.log2() / log_users;
            self.novelty_count += 1;
        }
    }

    /// Merges another summary of the same cut-off (for parallel evaluation).
    pub fn merge(&mut self, other: Summary) {
        self.users += other.users;
        self.sums.recall += other.sums.recall;
        self.sums.precision += other.sums.precision;
        self.sums.hit_rate += other.sums.hit_rate;
        self.sums.ndcg += other.sums.ndcg;
        self.sums.mrr += other.sums.mrr;
        self.recommended.extend(other.recommended);
        self.novelty_sum += other.novelty_sum;
        self.novelty_count += other.novelty_count;
    }

    /// The averages, with coverage relative to `n_items`.
    pub fn averages(&self, n_items: usize) -> Averages {
        let per_user = |sum: f64| if self.users > 0 { sum / self.users as f64 } else { 0.0 };
        Averages {
            users: self.users,
            recall: per_user(self.sums.recall),
            precision: per_user(self.sums.precision),
            hit_rate: per_user(self.sums.hit_rate),
            ndcg: per_user(self.sums.ndcg),
            mrr: per_user(self.sums.mrr),
            coverage: if n_items > 0 { self.recommended.len() as f64 / n_items as f64 } else { 0.0 },
            novelty: if self.novelty_count > 0 { self.novelty_sum / self.novelty_count as f64 } else { 0.0 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    fn metrics(ranked: &[u32], test: &[u32], test_count: usize, k: usize) -> UserMetrics {
        user_metrics(ranked, |i| test.contains(&i), test_count, k)
    }

    #[test]
    fn hand_computed_example() {
        // Test items {2, 5, 9}; list 7 2 3 5 at K = 4: hits at ranks 2 and 4.
        let m = metrics(&[7, 2, 3, 5], &[2, 5, 9], 3, 4);
        assert_eq!(m.hits, 2);
        assert!(close(m.recall, 2.0 / 3.0));
        assert!(close(m.precision, 0.5));
        assert!(close(m.hit_rate, 1.0));
        assert!(close(m.mrr, 0.5));
        let dcg = 1.0 / 3f64.log2() + 1.0 / 5f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2() + 1.0 / 4f64.log2();
        assert!(close(m.ndcg, dcg / idcg), "{} vs {}", m.ndcg, dcg / idcg);
    }

    #[test]
    fn fewer_test_items_than_k_use_a_shorter_ideal_list() {
        // One test item at rank 1 of a K = 10 list: a perfect NDCG, recall 1, precision 1/10.
        let m = metrics(&[4, 1, 2], &[4], 1, 10);
        assert!(close(m.ndcg, 1.0));
        assert!(close(m.recall, 1.0));
        assert!(close(m.precision, 0.1));
    }

    #[test]
    fn unknown_test_items_count_but_can_never_be_hit() {
        // Two test items, one of which the model can never rank: recall is at most 1/2.
        let m = metrics(&[1, 2], &[1], 2, 2);
        assert!(close(m.recall, 0.5));
        assert!(close(m.ndcg, 1.0 / (1.0 + 1.0 / 3f64.log2())));
    }

    #[test]
    fn empty_lists_and_misses_score_zero() {
        assert_eq!(metrics(&[], &[1], 1, 10), UserMetrics { hits: 0, ..Default::default() });
        let m = metrics(&[3, 4], &[1], 1, 2);
        assert_eq!((m.hits, m.mrr, m.ndcg, m.hit_rate), (0, 0.0, 0.0, 0.0));
        assert_eq!(metrics(&[1], &[1], 0, 10), UserMetrics::default(), "no test items: nothing to measure");
        // Items beyond K do not count.
        assert_eq!(metrics(&[3, 4, 1], &[1], 1, 2).hits, 0);
    }

    #[test]
    fn ties_are_whatever_order_the_list_has() {
        // The metrics read the list as given: the model's tie rule decides the order before this.
        assert!(metrics(&[1, 2], &[2], 1, 1).hits == 0);
        assert!(metrics(&[2, 1], &[2], 1, 1).hits == 1);
    }

    #[test]
    fn summaries_average_merge_and_measure_coverage_and_novelty() {
        let pop = |i: u32| if i == 0 { 8 } else { 1 };
        let mut a = Summary::default();
        a.add(&[0, 1], 2, &metrics(&[0, 1], &[0], 1, 2), pop, 8);
        let mut b = Summary::default();
        b.add(&[0, 2], 2, &metrics(&[0, 2], &[9], 1, 2), pop, 8);
        a.merge(b);
        let avg = a.averages(4);
        assert_eq!(avg.users, 2);
        assert!(close(avg.recall, 0.5));
        assert!(close(avg.hit_rate, 0.5));
        assert!(close(avg.coverage, 3.0 / 4.0));
        // Item 0 is everyone's (novelty 0), items 1 and 2 one user's (novelty 1): mean 0.5.
        assert!(close(avg.novelty, 0.5));
        assert_eq!(Summary::default().averages(0), Averages::default());
    }
}
