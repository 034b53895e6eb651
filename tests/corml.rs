//! The `corml` model through the query language: TRAIN with defaults and with partitioning, RECOMMEND
//! with exclusions and filters, a newcomer served from its items, SIMILAR, EXPLAIN (a full pass), RERANK, EVALUATE
//! against popularity, persistence, cancel at every phase, bad parameters, and the acceptance figures
//! on the standard split (at a small setting; the full one is an ignored test).

mod common;

use std::sync::atomic::{AtomicBool, Ordering};

use common::{clustered, items, metric, run, standard_split};
use recodb::{Database, ErrorKind, Progress};

const SMALL: &str = "TRAIN corml WITH (k = 32)";

#[test]
fn corml_finds_the_clusters_and_serves_every_statement() {
    let (db, data, _dir) = clustered(true);
    run(&db, "TRAIN pop");
    let pop = metric(&run(&db, "EVALUATE pop AT 10"), "ndcg", Some(10));
    run(&db, SMALL);
    let ndcg = metric(&run(&db, "EVALUATE corml AT 10"), "ndcg", Some(10));
    eprintln!("corml: NDCG@10 {ndcg:.4} (pop {pop:.4})");
    assert!(ndcg > 1.5 * pop, "corml NDCG@10 {ndcg} against pop {pop}");

    let user = 3u32;
    let own: Vec<String> =
        data.interactions.iter().filter(|p| p.0 == user).map(|p| p.1.to_string()).collect();
    let recs = run(&db, &format!("RECOMMEND user {user} TOP 10 USING corml"));
    let listed = items(&recs);
    let cluster = data.user_cluster[user as usize];
    let same =
        listed.iter().filter(|i| data.item_cluster[i.parse::<usize>().expect("id")] == cluster).count();
    assert!(same >= 7, "{same} of 10 from the user's cluster: {listed:?}");
    let scores = recs.column::<f64>("score").expect("scores");
    assert!(scores.windows(2).all(|w| w[0] >= w[1]) && scores[9] > 0.0, "{scores:?}");
    let all = items(&run(&db, &format!("RECOMMEND user {user} TOP 240 USING corml")));
    let seen = items(&run(&db, &format!("RECOMMEND user {user} TOP 240 USING corml INCLUDE SEEN")));
    assert!(all.len() < seen.len(), "seen items are excluded");
    let hidden: Vec<&String> = seen.iter().filter(|i| !all.contains(i)).collect();
    assert!(hidden.iter().all(|i| own.contains(i)), "only the user's items are excluded: {hidden:?}");

    let filtered =
        items(&run(&db, &format!("RECOMMEND user {user} TOP 3 USING corml WHERE ITEM IN (5, 6, 7, 8)")));
    assert!(
        !filtered.is_empty() && filtered.iter().all(|i| ["5", "6", "7", "8"].contains(&i.as_str())),
        "{filtered:?}"
    );
    let expected: Vec<&String> =
        all.iter().filter(|i| ["5", "6", "7", "8"].contains(&i.as_str())).take(3).collect();
    assert_eq!(filtered.iter().collect::<Vec<_>>(), expected, "a filter keeps the full ranking's order");

    let err =
        db.query(&format!("EXPLAIN RECOMMEND user {user} TOP 5 USING corml"), &[]).expect_err("no plan");
    assert!(
        err.message().ends_with("'corml' (corml) has no binary codes and scores every item"),
        "EXPLAIN says a corml RECOMMEND is a full pass, as for ease: {err}"
    );

    let similar = items(&run(&db, "SIMILAR item 5 TOP 10 USING corml"));
    let home = data.item_cluster[5];
    let close = similar.iter().filter(|i| data.item_cluster[i.parse::<usize>().expect("id")] == home).count();
    assert!(
        close >= 6 && !similar.contains(&"5".to_string()),
        "{close} of 10 similar share item 5's cluster"
    );

    run(&db, "TRAIN dsiml AS binary WITH (bits = 32, epochs = 10, iterations = 1)");
    let reranked = run(&db, &format!("RECOMMEND user {user} TOP 10 USING binary RERANK 60 USING corml"));
    let reranked_scores = reranked.column::<f64>("score").expect("scores");
    assert_eq!(reranked_scores.len(), 10);
    assert!(reranked_scores.windows(2).all(|w| w[0] >= w[1]), "RERANK orders by corml: {reranked_scores:?}");
    let full: Vec<(String, f64)> = {
        let set = run(&db, &format!("RECOMMEND user {user} TOP 240 USING corml"));
        items(&set).into_iter().zip(set.column::<f64>("score").expect("scores")).collect()
    };
    for (item, score) in items(&reranked).iter().zip(&reranked_scores) {
        let (_, s) = full.iter().find(|(i, _)| i == item).expect("a corml score");
        assert!((s - score).abs() < 1e-5, "{item}: reranked {score}, corml {s}");
    }
}

#[test]
fn a_newcomer_is_scored_from_its_items_and_the_model_survives_a_reopen() {
    let (db, data, dir) = clustered(false);
    run(&db, SMALL);
    for item in data.interactions.iter().filter(|p| p.0 == 3).map(|p| p.1) {
        run(&db, &format!("INSERT INTERACTION user 'newcomer' item {item}"));
    }
    let theirs = run(&db, "RECOMMEND user 3 TOP 10 USING corml");
    let newcomer = run(&db, "RECOMMEND user 'newcomer' TOP 10 USING corml");
    assert_eq!(items(&newcomer), items(&theirs), "the same items give the same list");
    assert_eq!(newcomer.column::<f64>("score").expect("s"), theirs.column::<f64>("score").expect("s"));

    let path = dir.path().join("db");
    let expected = {
        let db = Database::open(&path).expect("open");
        run(&db, &format!("IMPORT INTERACTIONS FROM '{}'", dir.path().join("synth.tsv").display()));
        run(&db, SMALL);
        items(&run(&db, "RECOMMEND user 3 TOP 10 USING corml"))
    };
    let db = Database::open(&path).expect("reopen");
    assert_eq!(items(&run(&db, "RECOMMEND user 3 TOP 10 USING corml")), expected, "loaded from its blob");
    assert_eq!(db.check_integrity().expect("consistent").blobs, 2, "the corml blob and its format");
}

#[test]
fn partitioned_training_learns_per_block_and_still_beats_popularity() {
    let (db, _data, _dir) = clustered(true);
    run(&db, "TRAIN pop");
    let pop = metric(&run(&db, "EVALUATE pop AT 10"), "ndcg", Some(10));
    run(&db, "TRAIN corml AS whole WITH (k = 32, partition_ratio = 1)");
    run(&db, "TRAIN corml AS auto WITH (k = 32)");
    let whole = run(&db, "RECOMMEND user 8 TOP 10 USING whole");
    let auto = run(&db, "RECOMMEND user 8 TOP 10 USING auto");
    assert_eq!(
        items(&whole),
        items(&auto),
        "one block (the default for 240 items) is the unpartitioned model"
    );
    run(&db, "TRAIN corml AS blocks WITH (k = 32, partition_ratio = 0.3)");
    let ndcg = metric(&run(&db, "EVALUATE blocks AT 10"), "ndcg", Some(10));
    eprintln!("corml in blocks of at most 72 items: NDCG@10 {ndcg:.4} (pop {pop:.4})");
    assert!(ndcg > 1.3 * pop, "partitioned corml NDCG@10 {ndcg} against pop {pop}");
}

/// Cancels at the first report of a phase that starts with the prefix, as the shell's Ctrl-C does.
struct CancelAt(&'static str, AtomicBool);

impl Progress for CancelAt {
    fn update(&self, phase: &str, _done: u64, _total: u64) -> bool {
        if phase.starts_with(self.0) {
            self.1.store(true, Ordering::Relaxed);
        }
        !self.1.load(Ordering::Relaxed)
    }
}

#[test]
fn training_cancels_at_every_phase_and_bad_parameters_are_refused() {
    let (db, _data, _dir) = clustered(false);
    for phase in [
        "train corml: spectral vectors",
        "train corml: partition",
        "train corml: ADMM, block 2 of",
        "train corml: sparse matrix",
        "publish",
    ] {
        let statement =
            recodb::query::parse_statement("TRAIN corml AS m WITH (k = 16, partition_ratio = 0.5)")
                .expect("parse");
        let err = db.run(&statement, &[], &CancelAt(phase, AtomicBool::new(false))).expect_err(phase);
        assert!(matches!(err.kind(), ErrorKind::Cancelled(what) if what == "training"), "{phase}: {err:?}");
        assert!(run(&db, "SHOW MODELS").is_empty(), "{phase}: nothing published");
    }
    for (statement, name, message) in [
        (
            "TRAIN corml WITH (lambda = -1)",
            "lambda",
            "lambda must be a number greater than 0 and at most 1, got -1 (for corml)",
        ),
        (
            "TRAIN corml WITH (theta = -0.1)",
            "theta",
            "theta must be a number of zero or more, got -0.1 (for corml)",
        ),
        (
            "TRAIN corml WITH (k = 500)",
            "k",
            "k must be an integer from 1 to 240 (the items in the catalogue), got 500 (for corml)",
        ),
        (
            "TRAIN corml WITH (partition_ratio = 0)",
            "partition_ratio",
            "partition_ratio must be a number greater than 0 and at most 1, got 0 (for corml)",
        ),
    ] {
        let err = db.query(statement, &[]).expect_err(statement);
        assert!(matches!(err.kind(), ErrorKind::InvalidArgument { name: n, .. } if n == name), "{err:?}");
        assert_eq!(err.message(), message);
    }
    assert!(run(&db, "SHOW MODELS").is_empty());
}

/// The authors' row: their "defaults" with their ADMM (50 iterations, no relaxation).
const AUTHORS: &str = "lambda = 0.75, rho = 5000, theta = 1, t = 0.1, iterations = 50, relaxation = 1";

/// NDCG@10 of `model` against the standard split's test file.
fn ndcg_at_10(db: &Database, test: &std::path::Path, model: &str) -> f64 {
    let set = run(db, &format!("EVALUATE {model} AGAINST '{}' AT 10", test.display()));
    metric(&set, "ndcg", Some(10))
}

/// The standard split at a small setting that trains in seconds (32 spectral vectors, blocks of at
/// most 350 items): the defaults and the authors' row land on the values measured in a release build
/// (so ρ, the iterations and the relaxation are wired as specified); the full setting is the ignored
/// test below.
#[test]
fn the_standard_split_at_a_small_setting() {
    let small = "k = 32, partition_ratio = 0.1";
    let Some((db, test)) = standard_split(&format!("TRAIN corml WITH ({small})")) else { return };
    let defaults = ndcg_at_10(&db, &test, "corml");
    run(&db, &format!("TRAIN corml AS authors WITH ({small}, {AUTHORS})"));
    let authors = ndcg_at_10(&db, &test, "authors");
    eprintln!("corml on ml-1m-r4, small setting: NDCG@10 {defaults:.4} with defaults, {authors:.4} authors'");
    assert!((defaults - 0.2879).abs() <= 0.002, "defaults: NDCG@10 {defaults}");
    assert!((authors - 0.2935).abs() <= 0.002, "the authors' row: NDCG@10 {authors}");
}

#[test]
#[ignore = "trains on the standard split at full size, minutes in a debug build; run with --release --ignored"]
fn the_standard_split_figures_of_the_issue() {
    let Some((db, test)) = standard_split("TRAIN corml") else { return };
    let defaults = ndcg_at_10(&db, &test, "corml");
    run(&db, &format!("TRAIN corml AS authors WITH ({AUTHORS})"));
    let authors = ndcg_at_10(&db, &test, "authors");
    eprintln!("corml on ml-1m-r4: NDCG@10 {defaults:.4} with defaults, {authors:.4} with the authors' row");
    assert!(defaults >= 0.343, "defaults: NDCG@10 {defaults}");
    assert!((authors - 0.326).abs() <= 0.005, "the authors' row (ρ 5000, 50 iterations): {authors}");
}
