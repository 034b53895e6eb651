//! Damaged blob files: a flipped bit or a truncated file is found by the integrity check (the API and the
//! CHECK statement name the blob and its file) and makes serving the model fail with an error naming the
//! blob, never a panic or a wrong answer.

use std::path::{Path, PathBuf};

use recodb::{Database, ErrorKind, ResultSet};

/// A database in `dir` with three interactions and a trained `pop` model; returns the path of the
/// model's blob file that holds the most bytes (its data, not its format record).
fn database_with_model(dir: &Path) -> PathBuf {
    let db = Database::open(dir).expect("open");
    let seed = "INSERT INTERACTION user 1 item 'a'; INSERT INTERACTION user 1 item 'b'; \
                INSERT INTERACTION user 2 item 'a'; TRAIN pop;";
    db.execute(seed).expect("seed and train");
    drop(db);
    let files = std::fs::read_dir(dir.join("blob_files")).expect("blob directory");
    let files = files.map(|e| e.expect("entry").path());
    files.max_by_key(|f| std::fs::metadata(f).expect("metadata").len()).expect("TRAIN wrote a blob file")
}

fn check(db: &Database) -> ResultSet {
    db.query("CHECK", &[]).expect("CHECK runs on a readable database")
}

/// The `result` of CHECK's rows named `name`.
fn results(set: &ResultSet, name: &str) -> Vec<String> {
    set.rows()
        .filter(|row| row.get::<String>("check").expect("check column") == name)
        .map(|row| row.get::<String>("result").expect("result column"))
        .collect()
}

#[test]
fn check_counts_a_sound_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    database_with_model(dir.path());
    let db = Database::open(dir.path()).expect("reopen");
    let set = check(&db);
    for (name, value) in
        [("users", "2"), ("items", "2"), ("interactions", "3"), ("blobs", "2"), ("problems", "0")]
    {
        assert_eq!(results(&set, name), [value], "{name}");
    }
    assert!(results(&set, "problem").is_empty());
    assert_eq!(db.inspect_integrity().expect("readable").problems, Vec::<String>::new());
}

/// Damages the model's data file with `damage`, then: the integrity check, CHECK and RECOMMEND each
/// name the blob, its file and `what`.
fn damage_is_named(damage: impl Fn(&Path), what: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = database_with_model(dir.path());
    damage(&file);
    let db = Database::open(dir.path()).expect("a damaged blob does not stop the open");
    let named = |text: &str| {
        text.contains("blob 'model/pop/v1/") && text.contains(&format!("its file {} {what}", file.display()))
    };

    let problems = db.inspect_integrity().expect("readable").problems;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(named(&problems[0]), "{problems:?}");
    let error = db.check_integrity().expect_err("damaged");
    assert!(matches!(error.kind(), ErrorKind::Corrupt(_)) && named(&error.to_string()), "{error}");

    let set = check(&db);
    assert_eq!(results(&set, "problems"), ["1"]);
    assert_eq!(results(&set, "problem"), problems);

    let error = db.query("RECOMMEND user 1 TOP 1 USING pop", &[]).expect_err("the model is damaged");
    assert!(matches!(error.kind(), ErrorKind::Corrupt(_)) && named(&error.to_string()), "{error}");
}

#[test]
fn a_flipped_bit_in_a_blob_is_named() {
    let flip = |file: &Path| {
        let mut bytes = std::fs::read(file).expect("read blob");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        std::fs::write(file, bytes).expect("write blob");
    };
    damage_is_named(flip, "does not match its checksum");
}

#[test]
fn a_truncated_blob_is_named() {
    let truncate = |file: &Path| {
        let len = std::fs::metadata(file).expect("metadata").len();
        let handle = std::fs::OpenOptions::new().write(true).open(file).expect("open blob");
        handle.set_len(len / 2).expect("truncate");
    };
    damage_is_named(truncate, "is not");
}
