//! EVALUATE: full-ranking evaluation of a model against the holdout or a test file (DESIGN §8).

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;
use recodb_storage::{Key, Side, SnapshotPart};

use crate::error::{Error, Result};
use crate::eval::metrics::{user_metrics, Summary};
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

/// `EVALUATE model [AGAINST 'path' [FORMAT f]] [AT k, ...]`: ranks every item for each test user (the
/// user's training items excluded), in parallel, and returns one row per metric and cut-off (`metric`,
/// `k`, `value`), then `users` (evaluated), `users_without_training_data` and `seconds` rows.
pub fn evaluate(
    db: &Database,
    model: &str,
    against: Option<(&Path, Option<&str>)>,
    cutoffs: &[usize],
) -> Result<ResultSet> {
    let started = Instant::now();
    let cutoffs: Vec<usize> = if cutoffs.is_empty() { DEFAULT_CUTOFFS.to_vec() } else { cutoffs.to_vec() };
    if let Some(&bad) = cutoffs.iter().find(|&&k| k == 0 || k > MAX_CUTOFF) {
        return Err(Error::Invalid(format!("AT cut-offs must be between 1 and {MAX_CUTOFF}, got {bad}")));
    }
    let loaded = db.catalog().get(db.store(), model)?;
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
    let max_k = cutoffs.iter().copied().max().unwrap_or(10);
    let n_model_items = loaded.model.n_items() as usize;
    let summaries = tests
        .par_iter()
        .fold(
            || (vec![Summary::default(); cutoffs.len()], vec![0f32; n_model_items]),
            |(mut summaries, mut scores), t| {
                let ranked: Vec<u32> = match t.user {
                    Some(u) => {
                        let seen = train.row(u);
                        loaded.model.score(u, seen, &mut scores);
                        top_k(&scores, max_k, |i| seen.binary_search(&i).is_err())
                            .into_iter()
                            .map(|p| p.0)
                            .collect()
                    }
                    None => Vec::new(),
                };
                for (summary, &k) in summaries.iter_mut().zip(&cutoffs) {
                    let m = user_metrics(&ranked, |i| t.items.contains(&Some(i)), t.items.len(), k);
                    summary.add(
                        &ranked,
                        k,
                        &m,
                        |i| popularity.get(i as usize).copied().unwrap_or(0),
                        n_users,
                    );
                }
                (summaries, scores)
            },
        )
        .map(|(s, _)| s)
        .reduce(
            || vec![Summary::default(); cutoffs.len()],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    x.merge(y);
                }
                a
            },
        );

    let mut set =
        ResultSet::new(&[("metric", ColumnType::Text), ("k", ColumnType::Int), ("value", ColumnType::Float)]);
    let n_items = db.store().id_bound(Side::Item)? as usize;
    for name in ["ndcg", "recall", "precision", "hr", "mrr", "coverage", "novelty"] {
        for (summary, &k) in summaries.iter().zip(&cutoffs) {
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
    let cold = tests.iter().filter(|t| t.user.is_none()).count();
    set.push(vec![Value::from("users"), Value::Null, Value::Float(tests.len() as f64)]);
    set.push(vec![Value::from("users_without_training_data"), Value::Null, Value::Float(cold as f64)]);
    set.push(vec![Value::from("seconds"), Value::Null, Value::Float(started.elapsed().as_secs_f64())]);
    Ok(set)
}
