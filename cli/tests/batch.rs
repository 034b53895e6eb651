//! The shell in batch mode, through the real binary: -c, -f, piped standard input, output formats, exit
//! status, and errors with the offending spot underlined.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn recodb(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_recodb"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start recodb");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(input);
    child.wait_with_output().expect("run recodb")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8 output")
}

const SEED: &str = "INSERT INTERACTION user 1 item 'a'; INSERT INTERACTION user 1 item 'b'; \
                    INSERT INTERACTION user 2 item 'a'; SHOW ITEMS;";

#[test]
fn command_mode_prints_each_format() {
    let csv = recodb(&["--format", "csv", "-c", SEED], None);
    assert!(csv.status.success(), "{}", stderr(&csv));
    assert!(stdout(&csv).ends_with("item,interactions,tags\na,2,\nb,1,\n"), "{}", stdout(&csv));
    let tsv = recodb(&["--format", "tsv", "-c", SEED], None);
    assert!(stdout(&tsv).ends_with("item\tinteractions\ttags\na\t2\t\nb\t1\t\n"), "{}", stdout(&tsv));
    let json = recodb(&["--format", "json", "-c", SEED], None);
    assert!(
        stdout(&json).ends_with("{\"item\":\"a\",\"interactions\":2,\"tags\":\"\"}\n{\"item\":\"b\",\"interactions\":1,\"tags\":\"\"}\n"),
        "string keys are JSON strings, bare: {}",
        stdout(&json)
    );
    let numbers = recodb(&["--format", "json", "-c", "INSERT INTERACTION user 7 item 42; SHOW USERS;"], None);
    assert!(
        stdout(&numbers).ends_with("{\"user\":7,\"interactions\":1,\"tags\":\"\"}\n"),
        "integer keys are JSON numbers: {}",
        stdout(&numbers)
    );
    let table = recodb(&["-c", SEED], None);
    let text = stdout(&table);
    assert!(text.contains("│ item ┆ interactions ┆ tags │"), "{text}");
    assert!(text.trim_end().ends_with("(2 rows)"), "{text}");
}

#[test]
fn file_mode_and_piped_input_run_scripts_against_a_database_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let db = db.to_str().expect("UTF-8 path");
    let script = dir.path().join("load.sql");
    std::fs::write(
        &script,
        "-- seed\nINSERT INTERACTION user 1 item 10;\nINSERT INTERACTION user 2 item 10;\n",
    )
    .expect("write script");
    let out = recodb(&[db, "-f", script.to_str().expect("UTF-8 path")], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = recodb(&[db, "--format", "csv"], Some("SHOW USERS;\n"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "user,interactions,tags\n1,1,\n2,1,\n", "the data persisted across runs");
}

#[test]
fn errors_exit_non_zero_with_the_spot_underlined() {
    let out = recodb(&["-c", "SHOW USERS;\nRECOMMEND user 1 TOPP 10;"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("error: line 2, column 18: expected TOP, found 'TOPP'\n"), "{err}");
    assert!(err.contains("2 | RECOMMEND user 1 TOPP 10;\n  |                  ^^^^ expected TOP"), "{err}");
    assert_eq!(stdout(&out), "", "a script that does not parse runs nothing");

    let out = recodb(&["-c", "DESCRIBE USER 5; SHOW USERS;"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: line 1, column 15: no user with key 5\n1 | DESCRIBE USER 5; SHOW USERS;\n  |               ^ no user with key 5\n",
        "an execution error is underlined as a syntax error is"
    );

    let out = recodb(
        &["--format", "json", "-c", "INSERT INTERACTION user 1 item 2;\nRECOMMEND user 1 TOP 100000;"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let error: serde_json::Value = serde_json::from_str(stderr(&out).trim()).expect("a JSON error");
    assert_eq!(error["error"]["kind"], "invalid_argument");
    assert_eq!((error["error"]["line"].as_u64(), error["error"]["column"].as_u64()), (Some(2), Some(22)));
    assert_eq!(error["error"]["message"], "TOP must be an integer from 0 to 10000, got 100000");
    assert_eq!(error["error"]["length"], 6);

    let out = recodb(&["-f", "/no/such/script.sql"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot read '/no/such/script.sql'"), "{}", stderr(&out));
}

#[test]
fn a_path_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "hello").expect("write");
    let out = recodb(&[file.to_str().expect("UTF-8 path"), "-c", "SHOW STATS;"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is not a recodb database"), "{}", stderr(&out));
}

#[test]
fn the_demo_runs_end_to_end() {
    let out = recodb(&["--demo"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("│ users        ┆ 2000"), "{text}");
    assert!(text.contains("users_split"), "{text}");
    assert!(text.contains("recodb> TRAIN pop;"), "{text}");
    assert!(text.contains("│ ndcg "), "the demo evaluates: {text}");
    assert!(
        text.contains("┆ taste (32 bits)") && text.contains("│ buckets_probed "),
        "the demo explains a Hamming search: {text}"
    );
    let evaluations = text.matches("│ ndcg                        ┆ 10 ┆").count();
    assert_eq!(evaluations, 4, "pop, ease, taste and taste re-ranked by ease: {text}");
}

#[test]
fn a_csv_header_is_not_imported_as_a_user_and_an_item() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let db = db.to_str().expect("UTF-8 path");
    let csv = dir.path().join("ratings.csv");
    std::fs::write(&csv, "userId,movieId,rating\n1,10,4\n2,10,5\n").expect("write csv");
    let csv = csv.to_str().expect("UTF-8 path");
    let out = recodb(&[db, "-c", &format!("IMPORT INTERACTIONS FROM '{csv}';")], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "'{csv}', line 1: this line looks like a header ('userId', 'movieId' where the next line has \
             integer keys); add header = true to skip it"
        )),
        "{}",
        stderr(&out)
    );
    let out = recodb(&[db, "--format", "csv", "-c", "SHOW USERS;"], None);
    assert_eq!(stdout(&out), "user,interactions,tags\n", "the refused import added nothing");
    let out = recodb(
        &[
            db,
            "--format",
            "csv",
            "-c",
            &format!("IMPORT INTERACTIONS FROM '{csv}' WITH (header = true); SHOW USERS;"),
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).ends_with("user,interactions,tags\n1,1,\n2,1,\n"), "{}", stdout(&out));
}
