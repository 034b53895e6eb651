//! Result sets: what every statement returns. Named, typed columns and rows of [`Value`]s, with typed
//! getters.

use crate::error::{Error, Object, Result};
use crate::value::Value;
use recodb_storage::Key;

/// The type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Integers.
    Int,
    /// Floating-point numbers.
    Float,
    /// Text.
    Text,
    /// User or item keys ([`Value::Key`]): integers or strings, each as its own type.
    Key,
    /// Booleans.
    Bool,
    /// Sets of tags ([`Value::Tags`]).
    Tags,
}

/// A named, typed column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// The type of its non-null values.
    pub ty: ColumnType,
}

/// The rows a statement returned, under named columns. A statement that only changes the database
/// returns one row that says what it did (e.g. `inserted = 1`). Notices say where the answer could
/// mislead (a model evaluated on data it was trained on, a fallback taken); the shell prints them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResultSet {
    columns: Vec<Column>,
    rows: Vec<Vec<Value>>,
    notices: Vec<String>,
}

impl ResultSet {
    /// An empty result with the given columns.
    pub fn new(columns: &[(&str, ColumnType)]) -> ResultSet {
        ResultSet {
            columns: columns.iter().map(|(n, t)| Column { name: n.to_string(), ty: *t }).collect(),
            rows: Vec::new(),
            notices: Vec::new(),
        }
    }

    /// Appends a row; it must have one value per column.
    pub fn push(&mut self, row: Vec<Value>) {
        debug_assert_eq!(row.len(), self.columns.len(), "a row has one value per column");
        self.rows.push(row);
    }

    /// A one-row result of named values, e.g. `[("inserted", 1)]`.
    pub fn single(values: Vec<(&str, Value)>) -> ResultSet {
        let columns = values
            .iter()
            .map(|(n, v)| Column {
                name: n.to_string(),
                ty: match v {
                    Value::Int(_) => ColumnType::Int,
                    Value::Float(_) => ColumnType::Float,
                    Value::Bool(_) => ColumnType::Bool,
                    Value::Key(_) => ColumnType::Key,
                    Value::Tags(_) => ColumnType::Tags,
                    Value::Text(_) | Value::Null => ColumnType::Text,
                },
            })
            .collect();
        ResultSet { columns, rows: vec![values.into_iter().map(|(_, v)| v).collect()], notices: Vec::new() }
    }

    /// Adds a notice: a sentence on where this answer could mislead, or what was done instead of what
    /// was asked.
    pub fn push_notice(&mut self, notice: impl Into<String>) {
        self.notices.push(notice.into());
    }

    /// The result with `notices` added after any it has.
    pub fn with_notices(mut self, notices: impl IntoIterator<Item = String>) -> ResultSet {
        self.notices.extend(notices);
        self
    }

    /// The notices, in the order they were added (usually none).
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// The columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The index of the column called `name` (ASCII case-insensitive).
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True if there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> Option<Row<'_>> {
        self.rows.get(i).map(|values| Row { set: self, values })
    }

    /// Iterates the rows.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = Row<'_>> + '_ {
        self.rows.iter().map(move |values| Row { set: self, values })
    }

    /// Every value of column `name`, converted to `T`.
    pub fn column<T: FromValue>(&self, name: &str) -> Result<Vec<T>> {
        self.rows().map(|r| r.get(name)).collect()
    }
}

/// One row of a result set.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    set: &'a ResultSet,
    values: &'a [Value],
}

impl<'a> Row<'a> {
    /// The row's values, in column order.
    pub fn values(&self) -> &'a [Value] {
        self.values
    }

    /// The value of column `col` (a name or an index), converted to `T`. A column that does not
    /// exist is a not-found error; a value of another type an invalid-argument error naming the column.
    pub fn get<T: FromValue>(&self, col: impl ColumnRef) -> Result<T> {
        let Some(i) = col.index(self.set) else {
            let names = self.set.columns.iter().map(|c| c.name.as_str());
            let message = format!("no column {} in this result", col.describe());
            return Err(Error::not_found(Object::Column, col.describe(), message, names, ""));
        };
        let value = &self.values[i];
        T::from_value(value).ok_or_else(|| {
            Error::invalid(
                format!("column {}", self.set.columns[i].name),
                T::NAME,
                format!("{} {value}", value.type_name()),
            )
        })
    }
}

/// A way to name a column: its index or its name.
pub trait ColumnRef {
    /// The column's index in `set`, if it exists.
    fn index(&self, set: &ResultSet) -> Option<usize>;
    /// How to name the column in an error.
    fn describe(&self) -> String;
}

impl ColumnRef for usize {
    fn index(&self, set: &ResultSet) -> Option<usize> {
        (*self < set.columns.len()).then_some(*self)
    }
    fn describe(&self) -> String {
        format!("#{self}")
    }
}

impl ColumnRef for &str {
    fn index(&self, set: &ResultSet) -> Option<usize> {
        set.column_index(self)
    }
    fn describe(&self) -> String {
        format!("'{self}'")
    }
}

/// Conversion from a [`Value`] for typed getters.
pub trait FromValue: Sized {
    /// The type's name in errors.
    const NAME: &'static str;
    /// The converted value, or `None` if the value is of another type.
    fn from_value(value: &Value) -> Option<Self>;
}

/// Integers, and integer keys that fit.
impl FromValue for i64 {
    const NAME: &'static str = "an integer";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Key(Key::Int(k)) => i64::try_from(*k).ok(),
            other => other.as_i64(),
        }
    }
}

/// Non-negative integers and integer keys.
impl FromValue for u64 {
    const NAME: &'static str = "a non-negative integer";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Key(Key::Int(k)) => Some(*k),
            other => other.as_i64().and_then(|v| u64::try_from(v).ok()),
        }
    }
}

impl FromValue for f64 {
    const NAME: &'static str = "a number";
    fn from_value(value: &Value) -> Option<Self> {
        value.as_f64()
    }
}

impl FromValue for bool {
    const NAME: &'static str = "a boolean";
    fn from_value(value: &Value) -> Option<Self> {
        value.as_bool()
    }
}

/// Text, and keys as their bare text (`emma`, `42`): read a key column as [`Key`] to tell the integer
/// key 42 from the string key `'42'`.
impl FromValue for String {
    const NAME: &'static str = "text";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Text(s) => Some(s.clone()),
            Value::Key(k) => Some(Value::Key(k.clone()).to_string()),
            _ => None,
        }
    }
}

/// Keys.
impl FromValue for Key {
    const NAME: &'static str = "a key";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Key(k) => Some(k.clone()),
            _ => None,
        }
    }
}

/// Tags (a `tags` column).
impl FromValue for Vec<String> {
    const NAME: &'static str = "tags";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Tags(tags) => Some(tags.clone()),
            _ => None,
        }
    }
}

impl FromValue for Value {
    const NAME: &'static str = "a value";
    fn from_value(value: &Value) -> Option<Self> {
        Some(value.clone())
    }
}

impl<T: FromValue> FromValue for Option<T> {
    const NAME: &'static str = T::NAME;
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ResultSet {
        let mut set = ResultSet::new(&[
            ("rank", ColumnType::Int),
            ("item", ColumnType::Text),
            ("score", ColumnType::Float),
        ]);
        set.push(vec![Value::Int(1), Value::from("42"), Value::Float(0.5)]);
        set.push(vec![Value::Int(2), Value::from("sku"), Value::Null]);
        set
    }

    #[test]
    fn typed_getters_by_name_and_index() {
        let set = sample();
        let first = set.row(0).expect("row");
        assert_eq!(first.get::<i64>("rank").expect("rank"), 1);
        assert_eq!(first.get::<String>(1).expect("item"), "42");
        assert_eq!(first.get::<f64>("SCORE").expect("case-insensitive"), 0.5);
        assert_eq!(set.row(1).expect("row").get::<Option<f64>>("score").expect("null"), None);
        assert_eq!(set.column::<i64>("rank").expect("column"), vec![1, 2]);
        assert_eq!(set.rows().len(), 2);
    }

    #[test]
    fn getter_errors_name_the_column_and_types() {
        let set = sample();
        let row = set.row(0).expect("row");
        let err = row.get::<i64>("item").expect_err("text is not an integer");
        assert_eq!(err.to_string(), "column item must be an integer, got string 42");
        assert!(matches!(err.kind(), crate::ErrorKind::InvalidArgument { .. }));
        let err = row.get::<i64>("scor").expect_err("missing");
        assert_eq!(err.message(), "no column 'scor' in this result; did you mean 'score'?");
        assert!(matches!(err.kind(), crate::ErrorKind::NotFound { what: Object::Column, .. }));
        assert!(row.get::<i64>(7).is_err());
        assert!(set.row(1).expect("row").get::<f64>("score").is_err(), "NULL is not a number");
    }

    #[test]
    fn keys_come_back_as_their_own_type() {
        let mut set = ResultSet::new(&[("item", ColumnType::Key)]);
        set.push(vec![Value::Key(Key::Int(42))]);
        set.push(vec![Value::Key(Key::from("emma"))]);
        assert_eq!(set.column::<Key>("item").expect("keys"), vec![Key::Int(42), Key::from("emma")]);
        assert_eq!(set.column::<String>("item").expect("text"), vec!["42", "emma"], "bare, never quoted");
        assert_eq!(set.row(0).expect("row").get::<i64>("item").expect("integer key"), 42);
        assert!(set.row(1).expect("row").get::<i64>("item").is_err(), "a string key is not an integer");
    }

    #[test]
    fn single_row_results_infer_column_types() {
        let set = ResultSet::single(vec![("inserted", Value::Int(1)), ("note", Value::from("ok"))]);
        assert_eq!(set.columns()[0].ty, ColumnType::Int);
        assert_eq!(set.columns()[1].ty, ColumnType::Text);
        assert_eq!(set.row(0).expect("row").get::<i64>("inserted").expect("value"), 1);
    }
}
