//! Turning AST literals into typed values, substituting bound `?` parameters. Parameters are values,
//! never text: a bound string is a key or a path, however many quotes it holds.

use recodb_query::{Literal, LiteralValue, OptionPair};
use recodb_storage::Key;

use crate::error::{Error, Result};
use crate::value::Value;

/// Resolves literals of one statement against its bound parameters.
pub(crate) struct Binder<'a> {
    params: &'a [Value],
}

/// A literal resolved to a value: a parameter's bound value, or the literal's own.
enum Resolved<'a> {
    Literal(&'a LiteralValue),
    Bound(&'a Value),
}

impl<'a> Binder<'a> {
    pub(crate) fn new(params: &'a [Value]) -> Binder<'a> {
        Binder { params }
    }

    fn resolve<'l>(&self, lit: &'l Literal) -> Result<Resolved<'l>>
    where
        'a: 'l,
    {
        match &lit.value {
            LiteralValue::Param(i) => self.params.get(*i).map(Resolved::Bound).ok_or_else(|| {
                Error::Invalid(format!(
                    "the statement uses parameter {} but {} {} bound",
                    i + 1,
                    self.params.len(),
                    if self.params.len() == 1 { "was" } else { "were" }
                ))
            }),
            other => Ok(Resolved::Literal(other)),
        }
    }

    /// A value of any type (option values, SET values).
    pub(crate) fn value(&self, lit: &Literal) -> Result<Value> {
        Ok(match self.resolve(lit)? {
            Resolved::Bound(v) => v.clone(),
            Resolved::Literal(LiteralValue::Int(i)) => Value::Int(
                i64::try_from(*i).map_err(|_| Error::Invalid(format!("number {i} is too large here")))?,
            ),
            Resolved::Literal(LiteralValue::Float(f)) => Value::Float(*f),
            Resolved::Literal(LiteralValue::Str(s) | LiteralValue::Word(s)) => Value::Text(s.clone()),
            Resolved::Literal(LiteralValue::Bool(b)) => Value::Bool(*b),
            Resolved::Literal(LiteralValue::Param(_)) => unreachable!("parameters are resolved above"),
        })
    }

    /// A user or item key: a non-negative integer or a string.
    pub(crate) fn key(&self, lit: &Literal) -> Result<Key> {
        let bad =
            |what: String| Error::Invalid(format!("a key is a non-negative integer or a string, got {what}"));
        match self.resolve(lit)? {
            Resolved::Literal(LiteralValue::Int(i)) => {
                u64::try_from(*i).map(Key::Int).map_err(|_| bad(i.to_string()))
            }
            Resolved::Literal(LiteralValue::Str(s)) => Ok(Key::Str(s.clone())),
            Resolved::Bound(Value::Int(i)) => u64::try_from(*i).map(Key::Int).map_err(|_| bad(i.to_string())),
            Resolved::Bound(Value::Text(s)) => Ok(Key::Str(s.clone())),
            Resolved::Bound(v) => Err(bad(format!("{} {v}", v.type_name()))),
            Resolved::Literal(other) => Err(bad(format!("{other:?}"))),
        }
    }

    /// A non-negative integer (TOP, LIMIT, SEED, job ids).
    pub(crate) fn count(&self, lit: &Literal, what: &str) -> Result<u64> {
        let bad = |got: String| Error::Invalid(format!("{what} must be a non-negative integer, got {got}"));
        match self.value_or_big(lit)? {
            Ok(i) => u64::try_from(i).map_err(|_| bad(i.to_string())),
            Err(v) => Err(bad(format!("{} {v}", v.type_name()))),
        }
    }

    /// An integer (timestamps).
    pub(crate) fn integer(&self, lit: &Literal, what: &str) -> Result<i64> {
        match self.value(lit)? {
            Value::Int(i) => Ok(i),
            v => Err(Error::Invalid(format!("{what} must be an integer, got {} {v}", v.type_name()))),
        }
    }

    /// A number (weights, fractions); integers convert.
    pub(crate) fn number(&self, lit: &Literal, what: &str) -> Result<f64> {
        let v = self.value(lit)?;
        v.as_f64()
            .ok_or_else(|| Error::Invalid(format!("{what} must be a number, got {} {v}", v.type_name())))
    }

    /// A string (paths).
    pub(crate) fn text(&self, lit: &Literal, what: &str) -> Result<String> {
        match self.value(lit)? {
            Value::Text(s) => Ok(s),
            v => Err(Error::Invalid(format!("{what} must be a string, got {} {v}", v.type_name()))),
        }
    }

    /// `WITH (...)` options as names and values.
    pub(crate) fn options(&self, options: &[OptionPair]) -> Result<Vec<(String, Value)>> {
        options.iter().map(|o| Ok((o.name.value.clone(), self.value(&o.value)?))).collect()
    }

    /// An integer literal as `i128` (so `u64` counts above `i64::MAX` work), or the value it is not.
    fn value_or_big(&self, lit: &Literal) -> Result<std::result::Result<i128, Value>> {
        Ok(match self.resolve(lit)? {
            Resolved::Literal(LiteralValue::Int(i)) => Ok(*i),
            Resolved::Bound(Value::Int(i)) => Ok(i128::from(*i)),
            _ => Err(self.value(lit)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(v: LiteralValue) -> Literal {
        Literal::new(v)
    }

    #[test]
    fn literals_and_parameters_bind_to_typed_values() {
        let params = [Value::Int(42), Value::from("it's"), Value::Float(0.5)];
        let b = Binder::new(&params);
        assert_eq!(b.key(&lit(LiteralValue::Param(0))).expect("key"), Key::Int(42));
        assert_eq!(b.key(&lit(LiteralValue::Param(1))).expect("key"), Key::from("it's"));
        assert_eq!(b.key(&lit(LiteralValue::Int(u64::MAX.into()))).expect("key"), Key::Int(u64::MAX));
        assert_eq!(b.number(&lit(LiteralValue::Param(2)), "weight").expect("number"), 0.5);
        assert_eq!(b.count(&lit(LiteralValue::Int(10)), "TOP").expect("count"), 10);
    }

    #[test]
    fn wrong_types_and_missing_parameters_are_errors() {
        let params = [Value::Float(1.5)];
        let b = Binder::new(&params);
        assert!(b.key(&lit(LiteralValue::Int(-1))).is_err());
        assert!(b
            .key(&lit(LiteralValue::Param(0)))
            .expect_err("float key")
            .to_string()
            .contains("number 1.5"));
        assert_eq!(
            b.value(&lit(LiteralValue::Param(3))).expect_err("unbound").to_string(),
            "the statement uses parameter 4 but 1 was bound"
        );
        assert!(b
            .count(&lit(LiteralValue::Int(-3)), "LIMIT")
            .expect_err("negative")
            .to_string()
            .contains("LIMIT"));
        assert!(b.text(&lit(LiteralValue::Int(3)), "the path").is_err());
    }
}
