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
                    INSERT INTERACTION user 2 item 'a'; ADD ITEM 'a' TAGS ('genre:Drama', 'year:1995'); \
                    SHOW ITEMS;";

#[test]
fn command_mode_prints_each_format() {
    let csv = recodb(&["--format", "csv", "-c", SEED], None);
    assert!(csv.status.success(), "{}", stderr(&csv));
    assert!(
        stdout(&csv).ends_with("item,interactions,tags\na,2,\"genre:Drama, year:1995\"\nb,1,\n"),
        "{}",
        stdout(&csv)
    );
    let tsv = recodb(&["--format", "tsv", "-c", SEED], None);
    assert!(
        stdout(&tsv).ends_with("item\tinteractions\ttags\na\t2\tgenre:Drama, year:1995\nb\t1\t\n"),
        "{}",
        stdout(&tsv)
    );
    let json = recodb(&["--format", "json", "-c", SEED], None);
    assert!(
        stdout(&json).ends_with(
            "{\"item\":\"a\",\"interactions\":2,\"tags\":[\"genre:Drama\",\"year:1995\"]}\n\
             {\"item\":\"b\",\"interactions\":1,\"tags\":[]}\n"
        ),
        "string keys are JSON strings, bare; tags are arrays: {}",
        stdout(&json)
    );
    let numbers = recodb(&["--format", "json", "-c", "INSERT INTERACTION user 7 item 42; SHOW USERS;"], None);
    assert!(
        stdout(&numbers).ends_with("{\"user\":7,\"interactions\":1,\"tags\":[]}\n"),
        "integer keys are JSON numbers: {}",
        stdout(&numbers)
    );
    let table = recodb(&["-c", SEED], None);
    let text = stdout(&table);
    assert!(text.contains("│ item ┆ interactions ┆ tags "), "{text}");
    assert!(text.contains("genre:Drama, year:1995"), "{text}");
    assert!(text.trim_end().ends_with("(2 rows)"), "{text}");
}

#[test]
fn show_pages_orders_and_lists_interactions_through_the_binary() {
    let script = "INSERT INTERACTION user 1 item 'a' WEIGHT 4 AT 100; INSERT INTERACTION user 1 item 'b'; \
                  INSERT INTERACTION user 2 item 'b'; ADD ITEM 'b' TAGS ('x'); \
                  SHOW ITEMS ORDER BY INTERACTIONS DESC LIMIT 1; SHOW ITEMS WHERE TAG = 'x'; \
                  SHOW USERS LIMIT 1 OFFSET 1; SHOW INTERACTIONS USER 1; SHOW MODELS;";
    let out = recodb(&["--format", "csv", "-c", script], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for expected in [
        "item,interactions,tags\nb,2,x\n",
        "user,interactions,tags\n2,1,\n",
        "user,item,weight,time,held_out\n1,a,4,100,false\n1,b,1,,false\n",
        "name,algorithm,version,interactions,seconds,bytes,memory\n",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
    assert_eq!(text.matches("item,interactions,tags\nb,2,x\n").count(), 2, "by count, and by tag: {text}");
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

#[test]
fn a_space_separated_file_read_as_tsv_names_the_fixes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let db = db.to_str().expect("UTF-8 path");
    let file = dir.path().join("train.txt");
    std::fs::write(&file, "0 10 11 12\n1 10\n").expect("write file");
    let file = file.to_str().expect("UTF-8 path");
    let out = recodb(&[db, "-c", &format!("IMPORT INTERACTIONS FROM '{file}';")], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "'{file}', line 1: expected at least 2 tab-separated columns, found 1 (its fields are separated \
             by spaces: add delimiter = ' ', or FORMAT lightgcn for lines of a user and its items)"
        )),
        "{}",
        stderr(&out)
    );
    let out = recodb(
        &[
            db,
            "--format",
            "csv",
            "-c",
            &format!("IMPORT INTERACTIONS FROM '{file}' FORMAT lightgcn; SHOW STATS;"),
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("interactions,4\n"), "the hinted format reads it: {}", stdout(&out));
}

#[test]
fn a_latin1_headerless_file_names_the_byte_then_imports_with_encoding_and_named_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let db = db.to_str().expect("UTF-8 path");
    let file = dir.path().join("items.tsv");
    std::fs::write(&file, b"1\tAm\xe9lie\tRomance\n2\tHeat\tAction\n").expect("write file");
    let file = file.to_str().expect("UTF-8 path");
    let import = |with: &str| {
        format!("IMPORT ITEMS FROM '{file}' WITH (columns = 'id, title, genre', label = 'title'{with});")
    };
    let out = recodb(&[db, "-c", &import("")], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "'{file}', line 1: invalid UTF-8 in column 'title': byte 0xE9 after 'Am'; if the file is Latin-1 or \
             Windows-1252, add encoding = 'latin1'"
        )),
        "{}",
        stderr(&out)
    );
    let out = recodb(
        &[db, "--format", "csv", "-c", &format!("{} SHOW ITEMS;", import(", encoding = 'latin1'"))],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out)
            .ends_with("item,label,interactions,tags\n1,Amélie,0,genre:Romance\n2,Heat,0,genre:Action\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn dot_commands_run_in_scripts_files_piped_input_and_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name).to_str().expect("UTF-8 path").to_string();
    let inner = path("inner.sql");
    std::fs::write(&inner, ".mode tsv\nSHOW USERS;\n").expect("write inner script");
    let script = format!(
        "INSERT INTERACTION user 1 item 10;\n.mode csv\nSHOW USERS;\n.headers off\nSHOW USERS;\n\
         .read {inner}\n.mode\n.quit\nSHOW USERS;\n"
    );
    std::fs::write(path("script.sql"), &script).expect("write script");
    let expected = "user,interactions,tags\n1,1,\n1,1,\n1\t1\t\ntsv\n";
    let from_file = recodb(&[&path("db"), "-f", &path("script.sql")], None);
    assert!(from_file.status.success(), "{}", stderr(&from_file));
    assert!(stdout(&from_file).ends_with(expected), "{}", stdout(&from_file));
    let piped = recodb(&[&path("db2")], Some(&script));
    assert!(stdout(&piped).ends_with(expected), "piped input runs the same: {}", stdout(&piped));
    let command = recodb(&["-c", ".mode line\nINSERT INTERACTION user 1 item 10;\nSHOW USERS;"], None);
    assert_eq!(
        stdout(&command),
        "inserted = 1\n        user = 1\ninteractions = 1\n        tags = \n",
        "-c scripts take dot-commands too; line mode prints one column per line"
    );
}

#[test]
fn errors_after_dot_commands_name_the_script_line_and_bad_commands_fail() {
    let out = recodb(&["-c", ".mode csv\n\nRECOMMEND user 1 TOPP 10;"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error: line 3, column 18: expected TOP"), "{}", stderr(&out));
    assert!(stderr(&out).contains("3 | RECOMMEND user 1 TOPP 10;"), "{}", stderr(&out));

    let out = recodb(&["-c", ".mode xml\nSHOW USERS;"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "error: unknown format 'xml'; choose table, line, csv, tsv or json\n");
    assert_eq!(stdout(&out), "", "the script stops at the failed command");
    let out = recodb(&["-c", ".frobnicate"], None);
    assert_eq!(stderr(&out), "error: unknown command '.frobnicate'; type .help\n");
    let out = recodb(&["-c", ".timer maybe"], None);
    assert_eq!(stderr(&out), "error: .timer takes on or off, not 'maybe'\n");
    let out = recodb(&["-c", ".once"], None);
    assert_eq!(stderr(&out), "error: wrong arguments for .once: '.once'; type .help\n");
}

#[test]
fn output_and_once_send_results_to_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name).to_str().expect("UTF-8 path").to_string();
    let script = format!(
        ".mode csv\nINSERT INTERACTION user 1 item 10;\n.once {once}\nSHOW USERS;\nSHOW ITEMS;\n\
         .output {all}\nSHOW USERS;\nSHOW ITEMS;\n.output\nSHOW STATS;\n",
        once = path("once.csv"),
        all = path("all.csv")
    );
    let out = recodb(&["-c", &script], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let read = |name: &str| std::fs::read_to_string(path(name)).expect("an output file");
    assert_eq!(read("once.csv"), "user,interactions,tags\n1,1,\n", ".once takes the next result only");
    assert_eq!(read("all.csv"), "user,interactions,tags\n1,1,\nitem,interactions,tags\n10,1,\n");
    let text = stdout(&out);
    assert!(text.starts_with("inserted\n1\nitem,interactions,tags\n10,1,\nstat,value\nusers,1\n"), "{text}");
    let out = recodb(&["-c", ".output /no/such/dir/out.csv"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error: cannot write to '/no/such/dir/out.csv'"), "{}", stderr(&out));
}

#[test]
fn show_help_timer_and_open_report_and_switch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let other = dir.path().join("other");
    let other = other.to_str().expect("UTF-8 path");
    let script = format!(
        ".timer on\n.show\n.help recommend\n.open {other}\nINSERT INTERACTION user 3 item 4;\n.show\n"
    );
    let out = recodb(&["-c", &script], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "    mode: table\n headers: on\n   timer: on\n  output: stdout\ndatabase: :memory:\n"
        ),
        "{text}"
    );
    assert!(text.contains("RECOMMEND user key TOP n [USING name]"), "{text}");
    assert!(text.ends_with(&format!("database: {other}\n")), "{text}");
    let timing = stderr(&out);
    let seconds = timing.trim().strip_prefix("time: ").and_then(|t| t.strip_suffix(" s")).expect("a time");
    assert_eq!(seconds.split('.').nth(1).map(str::len), Some(6), "microseconds: {timing}");
    let reopened = recodb(&[other, "--format", "csv", "-c", "SHOW USERS;"], None);
    assert_eq!(stdout(&reopened), "user,interactions,tags\n3,1,\n", ".open wrote to the database it opened");
}

#[test]
fn read_only_opens_a_copy_that_refuses_writes_and_a_locked_database_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let db = db.to_str().expect("UTF-8 path");
    assert!(recodb(&[db, "-c", "INSERT INTERACTION user 1 item 2;"], None).status.success());
    let out = recodb(
        &[db, "--read-only", "--format", "csv", "-c", "SHOW USERS; INSERT INTERACTION user 5 item 6;"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "user,interactions,tags\n1,1,\n", "reads work on the copy");
    assert!(stderr(&out).contains("read-only"), "{}", stderr(&out));

    // A shell holds the database open (waiting on its standard input) while another tries to open it.
    let mut holder = Command::new(env!("CARGO_BIN_EXE_recodb"))
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the holder");
    let mut locked = recodb(&[db, "-c", "SHOW USERS;"], None);
    for _ in 0..100 {
        if locked.status.code() == Some(1) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        locked = recodb(&[db, "-c", "SHOW USERS;"], None);
    }
    let watcher = recodb(&[db, "--read-only", "--format", "csv", "-c", "SHOW USERS;"], None);
    drop(holder.stdin.take());
    holder.wait().expect("the holder ends");
    assert_eq!(locked.status.code(), Some(1), "the second writer is refused");
    assert!(
        stderr(&locked).contains(&format!("is locked by another process; a database has one writer at a time: to read it meanwhile, open a copy with `recodb --read-only {db}`")),
        "{}",
        stderr(&locked)
    );
    assert_eq!(
        stdout(&watcher),
        "user,interactions,tags\n1,1,\n",
        "a read-only copy opens beside the writer"
    );
}

#[test]
fn notices_warn_of_a_replaced_split_and_a_stale_model_in_every_format() {
    let mut seed = String::new();
    for u in 0..10 {
        for j in 0..6 {
            seed.push_str(&format!("INSERT INTERACTION user {u} item {};", (u * 2 + j) % 15));
        }
    }
    let script = format!(
        "{seed}\nSPLIT HOLDOUT 0.3 SEED 1;\nTRAIN pop AS m;\nSPLIT HOLDOUT 0.3 SEED 2;\nEVALUATE m AT 5;\n"
    );
    let out = recodb(&["--format", "csv", "-c", &script], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let notices: Vec<&str> = err.lines().filter(|l| l.starts_with("notice: ")).collect();
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(notices[0].starts_with("notice: this split replaced the one in force (fraction 0.3, seed 1)"));
    assert!(notices[1].starts_with("notice: model 'm' was trained before the current split"));
    assert!(!stdout(&out).contains("notice"), "notices stay off the results: {}", stdout(&out));

    let json = recodb(&["--format", "json", "-c", &script], None);
    let objects: Vec<serde_json::Value> = stderr(&json)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(objects.len(), 2, "{objects:?}");
    assert!(objects[1]["notice"].as_str().is_some_and(|n| n.starts_with("model 'm' was trained before")));
}

#[test]
fn ml_100k_imports_with_titles_that_results_show_beside_the_keys() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/ml-100k");
    if !root.join("u.item").exists() {
        eprintln!("skipped: {} is absent", root.display());
        return;
    }
    let file = |name: &str| root.join(name).to_str().expect("UTF-8 path").to_string();
    let script = format!(
        "IMPORT INTERACTIONS FROM '{}'; IMPORT ITEMS FROM '{}'; IMPORT USERS FROM '{}';\n\
         .mode csv\nSHOW STATS;\nTRAIN pop;\nRECOMMEND user 196 TOP 3 USING pop;\nDESCRIBE ITEM 50;\n",
        file("u.data"),
        file("u.item"),
        file("u.user")
    );
    let out = recodb(&["-c", &script], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("users,943\nitems,1682\ninteractions,100000\n"), "{text}");
    assert!(
        text.contains("rank,item,label,score\n1,50,Star Wars (1977),583\n"),
        "the most popular movie, by its title: {text}"
    );
    assert!(text.contains("label,Star Wars (1977)\n"), "{text}");
    assert!(
        text.contains("tags,\"genre:Action, genre:Adventure, genre:Romance, genre:Sci-Fi, genre:War\""),
        "{text}"
    );
}

#[test]
fn an_import_that_leaves_columns_out_says_how_to_keep_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("ratings.tsv");
    std::fs::write(&file, "1\t10\t5\t978300760\n2\t10\t3\t978300761\n").expect("write");
    let out = recodb(&["-c", &format!("IMPORT INTERACTIONS FROM '{}';", file.display())], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "notice: columns 2 ('5'), 3 ('978300760') were not read; to keep them: WITH (weight = 2, time = 3)\n"
    );
}
