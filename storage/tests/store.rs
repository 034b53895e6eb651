//! Behaviour of the store through its public API; `check_integrity` runs after every kind of write.

mod common;

use recodb_storage::{
    Durability, Key, OpenError, PairAttrs, RoaringBitmap, Side, SnapshotPart, StorageError, Store,
    DURABILITY_SETTING, FORMAT_VERSION,
};

fn attrs(weight: Option<f32>, time: Option<i64>) -> PairAttrs {
    PairAttrs { weight, time }
}

/// Adds `(user key, item key, weight)` interactions in one write.
fn add(store: &Store, pairs: &[(u64, u64, Option<f32>)]) {
    store
        .write(|txn| -> Result<(), StorageError> {
            for &(u, i, w) in pairs {
                let (user, _) = txn.ensure(Side::User, &Key::Int(u))?;
                let (item, _) = txn.ensure(Side::Item, &Key::Int(i))?;
                txn.add_interactions(user, &mut [(item, attrs(w, None))])?;
            }
            Ok(())
        })
        .expect("write succeeds");
    store.check_integrity().expect("consistent after write");
}

fn id(store: &Store, side: Side, key: u64) -> u32 {
    store.id_of(side, &Key::Int(key)).expect("read").expect("exists")
}

#[test]
fn interactions_are_kept_in_both_directions_with_counts() {
    let store = Store::open_temporary().expect("open");
    add(&store, &[(1, 10, None), (1, 11, Some(4.0)), (2, 10, None), (1, 10, None)]);
    assert_eq!(store.count(Side::User).expect("count"), 2);
    assert_eq!(store.count(Side::Item).expect("count"), 2);
    assert_eq!(store.interaction_count().expect("count"), 3);
    let (u1, i10, i11) = (id(&store, Side::User, 1), id(&store, Side::Item, 10), id(&store, Side::Item, 11));
    let row = store.user_row(u1).expect("read").expect("row");
    assert_eq!(row.iter().collect::<Vec<_>>(), vec![(i10, 1.0, None), (i11, 4.0, None)]);
    let users: Vec<u32> = store.neighbours(Side::Item, i10).expect("read").expect("row").iter().collect();
    assert_eq!(users, vec![u1, id(&store, Side::User, 2)]);
    assert_eq!(store.key_of(Side::Item, i11).expect("read"), Some(Key::Int(11)));
}

#[test]
fn duplicate_entries_in_one_write_keep_the_last_weight_and_time() {
    let store = Store::open_temporary().expect("open");
    store
        .write(|txn| -> Result<(), StorageError> {
            let (u, _) = txn.ensure(Side::User, &Key::from("alice"))?;
            let (i, _) = txn.ensure(Side::Item, &Key::from("sku"))?;
            let new =
                txn.add_interactions(u, &mut [(i, attrs(Some(1.0), Some(5))), (i, attrs(Some(3.0), None))])?;
            assert_eq!(new, 1);
            Ok(())
        })
        .expect("write");
    let u = store.id_of(Side::User, &Key::from("alice")).expect("read").expect("exists");
    assert_eq!(
        store.user_row(u).expect("read").expect("row").iter().collect::<Vec<_>>(),
        vec![(0, 3.0, Some(5))]
    );
    store.check_integrity().expect("consistent");
}

#[test]
fn a_failed_write_leaves_nothing_behind() {
    let store = Store::open_temporary().expect("open");
    add(&store, &[(1, 1, None)]);
    let version = store.data_version().expect("version");
    let result = store.write(|txn| -> Result<(), StorageError> {
        let (u, _) = txn.ensure(Side::User, &Key::Int(2))?;
        txn.add_interactions(u, &mut [(0, attrs(None, None))])?;
        Err(StorageError::Limit("stop".into()))
    });
    assert!(result.is_err());
    assert_eq!(store.count(Side::User).expect("count"), 1);
    assert_eq!(store.interaction_count().expect("count"), 1);
    assert_eq!(store.data_version().expect("version"), version);
    assert_eq!(store.id_of(Side::User, &Key::Int(2)).expect("read"), None);
    store.check_integrity().expect("consistent");
}

#[test]
fn deleting_a_user_or_item_removes_it_everywhere_and_never_reuses_its_id() {
    let store = Store::open_temporary().expect("open");
    add(&store, &[(1, 10, Some(2.0)), (1, 11, Some(3.0)), (2, 11, None), (2, 12, None)]);
    store
        .write(|txn| -> Result<(), StorageError> {
            let u = txn.id_of(Side::User, &Key::Int(1))?.expect("exists");
            txn.add_tag(Side::User, u, "vip")?;
            Ok(())
        })
        .expect("tag");
    let i11 = id(&store, Side::Item, 11);
    assert!(store.write(|txn| txn.delete(Side::Item, &Key::Int(11))).expect("delete"));
    store.check_integrity().expect("consistent after item delete");
    assert_eq!(store.interaction_count().expect("count"), 2);
    let u1 = id(&store, Side::User, 1);
    assert_eq!(
        store.user_row(u1).expect("read").expect("row").iter().collect::<Vec<_>>(),
        vec![(0, 2.0, None)]
    );
    assert!(store.write(|txn| txn.delete(Side::User, &Key::Int(1))).expect("delete"));
    store.check_integrity().expect("consistent after user delete");
    assert_eq!(store.tag_members(Side::User, "vip").expect("read").map(|b| b.len()), Some(0));
    assert!(!store.write(|txn| txn.delete(Side::User, &Key::Int(1))).expect("second delete is a no-op"));
    add(&store, &[(3, 11, None)]);
    assert!(id(&store, Side::Item, 11) > i11, "a deleted id is not reused");
    assert_eq!(store.count(Side::User).expect("count"), 2);
}

#[test]
fn removing_an_interaction_updates_both_directions_and_the_holdout() {
    let store = Store::open_temporary().expect("open");
    add(&store, &[(1, 10, None), (1, 11, None)]);
    let (u, i) = (id(&store, Side::User, 1), id(&store, Side::Item, 11));
    let held: RoaringBitmap = [i].into_iter().collect();
    assert_eq!(store.write(|txn| txn.hold_out(u, &held)).expect("hold out"), 1);
    assert_eq!(store.holdout_count().expect("count"), 1);
    assert!(store.write(|txn| txn.remove_interaction(u, i)).expect("remove"));
    assert!(!store.write(|txn| txn.remove_interaction(u, i)).expect("remove again"));
    assert_eq!(store.holdout_count().expect("count"), 0);
    assert_eq!(store.neighbours(Side::Item, i).expect("read"), None);
    store.check_integrity().expect("consistent");
}

#[test]
fn snapshots_split_visible_and_held_out_interactions() {
    let store = Store::open_temporary().expect("open");
    add(&store, &[(1, 10, Some(5.0)), (1, 11, None), (1, 12, None), (2, 10, None), (3, 12, Some(2.0))]);
    let u1 = id(&store, Side::User, 1);
    let i11 = id(&store, Side::Item, 11);
    store.write(|txn| txn.hold_out(u1, &[i11].into_iter().collect())).expect("hold out");
    store.check_integrity().expect("consistent");

    let visible = store.snapshot(SnapshotPart::Visible).expect("snapshot");
    assert_eq!((visible.n_users, visible.n_items, visible.nnz()), (3, 3, 4));
    assert_eq!(visible.row(u1), &[0, 2]);
    assert_eq!(visible.row_weights(u1), Some(&[5.0, 1.0][..]));
    assert_eq!(visible.row(id(&store, Side::User, 3)), &[2]);
    assert_eq!(visible.row_weights(id(&store, Side::User, 3)), Some(&[2.0][..]));
    assert_eq!(visible.row(99), &[] as &[u32]);

    let held = store.snapshot(SnapshotPart::Holdout).expect("snapshot");
    assert_eq!(held.nnz(), 1);
    assert_eq!(held.row(u1), &[i11]);
    // One user's items agree with the snapshots: all of them, and the visible ones.
    let (all, seen) = store.user_items(u1).expect("items");
    assert_eq!(all.iter().collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(seen.iter().collect::<Vec<_>>(), visible.row(u1));

    store.write(|txn| txn.clear_holdout()).expect("clear");
    assert_eq!(store.snapshot(SnapshotPart::Visible).expect("snapshot").nnz(), 5);
    assert_eq!(store.holdout_count().expect("count"), 0);
    store.check_integrity().expect("consistent");
}

#[test]
fn tags_keep_a_bitmap_per_tag() {
    let store = Store::open_temporary().expect("open");
    add(&store, &[(1, 10, None), (1, 11, None)]);
    store
        .write(|txn| -> Result<(), StorageError> {
            for (key, tag) in [(10, "genre:Comedy"), (11, "genre:Comedy"), (11, "genre:Drama")] {
                let item = txn.id_of(Side::Item, &Key::Int(key))?.expect("exists");
                assert!(txn.add_tag(Side::Item, item, tag)?);
            }
            let item = txn.id_of(Side::Item, &Key::Int(11))?.expect("exists");
            assert!(!txn.add_tag(Side::Item, item, "genre:Drama")?, "adding a tag twice is a no-op");
            Ok(())
        })
        .expect("write");
    store.check_integrity().expect("consistent");
    let comedy = store.tag_members(Side::Item, "genre:Comedy").expect("read").expect("tag");
    assert_eq!(comedy.len(), 2);
    assert_eq!(store.tag_members(Side::Item, "genre:Horror").expect("read"), None);
    assert_eq!(store.tag_members(Side::User, "genre:Comedy").expect("read"), None, "sides are separate");
    assert_eq!(
        store.entity_tags(Side::Item, id(&store, Side::Item, 11)).expect("read"),
        vec!["genre:Comedy".to_string(), "genre:Drama".to_string()]
    );
    assert_eq!(
        store.tags(Side::Item).expect("read"),
        vec![("genre:Comedy".to_string(), 2), ("genre:Drama".to_string(), 1)]
    );
    let now = store.tags_now().expect("read");
    assert_eq!(now.data_version, store.data_version().expect("read"));
    let (i10, i11) = (id(&store, Side::Item, 10), id(&store, Side::Item, 11));
    assert_eq!((now.items.row(i10).len(), now.items.row(i11).len()), (1, 2));
    assert_eq!(now.items.row(i10), &now.items.row(i11)[..1], "the same tag id for genre:Comedy");
    assert!(now.users.row(id(&store, Side::User, 1)).is_empty());
    assert_eq!(now.items.indptr.len(), store.id_bound(Side::Item).expect("read") as usize + 1);
}

#[test]
fn labels_are_kept_per_entity_replaced_and_removed_with_it() {
    let store = Store::open_temporary().expect("open");
    add(&store, &[(1, 10, None), (1, 11, None)]);
    let (i10, i11) = (id(&store, Side::Item, 10), id(&store, Side::Item, 11));
    assert!(!store.has_labels(Side::Item).expect("read"));
    store
        .write(|txn| -> Result<(), StorageError> {
            assert!(txn.set_label(Side::Item, i10, "Toy Story (1995)")?);
            assert!(
                !txn.set_label(Side::Item, i10, "Toy Story (1995)")?,
                "the same label again is no change"
            );
            assert!(txn.set_label(Side::Item, i11, "Jumanji")?);
            assert!(txn.set_label(Side::Item, i11, "Jumanji (1995)")?, "a new label replaces the old");
            Ok(())
        })
        .expect("label");
    assert_eq!(store.label(Side::Item, i10).expect("read").as_deref(), Some("Toy Story (1995)"));
    assert_eq!(store.label(Side::Item, i11).expect("read").as_deref(), Some("Jumanji (1995)"));
    assert!(store.has_labels(Side::Item).expect("read") && !store.has_labels(Side::User).expect("read"));
    store.write(|txn| txn.delete(Side::Item, &Key::Int(10))).expect("delete");
    assert_eq!(store.label(Side::Item, i10).expect("read"), None, "a deleted item's label goes with it");
    store.check_integrity().expect("consistent");
}

#[test]
fn blobs_round_trip_and_are_validated() {
    #[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, PartialEq)]
    #[rkyv(crate = recodb_storage::rkyv)]
    struct Codes {
        bits: u32,
        words: Vec<u64>,
    }
    let store = Store::open_temporary().expect("open");
    let big = Codes { bits: 64, words: (0..70_007).collect() };
    store.write(|txn| txn.put_archive("m/1/codes", &big)).expect("put");
    store.check_integrity().expect("consistent");
    assert_eq!(store.archive::<Codes>("m/1/codes").expect("read"), Some(big));
    // Replacing with a smaller blob.
    let small = Codes { bits: 8, words: vec![1] };
    store.write(|txn| txn.put_archive("m/1/codes", &small)).expect("put");
    let report = store.check_integrity().expect("consistent");
    assert_eq!(report.blobs, 1);
    assert_eq!(store.archive::<Codes>("m/1/codes").expect("read"), Some(small));
    // Bytes that are not an archive of the type are refused, not misread.
    store.write(|txn| txn.put_blob("m/1/junk", &[0xff; 5])).expect("put");
    let err = store.archive::<Codes>("m/1/junk").expect_err("junk does not validate");
    assert!(matches!(err, StorageError::Corrupt(_)), "{err}");
    assert_eq!(
        store.blob_names("m/1/").expect("names"),
        vec!["m/1/codes".to_string(), "m/1/junk".to_string()]
    );
    assert!(store.write(|txn| txn.delete_blob("m/1/codes")).expect("delete"));
    assert_eq!(store.archive::<Codes>("m/1/codes").expect("read"), None);
    store.check_integrity().expect("consistent");
}

#[test]
fn data_survives_close_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let store = Store::open(&path).expect("create");
        add(&store, &[(1, 10, Some(4.5)), (2, 10, None)]);
        store
            .write(|txn| -> Result<(), StorageError> {
                txn.put_blob("b", b"hello")?;
                Ok(())
            })
            .expect("blob");
    }
    let store = Store::open(&path).expect("reopen");
    assert_eq!(store.interaction_count().expect("count"), 2);
    let u1 = id(&store, Side::User, 1);
    assert_eq!(store.user_row(u1).expect("read").expect("row").get(0), Some((4.5, None)));
    assert_eq!(store.blob("b").expect("read").as_deref(), Some(&b"hello"[..]));
    assert_eq!(store.check_integrity().expect("consistent").interactions, 2);
}

#[test]
fn durability_setting_persists() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let store = Store::open(&path).expect("create");
        assert_eq!(store.durability(), Durability::Full);
        store
            .write(|txn| -> Result<(), StorageError> {
                txn.set_setting(DURABILITY_SETTING, "relaxed");
                Ok(())
            })
            .expect("set");
        assert_eq!(store.durability(), Durability::Relaxed);
    }
    let store = Store::open(&path).expect("reopen");
    assert_eq!(store.durability(), Durability::Relaxed);
    assert_eq!(store.setting(DURABILITY_SETTING).expect("read").as_deref(), Some("relaxed"));
}

#[test]
fn opening_something_else_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "hello").expect("write");
    let err = Store::open(&file).err().expect("a file is not a database");
    assert!(matches!(err, OpenError::NotADatabase { .. }), "{err}");
    assert!(err.to_string().contains("is not a recodb database"), "{err}");

    std::fs::create_dir(dir.path().join("photos")).expect("mkdir");
    std::fs::write(dir.path().join("photos/cat.jpg"), "x").expect("write");
    let err =
        Store::open(dir.path().join("photos")).err().expect("a folder of other files is not a database");
    assert!(matches!(err, OpenError::NotADatabase { .. }), "{err}");

    let plain = dir.path().join("plain-sled");
    {
        let db = common::open_sled(&plain);
        db.insert("k", "v").expect("insert");
        db.flush().expect("flush");
    }
    let err = Store::open(&plain).err().expect("a foreign sled database is refused");
    assert!(matches!(err, OpenError::NotADatabase { .. }), "{err}");
}

#[test]
fn another_format_version_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    drop(Store::open(&path).expect("create"));
    {
        let db = common::open_sled(&path);
        let meta = db.open_tree("meta").expect("tree");
        meta.insert("format_version", &(FORMAT_VERSION + 1).to_be_bytes()).expect("insert");
        db.flush().expect("flush");
    }
    let err = Store::open(&path).err().expect("newer format is refused");
    match err {
        OpenError::UnsupportedVersion { found, supported, .. } => {
            assert_eq!((found, supported), (FORMAT_VERSION + 1, FORMAT_VERSION))
        }
        other => panic!("unexpected error: {other}"),
    }
}

#[test]
fn a_database_open_elsewhere_is_locked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let _first = Store::open(&path).expect("create");
    let err = Store::open(&path).err().expect("second handle is refused");
    assert!(matches!(err, OpenError::Locked { .. }), "{err}");
}

#[test]
fn entities_list_in_id_order() {
    let store = Store::open_temporary().expect("open");
    add(&store, &[(5, 1, None), (3, 1, None), (9, 1, None)]);
    let users = store.entities(Side::User, 0, 2).expect("list");
    assert_eq!(users, vec![(0, Key::Int(5)), (1, Key::Int(3))]);
    assert_eq!(store.entities(Side::User, 2, 10).expect("list"), vec![(2, Key::Int(9))]);
}

#[test]
fn records_are_written_atomically_with_blobs_and_listed_by_namespace() {
    let store = Store::open_temporary().expect("open");
    store
        .write(|txn| -> Result<(), StorageError> {
            txn.put_blob("model/a/1/scores", b"blob")?;
            txn.put_record("model", "a", b"record a")?;
            txn.put_record("model", "b", b"record b")?;
            txn.put_record("job", "1", b"job")?;
            Ok(())
        })
        .expect("write");
    assert_eq!(store.record("model", "a").expect("read"), Some(b"record a".to_vec()));
    let names: Vec<String> = store.records("model").expect("list").into_iter().map(|r| r.0).collect();
    assert_eq!(names, vec!["a", "b"]);
    store.write(|txn| txn.delete_record("model", "a")).expect("delete");
    assert_eq!(store.record("model", "a").expect("read"), None);
    assert!(store.write(|txn| txn.put_record("model", "", b"x")).is_err(), "empty names are refused");
    store.check_integrity().expect("consistent");
}
