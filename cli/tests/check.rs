//! `recodb --check DB` through the real binary: a sound database exits 0 and says clean; a model blob file
//! with a flipped byte or cut short exits 1 naming the blob; a missing path exits 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn recodb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recodb")).args(args).output().expect("run recodb")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8 output")
}

/// A database with three interactions and a trained `pop` model (so it has blob files).
fn database(dir: &Path) -> String {
    let db = dir.join("db").display().to_string();
    let seed = "INSERT INTERACTION user 1 item 'a'; INSERT INTERACTION user 1 item 'b'; \
                INSERT INTERACTION user 2 item 'a'; TRAIN pop;";
    let out = recodb(&[&db, "-c", seed]);
    assert!(out.status.success(), "{}", stderr(&out));
    db
}

/// The blob files of the database, in name order.
fn blob_files(db: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(db).join("blob_files"))
        .expect("blob directory")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "TRAIN wrote blob files");
    files
}

#[test]
fn check_of_a_sound_database_exits_0_and_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = database(dir.path());
    let out = recodb(&["--check", &db]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let blobs = blob_files(&db).len();
    assert_eq!(
        stdout(&out),
        format!(
            "checked {db}: 2 users, 2 items, 3 interactions (0 held out), 0 tags, {blobs} blobs\nclean\n"
        )
    );
}

/// Damages the first blob file with `damage`, then checks: exit 1, a problem naming a blob, the file's
/// path under the original directory (not the private copy) and `what`.
fn check_reports_damage(damage: impl Fn(&Path), what: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = database(dir.path());
    let file = blob_files(&db).remove(0);
    damage(&file);
    let out = recodb(&["--check", &db]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(text.contains("damaged: 1 problem(s)\n"), "{text}");
    let problem = text.lines().last().expect("a problem line");
    assert!(problem.starts_with("  blob '"), "{text}");
    assert!(problem.contains(&format!("its file {} {what}", file.display())), "{text}");
}

#[test]
fn check_names_a_blob_with_a_flipped_bit() {
    let flip = |file: &Path| {
        let mut bytes = std::fs::read(file).expect("read blob");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x10;
        std::fs::write(file, bytes).expect("write blob");
    };
    check_reports_damage(flip, "does not match its checksum");
}

#[test]
fn check_names_a_truncated_blob() {
    let truncate = |file: &Path| {
        let len = std::fs::metadata(file).expect("metadata").len();
        let handle = std::fs::OpenOptions::new().write(true).open(file).expect("open blob");
        handle.set_len(len - 1).expect("truncate");
    };
    check_reports_damage(truncate, "is not");
}

#[test]
fn check_of_a_missing_path_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nothing-here").display().to_string();
    let out = recodb(&["--check", &missing]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), format!("error: '{missing}' is not a database directory\n"));
    assert!(!Path::new(&missing).exists(), "the check creates nothing");
}
