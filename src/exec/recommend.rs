//! RECOMMEND and EXPLAIN RECOMMEND: resolve the request, retrieve (and re-rank), return live items.

use std::sync::Arc;
use std::time::Instant;

use recodb_query::{Literal, Recommend};
use recodb_storage::hamming::Allowed;
use recodb_storage::{RoaringBitmap, Side, Store};

use super::context::Context;
use super::explain::{micros, not_binary, plan, refined};
use super::filter::allowed;
use super::rows::{live_rows, pairs, ShownTags};
use crate::error::{Error, Result, ResultExt};
use crate::limits::MAX_TOP;
use crate::models::catalog::Loaded;
use crate::models::folded::FoldedItems;
use crate::models::topk::rank_order;
use crate::models::Model;
use crate::result::ResultSet;
use crate::serve::{rerank, retrieve, Retrieved};

/// The TOP of a RECOMMEND, SIMILAR or EXPORT: an integer from 0 to [`MAX_TOP`].
pub(super) fn top(ctx: &Context<'_>, top: &Literal) -> Result<usize> {
    ctx.bind.count_to(top, "TOP", MAX_TOP)
}

/// A RECOMMEND resolved against the database: what both RECOMMEND and EXPLAIN RECOMMEND need.
struct Request {
    top: usize,
    user: u32,
    loaded: Arc<Loaded>,
    /// The model as it serves the current data (see [`Loaded::serving`]).
    model: Arc<dyn Model>,
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
    /// The tags shown beside each row (`WITH (tags = ...)`).
    shown_tags: ShownTags,
}

fn request(ctx: &Context<'_>, q: &Recommend) -> Result<Request> {
    let top = top(ctx, &q.top)?;
    let (_, user) = ctx.entity(Side::User, &q.user)?;
    let loaded = ctx.model_or_latest(q.using.as_ref())?;
    let rerank = match &q.rerank {
        Some(rerank) => {
            let candidates = ctx.bind.count_to(&rerank.candidates, "RERANK", MAX_TOP)?;
            if candidates < top {
                let expected = format!("from TOP ({top}) to {MAX_TOP}");
                return Err(
                    Error::invalid("RERANK", expected, candidates.to_string()).at(rerank.candidates.span)
                );
            }
            Some((candidates, ctx.model(&rerank.model)?))
        }
        None => None,
    };
    let (all, visible) = ctx.store().user_items(user)?;
    let allowed = q.filter.as_ref().map(|f| allowed(ctx, Side::Item, f)).transpose()?.map(Allowed::new);
    let excluded = if q.include_seen { RoaringBitmap::new() } else { all };
    let folded = loaded.folded_items(ctx.store())?;
    let model = loaded.serving(ctx.store())?;
    let seen = visible.iter().collect();
    let shown_tags = ShownTags::from_options(ctx, &q.options, "RECOMMEND")?;
    Ok(Request { top, user, loaded, model, seen, excluded, allowed, rerank, folded, shown_tags })
}

impl Request {
    /// The first stage: the `wanted` best items by the request's model.
    fn retrieve(&self, wanted: usize) -> Result<Retrieved> {
        let (model, folded) = (self.model.as_ref(), self.folded.as_deref());
        retrieve(model, folded, self.user, &self.seen, wanted, self.allowed.as_ref(), &self.excluded)
    }

    /// The `wanted` items with the most users, allowed and not excluded; ties in ascending id order.
    fn popular(&self, store: &Store, wanted: usize) -> Result<Vec<(u32, f64)>> {
        let mut counts = Vec::new();
        for item in 0..store.id_bound(Side::Item)? {
            if self.excluded.contains(item) || self.allowed.as_ref().is_some_and(|a| !a.contains(item)) {
                continue;
            }
            let users = store.neighbours(Side::Item, item)?.map_or(0, |u| u.len());
            if users > 0 {
                counts.push((item, users as f32));
            }
        }
        counts.sort_by(rank_order);
        counts.truncate(wanted);
        Ok(counts.into_iter().map(|(item, users)| (item, f64::from(users))).collect())
    }
}

/// `RECOMMEND user key TOP n [USING m] [RERANK c USING f] [WHERE f] [INCLUDE SEEN] [WITH (tags = ...)]`:
/// rows of rank, item, label (when items have them), score and the chosen tags (when asked), best first; equal scores in ascending item id order. The user's items (held out ones too)
/// are left out unless INCLUDE SEEN. A model with binary codes is searched through its Hamming index
/// (filters pushed down, exact); any other scores every item. With RERANK, the model's best `c` items
/// are ordered by model `f`'s scores, which the rows then carry.
///
/// A user with no training interactions gives most models nothing to score from (a model that places
/// users from their tags scores one with tags): such a user gets the most popular items (by users,
/// held-out interactions included) under the same filter and exclusions, with a notice saying so.
/// Without USING, a notice names the model that answered.
pub(super) fn recommend(ctx: &Context<'_>, q: &Recommend) -> Result<ResultSet> {
    let r = request(ctx, q)?;
    let mut set = if !r.model.scores_user(r.user, &r.seen) {
        let mut set = live_rows(ctx.store(), Side::Item, r.top, &r.shown_tags, |wanted| {
            r.popular(ctx.store(), wanted)
        })?;
        set.push_notice(format!(
            "user {} has no training interactions, so no model can score items for it: these are the most \
             popular items (scored by their number of users)",
            ctx.bind.key(&q.user)?
        ));
        set
    } else {
        match &r.rerank {
            None => live_rows(ctx.store(), Side::Item, r.top, &r.shown_tags, |wanted| {
                Ok(r.retrieve(wanted)?.items)
            })?,
            Some((candidates, fine)) => {
                let retrieved = r.retrieve(*candidates)?;
                let ranked = rerank(fine.serving(ctx.store())?.as_ref(), r.user, &r.seen, &retrieved.items)?;
                live_rows(ctx.store(), Side::Item, r.top, &r.shown_tags, |_| Ok(ranked.clone()))?
            }
        }
    };
    if q.using.is_none() {
        set.push_notice(answered_by(&r.loaded));
    }
    Ok(set)
}

/// The notice for a statement without USING: which model answered.
pub(super) fn answered_by(loaded: &Loaded) -> String {
    format!(
        "answered by model '{}' ({}), the most recently trained; USING name picks another",
        loaded.record.name, loaded.record.algorithm
    )
}

/// `EXPLAIN RECOMMEND ...`: how the Hamming index answers it, one row per property (see
/// [`plan`]), the items folded in since training, then with RERANK the second stage (model,
/// candidates, time). An error for a model without binary codes, which simply scores every item.
pub(super) fn explain(ctx: &Context<'_>, q: &Recommend) -> Result<ResultSet> {
    let r = request(ctx, q)?;
    let at_model = q.using.as_ref().map_or(q.user.span, |u| u.span);
    let codes = r.loaded.model.binary().ok_or_else(|| not_binary(&r.loaded)).at(at_model)?;
    let index = codes.item_index();
    let started = Instant::now();
    let wanted = r.rerank.as_ref().map_or(r.top, |(candidates, _)| *candidates);
    let retrieved = r.retrieve(wanted)?;
    let e = retrieved.explain.ok_or_else(|| not_binary(&r.loaded)).at(at_model)?;
    let mut properties = plan(&r.loaded, index, &e, retrieved.items.len());
    properties.extend(refined(codes.as_ref(), wanted));
    let folded = r.folded.as_ref().map_or(0, |f| f.len());
    properties.push(("folded_in_items", format!("{folded} (searched beside the index)")));
    if let Some((_, fine)) = &r.rerank {
        let at = Instant::now();
        let ranked = rerank(fine.serving(ctx.store())?.as_ref(), r.user, &r.seen, &retrieved.items)?;
        let rerank_time = at.elapsed();
        properties.extend([
            ("rerank_model", format!("{} ({})", fine.record.name, fine.record.algorithm)),
            ("rerank_candidates", ranked.len().to_string()),
            ("rerank_microseconds", micros(rerank_time)),
            ("total_microseconds", micros(started.elapsed())),
        ]);
    }
    Ok(pairs(["property", "value"], properties))
}
