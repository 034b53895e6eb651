//! Tag recommendation's evaluation (`EVALUATE m TAGS ...`, docs/evaluation.md §9c): each test user's
//! truth is the set of tags (those [`ItemTags`] holds: carried by an item, under a name prefix) that
//! its test items carry; a model ranks every such tag by its score for the user's point ([`FromTags`],
//! [`TagPoints::scores`]), the most-frequent-tags baseline by how many of the user's training items
//! carry it (equal counts in a seeded random order), and Precision@K, Recall@K and NDCG@K of the metric
//! functions of §5 are averaged over the users.

use rayon::prelude::*;
use recodb_storage::Snapshot;

use super::cold::{ranked_with_seeded_ties, tag_counts, ItemTags};
use super::metrics::{user_metrics, UserMetrics};
use super::test_set::TestUser;
use crate::models::topk::rank_order;
use crate::models::{FromTags, Similarity, TagPoints};

/// One test user of tag recommendation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagUser {
    /// The user's id (`None` for a user the database does not have: it gets an empty list).
    pub user: Option<u32>,
    /// Its training items, ascending.
    pub seen: Vec<u32>,
    /// The tags (numbers of [`ItemTags`]) its test items carry, ascending, at least one.
    pub truth: Vec<u32>,
}

/// The test users of `tests` whose test items carry at least one tag of `tags`, with their training
/// items in `train`; and how many test users were left out for carrying none.
pub fn test_users(tests: &[TestUser], tags: &ItemTags, train: &Snapshot) -> (Vec<TagUser>, usize) {
    let mut users = Vec::with_capacity(tests.len());
    for t in tests {
        let mut truth: Vec<u32> =
            t.items.iter().flatten().filter_map(|&i| tags.rows.get(i as usize)).flatten().copied().collect();
        truth.sort_unstable();
        truth.dedup();
        if !truth.is_empty() {
            let seen = t.user.map_or_else(Vec::new, |u| train.row(u).to_vec());
            users.push(TagUser { user: t.user, seen, truth });
        }
    }
    let left_out = tests.len() - users.len();
    (users, left_out)
}

/// What orders the tags for a user.
#[derive(Clone, Copy)]
pub enum Ranker<'a> {
    /// A model's tag points: tag `k` is the model's item tag id `ids[k]`; a tag the model has no point
    /// for ranks last.
    Model {
        /// Where the model places users.
        model: &'a dyn FromTags,
        /// Where it places tags.
        points: &'a TagPoints,
        /// The model's (the store's) tag id of each tag.
        ids: &'a [u32],
    },
    /// The user's most frequent tags: `tags[i]` are the tags of item `i`; equal counts in the random
    /// order of the seed.
    Frequent(&'a [Vec<u32>], u64),
}

impl Ranker<'_> {
    /// The user's ranking of tags `0..n_tags`, best first (a model's equal scores in ascending tag
    /// number, the baseline's equal counts in the random order of its seed).
    fn ranking(&self, user: u32, seen: &[u32], n_tags: usize) -> Vec<u32> {
        let mut scores = vec![f32::NEG_INFINITY; n_tags];
        match *self {
            Ranker::Model { model, points, ids } => {
                if let Some(point) = model.point(Similarity::User(user, seen)) {
                    points.scores(&point, ids, &mut scores);
                }
                let mut pairs: Vec<(u32, f32)> = (0..n_tags as u32).zip(scores).collect();
                pairs.sort_unstable_by(rank_order);
                pairs.into_iter().map(|(k, _)| k).collect()
            }
            Ranker::Frequent(tags, seed) => {
                let counts = tag_counts(tags, seen);
                let sums = (0..n_tags as u32).map(|k| (k, counts.get(&k).copied().unwrap_or(0.0)));
                ranked_with_seeded_ties(sums, seed, user)
            }
        }
    }
}

/// Mean Precision@K, Recall@K and NDCG@K over the users, one per cut-off.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TagReport {
    /// Mean `hits / K`.
    pub precision: Vec<f64>,
    /// Mean `hits / |truth|`.
    pub recall: Vec<f64>,
    /// Mean NDCG with binary relevance.
    pub ndcg: Vec<f64>,
}

/// Evaluates `ranker` on `users` (ranking tags `0..n_tags`) at `cutoffs`; a user the database does not
/// have scores 0 and counts in the means.
pub fn evaluate(ranker: Ranker<'_>, users: &[TagUser], n_tags: usize, cutoffs: &[usize]) -> TagReport {
    let per_user: Vec<Vec<UserMetrics>> = users
        .par_iter()
        .map(|u| {
            let ranked = u.user.map_or_else(Vec::new, |id| ranker.ranking(id, &u.seen, n_tags));
            let is_truth = |k: u32| u.truth.binary_search(&k).is_ok();
            cutoffs.iter().map(|&k| user_metrics(&ranked, is_truth, u.truth.len(), k)).collect()
        })
        .collect();
    let mean = |pick: fn(&UserMetrics) -> f64, c: usize| {
        let sum: f64 = per_user.iter().map(|m| pick(&m[c])).sum();
        if users.is_empty() {
            0.0
        } else {
            sum / users.len() as f64
        }
    };
    let each = |pick: fn(&UserMetrics) -> f64| (0..cutoffs.len()).map(|c| mean(pick, c)).collect();
    TagReport { precision: each(|m| m.precision), recall: each(|m| m.recall), ndcg: each(|m| m.ndcg) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items 0..4 with tags {0}, {0, 1}, {2}, {1}: a user who has items 0, 1 and 3 counts tag 0 twice,
    /// tag 1 twice, tag 2 never.
    fn rows() -> Vec<Vec<u32>> {
        vec![vec![0], vec![0, 1], vec![2], vec![1]]
    }

    #[test]
    fn the_frequent_baseline_ranks_by_count_with_seeded_ties() {
        let rows = rows();
        let ranking = Ranker::Frequent(&rows, 5).ranking(9, &[0, 1, 3], 3);
        assert_eq!(ranking[2], 2, "the tag never seen last: {ranking:?}");
        let ranking = Ranker::Frequent(&rows, 5).ranking(9, &[1, 3], 3);
        assert_eq!(ranking, vec![1, 0, 2], "tag 1 twice, tag 0 once");
        // The order of equal counts depends on the seed and the user, and is the same every time.
        let orders: std::collections::BTreeSet<Vec<u32>> =
            (0..32).map(|seed| Ranker::Frequent(&rows, seed).ranking(9, &[0, 1, 3], 3)).collect();
        assert_eq!(orders.len(), 2, "{orders:?}");
        assert_eq!(
            Ranker::Frequent(&rows, 5).ranking(9, &[0, 1, 3], 3),
            Ranker::Frequent(&rows, 5).ranking(9, &[0, 1, 3], 3)
        );
    }

    #[test]
    fn truth_is_the_tags_of_the_test_items_and_metrics_are_hand_computed() {
        let tags = ItemTags { names: vec!["a".into(), "b".into(), "c".into()], rows: rows() };
        let train = Snapshot {
            n_users: 3,
            n_items: 4,
            indptr: vec![0, 2, 3, 3],
            indices: vec![1, 3, 0],
            weights: None,
            data_version: 0,
            user_tags: Default::default(),
            item_tags: Default::default(),
        };
        let tests = [
            // User 0 (trained on 1 and 3: tags 0, 1, 1) tests item 2: truth {2}.
            TestUser { user: Some(0), items: vec![Some(2)] },
            // User 1 (trained on 0) tests items 1 and an unknown one: truth {0, 1}.
            TestUser { user: Some(1), items: vec![Some(1), None] },
            // User 2's only test item is unknown: no truth, left out.
            TestUser { user: Some(2), items: vec![None] },
            // A user the database does not have, with truth {0}: zeros.
            TestUser { user: None, items: vec![Some(0)] },
        ];
        let (users, left_out) = test_users(&tests, &tags, &train);
        assert_eq!(left_out, 1);
        let truths: Vec<&[u32]> = users.iter().map(|u| u.truth.as_slice()).collect();
        assert_eq!(truths, [&[2][..], &[0, 1], &[0]]);
        assert_eq!(users[0].seen, [1, 3]);

        // User 0 ranks 1, 0, 2 (tag 2 never seen): no hit at 1 or 2, a hit at 3. User 1 ranks 0 first
        // (once), then 1 and 2 (never, in a seeded order): a hit at 1, two by 3.
        let report = evaluate(Ranker::Frequent(&tags.rows, 0), &users, 3, &[1, 3]);
        let third = 1.0 / 3.0;
        let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
        assert!(close(&report.precision, &[third, (third + 2.0 * third) / 3.0]), "{report:?}");
        assert!(close(&report.recall, &[0.5 / 3.0, (1.0 + 1.0) / 3.0]), "{report:?}");
    }
}
