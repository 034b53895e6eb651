//! ADD, INSERT INTERACTION and DELETE: single-record writes.

use recodb_storage::{Key, Side};

use crate::error::Result;
use crate::result::ResultSet;
use crate::value::Value;
use crate::Database;

/// `ADD USER|ITEM key [TAGS (...)]`: one row, `added` (1 if the entity is new) and `tags`.
pub fn add(db: &Database, side: Side, key: Key, tags: &[String]) -> Result<ResultSet> {
    let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
    let new = match side {
        Side::User => db.add_user(key, &tags)?,
        Side::Item => db.add_item(key, &tags)?,
    };
    Ok(ResultSet::single(vec![
        ("added", Value::Int(i64::from(new))),
        ("tags", Value::Int(tags.len() as i64)),
    ]))
}

/// `INSERT INTERACTION ...`: one row, `inserted` (1 if the pair is new, 0 if it was updated).
pub fn insert(
    db: &Database,
    user: Key,
    item: Key,
    weight: Option<f32>,
    time: Option<i64>,
) -> Result<ResultSet> {
    let new = db.insert_interaction(user, item, weight, time)?;
    Ok(ResultSet::single(vec![("inserted", Value::Int(i64::from(new)))]))
}

/// `DELETE INTERACTION ...`: one row, `deleted` (1 or 0).
pub fn delete_interaction(db: &Database, user: Key, item: Key) -> Result<ResultSet> {
    let existed = db.delete_interaction(user, item)?;
    Ok(ResultSet::single(vec![("deleted", Value::Int(i64::from(existed)))]))
}

/// `DELETE USER|ITEM key`: one row, `deleted` (1 or 0).
pub fn delete(db: &Database, side: Side, key: Key) -> Result<ResultSet> {
    let existed = match side {
        Side::User => db.delete_user(key)?,
        Side::Item => db.delete_item(key)?,
    };
    Ok(ResultSet::single(vec![("deleted", Value::Int(i64::from(existed)))]))
}
