//! The `movielens` format: `::`-separated files. `ratings.dat` (`UserID::MovieID::Rating[::Timestamp]`)
//! gives interactions; `users.dat` (`UserID::Gender::Age::Occupation::Zip-code`) gives users tagged
//! `gender:F`, `age:25`, `occupation:12`; `movies.dat` (`MovieID::Title::Genres`, genres separated by
//! `|`) gives items tagged `genre:Comedy`. `movies.dat` is ISO-8859-1: titles are never read, so only the
//! fields used must be valid UTF-8.

use super::error::{show, At, ImportError};
use super::field;
use super::format::Target;
use super::options::ImportSpec;
use super::record::{Entity, Interaction, ReadStats};
use super::source::Lines;

/// The `::`-separated fields of a line: the first five, and the last.
struct Fields<'l> {
    first: [&'l [u8]; 5],
    last: &'l [u8],
    count: usize,
}

impl<'l> Fields<'l> {
    fn split(line: &'l [u8]) -> Fields<'l> {
        let mut fields = Fields { first: [&[]; 5], last: &[], count: 0 };
        let mut rest = line;
        loop {
            let (field, tail) = match rest.windows(2).position(|w| w == b"::") {
                Some(p) => (&rest[..p], Some(&rest[p + 2..])),
                None => (rest, None),
            };
            if fields.count < fields.first.len() {
                fields.first[fields.count] = field;
            }
            fields.last = field;
            fields.count += 1;
            match tail {
                Some(tail) => rest = tail,
                None => return fields,
            }
        }
    }

    /// Fails unless there are at least `needed` fields, showing the expected layout.
    fn require(&self, needed: usize, layout: &str, at: At<'_>) -> Result<(), ImportError> {
        if self.count >= needed {
            return Ok(());
        }
        Err(at.parse(format!(
            "expected {layout}, found {} '::'-separated field{}",
            self.count,
            plural(self.count)
        )))
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A key field, or a parse error naming the field.
fn key(field: &[u8], spec: &ImportSpec, name: &str, at: At<'_>) -> Result<recodb_storage::Key, ImportError> {
    field::key(field, spec.string_keys).map_err(|e| at.parse(format!("{} in the {name} field", e.describe())))
}

/// Reads `ratings.dat`: the rating is the weight, the timestamp (if any) the time.
pub(crate) fn read_interactions(
    spec: &ImportSpec,
    lines: &mut Lines<'_>,
    sink: &mut dyn FnMut(Interaction),
) -> Result<ReadStats, ImportError> {
    let mut stats = ReadStats::default();
    while lines.advance()? {
        let line = lines.line();
        if line.trim_ascii().is_empty() {
            continue;
        }
        let at = lines.at();
        let f = Fields::split(line);
        f.require(3, "UserID::MovieID::Rating[::Timestamp]", at)?;
        let weight = field::weight(f.first[2]).ok_or_else(|| {
            at.parse(format!("expected a number in the Rating field, found '{}'", show(f.first[2])))
        })?;
        if spec.min_weight.is_some_and(|min| weight < min) {
            stats.skipped += 1;
            continue;
        }
        let time = match f.count {
            3 => None,
            _ => Some(field::time(f.first[3]).ok_or_else(|| {
                at.parse(format!("expected an integer in the Timestamp field, found '{}'", show(f.first[3])))
            })?),
        };
        let user = key(f.first[0], spec, "UserID", at)?;
        let item = key(f.first[1], spec, "MovieID", at)?;
        sink(Interaction { user, item, weight: Some(weight), time });
        stats.records += 1;
    }
    stats.lines = lines.number();
    Ok(stats)
}

/// Reads `users.dat` (for users) or `movies.dat` (for items).
pub(crate) fn read_entities(
    spec: &ImportSpec,
    lines: &mut Lines<'_>,
    sink: &mut dyn FnMut(Entity),
) -> Result<ReadStats, ImportError> {
    let mut stats = ReadStats::default();
    while lines.advance()? {
        let line = lines.line();
        if line.trim_ascii().is_empty() {
            continue;
        }
        let at = lines.at();
        let f = Fields::split(line);
        let entity = match spec.target {
            Target::Users => {
                f.require(4, "UserID::Gender::Age::Occupation::Zip-code", at)?;
                let key = key(f.first[0], spec, "UserID", at)?;
                let mut tags = Vec::with_capacity(3);
                for (i, name, field_name) in
                    [(1, "gender", "Gender"), (2, "age", "Age"), (3, "occupation", "Occupation")]
                {
                    let value = field::text(f.first[i])
                        .ok_or_else(|| at.parse(format!("invalid UTF-8 in the {field_name} field")))?;
                    if !value.is_empty() {
                        tags.push(format!("{name}:{value}"));
                    }
                }
                Entity { key, tags }
            }
            Target::Items | Target::Interactions => {
                f.require(3, "MovieID::Title::Genres", at)?;
                let key = key(f.first[0], spec, "MovieID", at)?;
                let genres =
                    field::text(f.last).ok_or_else(|| at.parse("invalid UTF-8 in the Genres field"))?;
                let tags = genres
                    .split('|')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(|g| format!("genre:{g}"))
                    .collect();
                Entity { key, tags }
            }
        };
        sink(entity);
        stats.records += 1;
    }
    stats.lines = lines.number();
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::Fields;

    #[test]
    fn fields_split_on_double_colons_only() {
        let f = Fields::split(b"1::Toy: Story::A|B");
        assert_eq!(
            (f.count, f.first[0], f.first[1], f.last),
            (3, &b"1"[..], &b"Toy: Story"[..], &b"A|B"[..])
        );
        let f = Fields::split(b"x");
        assert_eq!((f.count, f.first[0], f.last), (1, &b"x"[..], &b"x"[..]));
        let f = Fields::split(b"1::2::3::4::5::6::7");
        assert_eq!((f.count, f.first[4], f.last), (7, &b"5"[..], &b"7"[..]));
    }
}
