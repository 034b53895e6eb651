//! Serving a model: the two stages of a recommendation, shared by RECOMMEND, SIMILAR, EXPLAIN and
//! EVALUATE: retrieval (a model's best items, through the Hamming engine when the model has binary
//! codes, else by scoring every item) and re-ranking (`RERANK m USING name`: the retrieved candidates
//! ordered by another model's scores). Items that arrived after a binary model was trained are searched
//! beside its own, with folded-in codes.

use recodb_storage::hamming::{Allowed, Explain, Filter, HammingIndex, Hit, IdSet};
use recodb_storage::RoaringBitmap;

use crate::error::Result;
use crate::models::folded::FoldedItems;
use crate::models::topk::{best_of, rank_order, top_k};
use crate::models::Model;

/// What retrieval found: `(item, score)` pairs best first, and the Hamming engine's account of the
/// search when the model has binary codes.
pub struct Retrieved {
    /// The items, best first; equal scores in ascending item id order.
    pub items: Vec<(u32, f64)>,
    /// How the Hamming index answered (`None` for a model that scores every item).
    pub explain: Option<Explain>,
}

/// The `wanted` best items for `user` (visible items `seen`) by `model`, leaving out `excluded` and,
/// when given, anything outside `allowed`. A model with binary codes is searched exactly through its
/// item index and the index of `folded` items (filters pushed down; score `bits − 2 · distance`, or,
/// for codes that approximate finer scores, the model's exact scores of the nearest candidates); any
/// other scores every item.
pub fn retrieve(
    model: &dyn Model,
    folded: Option<&FoldedItems>,
    user: u32,
    seen: &[u32],
    wanted: usize,
    allowed: Option<&Allowed>,
    excluded: &RoaringBitmap,
) -> Result<Retrieved> {
    if let Some(codes) = model.binary() {
        let index = codes.item_index();
        let bits = index.codes().bits();
        let filter = Filter { allowed, excluded: Some(excluded) };
        let wider = codes.candidates(wanted);
        let code = codes.user_code(user, seen);
        let (hits, explain) = search(index, folded, &code, wider.unwrap_or(wanted), &filter)?;
        let items = match wider {
            Some(_) => refine(&hits, wanted, |ids, out| model.score_items(user, seen, ids, out))?,
            None => hits.iter().map(|h| (h.id, f64::from(bits) - 2.0 * f64::from(h.distance))).collect(),
        };
        return Ok(Retrieved { items, explain: Some(explain) });
    }
    // A dense copy of the (small) excluded set: a bit test per item instead of a roaring look-up.
    let dense = IdSet::from_bitmap(excluded, model.n_items() as usize);
    let is_excluded = dense.membership();
    let keep = |i: u32| !is_excluded(i) && allowed.is_none_or(|a| a.contains(i));
    let best = model.best_items(user, seen, wanted, &keep).unwrap_or_else(|| {
        let mut scores = vec![0.0f32; model.n_items() as usize];
        model.score(user, seen, &mut scores);
        top_k(&scores, wanted, keep)
    });
    let items = best.into_iter().map(|(i, s)| (i, f64::from(s))).collect();
    Ok(Retrieved { items, explain: None })
}

/// The `wanted` codes of `index` and of the `folded` items nearest to `code` that `filter` passes,
/// nearest first, equal distances in ascending id order, and how the main index answered.
pub(crate) fn search(
    index: &HammingIndex,
    folded: Option<&FoldedItems>,
    code: &[u64],
    wanted: usize,
    filter: &Filter<'_>,
) -> Result<(Vec<Hit>, Explain)> {
    let (mut hits, explain) = index.search(code, wanted, filter)?;
    if let Some(folded) = folded.filter(|f| !f.is_empty()) {
        let (more, _) = folded.index().search(code, wanted, filter)?;
        hits.extend(more);
        hits.sort_unstable_by_key(|h| (h.distance, h.id));
        hits.truncate(wanted);
    }
    Ok((hits, explain))
}

/// The `wanted` best of the Hamming `hits` by the exact scores `exact` writes for their ids (the second
/// stage of codes that approximate finer scores, see [`BinaryCodes::candidates`]), best first; equal
/// scores in ascending id order.
///
/// [`BinaryCodes::candidates`]: crate::models::BinaryCodes::candidates
pub(crate) fn refine(
    hits: &[Hit],
    wanted: usize,
    exact: impl FnOnce(&[u32], &mut [f32]) -> Result<()>,
) -> Result<Vec<(u32, f64)>> {
    let ranked = best_of(scored(hits.iter().map(|h| h.id).collect(), exact)?, wanted);
    Ok(ranked.into_iter().map(|(i, s)| (i, f64::from(s))).collect())
}

/// `candidates` ordered by `fine`'s scores for `user`, best first; equal scores in ascending item id
/// order.
pub(crate) fn rerank(
    fine: &dyn Model,
    user: u32,
    seen: &[u32],
    candidates: &[(u32, f64)],
) -> Result<Vec<(u32, f64)>> {
    let mut ranked =
        scored(candidates.iter().map(|c| c.0).collect(), |ids, out| fine.score_items(user, seen, ids, out))?;
    ranked.sort_unstable_by(rank_order);
    Ok(ranked.into_iter().map(|(i, s)| (i, f64::from(s))).collect())
}

/// `ids` with the scores `score` writes for them.
fn scored(ids: Vec<u32>, score: impl FnOnce(&[u32], &mut [f32]) -> Result<()>) -> Result<Vec<(u32, f32)>> {
    let mut scores = vec![0.0f32; ids.len()];
    score(&ids, &mut scores)?;
    Ok(ids.into_iter().zip(scores).collect())
}
