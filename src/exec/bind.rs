//! Turning AST literals into typed values, substituting bound `?` parameters. Parameters are values,
//! never text: a bound string is a key or a path, however many quotes it holds. A value of the wrong
//! type or out of range is an [`ErrorKind::InvalidArgument`](crate::ErrorKind) pointed at the literal
//! (or the `?`) in the statement text.

use recodb_query::{Literal, LiteralValue, OptionPair, Span};
use recodb_storage::Key;

use crate::error::{Error, ErrorKind, Result, ResultExt};
use crate::value::Value;

/// Resolves literals of one statement against its bound parameters.
#[derive(Clone, Copy)]
pub(crate) struct Binder<'a> {
    params: &'a [Value],
}

/// A `WITH (name = value)` option with its value bound, and where both were written.
#[derive(Debug, Clone)]
pub(crate) struct BoundOption {
    /// The option's name, as written (bare names are lower-cased by the parser).
    pub name: String,
    /// Its value.
    pub value: Value,
    /// Where the name was written.
    pub name_span: Span,
    /// Where the value was written.
    pub value_span: Span,
    /// Where `name = value` was written.
    pub span: Span,
}

/// Names and values of bound options, as the library's typed calls take them.
pub(crate) fn pairs(options: &[BoundOption]) -> Vec<(String, Value)> {
    options.iter().map(|o| (o.name.clone(), o.value.clone())).collect()
}

/// Points an error about one of `options` at it: an unknown name at the name, a bad value at the value,
/// an import error about an option at the whole `name = value`. Other errors are returned unchanged.
pub(crate) fn locate(error: Error, options: &[BoundOption]) -> Error {
    let find = |name: &str| options.iter().find(|o| o.name.eq_ignore_ascii_case(name));
    let span = match error.kind() {
        ErrorKind::NotFound { key, .. } => find(key).map(|o| o.name_span),
        ErrorKind::InvalidArgument { name, .. } => find(name).map(|o| o.value_span),
        ErrorKind::Import(e) => e.option.as_deref().and_then(find).map(|o| o.span),
        _ => None,
    };
    match span {
        Some(span) => error.at(span),
        None => error,
    }
}

/// A literal resolved to a value: a parameter's bound value, or the literal's own.
enum Resolved<'a> {
    Literal(&'a LiteralValue),
    Bound(&'a Value),
}

/// A value as an error shows it: strings quoted, numbers and words as written.
pub(super) fn shown(value: &Value) -> String {
    match value {
        Value::Text(s) => format!("'{s}'"),
        other => other.to_string(),
    }
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
                let bound = self.params.len();
                let message = format!(
                    "the statement uses parameter {} but {bound} {} bound",
                    i + 1,
                    if bound == 1 { "was" } else { "were" }
                );
                let kind = ErrorKind::InvalidArgument {
                    name: format!("parameter {}", i + 1),
                    expected: "a bound value".into(),
                    got: format!("{bound} bound"),
                };
                Error::new(kind, message).at(lit.span)
            }),
            other => Ok(Resolved::Literal(other)),
        }
    }

    /// A value of any type (option values, SET values).
    pub(crate) fn value(&self, lit: &Literal) -> Result<Value> {
        Ok(match self.resolve(lit)? {
            Resolved::Bound(v) => v.clone(),
            Resolved::Literal(LiteralValue::Int(i)) => Value::Int(
                i64::try_from(*i)
                    .map_err(|_| Error::invalid("a number here", "within 64 bits", i.to_string()))
                    .at(lit.span)?,
            ),
            Resolved::Literal(LiteralValue::Float(f)) => Value::Float(*f),
            Resolved::Literal(LiteralValue::Str(s) | LiteralValue::Word(s)) => Value::Text(s.clone()),
            Resolved::Literal(LiteralValue::Bool(b)) => Value::Bool(*b),
            Resolved::Literal(LiteralValue::Param(_)) => {
                return Err(Error::internal("a parameter survived resolution").at(lit.span))
            }
        })
    }

    /// A user or item key: a non-negative integer or a string, or a key a result set returned.
    pub(crate) fn key(&self, lit: &Literal) -> Result<Key> {
        let bad =
            |got: String| Error::invalid("a key", "a non-negative integer or a string", got).at(lit.span);
        match self.resolve(lit)? {
            Resolved::Literal(LiteralValue::Int(i)) => {
                u64::try_from(*i).map(Key::Int).map_err(|_| bad(i.to_string()))
            }
            Resolved::Literal(LiteralValue::Str(s)) => Ok(Key::Str(s.clone())),
            Resolved::Bound(Value::Int(i)) => u64::try_from(*i).map(Key::Int).map_err(|_| bad(i.to_string())),
            Resolved::Bound(Value::Text(s)) => Ok(Key::Str(s.clone())),
            Resolved::Bound(Value::Key(key)) => Ok(key.clone()),
            Resolved::Bound(v) => Err(bad(shown(v))),
            Resolved::Literal(_) => Err(bad(shown(&self.value(lit)?))),
        }
    }

    /// A non-negative integer (LIMIT, SEED, job ids).
    pub(crate) fn count(&self, lit: &Literal, what: &str) -> Result<u64> {
        self.count_at_most(lit, what, u64::MAX)
    }

    /// A non-negative integer of at most `max` (TOP, RERANK, AT), as a `usize`.
    pub(crate) fn count_to(&self, lit: &Literal, what: &str, max: u64) -> Result<usize> {
        let n = self.count_at_most(lit, what, max)?;
        usize::try_from(n)
            .map_err(|_| Error::invalid(what, format!("at most {}", usize::MAX), n.to_string()).at(lit.span))
    }

    fn count_at_most(&self, lit: &Literal, what: &str, max: u64) -> Result<u64> {
        let expected = if max == u64::MAX {
            "a non-negative integer".to_string()
        } else {
            format!("an integer from 0 to {max}")
        };
        let bad = |got: String| Error::invalid(what, expected.clone(), got).at(lit.span);
        let n = match self.resolve(lit)? {
            Resolved::Literal(LiteralValue::Int(i)) => u64::try_from(*i).map_err(|_| bad(i.to_string()))?,
            Resolved::Bound(Value::Int(i)) => u64::try_from(*i).map_err(|_| bad(i.to_string()))?,
            _ => return Err(bad(shown(&self.value(lit)?))),
        };
        if n > max {
            return Err(bad(n.to_string()));
        }
        Ok(n)
    }

    /// An integer (timestamps).
    pub(crate) fn integer(&self, lit: &Literal, what: &str) -> Result<i64> {
        match self.value(lit)? {
            Value::Int(i) => Ok(i),
            v => Err(Error::invalid(what, "an integer", shown(&v)).at(lit.span)),
        }
    }

    /// A finite number (weights); integers convert.
    pub(crate) fn number(&self, lit: &Literal, what: &str) -> Result<f64> {
        let v = self.value(lit)?;
        v.as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| Error::invalid(what, "a number", shown(&v)).at(lit.span))
    }

    /// A string (paths, tags).
    pub(crate) fn text(&self, lit: &Literal, what: &str) -> Result<String> {
        match self.value(lit)? {
            Value::Text(s) => Ok(s),
            v => Err(Error::invalid(what, "a string", shown(&v)).at(lit.span)),
        }
    }

    /// `WITH (...)` options with their values bound and their positions.
    pub(crate) fn options(&self, options: &[OptionPair]) -> Result<Vec<BoundOption>> {
        options
            .iter()
            .map(|o| {
                Ok(BoundOption {
                    name: o.name.value.clone(),
                    value: self.value(&o.value)?,
                    name_span: o.name.span,
                    value_span: o.value.span,
                    span: o.span,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use recodb_query::Location;

    fn lit(v: LiteralValue) -> Literal {
        Literal::new(v)
    }

    fn at(v: LiteralValue, column: usize) -> Literal {
        let start = Location { offset: column - 1, line: 1, column };
        let end = Location { offset: column + 1, line: 1, column: column + 2 };
        Literal { value: v, span: Span::new(start, end) }
    }

    #[test]
    fn literals_and_parameters_bind_to_typed_values() {
        let params = [Value::Int(42), Value::from("it's"), Value::Float(0.5), Value::Key(Key::from("k7"))];
        let b = Binder::new(&params);
        assert_eq!(b.key(&lit(LiteralValue::Param(3))).expect("key from a result"), Key::from("k7"));
        assert_eq!(b.key(&lit(LiteralValue::Param(0))).expect("key"), Key::Int(42));
        assert_eq!(b.key(&lit(LiteralValue::Param(1))).expect("key"), Key::from("it's"));
        assert_eq!(b.key(&lit(LiteralValue::Int(u64::MAX.into()))).expect("key"), Key::Int(u64::MAX));
        assert_eq!(b.number(&lit(LiteralValue::Param(2)), "weight").expect("number"), 0.5);
        assert_eq!(b.count(&lit(LiteralValue::Int(10)), "TOP").expect("count"), 10);
        assert_eq!(b.count_to(&lit(LiteralValue::Int(10)), "TOP", 10).expect("count"), 10);
    }

    #[test]
    fn wrong_values_are_invalid_arguments_pointed_at_the_literal() {
        let params = [Value::Float(1.5)];
        let b = Binder::new(&params);
        let err = b.key(&at(LiteralValue::Int(-1), 7)).expect_err("negative key");
        assert!(
            matches!(err.kind(), ErrorKind::InvalidArgument { name, got, .. } if name == "a key" && got == "-1")
        );
        assert_eq!(err.span().map(|s| s.start.column), Some(7));
        let err = b.key(&at(LiteralValue::Param(0), 3)).expect_err("float key");
        assert_eq!(err.message(), "a key must be a non-negative integer or a string, got 1.5");
        let err = b.value(&at(LiteralValue::Param(3), 9)).expect_err("unbound");
        assert_eq!(err.message(), "the statement uses parameter 4 but 1 was bound");
        assert_eq!(err.span().map(|s| s.start.column), Some(9));
        let err = b.count_to(&at(LiteralValue::Int(-3), 2), "TOP", 100).expect_err("negative");
        assert_eq!(err.message(), "TOP must be an integer from 0 to 100, got -3");
        let err = b.count_to(&at(LiteralValue::Int(101), 2), "TOP", 100).expect_err("too many");
        assert!(matches!(err.kind(), ErrorKind::InvalidArgument { got, .. } if got == "101"));
        assert!(b.text(&lit(LiteralValue::Int(3)), "the path").is_err());
        let err = b.count(&lit(LiteralValue::Str("ten".into())), "LIMIT").expect_err("string");
        assert_eq!(err.message(), "LIMIT must be a non-negative integer, got 'ten'");
    }
}
