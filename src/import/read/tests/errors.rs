//! Bad input: every error names the file, the line when there is one, and what was wrong.

use super::*;
use crate::import::read::ImportErrorKind;

fn bad_interactions(
    name: &str,
    bytes: &[u8],
    format: Option<&str>,
    options: &[(&str, Value)],
) -> ImportError {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), name, bytes);
    let err = interactions(&path, format, options).unwrap_err();
    assert_eq!(err.path, path);
    err
}

fn assert_error(err: &ImportError, kind: ImportErrorKind, line: Option<u64>, message: &str) {
    assert_eq!((err.kind, err.line, err.message.as_str()), (kind, line, message), "{err}");
}

#[test]
fn too_few_columns() {
    let err = bad_interactions("r.tsv", b"1\t2\n\n3\n", None, &[]);
    assert_error(&err, ImportErrorKind::Parse, Some(3), "expected at least 2 tab-separated columns, found 1");
    let err = bad_interactions("r.csv", b"u,i,w\n1,2,3\n1,2\n", None, &[("weight", "w".into())]);
    assert_error(
        &err,
        ImportErrorKind::Parse,
        Some(3),
        "expected at least 3 comma-separated columns, found 2",
    );
}

#[test]
fn non_numeric_weight_and_time() {
    let text = b"UserID\tItemIdx\tRating\n1\t1\t5\n1\t2\tx\n";
    let err = bad_interactions("ratings.tsv", text, None, &[("weight", "Rating".into())]);
    assert_error(&err, ImportErrorKind::Parse, Some(3), "expected a number in column 'Rating', found 'x'");
    let shown = err.to_string();
    assert!(
        shown.ends_with("ratings.tsv', line 3: expected a number in column 'Rating', found 'x'"),
        "{shown}"
    );
    let err = bad_interactions("r.tsv", b"1\t2\t3.5\n", None, &[("time", Value::Int(2))]);
    assert_error(
        &err,
        ImportErrorKind::Parse,
        Some(1),
        "expected an integer timestamp in column 2, found '3.5'",
    );
}

#[test]
fn empty_and_invalid_utf8_keys() {
    let err = bad_interactions("r.tsv", b"1\t2\n\t5\n", None, &[]);
    assert_error(&err, ImportErrorKind::Parse, Some(2), "empty key in column 0");
    let err = bad_interactions("r.tsv", b"1\tab\xff\n", None, &[]);
    assert_error(&err, ImportErrorKind::Parse, Some(1), "invalid UTF-8 in the key in column 1: byte 0xFF after 'ab'; if the file is Latin-1 or Windows-1252, add encoding = 'latin1'");
    let err = bad_interactions("r.tsv", b"u\ti\n1\t\xff\n", None, &[("item", "i".into())]);
    assert_error(&err, ImportErrorKind::Parse, Some(2), "invalid UTF-8 in the key in column 'i': byte 0xFF at its start; if the file is Latin-1 or Windows-1252, add encoding = 'latin1'");
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.tsv");
    let err = interactions(&path, None, &[]).unwrap_err();
    assert_eq!((err.kind, err.line), (ImportErrorKind::Io, None));
    assert!(err.message.starts_with("cannot open the file: "), "{err}");
    assert!(err.to_string().starts_with(&format!("'{}': ", path.display())), "{err}");
}

#[test]
fn unknown_option() {
    let err = bad_interactions("r.tsv", b"1\t2\n", None, &[("wieght", Value::Int(2))]);
    assert_error(
        &err,
        ImportErrorKind::Option,
        None,
        "unknown option 'wieght' for FORMAT tsv interactions; did you mean 'weight'? the valid options are: header, \
         columns, delimiter, user, item, weight, time, min_weight, keys, encoding",
    );
    assert_eq!(
        err.option.as_deref(),
        Some("wieght"),
        "the error names the option, so a statement can point at it"
    );
}

#[test]
fn unknown_header_column_lists_the_columns() {
    let err =
        bad_interactions("r.tsv", b"UserID\tItemIdx\tRating\n1\t2\t3\n", None, &[("weight", "Ratin".into())]);
    assert_error(
        &err,
        ImportErrorKind::Option,
        None,
        "no column named 'Ratin'; the header's columns are: UserID, ItemIdx, Rating",
    );
    let err =
        bad_interactions("r.tsv", b"a\tb\n1\t2\n", None, &[("header", true.into()), ("time", Value::Int(5))]);
    assert_error(
        &err,
        ImportErrorKind::Option,
        None,
        "column 5 is out of range: the header has 2 columns (a, b)",
    );
}

#[test]
fn a_header_is_expected_but_the_file_is_empty() {
    let err = bad_interactions("r.tsv", b"", None, &[("user", "u".into())]);
    assert_error(&err, ImportErrorKind::Parse, None, "the file is empty, but a header line was expected");
}

#[test]
fn min_weight_without_a_weight_column() {
    let err = bad_interactions("r.tsv", b"1\t2\t3\n", None, &[("min_weight", Value::Float(3.5))]);
    assert_error(
        &err,
        ImportErrorKind::Option,
        None,
        "option 'min_weight' needs a weight column: add weight = <column>",
    );
}

#[test]
fn cancel_through_progress() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..100_000).map(|i| format!("{i}\t{}\n", i % 13)).collect();
    let path = write(dir.path(), "big.tsv", text.as_bytes());
    let spec = ImportSpec::new(&path, Target::Interactions, None, &[]).unwrap();
    // At once.
    let mut n = 0;
    let err = read_interactions(&spec, &mut |_, _| false, &mut |_| n += 1).unwrap_err();
    assert_error(&err, ImportErrorKind::Cancelled, None, "import cancelled");
    assert_eq!(n, 0);
    // After a few reports: some records arrived, not all.
    let mut calls = 0;
    let err = read_interactions(
        &spec,
        &mut |_, _| {
            calls += 1;
            calls < 3
        },
        &mut |_| n += 1,
    )
    .unwrap_err();
    assert_eq!(err.kind, ImportErrorKind::Cancelled);
    assert!(n > 0 && n < 100_000, "{n}");
}

#[test]
fn movielens_bad_lines() {
    let err = bad_interactions("ratings.dat", b"1::2::5\n1::2\n", None, &[]);
    assert_error(
        &err,
        ImportErrorKind::Parse,
        Some(2),
        "expected UserID::MovieID::Rating[::Timestamp], found 2 '::'-separated fields",
    );
    let err = bad_interactions("ratings.dat", b"1::2::five\n", None, &[]);
    assert_error(
        &err,
        ImportErrorKind::Parse,
        Some(1),
        "expected a number in the Rating field, found 'five'",
    );
    let err = bad_interactions("ratings.dat", b"1::2::5::soon\n", None, &[]);
    assert_error(
        &err,
        ImportErrorKind::Parse,
        Some(1),
        "expected an integer in the Timestamp field, found 'soon'",
    );
    let err = bad_interactions("ratings.dat", b"1::\xff::5\n", None, &[]);
    assert_error(&err, ImportErrorKind::Parse, Some(1), "invalid UTF-8 in the key in the MovieID field: byte 0xFF at its start; if the file is Latin-1 or Windows-1252, add encoding = 'latin1'");

    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "movies.dat", b"1::T\xe9::Drama|Com\xe9dy\n");
    let err = entities(&path, Target::Items, None, &[]).unwrap_err();
    assert_error(&err, ImportErrorKind::Parse, Some(1), "invalid UTF-8 in the Genres field: byte 0xE9 after 'Drama|Com'; if the file is Latin-1 or Windows-1252, add encoding = 'latin1'");
    let path = write(dir.path(), "users.dat", b"1::F::25\n");
    let err = entities(&path, Target::Users, None, &[]).unwrap_err();
    assert_error(
        &err,
        ImportErrorKind::Parse,
        Some(1),
        "expected UserID::Gender::Age::Occupation::Zip-code, found 3 '::'-separated fields",
    );
}

#[test]
fn invalid_utf8_in_a_tag_and_lightgcn_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "items.csv", b"id,genre\n1,ok\n2,b\xe9d\n");
    let err = entities(&path, Target::Items, None, &[("header", true.into())]).unwrap_err();
    assert_error(&err, ImportErrorKind::Parse, Some(3), "invalid UTF-8 in column 'genre': byte 0xE9 after 'b'; if the file is Latin-1 or Windows-1252, add encoding = 'latin1'");
    let err = bad_interactions("train.txt", b"1 2 3\n2 4 \xff\n", Some("lightgcn"), &[]);
    assert_error(&err, ImportErrorKind::Parse, Some(2), "invalid UTF-8 in the key for item 2: byte 0xFF at its start; if the file is Latin-1 or Windows-1252, add encoding = 'latin1'");
}

#[test]
fn a_header_read_as_data_is_refused_with_the_fix() {
    let text = b"userId,movieId\n1,10\n2,11\n";
    let err = bad_interactions("ratings.csv", text, None, &[]);
    assert_error(
        &err,
        ImportErrorKind::Parse,
        Some(1),
        "this line looks like a header ('userId', 'movieId' where the next line has integer keys); \
         add header = true to skip it (header = false reads it as data)",
    );
    // Stated either way, the first line is what the statement says.
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "ratings.csv", text);
    let (rows, _) = interactions(&path, None, &[("header", true.into())]).unwrap();
    assert_eq!(rows, vec![pair(1, 10, None, None), pair(2, 11, None, None)]);
    let (rows, _) = interactions(&path, None, &[("header", false.into())]).unwrap();
    assert_eq!(rows[0].user, Key::Str("userId".into()));
    // Text keys throughout are keys, not a header; so is a one-line file.
    let path = write(dir.path(), "names.tsv", b"ann\tbook\nbob\tpen\n");
    assert_eq!(interactions(&path, None, &[]).unwrap().0.len(), 2);
    let path = write(dir.path(), "one.tsv", b"user\titem\n");
    assert_eq!(interactions(&path, None, &[]).unwrap().0.len(), 1);
}

#[test]
fn a_header_in_an_entities_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "items.tsv", b"item\tgenre\n1\tdrama\n");
    let err = entities(&path, Target::Items, None, &[]).unwrap_err();
    assert_eq!((err.line, err.kind), (Some(1), ImportErrorKind::Parse));
    assert!(err.message.starts_with("this line looks like a header ('item' where"), "{err}");
}

#[test]
fn a_word_in_a_number_column_of_the_first_line_hints_at_the_header() {
    let err = bad_interactions("r.tsv", b"user\titem\trating\n1\t2\t5\n", None, &[("weight", Value::Int(2))]);
    assert_error(
        &err,
        ImportErrorKind::Parse,
        Some(1),
        "expected a number in column 2, found 'rating' (if this line is a header, add header = true)",
    );
    let err = bad_interactions("r.tsv", b"1\t2\t5\n1\t3\tfive\n", None, &[("weight", Value::Int(2))]);
    assert_error(&err, ImportErrorKind::Parse, Some(2), "expected a number in column 2, found 'five'");
}
