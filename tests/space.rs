//! Space given back (issue 20, item 1): a model version's data is a file of its own, removed when a new
//! version is published or the model is dropped; `SHOW STATS` tells data, models and reclaimable space
//! apart; a read-only open leaves the original's files alone.

mod common;

use std::path::Path;

use common::run;
use recodb::synth::{generate, SynthConfig};
use recodb::{Database, Value};
use recodb_storage::BLOB_DIR;

/// The number of blob files of the database in `path`.
fn blob_files(path: &Path) -> usize {
    std::fs::read_dir(path.join(BLOB_DIR)).expect("blob dir").count()
}

/// A `SHOW STATS` figure.
fn stat(db: &Database, name: &str) -> u64 {
    let stats = run(db, "SHOW STATS");
    let row = stats.rows().find(|r| r.get::<String>("stat").expect("stat") == name);
    row.unwrap_or_else(|| panic!("no {name} row"))
        .get::<String>("value")
        .expect("value")
        .parse()
        .expect("a number")
}

/// A database in `dir` holding the demo's synthetic data, scaled down.
fn seeded(dir: &tempfile::TempDir) -> (Database, std::path::PathBuf) {
    let config = SynthConfig { users: 300, items: 120, interactions_per_user: 12, ..SynthConfig::demo() };
    let data = dir.path().join("data.tsv");
    generate(&config).write_tsv(&data).expect("write data");
    let path = dir.path().join("db");
    let db = Database::open(&path).expect("open");
    run(&db, &format!("IMPORT INTERACTIONS FROM '{}'", data.display()));
    (db, path)
}

#[test]
fn retraining_and_dropping_models_gives_their_files_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, path) = seeded(&dir);
    assert_eq!((blob_files(&path), stat(&db, "size_models")), (0, 0));
    let data = stat(&db, "size_data");
    assert!(data > 0);

    run(&db, "TRAIN ease AS e");
    let one_version = stat(&db, "size_models");
    // ease's weights are 120 × 120 f32s, plus the archive's header and the format blob.
    assert!(one_version >= 120 * 120 * 4, "{one_version}");
    assert_eq!(blob_files(&path), 2, "the weights and the format blob");
    for _ in 0..3 {
        run(&db, "TRAIN ease AS e");
        assert_eq!(blob_files(&path), 2, "each new version replaces the files of the last");
        assert_eq!(stat(&db, "size_models"), one_version);
    }
    run(&db, "TRAIN pop AS p");
    assert_eq!(blob_files(&path), 4);
    assert_eq!(
        stat(&db, "size_on_disk"),
        stat(&db, "size_data") + stat(&db, "size_models") + stat(&db, "size_free")
    );

    run(&db, "DROP MODEL e");
    assert_eq!(blob_files(&path), 2, "dropping a model removes its files");
    run(&db, "DROP MODEL p");
    assert_eq!((blob_files(&path), stat(&db, "size_models"), stat(&db, "size_free")), (0, 0, 0));
    db.check_integrity().expect("consistent");
}

#[test]
fn a_read_only_open_leaves_the_originals_files_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, path) = seeded(&dir);
    run(&db, "TRAIN pop AS p");
    drop(db);
    // A file nothing names, as a crash would leave: only a writable open of the original removes it.
    let orphan = path.join(BLOB_DIR).join("00000000000000aa");
    std::fs::write(&orphan, b"left by a crash").expect("orphan");
    {
        let reader = Database::open_read_only(&path).expect("read-only");
        let top = reader.query("RECOMMEND user ? TOP 3 USING p", &[Value::Int(1)]).expect("recommend");
        assert_eq!(top.len(), 3);
    }
    assert!(orphan.exists(), "a read-only open removes nothing from the original");
    let db = Database::open(&path).expect("writable");
    assert!(!orphan.exists(), "a writable open removes the orphan");
    assert_eq!(blob_files(&path), 2);
    assert_eq!(run(&db, "RECOMMEND user 1 TOP 3 USING p").len(), 3);
}
