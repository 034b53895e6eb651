//! RECOMMEND for models that score every item: score, drop seen and filtered-out items, take the top.

use recodb_query::Recommend;
use std::sync::Arc;

use recodb_storage::hamming::{Allowed, Explain, Filter, HammingIndex};
use recodb_storage::{RoaringBitmap, Side};

use super::bind::Binder;
use super::filter::allowed;
use crate::error::{Error, Result};
use crate::models::catalog::Loaded;
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

/// A RECOMMEND resolved against the database: what both RECOMMEND and EXPLAIN RECOMMEND need.
struct Request {
    top: usize,
    user: u32,
    loaded: Arc<Loaded>,
    /// The user's visible (training) items, which the model scores from.
    seen: Vec<u32>,
    /// Items never returned: all the user's items (held out ones too) unless INCLUDE SEEN.
    excluded: RoaringBitmap,
    /// The WHERE clause's allowed items.
    allowed: Option<RoaringBitmap>,
}

fn request(db: &Database, q: &Recommend, b: &Binder<'_>) -> Result<Request> {
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
    let all = store.neighbours(Side::User, user)?.unwrap_or_default();
    let allowed = q.filter.as_ref().map(|f| allowed(db, f, b)).transpose()?;
    let seen: Vec<u32> = match store.holdout(user)? {
        Some(held) => (&all - &held).iter().collect(),
        None => all.iter().collect(),
    };
    let excluded = if q.include_seen { RoaringBitmap::new() } else { all };
    Ok(Request { top, user, loaded, seen, excluded, allowed })
}

/// `RECOMMEND user key TOP n [USING m] [WHERE f] [INCLUDE SEEN]`: rows of rank, item and score, best
/// first; equal scores in ascending item id order. The user's items (held out ones too) are left out
/// unless INCLUDE SEEN. A model with binary codes is searched through its Hamming index (filters pushed
/// down, exact); any other scores every item.
pub fn recommend(db: &Database, q: &Recommend, b: &Binder<'_>) -> Result<ResultSet> {
    let r = request(db, q, b)?;
    if let Some((index, code)) = r.loaded.model.hamming(r.user, &r.seen) {
        let allowed = r.allowed.map(Allowed::new);
        let filter = Filter { allowed: allowed.as_ref(), excluded: Some(&r.excluded) };
        return searched(db, index, &code, r.top, &filter).map(|(set, _)| set);
    }
    let mut scores = vec![0.0f32; r.loaded.model.n_items() as usize];
    r.loaded.model.score(r.user, &r.seen, &mut scores);
    ranked(db, &scores, r.top, |i| {
        !r.excluded.contains(i) && r.allowed.as_ref().is_none_or(|f| f.contains(i))
    })
}

/// `EXPLAIN RECOMMEND ...`: how the Hamming index answers it, one row per property (path and why,
/// kernel, tables and substring bits, radius reached, buckets probed, candidates examined and filtered,
/// results, time). An error for a model without binary codes, which simply scores every item.
pub fn explain(db: &Database, q: &Recommend, b: &Binder<'_>) -> Result<ResultSet> {
    let r = request(db, q, b)?;
    let Some((index, code)) = r.loaded.model.hamming(r.user, &r.seen) else {
        return Err(Error::Invalid(format!(
            "EXPLAIN shows a Hamming-index search plan; '{}' ({}) has no binary codes and scores every item",
            r.loaded.record.name, r.loaded.record.algorithm
        )));
    };
    let allowed = r.allowed.map(Allowed::new);
    let filter = Filter { allowed: allowed.as_ref(), excluded: Some(&r.excluded) };
    let (rows, e) = searched(db, index, &code, r.top, &filter)?;
    let mut set = ResultSet::new(&[("property", ColumnType::Text), ("value", ColumnType::Text)]);
    let properties = [
        ("model", format!("{} ({} bits)", r.loaded.record.name, index.codes().bits())),
        ("path", e.path.name().to_string()),
        ("reason", e.reason.to_string()),
        ("index", index.build_reason().to_string()),
        ("kernel", e.kernel.name().to_string()),
        ("tables", e.tables.to_string()),
        ("substring_bits", e.substring_bits.to_string()),
        ("radius", e.radius.to_string()),
        ("buckets_probed", e.buckets_probed.to_string()),
        ("candidates", e.candidates.to_string()),
        ("filtered", e.filtered.to_string()),
        ("results", rows.len().to_string()),
        ("microseconds", format!("{:.1}", e.elapsed.as_secs_f64() * 1e6)),
    ];
    for (k, v) in properties {
        set.push(vec![Value::from(k), Value::Text(v)]);
    }
    Ok(set)
}

/// The rows of an exact Hamming search of `index` for `code`: the `top` nearest items that pass
/// `filter`, nearest first (equal distances in ascending item id order), with score `bits − 2 · distance`,
/// and what the last search did. Items deleted since training are skipped, as in [`live_rows`].
fn searched(
    db: &Database,
    index: &HammingIndex,
    code: &[u64],
    top: usize,
    filter: &Filter<'_>,
) -> Result<(ResultSet, Explain)> {
    let bits = f64::from(index.codes().bits());
    let mut explain = None;
    let set = live_rows(db, top, |wanted| {
        let (hits, e) = index.search(code, wanted, filter)?;
        explain = Some(e);
        Ok(hits.iter().map(|h| (h.id, bits - 2.0 * f64::from(h.distance))).collect())
    })?;
    // `live_rows` asks at least once, so there is an explanation.
    let explain = explain.ok_or_else(|| Error::Invalid("the Hamming search did not run".into()))?;
    Ok((set, explain))
}

/// Rows of rank, item key and score for the `top` best items `keep` accepts, best first. Items deleted
/// since training have no key and are skipped, so more are asked for until `top` live ones are found.
pub(super) fn ranked(
    db: &Database,
    scores: &[f32],
    top: usize,
    keep: impl Fn(u32) -> bool,
) -> Result<ResultSet> {
    live_rows(db, top, |wanted| {
        Ok(top_k(scores, wanted, &keep).into_iter().map(|(item, score)| (item, f64::from(score))).collect())
    })
}

/// Rows of rank, item key and score from `best(wanted)`, the `wanted` best `(item, score)` pairs, best
/// first. Items deleted since training have no key and are skipped, so `wanted` doubles until `top` live
/// items are found or `best` has no more.
fn live_rows(
    db: &Database,
    top: usize,
    mut best: impl FnMut(usize) -> Result<Vec<(u32, f64)>>,
) -> Result<ResultSet> {
    let mut wanted = top;
    loop {
        let candidates = best(wanted)?;
        let mut set = ResultSet::new(&[
            ("rank", ColumnType::Int),
            ("item", ColumnType::Text),
            ("score", ColumnType::Float),
        ]);
        for (item, score) in &candidates {
            if set.len() == top {
                break;
            }
            if let Some(key) = db.store().key_of(Side::Item, *item)? {
                set.push(vec![
                    Value::Int(set.len() as i64 + 1),
                    Value::Text(key.to_string()),
                    Value::Float(*score),
                ]);
            }
        }
        if set.len() == top || candidates.len() < wanted {
            return Ok(set);
        }
        wanted *= 2;
    }
}
