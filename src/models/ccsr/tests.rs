//! Unit tests of `ccsr` on a small planted-cluster data set.

use std::sync::Mutex;

use super::*;
use crate::error::ErrorKind;
use crate::models::blobs::in_memory;
use crate::models::pop::POP;
use crate::models::topk::top_k;
use crate::progress::NoProgress;
use crate::synth::{generate, SynthConfig, SynthData};
use crate::value::Value;

/// 240 users in 4 taste clusters over 80 items, with the users' clusters.
fn data() -> (Snapshot, SynthData) {
    let config = SynthConfig {
        users: 240,
        items: 80,
        interactions_per_user: 12,
        clusters: 4,
        taste_strength: 0.9,
        zipf_exponent: 0.8,
        seed: 5,
    };
    let synth = generate(&config);
    let mut indptr = vec![0usize; config.users as usize + 1];
    for &(u, _) in &synth.interactions {
        indptr[u as usize + 1] += 1;
    }
    for u in 0..config.users as usize {
        indptr[u + 1] += indptr[u];
    }
    let snapshot = Snapshot {
        n_users: config.users,
        n_items: config.items,
        indptr,
        indices: synth.interactions.iter().map(|p| p.1).collect(),
        weights: None,
        data_version: 1,
        user_tags: Default::default(),
        item_tags: Default::default(),
    };
    (snapshot, synth)
}

fn pairs(given: &[(&str, Value)]) -> Vec<(String, Value)> {
    given.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// Small settings (16 bits, narrow layers), changed or extended by `extra`.
fn small(extra: &[(&str, Value)]) -> Params {
    let mut given = pairs(&[
        ("bits", Value::Int(16)),
        ("hidden", Value::Int(32)),
        ("epochs", Value::Int(16)),
        ("batch", Value::Int(32)),
        ("learning_rate", Value::Float(0.005)),
    ]);
    given.retain(|(name, _)| extra.iter().all(|(e, _)| e != name));
    given.extend(pairs(extra));
    CCSR.check(&given).expect("params")
}

fn trained(data: &Snapshot, extra: &[(&str, Value)]) -> CcsrModel {
    CcsrModel::train(data, &small(extra), &NoProgress).expect("train")
}

/// The blob of `model`, changed by `change`, read back.
fn load_changed(model: &CcsrModel, change: impl FnOnce(&mut CcsrBlob)) -> Result<CcsrModel> {
    let saved = model.blobs().expect("blobs");
    let mut blob: CcsrBlob = Blobs::new(&in_memory(&saved)).get(CCSR_BLOB).expect("read");
    change(&mut blob);
    let changed = [encode(CCSR_BLOB, &blob).expect("encode")];
    let read = in_memory(&changed);
    let loaded = CcsrModel::load(&Blobs::new(&read));
    loaded
}

#[test]
fn bad_parameters_name_the_parameter_and_its_range() {
    let cases = [
        (("bits", Value::Int(12)), "bits must be a multiple of 8 from 8 to 256, got 12"),
        (("hidden", Value::Int(3)), "hidden must be a multiple of 2 from 8 to 4096, got 3"),
        (("logit_scale", Value::Float(2.0)), "logit_scale must be a number greater than 0 and at most 1"),
        (("negatives", Value::Int(0)), "negatives must be an integer from 1 to 100, got 0"),
        (("balance", Value::Float(-0.1)), "balance must be a number of zero or more"),
        (("rank_weight", Value::from("high")), "rank_weight must be a number of zero or more, got 'high'"),
        (("warmup", Value::Int(-1)), "warmup must be an integer from 0 to 10000"),
        (("binarization", Value::from("tanh")), "binarization must be one of 'sign', 'scaled_tanh'"),
        (("stage", Value::from("sdp")), "stage must be one of 'binary', 'real'"),
    ];
    for (given, expected) in cases {
        let err = CCSR.check(&pairs(&[given])).expect_err(expected);
        assert!(err.message().starts_with(expected), "{err}");
    }
    let s = Settings::read(&CCSR.check(&pairs(&[("epochs", Value::Int(9))])).expect("params")).expect("read");
    assert_eq!(
        (s.warmup, s.logit_scale, s.stage),
        (4, 0.125, Stage::Binary),
        "auto: half the epochs, 8/bits"
    );
    let s = Settings::read(&small(&[("binarization", Value::from("scaled_tanh"))])).expect("read");
    assert_eq!(s.stage, Stage::Real, "scaled tanh is scored as is");
}

/// Records each new progress phase with the units done and in all at its first report; cancels once
/// `stop` units are done.
struct Record(Mutex<Vec<(String, u64, u64)>>, u64);

impl Progress for Record {
    fn update(&self, phase: &str, done: u64, total: u64) -> bool {
        let mut seen = self.0.lock().expect("lock");
        if seen.last().is_none_or(|(last, _, _)| last != phase) {
            seen.push((phase.to_string(), done, total));
        }
        done < self.1
    }
}

/// The value after `name ` in a progress phase.
fn reported(phase: &str, name: &str) -> f64 {
    let at = phase.find(name).map(|i| i + name.len() + 1).expect(name);
    phase[at..].split(',').next().and_then(|v| v.trim().parse().ok()).expect("a number")
}

#[test]
fn losses_fall_and_codes_recover_the_clusters() {
    let (data, synth) = data();
    let record = Record(Mutex::new(Vec::new()), u64::MAX);
    let model =
        CcsrModel::train(&data, &small(&[("rank_weight", Value::Float(1.0))]), &record).expect("train");
    let mut phases = record.0.into_inner().expect("lock");
    // Every mini-batch reports (240 users and 80 items in batches of 32: 8 + 3 an epoch), under the
    // last epoch's losses.
    assert_eq!(phases[0], ("ccsr: epoch 1".to_string(), 1, 16 * 11), "the first batch of the first epoch");
    assert_eq!((phases[1].1, phases[16].1, phases[16].2), (11, 176, 176), "epochs end every 11 batches");
    let phases: Vec<String> = phases.drain(1..).map(|(phase, _, _)| phase).collect();
    assert_eq!(phases.len(), 17, "16 epochs and the codes' balance");
    assert!(phases[16].starts_with("ccsr: codes, bit imbalance mean |E[b]| users 0."), "{}", phases[16]);
    for name in ["reconstruction", "similarity", "ranking"] {
        let (first, last) = (reported(&phases[0], name), reported(&phases[15], name));
        assert!(last < 0.9 * first, "{name}: {first} then {last}");
    }
    assert!(reported(&phases[7], "quantisation") == 0.0 && reported(&phases[8], "quantisation") > 0.0);
    // Users of a cluster share more bits than users of different clusters.
    let words = words_for(16);
    let code = |u: usize| &model.user_codes()[u * words..(u + 1) * words];
    let (mut same, mut n_same, mut other, mut n_other) = (0u64, 0u64, 0u64, 0u64);
    for u in 0..240 {
        for v in u + 1..240 {
            let d = u64::from(hamming(code(u), code(v)));
            if synth.user_cluster[u] == synth.user_cluster[v] {
                (same, n_same) = (same + d, n_same + 1);
            } else {
                (other, n_other) = (other + d, n_other + 1);
            }
        }
    }
    let (same, other) = (same as f64 / n_same as f64, other as f64 / n_other as f64);
    assert!(same + 2.0 < other, "mean distance within clusters {same:.2}, across {other:.2}");
    // Items' codes sit nearer their own cluster's users.
    let mut scores = vec![0f32; 80];
    let mut margin = 0.0;
    for u in 0..240u32 {
        model.score(u, data.row(u), &mut scores);
        let home: Vec<f32> = (0..80)
            .filter(|&i| synth.item_cluster[i] == synth.user_cluster[u as usize])
            .map(|i| scores[i])
            .collect();
        margin += home.iter().sum::<f32>() / home.len() as f32 - scores.iter().sum::<f32>() / 80.0;
    }
    assert!(margin / 240.0 > 2.0, "home items score {:.2} above the mean", margin / 240.0);
    let err =
        CcsrModel::train(&data, &small(&[]), &Record(Mutex::new(Vec::new()), 2)).expect_err("cancelled");
    assert!(matches!(err.kind(), ErrorKind::Cancelled(what) if what == "training"), "{err}");
}

#[test]
fn a_newcomer_is_encoded_and_matches_the_trained_user_better_than_popularity() {
    let (data, _) = data();
    let model = trained(&data, &[]);
    let popular = (POP.train)(&data, &POP.check(&[]).expect("params"), &NoProgress).expect("pop");
    let overlap =
        |a: &[(u32, f32)], b: &[(u32, f32)]| a.iter().filter(|x| b.iter().any(|y| y.0 == x.0)).count();
    let (mut ours, mut theirs) = (0, 0);
    let mut scores = vec![0f32; 80];
    for u in 0..60u32 {
        let seen = data.row(u);
        let unseen = |i: u32| seen.binary_search(&i).is_err();
        model.score(u, seen, &mut scores);
        let trained_list = top_k(&scores, 10, unseen);
        assert!(model.is_trained(u, seen) && !model.is_trained(1_000 + u, seen));
        model.score(1_000 + u, seen, &mut scores);
        ours += overlap(&top_k(&scores, 10, unseen), &trained_list);
        popular.score(1_000 + u, seen, &mut scores);
        theirs += overlap(&top_k(&scores, 10, unseen), &trained_list);
    }
    assert!(
        ours > theirs + 60,
        "the newcomers' lists share {ours} items with the trained users', popularity's {theirs}"
    );
    // A trained item's column folds in to (nearly) its trained code.
    let codes = model.binary().expect("codes");
    let columns = pairs::Rows::items(&data);
    let mut distance = 0;
    for i in 0..80u32 {
        let users: Vec<(u32, &[u32])> = columns.row(i).iter().map(|&u| (u, data.row(u))).collect();
        let folded = codes.fold_in_item(&users).expect("users with codes");
        distance += hamming(&folded, model.items.code(i));
    }
    assert_eq!(distance, 0, "the item encoder gives back the trained codes");
    assert!(codes.fold_in_item(&[(5_000, &[1, 2][..])]).is_none(), "no trained user");
}

#[test]
fn training_is_deterministic_for_a_seed_and_thread_count() {
    let (data, _) = data();
    let params = small(&[("epochs", Value::Int(3))]);
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
        let run = |p: &Params| pool.install(|| CcsrModel::train(&data, p, &NoProgress)).expect("train");
        let (a, b) = (run(&params), run(&params));
        assert_eq!(
            a.blobs().expect("a")[0].1.to_vec(),
            b.blobs().expect("b")[0].1.to_vec(),
            "{threads} threads"
        );
        let c = run(&small(&[("epochs", Value::Int(3)), ("seed", Value::Int(9))]));
        assert_ne!(a.item_codes(), c.item_codes(), "another seed");
    }
}

#[test]
fn real_scoring_and_blobs_round_trip_and_corrupt_blobs_are_refused() {
    let (data, _) = data();
    let model = trained(
        &data,
        &[
            ("epochs", Value::Int(4)),
            ("binarization", Value::from("sign_scaled_tanh")),
            ("keep_real", Value::Bool(true)),
        ],
    );
    let real = model.real_vectors().expect("kept");
    assert!(real.users.iter().all(|v| v.abs() <= 1.0), "tanh outputs");
    let (mut a, mut b) = (vec![0f32; 80], vec![0f32; 80]);
    let mut reranked = vec![0f32; 2];
    model.score_items(5, data.row(5), &[7, 500], &mut reranked).expect("kept vectors");
    let expected = dot(&real.users[5 * 16..6 * 16], &real.items[7 * 16..8 * 16]);
    assert!((reranked[0] - expected).abs() < 1e-5 && reranked[1] == f32::NEG_INFINITY);
    assert!(
        (model.encode_user(data.row(5)).iter().zip(&real.users[80..96]).all(|(x, y)| (x - y).abs() < 1e-5))
    );
    let saved = model.blobs().expect("blobs");
    let loaded = CcsrModel::load(&Blobs::new(&in_memory(&saved))).expect("load");
    model.score(5, data.row(5), &mut a);
    loaded.score(5, data.row(5), &mut b);
    assert_eq!(a, b);
    assert_eq!(loaded.user_code(900, data.row(3)), model.user_code(900, data.row(3)), "the same encoder");
    let refused = |change: fn(&mut CcsrBlob), expected: &str| {
        let err = load_changed(&model, change).expect_err(expected);
        assert!(matches!(err.kind(), ErrorKind::Corrupt(_)), "{err:?}");
        assert!(err.message().contains(expected), "{err}");
    };
    refused(|b| b.bits = 12, "12 bits");
    refused(|b| b.stage = "sdp".into(), "stage 'sdp'");
    refused(|b| b.user_codes.truncate(7), "7 user and 80 item code words");
    refused(|b| b.item_codes[0] = 1 << 20, "beyond 16");
    refused(|b| b.user_encoder.layers[1].weight[0] = f32::NAN, "user encoder that does not map 80 items");
    refused(|b| drop(b.item_encoder.layers.remove(1)), "item encoder that does not map 240 users");
    refused(|b| b.user_encoder.tanh_scale = -1.0, "user encoder");
    refused(|b| b.real_items.truncate(3), "3 real item values");
    let binary = trained(&data, &[("epochs", Value::Int(2))]);
    let err = binary.score_items(1, data.row(1), &[1], &mut reranked).expect_err("nothing kept");
    assert!(err.message().contains("keep_real = true"), "{err}");
    binary.similar_items(3, &mut a).expect("similar");
    assert_eq!(a[3], 16.0);
    assert!(bit_imbalance(binary.item_codes(), 16) < 1.0);
    assert_eq!(bit_imbalance(&[0b01, 0b11], 2), 0.5, "bit 0 always set, bit 1 balanced");
}
