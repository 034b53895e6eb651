//! SHOW and DESCRIBE: reading what the database holds.

use recodb_storage::{Key, Side};

use crate::error::{Error, Result};
use crate::result::{ColumnType, ResultSet};
use crate::value::Value;
use crate::Database;

/// Rows returned by SHOW when no LIMIT is given.
pub const DEFAULT_SHOW_LIMIT: usize = 100;

/// `SHOW USERS|ITEMS [LIMIT n]`: key, interactions and tags of each, in id order.
pub fn entities(db: &Database, side: Side, limit: Option<usize>) -> Result<ResultSet> {
    let store = db.store();
    let mut set = ResultSet::new(&[
        (&side.to_string(), ColumnType::Text),
        ("interactions", ColumnType::Int),
        ("tags", ColumnType::Text),
    ]);
    for (id, key) in store.entities(side, 0, limit.unwrap_or(DEFAULT_SHOW_LIMIT))? {
        let count = store.neighbours(side, id)?.map_or(0, |b| b.len());
        let tags = store.entity_tags(side, id)?.join(", ");
        set.push(vec![Value::Text(key.to_string()), Value::Int(count as i64), Value::Text(tags)]);
    }
    Ok(set)
}

/// `SHOW TAGS [LIMIT n]`: every tag in use with its side and number of entities, most used first.
pub fn tags(db: &Database, limit: Option<usize>) -> Result<ResultSet> {
    let mut all = Vec::new();
    for side in Side::BOTH {
        all.extend(db.store().tags(side)?.into_iter().map(|(tag, n)| (side, tag, n)));
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
pub fn stats(db: &Database) -> Result<ResultSet> {
    let s = db.stats()?;
    let mut set = ResultSet::new(&[("stat", ColumnType::Text), ("value", ColumnType::Text)]);
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
    for (name, value) in rows {
        set.push(vec![Value::from(name), Value::Text(value)]);
    }
    Ok(set)
}

/// `DESCRIBE USER|ITEM key`: one row per property (`property`, `value`).
pub fn describe(db: &Database, side: Side, key: &Key) -> Result<ResultSet> {
    let info = db.describe(side, key)?.ok_or_else(|| Error::Invalid(format!("no {side} with key {key}")))?;
    let mut set = ResultSet::new(&[("property", ColumnType::Text), ("value", ColumnType::Text)]);
    let mut rows = vec![
        ("key", info.key.to_string()),
        ("id", info.id.to_string()),
        ("interactions", info.interactions.to_string()),
    ];
    if side == Side::User {
        rows.push(("held_out", info.held_out.to_string()));
    }
    rows.push(("tags", info.tags.join(", ")));
    for (name, value) in rows {
        set.push(vec![Value::from(name), Value::Text(value)]);
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_and_describe_report_what_is_stored() {
        let db = Database::open_temporary().expect("open");
        db.add_item(10, &["genre:Comedy"]).expect("add");
        db.add_item(11, &["genre:Comedy", "genre:Drama"]).expect("add");
        db.insert_interaction(1, 10, None, None).expect("insert");
        db.insert_interaction(1, 11, None, None).expect("insert");
        let items = entities(&db, Side::Item, Some(1)).expect("show");
        assert_eq!(items.len(), 1);
        assert_eq!(items.row(0).expect("row").get::<String>("item").expect("key"), "10");
        let t = tags(&db, None).expect("tags");
        assert_eq!(t.column::<String>("tag").expect("tags"), vec!["genre:Comedy", "genre:Drama"]);
        assert_eq!(t.column::<i64>("entities").expect("counts"), vec![2, 1]);
        let d = describe(&db, Side::User, &Key::Int(1)).expect("describe");
        assert_eq!(d.row(2).expect("row").get::<String>("value").expect("value"), "2");
        let err = describe(&db, Side::User, &Key::from("nobody")).expect_err("unknown user");
        assert_eq!(err.to_string(), "no user with key 'nobody'");
        let s = stats(&db).expect("stats");
        assert_eq!(s.row(2).expect("row").get::<String>("value").expect("value"), "2");
    }
}
