//! SIMILAR and EXPLAIN SIMILAR: the items (or users) nearest to one, the entity itself and filtered-out
//! ones dropped. A model with binary codes answers from its Hamming indexes; any other ranks every item
//! by its item similarity.

use std::sync::Arc;

use recodb_query::Similar;
use recodb_storage::hamming::{Allowed, Explain, Filter, HammingIndex};
use recodb_storage::{RoaringBitmap, Side};

use super::context::Context;
use super::explain::{not_binary, plan, refined};
use super::filter::allowed;
use super::recommend::{answered_by, top};
use super::rows::{live_rows, pairs, ranked, ShownTags};
use crate::error::{Error, Object, Result, ResultExt};
use crate::models::catalog::Loaded;
use crate::models::folded::FoldedItems;
use crate::models::topk::top_k;
use crate::models::{BinaryCodes, Similarity};
use crate::result::ResultSet;
use crate::serve::{refine, search};

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
    /// Where the entity's key was written, for errors about it.
    key_span: recodb_query::Span,
    /// The tags shown beside each row (`WITH (tags = ...)`).
    shown_tags: ShownTags,
}

fn request(ctx: &Context<'_>, q: &Similar) -> Result<Request> {
    let top = top(ctx, &q.top)?;
    let side = super::side_of(q.side);
    let (_, id) = ctx.entity(side, &q.key)?;
    let loaded = ctx.model_or_latest(q.using.as_ref())?;
    let allowed = q.filter.as_ref().map(|f| allowed(ctx, side, f)).transpose()?;
    let folded = if side == Side::Item { loaded.folded_items(ctx.store())? } else { None };
    let shown_tags = ShownTags::from_options(ctx, &q.options, "SIMILAR")?;
    Ok(Request { side, id, top, loaded, allowed, folded, key_span: q.key.span, shown_tags })
}

impl Request {
    /// The index of the request's side and the query code in it.
    fn space<'c>(
        &self,
        ctx: &Context<'_>,
        codes: &'c dyn BinaryCodes,
    ) -> Result<(&'c HammingIndex, Vec<u64>)> {
        let name = &self.loaded.record.name;
        match self.side {
            Side::User => {
                let (_, visible) = ctx.store().user_items(self.id)?;
                let seen: Vec<u32> = visible.iter().collect();
                Ok((codes.user_index()?, codes.user_code(self.id, &seen)))
            }
            Side::Item => {
                let index = codes.item_index();
                let folded = self.folded.as_ref().and_then(|f| f.index().codes().get(self.id));
                let code = index.codes().get(self.id).or(folded).ok_or_else(|| {
                    let message = format!(
                        "the item has no code in '{name}': it arrived after training and no user with a \
                         trained code has it"
                    );
                    Error::not_found(Object::Code, self.id.to_string(), message, [], "").at(self.key_span)
                })?;
                Ok((index, code.to_vec()))
            }
        }
    }

    /// The `top` nearest entities to the request's in `index` (the entity itself and filtered-out ones
    /// left out), as rows, and what the last search did.
    /// With codes that approximate finer scores, the nearest `candidates` codes are re-ranked by the
    /// model's exact similarity.
    fn search(
        &self,
        ctx: &Context<'_>,
        codes: &dyn BinaryCodes,
        index: &HammingIndex,
        code: &[u64],
    ) -> Result<(ResultSet, Explain)> {
        let excluded: RoaringBitmap = [self.id].into_iter().collect();
        let allowed = self.allowed.clone().map(Allowed::new);
        let filter = Filter { allowed: allowed.as_ref(), excluded: Some(&excluded) };
        let bits = f64::from(index.codes().bits());
        let mut explain = None;
        let seen = match self.side {
            Side::User => ctx.store().user_items(self.id)?.1.iter().collect(),
            Side::Item => Vec::new(),
        };
        let query = match self.side {
            Side::User => Similarity::User(self.id, &seen),
            Side::Item => Similarity::Item(self.id),
        };
        let set = live_rows(ctx.store(), self.side, self.top, &self.shown_tags, |wanted| {
            let wider = codes.candidates(wanted);
            let (hits, e) = search(index, self.folded.as_deref(), code, wider.unwrap_or(wanted), &filter)?;
            explain = Some(e);
            match wider {
                Some(_) => refine(&hits, wanted, |ids, out| codes.similarity(query, ids, out)),
                None => Ok(hits.iter().map(|h| (h.id, bits - 2.0 * f64::from(h.distance))).collect()),
            }
        })?;
        let explain = explain.ok_or_else(|| Error::internal("the Hamming search did not run"))?;
        Ok((set, explain))
    }
}

/// `SIMILAR ITEM|USER key TOP n [USING m] [WHERE f] [WITH (tags = ...)]`: rows of rank, item (or user),
/// label (when they have them), score and the chosen tags (when asked), most similar first; equal scores in ascending id order. With binary codes the score is
/// `bits − 2 · distance` between codes. Models that rank by a full pass have item similarities only.
pub(super) fn similar(ctx: &Context<'_>, q: &Similar) -> Result<ResultSet> {
    let r = request(ctx, q)?;
    let model = r.loaded.serving(ctx.store())?;
    let mut set = match model.binary() {
        Some(codes) => {
            let (index, code) = r.space(ctx, codes.as_ref())?;
            r.search(ctx, codes.as_ref(), index, &code)?.0
        }
        None if r.side == Side::User => {
            let seen: Vec<u32> = ctx.store().user_items(r.id)?.1.iter().collect();
            let mut scores = Vec::new();
            if model.similar_users(r.id, &seen, &mut scores).is_err() {
                let message = format!(
                    "SIMILAR USER needs a model with user codes; '{}' ({}) has none",
                    r.loaded.record.name, r.loaded.record.algorithm
                );
                return Err(Error::unsupported(message).at(q.using.as_ref().map_or(q.key.span, |u| u.span)));
            }
            let keep = &|u| u != r.id && r.allowed.as_ref().is_none_or(|f| f.contains(u));
            live_rows(ctx.store(), Side::User, r.top, &r.shown_tags, |wanted| {
                Ok(top_k(&scores, wanted, keep).into_iter().map(|(u, s)| (u, f64::from(s))).collect())
            })?
        }
        None => {
            let mut scores = vec![0.0f32; model.n_items() as usize];
            model.similar_items(r.id, &mut scores)?;
            let keep = |i| i != r.id && r.allowed.as_ref().is_none_or(|f| f.contains(i));
            ranked(ctx.store(), &scores, r.top, &r.shown_tags, keep)?
        }
    };
    if q.using.is_none() {
        set.push_notice(answered_by(&r.loaded));
    }
    Ok(set)
}

/// `EXPLAIN SIMILAR ...`: how the Hamming index of the item (or user) codes answers it, one row per
/// property. An error for a model without binary codes.
pub(super) fn explain(ctx: &Context<'_>, q: &Similar) -> Result<ResultSet> {
    let r = request(ctx, q)?;
    let at_model = q.using.as_ref().map_or(q.key.span, |u| u.span);
    let codes = r.loaded.model.binary().ok_or_else(|| not_binary(&r.loaded)).at(at_model)?;
    let (index, code) = r.space(ctx, codes.as_ref())?;
    let (rows, e) = r.search(ctx, codes.as_ref(), index, &code)?;
    let mut properties = plan(&r.loaded, index, &e, rows.len());
    properties.extend(refined(codes.as_ref(), r.top));
    Ok(pairs(["property", "value"], properties))
}
