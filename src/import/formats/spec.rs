//! What to import and how: the target, the format and the validated options.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::error::{ImportError, ImportErrorKind};
use crate::value::Value;

/// What an import file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Interactions (user, item, optional weight and time).
    Interactions,
    /// Users with tags.
    Users,
    /// Items with tags.
    Items,
}

/// The file format of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values, quoted fields allowed.
    Csv,
    /// Tab-separated values.
    Tsv,
    /// MovieLens `::`-separated files: ratings.dat, users.dat, movies.dat.
    Movielens,
    /// LightGCN lines: `user item item ...`.
    Lightgcn,
}

impl Format {
    /// Every format, for error messages.
    pub const ALL: [Format; 4] = [Format::Csv, Format::Tsv, Format::Movielens, Format::Lightgcn];

    /// The format a file name suggests (ignoring `.gz`): `.csv` → csv, `.dat` → movielens, else tsv.
    pub fn from_path(path: &Path) -> Format {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        if name.ends_with(".csv") {
            Format::Csv
        } else if name.ends_with(".dat") {
            Format::Movielens
        } else {
            Format::Tsv
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Movielens => "movielens",
            Format::Lightgcn => "lightgcn",
        })
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL.into_iter().find(|f| f.to_string().eq_ignore_ascii_case(s)).ok_or_else(|| {
            let names: Vec<String> = Format::ALL.iter().map(Format::to_string).collect();
            format!("unknown format '{s}'; available: {}", names.join(", "))
        })
    }
}

/// A column of a delimited file: by 0-based index or by header name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Column {
    Index(usize),
    Name(String),
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Column::Index(i) => write!(f, "{i}"),
            Column::Name(n) => write!(f, "'{n}'"),
        }
    }
}

/// A validated import request. Build it with [`ImportSpec::new`].
///
/// | format | target | options |
/// |---|---|---|
/// | `tsv`, `csv` | interactions | `header` (bool, default false; naming a column implies true), `delimiter` (one character, `'tab'` for a tab), `user`, `item` (column index or header name; default 0 and 1), `weight`, `time` (column; default none), `min_weight` (number), `keys` (`'auto'` or `'string'`) |
/// | `tsv`, `csv` | users, items | `header`, `delimiter`, `key` (column, default 0), `tags` (column, or a comma-separated list; default every other column), `tag_separator` (split a field into several tags), `keys` |
/// | `movielens` | interactions (`ratings.dat`) | `min_weight`, `keys` |
/// | `movielens` | users (`users.dat`), items (`movies.dat`) | `keys` |
/// | `lightgcn` | interactions | `keys` |
#[derive(Debug, Clone, PartialEq)]
pub struct ImportSpec {
    /// The file.
    pub path: PathBuf,
    /// What the file holds.
    pub target: Target,
    /// Its format.
    pub format: Format,
    pub(crate) header: bool,
    pub(crate) delimiter: u8,
    pub(crate) user: Column,
    pub(crate) item: Column,
    pub(crate) weight: Option<Column>,
    pub(crate) time: Option<Column>,
    pub(crate) min_weight: Option<f32>,
    pub(crate) string_keys: bool,
    pub(crate) key: Column,
    pub(crate) tags: Option<Vec<Column>>,
    pub(crate) tag_separator: Option<String>,
}

impl ImportSpec {
    /// Validates the format (from the file name when `None`) and the options for the target. An unknown
    /// option is an error that lists the valid ones; a value of the wrong type says what was expected.
    pub fn new(
        path: &Path,
        target: Target,
        format: Option<&str>,
        options: &[(String, Value)],
    ) -> Result<ImportSpec, ImportError> {
        let option_error = |message: String| ImportError {
            path: path.to_path_buf(),
            line: None,
            kind: ImportErrorKind::Option,
            message,
        };
        let format = match format {
            Some(name) => name.parse::<Format>().map_err(option_error)?,
            None => Format::from_path(path),
        };
        let mut spec = ImportSpec {
            path: path.to_path_buf(),
            target,
            format,
            header: false,
            delimiter: if format == Format::Csv { b',' } else { b'\t' },
            user: Column::Index(0),
            item: Column::Index(1),
            weight: None,
            time: None,
            min_weight: None,
            string_keys: false,
            key: Column::Index(0),
            tags: None,
            tag_separator: None,
        };
        let valid = spec.valid_options();
        let mut header_given = false;
        for (name, value) in options {
            let name = name.to_ascii_lowercase();
            if !valid.contains(&name.as_str()) {
                return Err(option_error(format!(
                    "unknown option '{name}' for FORMAT {format} {}; valid options: {}",
                    target_name(target),
                    valid.join(", ")
                )));
            }
            let wrong = |expected: &str| {
                option_error(format!("option '{name}' expects {expected}, got {} {value}", value.type_name()))
            };
            match name.as_str() {
                "header" => {
                    spec.header = value.as_bool().ok_or_else(|| wrong("true or false"))?;
                    header_given = true;
                }
                "delimiter" => {
                    spec.delimiter = match value.as_str() {
                        Some("tab") | Some("\\t") | Some("\t") => b'\t',
                        Some(s) if s.len() == 1 => s.as_bytes()[0],
                        _ => return Err(wrong("one character (or 'tab')")),
                    }
                }
                "user" => spec.user = column(value).ok_or_else(|| wrong("a column index or name"))?,
                "item" => spec.item = column(value).ok_or_else(|| wrong("a column index or name"))?,
                "key" => spec.key = column(value).ok_or_else(|| wrong("a column index or name"))?,
                "weight" => spec.weight = Some(column(value).ok_or_else(|| wrong("a column index or name"))?),
                "time" => spec.time = Some(column(value).ok_or_else(|| wrong("a column index or name"))?),
                "min_weight" => {
                    let w = value.as_f64().filter(|w| w.is_finite()).ok_or_else(|| wrong("a number"))?;
                    spec.min_weight = Some(w as f32);
                }
                "keys" => {
                    spec.string_keys = match value.as_str() {
                        Some("auto") => false,
                        Some("string") => true,
                        _ => return Err(wrong("'auto' or 'string'")),
                    }
                }
                "tags" => {
                    let cols = match value {
                        Value::Int(_) => column(value).map(|c| vec![c]),
                        Value::Text(s) => s.split(',').map(|p| column(&Value::from(p.trim()))).collect(),
                        _ => None,
                    };
                    spec.tags =
                        Some(cols.ok_or_else(|| wrong("a column, or a comma-separated list of columns"))?);
                }
                "tag_separator" => {
                    spec.tag_separator = Some(
                        value
                            .as_str()
                            .filter(|s| !s.is_empty())
                            .ok_or_else(|| wrong("a non-empty string"))?
                            .to_string(),
                    )
                }
                _ => unreachable!("every valid option is handled"),
            }
        }
        if !header_given && !named_columns(&spec).is_empty() {
            spec.header = true;
        }
        if spec.min_weight.is_some() && spec.weight.is_none() && matches!(format, Format::Csv | Format::Tsv) {
            return Err(option_error(
                "option 'min_weight' needs a weight column: add weight = <column>".into(),
            ));
        }
        if !spec.header {
            if let Some(name) = named_columns(&spec).first() {
                return Err(option_error(format!(
                    "column {name} is named, but header = false: name columns by index"
                )));
            }
        }
        Ok(spec)
    }

    fn valid_options(&self) -> Vec<&'static str> {
        match (self.format, self.target) {
            (Format::Csv | Format::Tsv, Target::Interactions) => {
                vec!["header", "delimiter", "user", "item", "weight", "time", "min_weight", "keys"]
            }
            (Format::Csv | Format::Tsv, _) => {
                vec!["header", "delimiter", "key", "tags", "tag_separator", "keys"]
            }
            (Format::Movielens, Target::Interactions) => vec!["min_weight", "keys"],
            (Format::Movielens | Format::Lightgcn, _) => vec!["keys"],
        }
    }

    /// An option error about this import.
    pub(crate) fn option_error(&self, message: &str) -> ImportError {
        ImportError {
            path: self.path.clone(),
            line: None,
            kind: ImportErrorKind::Option,
            message: message.to_string(),
        }
    }
}

fn target_name(target: Target) -> &'static str {
    match target {
        Target::Interactions => "interactions",
        Target::Users => "users",
        Target::Items => "items",
    }
}

fn column(value: &Value) -> Option<Column> {
    match value {
        Value::Int(i) => usize::try_from(*i).ok().map(Column::Index),
        Value::Text(s) if !s.is_empty() => Some(Column::Name(s.clone())),
        _ => None,
    }
}

fn named_columns(spec: &ImportSpec) -> Vec<&Column> {
    [&spec.user, &spec.item, &spec.key]
        .into_iter()
        .chain(spec.weight.iter())
        .chain(spec.time.iter())
        .chain(spec.tags.iter().flatten())
        .filter(|c| matches!(c, Column::Name(_)))
        .collect()
}
