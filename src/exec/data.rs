//! ADD, INSERT INTERACTION and DELETE: single-record writes.

use recodb_query::Literal;
use recodb_storage::{limits, Key, Side};

use super::context::{twin, twin_explained, Context};
use crate::data;
use crate::error::{Error, Result, ResultExt};
use crate::result::ResultSet;
use crate::value::Value;

/// `ADD USER|ITEM key [LABEL 'text'] [TAGS (...)]`: one row, `added` (1 if the entity is new) and
/// `tags`.
pub(super) fn add(
    ctx: &Context<'_>,
    side: Side,
    key: &Literal,
    label: Option<&Literal>,
    tags: &[Literal],
) -> Result<ResultSet> {
    let tag_literals = tags;
    let tags = tags.iter().map(|t| ctx.bind.text(t, "a tag")).collect::<Result<Vec<_>>>()?;
    for (tag, literal) in tags.iter().zip(tag_literals) {
        within(limits::check_tag(tag), literal)?;
    }
    if let Some(past) = tag_literals.get(limits::MAX_TAGS_PER_ENTITY) {
        within(limits::check_tag_count(tags.len()), past)?;
    }
    let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
    let label = match label {
        Some(literal) => {
            let label = ctx.bind.text(literal, "a label")?;
            within(limits::check_label(&label), literal)?;
            Some(label)
        }
        None => None,
    };
    let key = bound_key(ctx, key)?;
    let notices = twin_notices(ctx, &[(side, &key)])?;
    let new = data::add(ctx.store(), side, &key, label.as_deref(), &tags)?;
    let set = ResultSet::single(vec![
        ("added", Value::Int(i64::from(new))),
        ("tags", Value::Int(tags.len() as i64)),
    ]);
    Ok(set.with_notices(notices))
}

/// `INSERT INTERACTION ...`: one row, `inserted` (1 if the pair is new, 0 if it was updated).
pub(super) fn insert(
    ctx: &Context<'_>,
    user: &Literal,
    item: &Literal,
    weight: &Option<Literal>,
    time: &Option<Literal>,
) -> Result<ResultSet> {
    let weight = weight.as_ref().map(|w| ctx.bind.number(w, "WEIGHT").map(|w| w as f32)).transpose()?;
    let time = time
        .as_ref()
        .map(|t| ctx.bind.integer(t, "AT").and_then(|v| data::check_time("AT", v).at(t.span)))
        .transpose()?;
    let (user, item) = (bound_key(ctx, user)?, bound_key(ctx, item)?);
    let notices = twin_notices(ctx, &[(Side::User, &user), (Side::Item, &item)])?;
    let new = data::insert(ctx.store(), &user, &item, weight, time)?;
    Ok(ResultSet::single(vec![("inserted", Value::Int(i64::from(new)))]).with_notices(notices))
}

/// A key a write may create: bound, and within [`limits::MAX_KEY_BYTES`] (an error at the literal).
fn bound_key(ctx: &Context<'_>, literal: &Literal) -> Result<Key> {
    let key = ctx.bind.key(literal)?;
    within(limits::check_key(&key), literal)?;
    Ok(key)
}

/// Fails at `literal` when a value the statement would store is over its limit.
fn within(check: recodb_storage::Result<()>, literal: &Literal) -> Result<()> {
    check.map_err(|e| Error::from(e).at(literal.span))
}

/// Notices for keys about to be created while a key of the other type that reads the same exists
/// (`'196'` where user 196 exists): almost always a quoting slip that splits one user in two.
fn twin_notices(ctx: &Context<'_>, keys: &[(Side, &Key)]) -> Result<Vec<String>> {
    let mut notices = Vec::new();
    for &(side, key) in keys {
        if ctx.store().id_of(side, key)?.is_some() {
            continue;
        }
        if let Some(other) = twin(ctx.store(), side, key)? {
            notices.push(format!(
                "created {side} {key} while {side} {other} exists; {}",
                twin_explained(key, &other)
            ));
        }
    }
    Ok(notices)
}

/// `DELETE INTERACTION ...`: one row, `deleted` (1 or 0).
pub(super) fn delete_interaction(ctx: &Context<'_>, user: &Literal, item: &Literal) -> Result<ResultSet> {
    let existed = data::delete_interaction(ctx.store(), &ctx.bind.key(user)?, &ctx.bind.key(item)?)?;
    Ok(ResultSet::single(vec![("deleted", Value::Int(i64::from(existed)))]))
}

/// `DELETE USER|ITEM key`: one row, `deleted` (1 or 0).
pub(super) fn delete(ctx: &Context<'_>, side: Side, key: &Literal) -> Result<ResultSet> {
    let existed = data::delete(ctx.store(), side, &ctx.bind.key(key)?)?;
    Ok(ResultSet::single(vec![("deleted", Value::Int(i64::from(existed)))]))
}
