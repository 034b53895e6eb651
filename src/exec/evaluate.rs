//! EVALUATE: full-ranking evaluation of a model against the holdout or a test file (DESIGN §8).

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;
use recodb_storage::{Key, RoaringBitmap, Side, SnapshotPart};

use super::recommend::MAX_TOP;
use super::stages::{self, retrieve};

use crate::error::{Error, Result};
use crate::eval::metrics::{user_metrics, Summary};
use crate::eval::sampled::{rank_among, sample_negatives, SampledSummary};
use crate::import::read::{read_interactions, ImportSpec};
use crate::import::Target;
use crate::models::topk::top_k;
use crate::result::{ColumnType, ResultSet};
use crate::value::Value;
use crate::Database;

/// Cut-offs used when `AT` is not given.
pub const DEFAULT_CUTOFFS: [usize; 2] = [10, 20];

/// The largest cut-off accepted.
pub const MAX_CUTOFF: usize = 1_000;

/// One test user: internal id (`None` if the database has no such user) and test items (`None` for
/// items the database does not know: they count in |T| but can never be hit).
struct TestUser {
    user: Option<u32>,
    items: Vec<Option<u32>>,
}

fn test_from_file(db: &Database, path: &Path, format: Option<&str>) -> Result<Vec<TestUser>> {
    let spec = ImportSpec::new(path, Target::Interactions, format, &[])?;
    let store = db.store();
    let mut by_user: HashMap<Key, Vec<Key>> = HashMap::new();
    let mut order = Vec::new();
    read_interactions(&spec, &mut |_, _| true, &mut |r| {
        let items = by_user.entry(r.user.clone()).or_insert_with(|| {
            order.push(r.user.clone());
            Vec::new()
        });
        items.push(r.item);
    })?;
    order
        .into_iter()
        .map(|user| {
            let mut items = by_user.remove(&user).unwrap_or_default();
            items.sort();
            items.dedup();
            let items = items.iter().map(|i| store.id_of(Side::Item, i)).collect::<Result<Vec<_>, _>>()?;
            Ok(TestUser { user: store.id_of(Side::User, &user)?, items })
        })
        .collect()
}

fn test_from_holdout(db: &Database) -> Result<Vec<TestUser>> {
    let held = db.store().snapshot(SnapshotPart::Holdout)?;
    let users: Vec<TestUser> = (0..held.n_users)
        .filter(|&u| !held.row(u).is_empty())
        .map(|u| TestUser { user: Some(u), items: held.row(u).iter().map(|&i| Some(i)).collect() })
        .collect();
    if users.is_empty() {
        return Err(Error::Invalid(
            "nothing to evaluate against: SPLIT HOLDOUT first, or EVALUATE ... AGAINST 'file'".into(),
        ));
    }
    Ok(users)
}

/// How test items are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Against every item the user has not trained on (DESIGN §8; the default).
    Full,
    /// Each test item against `negatives` sampled items (`WITH (protocol = 'sampled')`).
    Sampled {
        /// Sampled items per test item (`negatives`, default 100).
        negatives: usize,
        /// Seed of the sampling (`seed`, default 0).
        seed: u64,
    },
}

/// Negatives per test item of the sampled protocol when `negatives` is not given.
pub const DEFAULT_NEGATIVES: usize = 100;

/// The protocol `WITH (protocol = 'full' | 'sampled', negatives = n, seed = s)` asks for.
pub fn protocol(options: &[(String, Value)]) -> Result<Protocol> {
    let mut sampled = false;
    let (mut negatives, mut seed) = (DEFAULT_NEGATIVES, 0u64);
    for (name, value) in options {
        let count = || {
            value.as_i64().and_then(|v| u64::try_from(v).ok()).ok_or_else(|| {
                Error::Invalid(format!(
                    "EVALUATE option '{name}' must be a non-negative integer, got {value}"
                ))
            })
        };
        match name.to_ascii_lowercase().as_str() {
            "protocol" => match value.as_str().map(str::to_ascii_lowercase).as_deref() {
                Some("full") => sampled = false,
                Some("sampled") => sampled = true,
                _ => {
                    return Err(Error::Invalid(format!(
                        "EVALUATE option 'protocol' is 'full' or 'sampled', got {value}"
                    )))
                }
            },
            "negatives" => {
                negatives = usize::try_from(count()?).unwrap_or(usize::MAX);
                if negatives == 0 || negatives > 100_000 {
                    return Err(Error::Invalid(format!(
                        "EVALUATE option 'negatives' must be between 1 and 100000, got {value}"
                    )));
                }
            }
            "seed" => seed = count()?,
            _ => {
                return Err(Error::Invalid(format!(
                    "unknown EVALUATE option '{name}'; valid options: protocol, negatives, seed"
                )))
            }
        }
    }
    if !sampled && options.iter().any(|(n, _)| !n.eq_ignore_ascii_case("protocol")) {
        return Err(Error::Invalid(
            "EVALUATE options 'negatives' and 'seed' belong to protocol = 'sampled'".into(),
        ));
    }
    Ok(if sampled { Protocol::Sampled { negatives, seed } } else { Protocol::Full })
}

/// The largest cut-off (`cutoffs` is never empty once defaults are applied).
fn max_cutoff(cutoffs: &[usize]) -> usize {
    cutoffs.iter().copied().max().unwrap_or(DEFAULT_CUTOFFS[1])
}

/// Whether the sorted `seen` list holds `item`.
fn excluded_by(seen: &[u32], item: u32) -> bool {
    seen.binary_search(&item).is_ok()
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

/// `EVALUATE model [RERANK m USING f] [AGAINST 'path' [FORMAT f]] [AT k, ...] [WITH (protocol = ...)]`:
/// ranks the items for each test user (the user's training items excluded), in parallel batches, and
/// returns one row per metric and cut-off (`metric`, `k`, `value`), then `users` (evaluated),
/// `users_without_training_data` and `seconds` rows. With `rerank = Some((m, f))` each list is the
/// model's best `m` items ordered by model `f` (full ranking only). A model with binary codes is searched
/// per user through its Hamming indexes, as RECOMMEND does. The sampled protocol's rows are
/// named `sampled_hr`, `sampled_ndcg` and `sampled_mrr`, with a `negatives` row.
pub fn evaluate(
    db: &Database,
    model: &str,
    rerank: Option<(usize, &str)>,
    against: Option<(&Path, Option<&str>)>,
    cutoffs: &[usize],
    protocol: Protocol,
) -> Result<ResultSet> {
    let started = Instant::now();
    let cutoffs: Vec<usize> = if cutoffs.is_empty() { DEFAULT_CUTOFFS.to_vec() } else { cutoffs.to_vec() };
    if let Some(&bad) = cutoffs.iter().find(|&&k| k == 0 || k > MAX_CUTOFF) {
        return Err(Error::Invalid(format!("AT cut-offs must be between 1 and {MAX_CUTOFF}, got {bad}")));
    }
    let loaded = db.catalog().get(db.store(), model)?;
    let folded = loaded.folded_items(db.store())?;
    let two_stage = match rerank {
        Some(_) if protocol != Protocol::Full => {
            return Err(Error::Invalid("EVALUATE ... RERANK ranks the full catalogue only".into()))
        }
        Some((m, _)) if m < max_cutoff(&cutoffs) || m > MAX_TOP as usize => {
            return Err(Error::Invalid(format!(
                "RERANK takes from the largest cut-off ({}) to {MAX_TOP} candidates, got {m}",
                max_cutoff(&cutoffs)
            )))
        }
        Some((m, fine)) => Some((m, db.catalog().get(db.store(), fine)?)),
        None => None,
    };
    let tests = match against {
        Some((path, format)) => test_from_file(db, path, format)?,
        None => test_from_holdout(db)?,
    };
    let train = db.snapshot()?;
    let n_users = u64::from(train.n_users);
    let mut popularity = vec![0u64; train.n_items as usize];
    for &i in &train.indices {
        popularity[i as usize] += 1;
    }
    let max_k = max_cutoff(&cutoffs);
    let model = loaded.model.as_ref();
    let n_model_items = model.n_items() as usize;
    // Full ranking by a model with binary codes, or in two stages, searches per user as RECOMMEND
    // does (items folded in after training included); otherwise batches of users are scored.
    let searched = protocol == Protocol::Full && (two_stage.is_some() || model.binary().is_some());
    let sums = tests
        .par_chunks(BATCH)
        .try_fold(
            || (Sums::new(cutoffs.len()), Vec::new()),
            |(mut sums, mut scores), batch| {
                let known: Vec<(u32, &[u32])> =
                    batch.iter().filter_map(|t| t.user).map(|u| (u, train.row(u))).collect();
                if !searched {
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
                            let ranked: Vec<u32> = match t.user {
                                Some(u) if searched => {
                                    let excluded = RoaringBitmap::from_sorted_iter(seen.iter().copied())
                                        .map_err(|_| Error::Invalid("unsorted training items".into()))?;
                                    let wanted = two_stage.as_ref().map_or(max_k, |(m, _)| *m);
                                    let folded = folded.as_deref();
                                    let mut ranked =
                                        retrieve(model, folded, u, seen, wanted, None, &excluded)?.items;
                                    if let Some((_, fine)) = &two_stage {
                                        ranked = stages::rerank(fine.model.as_ref(), u, seen, &ranked)?;
                                    }
                                    ranked.truncate(max_k);
                                    ranked.into_iter().map(|p| p.0).collect()
                                }
                                Some(_) => top_k(row, max_k, |i| seen.binary_search(&i).is_err())
                                    .into_iter()
                                    .map(|p| p.0)
                                    .collect(),
                                None => Vec::new(),
                            };
                            for (summary, &k) in sums.full.iter_mut().zip(&cutoffs) {
                                let m =
                                    user_metrics(&ranked, |i| t.items.contains(&Some(i)), t.items.len(), k);
                                let popularity = |i: u32| popularity.get(i as usize).copied().unwrap_or(0);
                                summary.add(&ranked, k, &m, popularity, n_users);
                            }
                        }
                        Protocol::Sampled { negatives, seed } => {
                            let excluded = |i: u32| excluded_by(seen, i) || t.items.contains(&Some(i));
                            let unseen_tests = t.items.iter().flatten().filter(|&&i| !excluded_by(seen, i));
                            let pool =
                                (train.n_items as usize).saturating_sub(seen.len() + unseen_tests.count());
                            for item in &t.items {
                                let rank = match (t.user, item) {
                                    (Some(u), Some(item)) => {
                                        let stream = u64::from(u) << 32 | u64::from(*item);
                                        let sample = sample_negatives(
                                            seed,
                                            stream,
                                            train.n_items,
                                            pool,
                                            negatives,
                                            excluded,
                                        );
                                        Some(rank_among(row, *item, &sample))
                                    }
                                    _ => None,
                                };
                                for (summary, &k) in sums.sampled.iter_mut().zip(&cutoffs) {
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

    let mut set =
        ResultSet::new(&[("metric", ColumnType::Text), ("k", ColumnType::Int), ("value", ColumnType::Float)]);
    let n_items = db.store().id_bound(Side::Item)? as usize;
    match protocol {
        Protocol::Full => {
            for name in ["ndcg", "recall", "precision", "hr", "mrr", "coverage", "novelty"] {
                for (summary, &k) in sums.full.iter().zip(&cutoffs) {
                    let a = summary.averages(n_items);
                    let value = match name {
                        "ndcg" => a.ndcg,
                        "recall" => a.recall,
                        "precision" => a.precision,
                        "hr" => a.hit_rate,
                        "mrr" => a.mrr,
                        "coverage" => a.coverage,
                        _ => a.novelty,
                    };
                    set.push(vec![Value::from(name), Value::Int(k as i64), Value::Float(value)]);
                }
            }
        }
        Protocol::Sampled { negatives, .. } => {
            for (index, name) in ["sampled_hr", "sampled_ndcg", "sampled_mrr"].into_iter().enumerate() {
                for (summary, &k) in sums.sampled.iter().zip(&cutoffs) {
                    let (hr, ndcg, mrr) = summary.averages();
                    let value = [hr, ndcg, mrr][index];
                    set.push(vec![Value::from(name), Value::Int(k as i64), Value::Float(value)]);
                }
            }
            set.push(vec![Value::from("negatives"), Value::Null, Value::Float(negatives as f64)]);
        }
    }
    let cold = tests.iter().filter(|t| t.user.is_none()).count();
    set.push(vec![Value::from("users"), Value::Null, Value::Float(tests.len() as f64)]);
    set.push(vec![Value::from("users_without_training_data"), Value::Null, Value::Float(cold as f64)]);
    set.push(vec![Value::from("seconds"), Value::Null, Value::Float(started.elapsed().as_secs_f64())]);
    Ok(set)
}
