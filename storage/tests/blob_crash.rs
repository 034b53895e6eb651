//! Crash safety of blob files for real: a child process writes a model version's blobs inside a write
//! and is SIGKILLed before the write commits (its files are on disk, no entry names them yet); the
//! parent reopens the database and finds the previous version whole, the half-written one invisible,
//! and its files removed.

#![cfg(unix)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use recodb_storage::{StorageError, Store, BLOB_DIR};

const CHILD_ENV: &str = "RECODB_BLOB_CRASH_CHILD_DB";

fn weights(version: u8) -> Vec<u8> {
    vec![version; 2_000_000]
}

/// The child's role: runs only when the parent sets `CHILD_ENV`. Publishes version 1 of model `m`
/// (blob and record in one write), then starts publishing version 2 and stops inside that write, after
/// its blob file is written: prints `written` and waits to be killed.
#[test]
fn blob_crash_child_role() {
    let Ok(db_path) = std::env::var(CHILD_ENV) else { return };
    let store = Store::open(Path::new(&db_path)).expect("child opens");
    // The test harness's `test name ...` ends on this line, not on the next.
    println!("ready");
    store
        .write(|txn| -> Result<(), StorageError> {
            txn.put_blob("model/m/v1/w", &weights(1))?;
            txn.put_record("model", "m", b"v1")
        })
        .expect("version 1");
    let _ = store.write(|txn| -> Result<(), StorageError> {
        txn.delete_blob("model/m/v1/w")?;
        txn.put_blob("model/m/v2/w", &weights(2))?;
        txn.put_record("model", "m", b"v2")?;
        println!("written");
        std::io::stdout().flush().expect("flush");
        std::thread::sleep(Duration::from_secs(60));
        Ok(())
    });
}

#[test]
fn a_kill_between_writing_a_blob_file_and_publishing_it_leaves_the_last_version_and_no_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_path = dir.path().join("db");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "blob_crash_child_role", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &db_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let written = lines.map_while(Result::ok).any(|line| line == "written");
    child.kill().expect("SIGKILL the child");
    child.wait().expect("reap");
    assert!(written, "the child wrote version 2's blob");
    let files = std::fs::read_dir(db_path.join(BLOB_DIR)).expect("blob dir").count();
    assert_eq!(files, 2, "before reopening, version 2's file is on disk beside version 1's");

    let store = Store::open(&db_path).expect("reopens after a kill");
    assert_eq!(store.record("model", "m").expect("read").as_deref(), Some(&b"v1"[..]));
    assert_eq!(store.blob_names("model/m/").expect("names"), ["model/m/v1/w"]);
    assert_eq!(store.blob("model/m/v1/w").expect("read").expect("whole").as_slice(), &weights(1)[..]);
    let usage = store.disk_usage().expect("usage");
    assert_eq!((usage.blob_files, usage.blobs, usage.unreferenced_files), (1, 2_000_000, 0));
    assert_eq!(std::fs::read_dir(db_path.join(BLOB_DIR)).expect("blob dir").count(), 1, "the orphan is gone");
    store.check_integrity().expect("consistent");
}
