//! The `tsv` and `csv` formats: interactions and entities from columns chosen by index or header name.

use super::error::{show, At, ImportError};
use super::field;
use super::options::{Column, ImportSpec};
use super::record::{Entity, Interaction, ReadStats, UnreadColumn};
use super::rows::Rows;
use recodb_storage::Key;

/// The names of a file's columns, if it has them (from its header line or from the `columns` option),
/// to resolve column names, name tags and label columns in errors.
struct Header {
    names: Option<Vec<String>>,
    /// Whether the names come from the file's header line (which then has every column).
    from_file: bool,
}

impl Header {
    /// Reads the header row when the spec says there is one; names from the `columns` option replace
    /// its names.
    fn read<'a, R: Rows<'a>>(spec: &ImportSpec, rows: &mut R, file: At<'a>) -> Result<Header, ImportError> {
        let given = spec.column_names.clone();
        if !spec.header {
            return Ok(Header { names: given, from_file: false });
        }
        if !rows.advance()? {
            return Err(file.parse("the file is empty, but a header line was expected"));
        }
        if given.is_some() {
            return Ok(Header { names: given, from_file: false });
        }
        let names = (0..rows.len())
            .map(|i| field::text(rows.field(i)).map(str::to_string).ok_or(i))
            .collect::<Result<Vec<String>, usize>>()
            .map_err(|i| rows.at().not_utf8(&format!("the header's column {i}"), rows.field(i)))?;
        Ok(Header { names: Some(names), from_file: true })
    }

    /// The 0-based index of `column`; an option error for a name the header lacks.
    fn index(&self, column: &Column, file: At<'_>) -> Result<usize, ImportError> {
        let source = if self.from_file { "the header's columns are" } else { "option 'columns' names" };
        match (column, &self.names) {
            (Column::Index(i), Some(names)) if *i >= names.len() && self.from_file => {
                Err(file.option(format!(
                    "column {i} is out of range: the header has {} columns ({})",
                    names.len(),
                    names.join(", ")
                )))
            }
            (Column::Index(i), _) => Ok(*i),
            (Column::Name(name), Some(names)) => names.iter().position(|n| n == name).ok_or_else(|| {
                file.option(format!("no column named '{name}'; {source}: {}", names.join(", ")))
            }),
            (Column::Name(name), None) => {
                Err(file.option(format!("column '{name}' is named, but the file has no header")))
            }
        }
    }

    /// How errors name column `i`: `'Rating'` with a header, `2` without.
    fn label(&self, i: usize) -> String {
        match self.names.as_ref().and_then(|n| n.get(i)) {
            Some(name) => format!("'{name}'"),
            None => i.to_string(),
        }
    }

    /// The name of column `i` for a `name:value` tag, if the file has a header.
    fn name(&self, i: usize) -> Option<&str> {
        self.names.as_ref().and_then(|n| n.get(i)).map(String::as_str)
    }
}

/// Catches a header line read as data. In a file whose statement said nothing about a header, a first
/// row whose keys are text while the second row's are integers is a header: the import stops with the
/// fix instead of adding a user and an item named after the columns.
struct HeaderTrap<'a> {
    /// The first row's place and text keys, until the second row has been seen.
    first: Option<(At<'a>, Vec<String>)>,
    /// Rows seen so far, counted up to 2.
    seen: u8,
}

impl<'a> HeaderTrap<'a> {
    /// A trap that only watches when the header was not stated and keys may be integers.
    fn new(spec: &ImportSpec) -> Self {
        HeaderTrap { first: None, seen: if spec.header_unstated && !spec.string_keys { 0 } else { 2 } }
    }

    /// Whether the row being read is the first one of a file that may hold an unstated header.
    fn on_first_row(&self) -> bool {
        self.seen == 0
    }

    /// Looks at the keys of the row at `at`; the error when the first row was a header after all.
    fn check(&mut self, at: At<'a>, keys: &[&Key]) -> Result<(), ImportError> {
        match self.seen {
            0 => {
                let text: Vec<String> = keys
                    .iter()
                    .filter_map(|k| if let Key::Str(s) = k { Some(s.clone()) } else { None })
                    .collect();
                if !text.is_empty() {
                    self.first = Some((at, text));
                }
            }
            1 => {
                if let Some((first, text)) = self.first.take() {
                    if keys.iter().all(|k| matches!(k, Key::Int(_))) {
                        let names: Vec<String> = text.iter().map(|t| format!("'{t}'")).collect();
                        return Err(first.parse(format!(
                            "this line looks like a header ({} where the next line has integer keys); \
                             add header = true to skip it (header = false reads it as data)",
                            names.join(", ")
                        )));
                    }
                }
            }
            _ => return Ok(()),
        }
        self.seen += 1;
        Ok(())
    }

    /// The hint added to an error about a word in a number column of the first row.
    fn hint(&self, field: &[u8]) -> &'static str {
        if self.on_first_row() && field.iter().any(u8::is_ascii_alphabetic) {
            " (if this line is a header, add header = true)"
        } else {
            ""
        }
    }
}

/// Fails unless the current row has at least `needed` fields.
fn require<'a, R: Rows<'a>>(rows: &R, needed: usize, delimiter: u8) -> Result<(), ImportError> {
    if rows.len() >= needed {
        return Ok(());
    }
    let sep = match delimiter {
        b'\t' => "tab".to_string(),
        b',' => "comma".to_string(),
        d => format!("'{}'", d as char),
    };
    // A row of one field holding spaces is a space-separated file read as tsv or csv.
    let spaced = rows.len() == 1 && delimiter != b' ' && rows.field(0).trim_ascii().contains(&b' ');
    let hint = if spaced {
        " (its fields are separated by spaces: add delimiter = ' ', or FORMAT lightgcn for lines of a user \
         and its items)"
    } else {
        ""
    };
    Err(rows
        .at()
        .parse(format!("expected at least {needed} {sep}-separated columns, found {}{hint}", rows.len())))
}

/// Reads interactions from the rows of a csv or tsv file.
pub(crate) fn read_interactions<'a, R: Rows<'a>>(
    spec: &ImportSpec,
    rows: &mut R,
    file: At<'a>,
    sink: &mut dyn FnMut(Interaction),
) -> Result<ReadStats, ImportError> {
    let header = Header::read(spec, rows, file)?;
    let user = header.index(&spec.user, file)?;
    let item = header.index(&spec.item, file)?;
    let weight_column = spec.weight.as_ref().map(|c| header.index(c, file)).transpose()?;
    let time_column = spec.time.as_ref().map(|c| header.index(c, file)).transpose()?;
    let needed =
        [Some(user), Some(item), weight_column, time_column].into_iter().flatten().max().map_or(0, |m| m + 1);
    let mut stats = ReadStats::default();
    let mut trap = HeaderTrap::new(spec);
    while rows.advance()? {
        require(rows, needed, spec.delimiter)?;
        let weight = match weight_column {
            Some(i) => Some(field::weight(rows.field(i)).ok_or_else(|| {
                rows.at().parse(format!(
                    "expected a number in column {}, found '{}'{}",
                    header.label(i),
                    show(rows.field(i)),
                    trap.hint(rows.field(i))
                ))
            })?),
            None => None,
        };
        if let (Some(min), Some(w)) = (spec.min_weight, weight) {
            if w < min {
                stats.skipped += 1;
                continue;
            }
        }
        let time = match time_column {
            Some(i) => Some(field::time(rows.field(i)).ok_or_else(|| {
                rows.at().parse(format!(
                    "expected an integer timestamp in column {}, found '{}'{}",
                    header.label(i),
                    show(rows.field(i)),
                    trap.hint(rows.field(i))
                ))
            })?),
            None => None,
        };
        let key = |i: usize| {
            field::key(rows.field(i), spec.string_keys)
                .map_err(|e| e.error(rows.field(i), &format!("in column {}", header.label(i)), rows.at()))
        };
        let (user_key, item_key) = (key(user)?, key(item)?);
        trap.check(rows.at(), &[&user_key, &item_key])?;
        if stats.records == 0 {
            let read = [Some(user), Some(item), weight_column, time_column];
            stats.unread = (0..rows.len())
                .filter(|i| !read.contains(&Some(*i)))
                .map(|i| UnreadColumn { index: i, label: header.label(i), first: show(rows.field(i)) })
                .collect();
        }
        sink(Interaction { user: user_key, item: item_key, weight, time });
        stats.records += 1;
    }
    stats.lines = rows.lines();
    Ok(stats)
}

/// Reads users or items with tags from the rows of a csv or tsv file.
pub(crate) fn read_entities<'a, R: Rows<'a>>(
    spec: &ImportSpec,
    rows: &mut R,
    file: At<'a>,
    sink: &mut dyn FnMut(Entity),
) -> Result<ReadStats, ImportError> {
    let header = Header::read(spec, rows, file)?;
    let key_column = header.index(&spec.key, file)?;
    let label_column = spec.label.as_ref().map(|c| header.index(c, file)).transpose()?;
    let tag_columns = match &spec.tags {
        Some(columns) => Some(columns.iter().map(|c| header.index(c, file)).collect::<Result<Vec<_>, _>>()?),
        None => None,
    };
    let needed = tag_columns
        .iter()
        .flatten()
        .copied()
        .chain([key_column])
        .chain(label_column)
        .max()
        .map_or(0, |m| m + 1);
    let mut stats = ReadStats::default();
    let mut all_columns = Vec::new();
    let mut trap = HeaderTrap::new(spec);
    while rows.advance()? {
        require(rows, needed, spec.delimiter)?;
        let key = field::key(rows.field(key_column), spec.string_keys).map_err(|e| {
            e.error(rows.field(key_column), &format!("in column {}", header.label(key_column)), rows.at())
        })?;
        trap.check(rows.at(), &[&key])?;
        let label = match label_column {
            Some(i) => {
                let text = field::text(rows.field(i)).ok_or_else(|| {
                    rows.at().not_utf8(&format!("column {}", header.label(i)), rows.field(i))
                })?;
                (!text.is_empty()).then(|| text.to_string())
            }
            None => None,
        };
        let columns = match &tag_columns {
            Some(columns) => columns,
            None => {
                all_columns.clear();
                all_columns.extend((0..rows.len()).filter(|&i| i != key_column && Some(i) != label_column));
                &all_columns
            }
        };
        let mut tags = Vec::new();
        for &i in columns {
            let text = field::text(rows.field(i))
                .ok_or_else(|| rows.at().not_utf8(&format!("column {}", header.label(i)), rows.field(i)))?;
            let mut add = |value: &str| {
                let value = value.trim();
                if !value.is_empty() {
                    tags.push(match header.name(i) {
                        Some(name) => format!("{name}:{value}"),
                        None => value.to_string(),
                    });
                }
            };
            match &spec.tag_separator {
                Some(sep) => text.split(sep.as_str()).for_each(&mut add),
                None => add(text),
            }
        }
        sink(Entity { key, label, tags }.checked(rows.at())?);
        stats.records += 1;
    }
    stats.lines = rows.lines();
    Ok(stats)
}
