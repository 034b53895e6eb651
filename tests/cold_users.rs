//! The user cold-start protocol end to end: `TRAIN ... WITH (hold_out_users = 'file')` hides every
//! interaction of the listed users from training, and `EVALUATE ... COLD USERS FROM 'file'` ranks every
//! item for each of them with no history, beside the popularity and random baselines, with figures
//! worked out by hand.

mod common;

use common::{failure, figure, run, write_file};
use recodb::Database;

/// Items `a` to `d`; users u1 (c, d: the cold user), u2 (a, b, c), u3 (a, b), u4 (a). The cold file
/// lists u1 and a key that is no user.
fn database(dir: &tempfile::TempDir) -> (Database, String) {
    let db = Database::open(dir.path().join("db")).expect("open");
    for (user, item) in [
        ("u1", "c"),
        ("u1", "d"),
        ("u2", "a"),
        ("u2", "b"),
        ("u2", "c"),
        ("u3", "a"),
        ("u3", "b"),
        ("u4", "a"),
    ] {
        run(&db, &format!("INSERT INTERACTION USER '{user}' ITEM '{item}'"));
    }
    let cold = write_file(dir, "cold_users.txt", "u1\n\nnot-a-user\n");
    (db, cold.display().to_string())
}

#[test]
fn cold_users_are_hidden_from_training_and_ranked_by_popularity_without_a_profile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, cold) = database(&dir);
    let trained = run(&db, &format!("TRAIN pop AS hidden WITH (hold_out_users = '{cold}')"));
    assert_eq!(trained.column::<i64>("interactions").expect("interactions"), [6], "8 pairs, 2 of u1");
    let result = run(&db, &format!("EVALUATE hidden COLD USERS FROM '{cold}' AT 1, 3, 4"));
    let columns: Vec<&str> = result.columns().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(columns, ["metric", "k", "hidden", "popularity", "random"]);
    // Without u1, popularity ranks a (3 users), b (2), c (1), d (0); u1's tests are c and d.
    let ndcg = (1.0 / 4f64.log2() + 1.0 / 5f64.log2()) / (1.0 + 1.0 / 3f64.log2());
    for column in ["hidden", "popularity"] {
        assert_eq!(figure(&result, column, "hr", Some(1)), 0.0, "{column}");
        assert_eq!(figure(&result, column, "recall", Some(3)), 0.5, "{column}");
        assert!((figure(&result, column, "ndcg", Some(4)) - ndcg).abs() < 1e-9, "{column}");
        assert_eq!(figure(&result, column, "users", None), 1.0);
        assert_eq!(figure(&result, column, "cold_users", None), 1.0);
    }
    assert_eq!(figure(&result, "random", "recall", Some(4)), 1.0, "four items: every list holds both");
    assert_eq!(result.notices().len(), 1, "one key of the file is no user: {:?}", result.notices());
}

#[test]
fn a_model_that_saw_the_cold_users_and_bad_statements_are_refused_with_positions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, cold) = database(&dir);
    run(&db, "TRAIN pop AS saw");
    run(&db, &format!("TRAIN pop AS by_items WITH (hold_out_items = '{cold}')"));
    run(&db, &format!("TRAIN pop AS hidden WITH (hold_out_users = '{cold}')"));
    let err = failure(&db, &format!("EVALUATE hidden, saw COLD USERS FROM '{cold}'"), "conflict", "saw");
    assert!(err.message().contains("hold_out_users"), "{err}");
    failure(&db, &format!("EVALUATE by_items COLD USERS FROM '{cold}'"), "conflict", "by_items");
    failure(&db, &format!("EVALUATE hidden COLD ITEMS FROM '{cold}'"), "conflict", "hidden");
    let missing = dir.path().join("missing.txt").display().to_string();
    failure(
        &db,
        &format!("TRAIN pop WITH (hold_out_users = '{missing}')"),
        "invalid_argument",
        &format!("'{missing}'"),
    );
    failure(&db, "TRAIN pop WITH (hold_out_users = 3)", "invalid_argument", "3");
    failure(
        &db,
        &format!("EVALUATE hidden COLD USERS FROM '{cold}' WITH (match = 'genre:')"),
        "not_found",
        "match",
    );
    let err = db.query(&format!("EVALUATE hidden COLD USERS '{cold}'"), &[]).expect_err("no FROM");
    let span = err.span().expect("a position");
    assert_eq!((span.start.line, span.start.column), (1, 28), "{err}");
}
