//! The metrics against a known reference: ranking by popularity on the standard split
//! (`splits/ml-1m-r4`, full ranking, training items excluded) must give NDCG@10 = 0.155 ± 0.003, the
//! figure of the outside implementation in `docs/data.md` §4. A mismatch would mean a bug in
//! the split import, the exclusion of seen items, or the metrics.

mod common;

use std::collections::HashMap;

use common::shared_data;
use recodb::eval::metrics::{user_metrics, Summary};
use recodb::import::read::{read_interactions, ImportSpec};
use recodb::{Database, Side, Target};

#[test]
fn popularity_on_the_standard_split_matches_the_reference() {
    let (Some(train), Some(test)) =
        (shared_data("splits/ml-1m-r4/train.tsv"), shared_data("splits/ml-1m-r4/test.tsv"))
    else {
        return;
    };
    let db = Database::open_temporary().expect("open");
    db.import(Target::Interactions, &train, None, &[]).expect("import train");
    let snapshot = db.snapshot().expect("snapshot");

    let mut popularity = vec![0u64; snapshot.n_items as usize];
    for &item in &snapshot.indices {
        popularity[item as usize] += 1;
    }
    let mut by_popularity: Vec<u32> = (0..snapshot.n_items).collect();
    by_popularity.sort_by_key(|&i| (std::cmp::Reverse(popularity[i as usize]), i));

    // Test items per user key; items unknown to the database still count in |T|.
    let spec = ImportSpec::new(&test, Target::Interactions, None, &[]).expect("spec");
    let mut tests: HashMap<recodb::Key, Vec<Option<u32>>> = HashMap::new();
    read_interactions(&spec, &mut |_, _| true, &mut |r| {
        let item = db.store().id_of(Side::Item, &r.item).expect("read");
        tests.entry(r.user).or_default().push(item);
    })
    .expect("read test");

    let mut summary = Summary::default();
    let n_users = snapshot.n_users as u64;
    for (user, items) in &tests {
        let seen = match db.store().id_of(Side::User, user).expect("read") {
            Some(u) => snapshot.row(u),
            None => &[],
        };
        let ranked: Vec<u32> =
            by_popularity.iter().copied().filter(|i| seen.binary_search(i).is_err()).take(10).collect();
        let m = user_metrics(&ranked, |i| items.contains(&Some(i)), items.len(), 10);
        summary.add(&ranked, 10, &m, |i| popularity[i as usize], n_users);
    }
    let averages = summary.averages(snapshot.n_items as usize);
    assert_eq!(averages.users, 6_034);
    eprintln!("popularity on ml-1m-r4: NDCG@10 = {:.4}, Recall@10 = {:.4}", averages.ndcg, averages.recall);
    assert!((averages.ndcg - 0.155).abs() <= 0.003, "popularity NDCG@10 = {:.4}", averages.ndcg);
}
