//! Blob files give their space back: a replaced or deleted blob's file goes once the write is durable, a
//! write that fails leaves no file, files that nothing names are removed on open, a missing or damaged
//! file is a clear integrity error, and a format-1 database (blobs chunked inside sled) moves its blobs
//! into files when opened.

mod common;

use std::path::{Path, PathBuf};

use recodb_storage::{DiskUsage, StorageError, Store, BLOB_DIR, DURABILITY_SETTING, FORMAT_VERSION};

/// The names of the files in the blob file directory of database `db`, sorted.
fn files(db: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(db.join(BLOB_DIR))
        .expect("blob dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn put(store: &Store, name: &str, bytes: &[u8]) {
    store.write(|txn| txn.put_blob(name, bytes)).expect("put");
}

fn new_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    (dir, path)
}

#[test]
fn replacing_and_deleting_a_blob_removes_its_file() {
    let (_dir, path) = new_db();
    let store = Store::open(&path).expect("open");
    put(&store, "m/v1/w", &[1u8; 1000]);
    let first = files(&path);
    assert_eq!(first.len(), 1);
    let usage = store.disk_usage().expect("usage");
    assert_eq!((usage.blobs, usage.blob_files, usage.unreferenced), (1000, 1, 0));
    assert_eq!(usage.total(), usage.data + 1000);

    store
        .write(|txn| -> Result<(), StorageError> {
            assert!(txn.delete_blob("m/v1/w")?);
            txn.put_blob("m/v2/w", &[2u8; 3000])
        })
        .expect("publish v2");
    let second = files(&path);
    assert_eq!(second.len(), 1, "the old version's file is gone");
    assert_ne!(second, first, "a new version gets a new file");
    assert_eq!(store.blob("m/v2/w").expect("read").expect("present").as_slice(), &[2u8; 3000][..]);
    assert!(store.blob("m/v1/w").expect("read").is_none());

    // The same name replaced twice in one write keeps only the last file.
    store
        .write(|txn| -> Result<(), StorageError> {
            txn.put_blob("m/v2/w", &[3u8; 10])?;
            txn.put_blob("m/v2/w", &[4u8; 20])
        })
        .expect("replace twice");
    assert_eq!(files(&path).len(), 1);
    assert_eq!(store.blob("m/v2/w").expect("read").expect("present").as_slice(), &[4u8; 20][..]);

    assert!(store.write(|txn| txn.delete_blob("m/v2/w")).expect("drop"));
    assert!(files(&path).is_empty(), "a deleted blob leaves no file");
    assert!(!store.write(|txn| txn.delete_blob("m/v2/w")).expect("drop again"), "nothing left to delete");
    let usage = store.disk_usage().expect("usage");
    assert_eq!(usage, DiskUsage { data: usage.data, ..DiskUsage::default() });
    store.check_integrity().expect("consistent");
}

#[test]
fn a_write_that_fails_or_is_relaxed_leaves_no_stray_file() {
    let (_dir, path) = new_db();
    let store = Store::open(&path).expect("open");
    let failed = store.write(|txn| -> Result<(), StorageError> {
        txn.put_blob("m/v1/w", &[7u8; 500])?;
        txn.put_record("model", "m", b"record")?;
        Err(StorageError::Limit("the job failed after writing its blobs".into()))
    });
    assert!(failed.is_err());
    assert!(files(&path).is_empty(), "the failed write's file is removed");
    assert_eq!(store.record("model", "m").expect("read"), None);
    assert!(store.blob("m/v1/w").expect("read").is_none());

    // With relaxed durability a replaced file still goes, once the replacing write is flushed.
    store
        .write(|txn| -> Result<(), StorageError> {
            txn.set_setting(DURABILITY_SETTING, "relaxed");
            Ok(())
        })
        .expect("relaxed");
    put(&store, "b", b"one");
    put(&store, "b", b"two");
    assert_eq!(files(&path).len(), 1);
    drop(store);
    let store = Store::open(&path).expect("reopen");
    assert_eq!(store.blob("b").expect("read").expect("present").as_slice(), b"two");
    store.check_integrity().expect("consistent");
}

#[test]
fn files_that_nothing_names_are_removed_on_open() {
    let (_dir, path) = new_db();
    {
        let store = Store::open(&path).expect("open");
        put(&store, "keep", b"kept");
        put(&store, "old", b"old bytes");
        // A crash after the write that replaced `old` and before its file was removed leaves that file
        // behind: put it back as the crash would have left it.
        let old_file = path.join(BLOB_DIR).join(&files(&path)[1]);
        let old_bytes = std::fs::read(&old_file).expect("read");
        put(&store, "old", b"new bytes");
        std::fs::write(&old_file, old_bytes).expect("restore");
        // A crash between writing a file and publishing it leaves a file of the next number, maybe partial.
        std::fs::write(path.join(BLOB_DIR).join("00000000000000ff"), b"partial").expect("orphan");
        let usage = store.disk_usage().expect("usage");
        assert_eq!((usage.unreferenced_files, usage.unreferenced), (2, 9 + 7));
        assert_eq!(files(&path).len(), 4);
    }
    std::fs::write(path.join(BLOB_DIR).join("README"), b"not recodb's").expect("foreign file");
    let store = Store::open(&path).expect("reopen");
    assert_eq!(files(&path).len(), 3, "two orphans removed, the foreign file kept: {:?}", files(&path));
    assert!(files(&path).contains(&"README".to_string()));
    assert_eq!(store.disk_usage().expect("usage").unreferenced_files, 0);
    assert_eq!(store.blob("old").expect("read").expect("present").as_slice(), b"new bytes");
    assert_eq!(store.blob("keep").expect("read").expect("present").as_slice(), b"kept");
    put(&store, "next", b"a number above the orphans'");
    assert!(files(&path).contains(&"0000000000000100".to_string()), "{:?}", files(&path));
    store.check_integrity().expect("consistent");
}

#[test]
fn a_missing_or_damaged_blob_file_is_a_clear_error() {
    let (_dir, path) = new_db();
    let store = Store::open(&path).expect("open");
    put(&store, "model/m/v1/ease", &[5u8; 64]);
    let file = path.join(BLOB_DIR).join(&files(&path)[0]);

    let mut bytes = std::fs::read(&file).expect("read");
    bytes[10] ^= 0xff;
    std::fs::write(&file, &bytes).expect("damage");
    let err = store.check_integrity().expect_err("damaged");
    assert!(matches!(err, StorageError::Corrupt(_)), "{err}");
    assert!(
        err.to_string().contains("blob 'model/m/v1/ease'") && err.to_string().contains("checksum"),
        "{err}"
    );
    let err = store.blob("model/m/v1/ease").expect_err("damaged blob is not returned");
    assert!(err.to_string().contains("checksum"), "{err}");

    std::fs::write(&file, &bytes[..40]).expect("truncate");
    let err = store.check_integrity().expect_err("truncated");
    assert!(err.to_string().contains("is not 64 bytes long"), "{err}");

    std::fs::remove_file(&file).expect("remove");
    let err = store.check_integrity().expect_err("missing");
    assert!(
        err.to_string().contains("blob 'model/m/v1/ease': its file")
            && err.to_string().contains("is missing")
    );
    let err = store.blob("model/m/v1/ease").expect_err("missing blob");
    assert!(matches!(err, StorageError::Corrupt(_)), "{err}");
}

#[test]
fn a_temporary_store_keeps_its_blob_files_in_a_directory_of_its_own() {
    let store = Store::open_temporary().expect("open");
    put(&store, "b", &[1u8; 100]);
    put(&store, "b", &[2u8; 50]);
    let usage = store.disk_usage().expect("usage");
    assert_eq!((usage.data, usage.blobs, usage.blob_files), (0, 50, 1));
    assert_eq!(store.blob("b").expect("read").expect("present").as_slice(), &[2u8; 50][..]);
}

/// Writes a database of format 1 with sled directly: blob `name` chunked as format 1 stored it (256 KiB
/// chunks, a manifest of length, chunk count and CRC-32), plus one chunk that no manifest names.
fn write_format_1(path: &Path, blobs: &[(&str, Vec<u8>)]) {
    drop(Store::open(path).expect("create"));
    std::fs::remove_dir(path.join(BLOB_DIR)).expect("format 1 had no blob file directory");
    let db = common::open_sled(path);
    let meta = db.open_tree("meta").expect("tree");
    meta.insert("format_version", &1u32.to_be_bytes()).expect("insert");
    let manifests = db.open_tree("blob_meta").expect("tree");
    let chunks = db.open_tree("blob_chunks").expect("tree");
    for (name, bytes) in blobs {
        let pieces: Vec<&[u8]> = bytes.chunks(256 * 1024).collect();
        for (i, piece) in pieces.iter().enumerate() {
            chunks
                .insert([name.as_bytes(), &[0], &(i as u32).to_be_bytes()].concat(), *piece)
                .expect("chunk");
        }
        let manifest = [
            &(bytes.len() as u64).to_be_bytes()[..],
            &(pieces.len() as u32).to_be_bytes(),
            &crc32fast(bytes),
        ]
        .concat();
        manifests.insert(name.as_bytes(), manifest).expect("manifest");
    }
    chunks.insert(b"gone\0\0\0\0\0", b"stray".to_vec()).expect("stray chunk");
    db.flush().expect("flush");
}

/// CRC-32 (IEEE), big-endian, computed bit by bit: the test's own, independent of the store's.
fn crc32fast(bytes: &[u8]) -> [u8; 4] {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    (!crc).to_be_bytes()
}

#[test]
fn a_format_1_database_moves_its_blobs_into_files_when_opened() {
    let (_dir, path) = new_db();
    let big: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
    write_format_1(&path, &[("model/a/v1/als", big.clone()), ("model/a/v1/format", vec![2, 0, 0, 0])]);
    // A file left by a migration that crashed before its sled write.
    std::fs::create_dir(path.join(BLOB_DIR)).expect("mkdir");
    std::fs::write(path.join(BLOB_DIR).join("0000000000000000"), b"half").expect("orphan");

    let store = Store::open(&path).expect("a format-1 database opens");
    assert_eq!(store.blob("model/a/v1/als").expect("read").expect("moved").as_slice(), &big[..]);
    assert_eq!(store.blob_names("model/a/").expect("names"), ["model/a/v1/als", "model/a/v1/format"]);
    assert_eq!(store.blob_bytes("model/a/").expect("bytes"), 600_004, "the two blobs' lengths");
    assert_eq!(store.blob_bytes("model/b/").expect("bytes"), 0);
    assert_eq!(files(&path).len(), 2, "one file per blob, the orphan gone");
    let report = store.check_integrity().expect("no chunk or manifest is left in sled");
    assert_eq!(report.blobs, 2);
    drop(store);
    {
        let db = common::open_sled(&path);
        let version = db.open_tree("meta").expect("tree").get("format_version").expect("get").expect("set");
        assert_eq!(version.as_ref(), FORMAT_VERSION.to_be_bytes());
        assert!(db.open_tree("blob_chunks").expect("tree").is_empty());
    }
    let store = Store::open(&path).expect("reopens in format 2");
    assert_eq!(store.blob("model/a/v1/format").expect("read").expect("kept").as_slice(), &[2, 0, 0, 0]);
}

#[test]
fn a_format_1_blob_that_does_not_match_its_manifest_is_refused_and_left_as_it_was() {
    let (_dir, path) = new_db();
    write_format_1(&path, &[("b", vec![1, 2, 3])]);
    {
        let db = common::open_sled(&path);
        db.open_tree("blob_chunks").expect("tree").insert(b"b\0\0\0\0\0", b"xyz".to_vec()).expect("damage");
        db.flush().expect("flush");
    }
    let err = Store::open(&path).err().expect("a damaged old blob stops the migration");
    assert!(err.to_string().contains("blob 'b': length or checksum does not match"), "{err}");
    assert!(files(&path).is_empty());
    let db = common::open_sled(&path);
    assert_eq!(db.open_tree("blob_meta").expect("tree").len(), 1, "the old blob is still there");
}
