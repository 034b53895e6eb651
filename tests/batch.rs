//! The embedded API's batch calls: many interactions or entities in one write, recommendations for many
//! users in one call (equal, user for user, to RECOMMEND), and read-only copies of a database.

mod common;

use common::{clustered, run};
use recodb::{Database, Entity, ErrorKind, Key, Side};

#[test]
fn insert_interactions_loads_columns_in_one_write() {
    let db = Database::open_temporary().expect("open");
    let users = [Key::Int(1), Key::Int(1), Key::from("ann"), Key::Int(1)];
    let items = [Key::Int(10), Key::Int(11), Key::Int(10), Key::Int(10)];
    let done = db
        .insert_interactions(&users, &items, Some(&[1.0, 2.0, 3.0, 5.0]), Some(&[7, 8, 9, 10]))
        .expect("insert");
    assert_eq!((done.records, done.new_users, done.new_items, done.new_interactions), (4, 2, 2, 3));
    let seen = db.interactions_of(&Key::Int(1)).expect("read").expect("user 1");
    assert_eq!((seen[0].weight, seen[0].time), (5.0, Some(10)), "a repeated pair keeps its last values");

    let err = db.insert_interactions(&users, &items[..2], None, None).expect_err("short column");
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument { name, .. } if name == "items"), "{err:?}");
    let err = db.insert_interactions(&users[..1], &items[..1], Some(&[f32::NAN]), None).expect_err("NaN");
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument { name, .. } if name == "weights"), "{err:?}");
    assert_eq!(db.stats().expect("stats").interactions, 3, "a refused batch changes nothing");

    let entities = [
        Entity { key: Key::Int(10), label: None, tags: vec!["genre:a".into()] },
        Entity { key: Key::from("new"), label: None, tags: vec!["genre:a".into(), "genre:b".into()] },
    ];
    let added = db.add_entities(Side::Item, &entities).expect("add items");
    assert_eq!((added.new_items, added.new_tags), (1, 3));
    db.check_integrity().expect("consistent");
}

#[test]
fn recommend_many_equals_recommend_user_for_user() {
    let (db, data, dir) = clustered(true);
    let tags = dir.path().join("item_tags.tsv");
    data.write_item_tags_tsv(&tags).expect("write tags");
    run(&db, &format!("IMPORT ITEMS FROM '{}' WITH (header = true)", tags.display()));
    run(&db, "TRAIN ease WITH (lambda = 10)");
    run(&db, "TRAIN dsiml AS hashed WITH (bits = 16, epochs = 5, iterations = 1)");
    run(&db, "DELETE ITEM 3");
    let mut users: Vec<Key> =
        (0..40).map(|u| Key::Int(u64::from(data.user_cluster.len() as u32 - 1 - u))).collect();
    users.push(Key::from("nobody"));
    for (model, filter, seen) in [
        ("ease", None, false),
        ("ease", Some("TAG = 'cluster:1' OR ITEM IN (5, 6)"), false),
        ("hashed", None, true),
        ("hashed", Some("NOT TAG = 'cluster:2'"), false),
    ] {
        let batch = db.recommend_many(model, &users, 7, filter, seen).expect("batch");
        assert_eq!(batch.items.len(), users.len() * 7);
        for (u, user) in users.iter().enumerate() {
            let Key::Int(id) = user else {
                assert_eq!(batch.row(u).count(), 0, "an unknown user gets an empty row");
                continue;
            };
            let statement = format!(
                "RECOMMEND user {id} TOP 7 USING {model}{}{}",
                filter.map(|f| format!(" WHERE {f}")).unwrap_or_default(),
                if seen { " INCLUDE SEEN" } else { "" }
            );
            let one = run(&db, &statement);
            let expected: Vec<(Key, f64)> = one
                .column::<Key>("item")
                .expect("items")
                .into_iter()
                .zip(one.column::<f64>("score").expect("scores"))
                .collect();
            let got: Vec<(Key, f64)> = batch.row(u).map(|(k, s)| (k.clone(), s)).collect();
            assert_eq!(got, expected, "{statement}");
            assert!(!got.iter().any(|(k, _)| *k == Key::Int(3)), "the deleted item is never returned");
        }
    }
    let err =
        db.recommend_many("ease", &users, 5, Some("TAG = 'cluster:1' TOP"), false).expect_err("bad filter");
    assert!(matches!(err.kind(), ErrorKind::Parse(_)), "{err:?}");
    let err = db.recommend_many("eas", &users, 5, None, false).expect_err("no such model");
    assert_eq!(err.suggestion(), Some("ease"));
}

#[test]
fn read_only_copies_serve_reads_and_refuse_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let db = Database::open(&path).expect("open");
        db.execute("INSERT INTERACTION user 1 item 2; INSERT INTERACTION user 3 item 2; INSERT INTERACTION user 3 item 4; TRAIN pop;")
            .expect("seed");
    }
    let first = Database::open_read_only(&path).expect("a read-only copy");
    let second = Database::open_read_only(&path).expect("another, at the same time");
    assert!(first.is_read_only() && second.is_read_only());
    for db in [&first, &second] {
        let recs = run(db, "RECOMMEND user 1 TOP 5 USING pop");
        assert_eq!(recs.column::<Key>("item").expect("items"), [Key::Int(4)]);
        let err = db.query("INSERT INTERACTION user 9 item 9", &[]).expect_err("a write");
        assert!(matches!(err.kind(), ErrorKind::Conflict(_)), "{err:?}");
        assert!(err.message().contains("read-only"), "{err}");
        let err = db.insert_interaction(9, 9, None, None).expect_err("a typed write");
        assert!(matches!(err.kind(), ErrorKind::Conflict(_)), "{err:?}");
        assert!(db.query("TRAIN pop", &[]).is_err());
    }
    drop((first, second));
    let db = Database::open(&path).expect("the original opens for writing");
    assert_eq!(db.stats().expect("stats").interactions, 3, "the original is unchanged");
    let err = Database::open_read_only(dir.path().join("absent")).err().expect("no such database");
    assert!(matches!(err.kind(), ErrorKind::Io { .. }), "{err:?}");
}
