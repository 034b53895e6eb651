//! The `dsiml` model (binary codes, scored by Hamming distance) through the query language: TRAIN with
//! parameters and their errors, EVALUATE against popularity on clustered synthetic data, RECOMMEND with
//! fold-in of a newcomer, SIMILAR item, and the acceptance figures on the standard split.

mod common;

use common::{clustered, failure, items, metric, run, standard_split};

const SMALL: &str = "TRAIN dsiml WITH (bits = 32, epochs = 20, learning_rate = 0.01, iterations = 3)";

#[test]
fn codes_find_the_planted_clusters_and_beat_popularity_by_far() {
    let (db, data, _dir) = clustered(true);
    run(&db, "TRAIN pop");
    let pop = metric(&run(&db, "EVALUATE pop AT 10"), "ndcg", Some(10));
    run(&db, SMALL);
    let ndcg = metric(&run(&db, "EVALUATE dsiml AT 10"), "ndcg", Some(10));
    eprintln!("dsiml: NDCG@10 {ndcg:.4} (pop {pop:.4})");
    assert!(ndcg > 1.5 * pop, "dsiml NDCG@10 {ndcg} against pop {pop}");
    for user in [3u32, 100, 450] {
        let recs = run(&db, &format!("RECOMMEND user {user} TOP 10 USING dsiml"));
        let cluster = data.user_cluster[user as usize];
        let own = items(&recs)
            .iter()
            .filter(|i| data.item_cluster[i.parse::<usize>().expect("numeric")] == cluster)
            .count();
        assert!(own >= 7, "user {user}: {own} of 10 from its cluster");
        // Scores are ±1 inner products of 32-bit codes: even integers in [-32, 32], best first.
        let scores = recs.column::<f64>("score").expect("scores");
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
        assert!(scores.iter().all(|s| s.abs() <= 32.0 && s.rem_euclid(2.0) == 0.0), "{scores:?}");
    }
    let similar = run(&db, "SIMILAR item 5 TOP 10 USING dsiml");
    let cluster = data.item_cluster[5];
    let same = items(&similar)
        .iter()
        .filter(|i| data.item_cluster[i.parse::<usize>().expect("n")] == cluster)
        .count();
    assert!(same >= 6, "{same} of 10 similar items share item 5's cluster");
}

#[test]
fn a_newcomer_is_folded_in_and_bad_parameters_are_refused() {
    let (db, data, _dir) = clustered(false);
    run(&db, SMALL);
    for item in data.interactions.iter().filter(|p| p.0 == 3).map(|p| p.1) {
        run(&db, &format!("INSERT INTERACTION user 'newcomer' item {item}"));
    }
    let theirs = items(&run(&db, "RECOMMEND user 3 TOP 10 USING dsiml"));
    let recs = items(&run(&db, "RECOMMEND user 'newcomer' TOP 10 USING dsiml"));
    let overlap = recs.iter().filter(|i| theirs.contains(i)).count();
    eprintln!("newcomer and user 3 share {overlap} of 10");
    assert!(overlap >= 6, "newcomer and user 3 share {overlap} of 10");
    let cases = [
        (
            "TRAIN dsiml WITH (bits = 12)",
            "12",
            "bits must be a multiple of 8 from 8 to 256, got 12 (for dsiml)",
        ),
        (
            "TRAIN dsiml WITH (bits = 264)",
            "264",
            "bits must be a multiple of 8 from 8 to 256, got 264 (for dsiml)",
        ),
        (
            "TRAIN dsiml WITH (stage = 'sdp')",
            "'sdp'",
            "stage must be one of 'binary', 'real', got 'sdp' (for dsiml)",
        ),
        ("TRAIN dsiml WITH (radius = 0)", "0", "radius must be a positive number, got 0 (for dsiml)"),
        ("TRAIN dsiml WITH (keep_real = 2)", "2", "keep_real must be true or false, got 2 (for dsiml)"),
    ];
    for (statement, spot, expected) in cases {
        assert_eq!(failure(&db, statement, "invalid_argument", spot).message(), expected, "{statement}");
    }
    let err = failure(&db, "TRAIN dsiml WITH (factors = 8)", "not_found", "factors");
    assert!(
        err.message().starts_with("unknown parameter 'factors' for dsiml (its parameters: bits, gamma"),
        "{err}"
    );
    let err = failure(&db, "TRAIN dsiml WITH (bit = 8)", "not_found", "bit");
    assert_eq!(err.suggestion(), Some("bits"));
    run(&db, "TRAIN dsiml AS kept WITH (bits = 8, epochs = 2, iterations = 1, keep_real = TRUE)");
    assert_eq!(run(&db, "RECOMMEND user 7 TOP 3 USING kept").len(), 3);
}

/// Evaluates the model trained by `train` on the standard split: (NDCG@10, Recall@20).
fn on_standard_split(train: &str, model: &str) -> Option<(f64, f64)> {
    let (db, test) = standard_split(train)?;
    let result = run(&db, &format!("EVALUATE {model} AGAINST '{}' AT 10, 20", test.display()));
    let (ndcg, recall) = (metric(&result, "ndcg", Some(10)), metric(&result, "recall", Some(20)));
    eprintln!("{train}: NDCG@10 {ndcg:.4}, Recall@20 {recall:.4}");
    Some((ndcg, recall))
}

#[test]
#[ignore = "trains on the standard split, about 2 minutes in a debug build; run with --release --ignored"]
fn binary_codes_on_the_standard_split_reach_the_acceptance_figure() {
    let Some((ndcg, recall)) = on_standard_split("TRAIN dsiml", "dsiml") else { return };
    assert!(ndcg >= 0.23 && recall >= 0.20, "64-bit codes: NDCG@10 {ndcg}, Recall@20 {recall}");
}

#[test]
#[ignore = "trains on the standard split, about a minute in a debug build; run with --release --ignored"]
fn the_continuous_variant_on_the_standard_split_reaches_the_acceptance_figure() {
    let Some((ndcg, recall)) =
        on_standard_split("TRAIN dsiml AS real WITH (stage = 'real', rank_scale = 1, epochs = 60)", "real")
    else {
        return;
    };
    assert!(ndcg >= 0.30 && recall >= 0.25, "stage 0: NDCG@10 {ndcg}, Recall@20 {recall}");
}

#[test]
fn recommend_searches_the_hamming_index_and_equals_the_full_pass() {
    let (db, _data, dir) = clustered(false);
    // 16-bit codes over 240 items: many equal distances, so the tie rule is exercised. Two tables build a
    // multi-index hashing index, but on so few codes its search gives way to a scan before the first
    // round (the id look-ups alone would cost more): the rounds' own exactness is tested in
    // recodb-storage, against brute force.
    run(&db, "TRAIN dsiml AS taste WITH (bits = 16, epochs = 10, iterations = 1, tables = 2)");
    let export = dir.path().join("full.tsv");
    run(&db, &format!("EXPORT RECOMMENDATIONS taste TOP 10 TO '{}'", export.display()));
    let text = std::fs::read_to_string(&export).expect("export");
    for user in [0u32, 7, 123, 599] {
        // EXPORT scores every item (the full pass); RECOMMEND searches the index.
        let full: Vec<(String, f64)> = text
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f[0] == user.to_string()).then(|| (f[1].to_string(), f[3].parse().expect("score")))
            })
            .collect();
        let searched = run(&db, &format!("RECOMMEND user {user} TOP 10 USING taste"));
        let pairs: Vec<(String, f64)> =
            items(&searched).into_iter().zip(searched.column::<f64>("score").expect("scores")).collect();
        assert_eq!(pairs, full, "user {user}");
    }
    let filtered = run(&db, "RECOMMEND user 7 TOP 5 USING taste WHERE ITEM IN (1, 2, 3, 4, 5, 6, 7, 8)");
    assert!(items(&filtered).iter().all(|i| i.parse::<u32>().is_ok_and(|i| (1..=8).contains(&i))));

    let explained = run(&db, "EXPLAIN RECOMMEND user 7 TOP 5 USING taste");
    let property = |name: &str| {
        explained
            .rows()
            .find(|r| r.get::<String>("property").expect("property") == name)
            .map(|r| r.get::<String>("value").expect("value"))
            .unwrap_or_else(|| panic!("no {name}"))
    };
    assert_eq!(property("model"), "taste (16 bits)");
    assert_eq!(property("path"), "multi-index hashing");
    assert_eq!(property("tables"), "2");
    assert_eq!(property("results"), "5");
    assert_eq!((property("buckets_probed"), property("gave_way_to_scan")), ("0".into(), "true".into()));
    let candidates = property("candidates").parse::<u64>().expect("count");
    assert!(candidates >= 5);
    // Ids are looked up only for codes close enough to enter the top k (none at all when it scans).
    assert!(property("ids_looked_up").parse::<u64>().expect("count") <= candidates);
    // An item deleted after training is skipped by the index search too, and the list still fills.
    let first = items(&run(&db, "RECOMMEND user 7 TOP 1 USING taste")).remove(0);
    run(&db, &format!("DELETE ITEM {first}"));
    let after = items(&run(&db, "RECOMMEND user 7 TOP 10 USING taste"));
    assert_eq!(after.len(), 10);
    assert!(!after.contains(&first), "{first} was deleted");
    run(&db, "TRAIN pop");
    let err = failure(&db, "EXPLAIN RECOMMEND user 7 TOP 5 USING pop", "unsupported", "pop");
    assert!(err.message().contains("has no binary codes"), "{err}");
}
