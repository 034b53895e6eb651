//! The `tsv` and `csv` formats: columns chosen by index or header name. CSV fields may be quoted with
//! `"` (a doubled `""` inside is one quote); a quoted field cannot span lines.

use std::borrow::Cow;

use recodb_storage::Key;

use super::source::{show, At, Lines};
use super::spec::{Column, ImportSpec};
use super::{Entity, ImportError, Interaction, ReadStats};

/// A reader for one delimited file.
pub(crate) struct Delimited<'s> {
    spec: &'s ImportSpec,
    quoted: bool,
}

/// Column positions resolved against the header.
struct Resolved {
    names: Option<Vec<String>>,
}

impl Resolved {
    fn index(&self, column: &Column, file: At<'_>) -> Result<usize, ImportError> {
        match (column, &self.names) {
            (Column::Index(i), _) => Ok(*i),
            (Column::Name(name), Some(names)) => names.iter().position(|n| n == name).ok_or_else(|| {
                file.option_error(format!("no column named '{name}'; the header has: {}", names.join(", ")))
            }),
            (Column::Name(name), None) => {
                Err(file.option_error(format!("column '{name}' is named but the file has no header")))
            }
        }
    }

    fn name(&self, index: usize) -> String {
        match &self.names {
            Some(names) => names.get(index).map_or_else(|| index.to_string(), |n| format!("'{n}'")),
            None => index.to_string(),
        }
    }
}

impl<'s> Delimited<'s> {
    pub(crate) fn new(spec: &'s ImportSpec) -> Delimited<'s> {
        Delimited { spec, quoted: spec.format == super::Format::Csv }
    }

    fn header(&self, lines: &mut Lines<'_>, stats: &mut ReadStats) -> Result<Resolved, ImportError> {
        if !self.spec.header {
            return Ok(Resolved { names: None });
        }
        let Some((line, at)) = lines.next_line()? else {
            return Err(lines.file().parse_error("the file is empty; expected a header".into()));
        };
        stats.lines += 1;
        let fields = split(line, self.spec.delimiter, self.quoted).map_err(|m| at.parse_error(m))?;
        let names = fields
            .iter()
            .map(|f| std::str::from_utf8(f).map(|s| s.trim().to_string()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| at.parse_error("the header is not valid UTF-8".into()))?;
        Ok(Resolved { names: Some(names) })
    }

    pub(crate) fn read_interactions(
        &self,
        lines: &mut Lines<'_>,
        sink: &mut dyn FnMut(Interaction),
    ) -> Result<ReadStats, ImportError> {
        let mut stats = ReadStats::default();
        let header = self.header(lines, &mut stats)?;
        let user = header.index(&self.spec.user, lines.file())?;
        let item = header.index(&self.spec.item, lines.file())?;
        let weight = self.spec.weight.as_ref().map(|c| header.index(c, lines.file())).transpose()?;
        let time = self.spec.time.as_ref().map(|c| header.index(c, lines.file())).transpose()?;
        let needed = [Some(user), Some(item), weight, time].into_iter().flatten().max().unwrap_or(0) + 1;
        while let Some((line, at)) = lines.next_line()? {
            stats.lines += 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let fields = split(line, self.spec.delimiter, self.quoted).map_err(|m| at.parse_error(m))?;
            if fields.len() < needed {
                return Err(
                    at.parse_error(format!("expected at least {needed} columns, found {}", fields.len()))
                );
            }
            let parse_key = |i: usize| {
                key(&fields[i], self.spec.string_keys)
                    .map_err(|m| at.parse_error(format!("{m} in column {}", header.name(i))))
            };
            let weight = weight
                .map(|i| {
                    number::<f32>(&fields[i]).filter(|w| w.is_finite()).ok_or_else(|| {
                        at.parse_error(format!(
                            "expected a number in column {}, found '{}'",
                            header.name(i),
                            show(&fields[i])
                        ))
                    })
                })
                .transpose()?;
            let time = time
                .map(|i| {
                    number::<i64>(&fields[i]).ok_or_else(|| {
                        at.parse_error(format!(
                            "expected an integer timestamp in column {}, found '{}'",
                            header.name(i),
                            show(&fields[i])
                        ))
                    })
                })
                .transpose()?;
            if let (Some(min), Some(w)) = (self.spec.min_weight, weight) {
                if w < min {
                    stats.skipped += 1;
                    continue;
                }
            }
            sink(Interaction { user: parse_key(user)?, item: parse_key(item)?, weight, time });
            stats.records += 1;
        }
        Ok(stats)
    }

    pub(crate) fn read_entities(
        &self,
        lines: &mut Lines<'_>,
        sink: &mut dyn FnMut(Entity),
    ) -> Result<ReadStats, ImportError> {
        let mut stats = ReadStats::default();
        let header = self.header(lines, &mut stats)?;
        let key_col = header.index(&self.spec.key, lines.file())?;
        let tag_cols: Option<Vec<usize>> = self
            .spec
            .tags
            .as_ref()
            .map(|cols| cols.iter().map(|c| header.index(c, lines.file())).collect())
            .transpose()?;
        while let Some((line, at)) = lines.next_line()? {
            stats.lines += 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let fields = split(line, self.spec.delimiter, self.quoted).map_err(|m| at.parse_error(m))?;
            let needed = tag_cols.iter().flatten().copied().chain([key_col]).max().unwrap_or(0) + 1;
            if fields.len() < needed {
                return Err(
                    at.parse_error(format!("expected at least {needed} columns, found {}", fields.len()))
                );
            }
            let key = key(&fields[key_col], self.spec.string_keys)
                .map_err(|m| at.parse_error(format!("{m} in column {}", header.name(key_col))))?;
            let columns: Vec<usize> = match &tag_cols {
                Some(cols) => cols.clone(),
                None => (0..fields.len()).filter(|&i| i != key_col).collect(),
            };
            let mut tags = Vec::new();
            for i in columns {
                let text = std::str::from_utf8(&fields[i])
                    .map_err(|_| at.parse_error(format!("invalid UTF-8 in column {}", header.name(i))))?;
                let values: Vec<&str> = match &self.spec.tag_separator {
                    Some(sep) => text.split(sep.as_str()).collect(),
                    None => vec![text],
                };
                for v in values.into_iter().map(str::trim).filter(|v| !v.is_empty()) {
                    tags.push(match header.names.as_ref().and_then(|n| n.get(i)) {
                        Some(name) => format!("{name}:{v}"),
                        None => v.to_string(),
                    });
                }
            }
            sink(Entity { key, tags });
            stats.records += 1;
        }
        Ok(stats)
    }
}

/// Splits a line into fields; with `quoted`, fields may be wrapped in `"` with `""` for a quote.
pub(crate) fn split(line: &[u8], delimiter: u8, quoted: bool) -> Result<Vec<Cow<'_, [u8]>>, String> {
    if !quoted || !line.contains(&b'"') {
        return Ok(line.split(|&b| b == delimiter).map(Cow::Borrowed).collect());
    }
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        if let Some(after_quote) = rest.strip_prefix(b"\"") {
            let mut field = Vec::new();
            let mut i = 0;
            loop {
                match after_quote.get(i) {
                    None => return Err("unterminated quoted field (a quoted field cannot span lines)".into()),
                    Some(b'"') if after_quote.get(i + 1) == Some(&b'"') => {
                        field.push(b'"');
                        i += 2;
                    }
                    Some(b'"') => break,
                    Some(&b) => {
                        field.push(b);
                        i += 1;
                    }
                }
            }
            fields.push(Cow::Owned(field));
            rest = &after_quote[i + 1..];
            match rest.split_first() {
                None => return Ok(fields),
                Some((&d, tail)) if d == delimiter => rest = tail,
                Some(_) => return Err("unexpected text after a closing quote".into()),
            }
        } else {
            match rest.iter().position(|&b| b == delimiter) {
                Some(p) => {
                    fields.push(Cow::Borrowed(&rest[..p]));
                    rest = &rest[p + 1..];
                }
                None => {
                    fields.push(Cow::Borrowed(rest));
                    return Ok(fields);
                }
            }
        }
    }
}

/// A key from a field: integer if it is all digits (unless `string_keys`), else a string.
pub(crate) fn key(field: &[u8], string_keys: bool) -> Result<Key, String> {
    let field = field.trim_ascii();
    if field.is_empty() {
        return Err("empty key".into());
    }
    if !string_keys {
        if let Some(v) = recodb_storage::parse_u64(field) {
            return Ok(Key::Int(v));
        }
    }
    std::str::from_utf8(field).map(|s| Key::Str(s.to_string())).map_err(|_| "invalid UTF-8 in a key".into())
}

/// A number from a field, or `None`.
pub(crate) fn number<T: std::str::FromStr>(field: &[u8]) -> Option<T> {
    std::str::from_utf8(field).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_handles_quotes_and_plain_fields() {
        let f = split(br#"1,"Toy Story, The (1995)","say ""hi""",x"#, b',', true).expect("valid");
        let f: Vec<&[u8]> = f.iter().map(|c| c.as_ref()).collect();
        assert_eq!(f, vec![&b"1"[..], b"Toy Story, The (1995)", br#"say "hi""#, b"x"]);
        assert_eq!(split(b"a\tb\t", b'\t', false).expect("valid").len(), 3);
        assert!(split(br#"1,"open"#, b',', true).is_err());
        assert!(split(br#"1,"a"b,2"#, b',', true).is_err());
    }

    #[test]
    fn keys_are_integers_or_strings() {
        assert_eq!(key(b"42", false), Ok(Key::Int(42)));
        assert_eq!(key(b" 42 ", false), Ok(Key::Int(42)));
        assert_eq!(key(b"42", true), Ok(Key::from("42")));
        assert_eq!(key(b"u-1", false), Ok(Key::from("u-1")));
        assert!(key(b"", false).is_err());
        assert!(key(b"\xff", false).is_err());
    }
}
