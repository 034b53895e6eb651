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

/// Found by the `differential` fuzz target: `AT -9223372036854775808` (-2^63, the value storage uses
/// for "no time") was acknowledged and then read back as no time at all. It is refused now, through
/// the statement, the typed API and the columnar insert, and the times beside it keep working.
#[test]
fn the_timestamp_that_marks_no_time_is_refused() {
    let db = Database::open_temporary().expect("open");
    let err = failure(
        &db,
        "INSERT INTERACTION USER 1 ITEM 2 AT -9223372036854775808",
        "invalid_argument",
        "-9223372036854775808",
    );
    assert!(err.to_string().contains("AT must be a timestamp"), "{err}");
    assert!(db.insert_interaction(1u64, 2u64, None, Some(i64::MIN)).is_err());
    let (users, items) = ([Key::from(1u64)], [Key::from(2u64)]);
    assert!(db.insert_interactions(&users, &items, None, Some(&[i64::MIN])).is_err());
    assert_eq!(db.stats().expect("stats").interactions, 0, "nothing was written");
    one(&db, "INSERT INTERACTION USER 1 ITEM 2 AT -9223372036854775807");
    one(&db, "INSERT INTERACTION USER 1 ITEM 3 AT 9223372036854775807");
    let seen = db.interactions_of(&Key::from(1u64)).expect("read").expect("user 1");
    let times: Vec<Option<i64>> = seen.iter().map(|i| i.time).collect();
    assert_eq!(times, [Some(-i64::MAX), Some(i64::MAX)]);
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
            "unknown algorithm 'nosuchalgo' (available: als, bpr, ccsr, cml, corml, dsiml, ease, pop, twotower)",
        ),
        (
            "TRAIN eas",
            "eas",
            "unknown algorithm 'eas'; did you mean 'ease'? (available: als, bpr, ccsr, cml, corml, dsiml, ease, pop, twotower)",
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

/// Twelve users with eight interactions each over twenty items, enough to split.
fn splittable() -> Database {
    let db = Database::open_temporary().expect("open");
    for u in 0..12u64 {
        for j in 0..8u64 {
            db.insert_interaction(u, (u * 3 + j) % 20, None, None).expect("insert");
        }
    }
    db
}

#[test]
fn a_second_split_and_a_model_trained_before_it_get_notices() {
    let db = splittable();
    assert_eq!(
        one(&db, "SPLIT HOLDOUT 0.25 SEED 1").notices(),
        [] as [String; 0],
        "the first split replaces nothing"
    );
    one(&db, "TRAIN pop AS before");
    assert_eq!(one(&db, "EVALUATE before AT 5").notices(), [] as [String; 0], "trained on this split");
    let again = one(&db, "SPLIT HOLDOUT 0.25 SEED 2");
    assert_eq!(
        again.notices(),
        ["this split replaced the one in force (fraction 0.25, seed 1); models trained before now have seen \
          interactions it holds out, so retrain them before EVALUATE"]
    );
    let stale = one(&db, "EVALUATE before AT 5");
    assert_eq!(
        stale.notices(),
        ["model 'before' was trained before the current split: it has seen the interactions now held out, so \
          these figures flatter it; retrain it (TRAIN pop AS before) before comparing"]
    );
    one(&db, "TRAIN pop AS before");
    assert_eq!(one(&db, "EVALUATE before AT 5").notices(), [] as [String; 0], "retrained: no notice");
}

#[test]
fn a_test_file_that_overlaps_the_training_data_gets_a_notice() {
    let db = splittable();
    one(&db, "TRAIN pop AS m");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("test.tsv");
    // User 0 trained on items 0..8: item 3 is a training interaction, item 15 is not.
    std::fs::write(&file, "0\t3\n0\t15\n1\t19\n").expect("write");
    let result = db
        .query("EVALUATE m AGAINST ? AT 5", &[Value::from(file.to_str().expect("path"))])
        .expect("evaluate");
    assert_eq!(result.notices().len(), 1, "{:?}", result.notices());
    assert!(
        result.notices()[0].starts_with("1 of the test file's 3 interactions are also training interactions"),
        "{:?}",
        result.notices()
    );
    std::fs::write(&file, "0\t15\n1\t19\n").expect("write");
    let clean = db
        .query("EVALUATE m AGAINST ? AT 5", &[Value::from(file.to_str().expect("path"))])
        .expect("evaluate");
    assert!(clean.notices().is_empty(), "{:?}", clean.notices());
}

#[test]
fn recommend_names_the_model_that_answered_and_falls_back_to_popularity_for_a_user_with_nothing() {
    let db = splittable();
    one(&db, "TRAIN ease AS fine");
    let named = one(&db, "RECOMMEND user 0 TOP 3 USING fine");
    assert!(named.notices().is_empty());
    let unnamed = one(&db, "RECOMMEND user 0 TOP 3");
    assert_eq!(unnamed.column::<Key>("item").expect("items"), named.column::<Key>("item").expect("items"));
    assert_eq!(
        unnamed.notices(),
        ["answered by model 'fine' (ease), the most recently trained; USING name picks another"]
    );
    let similar = one(&db, "SIMILAR item 3 TOP 2");
    assert_eq!(similar.notices().len(), 1, "SIMILAR without USING names its model too");

    // Items 7, 10 and 13 have 6 users, item 5 has 5; two more users make item 5 the most popular.
    // The newcomer gets popularity, not zeros.
    for user in [98u64, 99] {
        db.insert_interaction(user, 5u64, None, None).expect("insert");
    }
    one(&db, "ADD USER 'newcomer'");
    let cold = one(&db, "RECOMMEND user 'newcomer' TOP 3 USING fine");
    let items = cold.column::<Key>("item").expect("items");
    assert_eq!(items, [Key::Int(5), Key::Int(7), Key::Int(10)], "most users first, ties by id");
    assert_eq!(cold.column::<f64>("score").expect("scores"), [7.0, 6.0, 6.0], "scored by their users");
    assert_eq!(
        cold.notices(),
        ["user 'newcomer' has no training interactions, so no model can score items for it: these are the \
          most popular items (scored by their number of users)"]
    );
    let filtered = one(&db, "RECOMMEND user 'newcomer' TOP 3 USING fine WHERE ITEM IN (7, 8)");
    assert_eq!(filtered.column::<Key>("item").expect("items").len(), 2, "the fallback keeps the filter");
}

#[test]
fn a_quoted_key_beside_an_integer_one_gets_a_notice_or_a_hint() {
    let db = splittable();
    let created = one(&db, "INSERT INTERACTION user '3' item 4");
    assert_eq!(
        created.notices(),
        ["created user '3' while user 3 exists; '3' and 3 are different keys: a quoted key is text, an \
          unquoted one an integer"]
    );
    assert!(one(&db, "INSERT INTERACTION user '3' item 5").notices().is_empty(), "only when it is created");
    let missing = failure(&db, "DESCRIBE ITEM '4'", "not_found", "'4'");
    assert_eq!(
        missing.message(),
        "no item with key '4' (item 4 exists; '4' and 4 are different keys: a quoted key is text, an unquoted \
         one an integer)"
    );
}

#[test]
fn a_listing_cut_by_the_default_limit_says_so() {
    let db = Database::open_temporary().expect("open");
    for u in 0..105u64 {
        db.insert_interaction(u, 0u64, None, None).expect("insert");
    }
    let users = one(&db, "SHOW USERS");
    assert_eq!(users.len(), 100);
    assert_eq!(users.notices(), ["showing the first 100 of 105 users; LIMIT n shows more"]);
    assert!(one(&db, "SHOW USERS LIMIT 5").notices().is_empty(), "a LIMIT given is what was asked for");
    assert!(one(&db, "SHOW ITEMS").notices().is_empty(), "one item: nothing cut");
}

#[test]
fn offset_pages_through_a_listing_and_its_notice_names_the_rows() {
    let db = Database::open_temporary().expect("open");
    for u in 0..105u64 {
        db.insert_interaction(u, 0u64, None, None).expect("insert");
    }
    let keys = |set: &recodb::ResultSet| set.column::<i64>("user").expect("integer keys");
    let page = one(&db, "SHOW USERS LIMIT 3 OFFSET 101");
    assert_eq!(keys(&page), [101, 102, 103]);
    assert!(page.notices().is_empty());
    let rest = one(&db, "SHOW USERS OFFSET 2");
    assert_eq!((rest.len(), keys(&rest)[0]), (100, 2));
    assert_eq!(rest.notices(), ["showing users 3 to 102 of 105; LIMIT n shows more"]);
    assert!(one(&db, "SHOW USERS OFFSET 5").notices().is_empty(), "the last page is whole");
    assert!(one(&db, "SHOW USERS OFFSET 500").is_empty(), "past the end: no rows");
    let tags = db.query("SHOW TAGS OFFSET ?", &[Value::Int(0)]).expect("a bound offset");
    assert!(tags.is_empty(), "no tags");
    let err = db.query("SHOW USERS OFFSET ?", &[Value::Int(-1)]).expect_err("a negative offset");
    assert_eq!(err.kind().code(), "invalid_argument", "{err}");
}

#[test]
fn show_lists_users_and_items_by_tag_and_by_interactions() {
    let db = Database::open_temporary().expect("open");
    // Item 1 has three users, item 2 two, items 3 and 4 one each.
    for (u, i) in [(1u64, 1u64), (2, 1), (3, 1), (1, 2), (2, 2), (1, 3), (3, 4)] {
        db.insert_interaction(u, i, None, None).expect("insert");
    }
    one(&db, "ADD ITEM 2 TAGS ('genre:a')");
    one(&db, "ADD ITEM 4 TAGS ('genre:a', 'genre:b')");
    one(&db, "ADD USER 3 TAGS ('age:young')");
    let items = |statement: &str| one(&db, statement).column::<i64>("item").expect("integer keys");
    assert_eq!(items("SHOW ITEMS ORDER BY INTERACTIONS DESC"), [1, 2, 3, 4]);
    assert_eq!(items("SHOW ITEMS ORDER BY INTERACTIONS"), [3, 4, 2, 1], "ascending, ties by id");
    assert_eq!(items("SHOW ITEMS WHERE TAG = 'genre:a'"), [2, 4]);
    assert_eq!(items("SHOW ITEMS WHERE TAG = 'genre:a' ORDER BY INTERACTIONS DESC LIMIT 1"), [2]);
    assert_eq!(items("SHOW ITEMS WHERE NOT TAG = 'genre:a' OFFSET 1"), [3]);
    assert_eq!(items("SHOW ITEMS WHERE ITEM IN (4, 1, 99)"), [1, 4]);
    let counts =
        one(&db, "SHOW ITEMS ORDER BY INTERACTIONS DESC").column::<i64>("interactions").expect("counts");
    assert_eq!(counts, [3, 2, 1, 1]);
    let users = one(&db, "SHOW USERS WHERE TAG IN ('age:young')").column::<i64>("user").expect("keys");
    assert_eq!(users, [3]);
    failure(&db, "SHOW USERS WHERE TAG = 'genre:a'", "not_found", "'genre:a'");
    failure(&db, "SHOW USERS WHERE ITEM IN (1)", "unsupported", "ITEM IN (1)");
    // A deleted entity is not listed, in either order.
    one(&db, "DELETE ITEM 1");
    assert_eq!(items("SHOW ITEMS ORDER BY INTERACTIONS DESC"), [2, 3, 4]);
    assert_eq!(items("SHOW ITEMS WHERE NOT TAG = 'genre:b'"), [2, 3]);
}

#[test]
fn show_interactions_lists_weights_times_and_held_out_marks() {
    let db = Database::open_temporary().expect("open");
    one(&db, "INSERT INTERACTION USER 'ann' ITEM 7 WEIGHT 4.5 AT 1700000000");
    one(&db, "INSERT INTERACTION USER 'ann' ITEM 3");
    one(&db, "INSERT INTERACTION USER 'bob' ITEM 7 WEIGHT 2");
    let all = one(&db, "SHOW INTERACTIONS");
    assert_eq!(
        all.columns().iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["user", "item", "weight", "time", "held_out"]
    );
    let rows: Vec<(Key, Key, f64, Option<i64>, bool)> = all
        .rows()
        .map(|r| {
            (
                r.get("user").expect("user"),
                r.get("item").expect("item"),
                r.get("weight").expect("weight"),
                r.get("time").expect("time"),
                r.get("held_out").expect("held_out"),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (Key::from("ann"), Key::Int(7), 4.5, Some(1_700_000_000), false),
            (Key::from("ann"), Key::Int(3), 1.0, None, false),
            (Key::from("bob"), Key::Int(7), 2.0, None, false),
        ],
        "by user id, then item id (item 7 was added first)"
    );
    let of_item = one(&db, "SHOW INTERACTIONS ITEM 7").column::<Key>("user").expect("users");
    assert_eq!(of_item, [Key::from("ann"), Key::from("bob")]);
    let of_user =
        db.query("SHOW INTERACTIONS USER ? LIMIT 1 OFFSET 1", &[Value::from("ann")]).expect("bound");
    assert_eq!(of_user.column::<Key>("item").expect("items"), [Key::Int(3)]);
    failure(&db, "SHOW INTERACTIONS USER 'cat'", "not_found", "'cat'");
    for item in 10..16u64 {
        one(&db, &format!("INSERT INTERACTION USER 'ann' ITEM {item}"));
    }
    for u in 0..120u64 {
        db.insert_interaction(u, 1u64, None, None).expect("insert");
    }
    one(&db, "SPLIT HOLDOUT 0.5 SEED 1");
    let cut = one(&db, "SHOW INTERACTIONS");
    assert_eq!(cut.notices(), ["showing the first 100 of 129 interactions; LIMIT n shows more"]);
    let held = one(&db, "SHOW INTERACTIONS USER 'ann'").column::<bool>("held_out").expect("marks");
    let described = one(&db, "DESCRIBE USER 'ann'");
    let row = described.rows().find(|r| r.get::<String>("property").expect("p") == "held_out");
    let expected: usize = row.expect("a held_out row").get::<String>("value").expect("v").parse().expect("n");
    assert_eq!((held.len(), held.iter().filter(|&&h| h).count()), (8, expected));
    assert_eq!(expected, 4, "half of ann's eight interactions are held out");
}

#[test]
fn show_models_and_describe_model_give_the_bytes_on_disk() {
    let db = splittable();
    one(&db, "TRAIN pop AS small");
    one(&db, "TRAIN ease AS big WITH (lambda = 10)");
    let models = one(&db, "SHOW MODELS");
    let bytes: Vec<i64> = models.column("bytes").expect("a bytes column");
    let names: Vec<String> = models.column("name").expect("names");
    let of = |name: &str| bytes[names.iter().position(|n| n == name).expect("listed")];
    let items = db.stats().expect("stats").items as i64;
    assert!(of("big") >= items * items * 4, "ease keeps a dense item-item matrix: {} bytes", of("big"));
    assert!(of("small") < of("big") / 10, "pop keeps a score per item: {} bytes", of("small"));
    let described = one(&db, "DESCRIBE MODEL big");
    let row = described.rows().find(|r| r.get::<String>("property").expect("p") == "bytes_on_disk");
    assert_eq!(row.map(|r| r.get::<String>("value").expect("v")), Some(of("big").to_string()));
    assert_eq!(one(&db, "SHOW MODELS LIMIT 1 OFFSET 1").column::<String>("name").expect("names").len(), 1);
}

/// The `(name, memory)` of every model SHOW MODELS lists.
fn memory_of_models(db: &Database) -> Vec<(String, Option<i64>)> {
    let models = one(db, "SHOW MODELS");
    let names: Vec<String> = models.column("name").expect("names");
    names.into_iter().zip(models.column::<Option<i64>>("memory").expect("a memory column")).collect()
}

/// DESCRIBE MODEL's row `property`, as an integer.
fn described(db: &Database, model: &str, property: &str) -> i64 {
    let set = one(db, &format!("DESCRIBE MODEL {model}"));
    let row = set.rows().find(|r| r.get::<String>("property").expect("p") == property);
    row.unwrap_or_else(|| panic!("a {property} row")).get::<String>("value").expect("v").parse().expect("n")
}

#[test]
fn show_models_and_describe_model_give_the_bytes_in_memory_of_loaded_models() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let db = Database::open(&path).expect("open");
        for u in 0..12u64 {
            for j in 0..8u64 {
                db.insert_interaction(u, (u * 3 + j) % 20, None, None).expect("insert");
            }
        }
        one(&db, "TRAIN pop AS small");
        one(&db, "TRAIN ease AS big WITH (lambda = 10)");
        let trained = memory_of_models(&db);
        assert!(
            trained.iter().all(|(_, m)| m.is_some_and(|m| m > 0)),
            "a trained model is loaded: {trained:?}"
        );
    }
    let db = Database::open(&path).expect("reopen");
    assert_eq!(
        memory_of_models(&db),
        [("big".to_string(), None), ("small".to_string(), None)],
        "SHOW MODELS loads no model"
    );
    let items = db.stats().expect("stats").items as i64;
    let in_memory = described(&db, "big", "bytes_in_memory");
    let on_disk = described(&db, "big", "bytes_on_disk");
    assert!(in_memory >= items * items * 4, "ease holds a dense item-item matrix: {in_memory} bytes");
    assert!(in_memory <= on_disk * 2 && on_disk <= in_memory * 2, "{in_memory} in memory, {on_disk} on disk");
    assert_eq!(memory_of_models(&db), [("big".to_string(), Some(in_memory)), ("small".to_string(), None)]);
    one(&db, "RECOMMEND USER 0 TOP 3 USING small");
    let small = memory_of_models(&db)[1].1.expect("pop was loaded by RECOMMEND");
    assert_eq!(small, described(&db, "small", "bytes_in_memory"));
    assert!(small > 0 && small <= items * 8, "pop holds a count and a rank per item: {small} bytes");
    assert!(small < in_memory / 5, "{small} for pop, {in_memory} for ease (20 items)");
}

#[test]
fn labels_show_beside_keys_once_any_entity_has_one() {
    let db = splittable();
    one(&db, "TRAIN pop AS m");
    let bare = one(&db, "RECOMMEND user 0 TOP 2 USING m");
    assert_eq!(bare.columns().iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["rank", "item", "score"]);
    assert_eq!(int(&one(&db, "ADD ITEM 10 LABEL 'Heat (1995)'"), "added"), 0, "labels an existing item");
    db.set_label(Side::Item, 13u64, "Casino (1995)").expect("label through the API");
    let shown = one(&db, "RECOMMEND user 0 TOP 3 USING m");
    assert_eq!(
        shown.columns().iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["rank", "item", "label", "score"]
    );
    let rows: Vec<(Key, Option<String>)> = shown
        .rows()
        .map(|r| (r.get::<Key>("item").expect("key"), r.get::<Option<String>>("label").expect("label")))
        .collect();
    assert_eq!(
        rows,
        [
            (Key::Int(10), Some("Heat (1995)".into())),
            (Key::Int(13), Some("Casino (1995)".into())),
            (Key::Int(8), None)
        ],
        "items 10 and 13 are among the most popular unseen; an item without a label shows null"
    );
    let items = one(&db, "SHOW ITEMS LIMIT 1 ");
    assert_eq!(items.columns()[1].name, "label");
    let describe = one(&db, "DESCRIBE ITEM 10");
    let label_row = describe.rows().find(|r| r.get::<String>("property").expect("p") == "label");
    assert_eq!(label_row.map(|r| r.get::<String>("value").expect("v")), Some("Heat (1995)".to_string()));
    let users = one(&db, "SHOW USERS LIMIT 1");
    assert_eq!(users.columns()[1].name, "interactions", "users have no labels, so no label column");
}

#[test]
fn with_tags_shows_the_chosen_tags_beside_each_row_of_recommend_and_similar() {
    let db = splittable();
    one(&db, "TRAIN ease AS m WITH (lambda = 10)");
    for item in 0..20u64 {
        let tags = format!("('genre:g{}', 'year:{}', 'lang:en')", item % 3, 1990 + item % 2);
        one(&db, &format!("ADD ITEM {item} TAGS {tags}"));
    }
    let tags_of = |set: &recodb::ResultSet| -> Vec<(Key, Vec<String>)> {
        set.rows()
            .map(|r| (r.get::<Key>("item").expect("key"), r.get::<Vec<String>>("tags").expect("tags")))
            .collect()
    };
    let expected = |item: u64, all: bool| {
        let mut tags = vec![format!("genre:g{}", item % 3), format!("year:{}", 1990 + item % 2)];
        if all {
            tags.insert(1, "lang:en".into());
        }
        (Key::Int(item), tags)
    };
    let set = one(&db, "RECOMMEND user 0 TOP 3 USING m WHERE TAG = 'genre:g1' WITH (tags = 'genre:, year:')");
    assert_eq!(
        set.columns().iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["rank", "item", "score", "tags"]
    );
    let rows = tags_of(&set);
    assert_eq!(rows.len(), 3);
    for (key, tags) in &rows {
        let Key::Int(item) = key else { panic!("integer keys: {key:?}") };
        assert_eq!(
            (key.clone(), tags.clone()),
            expected(*item, false),
            "only the chosen prefixes, in name order"
        );
    }
    let similar = one(&db, "SIMILAR ITEM 4 TOP 2 USING m WITH (tags = '*')");
    for (key, tags) in tags_of(&similar) {
        let Key::Int(item) = key else { panic!("integer keys") };
        assert_eq!((key, tags), expected(item, true), "'*' shows every tag");
    }
    let err =
        db.query("RECOMMEND user 0 TOP 3 USING m WITH (tag = 'genre:')", &[]).expect_err("misspelt option");
    assert_eq!(err.message(), "unknown RECOMMEND option 'tag'; did you mean 'tags'? (options: tags)");
    assert_eq!(err.span().map(|s| s.start.column), Some(38), "at the option's name");
    let err = db.query("SIMILAR ITEM 4 TOP 2 USING m WITH (tags = 3)", &[]).expect_err("not a string");
    assert!(err.message().starts_with("tags must be tag prefixes"), "{}", err.message());
}

#[test]
fn evaluate_puts_several_models_side_by_side() {
    let db = splittable();
    one(&db, "SPLIT HOLDOUT 0.25 SEED 3");
    one(&db, "TRAIN pop AS a");
    one(&db, "TRAIN ease AS b WITH (lambda = 10)");
    let both = one(&db, "EVALUATE a, b AT 5");
    assert_eq!(both.columns().iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["metric", "k", "a", "b"]);
    for (name, column) in [("a", "a"), ("b", "b")] {
        let alone = one(&db, &format!("EVALUATE {name} AT 5"));
        for (row, single) in both.rows().zip(alone.rows()) {
            let metric = single.get::<String>("metric").expect("metric");
            assert_eq!(row.get::<String>("metric").expect("metric"), metric);
            if metric != "seconds" {
                assert_eq!(
                    row.get::<f64>(column).expect("value"),
                    single.get::<f64>("value").expect("value")
                );
            }
        }
    }
    let twice = failure(&db, "EVALUATE a, b, a AT 5", "invalid_argument", "a");
    assert_eq!(twice.message(), "the models of EVALUATE must be each named once, got 'a' twice");
    let unknown = failure(&db, "EVALUATE a, c", "not_found", "c");
    assert!(unknown.message().starts_with("no model named 'c'"), "{}", unknown.message());
}

#[test]
fn an_import_says_which_columns_it_left_out_and_how_to_keep_them() {
    let db = Database::open_temporary().expect("open");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("ratings.tsv");
    std::fs::write(&file, "1\t10\t5\t978300760\n2\t10\t3\t978300761\n").expect("write");
    let path = Value::from(file.to_str().expect("path"));
    let bare = db.query("IMPORT INTERACTIONS FROM ?", std::slice::from_ref(&path)).expect("import");
    assert_eq!(
        bare.notices(),
        ["columns 2 ('5'), 3 ('978300760') were not read; to keep them: WITH (weight = 2, time = 3)"]
    );
    let kept =
        db.query("IMPORT INTERACTIONS FROM ? WITH (weight = 2, time = 3)", &[path]).expect("import again");
    assert!(kept.notices().is_empty(), "{:?}", kept.notices());
    assert_eq!(db.interactions_of(&Key::Int(1)).expect("read").expect("user")[0].time, Some(978_300_760));
}

#[test]
fn twotower_trains_on_tags_and_serves_a_tags_only_item() {
    let db = Database::open_temporary().expect("open");
    let mut script = String::new();
    for u in 0..12 {
        let genre = if u < 6 { "a" } else { "b" };
        script.push_str(&format!("ADD USER {u} TAGS ('likes:{genre}');\n"));
        for k in 0..4 {
            let item = if u < 6 { (u + k) % 6 } else { 6 + (u + k) % 6 };
            script
                .push_str(&format!("ADD ITEM {item} TAGS ('genre:{}');\n", if item < 6 { "a" } else { "b" }));
            script.push_str(&format!("INSERT INTERACTION user {u} item {item};\n"));
        }
    }
    script.push_str("ADD ITEM 'new' TAGS ('genre:a');\nADD USER 'profile' TAGS ('likes:b');\n");
    db.execute(&script).expect("data");
    db.execute("TRAIN twotower AS tt WITH (dim = 8, hidden = 16, epochs = 3, batch = 8);").expect("train");
    let described = one(&db, "DESCRIBE MODEL tt");
    let property = |name: &str| {
        described
            .rows()
            .find(|r| r.get::<String>("property").ok().as_deref() == Some(name))
            .and_then(|r| r.get::<String>("value").ok())
    };
    assert_eq!(property("algorithm").as_deref(), Some("twotower"));
    assert_eq!(property("cold_items_from_tags").as_deref(), Some("1"));
    assert_eq!(property("cold_users_from_tags").as_deref(), Some("1"));
    let top = one(&db, "RECOMMEND user 0 TOP 20 USING tt");
    assert_eq!(top.len(), 9, "13 items less the 4 the user has");
    let items = one(&db, "RECOMMEND user 0 TOP 20 USING tt WHERE TAG = 'genre:a'");
    assert_eq!(items.len(), 3, "2 unseen genre-a items and 'new'");
    assert_eq!(one(&db, "SIMILAR ITEM 'new' TOP 3 USING tt").len(), 3);
    let users = one(&db, "SIMILAR USER 'profile' TOP 20 USING tt");
    assert_eq!(users.len(), 12, "every other user");
    let first = users.row(0).expect("row").get::<f64>("score").expect("score");
    assert!((-4.0..=0.0).contains(&first), "a negative squared distance of unit points: {first}");
    let err = db.execute("TRAIN twotower WITH (sampler = 'hardest')").expect_err("bad sampler");
    assert!(err.message().contains("sampler must be one of 'hardest_of_n', 'uniform'"), "{}", err.message());
}
