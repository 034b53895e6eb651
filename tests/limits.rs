//! Each documented limit (`recodb::limits`, README "Limits") holds at the limit and fails one past it
//! with an error that names the limit and points at the literal (or the file and line of an import),
//! leaving the database as it was. The parser's own limits (statement size, lists, filter depth) are
//! tested in the query crate, the import line length beside the line reader.

mod common;

use common::failure;
use recodb::limits::{
    MAX_CUTOFF, MAX_KEY_BYTES, MAX_LABEL_BYTES, MAX_TAGS_PER_ENTITY, MAX_TAG_BYTES, MAX_TOP,
};
use recodb::{Database, ErrorKind, Side, Value};

/// Text of `n` bytes of UTF-8, with two-byte characters so that bytes, not characters, are counted.
fn text_of(n: usize) -> String {
    "é".repeat(n / 2) + &"k".repeat(n % 2)
}

fn run(db: &Database, statement: &str, params: &[Value]) -> recodb::Result<recodb::ResultSet> {
    db.query(statement, params)
}

#[test]
fn keys_are_at_most_the_limit_in_statements_and_the_api() {
    let db = Database::open_temporary().expect("open");
    let longest = text_of(MAX_KEY_BYTES);
    run(&db, "ADD USER ?", &[Value::from(longest.as_str())]).expect("a key at the limit");
    run(
        &db,
        "INSERT INTERACTION USER ? ITEM ?",
        &[Value::from(longest.as_str()), Value::from(longest.as_str())],
    )
    .expect("keys at the limit");
    let past = text_of(MAX_KEY_BYTES + 1);
    let statement = format!("ADD ITEM '{past}'");
    let err = failure(&db, &statement, "invalid_argument", &format!("'{past}'"));
    assert_eq!(err.message(), "a key must be at most 256 bytes, got 257 bytes");
    let statement = format!("INSERT INTERACTION USER 1 ITEM '{past}'");
    failure(&db, &statement, "invalid_argument", &format!("'{past}'"));
    let err = db.add_user(past.as_str(), &[]).expect_err("the API meets the same limit");
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument { .. }), "{err:?}");
    let stats = db.stats().expect("stats");
    assert_eq!((stats.users, stats.items, stats.interactions), (1, 1, 1), "nothing of the refused writes");
    assert!(db.add_user(u64::MAX, &[]).expect("an integer key has no byte limit"));
}

#[test]
fn tags_labels_and_tags_per_entity_are_bounded() {
    let db = Database::open_temporary().expect("open");
    let tag = text_of(MAX_TAG_BYTES);
    run(&db, "ADD ITEM 1 TAGS (?)", &[Value::from(tag.as_str())]).expect("a tag at the limit");
    let past = text_of(MAX_TAG_BYTES + 1);
    failure(&db, &format!("ADD ITEM 1 TAGS ('ok', '{past}')"), "invalid_argument", &format!("'{past}'"));
    let label = text_of(MAX_LABEL_BYTES);
    run(&db, "ADD ITEM 1 LABEL ?", &[Value::from(label.as_str())]).expect("a label at the limit");
    let past = text_of(MAX_LABEL_BYTES + 1);
    failure(&db, &format!("ADD ITEM 2 LABEL '{past}'"), "invalid_argument", &format!("'{past}'"));
    assert!(db.set_label(Side::Item, 1u64, &past).is_err(), "the API meets the same limit");

    let many: Vec<String> = (1..MAX_TAGS_PER_ENTITY).map(|t| format!("t{t}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    db.add_item(1u64, &many).expect("the longest list of tags: the first one and these");
    let err = db.add_item(1u64, &["one more"]).expect_err("one tag past the limit");
    assert_eq!(err.message(), "the tag list of a user or item must be at most 1024 tags, got 1025 tags");
    let listed = (0..=MAX_TAGS_PER_ENTITY).map(|t| format!("'x{t}'")).collect::<Vec<_>>().join(", ");
    let statement = format!("ADD ITEM 3 TAGS ({listed})");
    failure(&db, &statement, "invalid_argument", &format!("'x{MAX_TAGS_PER_ENTITY}'"));
    let item = db.describe(Side::Item, &recodb::Key::Int(1)).expect("describe").expect("item 1");
    assert_eq!((item.tags.len(), item.label.map(|l| l.len())), (MAX_TAGS_PER_ENTITY, Some(MAX_LABEL_BYTES)));
    assert!(db.describe(Side::Item, &recodb::Key::Int(3)).expect("describe").is_none(), "item 3 not added");
}

#[test]
fn an_import_names_the_line_of_a_key_or_tag_past_its_limit_and_imports_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path().join("db")).expect("open");
    let interactions = dir.path().join("ratings.tsv");
    let longest = "k".repeat(MAX_KEY_BYTES);
    std::fs::write(&interactions, format!("1\t{longest}\n2\t{longest}k\n")).expect("write");
    let err = db
        .query("IMPORT INTERACTIONS FROM ? FORMAT tsv", &[Value::from(interactions.to_str().expect("utf-8"))])
        .expect_err("a key one byte past the limit");
    assert!(err.message().contains("ratings.tsv") && err.message().contains("line 2"), "{err}");
    assert!(err.message().contains("longer than the limit of 256 bytes"), "{err}");
    assert_eq!(db.stats().expect("stats").interactions, 0, "the import is all or nothing");
    let items = dir.path().join("items.csv");
    std::fs::write(&items, format!("id,genre\n1,{}\n2,{}\n", "g".repeat(250), "g".repeat(251)))
        .expect("write");
    let err = db
        .query(
            "IMPORT ITEMS FROM ? FORMAT csv WITH (header = true)",
            &[Value::from(items.to_str().expect("utf-8"))],
        )
        .expect_err("'genre:' and 251 bytes: a tag past the limit");
    assert!(err.message().contains("items.csv") && err.message().contains("line 3"), "{err}");
    assert_eq!(db.stats().expect("stats").items, 0);
}

#[test]
fn top_rerank_and_cutoffs_are_bounded() {
    let db = Database::open_temporary().expect("open");
    for u in 0..6u64 {
        for i in 0..6u64 {
            db.insert_interaction(u, (u + i) % 9, None, None).expect("insert");
        }
    }
    run(&db, "TRAIN pop AS p", &[]).expect("train");
    let at = format!("RECOMMEND USER 0 TOP {MAX_TOP} USING p RERANK {MAX_TOP} USING p");
    assert_eq!(run(&db, &at, &[]).expect("TOP and RERANK at the limit").len(), 3, "three unseen items");
    let past = MAX_TOP + 1;
    failure(&db, &format!("RECOMMEND USER 0 TOP {past} USING p"), "invalid_argument", &past.to_string());
    failure(
        &db,
        &format!("RECOMMEND USER 0 TOP 5 USING p RERANK {past} USING p"),
        "invalid_argument",
        &past.to_string(),
    );
    run(&db, "SPLIT HOLDOUT 0.2 SEED 1", &[]).expect("split");
    run(&db, &format!("EVALUATE p AT {MAX_CUTOFF}"), &[]).expect("a cut-off at the limit");
    let past = MAX_CUTOFF + 1;
    failure(&db, &format!("EVALUATE p AT 10, {past}"), "invalid_argument", &past.to_string());
}
