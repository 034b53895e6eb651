//! The `cml` model through the query language: TRAIN with parameters and their errors, RECOMMEND and
//! SIMILAR served exactly and through projection codes (which agree exactly when the candidates cover
//! the catalogue), EXPLAIN of the two stages, RERANK, EVALUATE, fold-in of users who arrived after
//! training, and the model read back from disk.

mod common;

use common::{clustered, failure, items, metric, run, standard_split};
use recodb::synth::{generate, SynthConfig};
use recodb::{Database, ResultSet};

const EXACT: &str = "TRAIN cml AS exact WITH (dims = 16, epochs = 30, learning_rate = 0.02)";
const CODES: &str =
    "TRAIN cml AS coded WITH (dims = 16, epochs = 30, learning_rate = 0.02, serve = 'codes', \
                     code_bits = 64, candidates = 40)";

fn scores(set: &ResultSet) -> Vec<f64> {
    set.column::<f64>("score").expect("score column")
}

/// The value of `name` in a `property`, `value` result set.
fn property(set: &ResultSet, name: &str) -> String {
    set.rows()
        .find(|r| r.get::<String>("property").expect("property") == name)
        .map(|r| r.get::<String>("value").expect("value"))
        .unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn both_serving_paths_find_the_planted_clusters_and_beat_popularity() {
    let (db, data, _dir) = clustered(true);
    run(&db, "TRAIN pop");
    let pop = metric(&run(&db, "EVALUATE pop AT 10"), "ndcg", Some(10));
    run(&db, EXACT);
    run(&db, CODES);
    for name in ["exact", "coded"] {
        let ndcg = metric(&run(&db, &format!("EVALUATE {name} AT 10")), "ndcg", Some(10));
        eprintln!("{name}: NDCG@10 {ndcg:.4} (pop {pop:.4})");
        assert!(ndcg > 1.5 * pop, "{name}: NDCG@10 {ndcg} against pop {pop}");
        let mut from_own = 0;
        for user in [3u32, 100, 450] {
            let recs = run(&db, &format!("RECOMMEND user {user} TOP 10 USING {name}"));
            let cluster = data.user_cluster[user as usize];
            let own = items(&recs)
                .iter()
                .filter(|i| data.item_cluster[i.parse::<usize>().expect("item")] == cluster)
                .count();
            eprintln!("{name}, user {user}: {own} of 10 from its cluster");
            assert!(own >= 5, "{name}, user {user}: {own} of 10 from its cluster");
            from_own += own;
            let s = scores(&recs);
            assert!(s.windows(2).all(|w| w[0] >= w[1]), "ranked by score: {s:?}");
            assert!(
                s.iter().all(|&d| (-4.0..=0.0).contains(&d)),
                "minus squared distances in the ball: {s:?}"
            );
        }
        // Hogwild SGD on several threads varies from run to run: 23 of 30 was seen once under load.
        assert!(from_own >= 21, "{name}: {from_own} of 30 recommendations from the users' own clusters");
        let similar = run(&db, &format!("SIMILAR item 5 TOP 10 USING {name}"));
        assert!(!items(&similar).contains(&"5".to_string()), "never the item itself");
        let same = items(&similar)
            .iter()
            .filter(|i| data.item_cluster[i.parse::<usize>().expect("item")] == data.item_cluster[5])
            .count();
        assert!(same >= 7, "{name}: {same} of 10 similar items share item 5's cluster");
    }
    // Codes re-rank by exact distance: their scores are the exact model's kind, not `bits − 2·H`.
    let codes = scores(&run(&db, "RECOMMEND user 3 TOP 5 USING coded"));
    assert!(codes.iter().any(|s| s.fract() != 0.0), "{codes:?}");
}

/// 150 users in 5 clusters over 100 items, 20 items each: 3,000 interactions, one block of the
/// parallel epoch, so training is the same on any number of threads; a fifth of each user's items held
/// out.
fn one_block() -> (Database, tempfile::TempDir) {
    let config = SynthConfig {
        users: 150,
        items: 100,
        interactions_per_user: 20,
        clusters: 5,
        taste_strength: 0.9,
        zipf_exponent: 0.8,
        seed: 4,
    };
    let data = generate(&config);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("synth.tsv");
    data.write_tsv(&path).expect("write");
    let db = Database::open(dir.path().join("db")).expect("open");
    run(&db, &format!("IMPORT INTERACTIONS FROM '{}'", path.display()));
    run(&db, "SPLIT HOLDOUT 0.2 SEED 5");
    (db, dir)
}

/// `(item, score)` rows of a RECOMMEND or SIMILAR item.
fn rows(db: &Database, statement: &str) -> Vec<(String, f64)> {
    let set = run(db, statement);
    items(&set).into_iter().zip(scores(&set)).collect()
}

#[test]
fn the_serving_paths_agree_exactly_when_the_candidates_cover_the_catalogue() {
    let (db, _dir) = one_block();
    let with = "dims = 8, epochs = 20, learning_rate = 0.02, seed = 9";
    run(&db, &format!("TRAIN cml AS exact WITH ({with})"));
    run(&db, &format!("TRAIN cml AS coded WITH ({with}, serve = 'codes', code_bits = 64, candidates = 100)"));
    run(&db, &format!("TRAIN cml AS few WITH ({with}, serve = 'codes', code_bits = 64, candidates = 30)"));
    for user in [0u32, 17, 149] {
        for tail in ["", " WHERE ITEM IN (1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21)", " INCLUDE SEEN"] {
            let exact = rows(&db, &format!("RECOMMEND user {user} TOP 10 USING exact{tail}"));
            let codes = rows(&db, &format!("RECOMMEND user {user} TOP 10 USING coded{tail}"));
            assert_eq!(exact, codes, "user {user}{tail}");
        }
        let exact = rows(&db, &format!("RECOMMEND user {user} TOP 10 USING exact"));
        let few = rows(&db, &format!("RECOMMEND user {user} TOP 10 USING few"));
        let overlap = few.iter().filter(|p| exact.contains(p)).count();
        eprintln!("user {user}: 30 candidates keep {overlap} of the exact top 10");
        assert!(overlap >= 6, "user {user}: 30 candidates keep {overlap} of the exact top 10");
    }
    for item in [0u32, 50, 99] {
        let exact = rows(&db, &format!("SIMILAR item {item} TOP 10 USING exact"));
        let codes = rows(&db, &format!("SIMILAR item {item} TOP 10 USING coded"));
        assert_eq!(exact, codes, "item {item}");
    }
    let ev = |name: &str| metric(&run(&db, &format!("EVALUATE {name} AT 10")), "ndcg", Some(10));
    assert_eq!(ev("exact"), ev("coded"));

    // SIMILAR USER needs the user codes: nearest trained users by exact distance.
    let similar = run(&db, "SIMILAR user 17 TOP 5 USING coded");
    let users = similar.column::<String>("user").expect("user column");
    assert_eq!(users.len(), 5);
    assert!(!users.contains(&"17".to_string()), "{users:?}");
    let s = scores(&similar);
    assert!(s.windows(2).all(|w| w[0] >= w[1]) && s.iter().all(|&d| d <= 0.0), "{s:?}");
    let err = failure(&db, "SIMILAR user 17 TOP 5 USING exact", "unsupported", "exact");
    assert!(err.message().contains("needs a model with user codes"), "{err}");

    // EXPLAIN shows both stages for codes; an exact model scores every item and has no plan.
    let explained = run(&db, "EXPLAIN RECOMMEND user 17 TOP 5 USING few");
    assert_eq!(property(&explained, "model"), "few (64 bits)");
    assert_eq!(property(&explained, "results"), "5");
    assert_eq!(
        property(&explained, "exact_rerank"),
        "the 30 nearest codes re-ranked by the model's exact scores"
    );
    let explained = run(&db, "EXPLAIN SIMILAR item 3 TOP 5 USING few");
    assert_eq!(
        property(&explained, "exact_rerank"),
        "the 30 nearest codes re-ranked by the model's exact scores"
    );
    let err = failure(&db, "EXPLAIN RECOMMEND user 17 TOP 5 USING exact", "unsupported", "exact");
    assert!(err.message().contains("has no binary codes"), "{err}");

    // A second stage: pop's top 30 ordered by cml's distances.
    run(&db, "TRAIN pop");
    let two = rows(&db, "RECOMMEND user 17 TOP 5 USING pop RERANK 30 USING exact");
    let popular = items(&run(&db, "RECOMMEND user 17 TOP 30 USING pop"));
    assert!(two.iter().all(|(i, _)| popular.contains(i)), "{two:?}");
    let all = rows(&db, "RECOMMEND user 17 TOP 100 USING exact");
    for (item, score) in &two {
        assert!(all.contains(&(item.clone(), *score)), "{item}: the exact model's own score");
    }

    // The models read back from disk serve the same.
    let before = rows(&db, "RECOMMEND user 17 TOP 10 USING few");
    let path = _dir.path().join("db");
    drop(db);
    let db = Database::open(path).expect("reopen");
    assert_eq!(rows(&db, "RECOMMEND user 17 TOP 10 USING few"), before);
}

#[test]
fn a_newcomer_is_folded_in_on_both_paths_and_bad_parameters_are_refused() {
    let (db, data, _dir) = clustered(false);
    run(&db, EXACT);
    run(&db, CODES);
    for item in data.interactions.iter().filter(|p| p.0 == 3).map(|p| p.1) {
        run(&db, &format!("INSERT INTERACTION user 'newcomer' item {item}"));
    }
    for name in ["exact", "coded"] {
        let theirs = items(&run(&db, &format!("RECOMMEND user 3 TOP 10 USING {name}")));
        let recs = items(&run(&db, &format!("RECOMMEND user 'newcomer' TOP 10 USING {name}")));
        let overlap = recs.iter().filter(|i| theirs.contains(i)).count();
        eprintln!("{name}: newcomer and user 3 share {overlap} of 10");
        assert!(overlap >= 6, "{name}: newcomer and user 3 share {overlap} of 10");
    }
    let described = run(&db, "DESCRIBE MODEL coded");
    assert_eq!(property(&described, "users_folded_in"), "1");
    let cases = [
        ("TRAIN cml WITH (dims = 0)", "0", "dims must be an integer from 1 to 1024, got 0 (for cml)"),
        ("TRAIN cml WITH (margin = 0)", "0", "margin must be a positive number, got 0 (for cml)"),
        (
            "TRAIN cml WITH (negatives = 1001)",
            "1001",
            "negatives must be an integer from 1 to 1000, got 1001 (for cml)",
        ),
        ("TRAIN cml WITH (epochs = 0)", "0", "epochs must be an integer from 1 to 10000, got 0 (for cml)"),
        (
            "TRAIN cml WITH (learning_rate = -1)",
            "-1",
            "learning_rate must be a positive number, got -1 (for cml)",
        ),
        (
            "TRAIN cml WITH (covariance = -1)",
            "-1",
            "covariance must be a number of zero or more, got -1 (for cml)",
        ),
        (
            "TRAIN cml WITH (serve = 'lsh')",
            "'lsh'",
            "serve must be one of 'exact', 'codes', got 'lsh' (for cml)",
        ),
        (
            "TRAIN cml WITH (code_bits = 100)",
            "100",
            "code_bits must be a multiple of 64 from 64 to 256, got 100 (for cml)",
        ),
        (
            "TRAIN cml WITH (candidates = 0)",
            "0",
            "candidates must be an integer from 1 to 10000, got 0 (for cml)",
        ),
    ];
    for (statement, spot, expected) in cases {
        assert_eq!(failure(&db, statement, "invalid_argument", spot).message(), expected, "{statement}");
    }
    let err = failure(&db, "TRAIN cml WITH (dim = 8)", "not_found", "dim");
    assert_eq!(err.suggestion(), Some("dims"));
}

/// NDCG@10 of the model trained by `train` on the standard split.
fn on_standard_split(train: &str, model: &str) -> Option<f64> {
    let (db, test) = standard_split(train)?;
    let result = run(&db, &format!("EVALUATE {model} AGAINST '{}' AT 10, 20", test.display()));
    let ndcg = metric(&result, "ndcg", Some(10));
    eprintln!("{train}: NDCG@10 {ndcg:.4}, Recall@20 {:.4}", metric(&result, "recall", Some(20)));
    Some(ndcg)
}

#[test]
#[ignore = "trains on the standard split, several minutes in a debug build; run with --release --ignored"]
fn the_defaults_on_the_standard_split_beat_the_baselines() {
    let Some(ndcg) = on_standard_split("TRAIN cml", "cml") else { return };
    assert!(ndcg >= 0.325, "cml defaults: NDCG@10 {ndcg}");
}
