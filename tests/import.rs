//! Bulk import end to end through `Database`: formats, merging, atomicity on bad input, persistence,
//! and the real data sets.

mod common;

use common::{failure, shared_data, write_file};
use std::sync::Mutex;

use recodb::{Database, ErrorKind, ImportErrorKind, Key, Progress, Side, Stats, Target, Value};

fn opts(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn counts(stats: &Stats) -> (u64, u64, u64) {
    (stats.users, stats.items, stats.interactions)
}

#[test]
fn a_headerless_two_column_file_imports_with_no_options() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_file(&dir, "pairs.tsv", "1\t10\n1\t11\n2\t10\n2\t10\n");
    let db = Database::open_temporary().expect("open");
    let summary = db.import(Target::Interactions, &file, None, &[]).expect("import");
    assert_eq!(
        (summary.records, summary.new_users, summary.new_items, summary.new_interactions),
        (4, 2, 2, 3)
    );
    assert_eq!(counts(&db.stats().expect("stats")), (2, 2, 3));
    db.check_integrity().expect("consistent");
}

#[test]
fn a_second_import_merges_with_what_is_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = write_file(&dir, "a.csv", "user,item,rating\nann,x,4\nbob,y,2\n");
    let second = write_file(&dir, "b.csv", "user,item,rating\nann,x,5\nann,z,1\n");
    let db = Database::open_temporary().expect("open");
    let o = opts(&[("header", Value::Bool(true)), ("weight", Value::from("rating"))]);
    db.import(Target::Interactions, &first, None, &o).expect("first");
    let summary = db.import(Target::Interactions, &second, None, &o).expect("second");
    assert_eq!((summary.new_users, summary.new_items, summary.new_interactions), (0, 1, 1));
    let ann = db.interactions_of(&Key::from("ann")).expect("read").expect("ann exists");
    let weights: Vec<(Key, f32)> = ann.into_iter().map(|i| (i.item, i.weight)).collect();
    assert_eq!(
        weights,
        vec![(Key::from("x"), 5.0), (Key::from("z"), 1.0)],
        "the later rating replaces the earlier"
    );
    db.check_integrity().expect("consistent");
}

#[test]
fn entity_files_become_tags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let movies = write_file(
        &dir,
        "movies.dat",
        "1::Toy Story (1995)::Animation|Children's|Comedy\n2::Heat (1995)::Action\n",
    );
    let users = write_file(&dir, "users.dat", "7::F::25::12::55117\n");
    let db = Database::open_temporary().expect("open");
    let summary = db.import(Target::Items, &movies, Some("movielens"), &[]).expect("items");
    assert_eq!((summary.new_items, summary.new_tags), (2, 4));
    db.import(Target::Users, &users, Some("movielens"), &[]).expect("users");
    let toy = db.describe(Side::Item, &Key::Int(1)).expect("read").expect("item 1");
    assert_eq!(toy.tags, vec!["genre:Animation", "genre:Children's", "genre:Comedy"]);
    let user = db.describe(Side::User, &Key::Int(7)).expect("read").expect("user 7");
    assert_eq!(user.tags, vec!["age:25", "gender:F", "occupation:12"]);
    assert_eq!(db.stats().expect("stats").item_tags, 4);
    db.check_integrity().expect("consistent");
}

/// Every bad input is an error naming the file (and the line where there is one), and the database
/// is exactly as it was: same counts, same data version.
#[test]
fn bad_input_is_an_error_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = write_file(&dir, "good.tsv", "1\t10\n2\t20\n");
    let db = Database::open_temporary().expect("open");
    db.import(Target::Interactions, &good, None, &[]).expect("seed");
    let before = db.stats().expect("stats");

    let malformed = write_file(&dir, "malformed.tsv", "3\t30\n4\n5\t50\n");
    let bad_weight = write_file(&dir, "weights.tsv", "3\t30\t4\n4\t40\tlots\n");
    let bad_utf8 = dir.path().join("utf8.tsv");
    std::fs::write(&bad_utf8, b"3\t30\n\xff\xfe\t40\n").expect("write");
    let missing = dir.path().join("nowhere.tsv");
    /// A bad input: the file, the options, the error kind and the line it must name.
    type Case<'a> = (&'a std::path::Path, Vec<(String, Value)>, ImportErrorKind, Option<u64>);
    let cases: Vec<Case> = vec![
        (&malformed, vec![], ImportErrorKind::Parse, Some(2)),
        (&bad_weight, opts(&[("weight", Value::Int(2))]), ImportErrorKind::Parse, Some(2)),
        (&bad_utf8, vec![], ImportErrorKind::Parse, Some(2)),
        (&missing, vec![], ImportErrorKind::Io, None),
        (&good, opts(&[("colour", Value::from("blue"))]), ImportErrorKind::Option, None),
        (&good, opts(&[("user", Value::from("UserID"))]), ImportErrorKind::Option, None),
    ];
    for (path, options, kind, line) in cases {
        let err = db.import(Target::Interactions, path, None, &options).expect_err("bad input must fail");
        let ErrorKind::Import(e) = err.kind() else { panic!("not an import error: {err}") };
        assert_eq!(e.kind, kind, "{err}");
        assert_eq!(e.line, line, "{err}");
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        assert!(err.to_string().contains(name), "the message names the file: {err}");
        let after = db.stats().expect("stats");
        assert_eq!(after, before, "the database is unchanged after {err}");
    }
    db.check_integrity().expect("consistent");
}

#[test]
fn import_statement_errors_point_at_the_option_format_or_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = write_file(&dir, "r.tsv", "1\t2\t5\n");
    let bad = write_file(&dir, "bad.tsv", "1\t2\n3\n");
    let db = Database::open_temporary().expect("open");
    let (good, bad) = (format!("'{}'", good.display()), format!("'{}'", bad.display()));
    let err =
        failure(&db, &format!("IMPORT INTERACTIONS FROM {good} WITH (wieght = 2)"), "import", "wieght = 2");
    assert!(err.message().contains("did you mean 'weight'?"), "{err}");
    failure(&db, &format!("IMPORT INTERACTIONS FROM {good} FORMAT xml"), "import", "xml");
    failure(&db, &format!("IMPORT USERS FROM {good} FORMAT lightgcn"), "import", "lightgcn");
    let err = failure(&db, &format!("IMPORT INTERACTIONS FROM {bad}"), "import", &bad);
    let ErrorKind::Import(e) = err.kind() else { panic!("not an import error: {err:?}") };
    assert_eq!((e.kind, e.line), (ImportErrorKind::Parse, Some(2)), "the file and line are named too");
    assert_eq!(db.stats().expect("stats").interactions, 0);
}

#[test]
fn a_cancelled_import_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text: String = (0..200_000).map(|i| format!("{}\t{}\n", i % 1000, i % 777)).collect();
    let file = write_file(&dir, "big.tsv", &text);
    let db = Database::open_temporary().expect("open");
    let err = db
        .import_with_progress(Target::Interactions, &file, None, &[], &mut |_, _| false)
        .expect_err("cancelled");
    assert!(matches!(err.kind(), ErrorKind::Cancelled(what) if what == "import"), "{err}");
    assert_eq!(counts(&db.stats().expect("stats")), (0, 0, 0));
}

/// Records every progress report and asks to cancel once the commit has begun, as a Ctrl-C then would.
struct CancelDuringCommit(Mutex<Vec<(String, u64, u64)>>);

impl Progress for CancelDuringCommit {
    fn update(&self, phase: &str, done: u64, total: u64) -> bool {
        self.0.lock().expect("lock").push((phase.to_string(), done, total));
        phase != "commit"
    }
}

#[test]
fn a_large_import_ticks_through_its_commit_which_a_cancel_does_not_interrupt() {
    // Chunks of 64 entries: this import of 1,000 users and 777 items commits in about 60.
    recodb_storage::set_commit_chunk_entries(64);
    let dir = tempfile::tempdir().expect("tempdir");
    let text: String = (0..20_000).map(|i| format!("{}\t{}\n", i % 1000, i % 777)).collect();
    let file = write_file(&dir, "big.tsv", &text);
    let db = Database::open(dir.path().join("db")).expect("open");
    let statement = format!("IMPORT INTERACTIONS FROM '{}'", file.display());
    let statement = recodb::query::parse_statement(&statement).expect("parse");
    let progress = CancelDuringCommit(Mutex::new(Vec::new()));
    db.run(&statement, &[], &progress).expect("the commit completes");
    let reports = progress.0.into_inner().expect("reports");
    let commit: Vec<(u64, u64)> = reports
        .iter()
        .filter(|(phase, ..)| phase == "commit")
        .map(|&(_, done, total)| (done, total))
        .collect();
    assert!(commit.len() > 10, "a report per chunk: {commit:?}");
    assert!(commit.windows(2).all(|w| w[0].0 < w[1].0), "done grows: {commit:?}");
    let &(done, total) = commit.last().expect("reports");
    assert_eq!(done, total, "the last report is the whole commit");
    assert_eq!(counts(&db.stats().expect("stats")), (1000, 777, 20_000));
    db.check_integrity().expect("consistent");
}

#[test]
fn imported_data_survives_close_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_file(&dir, "r.tsv", "u\ti\tw\tt\n1\t5\t3.5\t100\n1\t6\t1\t101\n2\t5\t2\t102\n");
    let path = dir.path().join("db");
    let o = opts(&[
        ("user", Value::from("u")),
        ("item", Value::from("i")),
        ("weight", Value::from("w")),
        ("time", Value::from("t")),
    ]);
    {
        let db = Database::open(&path).expect("create");
        db.import(Target::Interactions, &file, None, &o).expect("import");
    }
    let db = Database::open(&path).expect("reopen");
    assert_eq!(counts(&db.stats().expect("stats")), (2, 2, 3));
    let first = db.interactions_of(&Key::Int(1)).expect("read").expect("user 1");
    assert_eq!(first[0].item, Key::Int(5));
    assert_eq!((first[0].weight, first[0].time), (3.5, Some(100)));
    db.check_integrity().expect("consistent");
}

#[test]
fn ml_1m_ratings_import_with_exact_counts() {
    let Some(ratings) = shared_data("ml-1m/ratings.tsv.gz") else { return };
    let columns = [
        ("user", Value::from("UserID")),
        ("item", Value::from("ItemIdx")),
        ("weight", Value::from("Rating")),
    ];
    let db = Database::open_temporary().expect("open");
    db.import(Target::Interactions, &ratings, None, &opts(&columns)).expect("import");
    assert_eq!(counts(&db.stats().expect("stats")), (6_040, 3_706, 1_000_209));
    db.check_integrity().expect("consistent");

    let positives = Database::open_temporary().expect("open");
    let mut with_min = opts(&columns);
    with_min.push(("min_weight".into(), Value::Int(4)));
    positives.import(Target::Interactions, &ratings, None, &with_min).expect("import");
    assert_eq!(positives.stats().expect("stats").interactions, 575_281);
}

#[test]
fn standard_split_train_imports_with_no_options() {
    let Some(train) = shared_data("splits/ml-1m-r4/train.tsv") else { return };
    let db = Database::open_temporary().expect("open");
    db.import(Target::Interactions, &train, None, &[]).expect("import");
    let stats = db.stats().expect("stats");
    assert_eq!(stats.interactions, 460_256);
    assert_eq!(stats.users, 6_038);
    let snapshot = db.snapshot().expect("snapshot");
    assert_eq!(snapshot.nnz(), 460_256);
}

#[test]
fn movielens_side_files_import_as_tags() {
    let (Some(movies), Some(users)) = (shared_data("ml-1m/movies.dat"), shared_data("ml-1m/users.dat"))
    else {
        return;
    };
    let db = Database::open_temporary().expect("open");
    db.import(Target::Items, &movies, Some("movielens"), &[]).expect("movies");
    db.import(Target::Users, &users, Some("movielens"), &[]).expect("users");
    let stats = db.stats().expect("stats");
    assert_eq!((stats.users, stats.items, stats.item_tags), (6_040, 3_883, 18));
    let comedy = db.store().tag_members(Side::Item, "genre:Comedy").expect("read").expect("tag");
    assert_eq!(comedy.len(), 1_200);
    db.check_integrity().expect("consistent");
}
