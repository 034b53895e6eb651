//! The evaluation protocols (docs/evaluation.md): full ranking, where each test user's items are ranked
//! against every item the user did not train on, and the sampled protocol many papers report, where each
//! test item is ranked against a few sampled items. A model with binary codes, or a two-stage ranking
//! (`RERANK`), is served per user exactly as RECOMMEND serves it; any other model scores batches of
//! users in one blocked product. Users are evaluated in parallel batches; the result does not depend on
//! the thread count.

use rayon::prelude::*;
use recodb_storage::{RoaringBitmap, Snapshot};

use super::metrics::{user_metrics, Averages, Summary};
use super::sampled::{rank_among, sample_negatives, SampledSummary};
use super::test_set::TestUser;
use crate::error::{Error, Result};
use crate::models::folded::FoldedItems;
use crate::models::topk::top_k;
use crate::models::Model;
use crate::serve::{rerank, retrieve};

/// How test items are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Against every item the user has not trained on (the default).
    Full,
    /// Each test item against `negatives` sampled items the user has not seen.
    Sampled {
        /// Sampled items per test item.
        negatives: usize,
        /// Seed of the sampling.
        seed: u64,
    },
}

/// What ranks the items: a model (with the items folded into it since training, for a binary model)
/// and, for a two-stage ranking, how many of its candidates a second model orders.
#[derive(Clone, Copy)]
pub struct Ranker<'a> {
    /// The model that retrieves.
    pub model: &'a dyn Model,
    /// Items folded into a binary model since training.
    pub folded: Option<&'a FoldedItems>,
    /// `RERANK m USING f`: `m` candidates ordered by model `f`.
    pub rerank: Option<(usize, &'a dyn Model)>,
}

/// The metrics at each cut-off.
#[derive(Debug, Clone, PartialEq)]
pub enum Metrics {
    /// Full-ranking averages, one per cut-off.
    Full(Vec<Averages>),
    /// Sampled-protocol `(HR, NDCG, MRR)`, one per cut-off.
    Sampled(Vec<(f64, f64, f64)>),
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The metrics at each cut-off, in the order the cut-offs were given.
    pub metrics: Metrics,
    /// Test users evaluated.
    pub users: usize,
    /// Test users the database has no training data for (they score zero).
    pub users_without_training_data: usize,
}

/// Test users scored per batch (one blocked product for models with vectors).
const BATCH: usize = 64;

/// What one evaluation thread accumulates: per cut-off, full-ranking summaries or sampled ones (the
/// other list stays untouched).
#[derive(Clone)]
struct Sums {
    full: Vec<Summary>,
    sampled: Vec<SampledSummary>,
}

impl Sums {
    fn new(cutoffs: usize) -> Sums {
        Sums { full: vec![Summary::default(); cutoffs], sampled: vec![SampledSummary::default(); cutoffs] }
    }

    fn merge(mut self, other: Sums) -> Sums {
        self.full.iter_mut().zip(other.full).for_each(|(x, y)| x.merge(y));
        self.sampled.iter_mut().zip(other.sampled).for_each(|(x, y)| x.merge(y));
        self
    }
}

/// Evaluates `ranker` on `tests`, with `train` the visible interactions (each user's are excluded from
/// its ranking), at `cutoffs` (non-empty), under `protocol`; `n_items` is the catalogue size coverage
/// is measured against.
pub fn evaluate(
    ranker: Ranker<'_>,
    tests: &[TestUser],
    train: &Snapshot,
    cutoffs: &[usize],
    protocol: Protocol,
    n_items: usize,
) -> Result<Report> {
    let max_k = cutoffs.iter().copied().max().unwrap_or(0);
    let n_users = u64::from(train.n_users);
    let mut popularity = vec![0u64; train.n_items as usize];
    for &i in &train.indices {
        popularity[i as usize] += 1;
    }
    let model = ranker.model;
    let n_model_items = model.n_items() as usize;
    // Full ranking by a model with binary codes, or in two stages, searches per user as RECOMMEND does;
    // otherwise batches of users are scored.
    let searched = protocol == Protocol::Full && (ranker.rerank.is_some() || model.binary().is_some());
    // A model that ranks without scoring (pop) is asked for each user's top items.
    let direct = protocol == Protocol::Full && !searched && model.ranks_without_scoring();
    let sums = tests
        .par_chunks(BATCH)
        .try_fold(
            || (Sums::new(cutoffs.len()), Vec::new()),
            |(mut sums, mut scores), batch| {
                let known: Vec<(u32, &[u32])> =
                    batch.iter().filter_map(|t| t.user).map(|u| (u, train.row(u))).collect();
                if !searched && !direct {
                    scores.resize(known.len() * n_model_items, 0.0);
                    model.score_batch(&known, &mut scores);
                }
                let mut rows = scores.chunks(n_model_items.max(1));
                for t in batch {
                    let (seen, row) = match t.user {
                        Some(u) => (train.row(u), rows.next().unwrap_or(&[])),
                        None => (&[][..], &[][..]),
                    };
                    match protocol {
                        Protocol::Full => {
                            let ranked = match t.user {
                                Some(u) if searched => served(ranker, u, seen, max_k)?,
                                Some(u) if direct => model
                                    .best_items(u, seen, max_k, &|i| seen.binary_search(&i).is_err())
                                    .unwrap_or_default()
                                    .into_iter()
                                    .map(|p| p.0)
                                    .collect(),
                                Some(_) => top_k(row, max_k, |i| seen.binary_search(&i).is_err())
                                    .into_iter()
                                    .map(|p| p.0)
                                    .collect(),
                                None => Vec::new(),
                            };
                            let popularity = |i: u32| popularity.get(i as usize).copied().unwrap_or(0);
                            for (summary, &k) in sums.full.iter_mut().zip(cutoffs) {
                                let m =
                                    user_metrics(&ranked, |i| t.items.contains(&Some(i)), t.items.len(), k);
                                summary.add(&ranked, k, &m, popularity, n_users);
                            }
                        }
                        Protocol::Sampled { negatives, seed } => {
                            let ranks = sampled_ranks(t, seen, row, train.n_items, negatives, seed);
                            for rank in ranks {
                                for (summary, &k) in sums.sampled.iter_mut().zip(cutoffs) {
                                    summary.add(rank, k);
                                }
                            }
                        }
                    }
                }
                Ok::<_, Error>((sums, scores))
            },
        )
        .map(|r| r.map(|(sums, _)| sums))
        .try_reduce(|| Sums::new(cutoffs.len()), |a, b| Ok(a.merge(b)))?;
    let metrics = match protocol {
        Protocol::Full => Metrics::Full(sums.full.iter().map(|s| s.averages(n_items)).collect()),
        Protocol::Sampled { .. } => {
            Metrics::Sampled(sums.sampled.iter().map(SampledSummary::averages).collect())
        }
    };
    let users_without_training_data = tests.iter().filter(|t| t.user.is_none()).count();
    Ok(Report { metrics, users: tests.len(), users_without_training_data })
}

/// The `max_k` best items for `user` (training items `seen`) as RECOMMEND serves them: retrieved by the
/// model (through its Hamming index for binary codes), re-ranked when the ranker has a second stage.
fn served(ranker: Ranker<'_>, user: u32, seen: &[u32], max_k: usize) -> Result<Vec<u32>> {
    let excluded = RoaringBitmap::from_sorted_iter(seen.iter().copied())
        .map_err(|_| Error::internal("a snapshot row is not sorted"))?;
    let wanted = ranker.rerank.map_or(max_k, |(m, _)| m);
    let mut ranked = retrieve(ranker.model, ranker.folded, user, seen, wanted, None, &excluded)?.items;
    if let Some((_, fine)) = ranker.rerank {
        ranked = rerank(fine, user, seen, &ranked)?;
    }
    ranked.truncate(max_k);
    Ok(ranked.into_iter().map(|p| p.0).collect())
}

/// The rank of each of `t`'s test items among `negatives` items sampled from those the user neither
/// trained on (`seen`) nor holds as a test item, by the scores `row` (`None` for an item or user the
/// database does not know).
fn sampled_ranks(
    t: &TestUser,
    seen: &[u32],
    row: &[f32],
    n_items: u32,
    negatives: usize,
    seed: u64,
) -> Vec<Option<usize>> {
    let excluded_by = |i: u32| seen.binary_search(&i).is_ok();
    let excluded = |i: u32| excluded_by(i) || t.items.contains(&Some(i));
    let unseen_tests = t.items.iter().flatten().filter(|&&i| !excluded_by(i)).count();
    let pool = (n_items as usize).saturating_sub(seen.len() + unseen_tests);
    t.items
        .iter()
        .map(|item| match (t.user, item) {
            (Some(u), Some(item)) => {
                let stream = u64::from(u) << 32 | u64::from(*item);
                let sample = sample_negatives(seed, stream, n_items, pool, negatives, excluded);
                Some(rank_among(row, *item, &sample))
            }
            _ => None,
        })
        .collect()
}
