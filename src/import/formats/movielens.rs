//! The `movielens` format: `::`-separated files. `ratings.dat` (`UserID::MovieID::Rating[::Timestamp]`)
//! gives interactions; `users.dat` (`UserID::Gender::Age::Occupation::Zip`) gives user tags `gender:F`,
//! `age:25`, `occupation:12`; `movies.dat` (`MovieID::Title::Genres`) gives item tags `genre:Comedy`.
//! `movies.dat` is ISO-8859-1: titles are not read, so only the fields used must be UTF-8.

use super::delimited::{key, number};
use super::source::{show, At, Lines};
use super::spec::{ImportSpec, Target};
use super::{Entity, ImportError, Interaction, ReadStats};

fn fields(line: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(5);
    let mut rest = line;
    while let Some(p) = rest.windows(2).position(|w| w == b"::") {
        out.push(&rest[..p]);
        rest = &rest[p + 2..];
    }
    out.push(rest);
    out
}

fn text<'a>(field: &'a [u8], what: &str, at: At<'_>) -> Result<&'a str, ImportError> {
    std::str::from_utf8(field)
        .map(str::trim)
        .map_err(|_| at.parse_error(format!("invalid UTF-8 in the {what} field")))
}

pub(crate) fn read_interactions(
    spec: &ImportSpec,
    lines: &mut Lines<'_>,
    sink: &mut dyn FnMut(Interaction),
) -> Result<ReadStats, ImportError> {
    let mut stats = ReadStats::default();
    while let Some((line, at)) = lines.next_line()? {
        stats.lines += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let f = fields(line);
        if f.len() < 3 {
            return Err(at.parse_error(format!(
                "expected UserID::MovieID::Rating[::Timestamp], found {} field{}",
                f.len(),
                if f.len() == 1 { "" } else { "s" }
            )));
        }
        let user =
            key(f[0], spec.string_keys).map_err(|m| at.parse_error(format!("{m} in the UserID field")))?;
        let item =
            key(f[1], spec.string_keys).map_err(|m| at.parse_error(format!("{m} in the MovieID field")))?;
        let weight = number::<f32>(f[2]).filter(|w| w.is_finite()).ok_or_else(|| {
            at.parse_error(format!("expected a number in the Rating field, found '{}'", show(f[2])))
        })?;
        let time = f
            .get(3)
            .map(|t| {
                number::<i64>(t).ok_or_else(|| {
                    at.parse_error(format!("expected an integer in the Timestamp field, found '{}'", show(t)))
                })
            })
            .transpose()?;
        if spec.min_weight.is_some_and(|min| weight < min) {
            stats.skipped += 1;
            continue;
        }
        sink(Interaction { user, item, weight: Some(weight), time });
        stats.records += 1;
    }
    Ok(stats)
}

pub(crate) fn read_entities(
    spec: &ImportSpec,
    lines: &mut Lines<'_>,
    sink: &mut dyn FnMut(Entity),
) -> Result<ReadStats, ImportError> {
    let mut stats = ReadStats::default();
    while let Some((line, at)) = lines.next_line()? {
        stats.lines += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let f = fields(line);
        let entity = match spec.target {
            Target::Users => {
                if f.len() < 4 {
                    return Err(at.parse_error(format!(
                        "expected UserID::Gender::Age::Occupation::Zip-code, found {} fields",
                        f.len()
                    )));
                }
                let key = key(f[0], spec.string_keys)
                    .map_err(|m| at.parse_error(format!("{m} in the UserID field")))?;
                let mut tags = Vec::with_capacity(3);
                for (name, i) in [("gender", 1), ("age", 2), ("occupation", 3)] {
                    let value = text(f[i], name, at)?;
                    if !value.is_empty() {
                        tags.push(format!("{name}:{value}"));
                    }
                }
                Entity { key, tags }
            }
            _ => {
                if f.len() < 3 {
                    return Err(
                        at.parse_error(format!("expected MovieID::Title::Genres, found {} fields", f.len()))
                    );
                }
                let key = key(f[0], spec.string_keys)
                    .map_err(|m| at.parse_error(format!("{m} in the MovieID field")))?;
                let genres = text(f[f.len() - 1], "Genres", at)?;
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
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::fields;

    #[test]
    fn fields_split_on_double_colons_only() {
        assert_eq!(fields(b"1::Toy: Story::A|B"), vec![&b"1"[..], b"Toy: Story", b"A|B"]);
        assert_eq!(fields(b"x"), vec![&b"x"[..]]);
    }
}
