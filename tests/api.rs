//! The typed embedded API: add, insert, delete, describe, stats, and concurrent use from many threads.

use std::sync::Arc;

use recodb::{Database, ErrorKind, Key, OpenError, Side, Value};

#[test]
fn database_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Database>();
}

#[test]
fn typed_methods_add_read_and_delete() {
    let db = Database::open_temporary().expect("open");
    assert!(db.add_user(1, &["age:25"]).expect("add"));
    assert!(!db.add_user(1, &["gender:F"]).expect("add again only adds tags"));
    assert!(db.add_item("sku-1", &[]).expect("add"));
    assert!(db.insert_interaction(1, "sku-1", Some(4.0), Some(1_700_000_000)).expect("insert"));
    assert!(!db.insert_interaction(1, "sku-1", None, None).expect("same pair is not new"));
    assert!(db.insert_interaction(2, "sku-2", None, None).expect("creates user and item"));

    let user = db.describe(Side::User, &Key::Int(1)).expect("read").expect("exists");
    assert_eq!(
        (user.interactions, user.tags.clone()),
        (1, vec!["age:25".to_string(), "gender:F".to_string()])
    );
    let seen = db.interactions_of(&Key::Int(1)).expect("read").expect("exists");
    assert_eq!(
        (seen[0].item.clone(), seen[0].weight, seen[0].time),
        (Key::from("sku-1"), 4.0, Some(1_700_000_000))
    );

    let stats = db.stats().expect("stats");
    assert_eq!((stats.users, stats.items, stats.interactions, stats.user_tags), (2, 2, 2, 2));
    assert!((stats.density - 0.5).abs() < 1e-12);

    assert!(db.delete_interaction(1, "sku-1").expect("delete"));
    assert!(!db.delete_interaction(1, "sku-1").expect("already gone"));
    assert!(!db.delete_interaction(99, "sku-1").expect("unknown user"));
    assert!(db.delete_item("sku-2").expect("delete item"));
    assert!(db.delete_user(2).expect("delete user"));
    assert!(!db.delete_user(2).expect("already gone"));
    assert_eq!(db.describe(Side::User, &Key::Int(2)).expect("read"), None);
    let stats = db.stats().expect("stats");
    assert_eq!((stats.users, stats.items, stats.interactions), (1, 1, 0));
    db.check_integrity().expect("consistent");
}

#[test]
fn a_non_finite_weight_is_refused() {
    let db = Database::open_temporary().expect("open");
    let err = db.insert_interaction(1, 2, Some(f32::NAN), None).expect_err("NaN weight");
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument { name, .. } if name == "WEIGHT"), "{err:?}");
    assert_eq!(err.message(), "WEIGHT must be a finite number, got NaN");
    assert_eq!(err.span(), None, "a typed call has no statement text to point into");
    assert_eq!(db.stats().expect("stats").users, 0);
}

#[test]
fn errors_have_kinds_a_program_can_match() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "hello").expect("write");
    let err = Database::open(&file).err().expect("not a database");
    assert!(matches!(err.kind(), ErrorKind::Open(OpenError::NotADatabase { .. })), "{err:?}");
    let path = dir.path().join("db");
    let db = Database::open(&path).expect("open");
    let err = Database::open(&path).err().expect("locked");
    assert!(matches!(err.kind(), ErrorKind::Open(OpenError::Locked { .. })), "{err:?}");

    db.execute("INSERT INTERACTION user 1 item 2; TRAIN pop;").expect("seed");
    let err = db.query("EVALUATE pop", &[]).expect_err("no holdout");
    assert!(matches!(err.kind(), ErrorKind::Conflict(_)), "{err:?}");
    let missing = dir.path().join("no/such/dir/recs.tsv");
    let err = db
        .query("EXPORT RECOMMENDATIONS pop TOP 1 TO ?", &[missing.display().to_string().into()])
        .expect_err("io");
    let ErrorKind::Io { path, .. } = err.kind() else { panic!("not an I/O error: {err:?}") };
    assert!(path.ends_with("recs.tsv.partial"), "{path:?}");
    let err = db.query("SHOW USERS LIMIT ?", &[Value::from("ten")]).expect_err("a string limit");
    assert_eq!(err.span().map(|s| s.start.column), Some(18), "a bound parameter's error points at its ?");
}

#[test]
fn a_model_with_a_missing_blob_is_refused_naming_the_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let db = Database::open(&path).expect("open");
        db.execute("INSERT INTERACTION user 1 item 2; TRAIN pop AS favourites;").expect("seed");
        let names = db.store().blob_names("model/favourites/v1/").expect("names");
        let weights = names.iter().find(|n| !n.ends_with("format")).expect("a blob beside the format");
        db.store().write(|txn| txn.delete_blob(weights)).expect("delete the blob");
    }
    let db = Database::open(&path).expect("reopen");
    let err = db.query("RECOMMEND user 1 TOP 1 USING favourites", &[]).expect_err("a damaged model");
    assert!(matches!(err.kind(), ErrorKind::Corrupt(_)), "{err:?}");
    assert!(err.message().contains("has no blob") && err.message().contains("model 'favourites'"), "{err}");
}

#[test]
fn readers_run_while_a_writer_writes() {
    let db = Arc::new(Database::open_temporary().expect("open"));
    let writer = {
        let db = Arc::clone(&db);
        std::thread::spawn(move || {
            for i in 0..200u64 {
                db.insert_interaction(i % 10, i, None, None).expect("insert");
            }
        })
    };
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let db = Arc::clone(&db);
            std::thread::spawn(move || {
                let mut last = 0;
                for _ in 0..50 {
                    let snapshot = db.snapshot().expect("snapshot");
                    assert!(snapshot.nnz() >= last, "snapshots only grow while inserts run");
                    assert_eq!(snapshot.indptr.len(), snapshot.n_users as usize + 1);
                    last = snapshot.nnz();
                }
            })
        })
        .collect();
    writer.join().expect("writer");
    for r in readers {
        r.join().expect("reader");
    }
    assert_eq!(db.stats().expect("stats").interactions, 200);
    db.check_integrity().expect("consistent");
}

#[test]
fn a_snapshot_carries_the_users_and_items_tags() {
    let db = Database::open_temporary().expect("open");
    db.add_user(1u64, &["gender:F", "age:25"]).expect("user");
    db.add_item(10u64, &["genre:Drama"]).expect("item");
    db.add_item(11u64, &["genre:Comedy", "genre:Drama"]).expect("item");
    db.insert_interaction(1u64, 10u64, None, None).expect("insert");
    db.insert_interaction(2u64, 11u64, None, None).expect("insert");
    db.add_item(12u64, &[]).expect("an item without tags");
    let s = db.snapshot().expect("snapshot");
    let drama = s.item_tags.row(0);
    assert_eq!((s.item_tags.n_tags, s.item_tags.indptr.len(), drama.len()), (2, 4, 1));
    let both = s.item_tags.row(1);
    assert!(both.len() == 2 && both[0] < both[1] && both.contains(&drama[0]), "{both:?}");
    assert_eq!(s.item_tags.row(2), &[] as &[u32]);
    assert_eq!((s.user_tags.n_tags, s.user_tags.row(0).len(), s.user_tags.row(1).len()), (2, 2, 0));
    assert_eq!(s.user_tags.row(7), &[] as &[u32], "out of range");
}
