//! ADD, INSERT INTERACTION and DELETE: single-record writes.

use recodb_query::Literal;
use recodb_storage::Side;

use super::context::Context;
use crate::data;
use crate::error::Result;
use crate::result::ResultSet;
use crate::value::Value;

/// `ADD USER|ITEM key [TAGS (...)]`: one row, `added` (1 if the entity is new) and `tags`.
pub(super) fn add(ctx: &Context<'_>, side: Side, key: &Literal, tags: &[Literal]) -> Result<ResultSet> {
    let tags = tags.iter().map(|t| ctx.bind.text(t, "a tag")).collect::<Result<Vec<_>>>()?;
    let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
    let new = data::add(ctx.store(), side, &ctx.bind.key(key)?, &tags)?;
    Ok(ResultSet::single(vec![
        ("added", Value::Int(i64::from(new))),
        ("tags", Value::Int(tags.len() as i64)),
    ]))
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
    let time = time.as_ref().map(|t| ctx.bind.integer(t, "AT")).transpose()?;
    let new = data::insert(ctx.store(), &ctx.bind.key(user)?, &ctx.bind.key(item)?, weight, time)?;
    Ok(ResultSet::single(vec![("inserted", Value::Int(i64::from(new)))]))
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
