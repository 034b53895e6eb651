//! RECOMMEND and EXPLAIN RECOMMEND: resolve the request, retrieve (and re-rank), return live items.

use std::sync::Arc;
use std::time::{Duration, Instant};

use recodb_query::Recommend;
use recodb_storage::hamming::{Allowed, Explain, HammingIndex};
use recodb_storage::{RoaringBitmap, Side};

use super::bind::Binder;
use super::filter::allowed;
use super::stages::{rerank, retrieve, Retrieved};
use crate::error::{Error, Result};
use crate::models::catalog::Loaded;
use crate::models::folded::FoldedItems;
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
    allowed: Option<Allowed>,
    /// `RERANK m USING name`: how many candidates, and the model that orders them.
    rerank: Option<(usize, Arc<Loaded>)>,
    /// Items folded into a binary model since training.
    folded: Option<Arc<FoldedItems>>,
}

fn request(db: &Database, q: &Recommend, b: &Binder<'_>) -> Result<Request> {
    let top = top(b, &q.top)?;
    let store = db.store();
    let key = b.key(&q.user)?;
    let user =
        store.id_of(Side::User, &key)?.ok_or_else(|| Error::Invalid(format!("no user with key {key}")))?;
    let loaded = db.catalog().resolve(store, q.using.as_ref().map(|u| u.value.as_str()))?;
    let rerank = match &q.rerank {
        Some(rerank) => {
            let candidates = b.count(&rerank.candidates, "RERANK")?;
            if candidates < top as u64 || candidates > MAX_TOP {
                return Err(Error::Invalid(format!(
                    "RERANK takes from TOP ({top}) to {MAX_TOP} candidates, got {candidates}"
                )));
            }
            Some((candidates as usize, db.catalog().get(store, &rerank.model.value)?))
        }
        None => None,
    };
    let (all, seen) = items_of(db, user)?;
    let allowed = q.filter.as_ref().map(|f| allowed(db, Side::Item, f, b)).transpose()?.map(Allowed::new);
    let excluded = if q.include_seen { RoaringBitmap::new() } else { all };
    let folded = loaded.folded_items(store)?;
    Ok(Request { top, user, loaded, seen, excluded, allowed, rerank, folded })
}

/// All of `user`'s items (held out ones too), and its visible (training) items, which models score
/// from.
pub(super) fn items_of(db: &Database, user: u32) -> Result<(RoaringBitmap, Vec<u32>)> {
    let (all, visible) = db.store().user_items(user)?;
    Ok((all, visible.iter().collect()))
}

impl Request {
    /// The first stage: the `wanted` best items by the request's model.
    fn retrieve(&self, wanted: usize) -> Result<Retrieved> {
        let (model, folded) = (self.loaded.model.as_ref(), self.folded.as_deref());
        retrieve(model, folded, self.user, &self.seen, wanted, self.allowed.as_ref(), &self.excluded)
    }
}

/// `RECOMMEND user key TOP n [USING m] [RERANK c USING f] [WHERE f] [INCLUDE SEEN]`: rows of rank, item
/// and score, best first; equal scores in ascending item id order. The user's items (held out ones too)
/// are left out unless INCLUDE SEEN. A model with binary codes is searched through its Hamming index
/// (filters pushed down, exact); any other scores every item. With RERANK, the model's best `c` items
/// are ordered by model `f`'s scores, which the rows then carry.
pub fn recommend(db: &Database, q: &Recommend, b: &Binder<'_>) -> Result<ResultSet> {
    let r = request(db, q, b)?;
    match &r.rerank {
        None => live_rows(db, Side::Item, r.top, |wanted| Ok(r.retrieve(wanted)?.items)),
        Some((candidates, fine)) => {
            let retrieved = r.retrieve(*candidates)?;
            let ranked = rerank(fine.model.as_ref(), r.user, &r.seen, &retrieved.items)?;
            live_rows(db, Side::Item, r.top, |_| Ok(ranked.clone()))
        }
    }
}

/// `EXPLAIN RECOMMEND ...`: how the Hamming index answers it, one row per property (path and why,
/// kernel, tables and substring bits, radius reached, buckets probed, candidates examined, ids looked up,
/// candidates filtered, results, time), then with RERANK the second stage (model, candidates, time). An error for a model
/// without binary codes, which simply scores every item.
pub fn explain(db: &Database, q: &Recommend, b: &Binder<'_>) -> Result<ResultSet> {
    let r = request(db, q, b)?;
    let not_binary = || {
        Error::Invalid(format!(
            "EXPLAIN shows a Hamming-index search plan; '{}' ({}) has no binary codes and scores every item",
            r.loaded.record.name, r.loaded.record.algorithm
        ))
    };
    let codes = r.loaded.model.binary().ok_or_else(not_binary)?;
    let index = codes.item_index();
    let started = Instant::now();
    let wanted = r.rerank.as_ref().map_or(r.top, |(candidates, _)| *candidates);
    let retrieved = r.retrieve(wanted)?;
    let e = retrieved.explain.ok_or_else(not_binary)?;
    let mut properties = plan(&r.loaded, index, &e, retrieved.items.len());
    let folded = r.folded.as_ref().map_or(0, |f| f.len());
    properties.push(("folded_in_items", format!("{folded} (searched beside the index)")));
    if let Some((_, fine)) = &r.rerank {
        let at = Instant::now();
        let ranked = rerank(fine.model.as_ref(), r.user, &r.seen, &retrieved.items)?;
        let rerank_time = at.elapsed();
        properties.extend([
            ("rerank_model", format!("{} ({})", fine.record.name, fine.record.algorithm)),
            ("rerank_candidates", ranked.len().to_string()),
            ("rerank_microseconds", micros(rerank_time)),
            ("total_microseconds", micros(started.elapsed())),
        ]);
    }
    Ok(properties_set(properties))
}

/// What EXPLAIN prints of one Hamming search by `loaded` in `index` that returned `results` rows: path
/// and why, kernel, tables and substring bits, radius reached, buckets probed, candidates examined, ids
/// looked up, candidates filtered, results, time.
pub(super) fn plan(
    loaded: &Loaded,
    index: &HammingIndex,
    e: &Explain,
    results: usize,
) -> Vec<(&'static str, String)> {
    vec![
        ("model", format!("{} ({} bits)", loaded.record.name, index.codes().bits())),
        ("path", e.path.name().to_string()),
        ("reason", e.reason.to_string()),
        ("index", index.build_reason().to_string()),
        ("kernel", e.kernel.name().to_string()),
        ("tables", e.tables.to_string()),
        ("substring_bits", e.substring_bits.to_string()),
        ("radius", e.radius.to_string()),
        ("buckets_probed", e.buckets_probed.to_string()),
        ("candidates", e.candidates.to_string()),
        ("ids_looked_up", e.lookups.to_string()),
        ("filtered", e.filtered.to_string()),
        ("results", results.to_string()),
        ("microseconds", micros(e.elapsed)),
    ]
}

/// A result set of `property`, `value` rows.
pub(super) fn properties_set(properties: Vec<(&'static str, String)>) -> ResultSet {
    let mut set = ResultSet::new(&[("property", ColumnType::Text), ("value", ColumnType::Text)]);
    for (k, v) in properties {
        set.push(vec![Value::from(k), Value::Text(v)]);
    }
    set
}

/// A duration in microseconds with one decimal.
fn micros(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

/// Rows of rank, item key and score for the `top` best items `keep` accepts, best first. Items deleted
/// since training have no key and are skipped, so more are asked for until `top` live ones are found.
pub(super) fn ranked(
    db: &Database,
    scores: &[f32],
    top: usize,
    keep: impl Fn(u32) -> bool,
) -> Result<ResultSet> {
    live_rows(db, Side::Item, top, |wanted| {
        Ok(top_k(scores, wanted, &keep).into_iter().map(|(item, score)| (item, f64::from(score))).collect())
    })
}

/// Rows of rank, key (an `item` or `user` column, by `side`) and score from `best(wanted)`, the `wanted`
/// best `(id, score)` pairs, best first. Entities deleted since training have no key and are skipped,
/// so `wanted` doubles until `top` live ones are found or `best` has no more.
pub(super) fn live_rows(
    db: &Database,
    side: Side,
    top: usize,
    mut best: impl FnMut(usize) -> Result<Vec<(u32, f64)>>,
) -> Result<ResultSet> {
    let mut wanted = top;
    loop {
        let candidates = best(wanted)?;
        let mut set = ResultSet::new(&[
            ("rank", ColumnType::Int),
            (if side == Side::Item { "item" } else { "user" }, ColumnType::Text),
            ("score", ColumnType::Float),
        ]);
        for (item, score) in &candidates {
            if set.len() == top {
                break;
            }
            if let Some(key) = db.store().key_of(side, *item)? {
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
