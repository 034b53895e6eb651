//! RECOMMEND for models that score every item: score, drop seen and filtered-out items, take the top.

use recodb_query::Recommend;
use recodb_storage::{RoaringBitmap, Side};

use super::bind::Binder;
use super::filter::allowed;
use crate::error::{Error, Result};
use crate::models::topk::top_k;
use crate::result::{ColumnType, ResultSet};
use crate::value::Value;
use crate::Database;

/// The largest TOP accepted.
pub const MAX_TOP: u64 = 10_000;

/// The TOP of a RECOMMEND or SIMILAR, checked against [`MAX_TOP`].
pub(super) fn top(b: &Binder<'_>, top: &recodb_query::Literal) -> Result<usize> {
    let top = b.count(top, "TOP")?;
    if top > MAX_TOP {
        return Err(Error::Invalid(format!("TOP is at most {MAX_TOP}, got {top}")));
    }
    Ok(top as usize)
}

/// `RECOMMEND user key TOP n [USING m] [WHERE f] [INCLUDE SEEN]`: rows of rank, item and score, best
/// first; equal scores in ascending item id order. The user's items (held out ones too) are left out
/// unless INCLUDE SEEN.
pub fn recommend(db: &Database, q: &Recommend, b: &Binder<'_>) -> Result<ResultSet> {
    if q.rerank.is_some() {
        return Err(Error::Invalid(
            "RERANK needs a retrieval model with binary codes; none is available yet".into(),
        ));
    }
    let top = top(b, &q.top)?;
    let store = db.store();
    let key = b.key(&q.user)?;
    let user =
        store.id_of(Side::User, &key)?.ok_or_else(|| Error::Invalid(format!("no user with key {key}")))?;
    let loaded = db.catalog().resolve(store, q.using.as_ref().map(|u| u.value.as_str()))?;
    let seen = store.neighbours(Side::User, user)?.unwrap_or_default();
    let filter = q.filter.as_ref().map(|f| allowed(db, f, b)).transpose()?;
    let seen_list: Vec<u32> = match store.holdout(user)? {
        Some(held) => (&seen - &held).iter().collect(),
        None => seen.iter().collect(),
    };
    let mut scores = vec![0.0f32; loaded.model.n_items() as usize];
    loaded.model.score(user, &seen_list, &mut scores);
    let excluded = if q.include_seen { RoaringBitmap::new() } else { seen };
    ranked(db, &scores, top, |i| !excluded.contains(i) && filter.as_ref().is_none_or(|f| f.contains(i)))
}

/// Rows of rank, item key and score for the `top` best items `keep` accepts, best first. Items deleted
/// since training have no key and are skipped, so more are asked for until `top` live ones are found.
pub(super) fn ranked(
    db: &Database,
    scores: &[f32],
    top: usize,
    keep: impl Fn(u32) -> bool,
) -> Result<ResultSet> {
    let mut wanted = top;
    loop {
        let best = top_k(scores, wanted, &keep);
        let mut set = ResultSet::new(&[
            ("rank", ColumnType::Int),
            ("item", ColumnType::Text),
            ("score", ColumnType::Float),
        ]);
        for (item, score) in &best {
            if let Some(key) = db.store().key_of(Side::Item, *item)? {
                if set.len() < top {
                    set.push(vec![
                        Value::Int(set.len() as i64 + 1),
                        Value::Text(key.to_string()),
                        Value::Float(f64::from(*score)),
                    ]);
                }
            }
        }
        if set.len() == top || best.len() < wanted {
            return Ok(set);
        }
        wanted *= 2;
    }
}
