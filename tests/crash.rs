//! Crash safety for real: a child process imports files one after another into an on-disk database and
//! records each acknowledged import; the parent SIGKILLs it mid-import, reopens the database, and checks
//! that every acknowledged import is present, and the interrupted one entirely or not at all. A second
//! child retrains a model in a loop and is killed at moments spread over training and publishing: one
//! whole version survives, and no model file is left that nothing names.

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

const TRAIN_CHILD_ENV: &str = "RECODB_CRASH_TRAIN_CHILD_DB";

/// The second child's role: runs only when the parent sets `TRAIN_CHILD_ENV`. Retrains `ease` as `e`
/// over and over (each version's weights a 9 MB file) and prints `ack N` after training N returns.
#[test]
fn crash_train_child_role() {
    let Ok(db_path) = std::env::var(TRAIN_CHILD_ENV) else { return };
    let db = Database::open(Path::new(&db_path)).expect("child opens");
    println!("ready");
    for n in 0.. {
        db.execute("TRAIN ease AS e WITH (lambda = 50)").expect("child trains");
        println!("ack {n}");
        std::io::stdout().flush().expect("flush");
    }
}

/// Kills a process that retrains a model in a loop, at moments spread over training, writing the blob
/// files, publishing and removing the last version's files; after each kill the reopened database has
/// one whole version of the model (it recommends), passes the integrity check, and no file is left
/// that nothing names.
#[cfg(unix)]
#[test]
fn a_killed_retraining_leaves_one_whole_model_version_and_no_stray_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data.tsv");
    let config = recodb::synth::SynthConfig {
        users: 3_000,
        items: 1_500,
        interactions_per_user: 20,
        ..recodb::synth::SynthConfig::demo()
    };
    recodb::synth::generate(&config).write_tsv(&data).expect("data");
    let db_path = dir.path().join("db");
    {
        let db = Database::open(&db_path).expect("create");
        db.execute(&format!("IMPORT INTERACTIONS FROM '{}'", data.display())).expect("import");
    }
    for (round, kill_after_ms) in [0u64, 60, 130, 250, 420, 700].into_iter().enumerate() {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", "crash_train_child_role", "--nocapture", "--test-threads=1"])
            .env(TRAIN_CHILD_ENV, &db_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let acked = lines.by_ref().map_while(Result::ok).any(|line| line.starts_with("ack "));
        assert!(acked, "round {round}: the child published a version");
        std::thread::sleep(Duration::from_millis(kill_after_ms));
        child.kill().expect("SIGKILL the child");
        child.wait().expect("reap");

        let db = Database::open(&db_path).expect("reopens after a kill");
        db.check_integrity().unwrap_or_else(|e| panic!("round {round}: {e}"));
        let usage = db.store().disk_usage().expect("usage");
        assert_eq!(usage.unreferenced_files, 0, "round {round}: opening removed every stray file");
        assert_eq!(usage.blob_files, 2, "round {round}: one version, its weights and format blob");
        let top =
            db.query("RECOMMEND user 1 TOP 5 USING e", &[]).unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(top.len(), 5, "round {round}");
    }
}
