//! Unit tests of `twotower` on small planted data: two genres of items, two groups of users who each
//! like one genre and carry its tag, a tags-only item and a tags-only user.

use super::*;
use crate::error::ErrorKind;
use crate::models::blobs::in_memory;
use crate::models::topk::top_k;
use crate::progress::NoProgress;
use crate::value::Value;

const USERS: u32 = 40;
const ITEMS: u32 = 30;

/// 40 users over 30 items: items below 15 are genre A (item tag 0), the others genre B (tag 1); users
/// below 20 like A (user tag 0), the others B (tag 1), each with 6 items of their genre. User 40 has tag
/// 0 and no items; item 30 has tag 0 and no users.
pub(super) fn data() -> Snapshot {
    let mut rows: Vec<Vec<u32>> = Vec::new();
    for u in 0..USERS {
        let base = if u < USERS / 2 { 0 } else { ITEMS / 2 };
        let mut row: Vec<u32> = (0..6).map(|k| base + (u * 7 + k * 5) % (ITEMS / 2)).collect();
        row.sort_unstable();
        row.dedup();
        rows.push(row);
    }
    rows.push(Vec::new());
    let refs: Vec<&[u32]> = rows.iter().map(Vec::as_slice).collect();
    let mut snapshot = crate::models::testing::snapshot(&refs, ITEMS + 1);
    let user_rows: Vec<Vec<u32>> =
        (0..=USERS).map(|u| vec![u32::from((USERS / 2..USERS).contains(&u))]).collect();
    let item_rows: Vec<Vec<u32>> =
        (0..=ITEMS).map(|i| vec![u32::from((ITEMS / 2..ITEMS).contains(&i))]).collect();
    let user_refs: Vec<&[u32]> = user_rows.iter().map(Vec::as_slice).collect();
    let item_refs: Vec<&[u32]> = item_rows.iter().map(Vec::as_slice).collect();
    snapshot.user_tags = TagRows::from_rows(&user_refs, 2);
    snapshot.item_tags = TagRows::from_rows(&item_refs, 2);
    snapshot
}

fn pairs(given: &[(&str, Value)]) -> Vec<(String, Value)> {
    given.iter().map(|(n, v)| (n.to_string(), v.clone())).collect()
}

fn trained(data: &Snapshot, extra: &[(&str, Value)]) -> TwoTowerModel {
    let mut given = pairs(&[
        ("dim", Value::Int(16)),
        ("hidden", Value::Int(32)),
        ("epochs", Value::Int(40)),
        ("batch", Value::Int(32)),
        ("learning_rate", Value::Float(0.01)),
        ("sampler", Value::from("uniform")),
        ("item_dropout", Value::Float(0.5)),
    ]);
    given.retain(|(name, _)| extra.iter().all(|(e, _)| e != name));
    given.extend(pairs(extra));
    TwoTowerModel::train(data, &TWOTOWER.check(&given).expect("params"), &NoProgress).expect("train")
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

#[test]
fn the_towers_outputs_have_unit_norm() {
    let data = data();
    let m = trained(&data, &[("epochs", Value::Int(2))]);
    for v in m.users.chunks_exact(m.dim()).chain(m.items.chunks_exact(m.dim())) {
        assert!((norm(v) - 1.0).abs() < 1e-5, "norm {}", norm(v));
    }
    assert!((norm(&m.item_point(&[1])) - 1.0).abs() < 1e-5);
    assert!((norm(&m.user_point(None, &[0], &[3, 4])) - 1.0).abs() < 1e-5);
    assert!((norm(&m.serving_point(999, &[2])) - 1.0).abs() < 1e-5, "an unknown user with one item");
    assert_eq!((m.cold_items(), m.cold_users()), (&[ITEMS][..], &[USERS][..]));
}

#[test]
fn both_samplers_learn_the_genres() {
    let data = data();
    for sampler in ["uniform", "hardest_of_n"] {
        let m = trained(&data, &[("sampler", Value::from(sampler))]);
        let mut hits = 0;
        for u in 0..USERS {
            let mut scores = vec![0.0; m.n_items() as usize];
            m.score(u, data.row(u), &mut scores);
            let seen = data.row(u);
            let genre_a = u < USERS / 2;
            let top = top_k(&scores, 5, |i| i < ITEMS && seen.binary_search(&i).is_err());
            hits += top.iter().filter(|&&(i, _)| (i < ITEMS / 2) == genre_a).count();
        }
        // At random, 9 of a user's 24 unseen items are of its genre: 75 of 200.
        assert!(hits >= 150, "{sampler}: {hits} of 200 top-5 items of the user's genre");
    }
}

#[test]
fn a_tags_only_item_is_recommended_to_users_of_its_genre() {
    let data = data();
    let m = trained(&data, &[]);
    // Trained with item 30 (tag 0, no users): it is served from its tags, like one added later.
    let later = m.item_point(&[0]);
    assert_eq!(m.item(ITEMS).map(<[f32]>::to_vec), Some(later.clone()), "the same point");
    let (mut for_a, mut for_b) = (0, 0);
    for u in 0..USERS {
        let mut scores = vec![0.0; m.n_items() as usize];
        m.score(u, data.row(u), &mut scores);
        let seen = data.row(u);
        let top = top_k(&scores, 10, |i| seen.binary_search(&i).is_err());
        if top.iter().any(|&(i, _)| i == ITEMS) {
            if u < USERS / 2 {
                for_a += 1;
            } else {
                for_b += 1;
            }
        }
    }
    assert!(for_a >= 15 && for_b <= 2, "in the top 10 of {for_a} genre-A users and {for_b} genre-B users");
}

#[test]
fn a_tags_only_user_gets_the_items_of_its_tag_and_history_moves_it() {
    let data = data();
    // User-id dropout, so that the tags and history paths learn without the id.
    let m = trained(&data, &[("user_dropout", Value::Float(0.5))]);
    let mut scores = vec![0.0; m.n_items() as usize];
    m.score(USERS, &[], &mut scores);
    let top = top_k(&scores, 5, |i| i < ITEMS);
    assert!(top.iter().all(|&(i, _)| i < ITEMS / 2), "profile tag A, no items: {top:?}");
    // A user unknown at training, without tags, with a few genre-B items: the history input alone.
    let history = [16, 18, 20, 22, 24, 26];
    m.score(USERS + 9, &history, &mut scores);
    let top = top_k(&scores, 5, |i| i < ITEMS && history.binary_search(&i).is_err());
    assert!(top.iter().filter(|&&(i, _)| i >= ITEMS / 2).count() >= 3, "with B items: {top:?}");
    assert_eq!(Model::is_trained(&m, USERS, &history), Some(false));
    assert_eq!(Model::is_trained(&m, 3, data.row(3)), Some(true));
}

#[test]
fn bad_parameters_name_the_parameter_and_its_range() {
    let cases = [
        (("dim", Value::Int(1)), "dim must be an integer from 2 to 1024, got 1"),
        (("hidden", Value::Int(3)), "hidden must be a multiple of 2 from 4 to 4096, got 3"),
        (("margin", Value::Float(0.0)), "margin must be a positive number"),
        (("sampler", Value::from("hardest")), "sampler must be one of 'hardest_of_n', 'uniform'"),
        (("candidates", Value::Int(0)), "candidates must be an integer from 1 to 1000, got 0"),
        (("item_dropout", Value::Float(-0.5)), "item_dropout must be a number of zero or more"),
    ];
    for (given, expected) in cases {
        let err = TWOTOWER.check(&pairs(&[given])).expect_err(expected);
        assert!(err.message().starts_with(expected), "{err}");
    }
    for name in ["item_dropout", "user_dropout"] {
        let checked = TWOTOWER.check(&pairs(&[(name, Value::Float(1.0))])).expect("a number");
        let err = Settings::read(&checked).expect_err("1 drops every id");
        assert!(err.message().starts_with(&format!("{name} must be a number from 0 to below 1")), "{err}");
    }
    let s = Settings::read(&TWOTOWER.check(&[]).expect("defaults")).expect("read");
    assert_eq!((s.dim, s.hidden, s.epochs, s.batch), (64, 256, 30, 1024));
    assert_eq!((s.margin, s.learning_rate, s.sampler, s.candidates), (0.5, 0.001, Sampler::HardestOf, 10));
}

#[test]
fn a_saved_model_scores_the_same_and_a_corrupt_blob_is_refused() {
    let data = data();
    let m = trained(&data, &[("epochs", Value::Int(2))]);
    let saved = m.blobs().expect("blobs");
    let loaded = TwoTowerModel::load(&Blobs::new(&in_memory(&saved))).expect("load");
    for u in [0, 25, USERS] {
        let (mut a, mut b) = (vec![0.0; 31], vec![0.0; 31]);
        m.score(u, data.row(u), &mut a);
        loaded.score(u, data.row(u), &mut b);
        assert_eq!(a, b, "user {u}");
    }
    assert_eq!(loaded.item_point(&[1]), m.item_point(&[1]));
    let blob: TwoTowerBlob = Blobs::new(&in_memory(&saved)).get(TWOTOWER_BLOB).expect("read");
    type Change = fn(&mut TwoTowerBlob);
    let changes: [(Change, &str); 5] = [
        (|b| b.items.truncate(5), "item values"),
        (|b| b.users[0] = f32::NAN, "user values"),
        (|b| b.n_item_tags = 7, "item tower"),
        (|b| b.cold_items = vec![99], "cold entities"),
        (|b| b.user_tag_indices[0] = 5, "user tags"),
    ];
    for (change, what) in changes {
        let mut bad = blob.clone();
        change(&mut bad);
        let changed = [encode(TWOTOWER_BLOB, &bad).expect("encode")];
        let err = TwoTowerModel::load(&Blobs::new(&in_memory(&changed))).expect_err(what);
        assert!(matches!(err.kind(), ErrorKind::Corrupt(_)), "{what}: {err:?}");
    }
    let mut garbage = recodb_storage::rkyv::util::AlignedVec::new();
    garbage.extend_from_slice(&[7u8; 11]);
    let err = TwoTowerModel::load(&Blobs::new(&in_memory(&[(TWOTOWER_BLOB, garbage)]))).expect_err("garbage");
    assert!(matches!(err.kind(), ErrorKind::Corrupt(_)), "{err:?}");
}

#[test]
fn training_reports_each_batch_and_epoch_and_a_cancel_stops_at_the_next_batch() {
    /// Records every report; refuses the first one after the first epoch's losses.
    struct Stop(std::sync::Mutex<Vec<(String, u64, u64)>>);
    impl Progress for Stop {
        fn update(&self, phase: &str, done: u64, total: u64) -> bool {
            let mut reports = self.0.lock().expect("lock");
            let go_on = !reports.iter().any(|r| r.0.contains("triplet loss"));
            reports.push((phase.to_string(), done, total));
            go_on
        }
    }
    let stop = Stop(std::sync::Mutex::new(Vec::new()));
    let given = [("epochs", Value::Int(5)), ("hidden", Value::Int(8)), ("batch", Value::Int(40))];
    let params = TWOTOWER.check(&pairs(&given)).expect("params");
    let data = data();
    let err = TwoTowerModel::train(&data, &params, &stop).expect_err("cancelled");
    assert!(matches!(err.kind(), ErrorKind::Cancelled(_)), "{err:?}");
    let reports = stop.0.into_inner().expect("lock");
    let nnz = data.nnz() as u64;
    // 120 pairs in batches of 42: two reports inside the first epoch, then its losses at 120 of 5 × 120,
    // then one report in the second epoch, refused.
    let epoch_end = reports.iter().position(|r| r.0.contains("triplet loss")).expect("the epoch's losses");
    assert_eq!(epoch_end, 2, "the first epoch reported per batch: {reports:?}");
    assert!(reports[..epoch_end].iter().all(|r| r.0 == "twotower: epoch 1" && r.1 < nnz));
    assert!(reports[epoch_end].0.starts_with("twotower: epoch 1, triplet loss"), "{reports:?}");
    assert_eq!(reports[epoch_end].1, nnz);
    assert_eq!(reports.len(), epoch_end + 2, "the refusal stops training at the next batch");
    assert!(reports.iter().all(|r| r.2 == 5 * nnz), "units: pairs of every epoch");
    assert!(reports.windows(2).all(|w| w[0].1 < w[1].1), "done only grows: {reports:?}");
}

#[test]
fn a_tag_is_placed_as_its_items_points_once_extended() {
    let data = data();
    let m = trained(&data, &[]);
    let users = data.user_tags.clone();
    // A third tag on item 0 alone, which the model was not trained with: it is not placed.
    let mut rows: Vec<Vec<u32>> = (0..=ITEMS).map(|i| data.item_tags.row(i).to_vec()).collect();
    rows[0].push(2);
    let refs: Vec<&[u32]> = rows.iter().map(Vec::as_slice).collect();
    let tags = TagSnapshot { data_version: 0, users, items: TagRows::from_rows(&refs, 3) };
    let extended = m.extended(&tags);
    let placed = extended.tag_placement().expect("places tags").tag_points();
    assert_eq!(placed.len(), 2);
    let user = m.serving_point(0, data.row(0));
    let distance = |p: &[f32]| user.iter().zip(p).map(|(u, c)| (u - c) * (u - c)).sum::<f32>();
    let mut got = [0.0f32; 3];
    placed.scores(&user, &[0, 1, 2], &mut got);
    for (tag, items) in [(0usize, 0..ITEMS / 2), (1, ITEMS / 2..ITEMS)] {
        // Item 30 carries tag 0 too.
        let carriers: Vec<u32> = items.chain((tag == 0).then_some(ITEMS)).collect();
        let sum: f32 =
            carriers.iter().map(|&i| (-distance(m.item(i).expect("a point")) / TAG_BANDWIDTH).exp()).sum();
        let expected = TAG_BANDWIDTH * sum.ln();
        assert!((got[tag] - expected).abs() < 1e-4, "tag {tag}: {} against {expected}", got[tag]);
    }
    assert!(got[0] > got[1], "user 0 likes genre A: {got:?}");
    assert_eq!(got[2], f32::NEG_INFINITY);
    // The model as trained (not extended) places a tag at the item tower over it alone.
    let mut tower = [0.0f32];
    m.tag_points().scores(&user, &[0], &mut tower);
    assert!((tower[0] + distance(&m.item_point(&[0]))).abs() < 1e-5);
}
