//! `twotower` end to end on a database: users and items added after training are served from their
//! tags (and a new user's few interactions) without retraining, on planted synthetic data where each
//! user and item carries its taste cluster as a tag.

mod common;

use common::{items, run};
use recodb::synth::{generate, SynthConfig, SynthData};
use recodb::{Database, Value};

/// 300 users in 4 clusters over 120 items, every user tagged `taste:K` and every item `cluster:K`
/// (their planted clusters), and a twotower model `tt` trained on them with item-id dropout.
fn trained() -> (Database, SynthData, tempfile::TempDir) {
    let config = SynthConfig {
        users: 300,
        items: 120,
        interactions_per_user: 15,
        clusters: 4,
        taste_strength: 0.95,
        zipf_exponent: 0.5,
        seed: 3,
    };
    let data = generate(&config);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path().join("db")).expect("open");
    let pairs = dir.path().join("pairs.tsv");
    data.write_tsv(&pairs).expect("write");
    run(&db, &format!("IMPORT INTERACTIONS FROM '{}'", pairs.display()));
    let item_tags = dir.path().join("item_tags.tsv");
    data.write_item_tags_tsv(&item_tags).expect("write");
    run(&db, &format!("IMPORT ITEMS FROM '{}' WITH (header = true)", item_tags.display()));
    let user_tags: String = std::iter::once("user\ttaste\n".to_string())
        .chain(data.user_cluster.iter().enumerate().map(|(u, c)| format!("{u}\t{c}\n")))
        .collect();
    let user_tags = common::write_file(&dir, "user_tags.tsv", &user_tags);
    run(&db, &format!("IMPORT USERS FROM '{}' WITH (header = true)", user_tags.display()));
    run(
        &db,
        "TRAIN twotower AS tt WITH (dim = 16, hidden = 32, epochs = 15, batch = 128, learning_rate = 0.01, \
         sampler = 'uniform', item_dropout = 0.5, user_dropout = 0.5, seed = 7)",
    );
    (db, data, dir)
}

/// The share of each cluster's users whose top 10 holds `item`: (users of `cluster`, the others).
fn reach(db: &Database, data: &SynthData, item: &str, cluster: u32) -> (f64, f64) {
    let (mut hit, mut total) = ([0usize; 2], [0usize; 2]);
    for (u, &c) in data.user_cluster.iter().enumerate() {
        let side = usize::from(c != cluster);
        total[side] += 1;
        let top = items(&run(db, &format!("RECOMMEND user {u} TOP 10 USING tt")));
        hit[side] += usize::from(top.iter().any(|i| i == item));
    }
    (hit[0] as f64 / total[0] as f64, hit[1] as f64 / total[1] as f64)
}

/// The number of `keys` (item keys of the synthetic data) whose planted cluster is `cluster`.
fn of_cluster(data: &SynthData, keys: &[String], cluster: u32) -> usize {
    keys.iter()
        .filter(|k| k.parse::<usize>().ok().and_then(|i| data.item_cluster.get(i)) == Some(&cluster))
        .count()
}

fn property(db: &Database, name: &str) -> String {
    let described = run(db, "DESCRIBE MODEL tt");
    let value = described
        .rows()
        .find(|r| r.get::<String>("property").ok().as_deref() == Some(name))
        .and_then(|r| r.get::<String>("value").ok());
    value.unwrap_or_else(|| panic!("no {name} in DESCRIBE MODEL"))
}

#[test]
fn entities_added_after_training_are_served_from_their_tags() {
    let (db, data, dir) = trained();
    assert_eq!(property(&db, "items_after_training_from_tags"), "0");

    // A tags-only item of cluster 2, added after training: recommended to that cluster's users far more
    // often than to the others.
    run(&db, "ADD ITEM 'fresh' TAGS ('cluster:2')");
    let (own, others) = reach(&db, &data, "fresh", 2);
    assert!(
        own >= 0.5 && own >= 4.0 * others,
        "in the top 10 of {own:.2} of its cluster, {others:.2} of others"
    );
    let similar = items(&run(&db, "SIMILAR ITEM 'fresh' TOP 10 USING tt"));
    assert!(of_cluster(&data, &similar, 2) >= 8, "similar to 'fresh': {similar:?}");
    // An item added without a tag the model knows carries nothing: it scores at the floor.
    run(&db, "ADD ITEM 'blank' TAGS ('colour:red')");
    let all = run(&db, "RECOMMEND user 0 TOP 1000 USING tt");
    assert_eq!(items(&all).last().map(String::as_str), Some("blank"));
    assert_eq!(all.column::<f64>("score").expect("scores").last(), Some(&f64::NEG_INFINITY));

    // A user with a profile and no interactions is scored by the model (no popularity notice).
    run(&db, "ADD USER 'newcomer' TAGS ('taste:1')");
    let result = run(&db, "RECOMMEND user 'newcomer' TOP 10 USING tt");
    assert!(result.notices().is_empty(), "{:?}", result.notices());
    assert!(of_cluster(&data, &items(&result), 1) >= 8, "a taste:1 profile: {:?}", items(&result));
    // A user without tags and a few interactions is placed by them.
    let history: Vec<usize> =
        (0..data.item_cluster.len()).filter(|&i| data.item_cluster[i] == 3).take(4).collect();
    for i in &history {
        run(&db, &format!("INSERT INTERACTION USER 'browser' ITEM {i}"));
    }
    let top = items(&run(&db, "RECOMMEND user 'browser' TOP 10 USING tt"));
    assert!(of_cluster(&data, &top, 3) >= 8, "four cluster-3 items: {top:?}");
    // A user with neither still gets the most popular items.
    run(&db, "ADD USER 'nobody'");
    assert_eq!(run(&db, "RECOMMEND user 'nobody' TOP 3 USING tt").notices().len(), 1);

    assert_eq!(property(&db, "items_after_training_from_tags"), "1");
    assert_eq!(property(&db, "users_after_training_from_tags"), "1");
    // The same answers after reopening the database.
    let before = run(&db, "RECOMMEND user 'newcomer' TOP 10 USING tt");
    drop(db);
    let db = Database::open(dir.path().join("db")).expect("reopen");
    let after = db.query("RECOMMEND user ? TOP 10 USING tt", &[Value::from("newcomer")]).expect("recommend");
    assert_eq!(items(&after), items(&before));
    // The trained model's bound still tells the items that arrived after training apart.
    run(&db, "INSERT INTERACTION USER 'nobody' ITEM 'fresh'");
    assert_eq!(property(&db, "items_after_training"), "1");
}
