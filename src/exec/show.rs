//! SHOW USERS, ITEMS, TAGS and STATS, and DESCRIBE USER and ITEM: reading what the database holds.

use recodb_query::Literal;
use recodb_storage::Side;

use super::context::{unknown, Context};
use super::rows::pairs;
use crate::data;
use crate::error::Result;
use crate::result::{ColumnType, ResultSet};
use crate::value::Value;

/// Rows returned by SHOW when no LIMIT is given.
pub(super) const DEFAULT_SHOW_LIMIT: usize = 100;

/// `SHOW USERS|ITEMS [LIMIT n]`: key, interactions and tags of each, in id order.
pub(super) fn entities(ctx: &Context<'_>, side: Side, limit: Option<usize>) -> Result<ResultSet> {
    let store = ctx.store();
    let mut set = ResultSet::new(&[
        (&side.to_string(), ColumnType::Key),
        ("interactions", ColumnType::Int),
        ("tags", ColumnType::Text),
    ]);
    for (id, key) in store.entities(side, 0, limit.unwrap_or(DEFAULT_SHOW_LIMIT))? {
        let count = store.neighbours(side, id)?.map_or(0, |b| b.len());
        let tags = store.entity_tags(side, id)?.join(", ");
        set.push(vec![Value::Key(key), Value::Int(count as i64), Value::Text(tags)]);
    }
    Ok(set)
}

/// `SHOW TAGS [LIMIT n]`: every tag in use with its side and number of entities, most used first.
pub(super) fn tags(ctx: &Context<'_>, limit: Option<usize>) -> Result<ResultSet> {
    let mut all = Vec::new();
    for side in Side::BOTH {
        all.extend(ctx.store().tags(side)?.into_iter().map(|(tag, n)| (side, tag, n)));
    }
    all.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (a.0, &a.1).cmp(&(b.0, &b.1))));
    let mut set = ResultSet::new(&[
        ("side", ColumnType::Text),
        ("tag", ColumnType::Text),
        ("entities", ColumnType::Int),
    ]);
    for (side, tag, n) in all.into_iter().take(limit.unwrap_or(DEFAULT_SHOW_LIMIT)) {
        set.push(vec![Value::Text(side.to_string()), Value::Text(tag), Value::Int(n as i64)]);
    }
    Ok(set)
}

/// `SHOW STATS`: one row per figure (`stat`, `value`).
pub(super) fn stats(ctx: &Context<'_>) -> Result<ResultSet> {
    let s = data::stats(ctx.store())?;
    let rows: [(&str, String); 9] = [
        ("users", s.users.to_string()),
        ("items", s.items.to_string()),
        ("interactions", s.interactions.to_string()),
        ("held_out", s.held_out.to_string()),
        ("density", format!("{:.6}", s.density)),
        ("user_tags", s.user_tags.to_string()),
        ("item_tags", s.item_tags.to_string()),
        ("size_on_disk", s.size_on_disk.to_string()),
        ("data_version", s.data_version.to_string()),
    ];
    Ok(pairs(["stat", "value"], rows))
}

/// `DESCRIBE USER|ITEM key`: one row per property (`property`, `value`); the key is shown bare.
pub(super) fn describe(ctx: &Context<'_>, side: Side, key: &Literal) -> Result<ResultSet> {
    let bound = ctx.bind.key(key)?;
    let Some(info) = data::describe(ctx.store(), side, &bound)? else {
        return Err(unknown(side, &bound).at(key.span));
    };
    let mut rows = vec![
        ("key", Value::Key(info.key).to_string()),
        ("id", info.id.to_string()),
        ("interactions", info.interactions.to_string()),
    ];
    if side == Side::User {
        rows.push(("held_out", info.held_out.to_string()));
    }
    rows.push(("tags", info.tags.join(", ")));
    Ok(pairs(["property", "value"], rows))
}
