//! Typed values: what a result set holds, what `?` parameters bind, and what options are set to.

use std::fmt;

use recodb_storage::Key;

/// One typed value of a result set, a bound parameter or an option.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value (e.g. an interaction without a timestamp).
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Text.
    Text(String),
    /// A user or item key, as its own type: an integer key or a string key (never quoted text).
    Key(Key),
    /// A set of tags (`genre:Drama`, ...): a list of strings, printed `a, b` and written to JSON as an
    /// array.
    Tags(Vec<String>),
}

impl Value {
    /// The value as an integer, if it is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The value as a float; integers convert.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(v) => Some(*v),
            Value::Int(v) => Some(*v as f64),
            _ => None,
        }
    }

    /// The value as text, if it is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A short name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Text(_) => "string",
            Value::Key(_) => "key",
            Value::Tags(_) => "tags",
        }
    }
}

impl fmt::Display for Value {
    /// Prints the value for people: text and string keys without quotes, `NULL` for no value, tags
    /// separated by `, `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Text(s) => f.write_str(s),
            Value::Key(Key::Int(k)) => write!(f, "{k}"),
            Value::Key(Key::Str(k)) => f.write_str(k),
            Value::Tags(tags) => f.write_str(&tags.join(", ")),
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<Key> for Value {
    fn from(v: Key) -> Self {
        Value::Key(v)
    }
}
