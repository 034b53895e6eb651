//! Damaged structures inside sled (issue 19, item 3): for each kind of stored structure — the id maps
//! and key dictionaries, the users' rows, the items' user bitmaps, the holdout, tag names, tag member
//! bitmaps, entities' tag sets and labels — a truncated or altered value makes the integrity check
//! name the structure (a problem, or a `Corrupt` error when the value cannot be decoded at all) and
//! makes the reads that touch it fail with a `Corrupt` error: never a panic, never a silent answer.
//! Blobs (model data and code stores) carry checksums and are covered in `blob_files.rs`; model and job
//! records in the root crate's `tests/damage.rs`.

mod common;

use std::path::{Path, PathBuf};

use recodb_storage::{Key, PairAttrs, RoaringBitmap, Side, StorageError, Store};

/// A database of three users, four items, tags, a label and a holdout, closed, in `dir`.
fn database(dir: &Path) -> PathBuf {
    let path = dir.join("db");
    let store = Store::open(&path).expect("open");
    store
        .write(|txn| -> Result<(), StorageError> {
            for (user, items) in [(1u64, &[10u64, 11, 12][..]), (2, &[10, 13]), (3, &[11, 12, 13])] {
                let (u, _) = txn.ensure(Side::User, &Key::Int(user))?;
                let mut entries = Vec::new();
                for &item in items {
                    let (i, _) = txn.ensure(Side::Item, &Key::Int(item))?;
                    entries.push((i, PairAttrs { weight: Some(2.0), time: Some(7) }));
                }
                entries.sort_by_key(|e| e.0);
                txn.add_interactions(u, &mut entries)?;
            }
            let (item, _) = txn.ensure(Side::Item, &Key::Int(10))?;
            txn.add_tag(Side::Item, item, "genre:a")?;
            txn.set_label(Side::Item, item, "Ten")?;
            let (user, _) = txn.ensure(Side::User, &Key::Int(1))?;
            txn.add_tag(Side::User, user, "age:young")?;
            let mut held = RoaringBitmap::new();
            held.insert(item);
            txn.hold_out(user, &held)?;
            Ok(())
        })
        .expect("seed");
    store.check_integrity().expect("sound before the damage");
    path
}

/// How a test damages a stored value: the new bytes from the old.
type Damage = fn(&[u8]) -> Vec<u8>;

/// Replaces the first value of `tree` by `damage(value)`, with the database closed.
fn damage(path: &Path, tree: &str, damage: Damage) {
    let db = common::open_sled(path);
    let tree = db.open_tree(tree).expect("tree");
    let (key, value) = tree.iter().next().expect("an entry").expect("read");
    tree.insert(key, damage(&value)).expect("write");
    db.flush().expect("flush");
}

/// What the integrity check says of the database: its problems, or its error.
fn verdict(store: &Store) -> String {
    match store.inspect_integrity() {
        Ok(check) => check.problems.join("; "),
        Err(e) => {
            assert!(matches!(e, StorageError::Corrupt(_)), "undecodable data is a Corrupt error: {e:?}");
            e.to_string()
        }
    }
}

fn truncated(value: &[u8]) -> Vec<u8> {
    value[..value.len() / 2].to_vec()
}

/// Each structure, damaged, and what the check must name.
#[test]
fn each_damaged_structure_is_named_by_the_check_and_its_reads_fail_cleanly() {
    let cases: [(&str, Damage, &str); 9] = [
        ("user_ids", truncated, "user id map"),
        ("item_keys", |_| 99u32.to_be_bytes().to_vec(), "does not map back"),
        ("user_items", truncated, "user 0"),
        ("item_users", |v| v.iter().map(|b| b ^ 0xff).collect(), "item row"),
        ("holdout", truncated, "holdout"),
        ("tag_names", |_| 7u32.to_be_bytes().to_vec(), "tag 7 does not map back to its name"),
        ("tag_members", |_| b"not a bitmap".to_vec(), "tag members"),
        ("entity_tags", truncated, "entity tags"),
        ("labels", |_| vec![0xff, 0xfe], "the label of item 0 is not UTF-8"),
    ];
    for (tree, how, named) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = database(dir.path());
        damage(&path, tree, how);
        let store = Store::open(&path).unwrap_or_else(|e| panic!("{tree}: the database still opens: {e}"));
        let said = verdict(&store);
        assert!(said.contains(named), "{tree}: the check names {named:?}: {said}");
        assert!(store.check_integrity().is_err(), "{tree}: check_integrity fails");
    }
}

#[test]
fn reads_of_a_damaged_row_or_id_map_are_corrupt_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = database(dir.path());
    damage(&path, "user_items", truncated);
    damage(&path, "item_ids", |v| v[..6].to_vec());
    let store = Store::open(&path).expect("open");
    assert!(matches!(store.user_row(0), Err(StorageError::Corrupt(_))), "the damaged row");
    // Cut inside its first slot: each slot reads its own key or fails, never another's.
    let keys: Vec<_> = (0..4).map(|id| store.key_of(Side::Item, id)).collect();
    for (id, key) in keys.iter().enumerate() {
        match key {
            Ok(key) => assert_eq!(key, &Some(Key::Int(10 + id as u64)), "item {id}"),
            Err(e) => assert!(matches!(e, StorageError::Corrupt(_)), "{e:?}"),
        }
    }
    assert!(keys.iter().any(Result::is_err), "the damaged slots fail: {keys:?}");
    assert!(matches!(store.entities(Side::Item, 0, 10), Err(StorageError::Corrupt(_))));
    assert_eq!(store.key_of(Side::User, 2).expect("an undamaged structure reads"), Some(Key::Int(3)));
}
