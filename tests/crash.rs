//! Crash safety for real: a child process imports files one after another into an on-disk database and
//! records each acknowledged import; the parent SIGKILLs it mid-import, reopens the database, and checks
//! that every acknowledged import is present, and the interrupted one entirely or not at all.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use recodb::{Database, Target};

const CHILD_ENV: &str = "RECODB_CRASH_CHILD_DB";
const IMPORTS: usize = 6;
const PAIRS_PER_IMPORT: u64 = 150_000;

/// Import `n` of the child: `PAIRS_PER_IMPORT` distinct pairs, disjoint from every other import's, so
/// that the interaction count tells exactly which imports are present.
fn import_file(dir: &Path, n: usize) -> std::path::PathBuf {
    let path = dir.join(format!("part{n}.tsv"));
    if !path.exists() {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        for k in 0..PAIRS_PER_IMPORT {
            writeln!(out, "{}\t{}", k % 3_000, (n as u64) * 1_000_000 + k).expect("write");
        }
        out.flush().expect("flush");
    }
    path
}

/// The child's role: runs only when the parent sets `CHILD_ENV`. Prints `ack N` after import N returns.
#[test]
fn crash_child_role() {
    let Ok(db_path) = std::env::var(CHILD_ENV) else { return };
    let db_path = Path::new(&db_path);
    let files = db_path.parent().expect("parent dir");
    let db = Database::open(db_path).expect("child opens");
    println!("ready");
    for n in 0..IMPORTS {
        db.import(Target::Interactions, import_file(files, n), None, &[]).expect("child import");
        println!("ack {n}");
        std::io::stdout().flush().expect("flush");
    }
    std::thread::sleep(Duration::from_secs(60));
}

#[cfg(unix)]
#[test]
fn a_killed_import_leaves_every_acknowledged_import_and_none_or_all_of_the_next() {
    for (round, kill_after_ms) in [40u64, 150, 400].into_iter().enumerate() {
        let dir = tempfile::tempdir().expect("tempdir");
        for n in 0..IMPORTS {
            import_file(dir.path(), n);
        }
        let db_path = dir.path().join("db");
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", "crash_child_role", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &db_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        // Wait for the first acknowledged import, then let the child run a while into the next ones.
        let mut acked = 0usize;
        for line in lines.by_ref() {
            let line = line.expect("read child output");
            if line.starts_with("ack ") {
                acked = 1;
                break;
            }
        }
        assert_eq!(acked, 1, "child acknowledged its first import");
        std::thread::sleep(Duration::from_millis(kill_after_ms));
        child.kill().expect("SIGKILL the child");
        child.wait().expect("reap");
        for line in lines {
            if line.map(|l| l.starts_with("ack ")).unwrap_or(false) {
                acked += 1;
            }
        }

        let db = Database::open(&db_path).expect("reopens after a kill");
        let report = db.check_integrity().expect("consistent after a kill");
        let present = (report.interactions / PAIRS_PER_IMPORT) as usize;
        assert_eq!(report.interactions % PAIRS_PER_IMPORT, 0, "round {round}: a partial import is visible");
        assert!(
            present == acked || present == acked + 1,
            "round {round}: {acked} imports acknowledged but {present} present"
        );
    }
}
