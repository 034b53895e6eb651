//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::PathBuf;

use recodb::synth::{generate, SynthConfig, SynthData};
use recodb::{Database, ResultSet};

/// The shared real data sets beside the repository, or `None` (with a printed reason) when absent.
pub fn shared_data(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data").join(relative);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "skipped: {} is absent (the shared data sets are not beside the repository)",
            path.display()
        );
        None
    }
}

/// Writes `text` to `name` inside `dir` and returns the path.
pub fn write_file(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write test file");
    path
}

/// Runs `statement`, panicking with the statement and the error if it fails.
pub fn run(db: &Database, statement: &str) -> ResultSet {
    db.query(statement, &[]).unwrap_or_else(|e| panic!("{statement}: {e}"))
}

/// Runs `statement`, which must fail with an error of the kind whose code is `code` (see
/// `ErrorKind::code`) pointing at the text `spot` of the statement; returns the error.
pub fn failure(db: &Database, statement: &str, code: &str, spot: &str) -> recodb::Error {
    let err = db.query(statement, &[]).expect_err(statement);
    assert_eq!(err.kind().code(), code, "{statement}: {err:?}");
    let span = err.span().unwrap_or_else(|| panic!("{statement}: no position in {err:?}"));
    assert_eq!(&statement[span.start.offset..span.end.offset], spot, "{statement}: {err}");
    err
}

/// The value of an EVALUATE row: metric `name` at cut-off `k` (`None`: the first row of that name).
pub fn metric(result: &ResultSet, name: &str, k: Option<i64>) -> f64 {
    result
        .rows()
        .find(|r| {
            r.get::<String>("metric").expect("metric") == name
                && (k.is_none() || r.get::<Option<i64>>("k").expect("k") == k)
        })
        .map(|r| r.get::<f64>("value").expect("value"))
        .unwrap_or_else(|| panic!("no {name} row at {k:?}"))
}

/// The value in `column` of an EVALUATE row of several columns: metric `name` at cut-off `k`.
pub fn figure(result: &ResultSet, column: &str, name: &str, k: Option<i64>) -> f64 {
    result
        .rows()
        .find(|r| {
            r.get::<String>("metric").ok().as_deref() == Some(name)
                && r.get::<Option<i64>>("k").ok() == Some(k)
        })
        .and_then(|r| r.get::<f64>(column).ok())
        .unwrap_or_else(|| panic!("no {name} at {k:?} in {column}"))
}

/// A database holding the standard split's training pairs, trained with `train`, and the test file;
/// `None` (with a printed reason) when the shared data is absent.
pub fn standard_split(train_statement: &str) -> Option<(Database, std::path::PathBuf)> {
    let (Some(train), Some(test)) =
        (shared_data("splits/ml-1m-r4/train.tsv"), shared_data("splits/ml-1m-r4/test.tsv"))
    else {
        return None;
    };
    let db = Database::open_temporary().expect("open");
    db.query(&format!("IMPORT INTERACTIONS FROM '{}'", train.display()), &[]).expect("import");
    run(&db, train_statement);
    Some((db, test))
}

/// The `item` column of a result set.
pub fn items(set: &ResultSet) -> Vec<String> {
    set.column::<String>("item").expect("item column")
}

/// 600 users in 6 taste clusters over 240 items, imported (users and items keyed by their synthetic
/// ids), with a quarter of each user's items held out when `holdout`.
pub fn clustered(holdout: bool) -> (Database, SynthData, tempfile::TempDir) {
    let config = SynthConfig {
        users: 600,
        items: 240,
        interactions_per_user: 20,
        clusters: 6,
        taste_strength: 0.9,
        zipf_exponent: 0.8,
        seed: 11,
    };
    let data = generate(&config);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("synth.tsv");
    data.write_tsv(&path).expect("write");
    let db = Database::open_temporary().expect("open");
    run(&db, &format!("IMPORT INTERACTIONS FROM '{}'", path.display()));
    if holdout {
        run(&db, "SPLIT HOLDOUT 0.25 SEED 5");
    }
    (db, data, dir)
}
