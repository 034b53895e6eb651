//! The `movielens` format, in both layouts GroupLens ships.
//!
//! ML-1M (and ML-10M): `::`-separated files. `ratings.dat` (`UserID::MovieID::Rating[::Timestamp]`)
//! gives interactions; `users.dat` (`UserID::Gender::Age::Occupation::Zip-code`) gives users tagged
//! `gender:F`, `age:25`, `occupation:12`; `movies.dat` (`MovieID::Title::Genres`, genres separated by
//! `|`) gives items labelled with their title and tagged `genre:Comedy`.
//!
//! ML-100K: `u.data` (`user id<TAB>item id<TAB>rating<TAB>timestamp`) gives interactions; `u.user`
//! (`user id|age|gender|occupation|zip code`) gives users tagged as above; `u.item` (`movie id|title|
//! release date|video release date|IMDb URL|` then 19 genre flags) gives items labelled with their
//! title and tagged `genre:X` for each flag that is 1.
//!
//! With the option `years = true`, a movie is also tagged with the bucket of the release year its title
//! ends with (`Toy Story (1995)` → `year:1995-96`), the ten buckets of the dual-tower model's
//! calibration: `<1940`, `1940s`, `1950s`, `1960s`, `1970s`, `1980s`, `1990-94`, `1995-96`, `1997-98`,
//! `1999-00` (see [`year_bucket`]).
//!
//! The layout is told by the first line: `::` means ML-1M, else a tab or `|` ML-100K. Titles are
//! ISO-8859-1 in both data sets: a title that is not UTF-8 is read as Latin-1.

use super::error::{show, At, ImportError};
use super::field;
use super::format::Target;
use super::options::ImportSpec;
use super::record::{Entity, Interaction, ReadStats};
use super::source::Lines;

/// The separator of the file's fields, told by its first line: `::` (ML-1M), else a tab (ML-100K's
/// `u.data`) or `|` (its `u.user` and `u.item`).
fn separator(first_line: &[u8]) -> &'static [u8] {
    if first_line.windows(2).any(|w| w == b"::") {
        b"::"
    } else if first_line.contains(&b'\t') {
        b"\t"
    } else {
        b"|"
    }
}

/// The genres of ML-100K's `u.item` flag columns, in order (its `u.genre`).
const GENRES_100K: [&str; 19] = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
];

/// The separated fields of a line: the first five, and the last.
struct Fields<'l> {
    first: [&'l [u8]; 5],
    last: &'l [u8],
    count: usize,
}

impl<'l> Fields<'l> {
    fn split(line: &'l [u8], separator: &[u8]) -> Fields<'l> {
        let mut fields = Fields { first: [&[]; 5], last: &[], count: 0 };
        let mut rest = line;
        loop {
            let (field, tail) = match rest.windows(separator.len()).position(|w| w == separator) {
                Some(p) => (&rest[..p], Some(&rest[p + separator.len()..])),
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
    fn require(&self, needed: usize, layout: &str, separator: &[u8], at: At<'_>) -> Result<(), ImportError> {
        if self.count >= needed {
            return Ok(());
        }
        let separator = if separator == b"\t" { "tab" } else { &show(separator) };
        Err(at.parse(format!(
            "expected {layout}, found {} '{separator}'-separated field{}",
            self.count,
            plural(self.count)
        )))
    }
}

/// A movie title: UTF-8 when it is, else ISO-8859-1 (Latin-1), which is what ML-1M's `movies.dat`
/// holds ("Mis\xe9rables"): every byte is then the character of the same number. Trimmed.
fn title(bytes: &[u8]) -> String {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    };
    text.trim().to_string()
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
    field::key(field, spec.string_keys).map_err(|e| e.error(field, &format!("in the {name} field"), at))
}

/// Reads `ratings.dat` or `u.data`: the rating is the weight, the timestamp (if any) the time.
pub(crate) fn read_interactions(
    spec: &ImportSpec,
    lines: &mut Lines<'_>,
    sink: &mut dyn FnMut(Interaction),
) -> Result<ReadStats, ImportError> {
    let mut stats = ReadStats::default();
    let mut sep = None;
    while lines.advance()? {
        let line = lines.line();
        if line.trim_ascii().is_empty() {
            continue;
        }
        let at = lines.at();
        let sep = *sep.get_or_insert_with(|| separator(line));
        let f = Fields::split(line, sep);
        let layout = if sep == b"::" {
            "UserID::MovieID::Rating[::Timestamp]"
        } else {
            "user, item, rating[, timestamp]"
        };
        f.require(3, layout, sep, at)?;
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

/// Reads `users.dat` or `u.user` (for users), `movies.dat` or `u.item` (for items).
pub(crate) fn read_entities(
    spec: &ImportSpec,
    lines: &mut Lines<'_>,
    sink: &mut dyn FnMut(Entity),
) -> Result<ReadStats, ImportError> {
    let mut stats = ReadStats::default();
    let mut sep = None;
    while lines.advance()? {
        let line = lines.line();
        if line.trim_ascii().is_empty() {
            continue;
        }
        let at = lines.at();
        let sep = *sep.get_or_insert_with(|| separator(line));
        let entity = match (spec.target, sep == b"::") {
            (Target::Users, true) => {
                user(spec, line, sep, [(1, "gender"), (2, "age"), (3, "occupation")], at)?
            }
            (Target::Users, false) => {
                user(spec, line, sep, [(2, "gender"), (1, "age"), (3, "occupation")], at)?
            }
            (Target::Items | Target::Interactions, true) => movie_1m(spec, line, at)?,
            (Target::Items | Target::Interactions, false) => movie_100k(spec, line, at)?,
        };
        sink(entity.checked(at)?);
        stats.records += 1;
    }
    stats.lines = lines.number();
    Ok(stats)
}

/// A user of `users.dat` or `u.user`, tagged `gender:`, `age:` and `occupation:` from the fields at the
/// given positions (which differ between the layouts).
fn user(
    spec: &ImportSpec,
    line: &[u8],
    sep: &[u8],
    fields: [(usize, &str); 3],
    at: At<'_>,
) -> Result<Entity, ImportError> {
    let f = Fields::split(line, sep);
    let layout = if sep == b"::" {
        "UserID::Gender::Age::Occupation::Zip-code"
    } else {
        "user id|age|gender|occupation|zip code"
    };
    f.require(4, layout, sep, at)?;
    let key = key(f.first[0], spec, "UserID", at)?;
    let mut tags = Vec::with_capacity(3);
    for (i, name) in fields {
        let value =
            field::text(f.first[i]).ok_or_else(|| at.not_utf8(&format!("the {name} field"), f.first[i]))?;
        if !value.is_empty() {
            tags.push(format!("{name}:{value}"));
        }
    }
    Ok(Entity { key, label: None, tags })
}

/// A movie of `movies.dat`: its title (every field between the id and the genres, as a title may hold
/// `::`) and its `|`-separated genres.
fn movie_1m(spec: &ImportSpec, line: &[u8], at: At<'_>) -> Result<Entity, ImportError> {
    let f = Fields::split(line, b"::");
    f.require(3, "MovieID::Title::Genres", b"::", at)?;
    let key = key(f.first[0], spec, "MovieID", at)?;
    let genres = field::text(f.last).ok_or_else(|| at.not_utf8("the Genres field", f.last))?;
    let tags =
        genres.split('|').map(str::trim).filter(|g| !g.is_empty()).map(|g| format!("genre:{g}")).collect();
    let title = title(&line[f.first[0].len() + 2..line.len() - f.last.len() - 2]);
    let mut tags: Vec<String> = tags;
    if spec.year_tags {
        tags.extend(year_bucket(&title).map(|b| format!("year:{b}")));
    }
    Ok(Entity { key, label: (!title.is_empty()).then_some(title), tags })
}

/// The release-year bucket of a MovieLens title that ends with its year in parentheses (`Heat (1995)`
/// → `1995-96`), or `None` when it does not: decades up to the 1980s (before 1940 in one bucket), then
/// 1990-94, 1995-96, 1997-98 and 1999-00 (2000 and later), as the dual-tower model's calibration
/// bucketed ML-1M's years.
pub fn year_bucket(title: &str) -> Option<&'static str> {
    let inner = title.trim_end().strip_suffix(')')?;
    let open = inner.rfind('(')?;
    let digits = &inner[open + 1..];
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: u32 = digits.parse().ok()?;
    Some(match year {
        0..=1939 => "<1940",
        1940..=1949 => "1940s",
        1950..=1959 => "1950s",
        1960..=1969 => "1960s",
        1970..=1979 => "1970s",
        1980..=1989 => "1980s",
        1990..=1994 => "1990-94",
        1995..=1996 => "1995-96",
        1997..=1998 => "1997-98",
        _ => "1999-00",
    })
}

/// A movie of `u.item`: id, title, three dates and links, then one 0/1 flag per genre.
fn movie_100k(spec: &ImportSpec, line: &[u8], at: At<'_>) -> Result<Entity, ImportError> {
    let fields: Vec<&[u8]> = line.split(|&b| b == b'|').collect();
    let needed = 5 + GENRES_100K.len();
    if fields.len() < needed {
        return Err(at.parse(format!(
            "expected movie id|title|release date|video release date|IMDb URL| and {} genre flags, found {} \
             '|'-separated field{}",
            GENRES_100K.len(),
            fields.len(),
            plural(fields.len())
        )));
    }
    let key = key(fields[0], spec, "movie id", at)?;
    let mut tags = Vec::new();
    for (flag, genre) in fields[5..needed].iter().zip(GENRES_100K) {
        match flag.trim_ascii() {
            b"1" => tags.push(format!("genre:{genre}")),
            b"0" | b"" => {}
            other => {
                return Err(at.parse(format!("expected 0 or 1 in the {genre} flag, found '{}'", show(other))))
            }
        }
    }
    let title = title(fields[1]);
    Ok(Entity { key, label: (!title.is_empty()).then_some(title), tags })
}

#[cfg(test)]
mod tests {
    use super::Fields;

    #[test]
    fn fields_split_on_double_colons_only() {
        let f = Fields::split(b"1::Toy: Story::A|B", b"::");
        assert_eq!(
            (f.count, f.first[0], f.first[1], f.last),
            (3, &b"1"[..], &b"Toy: Story"[..], &b"A|B"[..])
        );
        let f = Fields::split(b"x", b"::");
        assert_eq!((f.count, f.first[0], f.last), (1, &b"x"[..], &b"x"[..]));
        let f = Fields::split(b"1::2::3::4::5::6::7", b"::");
        assert_eq!((f.count, f.first[4], f.last), (7, &b"5"[..], &b"7"[..]));
        let f = Fields::split(b"196\t242\t3\t881250949", b"\t");
        assert_eq!((f.count, f.first[1], f.last), (4, &b"242"[..], &b"881250949"[..]));
    }
}
