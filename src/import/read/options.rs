//! What to import and how: [`ImportSpec`] validates a format name and its options for a target.
//!
//! | format | target | options |
//! |---|---|---|
//! | `tsv`, `csv` | interactions | `header`, `columns`, `delimiter`, `user`, `item`, `weight`, `time`, `min_weight`, `keys`, `encoding` |
//! | `tsv`, `csv` | users, items | `header`, `columns`, `delimiter`, `key`, `label`, `tags`, `tag_separator`, `keys`, `encoding` |
//! | `movielens` | interactions | `min_weight`, `keys`, `encoding` |
//! | `movielens` | users | `keys`, `encoding` |
//! | `movielens` | items | `keys`, `years`, `encoding` |
//! | `lightgcn` | interactions | `keys`, `encoding` |

use std::fmt;
use std::path::{Path, PathBuf};

use encoding_rs::Encoding;

use super::error::{ImportError, ImportErrorKind};
use super::format::{Format, Target};
use crate::error::closest;
use crate::value::Value;

/// A column of a delimited file: by 0-based index or by header name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Column {
    /// The column at this 0-based position.
    Index(usize),
    /// The column with this header name.
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

/// A validated import request: the file, what it holds, its format and options. Build it with
/// [`ImportSpec::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct ImportSpec {
    /// The file, as given.
    pub path: PathBuf,
    /// What the file holds.
    pub target: Target,
    /// How the file is written.
    pub format: Format,
    /// Whether the first line names the columns.
    pub(crate) header: bool,
    /// Whether the statement said nothing about a header, so that a first line that looks like one is
    /// refused rather than read as data.
    pub(crate) header_unstated: bool,
    /// Names for the columns of a csv or tsv file, given by the statement (`columns = 'a,b,c'`).
    pub(crate) column_names: Option<Vec<String>>,
    /// The field separator of csv and tsv.
    pub(crate) delimiter: u8,
    /// The user column of an interactions file.
    pub(crate) user: Column,
    /// The item column of an interactions file.
    pub(crate) item: Column,
    /// The weight column, if any.
    pub(crate) weight: Option<Column>,
    /// The time column, if any.
    pub(crate) time: Option<Column>,
    /// Records with a smaller weight are skipped.
    pub(crate) min_weight: Option<f32>,
    /// Every key is a string key, digits or not.
    pub(crate) string_keys: bool,
    /// The key column of an entities file.
    pub(crate) key: Column,
    /// The label column of an entities file (a title shown beside the key), if any.
    pub(crate) label: Option<Column>,
    /// The tag columns of an entities file; `None` means every column but the key and the label.
    pub(crate) tags: Option<Vec<Column>>,
    /// Splits a field into several tags.
    pub(crate) tag_separator: Option<String>,
    /// MovieLens items: also tag each movie with the bucket of the year in its title (`year:1990-94`).
    pub(crate) year_tags: bool,
    /// The file's text encoding when it is not UTF-8: the file is transcoded while it is read.
    pub(crate) encoding: Option<&'static Encoding>,
}

/// The options each format takes for each target.
fn valid_options(format: Format, target: Target) -> &'static [&'static str] {
    match (format, target) {
        (Format::Csv | Format::Tsv, Target::Interactions) => &[
            "header",
            "columns",
            "delimiter",
            "user",
            "item",
            "weight",
            "time",
            "min_weight",
            "keys",
            "encoding",
        ],
        (Format::Csv | Format::Tsv, Target::Users | Target::Items) => {
            &["header", "columns", "delimiter", "key", "label", "tags", "tag_separator", "keys", "encoding"]
        }
        (Format::Movielens, Target::Interactions) => &["min_weight", "keys", "encoding"],
        (Format::Movielens, Target::Items) => &["keys", "years", "encoding"],
        (Format::Movielens | Format::Lightgcn, _) => &["keys", "encoding"],
    }
}

impl ImportSpec {
    /// Validates the format (guessed from the file name when `None`) and the options for the target.
    /// An unknown option is an error listing the valid ones; a value of the wrong type says what was
    /// expected. Naming a column implies `header = true`.
    pub fn new(
        path: &Path,
        target: Target,
        format: Option<&str>,
        options: &[(String, Value)],
    ) -> Result<ImportSpec, ImportError> {
        let fail = |message: String| ImportError::new(path, None, ImportErrorKind::Option, message);
        let format = match format {
            Some(name) => name.parse::<Format>().map_err(|m| fail(m).about_option("format"))?,
            None => Format::from_path(path),
        };
        if format == Format::Lightgcn && target != Target::Interactions {
            return Err(fail(format!(
                "FORMAT lightgcn holds interactions only, not {target}; import {target} as csv, tsv or movielens"
            )));
        }
        let mut spec = ImportSpec {
            path: path.to_path_buf(),
            target,
            format,
            header: false,
            header_unstated: false,
            column_names: None,
            delimiter: if format == Format::Csv { b',' } else { b'\t' },
            user: Column::Index(0),
            item: Column::Index(1),
            weight: None,
            time: None,
            min_weight: None,
            string_keys: false,
            key: Column::Index(0),
            label: None,
            tags: None,
            tag_separator: None,
            year_tags: false,
            encoding: None,
        };
        let valid = valid_options(format, target);
        let mut seen: Vec<String> = Vec::new();
        let mut header_given = None;
        for (name, value) in options {
            let name = name.trim().to_ascii_lowercase();
            if !valid.contains(&name.as_str()) {
                let guess = closest(&name, valid.iter().copied())
                    .map(|g| format!("did you mean '{g}'? "))
                    .unwrap_or_default();
                return Err(fail(format!(
                    "unknown option '{name}' for FORMAT {format} {target}; {guess}the valid options are: {}",
                    valid.join(", ")
                ))
                .about_option(&name));
            }
            if seen.contains(&name) {
                return Err(fail(format!("option '{name}' is given twice")).about_option(&name));
            }
            seen.push(name.clone());
            let wrong = |expected: &str| {
                fail(format!("option '{name}' expects {expected}, got {} {value}", value.type_name()))
                    .about_option(&name)
            };
            let a_column = "a column index (0, 1, ...) or a header name";
            match name.as_str() {
                "header" => header_given = Some(value.as_bool().ok_or_else(|| wrong("true or false"))?),
                "delimiter" => {
                    spec.delimiter = delimiter(value).ok_or_else(|| wrong("one ASCII character"))?
                }
                "user" => spec.user = column(value).ok_or_else(|| wrong(a_column))?,
                "item" => spec.item = column(value).ok_or_else(|| wrong(a_column))?,
                "key" => spec.key = column(value).ok_or_else(|| wrong(a_column))?,
                "label" => spec.label = Some(column(value).ok_or_else(|| wrong(a_column))?),
                "weight" => spec.weight = Some(column(value).ok_or_else(|| wrong(a_column))?),
                "time" => spec.time = Some(column(value).ok_or_else(|| wrong(a_column))?),
                "min_weight" => {
                    let w = value.as_f64().filter(|w| w.is_finite()).ok_or_else(|| wrong("a number"))?;
                    spec.min_weight = Some(w as f32);
                }
                "keys" => {
                    spec.string_keys = match value.as_str().map(|s| s.to_ascii_lowercase()).as_deref() {
                        Some("auto") => false,
                        Some("string") => true,
                        _ => return Err(wrong("'auto' or 'string'")),
                    }
                }
                "tags" => {
                    spec.tags = Some(columns(value).ok_or_else(|| {
                        wrong("a column, or a comma-separated list of column names or indexes")
                    })?)
                }
                "columns" => {
                    spec.column_names = Some(
                        column_names(value).ok_or_else(|| wrong("a comma-separated list of column names"))?,
                    )
                }
                "encoding" => {
                    let encoding = value
                        .as_str()
                        .and_then(|label| Encoding::for_label(label.trim().as_bytes()))
                        .ok_or_else(|| wrong("an encoding name such as 'utf-8', 'latin1' or 'utf-16'"))?;
                    spec.encoding = (encoding != encoding_rs::UTF_8).then_some(encoding);
                }
                "years" => spec.year_tags = value.as_bool().ok_or_else(|| wrong("true or false"))?,
                "tag_separator" => {
                    let sep = value
                        .as_str()
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| wrong("a non-empty string"))?;
                    spec.tag_separator = Some(sep.to_string());
                }
                _ => return Err(fail(format!("option '{name}' is not handled"))),
            }
        }
        let named = spec.named_columns();
        let names_given = spec.column_names.is_some();
        match (header_given, named.first()) {
            (Some(false), Some(first)) if !names_given => {
                return Err(fail(format!(
                    "column {first} is named but header = false; name columns by index, or set header = true"
                )))
            }
            (Some(h), _) => spec.header = h,
            // Names from `columns` describe a file without a header line, unless `header = true` says
            // the file has one (its names are then replaced).
            (None, first) => {
                spec.header = first.is_some() && !names_given;
                spec.header_unstated = !spec.header;
            }
        }
        if spec.min_weight.is_some() && spec.weight.is_none() && matches!(format, Format::Csv | Format::Tsv) {
            return Err(fail("option 'min_weight' needs a weight column: add weight = <column>".into()));
        }
        Ok(spec)
    }

    /// The columns given by header name.
    fn named_columns(&self) -> Vec<&Column> {
        let (columns, tags): (Vec<&Column>, &[Column]) = match self.target {
            Target::Interactions => {
                let mut c = vec![&self.user, &self.item];
                c.extend(self.weight.iter().chain(self.time.iter()));
                (c, &[])
            }
            Target::Users | Target::Items => (
                vec![&self.key].into_iter().chain(&self.label).collect(),
                self.tags.as_deref().unwrap_or(&[]),
            ),
        };
        columns.into_iter().chain(tags.iter()).filter(|c| matches!(c, Column::Name(_))).collect()
    }
}

/// A delimiter: one ASCII character, or `tab` / `\t` for a tab.
fn delimiter(value: &Value) -> Option<u8> {
    match value.as_str()? {
        "tab" | "\\t" => Some(b'\t'),
        s if s.len() == 1 && s.is_ascii() && s != "\n" && s != "\r" && s != "\"" => Some(s.as_bytes()[0]),
        _ => None,
    }
}

/// A column from an option value: an index (an integer, or text of digits) or a header name.
fn column(value: &Value) -> Option<Column> {
    match value {
        Value::Int(i) => usize::try_from(*i).ok().map(Column::Index),
        Value::Text(s) => column_text(s),
        _ => None,
    }
}

fn column_text(text: &str) -> Option<Column> {
    let text = text.trim();
    if text.is_empty() {
        None
    } else if text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok().map(Column::Index)
    } else {
        Some(Column::Name(text.to_string()))
    }
}

/// The names of `columns = 'a, b, c'`: non-empty, distinct, not all digits (those are indexes).
fn column_names(value: &Value) -> Option<Vec<String>> {
    let names: Vec<String> = value.as_str()?.split(',').map(|n| n.trim().to_string()).collect();
    let valid = |n: &String| !n.is_empty() && !n.bytes().all(|b| b.is_ascii_digit());
    let distinct = names.iter().enumerate().all(|(i, n)| !names[..i].contains(n));
    (names.iter().all(valid) && distinct).then_some(names)
}

/// Several columns: one integer, or text naming columns separated by commas.
fn columns(value: &Value) -> Option<Vec<Column>> {
    match value {
        Value::Int(_) => column(value).map(|c| vec![c]),
        Value::Text(s) => s.split(',').map(column_text).collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    fn spec(
        path: &str,
        target: Target,
        format: Option<&str>,
        o: &[(&str, Value)],
    ) -> Result<ImportSpec, ImportError> {
        ImportSpec::new(Path::new(path), target, format, &opts(o))
    }

    #[test]
    fn defaults_follow_the_extension() {
        let s = spec("train.tsv", Target::Interactions, None, &[]).unwrap();
        assert_eq!((s.format, s.header, s.delimiter), (Format::Tsv, false, b'\t'));
        assert_eq!(
            (s.user.clone(), s.item.clone(), s.weight.clone()),
            (Column::Index(0), Column::Index(1), None)
        );
        let s = spec("ratings.csv.gz", Target::Interactions, None, &[]).unwrap();
        assert_eq!((s.format, s.delimiter), (Format::Csv, b','));
        let s = spec("ratings.dat", Target::Interactions, None, &[]).unwrap();
        assert_eq!(s.format, Format::Movielens);
    }

    #[test]
    fn named_columns_imply_a_header_and_digits_are_indexes() {
        let s = spec(
            "r.tsv",
            Target::Interactions,
            Some("tsv"),
            &[("USER", "UserID".into()), ("item", "2".into()), ("weight", Value::Int(3))],
        )
        .unwrap();
        assert!(s.header);
        assert_eq!(s.user, Column::Name("UserID".into()));
        assert_eq!(s.item, Column::Index(2));
        assert_eq!(s.weight, Some(Column::Index(3)));
        let s = spec(
            "u.csv",
            Target::Users,
            None,
            &[("tags", "genres, 3".into()), ("tag_separator", "|".into())],
        )
        .unwrap();
        assert_eq!(s.tags, Some(vec![Column::Name("genres".into()), Column::Index(3)]));
        assert_eq!(s.tag_separator.as_deref(), Some("|"));
        assert!(s.header);
    }

    #[test]
    fn unknown_option_lists_the_valid_ones() {
        let e = spec("r.tsv", Target::Interactions, None, &[("tags", "x".into())]).unwrap_err();
        assert_eq!(e.kind, ImportErrorKind::Option);
        assert_eq!(e.line, None);
        assert_eq!(
            e.message,
            "unknown option 'tags' for FORMAT tsv interactions; the valid options are: header, columns, \
             delimiter, user, item, weight, time, min_weight, keys, encoding"
        );
        let e = spec("movies.dat", Target::Items, None, &[("min_weight", Value::Int(3))]).unwrap_err();
        assert_eq!(
            e.message,
            "unknown option 'min_weight' for FORMAT movielens items; the valid options are: keys, years, encoding"
        );
    }

    #[test]
    fn wrong_value_types_say_what_was_expected() {
        let e = spec("r.tsv", Target::Interactions, None, &[("header", Value::Int(1))]).unwrap_err();
        assert_eq!(e.message, "option 'header' expects true or false, got integer 1");
        let e = spec("r.tsv", Target::Interactions, None, &[("delimiter", "::".into())]).unwrap_err();
        assert_eq!(e.message, "option 'delimiter' expects one ASCII character, got string ::");
        let e = spec("r.tsv", Target::Interactions, None, &[("min_weight", "high".into())]).unwrap_err();
        assert_eq!(e.message, "option 'min_weight' expects a number, got string high");
        let e = spec("r.tsv", Target::Interactions, None, &[("user", Value::Int(-1))]).unwrap_err();
        assert!(e.message.starts_with("option 'user' expects a column index"), "{}", e.message);
        let e = spec("r.tsv", Target::Interactions, None, &[("keys", "int".into())]).unwrap_err();
        assert_eq!(e.message, "option 'keys' expects 'auto' or 'string', got string int");
        let e = spec("r.tsv", Target::Interactions, Some("xml"), &[]).unwrap_err();
        assert_eq!(
            (e.kind, e.to_string().as_str()),
            (
                ImportErrorKind::Option,
                "'r.tsv': unknown format 'xml'; the formats are: csv, tsv, movielens, lightgcn"
            )
        );
    }

    #[test]
    fn min_weight_needs_a_weight_column() {
        let e = spec("r.tsv", Target::Interactions, None, &[("min_weight", Value::Int(4))]).unwrap_err();
        assert_eq!(e.kind, ImportErrorKind::Option);
        assert_eq!(e.message, "option 'min_weight' needs a weight column: add weight = <column>");
        let s = spec(
            "r.tsv",
            Target::Interactions,
            None,
            &[("min_weight", Value::Float(3.5)), ("weight", Value::Int(2))],
        )
        .unwrap();
        assert_eq!(s.min_weight, Some(3.5));
        let s = spec("ratings.dat", Target::Interactions, None, &[("min_weight", Value::Int(4))]).unwrap();
        assert_eq!(s.min_weight, Some(4.0));
    }

    #[test]
    fn contradictions_and_repeats_are_errors() {
        let e = spec("r.tsv", Target::Interactions, None, &[("header", false.into()), ("user", "u".into())])
            .unwrap_err();
        assert!(e.message.starts_with("column 'u' is named but header = false"), "{}", e.message);
        let e =
            spec("r.tsv", Target::Interactions, None, &[("keys", "auto".into()), ("Keys", "string".into())])
                .unwrap_err();
        assert_eq!(e.message, "option 'keys' is given twice");
        let e = spec("r.txt", Target::Users, Some("lightgcn"), &[]).unwrap_err();
        assert_eq!(e.kind, ImportErrorKind::Option);
        assert!(e.message.starts_with("FORMAT lightgcn holds interactions only"), "{}", e.message);
    }

    #[test]
    fn column_names_describe_a_headerless_file_unless_header_is_true() {
        let s = spec(
            "items.tsv",
            Target::Items,
            None,
            &[("columns", "id, title , genre".into()), ("label", "title".into())],
        )
        .unwrap();
        assert_eq!(s.column_names, Some(vec!["id".to_string(), "title".into(), "genre".into()]));
        assert_eq!(s.label, Some(Column::Name("title".into())));
        assert!(!s.header && s.header_unstated, "named columns come from the option, not a header line");
        let s = spec("items.tsv", Target::Items, None, &[("columns", "a,b".into()), ("header", true.into())])
            .unwrap();
        assert!(s.header && !s.header_unstated);
        for bad in ["a,,b", "a,a", "a,2", ""] {
            let e = spec("items.tsv", Target::Items, None, &[("columns", bad.into())]).unwrap_err();
            assert_eq!(
                e.message,
                format!("option 'columns' expects a comma-separated list of column names, got string {bad}")
            );
            assert_eq!(e.option.as_deref(), Some("columns"));
        }
    }

    #[test]
    fn encoding_takes_the_usual_labels_and_utf8_means_no_transcoding() {
        let s = spec("movies.dat", Target::Items, None, &[("encoding", "Latin1".into())]).unwrap();
        assert_eq!(s.encoding, Some(encoding_rs::WINDOWS_1252));
        let s = spec("r.csv", Target::Interactions, None, &[("encoding", "iso-8859-1".into())]).unwrap();
        assert_eq!(s.encoding, Some(encoding_rs::WINDOWS_1252));
        let s = spec("r.csv", Target::Interactions, None, &[("encoding", "utf-16le".into())]).unwrap();
        assert_eq!(s.encoding, Some(encoding_rs::UTF_16LE));
        let s = spec("r.csv", Target::Interactions, None, &[("encoding", "UTF-8".into())]).unwrap();
        assert_eq!(s.encoding, None);
        let e = spec("r.csv", Target::Interactions, None, &[("encoding", "klingon".into())]).unwrap_err();
        assert_eq!(
            e.message,
            "option 'encoding' expects an encoding name such as 'utf-8', 'latin1' or 'utf-16', got string klingon"
        );
        assert_eq!(e.option.as_deref(), Some("encoding"));
    }

    #[test]
    fn delimiter_and_keys_options() {
        let s = spec(
            "r.csv",
            Target::Interactions,
            None,
            &[("delimiter", ";".into()), ("keys", "String".into())],
        )
        .unwrap();
        assert_eq!((s.delimiter, s.string_keys), (b';', true));
        let s = spec("r.csv", Target::Interactions, None, &[("delimiter", "tab".into())]).unwrap();
        assert_eq!(s.delimiter, b'\t');
    }
}
