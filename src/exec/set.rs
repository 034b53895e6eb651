//! SET: database options, persisted in the database.

use recodb_query::{Ident, Literal};
use recodb_storage::{StorageError, DURABILITY_SETTING};

use super::context::Context;
use crate::error::{Error, Object, Result, ResultExt};
use crate::result::ResultSet;
use crate::value::Value;

/// The options SET accepts, with the values each takes.
pub(super) const OPTIONS: [(&str, &[&str]); 1] = [(DURABILITY_SETTING, &["full", "relaxed"])];

/// `SET name = value`: validates and persists the option; one row with `option` and `value`. An unknown
/// option is a not-found error at its name (with a suggestion); a value it does not take an
/// invalid-argument error at the value.
pub(super) fn set(ctx: &Context<'_>, name: &Ident, value: &Literal) -> Result<ResultSet> {
    let (option, text) = check(&name.value, &ctx.bind.value(value)?).map_err(|e| match e.kind() {
        crate::ErrorKind::NotFound { .. } => e.at(name.span),
        _ => e.at(value.span),
    })?;
    ctx.store()
        .write(|txn| -> Result<(), StorageError> {
            txn.set_setting(option, &text);
            Ok(())
        })
        .at(name.span)?;
    Ok(ResultSet::single(vec![("option", Value::from(option)), ("value", Value::Text(text))]))
}

/// The option `name` names and the value it is set to, or why not.
fn check(name: &str, value: &Value) -> Result<(&'static str, String)> {
    let Some((option, allowed)) = OPTIONS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) else {
        let names: Vec<&str> = OPTIONS.iter().map(|o| o.0).collect();
        return Err(Error::not_found(
            Object::Option,
            name,
            format!("unknown option '{name}'"),
            names.iter().copied(),
            &format!("options: {}", names.join(", ")),
        ));
    };
    let text = value.as_str().map(str::to_ascii_lowercase);
    match text.filter(|t| allowed.contains(&t.as_str())) {
        Some(text) => Ok((option, text)),
        None => {
            let quoted: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
            Err(Error::invalid(*option, format!("one of {}", quoted.join(", ")), value.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn options_and_values_are_checked() {
        assert_eq!(
            check("DURABILITY", &Value::from("Relaxed")).expect("valid"),
            ("durability", "relaxed".into())
        );
        let err = check("durability", &Value::from("sometimes")).expect_err("bad value");
        assert_eq!(err.message(), "durability must be one of 'full', 'relaxed', got sometimes");
        assert!(matches!(err.kind(), ErrorKind::InvalidArgument { .. }));
        let err = check("durabilty", &Value::from("full")).expect_err("misspelt option");
        assert_eq!(
            err.message(),
            "unknown option 'durabilty'; did you mean 'durability'? (options: durability)"
        );
        assert!(matches!(err.kind(), ErrorKind::NotFound { what: Object::Option, .. }));
    }
}
