//! Tests of `cml` with features on planted data: two genres of items liked by two groups of users, an
//! item without interactions at training, and items added after training with tags only.

use recodb_storage::{TagRows, TagSnapshot};

use super::*;
use crate::error::ErrorKind;
use crate::models::blobs::in_memory;
use crate::models::topk::top_k;
use crate::progress::NoProgress;
use crate::serve::retrieve;
use crate::value::Value;
use recodb_storage::RoaringBitmap;

const USERS: u32 = 40;
const ITEMS: u32 = 30;

/// 40 users over 31 items: items below 15 are genre A (tag 0), items 15 to 29 genre B (tag 1), and
/// item 30 is genre A without interactions; users below 20 like A, the others B, 6 items each.
fn data() -> Snapshot {
    let rows: Vec<Vec<u32>> = (0..USERS)
        .map(|u| {
            let base = if u < USERS / 2 { 0 } else { ITEMS / 2 };
            let mut row: Vec<u32> = (0..6).map(|k| base + (u * 7 + k * 5) % (ITEMS / 2)).collect();
            row.sort_unstable();
            row.dedup();
            row
        })
        .collect();
    let refs: Vec<&[u32]> = rows.iter().map(Vec::as_slice).collect();
    let mut data = crate::models::testing::snapshot(&refs, ITEMS + 1);
    data.item_tags = tags(ITEMS + 1);
    data
}

/// Item tags for ids below `n`: genre A below 15 and at 30 and 31, B from 15 to 29 and at 32, none at
/// 33.
fn tags(n: u32) -> TagRows {
    let rows: Vec<Vec<u32>> = (0..n)
        .map(|i| match i {
            30 | 31 => vec![0],
            32 => vec![1],
            33 => vec![],
            _ => vec![u32::from(i >= ITEMS / 2)],
        })
        .collect();
    let refs: Vec<&[u32]> = rows.iter().map(Vec::as_slice).collect();
    TagRows::from_rows(&refs, 2)
}

fn trained(data: &Snapshot, extra: &[(&str, Value)]) -> Result<CmlModel> {
    let given: Vec<(String, Value)> = [
        ("dims", Value::Int(8)),
        ("epochs", Value::Int(40)),
        ("learning_rate", Value::Float(0.02)),
        ("features", Value::Bool(true)),
        ("feature_hidden", Value::Int(16)),
    ]
    .into_iter()
    .filter(|(n, _)| extra.iter().all(|(e, _)| e != n))
    .chain(extra.iter().cloned())
    .map(|(n, v)| (n.to_string(), v))
    .collect();
    CmlModel::train(data, &CML.check(&given)?, &NoProgress)
}

/// The model extended to items 31 (tag A), 32 (tag B) and 33 (no tag), added after training.
fn extended(model: &CmlModel) -> Box<dyn Model> {
    let snapshot = TagSnapshot { data_version: 2, users: TagRows::default(), items: tags(ITEMS + 4) };
    model.tag_placement().expect("placed from tags").extended(&snapshot)
}

/// The mean score of `item` over users `users`.
fn mean_score(model: &dyn Model, data: &Snapshot, users: std::ops::Range<u32>, item: u32) -> f32 {
    let n = users.len() as f32;
    let mut total = 0.0;
    for u in users {
        let mut out = [0f32];
        model.score_items(u, data.row(u), &[item], &mut out).expect("scores");
        total += out[0];
    }
    total / n
}

#[test]
fn an_item_added_with_tag_a_is_recommended_to_group_a() {
    let data = data();
    for serve in ["exact", "codes"] {
        let extra =
            [("serve", Value::from(serve)), ("code_bits", Value::Int(64)), ("candidates", Value::Int(40))];
        let model = trained(&data, &extra).expect("train");
        assert_eq!(model.n_items(), ITEMS + 1);
        let late = extended(&model);
        assert_eq!(late.n_items(), ITEMS + 4);
        let (a, b) = (0..USERS / 2, USERS / 2..USERS);
        for (item, liked_by, other) in [(30, a.clone(), b.clone()), (31, a.clone(), b.clone()), (32, b, a)] {
            let liked = mean_score(late.as_ref(), &data, liked_by, item);
            let not = mean_score(late.as_ref(), &data, other, item);
            assert!(
                liked > not + 0.5,
                "{serve}: item {item} scores {liked:.3} by its group, {not:.3} by the other"
            );
        }
        let mut scores = vec![0f32; (ITEMS + 4) as usize];
        late.score(3, data.row(3), &mut scores);
        assert!(scores[31] > scores[32], "{serve}: user 3 (group A) {} against {}", scores[31], scores[32]);
        assert_eq!(scores[33], f32::NEG_INFINITY, "an item without a known tag is not served");
        let properties = late.properties();
        assert!(properties.contains(&("cold_items_from_tags", "1".into())), "{properties:?}");
        assert!(properties.contains(&("items_after_training_from_tags", "2".into())), "{properties:?}");
        let net = model.tag_network().expect("features");
        assert_eq!(
            &model.item_points()[30 * 8..31 * 8],
            &net.points([&[0u32][..]])[..],
            "item 30 sits at f(A)"
        );
        let excluded = RoaringBitmap::new();
        let exact: Vec<u32> = top_k(&scores, 34, |_| true).into_iter().map(|p| p.0).collect();
        let served = retrieve(late.as_ref(), None, 3, data.row(3), 33, None, &excluded).expect("retrieve");
        let served: Vec<u32> = served.items.iter().map(|p| p.0).collect();
        assert!(!served.contains(&33), "{serve}: {served:?}");
        assert_eq!(
            served,
            exact[..33].to_vec(),
            "{serve}: the codes cover the catalogue, so the orders agree"
        );
        if serve == "codes" {
            let codes = late.binary().expect("codes");
            let store = codes.item_index().codes();
            assert!(store.contains(31) && store.contains(32) && !store.contains(33));
            let projection = &model.codes.as_ref().expect("codes").projection;
            assert_eq!(store.get(31), Some(&projection.code(&net.points([&[0u32][..]]))[..]));
        }
    }
}

#[test]
fn tag_points_put_each_groups_genre_nearest_to_its_users() {
    let data = data();
    let model = trained(&data, &[]).expect("train");
    let placement = model.tag_placement().expect("features");
    let points = placement.tag_points();
    assert_eq!(points.len(), 2, "one point per tag the network was trained with");
    // On average over each group's users, its genre's tag is the nearer one.
    for (users, genre) in [(0..USERS / 2, 0usize), (USERS / 2..USERS, 1)] {
        let margins: Vec<f32> = users
            .map(|u| {
                let point = placement.point(Similarity::User(u, data.row(u))).expect("a user's point");
                let mut scores = [0f32; 2];
                points.scores(&point, &[0, 1], &mut scores);
                scores[genre] - scores[1 - genre]
            })
            .collect();
        let mean = margins.iter().sum::<f32>() / margins.len() as f32;
        assert!(mean > 0.1, "genre {genre}: mean margin {mean:.3} ({margins:?})");
    }
    let item = placement.point(Similarity::Item(30)).expect("item 30 was placed");
    assert_eq!(item, model.item_points()[30 * 8..31 * 8].to_vec());
    let plain = trained(&data, &[("features", Value::Bool(false))]).expect("train");
    assert!(plain.tag_placement().is_none(), "no tag points without features");
}

#[test]
fn without_features_the_points_do_not_depend_on_the_tags() {
    let data = data();
    let mut untagged = data.clone();
    untagged.item_tags = TagRows::default();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
    let blobs = |d: &Snapshot, extra: &[(&str, Value)]| {
        pool.install(|| trained(d, extra).expect("train").blobs().expect("blobs"))
    };
    let plain = [("features", Value::Bool(false))];
    let (with_tags, without) = (blobs(&data, &plain), blobs(&untagged, &plain));
    assert_eq!(with_tags.len(), 1, "no features blob");
    assert_eq!(with_tags[0].1.to_vec(), without[0].1.to_vec());
    let model = trained(&data, &plain).expect("train");
    assert!(model.tag_placement().is_none() && model.properties().is_empty());
    let features = blobs(&data, &[]);
    assert_ne!(features[0].1.to_vec(), with_tags[0].1.to_vec(), "the feature loss moves the points");
    assert_eq!(features[0].1.to_vec(), blobs(&data, &[])[0].1.to_vec(), "deterministic on one thread");
}

#[test]
fn bad_feature_parameters_are_refused_by_name() {
    let data = data();
    let mut untagged = data.clone();
    untagged.item_tags = TagRows::default();
    let err = trained(&untagged, &[]).expect_err("no item tags");
    assert!(err.message().contains("features"), "{err}");
    for (name, value) in [
        ("feature_weight", Value::Float(0.0)),
        ("feature_weight", Value::Float(-1.0)),
        ("feature_hidden", Value::Int(0)),
        ("feature_hidden", Value::Int(5000)),
        ("features", Value::Int(3)),
    ] {
        let err = trained(&data, &[(name, value.clone())]).expect_err("refused");
        assert!(err.message().contains(name), "{name} = {value:?}: {err}");
    }
}

#[test]
fn the_features_blob_round_trips_and_old_blobs_load() {
    let data = data();
    let model =
        trained(&data, &[("serve", Value::from("codes")), ("code_bits", Value::Int(64))]).expect("train");
    let blobs = model.blobs().expect("blobs");
    assert_eq!(blobs.iter().map(|b| b.0).collect::<Vec<_>>(), vec![CML_BLOB, CML_FEATURES_BLOB]);
    let loaded = CmlModel::load(&Blobs::new(&in_memory(&blobs))).expect("load");
    assert_eq!(loaded.tag_network(), model.tag_network());
    let (a, b) = (extended(&model), extended(&loaded));
    let (mut x, mut y) = (vec![0f32; 34], vec![0f32; 34]);
    a.score(25, data.row(25), &mut x);
    b.score(25, data.row(25), &mut y);
    assert_eq!(x, y);
    assert_eq!(a.blobs().expect("blobs")[0].1.to_vec(), blobs[0].1.to_vec(), "added items are not saved");
    let old = CmlModel::load(&Blobs::new(&in_memory(&blobs[..1]))).expect("a blob without features loads");
    assert!(old.tag_placement().is_none());
    let mut features: CmlFeaturesBlob = Blobs::new(&in_memory(&blobs)).get(CML_FEATURES_BLOB).expect("read");
    features.network.layers[1].bias.pop();
    let bad = [blobs[0].clone(), encode(CML_FEATURES_BLOB, &features).expect("encode")];
    let err = CmlModel::load(&Blobs::new(&in_memory(&bad))).expect_err("refused");
    assert!(matches!(err.kind(), ErrorKind::Corrupt(_)), "{err:?}");
    assert!(err.message().contains("tag network"), "{err}");
    let garbage = [blobs[0].clone(), (CML_FEATURES_BLOB, blobs[0].1.clone())];
    assert!(CmlModel::load(&Blobs::new(&in_memory(&garbage))).is_err(), "another struct's bytes");
}
