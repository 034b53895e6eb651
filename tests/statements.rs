//! Every data statement through `Database::execute` and `Database::query`: values, errors, parameters.

mod common;

use common::failure;
use recodb::{Database, ErrorKind, Key, Object, Side, Value};

fn one(db: &Database, statement: &str) -> recodb::ResultSet {
    db.query(statement, &[]).unwrap_or_else(|e| panic!("{statement}: {e}"))
}

fn int(set: &recodb::ResultSet, column: &str) -> i64 {
    set.row(0).expect("a row").get::<i64>(column).expect("an integer column")
}

#[test]
fn data_statements_change_the_database() {
    let db = Database::open_temporary().expect("open");
    assert_eq!(int(&one(&db, "ADD USER 'ann' TAGS ('age:25', 'gender:F')"), "added"), 1);
    assert_eq!(
        int(&one(&db, "add user 'ann'"), "added"),
        0,
        "keywords are case-insensitive; re-adding is a no-op"
    );
    assert_eq!(int(&one(&db, "ADD ITEM 7 TAGS ('genre:scifi')"), "tags"), 1);
    assert_eq!(
        int(&one(&db, "INSERT INTERACTION user 'ann' item 7 WEIGHT 4.5 AT 1700000000"), "inserted"),
        1
    );
    assert_eq!(int(&one(&db, "INSERT INTERACTION user 'ann' item 7 WEIGHT 5"), "inserted"), 0);
    let seen = db.interactions_of(&Key::from("ann")).expect("read").expect("ann");
    assert_eq!((seen[0].weight, seen[0].time), (5.0, Some(1_700_000_000)));
    assert_eq!(int(&one(&db, "DELETE INTERACTION user 'ann' item 7"), "deleted"), 1);
    assert_eq!(int(&one(&db, "DELETE INTERACTION user 'ann' item 7"), "deleted"), 0);
    assert_eq!(int(&one(&db, "DELETE ITEM 7"), "deleted"), 1);
    assert_eq!(int(&one(&db, "DELETE USER 'ann'"), "deleted"), 1);
    assert_eq!(db.stats().expect("stats").users, 0);
    db.check_integrity().expect("consistent");
}

#[test]
fn scripts_run_in_order_and_stop_at_the_first_error() {
    let db = Database::open_temporary().expect("open");
    let results = db
        .execute(
            "INSERT INTERACTION user 1 item 1; INSERT INTERACTION user 1 item 2; -- a comment\nSHOW USERS;",
        )
        .expect("script");
    assert_eq!(results.len(), 3);
    assert_eq!(results[2].row(0).expect("row").get::<i64>("interactions").expect("count"), 2);

    let script = "INSERT INTERACTION user 2 item 1;\nDESCRIBE USER 99; INSERT INTERACTION user 3 item 1;";
    let err = db.execute(script).expect_err("user 99 is unknown");
    assert!(
        matches!(err.kind(), ErrorKind::NotFound { what: Object::User, key, .. } if key == "99"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "line 2, column 15: no user with key 99", "positions are within the script");
    assert_eq!(
        err.render(script),
        "2 | DESCRIBE USER 99; INSERT INTERACTION user 3 item 1;\n  |               ^^ no user with key 99"
    );
    assert_eq!(
        db.stats().expect("stats").users,
        2,
        "the statement before the error stays; the one after never ran"
    );

    let err =
        db.execute("INSERT INTERACTION user 4 item 1; INSERT INTERACTON user 5 item 1;").expect_err("typo");
    let ErrorKind::Parse(parse) = err.kind() else { panic!("not a parse error: {err}") };
    assert_eq!((parse.line, parse.column, parse.found.as_str()), (1, 42, "INTERACTON"), "{err}");
    assert_eq!(db.stats().expect("stats").users, 2, "a script that does not parse runs nothing");
}

#[test]
fn parameters_are_bound_as_values_never_as_text() {
    let db = Database::open_temporary().expect("open");
    let sneaky = "x'); DELETE USER 1; --";
    db.query("INSERT INTERACTION user 1 item ?", &[Value::from(sneaky)]).expect("insert");
    db.query(
        "INSERT INTERACTION user ? item ? WEIGHT ?",
        &[Value::Int(2), Value::from(sneaky), Value::Float(2.5)],
    )
    .expect("insert");
    let item = db.describe(Side::Item, &Key::from(sneaky)).expect("read").expect("the odd key is just a key");
    assert_eq!(item.interactions, 2);
    assert_eq!(db.stats().expect("stats").users, 2);

    let err = db.query("SHOW USERS LIMIT ?", &[]).expect_err("missing parameter");
    assert_eq!(err.message(), "the statement has 1 parameter but 0 were bound");
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument { name, .. } if name == "parameters"));
    let err = db.query("SHOW USERS", &[Value::Int(1)]).expect_err("extra parameter");
    assert_eq!(err.message(), "the statement has 0 parameters but 1 was bound");
    let err = db.query("SHOW USERS LIMIT ?", &[Value::from("ten")]).expect_err("wrong type");
    assert_eq!(err.to_string(), "line 1, column 18: LIMIT must be a non-negative integer, got 'ten'");
    let err = db.query("INSERT INTERACTION user ? item 1", &[Value::Float(1.5)]).expect_err("float key");
    assert!(
        matches!(err.kind(), ErrorKind::InvalidArgument { name, got, .. } if name == "a key" && got == "1.5"),
        "{err:?}"
    );
    assert_eq!(err.span().map(|s| (s.start.column, s.len())), Some((25, 1)), "the ? is underlined");
}

#[test]
fn show_describe_and_set_return_typed_rows() {
    let db = Database::open_temporary().expect("open");
    db.execute("ADD ITEM 1 TAGS ('genre:a'); ADD ITEM 2 TAGS ('genre:a', 'genre:b'); INSERT INTERACTION user 9 item 1;")
        .expect("seed");
    let items = one(&db, "SHOW ITEMS LIMIT 1");
    assert_eq!(items.len(), 1);
    assert_eq!(
        items.columns().iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        vec!["item", "interactions", "tags"]
    );
    let tags = one(&db, "SHOW TAGS");
    assert_eq!(tags.column::<String>("tag").expect("tags"), vec!["genre:a", "genre:b"]);
    let stats = one(&db, "SHOW STATS");
    assert_eq!(stats.row(2).expect("row").get::<String>("value").expect("interactions"), "1");
    let user = one(&db, "DESCRIBE USER 9");
    assert_eq!(user.row(2).expect("row").get::<String>("value").expect("interactions"), "1");
    assert_eq!(
        one(&db, "SET durability = relaxed").row(0).expect("row").get::<String>("value").expect("v"),
        "relaxed"
    );
    assert_eq!(db.store().durability(), recodb_storage::Durability::Relaxed, "SET took effect");
    failure(&db, "SET durability = 'sometimes'", "invalid_argument", "'sometimes'");
    let err = failure(&db, "SET durabilty = 'full'", "not_found", "durabilty");
    assert_eq!(err.suggestion(), Some("durability"));
    assert!(one(&db, "SHOW MODELS").is_empty());
}

#[test]
fn split_statements_hold_out_and_restore() {
    let db = Database::open_temporary().expect("open");
    for u in 0..4 {
        for i in 0..10 {
            db.insert_interaction(u, i, None, None).expect("insert");
        }
    }
    assert_eq!(int(&one(&db, "SPLIT HOLDOUT 0.3 SEED 11"), "held_out"), 12);
    assert_eq!(db.snapshot().expect("snapshot").nnz(), 28);
    assert_eq!(int(&one(&db, "SPLIT CLEAR"), "restored"), 12);
    let err = failure(&db, "SPLIT HOLDOUT 1.5", "invalid_argument", "1.5");
    assert_eq!(err.message(), "the holdout fraction must be a number between 0 and 1 (exclusive), got 1.5");
}

#[test]
fn statements_that_need_a_model_say_what_is_missing() {
    let db = Database::open_temporary().expect("open");
    db.execute("INSERT INTERACTION user 42 item 1;").expect("seed");
    let err = failure(&db, "RECOMMEND user 42 TOP 10", "conflict", "RECOMMEND user 42 TOP 10");
    assert_eq!(err.message(), "no trained model to use; TRAIN one first");
    db.execute("TRAIN pop AS taste;").expect("train");
    let cases = [
        (
            "TRAIN nosuchalgo AS taste WITH (dim = 64)",
            "nosuchalgo",
            "unknown algorithm 'nosuchalgo' (available: als, bpr, ccsr, cml, corml, dsiml, ease, pop)",
        ),
        (
            "TRAIN eas",
            "eas",
            "unknown algorithm 'eas'; did you mean 'ease'? (available: als, bpr, ccsr, cml, corml, dsiml, ease, pop)",
        ),
        (
            "RECOMMEND user 42 TOP 10 USING tast",
            "tast",
            "no model named 'tast'; did you mean 'taste'? (SHOW MODELS lists the trained models)",
        ),
        (
            "SIMILAR item 1 TOP 5 USING tasty",
            "tasty",
            "no model named 'tasty'; did you mean 'taste'? (SHOW MODELS lists the trained models)",
        ),
        (
            "EXPLAIN RECOMMEND user 42 TOP 3 USING nothing",
            "nothing",
            "no model named 'nothing' (SHOW MODELS lists the trained models)",
        ),
        (
            "EVALUATE nothing AT 10, 20",
            "nothing",
            "no model named 'nothing' (SHOW MODELS lists the trained models)",
        ),
        ("DROP MODEL nothing", "nothing", "no model named 'nothing' (SHOW MODELS lists the trained models)"),
        (
            "DESCRIBE MODEL nothing",
            "nothing",
            "no model named 'nothing' (SHOW MODELS lists the trained models)",
        ),
        (
            "EXPORT CODES nothing ITEMS TO '/tmp/x'",
            "nothing",
            "no model named 'nothing' (SHOW MODELS lists the trained models)",
        ),
        ("WAIT JOB 3", "3", "no job with id 3 (SHOW JOBS lists them)"),
        ("TRAIN pop WITH (bits = 64)", "bits", "unknown parameter 'bits' for pop (its parameters: none)"),
        (
            "TRAIN ease WITH (lamda = 1)",
            "lamda",
            "unknown parameter 'lamda' for ease; did you mean 'lambda'? (its parameters: lambda)",
        ),
        ("RECOMMEND user 7 TOP 10 USING taste", "7", "no user with key 7"),
        ("SIMILAR item 'x' TOP 10 USING taste", "'x'", "no item with key 'x'"),
        (
            "RECOMMEND user 42 TOP 1 USING taste WHERE TAG = 'genre:comedy'",
            "'genre:comedy'",
            "no item has the tag 'genre:comedy' (SHOW TAGS lists them)",
        ),
    ];
    for (statement, spot, message) in cases {
        let err = failure(&db, statement, "not_found", spot);
        assert_eq!(err.message(), message, "{statement}");
    }
    let err = failure(&db, "TRAIN ease WITH (lambda = -1)", "invalid_argument", "-1");
    assert_eq!(err.message(), "lambda must be a positive number, got -1 (for ease)");
    for (statement, spot) in [
        ("RECOMMEND user 42 TOP 10001 USING taste", "10001"),
        ("RECOMMEND user 42 TOP 5 USING taste RERANK 2 USING taste", "2"),
        ("EVALUATE taste AT 0", "0"),
    ] {
        failure(&db, statement, "invalid_argument", spot);
    }
}

#[test]
fn tags_are_a_vocabulary_checked_on_their_side() {
    let db = Database::open_temporary().expect("open");
    db.execute(
        "ADD ITEM 1 TAGS ('genre:comedy'); ADD USER 9 TAGS ('age:25'); INSERT INTERACTION user 9 item 2;",
    )
    .expect("seed");
    db.execute("TRAIN pop;").expect("train");
    assert_eq!(
        db.query("RECOMMEND user 9 TOP 5 WHERE TAG = 'genre:comedy'", &[]).expect("known tag").len(),
        1
    );
    let err = failure(&db, "RECOMMEND user 9 TOP 5 WHERE TAG = 'genre:comdy'", "not_found", "'genre:comdy'");
    assert_eq!(err.suggestion(), Some("genre:comedy"));
    assert!(matches!(err.kind(), ErrorKind::NotFound { what: Object::Tag, .. }));
    failure(&db, "RECOMMEND user 9 TOP 5 WHERE TAG IN ('genre:comedy', 'age:25')", "not_found", "'age:25'");
    assert_eq!(
        db.query("RECOMMEND user 9 TOP 5 WHERE ITEM IN (1, 777)", &[])
            .expect("unknown item keys allow nothing")
            .len(),
        1
    );
}
