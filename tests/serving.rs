//! Serving a model with binary codes: two-stage RECOMMEND and EVALUATE (`RERANK m USING`), SIMILAR
//! USER and ITEM through the code indexes, EXPLAIN of both, EXPORT CODES, and DESCRIBE MODEL's count of
//! trained and folded-in users.

mod common;

use std::collections::HashMap;

use common::{clustered, failure, items, metric, run, write_file};
use recodb::{ErrorKind, Object, ResultSet};

const TASTE: &str =
    "TRAIN dsiml AS taste WITH (bits = 16, epochs = 10, learning_rate = 0.01, iterations = 1, keep_real = true)";

/// The value of `name` in a `property`, `value` result set.
fn property(set: &ResultSet, name: &str) -> String {
    set.rows()
        .find(|r| r.get::<String>("property").expect("property") == name)
        .map(|r| r.get::<String>("value").expect("value"))
        .unwrap_or_else(|| panic!("no {name}"))
}

fn scores(set: &ResultSet) -> Vec<f64> {
    set.column::<f64>("score").expect("scores")
}

#[test]
fn rerank_orders_the_retrieved_candidates_by_another_model() {
    let (db, _data, _dir) = clustered(true);
    run(&db, TASTE);
    run(&db, "TRAIN ease AS e WITH (lambda = 10)");
    for user in [3u32, 250, 599] {
        // With every item a candidate, the two-stage list is the re-ranker's own.
        let whole = run(&db, &format!("RECOMMEND user {user} TOP 10 USING taste RERANK 240 USING e"));
        let direct = run(&db, &format!("RECOMMEND user {user} TOP 10 USING e"));
        assert_eq!(items(&whole), items(&direct), "user {user}");
        assert_eq!(scores(&whole), scores(&direct), "user {user}");

        // With 20 candidates: the Hamming top 20, ordered by ease's scores.
        let retrieved = items(&run(&db, &format!("RECOMMEND user {user} TOP 20 USING taste")));
        let two = run(&db, &format!("RECOMMEND user {user} TOP 10 USING taste RERANK 20 USING e"));
        assert_eq!(two.len(), 10);
        assert!(items(&two).iter().all(|i| retrieved.contains(i)), "user {user}: {:?}", items(&two));
        let s = scores(&two);
        assert!(s.windows(2).all(|w| w[0] >= w[1]), "{s:?}");
        let all_ease = run(&db, &format!("RECOMMEND user {user} TOP 240 USING e"));
        let ease_score: HashMap<String, f64> = items(&all_ease).into_iter().zip(scores(&all_ease)).collect();
        for (item, score) in items(&two).iter().zip(&s) {
            assert_eq!(ease_score[item], *score, "user {user}, item {item}: ease's own score");
        }

        // The model's own real vectors re-rank too: real inner products, not ±1 code products.
        let own = run(&db, &format!("RECOMMEND user {user} TOP 10 USING taste RERANK 20 USING taste"));
        assert!(items(&own).iter().all(|i| retrieved.contains(i)));
        assert!(scores(&own).iter().any(|s| s.fract() != 0.0), "{:?}", scores(&own));
    }

    let explained = run(&db, "EXPLAIN RECOMMEND user 3 TOP 10 USING taste RERANK 20 USING e");
    assert_eq!(property(&explained, "results"), "20", "the first stage retrieves the candidates");
    assert_eq!(property(&explained, "rerank_model"), "e (ease)");
    assert_eq!(property(&explained, "rerank_candidates"), "20");
    assert!(property(&explained, "rerank_microseconds").parse::<f64>().expect("time") >= 0.0);

    // Evaluating the two-stage ranking over every item equals evaluating the re-ranker.
    let both = run(&db, "EVALUATE taste RERANK 240 USING e AT 10");
    let ease = run(&db, "EVALUATE e AT 10");
    assert_eq!(metric(&both, "ndcg", Some(10)), metric(&ease, "ndcg", Some(10)));
    let narrow = metric(&run(&db, "EVALUATE taste RERANK 20 USING e AT 10"), "ndcg", Some(10));
    let hamming = metric(&run(&db, "EVALUATE taste AT 10"), "ndcg", Some(10));
    eprintln!("NDCG@10: hamming {hamming:.4}, top-20 re-ranked by ease {narrow:.4}");
    assert!(narrow > hamming, "re-ranking 20 candidates by ease: {narrow} against {hamming}");

    run(&db, "TRAIN dsiml AS plain WITH (bits = 16, epochs = 5, iterations = 1)");
    let cases = [
        (
            "RECOMMEND user 3 TOP 10 USING taste RERANK 5 USING e",
            "invalid_argument",
            "5",
            "RERANK must be from TOP (10) to 10000, got 5",
        ),
        (
            "RECOMMEND user 3 TOP 10 USING taste RERANK 20 USING nothing",
            "not_found",
            "nothing",
            "no model named 'nothing' (SHOW MODELS lists the trained models)",
        ),
        (
            "EVALUATE taste RERANK 5 USING e AT 10",
            "invalid_argument",
            "5",
            "RERANK must be from the largest cut-off (10) to 10000, got 5",
        ),
        (
            "EVALUATE taste RERANK 50 USING e WITH (protocol = 'sampled')",
            "unsupported",
            "50",
            "EVALUATE ... RERANK ranks the full catalogue only",
        ),
    ];
    for (statement, code, spot, expected) in cases {
        assert_eq!(failure(&db, statement, code, spot).message(), expected, "{statement}");
    }
    for statement in [
        "RECOMMEND user 3 TOP 10 USING taste RERANK 20 USING plain",
        "EVALUATE taste RERANK 50 USING plain AT 10",
    ] {
        let err = db.query(statement, &[]).expect_err(statement);
        assert!(matches!(err.kind(), ErrorKind::Unsupported(_)), "{statement}: {err:?}");
        assert!(err.message().starts_with("this dsiml model kept no real vectors"), "{err}");
    }
}

#[test]
fn similar_users_and_items_search_the_code_spaces_and_codes_export() {
    let (db, data, dir) = clustered(false);
    run(&db, TASTE);

    // EXPORT CODES: raw little-endian bytes, two per 16-bit code, and a key per line.
    let path = dir.path().join("items.codes");
    let done = run(&db, &format!("EXPORT CODES taste ITEMS TO '{}'", path.display()));
    let row = done.row(0).expect("row");
    assert_eq!((row.get::<i64>("codes").expect("codes"), row.get::<i64>("bits").expect("bits")), (240, 16));
    let bytes = std::fs::read(&path).expect("codes file");
    assert_eq!(bytes.len(), 480);
    let keys = std::fs::read_to_string(dir.path().join("items.codes.keys")).expect("keys file");
    let keys: Vec<&str> = keys.lines().collect();
    assert_eq!(keys.len(), 240);
    let code_of: HashMap<&str, u16> =
        keys.iter().zip(bytes.chunks_exact(2)).map(|(k, b)| (*k, u16::from_le_bytes([b[0], b[1]]))).collect();

    // SIMILAR ITEM through the index equals a brute-force ranking of the exported codes (distance, then
    // the lower id, i.e. the earlier line of the keys file).
    for item in ["5", "77", "200"] {
        let target = code_of[item];
        let mut brute: Vec<(u32, usize, &str)> = keys
            .iter()
            .enumerate()
            .filter(|(_, k)| **k != item)
            .map(|(id, k)| ((code_of[k] ^ target).count_ones(), id, *k))
            .collect();
        brute.sort();
        let expected: Vec<String> = brute.iter().take(10).map(|b| b.2.to_string()).collect();
        let similar = run(&db, &format!("SIMILAR item {item} TOP 10 USING taste"));
        assert_eq!(items(&similar), expected, "item {item}");
        let expected_scores: Vec<f64> = brute.iter().take(10).map(|b| 16.0 - 2.0 * f64::from(b.0)).collect();
        assert_eq!(scores(&similar), expected_scores);
    }

    // SIMILAR USER: users of the same taste, never the user itself.
    for user in [3u32, 250, 599] {
        let similar = run(&db, &format!("SIMILAR user {user} TOP 10 USING taste"));
        let users: Vec<u32> = similar
            .column::<String>("user")
            .expect("user column")
            .iter()
            .map(|u| u.parse().expect("numeric"))
            .collect();
        assert_eq!(users.len(), 10);
        assert!(!users.contains(&user));
        let same =
            users.iter().filter(|&&u| data.user_cluster[u as usize] == data.user_cluster[user as usize]);
        assert!(same.count() >= 7, "user {user}: {users:?}");
    }
    let explained = run(&db, "EXPLAIN SIMILAR user 3 TOP 10 USING taste");
    assert_eq!(property(&explained, "model"), "taste (16 bits)");
    assert_eq!(property(&explained, "results"), "10");
    let users_file = dir.path().join("users.codes");
    let done = run(&db, &format!("EXPORT CODES taste USERS TO '{}'", users_file.display()));
    assert_eq!(done.row(0).expect("row").get::<i64>("bytes").expect("bytes"), 1200);

    run(&db, "TRAIN pop");
    let cases = [
        (
            "SIMILAR user 3 TOP 10 USING taste WHERE ITEM IN (1)",
            "unsupported",
            "ITEM IN (1)",
            "ITEM IN filters items; users are filtered by TAG",
        ),
        (
            "SIMILAR user 3 TOP 10 USING pop",
            "unsupported",
            "pop",
            "SIMILAR USER needs a model with user codes; 'pop' (pop) has none",
        ),
        (
            "EXPLAIN SIMILAR item 5 TOP 10 USING pop",
            "unsupported",
            "pop",
            "EXPLAIN shows a Hamming-index search plan; 'pop' (pop) has no binary codes and scores every item",
        ),
        (
            "EXPORT CODES pop ITEMS TO '/nonexistent/x'",
            "unsupported",
            "pop",
            "EXPORT CODES needs a model with binary codes; 'pop' (pop) has none",
        ),
        (
            "EXPORT CODES taste ITEMS TO '/nonexistent/dir/x'",
            "io",
            "'/nonexistent/dir/x'",
            "cannot write /nonexistent/dir/x.partial: No such file or directory (os error 2)",
        ),
    ];
    for (statement, code, spot, expected) in cases {
        assert_eq!(failure(&db, statement, code, spot).message(), expected, "{statement}");
    }
}

#[test]
fn describe_model_counts_trained_and_folded_in_users() {
    let (db, _data, _dir) = clustered(false);
    run(&db, TASTE);
    let described = run(&db, "DESCRIBE MODEL taste");
    assert_eq!(property(&described, "users_trained"), "600");
    assert_eq!(property(&described, "users_folded_in"), "0");
    assert_eq!(property(&described, "items_after_training"), "0");
    // 240 items of 16 bits: one u64 word each, and a scan needs no index.
    assert_eq!(property(&described, "served_bytes_per_item"), "8.0");
    assert!(property(&described, "item_index").starts_with("linear scan"));
    run(&db, "INSERT INTERACTION user 'newcomer' item 5");
    run(&db, "INSERT INTERACTION user 3 item 'brand new'");
    let described = run(&db, "DESCRIBE MODEL taste");
    assert_eq!(property(&described, "users_trained"), "599");
    assert_eq!(property(&described, "users_folded_in"), "2", "the newcomer and user 3, whose items changed");
    assert_eq!(property(&described, "items_after_training"), "1");
    run(&db, "TRAIN pop");
    let described = run(&db, "DESCRIBE MODEL pop");
    assert!(described.rows().all(|r| r.get::<String>("property").expect("p") != "users_trained"));
}

#[test]
fn an_item_that_arrived_after_training_is_folded_in_from_its_users() {
    let (db, data, dir) = clustered(false);
    run(&db, "TRAIN dsiml AS taste WITH (bits = 32, epochs = 20, learning_rate = 0.01, iterations = 3)");
    let cluster_of = |u: u32| data.user_cluster[u as usize];
    let fans: Vec<u32> = (0..600u32).filter(|&u| cluster_of(u) == 2).take(40).collect();
    for u in &fans {
        run(&db, &format!("INSERT INTERACTION user {u} item 'fresh'"));
    }
    let described = run(&db, "DESCRIBE MODEL taste");
    assert_eq!(property(&described, "items_after_training"), "1");
    assert_eq!(property(&described, "items_folded_in"), "1");

    // Users of the fans' taste who do not have it yet are recommended it; others mostly are not.
    let recommended_to = |u: u32| items(&run(&db, &format!("RECOMMEND user {u} TOP 20 USING taste")));
    let others: Vec<u32> = (0..600u32).filter(|u| !fans.contains(u)).collect();
    let same: Vec<u32> = others.iter().copied().filter(|&u| cluster_of(u) == 2).take(10).collect();
    let hits = same.iter().filter(|&&u| recommended_to(u).contains(&"fresh".to_string())).count();
    assert!(hits >= 7, "{hits} of 10 users of the fans' taste get 'fresh' in their top 20");
    // EVALUATE ranks it too: a test file pairing those users with it.
    let test: String = same.iter().map(|u| format!("{u}\tfresh\n")).collect();
    let test = write_file(&dir, "fresh.tsv", &test);
    let evaluated = run(&db, &format!("EVALUATE taste AGAINST '{}' AT 20", test.display()));
    assert_eq!(metric(&evaluated, "recall", Some(20)), hits as f64 / 10.0);
    let far: Vec<u32> = others.iter().copied().filter(|&u| cluster_of(u) == 4).take(10).collect();
    let far_hits = far.iter().filter(|&&u| recommended_to(u).contains(&"fresh".to_string())).count();
    assert!(far_hits <= 2, "{far_hits} of 10 users of another taste get 'fresh'");

    // Its nearest items are its fans' items.
    let similar = items(&run(&db, "SIMILAR item 'fresh' TOP 10 USING taste"));
    let home = similar.iter().filter(|i| i.parse::<usize>().is_ok_and(|i| data.item_cluster[i] == 2)).count();
    eprintln!(
        "'fresh': top 20 of {hits}/10 same-taste and {far_hits}/10 other users; {home}/10 similar items"
    );
    assert!(home >= 6, "{home} of 10 items near 'fresh' are of its fans' taste: {similar:?}");
    let explained = run(&db, &format!("EXPLAIN RECOMMEND user {} TOP 5 USING taste", same[0]));
    assert_eq!(property(&explained, "folded_in_items"), "1 (searched beside the index)");

    // An item whose only user has no trained code cannot be folded in.
    run(&db, "INSERT INTERACTION user 'stranger' item 'orphan'");
    let err = failure(&db, "SIMILAR item 'orphan' TOP 3 USING taste", "not_found", "'orphan'");
    assert!(matches!(err.kind(), ErrorKind::NotFound { what: Object::Code, .. }), "{err:?}");
    assert!(err.message().contains("no user with a trained code has it"), "{err}");
}
