//! Damaged blob files: a flipped bit or a truncated file is found by the integrity check (the API and the
//! CHECK statement name the blob and its file) and makes serving the model fail with an error naming the
//! blob, never a panic or a wrong answer. Damaged records (a model's, a job's): the database still opens,
//! a record that no longer decodes is named by the integrity check, CHECK and the statement that reads
//! it, and no damage gives a panic or a wrong RECOMMEND answer.

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

// ---------------------------------------------------------------------------------------------------
// Damaged records: a model's record and a job's record (namespace `model` and `job` of the `records`
// tree) with a bit flipped or cut short.

/// A database in `dir` as `database_with_model` makes it (model `pop`, job 1 done); returns what
/// RECOMMEND answers with the sound model.
fn sound_answer(dir: &Path) -> Vec<String> {
    database_with_model(dir);
    let db = Database::open(dir).expect("reopen");
    answer(&db).expect("a sound model answers")
}

fn answer(db: &Database) -> recodb::Result<Vec<String>> {
    let set = db.query("RECOMMEND user 2 TOP 3 USING pop", &[])?;
    Ok(set
        .rows()
        .map(|r| {
            format!("{} {}", r.get::<String>("item").expect("item"), r.get::<f64>("score").expect("score"))
        })
        .collect())
}

/// Rewrites record `name` of `namespace` in the database in `dir` with `damage` applied to its bytes.
fn damage_record(dir: &Path, namespace: &str, name: &str, damage: impl FnOnce(&mut Vec<u8>)) {
    let db = Database::open(dir).expect("open");
    let mut bytes = db.store().record(namespace, name).expect("read").expect("the record exists");
    damage(&mut bytes);
    db.store().write(|txn| txn.put_record(namespace, name, &bytes)).expect("write the damaged record");
}

/// A change made to a record's bytes.
type Damage = Box<dyn Fn(&mut Vec<u8>)>;

/// Every damage tried on a record: cut to nothing, to half, one byte short, and one bit flipped in
/// every third byte.
fn damages(len: usize) -> Vec<(String, Damage)> {
    let mut all: Vec<(String, Damage)> = Vec::new();
    for cut in [0, len / 2, len - 1] {
        all.push((format!("cut to {cut} bytes"), Box::new(move |b: &mut Vec<u8>| b.truncate(cut))));
    }
    for byte in (0..len).step_by(3) {
        all.push((
            format!("bit flipped in byte {byte}"),
            Box::new(move |b: &mut Vec<u8>| b[byte] ^= 1 << (byte % 8)),
        ));
    }
    all
}

fn record_len(namespace: &str, name: &str) -> usize {
    let dir = tempfile::tempdir().expect("tempdir");
    sound_answer(dir.path());
    let db = Database::open(dir.path()).expect("open");
    let len = db.store().record(namespace, name).expect("read").expect("the record exists").len();
    len
}

/// A damaged model record never stops the database from opening, never panics and never gives a
/// wrong answer: the model's RECOMMEND answers as before, or fails with an error naming the model;
/// when the record no longer decodes, the integrity check, CHECK and SHOW MODELS name its record.
#[test]
fn a_damaged_model_record_is_named_and_the_rest_of_the_database_opens() {
    let len = record_len("model", "pop");
    for (what, damage) in damages(len) {
        let dir = tempfile::tempdir().expect("tempdir");
        let sound = sound_answer(dir.path());
        damage_record(dir.path(), "model", "pop", damage);
        let db = Database::open(dir.path()).unwrap_or_else(|e| panic!("{what}: the open was refused: {e}"));
        let problems = db.inspect_integrity().expect("readable").problems;
        let named = |text: &str| text.contains("the record of model 'pop' is damaged");
        match answer(&db) {
            Ok(answer) => assert_eq!(answer, sound, "{what}: a wrong answer"),
            Err(e) => assert!(e.to_string().contains("'pop'"), "{what}: {e}"),
        }
        if what.starts_with("cut") {
            assert!(problems.len() == 1 && named(&problems[0]), "{what}: {problems:?}");
        }
        if problems.iter().any(|p| named(p)) {
            let error = db.check_integrity().expect_err("damaged");
            assert!(
                matches!(error.kind(), ErrorKind::Corrupt(_)) && named(&error.to_string()),
                "{what}: {error}"
            );
            assert_eq!(results(&check(&db), "problem"), problems, "{what}");
            let error = db.query("SHOW MODELS", &[]).expect_err("the record does not decode");
            assert!(named(&error.to_string()), "{what}: {error}");
            let error = answer(&db).expect_err("the record does not decode");
            assert!(named(&error.to_string()), "{what}: {error}");
        }
    }
}

/// A damaged job record never stops the database from opening or the models from answering; when it
/// no longer decodes, the integrity check, CHECK and SHOW JOBS name it, and the next job still gets a
/// new id.
#[test]
fn a_damaged_job_record_is_named_and_the_rest_of_the_database_opens() {
    let name = format!("{:020}", 1);
    let len = record_len("job", &name);
    for (what, damage) in damages(len) {
        let dir = tempfile::tempdir().expect("tempdir");
        let sound = sound_answer(dir.path());
        damage_record(dir.path(), "job", &name, damage);
        let db = Database::open(dir.path()).unwrap_or_else(|e| panic!("{what}: the open was refused: {e}"));
        assert_eq!(answer(&db).unwrap_or_else(|e| panic!("{what}: {e}")), sound, "{what}");
        let problems = db.inspect_integrity().expect("readable").problems;
        let named = |text: &str| text.contains("the record of job 1 is damaged");
        if what.starts_with("cut") {
            assert!(problems.len() == 1 && named(&problems[0]), "{what}: {problems:?}");
        }
        if !problems.is_empty() {
            assert!(problems.len() == 1 && named(&problems[0]), "{what}: {problems:?}");
            let error = db.check_integrity().expect_err("damaged");
            assert!(
                matches!(error.kind(), ErrorKind::Corrupt(_)) && named(&error.to_string()),
                "{what}: {error}"
            );
            assert_eq!(results(&check(&db), "problem"), problems, "{what}");
            let error = db.query("SHOW JOBS", &[]).expect_err("the record does not decode");
            assert!(named(&error.to_string()), "{what}: {error}");
            let trained = db.query("TRAIN pop AS other", &[]).unwrap_or_else(|e| panic!("{what}: {e}"));
            let job = trained.rows().next().expect("a row").get::<i64>("job").expect("job");
            assert_eq!(job, 2, "{what}: the damaged record's id is not reused");
        }
    }
}
