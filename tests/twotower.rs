//! `twotower` end to end on a database: users and items added after training are served from their
//! tags (and a new user's few interactions) without retraining, on planted synthetic data where each
//! user and item carries its taste cluster as a tag.

mod common;

use common::{failure, figure, items, run};
use recodb::synth::{generate, SynthConfig, SynthData};
use recodb::{Database, ResultSet, Value};

/// 300 users in 4 clusters over 120 items, every user tagged `taste:K` and every item `cluster:K`
/// (their planted clusters), and a twotower model `tt` trained on them with item-id dropout (after a
/// holdout of a fifth of each user's interactions when `holdout`).
fn trained(holdout: bool) -> (Database, SynthData, tempfile::TempDir) {
    let (db, data, dir) = tagged(holdout);
    run(&db, &format!("TRAIN twotower AS tt WITH ({SMALL})"));
    (db, data, dir)
}

/// The parameters of a small twotower model that trains in a moment on [`tagged`]'s data.
const SMALL: &str = "dim = 16, hidden = 32, epochs = 15, batch = 128, learning_rate = 0.01, \
                     sampler = 'uniform', item_dropout = 0.5, user_dropout = 0.5, seed = 7";

/// [`trained`]'s database before training.
fn tagged(holdout: bool) -> (Database, SynthData, tempfile::TempDir) {
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
    if holdout {
        run(&db, "SPLIT HOLDOUT 0.2 SEED 5");
    }
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
    let (db, data, dir) = trained(false);
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

/// The `tag` column of a result set.
fn tags(set: &ResultSet) -> Vec<String> {
    set.column::<String>("tag").expect("tag column")
}

#[test]
fn the_tags_nearest_a_user_are_its_clusters_and_an_item_gets_those_it_lacks() {
    let (db, data, _dir) = trained(false);
    // Planted: the cluster tag nearest each user's point is its own cluster's.
    let own = data
        .user_cluster
        .iter()
        .enumerate()
        .filter(|&(u, &c)| {
            tags(&run(&db, &format!("RECOMMEND TAGS FOR USER {u} TOP 1 USING tt")))
                == [format!("cluster:{c}")]
        })
        .count();
    assert!(own * 10 >= data.user_cluster.len() * 9, "{own} of {} users", data.user_cluster.len());
    // All four item tags, nearest first, scores (−squared distance) descending; user tags are not
    // candidates.
    let all = run(&db, "RECOMMEND TAGS FOR USER 0 TOP 10 USING tt");
    assert_eq!(tags(&all).len(), 4, "{:?}", tags(&all));
    assert!(tags(&all).iter().all(|t| t.starts_with("cluster:")));
    let scores = all.column::<f64>("score").expect("scores");
    assert!(scores.windows(2).all(|w| w[0] >= w[1]) && scores.iter().all(|&s| s <= 0.0), "{scores:?}");
    // `match` keeps the tags whose names start with it.
    let c = data.user_cluster[0];
    let only = run(&db, &format!("RECOMMEND TAGS FOR USER 0 TOP 10 USING tt WITH (match = 'cluster:{c}')"));
    assert_eq!(tags(&only), [format!("cluster:{c}")]);

    // An item: the tags it lacks, its own left out.
    let item_cluster = data.item_cluster[0];
    let lacks = tags(&run(&db, "RECOMMEND TAGS FOR ITEM 0 TOP 10 USING tt"));
    assert_eq!(lacks.len(), 3, "{lacks:?}");
    assert!(!lacks.contains(&format!("cluster:{item_cluster}")), "{lacks:?}");
    // A user added after training with a profile is placed from it; one with nothing to place it gets
    // the tags carried by the most items, with a notice; without USING, a notice names the model.
    run(&db, "ADD USER 'newcomer' TAGS ('taste:2')");
    assert_eq!(tags(&run(&db, "RECOMMEND TAGS FOR USER 'newcomer' TOP 1 USING tt")), ["cluster:2"]);
    run(&db, "ADD USER 'nobody'");
    let fallback = run(&db, "RECOMMEND TAGS FOR USER 'nobody' TOP 4 USING tt");
    assert_eq!(fallback.notices().len(), 1, "{:?}", fallback.notices());
    let counts = fallback.column::<f64>("score").expect("scores");
    assert_eq!(counts.iter().sum::<f64>(), data.item_cluster.len() as f64);
    assert_eq!(run(&db, "RECOMMEND TAGS FOR USER 0 TOP 1").notices().len(), 1);
    let bound = db.query("RECOMMEND TAGS FOR USER ? TOP ? USING tt", &[Value::from(0i64), Value::from(2i64)]);
    assert_eq!(bound.expect("bound parameters").len(), 2);

    // Errors: unknown keys, a model without tag points, an unknown option.
    failure(&db, "RECOMMEND TAGS FOR USER 'ghost' TOP 3 USING tt", "not_found", "'ghost'");
    failure(&db, "RECOMMEND TAGS FOR ITEM 'ghost' TOP 3 USING tt", "not_found", "'ghost'");
    run(&db, "TRAIN pop AS p");
    let error = failure(&db, "RECOMMEND TAGS FOR USER 0 TOP 3 USING p", "unsupported", "p");
    assert!(error.to_string().contains("'p' (pop) has no tag points"), "{error}");
    failure(&db, "RECOMMEND TAGS FOR USER 0 TOP 3 USING tt WITH (prefix = 'x')", "not_found", "prefix");
}

#[test]
fn evaluate_tags_reports_the_model_beside_the_frequent_tags_baseline() {
    let (db, _data, _dir) = trained(true);
    let result = run(&db, "EVALUATE tt TAGS AT 1, 4 WITH (seed = 3)");
    let value = |column: &str, name: &str, k: Option<i64>| figure(&result, column, name, k);
    // Every test user's held-out items carry some cluster tag; there are four tags to rank, so at 4
    // every tag is listed and recall is 1.
    assert_eq!(value("tt", "users", None), value("frequent_tags", "users", None));
    assert!(value("tt", "users", None) >= 290.0);
    assert_eq!(value("tt", "tags", None), 4.0);
    assert_eq!(value("tt", "users_without_test_tags", None), 0.0);
    for column in ["tt", "frequent_tags"] {
        assert!((value(column, "recall", Some(4)) - 1.0).abs() < 1e-9);
        // A user's test items are mostly of its cluster: the first tag is usually one of theirs.
        assert!(
            value(column, "precision", Some(1)) >= 0.8,
            "{column}: {}",
            value(column, "precision", Some(1))
        );
    }
    failure(&db, "EVALUATE tt, p TAGS", "not_found", "p");
    run(&db, "TRAIN pop AS p");
    failure(&db, "EVALUATE tt, p TAGS", "unsupported", "p");
    failure(&db, "EVALUATE tt RERANK 10 USING p TAGS", "unsupported", "10");
    failure(&db, "EVALUATE tt TAGS WITH (negatives = 5)", "not_found", "negatives");
    let one = run(&db, "EVALUATE tt TAGS AT 2 WITH (match = 'cluster:1')");
    assert_eq!(figure(&one, "tt", "tags", None), 1.0);
}

#[test]
fn a_profile_only_user_gets_the_items_of_its_taste_ahead_of_popularity() {
    let (db, data, dir) = tagged(false);
    // Every tenth user is hidden from training: only its `taste:K` tag is left to place it.
    let listed: String = (0..data.user_cluster.len()).step_by(10).map(|u| format!("{u}\n")).collect();
    let cold = common::write_file(&dir, "cold_users.txt", &listed).display().to_string();
    let trained = run(&db, &format!("TRAIN twotower AS tt WITH (hold_out_users = '{cold}', {SMALL})"));
    let hidden = data.interactions.iter().filter(|(u, _)| u % 10 == 0).count();
    assert_eq!(
        trained.column::<i64>("interactions").expect("interactions"),
        [(data.interactions.len() - hidden) as i64]
    );
    let result = run(&db, &format!("EVALUATE tt COLD USERS FROM '{cold}' AT 10 WITH (seed = 1)"));
    let columns: Vec<&str> = result.columns().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(columns, ["metric", "k", "tt", "popularity", "random"]);
    let value = |column: &str, name: &str, k: Option<i64>| figure(&result, column, name, k);
    assert_eq!(value("tt", "users", None), 30.0);
    assert_eq!(value("tt", "cold_users", None), 30.0);
    // The planted taste makes most of a user's items its cluster's (a quarter of the catalogue):
    // the profile alone finds them, popularity, blind to it, does not.
    let (tt, popularity) = (value("tt", "ndcg", Some(10)), value("popularity", "ndcg", Some(10)));
    assert!(tt >= 0.3 && tt >= 2.0 * popularity, "tt {tt:.3}, popularity {popularity:.3}");
    assert!(popularity > value("random", "ndcg", Some(10)), "zipf popularity beats random");
    // A model trained without the users held out may have seen them.
    run(&db, "TRAIN pop AS p");
    let err = failure(&db, &format!("EVALUATE tt, p COLD USERS FROM '{cold}'"), "conflict", "p");
    assert!(err.message().contains("hold_out_users"), "{err}");
}
