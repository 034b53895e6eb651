//! SET: database options, persisted in the database.

use recodb_storage::{StorageError, DURABILITY_SETTING};

use crate::error::{Error, Result};
use crate::result::ResultSet;
use crate::value::Value;
use crate::Database;

/// The options SET accepts, with the values each takes.
pub const OPTIONS: [(&str, &[&str]); 1] = [(DURABILITY_SETTING, &["full", "relaxed"])];

/// `SET name = value`: validates and persists the option; one row with `option` and `value`.
pub fn set(db: &Database, name: &str, value: &Value) -> Result<ResultSet> {
    let Some((_, allowed)) = OPTIONS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) else {
        let names: Vec<&str> = OPTIONS.iter().map(|o| o.0).collect();
        return Err(Error::Invalid(format!("unknown option '{name}'; options: {}", names.join(", "))));
    };
    let text = value.as_str().map(str::to_ascii_lowercase);
    let Some(text) = text.filter(|t| allowed.contains(&t.as_str())) else {
        return Err(Error::Invalid(format!(
            "option '{name}' takes one of: {}; got {value}",
            allowed.join(", ")
        )));
    };
    let name = name.to_ascii_lowercase();
    db.store().write(|txn| -> Result<(), StorageError> {
        txn.set_setting(&name, &text);
        Ok(())
    })?;
    Ok(ResultSet::single(vec![("option", Value::Text(name)), ("value", Value::Text(text))]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use recodb_storage::Durability;

    #[test]
    fn durability_switches_and_bad_values_are_refused() {
        let db = Database::open_temporary().expect("open");
        set(&db, "DURABILITY", &Value::from("relaxed")).expect("set");
        assert_eq!(db.store().durability(), Durability::Relaxed);
        let err = set(&db, "durability", &Value::from("sometimes")).expect_err("bad value");
        assert_eq!(err.to_string(), "option 'durability' takes one of: full, relaxed; got sometimes");
        let err = set(&db, "colour", &Value::from("red")).expect_err("bad option");
        assert_eq!(err.to_string(), "unknown option 'colour'; options: durability");
        set(&db, "durability", &Value::from("full")).expect("set");
        assert_eq!(db.store().durability(), Durability::Full);
    }
}
