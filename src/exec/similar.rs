//! SIMILAR and EXPLAIN SIMILAR: the items (or users) nearest to one, the entity itself and filtered-out
//! ones dropped. A model with binary codes answers from its Hamming indexes; any other ranks every item
//! by its item similarity.

use std::sync::Arc;

use recodb_query::{Side as QuerySide, Similar};
use recodb_storage::hamming::{Allowed, Explain, Filter, HammingIndex};
use recodb_storage::{RoaringBitmap, Side};

use super::bind::Binder;
use super::filter::allowed;
use super::recommend::{items_of, live_rows, plan, properties_set, ranked, top};
use super::stages::search;
use crate::error::{Error, Result};
use crate::models::catalog::Loaded;
use crate::models::folded::FoldedItems;
use crate::models::BinaryCodes;
use crate::result::ResultSet;
use crate::Database;

/// A SIMILAR resolved against the database.
struct Request {
    side: Side,
    /// The entity's id.
    id: u32,
    top: usize,
    loaded: Arc<Loaded>,
    /// The WHERE clause's allowed entities (of the same side).
    allowed: Option<RoaringBitmap>,
    /// Items folded into a binary model since training (SIMILAR ITEM only).
    folded: Option<Arc<FoldedItems>>,
}

fn request(db: &Database, q: &Similar, b: &Binder<'_>) -> Result<Request> {
    let top = top(b, &q.top)?;
    let store = db.store();
    let loaded = db.catalog().resolve(store, q.using.as_ref().map(|u| u.value.as_str()))?;
    let side = match q.side {
        QuerySide::User => Side::User,
        QuerySide::Item => Side::Item,
    };
    let key = b.key(&q.key)?;
    let id = store.id_of(side, &key)?.ok_or_else(|| Error::Invalid(format!("no {side} with key {key}")))?;
    let allowed = q.filter.as_ref().map(|f| allowed(db, side, f, b)).transpose()?;
    let folded = if side == Side::Item { loaded.folded_items(store)? } else { None };
    Ok(Request { side, id, top, loaded, allowed, folded })
}

impl Request {
    /// The index of the request's side and the query code in it.
    fn space<'c>(&self, db: &Database, codes: &'c dyn BinaryCodes) -> Result<(&'c HammingIndex, Vec<u64>)> {
        let name = &self.loaded.record.name;
        match self.side {
            Side::User => {
                let (_, seen) = items_of(db, self.id)?;
                Ok((codes.user_index()?, codes.user_code(self.id, &seen)))
            }
            Side::Item => {
                let index = codes.item_index();
                let folded = self.folded.as_ref().and_then(|f| f.index().codes().get(self.id));
                let code = index.codes().get(self.id).or(folded).ok_or_else(|| {
                    Error::Invalid(format!(
                        "the item has no code in '{name}': it arrived after training and no user with a \
                         trained code has it"
                    ))
                })?;
                Ok((index, code.to_vec()))
            }
        }
    }

    /// The `top` nearest entities to the request's in `index` (the entity itself and filtered-out ones
    /// left out), as rows, and what the last search did.
    fn search(&self, db: &Database, index: &HammingIndex, code: &[u64]) -> Result<(ResultSet, Explain)> {
        let excluded: RoaringBitmap = [self.id].into_iter().collect();
        let allowed = self.allowed.clone().map(Allowed::new);
        let filter = Filter { allowed: allowed.as_ref(), excluded: Some(&excluded) };
        let bits = f64::from(index.codes().bits());
        let mut explain = None;
        let set = live_rows(db, self.side, self.top, |wanted| {
            let (hits, e) = search(index, self.folded.as_deref(), code, wanted, &filter)?;
            explain = Some(e);
            Ok(hits.iter().map(|h| (h.id, bits - 2.0 * f64::from(h.distance))).collect())
        })?;
        // `live_rows` asks at least once, so there is an explanation.
        let explain = explain.ok_or_else(|| Error::Invalid("the Hamming search did not run".into()))?;
        Ok((set, explain))
    }
}

/// `SIMILAR ITEM|USER key TOP n [USING m] [WHERE f]`: rows of rank, item (or user) and score, most
/// similar first; equal scores in ascending id order. With binary codes the score is
/// `bits − 2 · distance` between codes. Models that rank by a full pass have item similarities only.
pub fn similar(db: &Database, q: &Similar, b: &Binder<'_>) -> Result<ResultSet> {
    let r = request(db, q, b)?;
    if let Some(codes) = r.loaded.model.binary() {
        let (index, code) = r.space(db, codes.as_ref())?;
        return r.search(db, index, &code).map(|(set, _)| set);
    }
    if r.side == Side::User {
        return Err(Error::Invalid(format!(
            "SIMILAR USER needs a model with user codes; '{}' ({}) has none",
            r.loaded.record.name, r.loaded.record.algorithm
        )));
    }
    let mut scores = vec![0.0f32; r.loaded.model.n_items() as usize];
    r.loaded.model.similar_items(r.id, &mut scores)?;
    ranked(db, &scores, r.top, |i| i != r.id && r.allowed.as_ref().is_none_or(|f| f.contains(i)))
}

/// `EXPLAIN SIMILAR ...`: how the Hamming index of the item (or user) codes answers it, one row per
/// property. An error for a model without binary codes.
pub fn explain(db: &Database, q: &Similar, b: &Binder<'_>) -> Result<ResultSet> {
    let r = request(db, q, b)?;
    let Some(codes) = r.loaded.model.binary() else {
        return Err(Error::Invalid(format!(
            "EXPLAIN shows a Hamming-index search plan; '{}' ({}) has no binary codes and ranks every item",
            r.loaded.record.name, r.loaded.record.algorithm
        )));
    };
    let (index, code) = r.space(db, codes.as_ref())?;
    let (rows, e) = r.search(db, index, &code)?;
    Ok(properties_set(plan(&r.loaded, index, &e, rows.len())))
}
