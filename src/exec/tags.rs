//! RECOMMEND TAGS and EVALUATE ... TAGS: tags ranked by how near a user's (or an item's) point they are
//! placed ([`crate::models::TagPoints::scores`]), for a model that places tags in its space
//! ([`FromTags`]); see docs/language.md §3 and docs/evaluation.md §9c.

use std::sync::Arc;
use std::time::Instant;

use recodb_query::{Ident, RecommendTags, Source};
use recodb_storage::Side;

use super::bind::BoundOption;
use super::context::Context;
use super::evaluate::{seed_and_match, table, test_file, trained_before_split, SEED_AND_MATCH};
use super::recommend::{answered_by, top};
use super::side_of;
use crate::error::{Error, Result, ResultExt};
use crate::eval::cold::item_tags;
use crate::eval::tags::{self, Ranker};
use crate::eval::test_set;
use crate::models::catalog::Loaded;
use crate::models::topk::rank_order;
use crate::models::{FromTags, Model, Similarity};
use crate::result::{ColumnType, ResultSet};
use crate::value::Value;

/// How `model` places tags, or an unsupported error naming the model and its algorithm.
fn placement<'m>(loaded: &Loaded, model: &'m dyn Model, statement: &str) -> Result<&'m dyn FromTags> {
    model.tag_placement().ok_or_else(|| {
        let r = &loaded.record;
        Error::unsupported(format!(
            "{statement} needs a model that places tags in its space (twotower, or cml WITH (features = true)); '{}' ({}) has no tag points",
            r.name, r.algorithm
        ))
    })
}

/// `RECOMMEND TAGS FOR USER|ITEM key TOP n [USING m] [WITH (match = 'prefix')]`: rows of rank, tag and
/// score ([`crate::models::TagPoints::scores`] for the user's or item's point: `−‖p − t‖²` for a tag at
/// one point `t`, a soft minimum of such terms for a tag placed as its items' points), nearest first,
/// equal scores in tag-name order. The tags ranked are the item tags carried by at least one item that
/// the model was trained with, whose names start with `match`; for an item, those it does not carry.
/// A user is placed as RECOMMEND places it (users added after training included); a user the model
/// cannot place (no training interactions, no tag it knows) gets the tags carried by the most items
/// (scored by that number), with a notice.
pub(super) fn recommend(ctx: &Context<'_>, q: &RecommendTags) -> Result<ResultSet> {
    let top = top(ctx, &q.top)?;
    let options = ctx.bind.options(&q.options)?;
    let (_, prefix) = seed_and_match(&options, "RECOMMEND TAGS", &["match"])?;
    let side = side_of(q.side);
    let (_, id) = ctx.entity(side, &q.key)?;
    let loaded = ctx.model_or_latest(q.using.as_ref())?;
    let model = loaded.serving(ctx.store())?;
    let at_model = q.using.as_ref().map_or(q.key.span, |u| u.span);
    let placement = placement(&loaded, model.as_ref(), "RECOMMEND TAGS").at(at_model)?;
    let store = ctx.store();
    let own = if side == Side::Item { store.entity_tags(Side::Item, id)? } else { Vec::new() };
    let mut candidates = Vec::new();
    for (name, items) in store.tags(Side::Item)? {
        if name.starts_with(&prefix) && !own.contains(&name) {
            if let Some(tag) = store.tag_id(Side::Item, &name)? {
                candidates.push((tag, name, items));
            }
        }
    }
    let seen: Vec<u32> = match side {
        Side::User => store.user_items(id)?.1.iter().collect(),
        Side::Item => Vec::new(),
    };
    let mut notices = Vec::new();
    let point = match side {
        Side::User if !model.scores_user(id, &seen) => None,
        Side::User => placement.point(Similarity::User(id, &seen)),
        Side::Item => Some(placement.point(Similarity::Item(id)).ok_or_else(|| {
            Error::unsupported(format!(
                "the item has no point in '{}': it arrived after training without a tag the model knows",
                loaded.record.name
            ))
            .at(q.key.span)
        })?),
    };
    let mut scored: Vec<(u32, f32)> = match point {
        Some(point) => {
            let ids: Vec<u32> = candidates.iter().map(|c| c.0).collect();
            let mut scores = vec![0.0f32; ids.len()];
            placement.tag_points().scores(&point, &ids, &mut scores);
            (0..ids.len() as u32).zip(scores).filter(|(_, s)| s.is_finite()).collect()
        }
        None => {
            notices.push(format!(
                "user {} has no training interactions and no tag the model knows, so nothing places it: these \
                 are the tags carried by the most items (scored by their number of items)",
                ctx.bind.key(&q.key)?
            ));
            (0..candidates.len() as u32).zip(candidates.iter().map(|c| c.2 as f32)).collect()
        }
    };
    scored.sort_unstable_by(rank_order);
    let mut set =
        ResultSet::new(&[("rank", ColumnType::Int), ("tag", ColumnType::Text), ("score", ColumnType::Float)]);
    for (rank, (k, score)) in scored.into_iter().take(top).enumerate() {
        let name = candidates[k as usize].1.clone();
        set.push(vec![Value::Int(rank as i64 + 1), Value::Text(name), Value::Float(f64::from(score))]);
    }
    if q.using.is_none() {
        notices.push(answered_by(&loaded));
    }
    Ok(set.with_notices(notices))
}

/// `EVALUATE model [, ...] TAGS [AGAINST 'test' [FORMAT f]] [AT k, ...] [WITH (match = 'prefix', seed =
/// s)]`: tag recommendation (see [`tags`]) against the tags of each user's test items (the holdout, or
/// the file), among the item tags whose names start with `match`. One column per model, then
/// `frequent_tags` (the user's most frequent tags, equal counts in the order of `seed`): `precision`,
/// `recall` and `ndcg` per cut-off, then `users` (evaluated), `users_without_training_data`,
/// `users_without_test_tags` (left out), `tags` (ranked) and `seconds`. A model that places no tags is
/// an unsupported error at its name.
pub(super) fn evaluate(
    ctx: &Context<'_>,
    models: &[Ident],
    against: Option<&Source>,
    cutoffs: &[usize],
    options: &[BoundOption],
) -> Result<ResultSet> {
    let (seed, prefix) = seed_and_match(options, "EVALUATE ... TAGS", &SEED_AND_MATCH)?;
    let loaded = models.iter().map(|m| ctx.model(m)).collect::<Result<Vec<Arc<Loaded>>>>()?;
    let serving = loaded.iter().map(|l| l.serving(ctx.store())).collect::<Result<Vec<_>>>()?;
    let placements = loaded
        .iter()
        .zip(&serving)
        .zip(models)
        .map(|((l, m), name)| placement(l, m.as_ref(), "EVALUATE ... TAGS").at(name.span))
        .collect::<Result<Vec<_>>>()?;
    let tests = match against {
        Some(source) => test_file(ctx, source)?,
        None => test_set::from_holdout(ctx.store())?,
    };
    let snapshot = ctx.snapshot()?;
    let tags = item_tags(ctx.store(), &prefix, ctx.store().id_bound(Side::Item)?)?;
    let ids = tags
        .names
        .iter()
        .map(|name| {
            ctx.store().tag_id(Side::Item, name)?.ok_or_else(|| Error::internal("a listed tag has no id"))
        })
        .collect::<Result<Vec<u32>>>()?;
    let (users, without_tags) = tags::test_users(&tests, &tags, &snapshot);
    let mut rankers = Vec::with_capacity(placements.len() + 1);
    let points: Vec<_> = placements.iter().map(|p| p.tag_points()).collect();
    rankers.extend(placements.iter().zip(&points).map(|(&model, points)| Ranker::Model {
        model,
        points,
        ids: &ids,
    }));
    rankers.push(Ranker::Frequent(&tags.rows, seed));
    let unknown = users.iter().filter(|u| u.user.is_none()).count();
    let mut columns = Vec::with_capacity(rankers.len());
    for ranker in rankers {
        let started = Instant::now();
        let report = tags::evaluate(ranker, &users, tags.names.len(), cutoffs);
        let mut rows = Vec::new();
        for (name, values) in
            [("precision", &report.precision), ("recall", &report.recall), ("ndcg", &report.ndcg)]
        {
            rows.extend(values.iter().zip(cutoffs).map(|(&v, &k)| (name, Some(k), v)));
        }
        rows.extend([
            ("users", None, users.len() as f64),
            ("users_without_training_data", None, unknown as f64),
            ("users_without_test_tags", None, without_tags as f64),
            ("tags", None, tags.names.len() as f64),
            ("seconds", None, started.elapsed().as_secs_f64()),
        ]);
        columns.push(rows);
    }
    let mut notices = Vec::new();
    if against.is_none() {
        for model in &loaded {
            notices.extend(trained_before_split(ctx, model)?);
        }
    }
    let mut value_columns: Vec<&str> = models.iter().map(|m| m.value.as_str()).collect();
    value_columns.push("frequent_tags");
    Ok(table(&value_columns, &columns).with_notices(notices))
}
