//! SHOW USERS, ITEMS, TAGS and STATS, DESCRIBE USER and ITEM, and CHECK: reading what the database holds.

use recodb_query::Literal;
use recodb_storage::Side;

use super::context::{unknown, Context};
use super::rows::{label_value, pairs};
use crate::data;
use crate::error::Result;
use crate::result::{ColumnType, ResultSet};
use crate::value::Value;

/// Rows returned by SHOW when no LIMIT is given.
pub(super) const DEFAULT_SHOW_LIMIT: usize = 100;

/// The notice for a listing cut at the default limit: how many rows there are and how to see more.
fn truncated(shown: usize, total: u64, what: &str) -> Option<String> {
    ((shown as u64) < total)
        .then(|| format!("showing the first {shown} of {total} {what}; LIMIT n shows more"))
}

/// `SHOW USERS|ITEMS [LIMIT n]`: key, label (when some entity of the side has one), interactions and
/// tags of each, in id order; a notice when the default limit cut the list.
pub(super) fn entities(ctx: &Context<'_>, side: Side, limit: Option<usize>) -> Result<ResultSet> {
    let store = ctx.store();
    let labelled = store.has_labels(side)?;
    let side_name = side.to_string();
    let mut columns = vec![(side_name.as_str(), ColumnType::Key)];
    if labelled {
        columns.push(("label", ColumnType::Text));
    }
    columns.extend([("interactions", ColumnType::Int), ("tags", ColumnType::Text)]);
    let mut set = ResultSet::new(&columns);
    for (id, key) in store.entities(side, 0, limit.unwrap_or(DEFAULT_SHOW_LIMIT))? {
        let count = store.neighbours(side, id)?.map_or(0, |b| b.len());
        let tags = store.entity_tags(side, id)?.join(", ");
        let mut row = vec![Value::Key(key)];
        if labelled {
            row.push(label_value(store, side, id)?);
        }
        row.extend([Value::Int(count as i64), Value::Text(tags)]);
        set.push(row);
    }
    let cut = match limit {
        None => truncated(set.len(), store.count(side)?, &format!("{side}s")),
        Some(_) => None,
    };
    Ok(set.with_notices(cut))
}

/// `SHOW TAGS [LIMIT n]`: every tag in use with its side and number of entities, most used first; a
/// notice when the default limit cut the list.
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
    let total = all.len() as u64;
    for (side, tag, n) in all.into_iter().take(limit.unwrap_or(DEFAULT_SHOW_LIMIT)) {
        set.push(vec![Value::Text(side.to_string()), Value::Text(tag), Value::Int(n as i64)]);
    }
    let cut = if limit.is_none() { truncated(set.len(), total, "tags") } else { None };
    Ok(set.with_notices(cut))
}

/// `SHOW STATS`: one row per figure (`stat`, `value`).
pub(super) fn stats(ctx: &Context<'_>) -> Result<ResultSet> {
    let s = data::stats(ctx.store())?;
    let rows: [(&str, String); 12] = [
        ("users", s.users.to_string()),
        ("items", s.items.to_string()),
        ("interactions", s.interactions.to_string()),
        ("held_out", s.held_out.to_string()),
        ("density", format!("{:.6}", s.density)),
        ("user_tags", s.user_tags.to_string()),
        ("item_tags", s.item_tags.to_string()),
        ("size_on_disk", s.size_on_disk.to_string()),
        ("size_data", s.size_data.to_string()),
        ("size_models", s.size_models.to_string()),
        ("size_free", s.size_free.to_string()),
        ("data_version", s.data_version.to_string()),
    ];
    Ok(pairs(["stat", "value"], rows))
}

/// `CHECK`: the integrity check, one row per count (`check`, `result`), then `problems` with how many were
/// found and one `problem` row naming each damaged structure and its key or blob. Data that cannot be
/// read at all is an error.
pub(super) fn check(ctx: &Context<'_>) -> Result<ResultSet> {
    let check = crate::db::inspect(ctx.store())?;
    let c = &check.counted;
    let counts = [
        ("users", c.users),
        ("items", c.items),
        ("interactions", c.interactions),
        ("held_out", c.holdout),
        ("tags", c.tags),
        ("blobs", c.blobs),
        ("problems", check.problems.len() as u64),
    ];
    let counts = counts.into_iter().map(|(name, n)| (name, n.to_string()));
    let problems = check.problems.into_iter().map(|problem| ("problem", problem));
    Ok(pairs(["check", "result"], counts.chain(problems)))
}

/// `DESCRIBE USER|ITEM key`: one row per property (`property`, `value`); the key is shown bare.
pub(super) fn describe(ctx: &Context<'_>, side: Side, key: &Literal) -> Result<ResultSet> {
    let bound = ctx.bind.key(key)?;
    let Some(info) = data::describe(ctx.store(), side, &bound)? else {
        return Err(unknown(ctx.store(), side, &bound)?.at(key.span));
    };
    let mut rows = vec![("key", Value::Key(info.key).to_string()), ("id", info.id.to_string())];
    if let Some(label) = info.label {
        rows.push(("label", label));
    }
    rows.push(("interactions", info.interactions.to_string()));
    if side == Side::User {
        rows.push(("held_out", info.held_out.to_string()));
    }
    rows.push(("tags", info.tags.join(", ")));
    Ok(pairs(["property", "value"], rows))
}
